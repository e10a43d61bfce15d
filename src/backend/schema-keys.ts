/**
 * Key columns of tables, for the live read comparison (rows are matched by primary key): read from
 * `system_schema.columns` through a control connection, one table at a time, when a comparison first needs it:
 *
 *   SELECT column_name, kind, position FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?
 *
 * Key columns = the `partition_key` columns by position, then the `clustering` columns by position.
 * Cached (at most `maxTables` tables; the cache is emptied when full); a SCHEMA_CHANGE event for a table (or its
 * keyspace) forgets it, so the next comparison reads it again. Concurrent lookups of one table share one read.
 * A table the schema does not list (dropped, or a virtual table) is remembered as unknown until a schema change.
 */
import type { Logger } from 'pino';
import { Consistency } from '../protocol/constants';
import type { RowsResult, SchemaChange } from '../protocol/messages';
import type { ProtocolVersion } from '../protocol/constants';
import { DataTypes, encodeValue } from '../protocol/values';
import { rowsToObjects } from './control-topology';
import type { TableInfo, TableSource } from '../compare/dual-read-comparer';

/** What the schema reads need from a control connection. */
export interface SchemaQuerySource {
  readonly protocolVersion: ProtocolVersion;
  query(cql: string, values: readonly (Buffer | null)[], consistency: number): Promise<RowsResult>;
}

export const SCHEMA_COLUMNS_QUERY =
  'SELECT column_name, kind, position FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?';

const id = (keyspace: string, table: string): string => `${keyspace}\u0000${table}`;

export class SchemaKeys implements TableSource {
  private readonly cache = new Map<string, Promise<TableInfo | undefined>>();

  constructor(
    private readonly source: () => SchemaQuerySource,
    private readonly logger?: Pick<Logger, 'warn' | 'debug'>,
    private readonly maxTables = 10_000,
  ) {}

  table(keyspace: string, table: string): Promise<TableInfo | undefined> {
    const k = id(keyspace, table);
    const hit = this.cache.get(k);
    if (hit) return hit;
    if (this.cache.size >= this.maxTables) this.cache.clear();
    const p = this.read(keyspace, table).catch((e: Error) => {
      // not cached: the next comparison tries again
      if (this.cache.get(k) === p) this.cache.delete(k);
      this.logger?.warn(`Could not read the key columns of ${keyspace}.${table}: ${e.message}`);
      return undefined;
    });
    this.cache.set(k, p);
    return p;
  }

  private async read(keyspace: string, table: string): Promise<TableInfo | undefined> {
    const src = this.source();
    const v = src.protocolVersion;
    const text = (s: string) => encodeValue(DataTypes.varchar, s, v);
    const res = await src.query(SCHEMA_COLUMNS_QUERY, [text(keyspace), text(table)], Consistency.ONE);
    const selected = new Set((res.metadata.columns ?? []).map((c) => c.name));
    if (!['column_name', 'kind', 'position'].every((n) => selected.has(n)))
      throw new Error('system_schema.columns did not return column_name, kind, position');
    const partition: [number, string][] = [];
    const clustering: [number, string][] = [];
    const all = new Set<string>();
    for (const row of rowsToObjects(res, v)) {
      const name = row['column_name'] as string;
      const kind = row['kind'] as string;
      const pos = Number(row['position']);
      all.add(name);
      if (kind === 'partition_key') partition.push([pos, name]);
      else if (kind === 'clustering') clustering.push([pos, name]);
    }
    if (partition.length === 0) {
      this.logger?.debug(`${keyspace}.${table} is not in system_schema.columns: its reads are not compared`);
      return undefined;
    }
    const byPos = (a: [number, string], b: [number, string]) => a[0] - b[0];
    return {
      keyColumns: [...partition.sort(byPos), ...clustering.sort(byPos)].map(([, n]) => n),
      columns: all,
    };
  }

  /** A SCHEMA_CHANGE event: forget the table (or every table of the keyspace). */
  onSchemaChange(c: SchemaChange): void {
    if (c.target === 'TABLE') this.cache.delete(id(c.keyspace, c.name));
    else if (c.target === 'KEYSPACE') {
      for (const k of [...this.cache.keys()]) if (k.startsWith(`${c.keyspace}\u0000`)) this.cache.delete(k);
    }
  }

  /** tables cached now */
  get size(): number {
    return this.cache.size;
  }
}
