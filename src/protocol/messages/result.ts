/**
 * RESULT (spec section 4.2.5): <kind [int]> then
 *   VOID          nothing
 *   ROWS          <metadata><rows_count [int]><rows_content: rows_count * columns_count [bytes]>
 *   SET_KEYSPACE  <keyspace [string]>
 *   PREPARED      <id [short bytes]>[<result_metadata_id [short bytes]> (v5, DSE_V2)]<metadata><result_metadata>
 *   SCHEMA_CHANGE the body of a SCHEMA_CHANGE event (see event.ts)
 * Metadata layouts are in result-metadata.ts.
 *
 * Decoded row cells are views into the body (no copy): copy them if the body buffer is reused.
 *
 * Cheap helpers for routing: `peekResultKind(body)` and `peekPreparedIds(body, version)` read the kind,
 * and the prepared id and result metadata id, without decoding anything else.
 */
import { Opcode, type ProtocolVersion, ResultKind, atLeastV5 } from '../constants';
import { ProtocolError } from '../errors';
import { Reader, type Writer } from '../primitives';
import { type DataType, encodeValue } from '../values';
import { type SchemaChange, decodeSchemaChange, encodeSchemaChange } from './event';
import {
  type ColumnSpec,
  type PreparedMetadata,
  type RowsMetadata,
  decodePreparedMetadata,
  decodeRowsMetadata,
  encodePreparedMetadata,
  encodeRowsMetadata,
} from './result-metadata';

export type Row = (Buffer | null)[];

export interface VoidResult {
  opcode: Opcode.RESULT;
  kind: ResultKind.VOID;
}
export interface RowsResult {
  opcode: Opcode.RESULT;
  kind: ResultKind.ROWS;
  metadata: RowsMetadata;
  /** Each row holds `metadata.columnCount` cells: the raw [bytes] (null for a null cell). */
  rows: Row[];
}
export interface SetKeyspaceResult {
  opcode: Opcode.RESULT;
  kind: ResultKind.SET_KEYSPACE;
  keyspace: string;
}
export interface PreparedResult {
  opcode: Opcode.RESULT;
  kind: ResultKind.PREPARED;
  id: Buffer;
  /** v5/DSE_V2 only (the encoder writes an empty id when absent there; ignored in other versions). */
  resultMetadataId?: Buffer;
  /** The bind markers. */
  variables: PreparedMetadata;
  /** The columns an execution will return (often empty, with No_metadata, for non-SELECTs). */
  resultMetadata: RowsMetadata;
}
export interface SchemaChangeResult {
  opcode: Opcode.RESULT;
  kind: ResultKind.SCHEMA_CHANGE;
  schemaChange: SchemaChange;
}

export type Result = VoidResult | RowsResult | SetKeyspaceResult | PreparedResult | SchemaChangeResult;

/** Does a PREPARED result carry a <result_metadata_id> (v5 and DSE_V2)? */
export function hasResultMetadataId(version: ProtocolVersion): boolean {
  return atLeastV5(version);
}

/** Most rows accepted in a result whose rows have no columns (such rows take no bytes at all). */
export const MAX_ZERO_COLUMN_ROWS = 65536;

export function encodeResult(msg: Result, version: ProtocolVersion, w: Writer): void {
  w.writeInt(msg.kind);
  switch (msg.kind) {
    case ResultKind.VOID:
      return;
    case ResultKind.ROWS: {
      encodeRowsMetadata(msg.metadata, version, w);
      const n = msg.metadata.columnCount;
      w.writeInt(msg.rows.length);
      for (const row of msg.rows) {
        if (row.length !== n) throw new RangeError(`row has ${row.length} cells, metadata declares ${n} columns`);
        for (const cell of row) w.writeBytes(cell);
      }
      return;
    }
    case ResultKind.SET_KEYSPACE:
      w.writeString(msg.keyspace);
      return;
    case ResultKind.PREPARED:
      w.writeShortBytes(msg.id);
      if (hasResultMetadataId(version)) w.writeShortBytes(msg.resultMetadataId ?? Buffer.alloc(0));
      encodePreparedMetadata(msg.variables, version, w);
      encodeRowsMetadata(msg.resultMetadata, version, w);
      return;
    case ResultKind.SCHEMA_CHANGE:
      encodeSchemaChange(msg.schemaChange, version, w);
      return;
    default:
      throw new RangeError(`unknown result kind ${(msg as { kind: number }).kind}`);
  }
}

export function decodeResult(r: Reader, version: ProtocolVersion): Result {
  const kind = r.readInt('result kind');
  const opcode = Opcode.RESULT as const;
  switch (kind) {
    case ResultKind.VOID:
      return { opcode, kind };
    case ResultKind.ROWS: {
      const metadata = decodeRowsMetadata(r, version);
      return { opcode, kind, metadata, rows: decodeRows(r, metadata.columnCount) };
    }
    case ResultKind.SET_KEYSPACE:
      return { opcode, kind, keyspace: r.readString('keyspace') };
    case ResultKind.PREPARED: {
      const id = r.readShortBytes('prepared id');
      const resultMetadataId = hasResultMetadataId(version) ? r.readShortBytes('result metadata id') : undefined;
      const variables = decodePreparedMetadata(r, version);
      const resultMetadata = decodeRowsMetadata(r, version);
      const res: PreparedResult = { opcode, kind, id, variables, resultMetadata };
      if (resultMetadataId !== undefined) res.resultMetadataId = resultMetadataId;
      return res;
    }
    case ResultKind.SCHEMA_CHANGE:
      return { opcode, kind, schemaChange: decodeSchemaChange(r, version) };
    default:
      throw new ProtocolError('invalid-value', `unknown result kind ${kind}`);
  }
}

/**
 * The rows metadata of a RESULT message (envelope skipped) without its rows, or undefined for another result kind.
 * Cheap: what a caller that may not need the rows reads first. Throws ProtocolError on a truncated body.
 */
export function peekRowsMetadata(msg: Buffer, version: ProtocolVersion): RowsMetadata | undefined {
  const r = new Reader(msg);
  if (r.readInt('result kind') !== ResultKind.ROWS) return undefined;
  return decodeRowsMetadata(r, version);
}

function decodeRows(r: Reader, columnCount: number): Row[] {
  const count = r.readInt('rows count');
  if (count < 0) throw new ProtocolError('invalid-value', `rows count ${count} is negative`);
  if (columnCount === 0) {
    if (count > MAX_ZERO_COLUMN_ROWS) throw new ProtocolError('invalid-value', `${count} rows without columns`);
  } else if (count * columnCount * 4 > r.remaining) {
    // every cell takes at least its [int] length
    throw new ProtocolError(
      'truncated',
      `result declares ${count} rows of ${columnCount} columns but only ${r.remaining} bytes follow`,
    );
  }
  const rows: Row[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const row: Row = new Array(columnCount);
    for (let j = 0; j < columnCount; j++) row[j] = r.readBytes('row cell');
    rows[i] = row;
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Builders for results the proxy makes itself
// ---------------------------------------------------------------------------------------------

export const VOID_RESULT: VoidResult = Object.freeze({ opcode: Opcode.RESULT, kind: ResultKind.VOID }) as VoidResult;

export function setKeyspaceResult(keyspace: string): SetKeyspaceResult {
  return { opcode: Opcode.RESULT, kind: ResultKind.SET_KEYSPACE, keyspace };
}

/** A column of a result the proxy builds: name and CQL type. */
export interface ColumnDef {
  name: string;
  type: DataType;
}

/**
 * A ROWS result from JS values, e.g. for the virtual `system.local` / `system.peers` tables:
 *   rowsResult('system', 'local', [{ name: 'key', type: DataTypes.varchar }, ...], [['local', ...]], version)
 * Each value is encoded with `encodeValue` (null or undefined gives a null cell). `noMetadata`
 * omits the column specs (when the request set Skip_metadata).
 */
export function rowsResult(
  keyspace: string,
  table: string,
  columns: readonly ColumnDef[],
  rows: readonly (readonly unknown[])[],
  version: ProtocolVersion,
  options: { noMetadata?: boolean; pagingState?: Buffer } = {},
): RowsResult {
  const specs: ColumnSpec[] = columns.map((c) => ({ keyspace, table, name: c.name, type: c.type }));
  const metadata: RowsMetadata = { columnCount: specs.length };
  if (!options.noMetadata) metadata.columns = specs;
  if (options.pagingState !== undefined) metadata.pagingState = options.pagingState;
  const encoded = rows.map((row, i) => {
    if (row.length !== columns.length) throw new RangeError(`row ${i} has ${row.length} values for ${columns.length} columns`);
    return row.map((v, j) => encodeValue(columns[j]!.type, v, version));
  });
  return { opcode: Opcode.RESULT, kind: ResultKind.ROWS, metadata, rows: encoded };
}

// ---------------------------------------------------------------------------------------------
// Peeking
// ---------------------------------------------------------------------------------------------

/** The kind of a RESULT body (its first [int]), without decoding the rest. */
export function peekResultKind(body: Buffer, offset = 0): ResultKind {
  if (body.length - offset < 4)
    throw new ProtocolError('truncated', `cannot read result kind: ${Math.max(0, body.length - offset)} bytes`);
  return body.readInt32BE(offset) as ResultKind;
}

export interface PreparedIds {
  id: Buffer;
  /** v5/DSE_V2 only. */
  resultMetadataId?: Buffer;
}

/**
 * The prepared id (and, in v5/DSE_V2, the result metadata id) of a RESULT body, or undefined when
 * the result is not PREPARED. Reads only the kind and the ids; returned buffers are views into `body`.
 */
export function peekPreparedIds(body: Buffer, version: ProtocolVersion, offset = 0): PreparedIds | undefined {
  const r = new Reader(body, offset);
  if (r.readInt('result kind') !== ResultKind.PREPARED) return undefined;
  const id = r.readShortBytes('prepared id');
  if (!hasResultMetadataId(version)) return { id };
  return { id, resultMetadataId: r.readShortBytes('result metadata id') };
}
