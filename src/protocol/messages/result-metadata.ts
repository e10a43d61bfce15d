/**
 * Result metadata (the <metadata> of a Rows result and the <result_metadata> of a Prepared result,
 * spec section 4.2.5.2) and prepared metadata (the bind-marker <metadata> of a Prepared result,
 * section 4.2.5.4).
 *
 * Rows metadata, per version:
 *   <flags [int]><columns_count [int]>
 *     [<paging_state [bytes]>]          if Has_more_pages (0x0002)
 *     [<new_metadata_id [short bytes]>] if Metadata_changed (0x0008): v5 and DSE_V2 only
 *     [<continuous_page_no [int]>]      if continuous paging (0x40000000): DSE_V1 and DSE_V2 only;
 *                                       0x80000000 marks the last continuous page
 *     [<global_table_spec>?<col_spec_1>...<col_spec_n>] unless No_metadata (0x0004)
 * Prepared (bind marker) metadata:
 *   <flags [int]><columns_count [int]>[<pk_count [int]><pk_index [short]>* (v4+)][<global_table_spec>?<col_spec>*]
 *
 * Columns always carry their keyspace and table after decoding. The encoder writes a global table
 * spec (flag 0x0001) when there is at least one column and all columns share keyspace and table,
 * as Cassandra does; otherwise per-column specs.
 */
import { ProtocolVersion, atLeastV4, atLeastV5 } from '../constants';
import { ProtocolError } from '../errors';
import type { Reader, Writer } from '../primitives';
import { type DataType, decodeDataType, encodeDataType } from '../values';

export const RowsFlag = {
  GLOBAL_TABLES_SPEC: 0x0001,
  HAS_MORE_PAGES: 0x0002,
  NO_METADATA: 0x0004,
  /** v5, DSE_V2 */
  METADATA_CHANGED: 0x0008,
  /** DSE_V1, DSE_V2 */
  DSE_CONTINUOUS_PAGING: 0x40000000,
  /** DSE_V1, DSE_V2 */
  DSE_LAST_CONTINUOUS_PAGE: 0x80000000,
} as const;

export interface ColumnSpec {
  keyspace: string;
  table: string;
  name: string;
  type: DataType;
}

export interface RowsMetadata {
  /** Number of columns of each row (equals `columns.length` when columns are present). */
  columnCount: number;
  /** Column specs; absent when the No_metadata flag is set (the client asked to skip metadata). */
  columns?: ColumnSpec[];
  /** Present iff Has_more_pages. */
  pagingState?: Buffer | null;
  /** v5/DSE_V2: present iff Metadata_changed. Ignored by the encoder in other versions. */
  newMetadataId?: Buffer;
  /** DSE_V1/DSE_V2: present iff this page belongs to a continuous paging session. Ignored elsewhere. */
  continuousPageNumber?: number;
  /** DSE_V1/DSE_V2: with `continuousPageNumber`, whether this is the session's last page. */
  lastContinuousPage?: boolean;
}

export interface PreparedMetadata {
  /** v4+: bind marker index of each partition key column (always [] in v2/v3). */
  pkIndices: number[];
  /** One spec per bind marker. */
  columns: ColumnSpec[];
}

export function isDseVersion(version: ProtocolVersion): boolean {
  return version === ProtocolVersion.DSE_V1 || version === ProtocolVersion.DSE_V2;
}

function sharedTableSpec(columns: readonly ColumnSpec[]): { keyspace: string; table: string } | undefined {
  if (columns.length === 0) return undefined;
  const { keyspace, table } = columns[0]!;
  for (const c of columns) if (c.keyspace !== keyspace || c.table !== table) return undefined;
  return { keyspace, table };
}

function writeColumns(columns: readonly ColumnSpec[], global: boolean, version: ProtocolVersion, w: Writer): void {
  if (global) w.writeString(columns[0]!.keyspace).writeString(columns[0]!.table);
  for (const c of columns) {
    if (!global) w.writeString(c.keyspace).writeString(c.table);
    w.writeString(c.name);
    encodeDataType(c.type, w, version);
  }
}

function readColumns(r: Reader, count: number, global: boolean, version: ProtocolVersion): ColumnSpec[] {
  // every column spec takes at least a [string] name and a [short] type id (4 bytes), plus two
  // [string]s when there is no global table spec: refuse counts the bytes cannot hold
  const minSize = global ? 4 : 8;
  if (count * minSize > r.remaining) {
    throw new ProtocolError('truncated', `metadata declares ${count} columns but only ${r.remaining} bytes follow`);
  }
  let gKeyspace = '';
  let gTable = '';
  if (global) {
    gKeyspace = r.readString('global table spec keyspace');
    gTable = r.readString('global table spec table');
  }
  const columns: ColumnSpec[] = [];
  for (let i = 0; i < count; i++) {
    const keyspace = global ? gKeyspace : r.readString('column keyspace');
    const table = global ? gTable : r.readString('column table');
    const name = r.readString('column name');
    columns.push({ keyspace, table, name, type: decodeDataType(r, version) });
  }
  return columns;
}

function readCount(r: Reader, what: string): number {
  const n = r.readInt(what);
  if (n < 0) throw new ProtocolError('invalid-value', `${what} ${n} is negative`);
  return n;
}

export function encodeRowsMetadata(m: RowsMetadata, version: ProtocolVersion, w: Writer): void {
  const columns = m.columns;
  if (columns && columns.length !== m.columnCount) {
    throw new RangeError(`rows metadata columnCount ${m.columnCount} differs from ${columns.length} column specs`);
  }
  const shared = columns ? sharedTableSpec(columns) : undefined;
  const changed = m.newMetadataId !== undefined && atLeastV5(version);
  const continuous = m.continuousPageNumber !== undefined && isDseVersion(version);
  let flags = 0;
  if (shared) flags |= RowsFlag.GLOBAL_TABLES_SPEC;
  if (m.pagingState !== undefined) flags |= RowsFlag.HAS_MORE_PAGES;
  if (!columns) flags |= RowsFlag.NO_METADATA;
  if (changed) flags |= RowsFlag.METADATA_CHANGED;
  if (continuous) {
    flags |= RowsFlag.DSE_CONTINUOUS_PAGING;
    if (m.lastContinuousPage) flags |= RowsFlag.DSE_LAST_CONTINUOUS_PAGE;
  }
  w.writeInt(flags);
  w.writeInt(m.columnCount);
  if (m.pagingState !== undefined) w.writeBytes(m.pagingState);
  if (changed) w.writeShortBytes(m.newMetadataId!);
  if (continuous) w.writeInt(m.continuousPageNumber!);
  if (columns) writeColumns(columns, shared !== undefined, version, w);
}

export function decodeRowsMetadata(r: Reader, version: ProtocolVersion): RowsMetadata {
  const flags = r.readInt('rows metadata flags');
  const columnCount = readCount(r, 'rows metadata column count');
  const m: RowsMetadata = { columnCount };
  if (flags & RowsFlag.HAS_MORE_PAGES) m.pagingState = r.readBytes('paging state');
  if (flags & RowsFlag.METADATA_CHANGED && atLeastV5(version)) m.newMetadataId = r.readShortBytes('new metadata id');
  if (flags & RowsFlag.DSE_CONTINUOUS_PAGING && isDseVersion(version)) {
    m.continuousPageNumber = r.readInt('continuous page number');
    m.lastContinuousPage = (flags & RowsFlag.DSE_LAST_CONTINUOUS_PAGE) !== 0;
  }
  if (!(flags & RowsFlag.NO_METADATA)) {
    m.columns = readColumns(r, columnCount, (flags & RowsFlag.GLOBAL_TABLES_SPEC) !== 0, version);
  }
  return m;
}

export function encodePreparedMetadata(m: PreparedMetadata, version: ProtocolVersion, w: Writer): void {
  const shared = sharedTableSpec(m.columns);
  w.writeInt(shared ? RowsFlag.GLOBAL_TABLES_SPEC : 0);
  w.writeInt(m.columns.length);
  if (atLeastV4(version)) {
    w.writeInt(m.pkIndices.length);
    for (const i of m.pkIndices) w.writeShort(i);
  }
  writeColumns(m.columns, shared !== undefined, version, w);
}

export function decodePreparedMetadata(r: Reader, version: ProtocolVersion): PreparedMetadata {
  const flags = r.readInt('prepared metadata flags');
  const count = readCount(r, 'prepared metadata column count');
  const pkIndices: number[] = [];
  if (atLeastV4(version)) {
    const pkCount = readCount(r, 'prepared metadata pk count');
    if (pkCount * 2 > r.remaining) {
      throw new ProtocolError(
        'truncated',
        `prepared metadata declares ${pkCount} pk indexes but only ${r.remaining} bytes follow`,
      );
    }
    for (let i = 0; i < pkCount; i++) pkIndices.push(r.readShort('pk index'));
  } else if (flags & RowsFlag.HAS_MORE_PAGES) {
    // v2/v3 define this metadata "exactly as for a Rows RESULT": tolerate a paging state
    r.readBytes('paging state');
  }
  const columns = flags & RowsFlag.NO_METADATA ? [] : readColumns(r, count, (flags & RowsFlag.GLOBAL_TABLES_SPEC) !== 0, version);
  return { pkIndices, columns };
}
