/**
 * Checksums of the v5 segment framing (native_protocol_v5.spec section 2; Cassandra's
 * `org.apache.cassandra.net.Crc`).
 *
 * - CRC24 protects the segment header. Koopman polynomial 0x1974F0B, initial value 0x875060,
 *   MSB-first, no reflection, no final xor. Cassandra computes it over the header *value*
 *   (3 bytes for an uncompressed segment, 5 for an LZ4 one) feeding the least significant byte
 *   first; since the header is written little-endian this is the same as feeding the header
 *   bytes in wire order, which is what `crc24` does.
 * - CRC32 protects the payload: the zlib/IEEE CRC32 (reflected polynomial 0xEDB88320), computed
 *   over the four bytes FA 2D 55 CA followed by the payload (Cassandra's `Crc.crc32()` updates a
 *   fresh `java.util.zip.CRC32` with those "initial bytes" before the data).
 *
 * Both are table-driven and allocate nothing per call. For CRC32 over more than a few dozen bytes,
 * Node's native `zlib.crc32` (Node >= 20.15, about 5x faster than the table in JS) is used when
 * present; it computes the same function (tests check both against a bitwise reference).
 */
import * as zlib from 'node:zlib';

type NativeCrc32 = (data: Uint8Array, value?: number) => number;
const nativeCrc32: NativeCrc32 | undefined = (zlib as unknown as { crc32?: NativeCrc32 }).crc32;
/** Below this many bytes the JS table beats the native call (and its subarray view). */
const NATIVE_CRC32_MIN = 64;

export const CRC24_INIT = 0x875060;
export const CRC24_POLY = 0x1974f0b;
/** The bytes Cassandra feeds into the payload CRC32 before the payload itself. */
export const CRC32_INITIAL_BYTES: readonly number[] = [0xfa, 0x2d, 0x55, 0xca];

const CRC24_TABLE = new Uint32Array(256);
for (let b = 0; b < 256; b++) {
  let c = b << 16;
  for (let i = 0; i < 8; i++) {
    c <<= 1;
    if (c & 0x1000000) c ^= CRC24_POLY;
  }
  CRC24_TABLE[b] = c & 0xffffff;
}

/** CRC24 of `length` bytes of `buf` from `offset`, in wire order (i.e. of a little-endian header). */
export function crc24(buf: Uint8Array, offset: number, length: number): number {
  let crc = CRC24_INIT;
  const end = offset + length;
  for (let i = offset; i < end; i++) {
    crc = ((crc << 8) & 0xffffff) ^ CRC24_TABLE[((crc >>> 16) ^ buf[i]!) & 0xff]!;
  }
  return crc;
}

/**
 * CRC24 of a header value of `length` bytes (up to 6), least significant byte first: the exact
 * signature of Cassandra's `Crc.crc24(long bytes, int len)`. Values above 2^32 are fine.
 */
export function crc24OfValue(value: number, length: number): number {
  let crc = CRC24_INIT;
  let v = value;
  for (let i = 0; i < length; i++) {
    const b = v % 256;
    v = Math.floor(v / 256);
    crc = ((crc << 8) & 0xffffff) ^ CRC24_TABLE[((crc >>> 16) ^ b) & 0xff]!;
  }
  return crc;
}

// Slicing-by-4 tables for the reflected IEEE polynomial.
const T0 = new Int32Array(256);
const T1 = new Int32Array(256);
const T2 = new Int32Array(256);
const T3 = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T0[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T0[n]!;
  c = T0[c & 0xff]! ^ (c >>> 8);
  T1[n] = c;
  c = T0[c & 0xff]! ^ (c >>> 8);
  T2[n] = c;
  c = T0[c & 0xff]! ^ (c >>> 8);
  T3[n] = c;
}

/**
 * zlib-style running CRC32: `crc32Update(0, a ++ b) === crc32Update(crc32Update(0, a), b)`.
 * `crc` is a finished CRC32 value (as returned), the result is unsigned.
 */
export function crc32Update(crc: number, buf: Uint8Array, start = 0, end = buf.length): number {
  if (nativeCrc32 !== undefined && end - start >= NATIVE_CRC32_MIN) {
    return nativeCrc32(start === 0 && end === buf.length ? buf : buf.subarray(start, end), crc);
  }
  return crc32UpdateTable(crc, buf, start, end);
}

/** `crc32Update` computed with the JS tables only (slicing-by-4). */
export function crc32UpdateTable(crc: number, buf: Uint8Array, start = 0, end = buf.length): number {
  let c = ~crc;
  let i = start;
  const end4 = end - 3;
  for (; i < end4; i += 4) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c = T3[c & 0xff]! ^ T2[(c >>> 8) & 0xff]! ^ T1[(c >>> 16) & 0xff]! ^ T0[c >>> 24]!;
  }
  for (; i < end; i++) c = T0[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC32 state after the initial bytes FA 2D 55 CA. */
export const CRC32_SEED = crc32Update(0, Uint8Array.from(CRC32_INITIAL_BYTES));

/** The v5 segment payload CRC32 of `buf[start, end)` (seeded as Cassandra does). Unsigned. */
export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  return crc32Update(CRC32_SEED, buf, start, end);
}
