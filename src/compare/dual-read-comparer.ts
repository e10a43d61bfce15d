/**
 * Live read comparison, wired (`dual_read_compare_enabled`, read_mode=DUAL_ASYNC_ON_SECONDARY): one per proxy,
 * shared by every session.
 *
 *  - `begin()` is called by a session for a dual read (sampled: `dual_read_compare_sample_rate`). It returns a
 *    `PendingComparison` that the session feeds with the primary's reply (the one the client gets) and the async
 *    secondary's reply. Feeding only stores a reference: the comparison runs later (setImmediate), never on the
 *    client's reply path, and nothing the client gets is changed.
 *  - Bounded: at most `maxPending` comparisons are held (waiting for a reply, or being compared); when full a read
 *    is not compared and the overflow is counted (`overflow('pending')`). A held comparison whose replies never all
 *    come (a timeout, a closed session) is released after `expireMs` and counted as skipped (`no-reply`).
 *  - The comparison itself is `compareResults` (result-compare.ts) with the table's key columns from the schema
 *    (`TableSource`: system_schema via a control connection). Rows that differ are handed to the `Confirmer`
 *    (at most `MAX_CONFIRMED_ROWS` per comparison): each is read again on both clusters after the delay, with the
 *    client's consistency. The comparison's result is `confirmed` when a row still differs, `transient` when they
 *    all agree now, `error` when a confirmation could not be made (queue full, read failed).
 *  - Confirmed mismatches go to the bounded `MismatchList` (GET /api/v1/mismatches) and are logged once each.
 *
 * All bytes are read through src/protocol (messageOf, decodeMessage, decodeValue).
 */
import type { Logger } from 'pino';
import { Opcode, ResultKind } from '../protocol/constants';
import type { BodyCodec } from '../protocol/codec';
import type { RawFrame } from '../protocol/frame';
import { messageOf } from '../protocol/frame-codec';
import { decodeMessage } from '../protocol/messages';
import { peekRowsMetadata, type Result, type Row, type RowsResult } from '../protocol/messages/result';
import type { ColumnSpec, RowsMetadata } from '../protocol/messages/result-metadata';
import type { QueryParameters } from '../protocol/messages/query-parameters';
import { type DataType, type ProtocolVersion } from '../protocol';
import { type ClusterName, forCluster, otherCluster } from '../cluster';
import { quoteIdentifier } from '../cql/lexer';
import { compareResults, type SkipReason } from './result-compare';
import { renderValue, typesDiffer } from './cell';
import {
  Confirmer,
  MismatchList,
  type ConfirmationRequest,
  type MismatchEntry,
  type Outcome,
  type RereadResult,
} from './confirmer';

export type ComparisonResult = 'match' | 'transient' | 'confirmed' | 'skipped' | 'error';

/** Why a dual read was not compared (result-compare's reasons, and the ones found before comparing). */
export type ComparerSkipReason =
  | SkipReason
  | 'not-a-query' // not a QUERY or EXECUTE (a BATCH, ...)
  | 'error-reply' // either cluster answered with an ERROR
  | 'no-reply'; // a reply never came (timeout, dropped async request, closed session)

export const SKIP_REASONS: readonly ComparerSkipReason[] = Object.freeze([
  'not-rows',
  'no-metadata',
  'not-one-table',
  'no-key-columns',
  'key-not-selected',
  'columns-differ',
  'later-page',
  'not-a-query',
  'error-reply',
  'no-reply',
]);

/** What the comparer records (MigrationMetrics implements it; every call may be a no-op). */
export interface ComparisonMetrics {
  comparison(keyspace: string, table: string, result: ComparisonResult): void;
  skipped(reason: ComparerSkipReason): void;
  /** a bounded queue was full: `pending` (comparisons held) or `confirm` (rows waiting for a confirmation read) */
  overflow(queue: 'pending' | 'confirm'): void;
}

/** A table's columns as the schema lists them. */
export interface TableInfo {
  /** partition key columns then clustering columns, in position order */
  keyColumns: readonly string[];
  /** every column of the table */
  columns: ReadonlySet<string>;
}

/** Where the key columns come from (backend/schema-keys.ts). */
export interface TableSource {
  table(keyspace: string, table: string): Promise<TableInfo | undefined>;
}

/** Reads on a cluster for the confirmations (the control connections). */
export interface ClusterReader {
  /** One page of `cql` with `values` bound, at `consistency`. Rejects on an ERROR. */
  query(cluster: ClusterName, cql: string, values: readonly Buffer[], consistency: number): Promise<RowsResult>;
}

export interface DualReadComparerOptions {
  /** 0..1 */
  sampleRate: number;
  maxPending: number;
  /** a held comparison is released (skipped, no-reply) after this long (ms) */
  expireMs: number;
  logValues: boolean;
  confirmDelayMs: number;
  confirmQueueSize: number;
  confirmRatePerSecond: number;
  tables: TableSource;
  reader: ClusterReader;
  metrics: ComparisonMetrics;
  logger: Logger;
  /** tests: the sampling draw */
  random?: () => number;
  /** mismatch list bounds (default 100 per table, 1000 tables) */
  mismatchesPerTable?: number;
  mismatchTables?: number;
}

/** Rows of one comparison handed to the confirmation reads, at most. */
export const MAX_CONFIRMED_ROWS = 10;

interface Group {
  keyspace: string;
  table: string;
  waiting: number;
  confirmed: boolean;
  errors: number;
}

interface RowCheck extends ConfirmationRequest {
  group: Group;
  primaryCluster: ClusterName;
  keyColumns: readonly string[];
  keyTypes: readonly DataType[];
  /** the columns read again (the selected columns that are table columns), key columns included */
  columns: readonly string[];
  version: ProtocolVersion;
}

/** One dual read waiting for its two replies. */
export class PendingComparison {
  primary: RawFrame | undefined;
  secondary: RawFrame | undefined;
  settled = false;
  constructor(
    private readonly owner: DualReadComparer,
    readonly request: RawFrame,
    readonly codec: BodyCodec | undefined,
    readonly primaryCluster: ClusterName,
    readonly expiresAt: number,
  ) {}

  /** The primary's reply (the client's), or undefined when there is none (not sent, timed out). */
  readonly primaryReply = (f: RawFrame | undefined): void => this.reply('primary', f);

  /** The async secondary's reply, or undefined when there is none (dropped, timed out, connection lost). */
  readonly secondaryReply = (f: RawFrame | undefined): void => this.reply('secondary', f);

  private reply(side: 'primary' | 'secondary', f: RawFrame | undefined): void {
    if (this.settled) return;
    if (f === undefined) return this.owner.release(this, 'no-reply');
    this[side] = f;
    if (this.primary && this.secondary) this.owner.ready(this);
  }
}

export class DualReadComparer {
  private readonly pending = new Set<PendingComparison>();
  private timer: NodeJS.Timeout | undefined;
  private readonly random: () => number;
  private readonly confirmer: Confirmer<RowCheck>;
  readonly mismatches: MismatchList;
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly opts: DualReadComparerOptions) {
    this.random = opts.random ?? Math.random;
    this.log = opts.logger.child({ component: 'dual-read-compare' });
    this.mismatches = new MismatchList(opts.mismatchesPerTable ?? 100, opts.mismatchTables ?? 1000);
    this.confirmer = new Confirmer<RowCheck>({
      delayMs: opts.confirmDelayMs,
      maxQueued: opts.confirmQueueSize,
      ratePerSecond: opts.confirmRatePerSecond,
      reread: (req) => this.reread(req),
      onOutcome: (o) => this.onOutcome(o),
      onDropped: (req) => {
        this.opts.metrics.overflow('confirm');
        req.group.errors++;
        this.rowDone(req.group);
      },
    });
  }

  /** comparisons held now (waiting for a reply or being compared) */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Rows waiting for their confirmation read, and being read. */
  get confirmationsPending(): number {
    return this.confirmer.queued + this.confirmer.inFlight;
  }

  /**
   * A dual read is about to be sent: undefined when it is not sampled, or when `maxPending` comparisons are
   * held already (counted). Cheap: no decoding here.
   */
  begin(request: RawFrame, codec: BodyCodec | undefined, primaryCluster: ClusterName): PendingComparison | undefined {
    if (this.closed) return undefined;
    const rate = this.opts.sampleRate;
    if (rate <= 0 || (rate < 1 && this.random() >= rate)) return undefined;
    if (this.pending.size >= this.opts.maxPending) {
      this.expire();
      if (this.pending.size >= this.opts.maxPending) {
        this.opts.metrics.overflow('pending');
        return undefined;
      }
    }
    const p = new PendingComparison(this, request, codec, primaryCluster, performance.now() + this.opts.expireMs);
    this.pending.add(p);
    if (this.timer === undefined) this.arm();
    return p;
  }

  /** Both replies are in: compare on a later turn of the event loop (the client's reply is written first). */
  ready(p: PendingComparison): void {
    p.settled = true;
    setImmediate(() => {
      this.compare(p).then(
        () => this.pending.delete(p),
        (e: unknown) => {
          this.pending.delete(p);
          this.opts.metrics.comparison('', '', 'error');
          this.log.warn(`Dual-read comparison failed: ${(e as Error).message}`);
        },
      );
    });
  }

  /** Give up on a held comparison (counted as skipped with the reason). */
  release(p: PendingComparison, reason: ComparerSkipReason): void {
    if (p.settled) return;
    p.settled = true;
    this.pending.delete(p);
    this.skip(reason);
  }

  private skip(reason: ComparerSkipReason, keyspace = '', table = ''): void {
    this.opts.metrics.comparison(keyspace, table, 'skipped');
    this.opts.metrics.skipped(reason);
    this.log.debug({ reason, keyspace, table }, 'Dual read not compared');
  }

  private arm(): void {
    const oldest = this.pending.values().next().value as PendingComparison | undefined;
    if (!oldest) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.expire();
        this.arm();
      },
      Math.max(1, Math.ceil(oldest.expiresAt - performance.now())),
    );
    this.timer.unref();
  }

  /** Release held comparisons past their expiry (in insertion order, hence expiry order). */
  private expire(): void {
    const now = performance.now();
    for (const p of this.pending) {
      if (p.expiresAt > now) return;
      if (!p.settled) this.release(p, 'no-reply');
      else this.pending.delete(p); // being compared past its expiry (a slow schema read): no longer counted
    }
  }

  private async compare(p: PendingComparison): Promise<void> {
    const req = p.request;
    if (req.opcode !== Opcode.QUERY && req.opcode !== Opcode.EXECUTE) return this.skip('not-a-query');
    const pf = p.primary!;
    const sf = p.secondary!;
    if (pf.opcode === Opcode.ERROR || sf.opcode === Opcode.ERROR) return this.skip('error-reply');
    if (pf.opcode !== Opcode.RESULT || sf.opcode !== Opcode.RESULT) return this.skip('not-rows');
    let params: QueryParameters;
    let pm: Buffer;
    let sm: Buffer;
    let pMeta: RowsMetadata | undefined;
    let sMeta: RowsMetadata | undefined;
    try {
      params = (decodeMessage(req.opcode, false, messageOf(req, p.codec), req.version) as { params: QueryParameters }).params;
      pm = messageOf(pf, p.codec);
      sm = messageOf(sf, p.codec);
      pMeta = peekRowsMetadata(pm, pf.version);
      sMeta = peekRowsMetadata(sm, sf.version);
    } catch (e) {
      return this.undecodable(e);
    }
    let columns: readonly ColumnSpec[] | undefined;
    let info: TableInfo | undefined;
    if (pMeta && sMeta) {
      // a side without metadata (the client's Skip_metadata) takes the other side's columns: same count required
      if (pMeta.columnCount !== sMeta.columnCount) {
        const first = (pMeta.columns ?? sMeta.columns)?.[0];
        return this.skip('columns-differ', first?.keyspace, first?.table);
      }
      columns = pMeta.columns ?? sMeta.columns;
      const first = columns?.[0];
      if (first) info = await this.opts.tables.table(first.keyspace, first.table);
    }
    const input = {
      version: pf.version,
      requestHadPagingState: params.pagingState != null,
      keyColumns: () => info?.keyColumns,
      ...(columns ? { knownColumns: columns } : {}),
    };
    // Every skip is decided by the metadata alone (kinds, columns, paging states, key columns): try the comparison
    // without rows first, so that a read that cannot be compared (the key not selected, a later page...) costs no
    // decoding of its rows. Only a comparable read has its rows decoded.
    const rowless = (m: RowsMetadata | undefined): Result =>
      m
        ? { opcode: Opcode.RESULT, kind: ResultKind.ROWS, metadata: m, rows: [] }
        : { opcode: Opcode.RESULT, kind: ResultKind.VOID };
    const early = compareResults({ primary: rowless(pMeta), secondary: rowless(sMeta), ...input });
    if (early.result === 'skipped') return this.skip(early.reason, early.keyspace, early.table);
    let primary: Result;
    let secondary: Result;
    try {
      primary = decodeMessage(Opcode.RESULT, true, pm, pf.version, { allowTrailingBytes: true }) as Result;
      secondary = decodeMessage(Opcode.RESULT, true, sm, sf.version, { allowTrailingBytes: true }) as Result;
    } catch (e) {
      return this.undecodable(e);
    }
    const c = compareResults({ primary, secondary, ...input });
    switch (c.result) {
      case 'skipped':
        return this.skip(c.reason, c.keyspace, c.table);
      case 'match':
        this.opts.metrics.comparison(c.keyspace, c.table, 'match');
        return;
      case 'differ':
        return this.confirm(c, info!, params, p.primaryCluster, pf.version);
    }
  }

  private undecodable(e: unknown): void {
    this.opts.metrics.comparison('', '', 'error');
    this.log.warn(`Dual-read comparison: a message could not be decoded: ${(e as Error).message}`);
  }

  private confirm(
    c: Extract<ReturnType<typeof compareResults>, { result: 'differ' }>,
    info: TableInfo,
    params: QueryParameters,
    primaryCluster: ClusterName,
    version: ProtocolVersion,
  ): void {
    const keyColumns = info.keyColumns;
    const keyTypes = keyColumns.map((k) => c.columns.find((x) => x.name === k)!.type);
    const selected = c.columns.map((x) => x.name).filter((n) => info.columns.has(n));
    const columns = [...keyColumns, ...selected.filter((n) => !keyColumns.includes(n))];
    const rows = c.differences.slice(0, MAX_CONFIRMED_ROWS);
    const group: Group = { keyspace: c.keyspace, table: c.table, waiting: rows.length, confirmed: false, errors: 0 };
    this.log.debug(
      `Dual read of ${c.keyspace}.${c.table}: ${c.differences.length} of ${c.rows} rows differ; confirming ${rows.length}`,
    );
    for (const d of rows) {
      this.confirmer.submit({
        keyspace: c.keyspace,
        table: c.table,
        key: d.key,
        consistency: params.consistency,
        group,
        primaryCluster,
        keyColumns,
        keyTypes,
        columns,
        version,
      });
    }
  }

  /** The confirmation read: the row, by its key, on both clusters, with the client's consistency. */
  private async reread(req: RowCheck): Promise<RereadResult> {
    const cql = `SELECT ${req.columns.map(quoteIdentifier).join(', ')} FROM ${quoteIdentifier(req.keyspace)}.${quoteIdentifier(req.table)} WHERE ${req.keyColumns
      .map((k) => `${quoteIdentifier(k)} = ?`)
      .join(' AND ')}`;
    const [o, t] = await Promise.all([
      this.opts.reader.query('ORIGIN', cql, req.key, req.consistency),
      this.opts.reader.query('TARGET', cql, req.key, req.consistency),
    ]);
    const rows = { origin: o.rows[0], target: t.rows[0] };
    const p = forCluster(req.primaryCluster, { origin: o, target: t }).metadata.columns;
    const s = forCluster(otherCluster(req.primaryCluster), { origin: o, target: t }).metadata.columns;
    return {
      primary: forCluster(req.primaryCluster, rows),
      secondary: forCluster(otherCluster(req.primaryCluster), rows),
      columns: req.columns,
      aligned: req.columns.map((_, i) => {
        const [tp, ts] = [p?.[i]?.type, s?.[i]?.type];
        return tp && ts && typesDiffer(tp, ts) ? { primary: tp, secondary: ts } : undefined;
      }),
      version: req.version,
    };
  }

  private onOutcome(o: Outcome<RowCheck>): void {
    const req = o.request;
    if (o.result === 'error') {
      req.group.errors++;
      this.log.warn(`Dual-read confirmation read of ${req.keyspace}.${req.table} failed: ${o.error.message}`);
    } else if (o.result === 'confirmed') {
      req.group.confirmed = true;
      this.recordMismatch(req, o.columns, o.primary, o.secondary);
    }
    this.rowDone(req.group);
  }

  private rowDone(g: Group): void {
    if (--g.waiting > 0) return;
    const result: ComparisonResult = g.confirmed ? 'confirmed' : g.errors > 0 ? 'error' : 'transient';
    this.opts.metrics.comparison(g.keyspace, g.table, result);
  }

  private recordMismatch(req: RowCheck, columns: readonly string[], primary?: Row, secondary?: Row): void {
    const key = req.key.map((b, i) => renderValue(req.keyTypes[i]!, b, req.version));
    const entry: MismatchEntry = {
      keyspace: req.keyspace,
      table: req.table,
      keyColumns: [...req.keyColumns],
      key,
      columns: [...columns],
      at: new Date().toISOString(),
    };
    if (this.opts.logValues) {
      // a side without the row: {}
      const cells = (row: Row | undefined): Record<string, string | null> => {
        const out: Record<string, string | null> = {};
        if (!row) return out;
        for (const name of columns) {
          const cell = row[req.columns.indexOf(name)];
          out[name] = cell == null ? null : `0x${cell.toString('hex')}`;
        }
        return out;
      };
      entry.values = { primary: cells(primary), secondary: cells(secondary) };
    }
    if (!this.mismatches.add(entry)) return;
    const where = req.keyColumns.map((k, i) => `${k}=${key[i]}`).join(', ');
    const missing = !primary
      ? ` (row missing on ${req.primaryCluster})`
      : !secondary
        ? ` (row missing on ${otherCluster(req.primaryCluster)})`
        : '';
    this.log.warn(
      { mismatch: entry },
      `Confirmed dual-read mismatch in ${req.keyspace}.${req.table} for (${where}): ${columns.join(', ')} differ${missing}`,
    );
  }

  /** Stop: held comparisons and queued confirmations are forgotten. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    this.confirmer.close();
  }
}
