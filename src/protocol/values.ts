/**
 * CQL type descriptors ([option]s of result metadata, spec section 4.2.5.2) and the value
 * codecs (spec section 5) for the types the proxy produces or reads itself.
 *
 * - `DataType` is shared with `messages/result-metadata.ts`: `encodeDataType`/`decodeDataType`
 *   read and write the [option] form.
 * - `encodeValue(type, value, version)` / `decodeValue(type, bytes, version)` convert between
 *   a cell's bytes (the content of a [bytes], without the length) and a JS value:
 *     ascii, text, varchar          string
 *     int, smallint, tinyint        number
 *     bigint, counter, varint       bigint
 *     double, float                 number
 *     timestamp                     Date
 *     boolean                       boolean
 *     blob                          Buffer
 *     uuid, timeuuid                string (canonical lower-case 8-4-4-4-12 form)
 *     inet                          string (IPv4 dotted or IPv6 text)
 *     list, set                     Array of element values
 *     map                           Map (encode also accepts an array of [key, value] pairs)
 *     date (encode only)            number of days since 1970-01-01
 *     time (encode only)            bigint nanoseconds since midnight
 *   Other types (custom, decimal, duration, tuple, udt; date and time on decode) throw: the proxy forwards them untouched.
 * - Collections: v3+ use an [int] count and [int]-length elements; v2 uses a [short] count and
 *   [short]-length elements (native_protocol_v2 section 6). Null elements are refused.
 * - An empty (zero-length) cell of a non-string, non-blob type decodes to `null` (spec section 5:
 *   "empty" values are legal for most non-string types).
 * - Time UUIDs: `newTimeUuid()` (version 1, monotonic 100 ns ticks, clock sequence and node chosen at
 *   random once per process) and `timeUuidTimestamp()` for the proxy's now() replacement.
 */
import { randomBytes } from 'node:crypto';
import { ProtocolVersion } from './constants';
import { ProtocolError } from './errors';
import { Reader, Writer, ipToBytes, ipToString } from './primitives';

/** [option] ids of spec section 4.2.5.2 (0x000A is v1/v2's "text", an alias of varchar). */
export enum DataTypeCode {
  CUSTOM = 0x0000,
  ASCII = 0x0001,
  BIGINT = 0x0002,
  BLOB = 0x0003,
  BOOLEAN = 0x0004,
  COUNTER = 0x0005,
  DECIMAL = 0x0006,
  DOUBLE = 0x0007,
  FLOAT = 0x0008,
  INT = 0x0009,
  /** v1/v2 only: later specs fold it into VARCHAR (0x000D). */
  TEXT = 0x000a,
  TIMESTAMP = 0x000b,
  UUID = 0x000c,
  VARCHAR = 0x000d,
  VARINT = 0x000e,
  TIMEUUID = 0x000f,
  INET = 0x0010,
  /** v4+ */
  DATE = 0x0011,
  /** v4+ */
  TIME = 0x0012,
  /** v4+ */
  SMALLINT = 0x0013,
  /** v4+ */
  TINYINT = 0x0014,
  /** v5, DSE_V1, DSE_V2 */
  DURATION = 0x0015,
  LIST = 0x0020,
  MAP = 0x0021,
  SET = 0x0022,
  /** v3+ */
  UDT = 0x0030,
  /** v3+ */
  TUPLE = 0x0031,
}

export type NativeTypeCode = Exclude<
  DataTypeCode,
  DataTypeCode.CUSTOM | DataTypeCode.LIST | DataTypeCode.MAP | DataTypeCode.SET | DataTypeCode.UDT | DataTypeCode.TUPLE
>;

export interface NativeType {
  code: NativeTypeCode;
}
export interface CustomType {
  code: DataTypeCode.CUSTOM;
  /** Fully qualified class name of the server-side type. */
  className: string;
}
export interface ListType {
  code: DataTypeCode.LIST;
  element: DataType;
}
export interface SetType {
  code: DataTypeCode.SET;
  element: DataType;
}
export interface MapType {
  code: DataTypeCode.MAP;
  key: DataType;
  value: DataType;
}
export interface UdtField {
  name: string;
  type: DataType;
}
export interface UdtType {
  code: DataTypeCode.UDT;
  keyspace: string;
  name: string;
  fields: UdtField[];
}
export interface TupleType {
  code: DataTypeCode.TUPLE;
  elements: DataType[];
}

/** A CQL type as carried by an [option] in result and prepared metadata. */
export type DataType = NativeType | CustomType | ListType | SetType | MapType | UdtType | TupleType;

const NATIVE_CODES: ReadonlySet<number> = new Set([
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
]);

export function isNativeTypeCode(code: number): code is NativeTypeCode {
  return NATIVE_CODES.has(code);
}

/** Ready-made descriptors for the native types. */
export const DataTypes = {
  ascii: { code: DataTypeCode.ASCII },
  bigint: { code: DataTypeCode.BIGINT },
  blob: { code: DataTypeCode.BLOB },
  boolean: { code: DataTypeCode.BOOLEAN },
  counter: { code: DataTypeCode.COUNTER },
  decimal: { code: DataTypeCode.DECIMAL },
  double: { code: DataTypeCode.DOUBLE },
  float: { code: DataTypeCode.FLOAT },
  int: { code: DataTypeCode.INT },
  timestamp: { code: DataTypeCode.TIMESTAMP },
  uuid: { code: DataTypeCode.UUID },
  varchar: { code: DataTypeCode.VARCHAR },
  /** text is varchar on the wire (0x000D) in v3+. */
  text: { code: DataTypeCode.VARCHAR },
  varint: { code: DataTypeCode.VARINT },
  timeuuid: { code: DataTypeCode.TIMEUUID },
  inet: { code: DataTypeCode.INET },
  date: { code: DataTypeCode.DATE },
  time: { code: DataTypeCode.TIME },
  smallint: { code: DataTypeCode.SMALLINT },
  tinyint: { code: DataTypeCode.TINYINT },
  duration: { code: DataTypeCode.DURATION },
} as const satisfies Record<string, NativeType>;

export function listOf(element: DataType): ListType {
  return { code: DataTypeCode.LIST, element };
}
export function setOf(element: DataType): SetType {
  return { code: DataTypeCode.SET, element };
}
export function mapOf(key: DataType, value: DataType): MapType {
  return { code: DataTypeCode.MAP, key, value };
}

/** Deepest type nesting accepted when decoding (guards the stack against hostile input). */
export const MAX_TYPE_DEPTH = 64;

/** Write an [option] describing `type`. */
export function encodeDataType(type: DataType, w: Writer, _version?: ProtocolVersion): void {
  w.writeShort(type.code);
  switch (type.code) {
    case DataTypeCode.CUSTOM:
      w.writeString(type.className);
      return;
    case DataTypeCode.LIST:
    case DataTypeCode.SET:
      encodeDataType(type.element, w, _version);
      return;
    case DataTypeCode.MAP:
      encodeDataType(type.key, w, _version);
      encodeDataType(type.value, w, _version);
      return;
    case DataTypeCode.UDT:
      w.writeString(type.keyspace).writeString(type.name).writeShort(type.fields.length);
      for (const f of type.fields) {
        w.writeString(f.name);
        encodeDataType(f.type, w, _version);
      }
      return;
    case DataTypeCode.TUPLE:
      w.writeShort(type.elements.length);
      for (const e of type.elements) encodeDataType(e, w, _version);
      return;
    default:
      if (!isNativeTypeCode(type.code)) throw new RangeError(`unknown data type code 0x${(type as DataType).code.toString(16)}`);
  }
}

/** Read an [option] describing a type. Unknown option ids are a ProtocolError('invalid-value'). */
export function decodeDataType(r: Reader, _version?: ProtocolVersion, depth = 0): DataType {
  if (depth > MAX_TYPE_DEPTH) throw new ProtocolError('invalid-value', `data type [option] nested deeper than ${MAX_TYPE_DEPTH}`);
  const code = r.readShort('data type [option] id');
  switch (code) {
    case DataTypeCode.CUSTOM:
      return { code, className: r.readString('custom type class name') };
    case DataTypeCode.LIST:
    case DataTypeCode.SET:
      return { code, element: decodeDataType(r, _version, depth + 1) };
    case DataTypeCode.MAP: {
      const key = decodeDataType(r, _version, depth + 1);
      const value = decodeDataType(r, _version, depth + 1);
      return { code, key, value };
    }
    case DataTypeCode.UDT: {
      const keyspace = r.readString('udt keyspace');
      const name = r.readString('udt name');
      const n = r.readShort('udt field count');
      const fields: UdtField[] = [];
      for (let i = 0; i < n; i++) {
        const fieldName = r.readString('udt field name');
        fields.push({ name: fieldName, type: decodeDataType(r, _version, depth + 1) });
      }
      return { code, keyspace, name, fields };
    }
    case DataTypeCode.TUPLE: {
      const n = r.readShort('tuple element count');
      const elements: DataType[] = [];
      for (let i = 0; i < n; i++) elements.push(decodeDataType(r, _version, depth + 1));
      return { code, elements };
    }
    default:
      if (isNativeTypeCode(code)) return { code };
      throw new ProtocolError('invalid-value', `unknown data type [option] id 0x${code.toString(16).padStart(4, '0')}`);
  }
}

/** A readable CQL name for a type (`map<varchar, int>`), for logs and error messages. */
export function dataTypeName(type: DataType): string {
  switch (type.code) {
    case DataTypeCode.CUSTOM:
      return `'${type.className}'`;
    case DataTypeCode.LIST:
      return `list<${dataTypeName(type.element)}>`;
    case DataTypeCode.SET:
      return `set<${dataTypeName(type.element)}>`;
    case DataTypeCode.MAP:
      return `map<${dataTypeName(type.key)}, ${dataTypeName(type.value)}>`;
    case DataTypeCode.UDT:
      return `${type.keyspace}.${type.name}`;
    case DataTypeCode.TUPLE:
      return `tuple<${type.elements.map(dataTypeName).join(', ')}>`;
    default:
      return DataTypeCode[type.code]?.toLowerCase() ?? `0x${(type.code as number).toString(16)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

export type CqlValue = string | number | bigint | boolean | Buffer | Date | null | CqlValue[] | Map<CqlValue, CqlValue>;

/** Do collections use [short] counts and lengths (v2) rather than [int]s (v3+)? */
export function usesShortCollections(version: ProtocolVersion): boolean {
  return version === ProtocolVersion.V2;
}

/**
 * Serialize `value` as a cell of type `type` (the content of a [bytes], without its length).
 * `null` gives `null` (a null cell). Values of the wrong JS type or out of range throw RangeError
 * (a programming error in proxy code, not bad wire input).
 */
export function encodeValue(type: DataType, value: unknown, version: ProtocolVersion): Buffer | null {
  if (value === null || value === undefined) return null;
  switch (type.code) {
    case DataTypeCode.ASCII: {
      const s = expectString(value, type);
      // eslint-disable-next-line no-control-regex
      if (!/^[\x00-\x7f]*$/.test(s)) throw new RangeError('ascii value holds a character outside [0, 127]');
      return Buffer.from(s, 'latin1');
    }
    case DataTypeCode.TEXT:
    case DataTypeCode.VARCHAR:
      return Buffer.from(expectString(value, type), 'utf8');
    case DataTypeCode.INT: {
      const n = expectInteger(value, type, -0x80000000, 0x7fffffff);
      const b = Buffer.allocUnsafe(4);
      b.writeInt32BE(n);
      return b;
    }
    case DataTypeCode.SMALLINT: {
      const n = expectInteger(value, type, -0x8000, 0x7fff);
      const b = Buffer.allocUnsafe(2);
      b.writeInt16BE(n);
      return b;
    }
    case DataTypeCode.TINYINT: {
      const n = expectInteger(value, type, -0x80, 0x7f);
      return Buffer.from([n & 0xff]);
    }
    case DataTypeCode.BIGINT:
    case DataTypeCode.COUNTER: {
      const n = expectBigint(value, type);
      if (n < -(1n << 63n) || n >= 1n << 63n) throw new RangeError(`${dataTypeName(type)} value ${n} is out of 64-bit range`);
      const b = Buffer.allocUnsafe(8);
      b.writeBigInt64BE(n);
      return b;
    }
    case DataTypeCode.VARINT:
      return encodeVarint(expectBigint(value, type));
    case DataTypeCode.DOUBLE: {
      const b = Buffer.allocUnsafe(8);
      b.writeDoubleBE(expectNumber(value, type));
      return b;
    }
    case DataTypeCode.FLOAT: {
      const b = Buffer.allocUnsafe(4);
      b.writeFloatBE(expectNumber(value, type));
      return b;
    }
    case DataTypeCode.TIMESTAMP: {
      const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : NaN;
      if (!Number.isSafeInteger(ms)) throw new RangeError('timestamp value must be a valid Date or integer milliseconds');
      const b = Buffer.allocUnsafe(8);
      b.writeBigInt64BE(BigInt(ms));
      return b;
    }
    case DataTypeCode.DATE: {
      // days since the Unix epoch, stored as an unsigned int with the epoch at 2^31
      const days = expectInteger(value, type, -0x80000000, 0x7fffffff);
      const b = Buffer.allocUnsafe(4);
      b.writeUInt32BE(days + 0x80000000);
      return b;
    }
    case DataTypeCode.TIME: {
      // nanoseconds since midnight
      const n = expectBigint(value, type);
      if (n < 0n || n >= 86_400_000_000_000n)
        throw new RangeError(`time value ${n} is not within [0, 86400000000000) nanoseconds`);
      const b = Buffer.allocUnsafe(8);
      b.writeBigInt64BE(n);
      return b;
    }
    case DataTypeCode.BOOLEAN:
      if (typeof value !== 'boolean') throw new RangeError(`boolean value expected, got ${typeof value}`);
      return Buffer.from([value ? 1 : 0]);
    case DataTypeCode.BLOB:
      if (!(value instanceof Uint8Array)) throw new RangeError(`blob value must be a Buffer, got ${typeof value}`);
      return Buffer.from(value);
    case DataTypeCode.UUID:
    case DataTypeCode.TIMEUUID:
      if (typeof value === 'string') return uuidFromString(value);
      if (value instanceof Uint8Array && value.length === 16) return Buffer.from(value);
      throw new RangeError(`${dataTypeName(type)} value must be a uuid string or a 16-byte Buffer`);
    case DataTypeCode.INET:
      return ipToBytes(expectString(value, type));
    case DataTypeCode.LIST:
    case DataTypeCode.SET: {
      if (!Array.isArray(value) && !(value instanceof Set)) throw new RangeError(`${dataTypeName(type)} value must be an array`);
      const items = [...value];
      const w = new Writer(16 + items.length * 8);
      writeCount(w, items.length, version);
      for (const item of items) writeElement(w, encodeValue(type.element, item, version), version, type);
      return Buffer.from(w.finish());
    }
    case DataTypeCode.MAP: {
      let entries: [unknown, unknown][];
      if (value instanceof Map) entries = [...value.entries()];
      else if (Array.isArray(value)) entries = value as [unknown, unknown][];
      else throw new RangeError(`${dataTypeName(type)} value must be a Map or an array of [key, value] pairs`);
      const w = new Writer(16 + entries.length * 16);
      writeCount(w, entries.length, version);
      for (const [k, v] of entries) {
        writeElement(w, encodeValue(type.key, k, version), version, type);
        writeElement(w, encodeValue(type.value, v, version), version, type);
      }
      return Buffer.from(w.finish());
    }
    default:
      throw new RangeError(`encoding ${dataTypeName(type)} values is not supported`);
  }
}

/**
 * Deserialize a cell (`null` for a null cell). Malformed bytes throw ProtocolError('invalid-value'
 * or 'truncated'); unsupported types throw ProtocolError('invalid-value').
 */
export function decodeValue(type: DataType, bytes: Buffer | null, version: ProtocolVersion): CqlValue {
  if (bytes === null) return null;
  switch (type.code) {
    case DataTypeCode.ASCII:
      for (const c of bytes) {
        if (c > 0x7f) throw new ProtocolError('invalid-value', `ascii value holds byte 0x${c.toString(16)} outside [0, 127]`);
      }
      return bytes.toString('latin1');
    case DataTypeCode.TEXT:
    case DataTypeCode.VARCHAR:
      return bytes.toString('utf8');
    case DataTypeCode.BLOB:
      return bytes;
  }
  if (bytes.length === 0) return null; // "empty" value of a non-string type
  switch (type.code) {
    case DataTypeCode.INT:
      return exactLength(bytes, 4, type).readInt32BE(0);
    case DataTypeCode.SMALLINT:
      return exactLength(bytes, 2, type).readInt16BE(0);
    case DataTypeCode.TINYINT:
      return exactLength(bytes, 1, type).readInt8(0);
    case DataTypeCode.BIGINT:
    case DataTypeCode.COUNTER:
      return exactLength(bytes, 8, type).readBigInt64BE(0);
    case DataTypeCode.VARINT:
      return decodeVarint(bytes);
    case DataTypeCode.DOUBLE:
      return exactLength(bytes, 8, type).readDoubleBE(0);
    case DataTypeCode.FLOAT:
      return exactLength(bytes, 4, type).readFloatBE(0);
    case DataTypeCode.TIMESTAMP:
      return new Date(Number(exactLength(bytes, 8, type).readBigInt64BE(0)));
    case DataTypeCode.BOOLEAN:
      return exactLength(bytes, 1, type)[0] !== 0;
    case DataTypeCode.UUID:
    case DataTypeCode.TIMEUUID:
      return uuidToString(exactLength(bytes, 16, type));
    case DataTypeCode.INET:
      if (bytes.length !== 4 && bytes.length !== 16) {
        throw new ProtocolError('invalid-value', `inet value must be 4 or 16 bytes, got ${bytes.length}`);
      }
      return ipToString(bytes);
    case DataTypeCode.LIST:
    case DataTypeCode.SET: {
      const r = new Reader(bytes);
      const n = readCount(r, version, type);
      const out: CqlValue[] = [];
      for (let i = 0; i < n; i++) out.push(decodeValue(type.element, readElement(r, version, type), version));
      trailing(r, type);
      return out;
    }
    case DataTypeCode.MAP: {
      const r = new Reader(bytes);
      const n = readCount(r, version, type);
      const out = new Map<CqlValue, CqlValue>();
      for (let i = 0; i < n; i++) {
        const k = decodeValue(type.key, readElement(r, version, type), version);
        out.set(k, decodeValue(type.value, readElement(r, version, type), version));
      }
      trailing(r, type);
      return out;
    }
    default:
      throw new ProtocolError('invalid-value', `decoding ${dataTypeName(type)} values is not supported`);
  }
}

function expectString(value: unknown, type: DataType): string {
  if (typeof value !== 'string') throw new RangeError(`${dataTypeName(type)} value must be a string, got ${typeof value}`);
  return value;
}
function expectNumber(value: unknown, type: DataType): number {
  if (typeof value !== 'number') throw new RangeError(`${dataTypeName(type)} value must be a number, got ${typeof value}`);
  return value;
}
function expectInteger(value: unknown, type: DataType, min: number, max: number): number {
  const n = expectNumber(value, type);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new RangeError(`${dataTypeName(type)} value ${n} is not an integer in [${min}, ${max}]`);
  return n;
}
function expectBigint(value: unknown, type: DataType): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new RangeError(`${dataTypeName(type)} value must be a bigint or a safe integer`);
}
function exactLength(bytes: Buffer, n: number, type: DataType): Buffer {
  if (bytes.length !== n)
    throw new ProtocolError('invalid-value', `${dataTypeName(type)} value must be ${n} bytes, got ${bytes.length}`);
  return bytes;
}

function writeCount(w: Writer, n: number, version: ProtocolVersion): void {
  if (usesShortCollections(version)) {
    if (n > 0xffff) throw new RangeError(`v2 collections hold at most 65535 elements, got ${n}`);
    w.writeShort(n);
  } else {
    w.writeInt(n);
  }
}
function writeElement(w: Writer, b: Buffer | null, version: ProtocolVersion, type: DataType): void {
  if (b === null) throw new RangeError(`${dataTypeName(type)} elements cannot be null`);
  if (usesShortCollections(version)) {
    if (b.length > 0xffff) throw new RangeError(`v2 collection elements are at most 65535 bytes, got ${b.length}`);
    w.writeShortBytes(b);
  } else {
    w.writeBytes(b);
  }
}
function readCount(r: Reader, version: ProtocolVersion, type: DataType): number {
  const n = usesShortCollections(version)
    ? r.readShort(`${dataTypeName(type)} element count`)
    : r.readInt(`${dataTypeName(type)} element count`);
  if (n < 0) throw new ProtocolError('invalid-value', `${dataTypeName(type)} element count ${n} is negative`);
  // every element takes at least its length prefix: refuse counts the bytes cannot hold
  const minSize = (usesShortCollections(version) ? 2 : 4) * (type.code === DataTypeCode.MAP ? 2 : 1);
  if (n * minSize > r.remaining) {
    throw new ProtocolError('truncated', `${dataTypeName(type)} declares ${n} elements but only ${r.remaining} bytes follow`);
  }
  return n;
}
function readElement(r: Reader, version: ProtocolVersion, type: DataType): Buffer {
  if (usesShortCollections(version)) return r.readShortBytes(`${dataTypeName(type)} element`);
  const b = r.readBytes(`${dataTypeName(type)} element`);
  if (b === null) throw new ProtocolError('invalid-value', `${dataTypeName(type)} holds a null element`);
  return b;
}
function trailing(r: Reader, type: DataType): void {
  if (r.remaining !== 0)
    throw new ProtocolError('invalid-value', `${dataTypeName(type)} value has ${r.remaining} trailing bytes`);
}

/** Two's complement, minimal length (spec section 5.24). */
export function encodeVarint(v: bigint): Buffer {
  const bytes: number[] = [];
  let x = v;
  for (;;) {
    const byte = Number(BigInt.asUintN(8, x));
    bytes.unshift(byte);
    x >>= 8n;
    if ((x === 0n && (byte & 0x80) === 0) || (x === -1n && (byte & 0x80) !== 0)) break;
  }
  return Buffer.from(bytes);
}

export function decodeVarint(b: Buffer): bigint {
  if (b.length === 0) return 0n;
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return BigInt.asIntN(b.length * 8, v);
}

// ---------------------------------------------------------------------------------------------
// UUIDs and time UUIDs
// ---------------------------------------------------------------------------------------------

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (any case) to 16 bytes. Throws RangeError otherwise. */
export function uuidFromString(s: string): Buffer {
  if (!UUID_RE.test(s)) throw new RangeError(`invalid uuid: ${JSON.stringify(s)}`);
  return Buffer.from(s.replace(/-/g, ''), 'hex');
}

/** 16 bytes to the canonical lower-case form. */
export function uuidToString(b: Uint8Array): string {
  if (b.length !== 16) throw new RangeError(`a uuid is 16 bytes, got ${b.length}`);
  const h = Buffer.from(b.buffer, b.byteOffset, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** 100 ns intervals between the Gregorian epoch (1582-10-15) and the Unix epoch. */
const GREGORIAN_OFFSET = 0x01b21dd213814000n;

/** Clock sequence (14 bits) and node (48 bits, multicast bit set: RFC 4122 4.5), random once per process. */
const processRandom = randomBytes(8);
const CLOCK_SEQ = ((processRandom[0]! << 8) | processRandom[1]!) & 0x3fff;
const NODE = Buffer.from(processRandom.subarray(2, 8));
NODE[0] = NODE[0]! | 0x01;

let lastTicks = 0n;

/** The next 60-bit timestamp: current time in 100 ns ticks, strictly increasing within the process. */
function nextTicks(): bigint {
  const now = BigInt(Date.now()) * 10000n + GREGORIAN_OFFSET;
  lastTicks = now > lastTicks ? now : lastTicks + 1n;
  return lastTicks;
}

/** Build a version 1 UUID from 100 ns ticks since the Gregorian epoch, a 14-bit clock sequence and a 6-byte node. */
export function makeTimeUuid(ticks: bigint, clockSeq = CLOCK_SEQ, node: Uint8Array = NODE): Buffer {
  if (ticks < 0n || ticks >= 1n << 60n) throw new RangeError(`time uuid timestamp ${ticks} does not fit in 60 bits`);
  if (node.length !== 6) throw new RangeError(`time uuid node must be 6 bytes, got ${node.length}`);
  const b = Buffer.allocUnsafe(16);
  b.writeUInt32BE(Number(ticks & 0xffffffffn), 0); // time_low
  b.writeUInt16BE(Number((ticks >> 32n) & 0xffffn), 4); // time_mid
  b.writeUInt16BE(Number((ticks >> 48n) & 0x0fffn) | 0x1000, 6); // version 1 + time_hi
  b.writeUInt16BE((clockSeq & 0x3fff) | 0x8000, 8); // RFC 4122 variant + clock sequence
  b.set(node, 10);
  return b;
}

/** A new version 1 (time-based) UUID, as Cassandra's now() would produce: later calls sort after earlier ones. */
export function newTimeUuid(): Buffer {
  return makeTimeUuid(nextTicks());
}

/** `newTimeUuid()` in its string form. */
export function newTimeUuidString(): string {
  return uuidToString(newTimeUuid());
}

/** The 60-bit timestamp of a version 1 UUID, in 100 ns ticks since 1582-10-15. Throws RangeError for another version. */
export function timeUuidTicks(uuid: Uint8Array | string): bigint {
  const b = typeof uuid === 'string' ? uuidFromString(uuid) : Buffer.from(uuid.buffer, uuid.byteOffset, uuid.length);
  if (b.length !== 16) throw new RangeError(`a uuid is 16 bytes, got ${b.length}`);
  if (b[6]! >> 4 !== 1) throw new RangeError(`not a version 1 (time) uuid: version ${b[6]! >> 4}`);
  const low = BigInt(b.readUInt32BE(0));
  const mid = BigInt(b.readUInt16BE(4));
  const hi = BigInt(b.readUInt16BE(6) & 0x0fff);
  return (hi << 48n) | (mid << 32n) | low;
}

/** Milliseconds since the Unix epoch at which a version 1 UUID was made (what dateOf()/toTimestamp() return). */
export function timeUuidTimestamp(uuid: Uint8Array | string): number {
  return Number((timeUuidTicks(uuid) - GREGORIAN_OFFSET) / 10000n);
}

/** Order two time UUIDs as Cassandra's timeuuid type does: by timestamp, then by raw bytes. */
export function compareTimeUuids(a: Uint8Array | string, b: Uint8Array | string): number {
  const ta = timeUuidTicks(a);
  const tb = timeUuidTicks(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ba = typeof a === 'string' ? uuidFromString(a) : Buffer.from(a);
  const bb = typeof b === 'string' ? uuidFromString(b) : Buffer.from(b);
  return Buffer.compare(ba, bb);
}
