/**
 * Wire primitives of the CQL native protocol (spec section 3, "Notations").
 *
 * `Reader` walks a Buffer with an offset (no slicing until a value is returned) and
 * throws `ProtocolError('truncated' | 'invalid-value')` naming the field it could not read.
 * `Writer` appends to a growable buffer; `finish()` returns the bytes written.
 */
import { ProtocolError } from './errors';

const utf8 = new TextDecoder('utf-8', { fatal: false });

export type StringMap = Record<string, string>;
export type StringMultimap = Record<string, string[]>;
export type BytesMap = Record<string, Buffer | null>;

/** An [inet]: IP address (4 or 16 bytes, as text) and port. */
export interface Inet {
  address: string;
  port: number;
}

/** [value] sentinel for "not set" (n == -2, v4+). `null` stands for n == -1. */
export const UNSET: unique symbol = Symbol('unset');
export type Value = Buffer | null | typeof UNSET;

/**
 * Set a map entry from the wire as an own property, even for the key "__proto__" (a plain
 * assignment would replace the object's prototype and lose the entry).
 */
function setEntry<T>(out: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

export class Reader {
  offset: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    end = buf.length,
  ) {
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  /** `what` + `suffix` names the field in the error (joined only when thrown: no string built per read). */
  private need(n: number, what: string, suffix = ''): void {
    if (n > this.end - this.offset) {
      throw new ProtocolError(
        'truncated',
        `cannot read ${what}${suffix}: needs ${n} bytes at offset ${this.offset}, only ${this.end - this.offset} left`,
      );
    }
  }

  readByte(what = '[byte]', suffix = ''): number {
    this.need(1, what, suffix);
    return this.buf[this.offset++]!;
  }

  /** [short]: unsigned 16-bit. */
  readShort(what = '[short]', suffix = ''): number {
    this.need(2, what, suffix);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  /** Signed 16-bit (stream ids). */
  readSignedShort(what = '[short]', suffix = ''): number {
    this.need(2, what, suffix);
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  readInt(what = '[int]', suffix = ''): number {
    this.need(4, what, suffix);
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  readUInt(what = '[int]', suffix = ''): number {
    this.need(4, what, suffix);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  readLong(what = '[long]', suffix = ''): bigint {
    this.need(8, what, suffix);
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  /** Raw bytes (a view, not a copy). */
  readRaw(n: number, what = 'bytes', suffix = ''): Buffer {
    const start = this.offset;
    this.skip(n, what, suffix);
    return this.buf.subarray(start, this.offset);
  }

  readString(what = '[string]', suffix = ''): string {
    const n = this.readShort(what, suffix ? `${suffix} length` : ' length');
    this.need(n, what, suffix);
    const s = this.buf.toString('utf8', this.offset, this.offset + n);
    this.offset += n;
    return s;
  }

  readLongString(what = '[long string]'): string {
    const n = this.readInt(what, ' length');
    if (n < 0) throw new ProtocolError('invalid-value', `cannot read ${what}: negative length ${n}`);
    this.need(n, what);
    const s = utf8.decode(this.buf.subarray(this.offset, this.offset + n));
    this.offset += n;
    return s;
  }

  readUuid(what = '[uuid]'): Buffer {
    return this.readRaw(16, what);
  }

  readStringList(what = '[string list]', suffix = ''): string[] {
    const n = this.readShort(what, suffix ? `${suffix} length` : ' length');
    // Each [string] takes at least 2 bytes: fail before allocating for a count the body cannot hold.
    this.need(n * 2, what, suffix);
    const out: string[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.readString(what, suffix);
    return out;
  }

  /** [bytes]: n < 0 is null. */
  readBytes(what = '[bytes]', suffix = ''): Buffer | null {
    const n = this.readInt(what, suffix ? `${suffix} length` : ' length');
    if (n < 0) return null;
    return this.readRaw(n, what, suffix);
  }

  /** [value]: -1 null, -2 not set, < -2 invalid. */
  readValue(what = '[value]'): Value {
    const n = this.readInt(what, ' length');
    if (n === -1) return null;
    if (n === -2) return UNSET;
    if (n < -2) throw new ProtocolError('invalid-value', `cannot read ${what}: invalid length ${n}`);
    return this.readRaw(n, what);
  }

  readShortBytes(what = '[short bytes]'): Buffer {
    const n = this.readShort(what, ' length');
    return this.readRaw(n, what);
  }

  /** Skip `n` bytes (no view made). */
  skip(n: number, what = 'bytes', suffix = ''): void {
    if (n < 0) throw new ProtocolError('invalid-value', `cannot read ${what}${suffix}: negative length ${n}`);
    this.need(n, what, suffix);
    this.offset += n;
  }

  /** Skip a [short bytes] (no view made). */
  skipShortBytes(what = '[short bytes]'): void {
    this.skip(this.readShort(what, ' length'), what);
  }

  readStringMap(what = '[string map]'): StringMap {
    const n = this.readShort(what, ' length');
    const out: StringMap = {};
    for (let i = 0; i < n; i++) {
      const k = this.readString(what, ' key');
      setEntry(out, k, this.readString(what, ' value'));
    }
    return out;
  }

  readStringMultimap(what = '[string multimap]'): StringMultimap {
    const n = this.readShort(what, ' length');
    const out: StringMultimap = {};
    for (let i = 0; i < n; i++) {
      const k = this.readString(what, ' key');
      setEntry(out, k, this.readStringList(what, ' value'));
    }
    return out;
  }

  readBytesMap(what = '[bytes map]'): BytesMap {
    const n = this.readShort(what, ' length');
    const out: BytesMap = {};
    for (let i = 0; i < n; i++) {
      const k = this.readString(what, ' key');
      setEntry(out, k, this.readBytes(what, ' value'));
    }
    return out;
  }

  /** [inetaddr]: size byte (4 or 16) then the address. */
  readInetAddr(what = '[inetaddr]'): string {
    const n = this.readByte(what, ' size');
    if (n !== 4 && n !== 16) throw new ProtocolError('invalid-value', `cannot read ${what}: address size ${n} is not 4 or 16`);
    return ipToString(this.readRaw(n, what));
  }

  readInet(what = '[inet]'): Inet {
    const address = this.readInetAddr(what);
    const port = this.readInt(what, ' port');
    return { address, port };
  }

  /** [unsigned vint] (v5), as a number; values above 2^53 are rejected. */
  readUnsignedVint(what = '[unsigned vint]'): number {
    const first = this.readByte(what);
    const extra = Math.clz32(~(first << 24) >>> 0); // count of leading 1 bits
    if (extra === 0) return first;
    const n = Math.min(extra, 8);
    this.need(n, what);
    let v = BigInt(first & (0xff >> Math.min(extra + 1, 8)));
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.buf[this.offset++]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError('invalid-value', `cannot read ${what}: ${v} is too large`);
    return Number(v);
  }

  readVint(what = '[vint]'): number {
    const u = this.readUnsignedVint(what);
    // zig-zag decode without 32-bit overflow
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }
}

export class Writer {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  writeByte(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  /** [short]: unsigned 16-bit; a length or value outside 0..65535 is a RangeError (never silently truncated). */
  writeShort(v: number): this {
    if ((v & 0xffff) !== v) throw new RangeError(`[short] value ${v} is outside 0..65535`);
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  writeSignedShort(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  writeInt(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
    return this;
  }

  writeUInt(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  writeLong(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.pos);
    this.pos += 8;
    return this;
  }

  writeRaw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  writeString(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    this.writeShort(n);
    this.ensure(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
    return this;
  }

  writeLongString(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    this.writeInt(n);
    this.ensure(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
    return this;
  }

  writeUuid(b: Uint8Array): this {
    if (b.length !== 16) throw new RangeError(`[uuid] must be 16 bytes, got ${b.length}`);
    return this.writeRaw(b);
  }

  writeStringList(l: readonly string[]): this {
    this.writeShort(l.length);
    for (const s of l) this.writeString(s);
    return this;
  }

  writeBytes(b: Uint8Array | null): this {
    if (b === null) return this.writeInt(-1);
    this.writeInt(b.length);
    return this.writeRaw(b);
  }

  writeValue(v: Value): this {
    if (v === UNSET) return this.writeInt(-2);
    return this.writeBytes(v);
  }

  writeShortBytes(b: Uint8Array): this {
    this.writeShort(b.length);
    return this.writeRaw(b);
  }

  writeStringMap(m: StringMap): this {
    const keys = Object.keys(m);
    this.writeShort(keys.length);
    for (const k of keys) this.writeString(k).writeString(m[k]!);
    return this;
  }

  writeStringMultimap(m: StringMultimap): this {
    const keys = Object.keys(m);
    this.writeShort(keys.length);
    for (const k of keys) this.writeString(k).writeStringList(m[k]!);
    return this;
  }

  writeBytesMap(m: BytesMap): this {
    const keys = Object.keys(m);
    this.writeShort(keys.length);
    for (const k of keys) this.writeString(k).writeBytes(m[k]!);
    return this;
  }

  writeInetAddr(address: string): this {
    const b = ipToBytes(address);
    this.writeByte(b.length);
    return this.writeRaw(b);
  }

  writeInet(inet: Inet): this {
    return this.writeInetAddr(inet.address).writeInt(inet.port);
  }

  writeUnsignedVint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`[unsigned vint] must be a non-negative safe integer, got ${v}`);
    let big = BigInt(v);
    // number of bytes needed for the value
    let bytes = 1;
    while (bytes < 9 && big >= 1n << BigInt(7 * bytes)) bytes++;
    if (bytes === 1) return this.writeByte(v);
    const extra = bytes - 1;
    const out = Buffer.alloc(bytes);
    for (let i = bytes - 1; i >= 1; i--) {
      out[i] = Number(big & 0xffn);
      big >>= 8n;
    }
    const prefix = extra >= 8 ? 0xff : (0xff << (8 - extra)) & 0xff;
    out[0] = prefix | Number(big);
    return this.writeRaw(out);
  }

  writeVint(v: number): this {
    return this.writeUnsignedVint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  /** The bytes written so far (a view of the internal buffer: copy it if the writer is reused). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export function ipToString(b: Buffer): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(i).toString(16));
  // compress the longest run of zero groups, as the canonical form does
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return parts.join(':');
  return `${parts.slice(0, bestStart).join(':')}::${parts.slice(bestStart + bestLen).join(':')}`;
}

export function ipToBytes(address: string): Buffer {
  if (address.includes(':')) {
    const [head, tail] = address.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
    if (address.includes('::')) {
      const fill = 8 - h.length - t.length;
      if (fill < 0) throw new RangeError(`invalid IPv6 address: ${address}`);
      return groupsToBytes([...h, ...new Array<string>(fill).fill('0'), ...t], address);
    }
    return groupsToBytes(h, address);
  }
  const parts = address.split('.');
  if (parts.length !== 4) throw new RangeError(`invalid IPv4 address: ${address}`);
  const b = Buffer.alloc(4);
  parts.forEach((p, i) => {
    const n = Number(p);
    if (!/^\d{1,3}$/.test(p) || n > 255) throw new RangeError(`invalid IPv4 address: ${address}`);
    b[i] = n;
  });
  return b;
}

function groupsToBytes(groups: string[], address: string): Buffer {
  if (groups.length !== 8) throw new RangeError(`invalid IPv6 address: ${address}`);
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new RangeError(`invalid IPv6 address: ${address}`);
    b.writeUInt16BE(parseInt(g, 16), i * 2);
  });
  return b;
}
