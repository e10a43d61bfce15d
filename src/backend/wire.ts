/**
 * Small private codec helpers for the backend (and the test fakes): just the messages a control
 * connection and the proxy authenticator build or read.
 * TODO(codec): switch to src/protocol/messages + values.ts once they have landed; keep these signatures.
 */
import { ErrorCode, Opcode, ProtocolVersion, ResultKind, hasIntQueryFlags, QueryFlag, Consistency } from '../protocol/constants';
import { RawFrame } from '../protocol/frame';
import { Reader, Writer, ipToString, StringMultimap, StringMap } from '../protocol/primitives';

export function requestFrame(version: ProtocolVersion, opcode: Opcode, body: Uint8Array, streamId = 0): RawFrame {
  return RawFrame.fromParts({ version, isResponse: false, flags: 0, streamId, opcode }, body);
}
export function responseFrame(version: ProtocolVersion, opcode: Opcode, body: Uint8Array, streamId: number): RawFrame {
  return RawFrame.fromParts({ version, isResponse: true, flags: 0, streamId, opcode }, body);
}

// ---- requests -------------------------------------------------------------------------------

export function optionsFrame(version: ProtocolVersion, streamId = 0): RawFrame {
  return requestFrame(version, Opcode.OPTIONS, Buffer.alloc(0), streamId);
}
export function startupFrame(version: ProtocolVersion, options: StringMap, streamId = 0): RawFrame {
  return requestFrame(version, Opcode.STARTUP, new Writer(64).writeStringMap(options).finish(), streamId);
}
export function authResponseFrame(version: ProtocolVersion, token: Uint8Array | null, streamId = 0): RawFrame {
  return requestFrame(version, Opcode.AUTH_RESPONSE, new Writer(64).writeBytes(token).finish(), streamId);
}
export function registerFrame(version: ProtocolVersion, events: string[], streamId = 0): RawFrame {
  return requestFrame(version, Opcode.REGISTER, new Writer(64).writeStringList(events).finish(), streamId);
}
/** A simple QUERY without values; `pageSize`/`pagingState` for paging. */
export function queryFrame(
  version: ProtocolVersion,
  query: string,
  opts: { consistency?: Consistency; pageSize?: number; pagingState?: Buffer | null } = {},
  streamId = 0,
): RawFrame {
  const w = new Writer(128).writeLongString(query).writeShort(opts.consistency ?? Consistency.ONE);
  let flags = 0;
  if (opts.pageSize !== undefined) flags |= QueryFlag.PAGE_SIZE;
  if (opts.pagingState) flags |= QueryFlag.PAGING_STATE;
  if (hasIntQueryFlags(version)) w.writeInt(flags);
  else w.writeByte(flags);
  if (opts.pageSize !== undefined) w.writeInt(opts.pageSize);
  if (opts.pagingState) w.writeBytes(opts.pagingState);
  return requestFrame(version, Opcode.QUERY, w.finish(), streamId);
}

// ---- responses ------------------------------------------------------------------------------

export interface ErrorInfo {
  code: number;
  message: string;
}
export function readError(body: Buffer): ErrorInfo {
  const r = new Reader(body);
  return { code: r.readInt('error code'), message: r.readString('error message') };
}
export function errorBody(code: ErrorCode, message: string): Buffer {
  const w = new Writer(64).writeInt(code).writeString(message);
  // Extra fields of some error codes, zeroed (enough for the fakes).
  switch (code) {
    case ErrorCode.UNAVAILABLE:
      w.writeShort(Consistency.ONE).writeInt(1).writeInt(0);
      break;
    case ErrorCode.ALREADY_EXISTS:
      w.writeString('').writeString('');
      break;
    default:
      break;
  }
  return Buffer.from(w.finish());
}
export function readSupported(body: Buffer): StringMultimap {
  return new Reader(body).readStringMultimap('SUPPORTED options');
}
export function readAuthenticate(body: Buffer): string {
  return new Reader(body).readString('authenticator class');
}
/** AUTH_CHALLENGE / AUTH_SUCCESS / AUTH_RESPONSE token. */
export function readToken(body: Buffer): Buffer | null {
  return new Reader(body).readBytes('auth token');
}
export function readStringList(body: Buffer): string[] {
  return new Reader(body).readStringList();
}
export function readStringMap(body: Buffer): StringMap {
  return new Reader(body).readStringMap();
}

// ---- CQL types and ROWS ---------------------------------------------------------------------

export type CqlType =
  | { code: number; name: string }
  | { code: 0x20 | 0x22; name: 'list' | 'set'; element: CqlType }
  | { code: 0x21; name: 'map'; key: CqlType; value: CqlType }
  | { code: 0x31; name: 'tuple'; elements: CqlType[] }
  | { code: 0x30; name: 'udt'; keyspace: string; udtName: string; fields: { name: string; type: CqlType }[] }
  | { code: 0; name: 'custom'; className: string };

const SIMPLE: Record<number, string> = {
  0x01: 'ascii', 0x02: 'bigint', 0x03: 'blob', 0x04: 'boolean', 0x05: 'counter', 0x06: 'decimal', 0x07: 'double',
  0x08: 'float', 0x09: 'int', 0x0b: 'timestamp', 0x0c: 'uuid', 0x0d: 'varchar', 0x0e: 'varint', 0x0f: 'timeuuid',
  0x10: 'inet', 0x11: 'date', 0x12: 'time', 0x13: 'smallint', 0x14: 'tinyint', 0x15: 'duration', 0x0a: 'text',
};

export function readType(r: Reader): CqlType {
  const code = r.readShort('type id');
  switch (code) {
    case 0x00:
      return { code: 0, name: 'custom', className: r.readString('custom type') };
    case 0x20:
    case 0x22:
      return { code, name: code === 0x20 ? 'list' : 'set', element: readType(r) };
    case 0x21:
      return { code, name: 'map', key: readType(r), value: readType(r) };
    case 0x30: {
      const keyspace = r.readString('udt keyspace');
      const udtName = r.readString('udt name');
      const n = r.readShort('udt field count');
      const fields: { name: string; type: CqlType }[] = [];
      for (let i = 0; i < n; i++) fields.push({ name: r.readString('udt field'), type: readType(r) });
      return { code, name: 'udt', keyspace, udtName, fields };
    }
    case 0x31: {
      const n = r.readShort('tuple size');
      const elements: CqlType[] = [];
      for (let i = 0; i < n; i++) elements.push(readType(r));
      return { code, name: 'tuple', elements };
    }
    default:
      return { code, name: SIMPLE[code] ?? `0x${code.toString(16)}` };
  }
}

export function writeType(w: Writer, t: CqlType): void {
  w.writeShort(t.code);
  if ('element' in t) writeType(w, t.element);
  else if ('key' in t) {
    writeType(w, t.key);
    writeType(w, t.value);
  } else if ('className' in t) w.writeString(t.className);
  else if ('elements' in t) {
    w.writeShort(t.elements.length);
    for (const e of t.elements) writeType(w, e);
  } else if ('fields' in t) {
    w.writeString(t.keyspace).writeString(t.udtName).writeShort(t.fields.length);
    for (const f of t.fields) {
      w.writeString(f.name);
      writeType(w, f.type);
    }
  }
}

function uuidString(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
export function uuidBytes(s: string): Buffer {
  const h = s.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(h)) throw new RangeError(`invalid uuid: ${s}`);
  return Buffer.from(h, 'hex');
}

/**
 * Decode a cell: text types -> string, uuid/timeuuid -> canonical string, inet -> address string,
 * int/smallint/tinyint/float/double -> number, bigint/counter/varint -> bigint, timestamp -> Date, boolean,
 * list/set -> array, map -> plain object (string keys), other types -> the raw Buffer.
 */
export function decodeValue(t: CqlType, b: Buffer | null): unknown {
  if (b === null) return null;
  switch (t.code) {
    case 0x01:
    case 0x0a:
    case 0x0d:
      return b.toString('utf8');
    case 0x0c:
    case 0x0f:
      return b.length === 16 ? uuidString(b) : b;
    case 0x10:
      return b.length === 4 || b.length === 16 ? ipToString(b) : b;
    case 0x09:
      return b.length === 4 ? b.readInt32BE(0) : b;
    case 0x13:
      return b.length === 2 ? b.readInt16BE(0) : b;
    case 0x14:
      return b.length === 1 ? b.readInt8(0) : b;
    case 0x02:
    case 0x05:
      return b.length === 8 ? b.readBigInt64BE(0) : b;
    case 0x0b:
      return b.length === 8 ? new Date(Number(b.readBigInt64BE(0))) : b;
    case 0x04:
      return b.length === 1 ? b[0] !== 0 : b;
    case 0x07:
      return b.length === 8 ? b.readDoubleBE(0) : b;
    case 0x08:
      return b.length === 4 ? b.readFloatBE(0) : b;
    case 0x0e: {
      if (b.length === 0) return 0n;
      let v = 0n;
      for (const x of b) v = (v << 8n) | BigInt(x);
      return BigInt.asIntN(b.length * 8, v);
    }
    case 0x20:
    case 0x22: {
      const el = (t as { element: CqlType }).element;
      const r = new Reader(b);
      const n = r.readInt('collection size');
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(decodeValue(el, r.readBytes('collection element')));
      return out;
    }
    case 0x21: {
      const m = t as { key: CqlType; value: CqlType };
      const r = new Reader(b);
      const n = r.readInt('map size');
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const k = decodeValue(m.key, r.readBytes('map key'));
        out[String(k)] = decodeValue(m.value, r.readBytes('map value'));
      }
      return out;
    }
    default:
      return b;
  }
}

/** Encode a JS value for the types the fakes need (inverse of decodeValue for text, uuid, inet, ints, sets, maps). */
export function encodeValue(t: CqlType, v: unknown): Buffer | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v;
  switch (t.code) {
    case 0x01:
    case 0x0a:
    case 0x0d:
      return Buffer.from(String(v), 'utf8');
    case 0x0c:
    case 0x0f:
      return uuidBytes(String(v));
    case 0x10: {
      const w = new Writer(16).writeInetAddr(String(v)).finish();
      return Buffer.from(w.subarray(1));
    }
    case 0x09: {
      const b = Buffer.alloc(4);
      b.writeInt32BE(Number(v));
      return b;
    }
    case 0x02:
    case 0x05: {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(BigInt(v as bigint));
      return b;
    }
    case 0x0b: {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(BigInt(v instanceof Date ? v.getTime() : (v as number)));
      return b;
    }
    case 0x04:
      return Buffer.from([v ? 1 : 0]);
    case 0x20:
    case 0x22: {
      const el = (t as { element: CqlType }).element;
      const arr = v as unknown[];
      const w = new Writer(64).writeInt(arr.length);
      for (const x of arr) w.writeBytes(encodeValue(el, x));
      return Buffer.from(w.finish());
    }
    case 0x21: {
      const m = t as { key: CqlType; value: CqlType };
      const entries = Object.entries(v as Record<string, unknown>);
      const w = new Writer(64).writeInt(entries.length);
      for (const [k, x] of entries) w.writeBytes(encodeValue(m.key, k)).writeBytes(encodeValue(m.value, x));
      return Buffer.from(w.finish());
    }
    default:
      throw new RangeError(`encodeValue: unsupported type ${t.name}`);
  }
}

export interface ColumnSpec {
  keyspace: string;
  table: string;
  name: string;
  type: CqlType;
}
export interface RowsResult {
  kind: ResultKind.ROWS;
  columns: ColumnSpec[];
  pagingState: Buffer | null;
  rows: (Buffer | null)[][];
}
export type SimpleResult = RowsResult | { kind: Exclude<ResultKind, ResultKind.ROWS>; body: Buffer };

const ROWS_GLOBAL = 0x1;
const ROWS_MORE_PAGES = 0x2;
const ROWS_NO_METADATA = 0x4;
const ROWS_METADATA_CHANGED = 0x8;
const ROWS_CONTINUOUS = 0x40000000;

export function readResult(body: Buffer, version: ProtocolVersion): SimpleResult {
  const r = new Reader(body);
  const kind = r.readInt('result kind') as ResultKind;
  if (kind !== ResultKind.ROWS) return { kind, body } as SimpleResult;
  const flags = r.readInt('rows flags');
  const count = r.readInt('column count');
  let pagingState: Buffer | null = null;
  if (flags & ROWS_MORE_PAGES) pagingState = r.readBytes('paging state');
  if (flags & ROWS_METADATA_CHANGED) r.readShortBytes('new metadata id');
  if ((flags & ROWS_CONTINUOUS) && (version === ProtocolVersion.DSE_V1 || version === ProtocolVersion.DSE_V2)) {
    r.readInt('continuous page number');
  }
  const columns: ColumnSpec[] = [];
  if (!(flags & ROWS_NO_METADATA)) {
    let ks = '';
    let table = '';
    if (flags & ROWS_GLOBAL) {
      ks = r.readString('keyspace');
      table = r.readString('table');
    }
    for (let i = 0; i < count; i++) {
      let cks = ks;
      let ct = table;
      if (!(flags & ROWS_GLOBAL)) {
        cks = r.readString('keyspace');
        ct = r.readString('table');
      }
      columns.push({ keyspace: cks, table: ct, name: r.readString('column name'), type: readType(r) });
    }
  }
  const nrows = r.readInt('row count');
  const rows: (Buffer | null)[][] = new Array(nrows);
  for (let i = 0; i < nrows; i++) {
    const row: (Buffer | null)[] = new Array(count);
    for (let c = 0; c < count; c++) row[c] = r.readBytes('cell');
    rows[i] = row;
  }
  return { kind, columns, pagingState, rows };
}

/** ROWS body with global table spec (fakes). */
export function rowsBody(
  keyspace: string,
  table: string,
  columns: { name: string; type: CqlType }[],
  rows: (Buffer | null)[][],
  pagingState: Buffer | null = null,
): Buffer {
  const w = new Writer(256).writeInt(ResultKind.ROWS);
  w.writeInt(ROWS_GLOBAL | (pagingState ? ROWS_MORE_PAGES : 0)).writeInt(columns.length);
  if (pagingState) w.writeBytes(pagingState);
  w.writeString(keyspace).writeString(table);
  for (const c of columns) {
    w.writeString(c.name);
    writeType(w, c.type);
  }
  w.writeInt(rows.length);
  for (const row of rows) for (const cell of row) w.writeBytes(cell);
  return Buffer.from(w.finish());
}

export function rowsToObjects(res: RowsResult): Record<string, unknown>[] {
  return res.rows.map((row) => {
    const o: Record<string, unknown> = {};
    res.columns.forEach((c, i) => {
      o[c.name] = decodeValue(c.type, row[i] ?? null);
    });
    return o;
  });
}

export const T = {
  text: { code: 0x0d, name: 'varchar' } as CqlType,
  uuid: { code: 0x0c, name: 'uuid' } as CqlType,
  inet: { code: 0x10, name: 'inet' } as CqlType,
  int: { code: 0x09, name: 'int' } as CqlType,
  bigint: { code: 0x02, name: 'bigint' } as CqlType,
  boolean: { code: 0x04, name: 'boolean' } as CqlType,
  timestamp: { code: 0x0b, name: 'timestamp' } as CqlType,
  setOf: (element: CqlType): CqlType => ({ code: 0x22, name: 'set', element }),
  listOf: (element: CqlType): CqlType => ({ code: 0x20, name: 'list', element }),
  mapOf: (key: CqlType, value: CqlType): CqlType => ({ code: 0x21, name: 'map', key, value }),
};
