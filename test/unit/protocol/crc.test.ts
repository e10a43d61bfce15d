import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { CRC32_SEED, crc24, crc24OfValue, crc32, crc32Update, crc32UpdateTable } from '../../../src/protocol/crc';

/** Bit-by-bit CRC24 exactly as Cassandra's Crc.crc24(long bytes, int len): LSB of the value first, MSB-first shifts. */
function crc24Reference(value: bigint, len: number): number {
  let crc = 0x875060;
  let v = value;
  for (let k = 0; k < len; k++) {
    crc ^= Number(v & 0xffn) << 16;
    v >>= 8n;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1974f0b;
    }
  }
  return crc;
}

/** Bit-by-bit reflected CRC32 (IEEE 802.3, as java.util.zip.CRC32 and zlib). */
function crc32Reference(bytes: Iterable<number>): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function leBytes(value: bigint, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i++) out[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return out;
}

test('CRC24: values from go-cassandra-native-protocol crc24_test.go (computed by Cassandra semantics)', () => {
  const cases: [bigint, number, number][] = [
    [0n, 0, 8867936],
    [0n, 1, 59277],
    [0n, 3, 8251255],
    [0n, 5, 11185162],
    [0n, 8, 9640737],
    [9223372036854775807n, 1, 1294145],
    [9223372036854775807n, 3, 8029951],
    [9223372036854775807n, 5, 9326200],
    [9223372036854775807n, 8, 5032370],
    [131077n, 3, 10131737],
    [17181442053n, 5, 3672222],
    [34359607301n, 5, 14445742],
  ];
  for (const [value, len, want] of cases) {
    assert.equal(crc24Reference(value, len), want, `reference ${value}/${len}`);
    assert.equal(crc24(leBytes(value, len), 0, len), want, `table ${value}/${len}`);
    if (len <= 6 && value < 2n ** 48n) assert.equal(crc24OfValue(Number(value), len), want, `value ${value}/${len}`);
  }
});

test('CRC24 (table) equals the bitwise reference for any 3- or 5-byte header', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 40n - 1n }), fc.constantFrom(3, 5), fc.nat(7), (v, len, pad) => {
      const value = len === 3 ? v & 0xffffffn : v;
      const buf = Buffer.concat([Buffer.alloc(pad, 0xaa), leBytes(value, len)]);
      const want = crc24Reference(value, len);
      assert.equal(crc24(buf, pad, len), want);
      assert.equal(crc24OfValue(Number(value), len), want);
    }),
    { numRuns: 500 },
  );
});

test('CRC32: standard check value and bitwise reference', () => {
  assert.equal(crc32Update(0, Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32UpdateTable(0, Buffer.from('123456789')), 0xcbf43926);
  const big = Buffer.from('123456789'.repeat(100));
  assert.equal(crc32Update(0, big), crc32Reference(big));
  assert.equal(crc32UpdateTable(0, big), crc32Reference(big));
  assert.equal(crc32Update(0, Buffer.alloc(0)), 0);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (data, cut) => {
      const want = crc32Reference(data);
      assert.equal(crc32Update(0, data), want);
      assert.equal(crc32UpdateTable(0, data), want);
      assert.equal(
        crc32UpdateTable(crc32UpdateTable(0, data, 0, Math.min(cut, data.length)), data, Math.min(cut, data.length)),
        want,
      );
      // Running update over two parts, and sub-ranges.
      const k = Math.min(cut, data.length);
      assert.equal(crc32Update(crc32Update(0, data, 0, k), data, k, data.length), want);
      if (typeof zlib.crc32 === 'function') assert.equal(zlib.crc32(data), want);
    }),
    { numRuns: 300 },
  );
});

test('CRC32 for segment payloads is seeded with the bytes FA 2D 55 CA', () => {
  assert.equal(CRC32_SEED, crc32Reference([0xfa, 0x2d, 0x55, 0xca]));
  assert.equal(crc32(Buffer.alloc(0)), CRC32_SEED);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (data) => {
      assert.equal(crc32(data), crc32Reference([0xfa, 0x2d, 0x55, 0xca, ...data]));
    }),
    { numRuns: 200 },
  );
});

test('CRC32: payloads captured from the DataStax Java driver (values from go-cassandra-native-protocol crc32_test.go)', () => {
  const q1 = Buffer.from([
    6, 16, 0, 0, 7, 0, 0, 0, 47, 0, 0, 0, 37, 83, 69, 76, 69, 67, 84, 32, 99, 108, 117, 115, 116, 101, 114, 95, 110, 97, 109, 101,
    32, 70, 82, 79, 77, 32, 115, 121, 115, 116, 101, 109, 46, 108, 111, 99, 97, 108, 0, 1, 0, 0, 0, 0,
  ]);
  assert.equal(crc32(q1), 37932456);
  const q2 = Buffer.from([
    6, 16, 0, 0, 7, 0, 0, 0, 36, 0, 0, 0, 26, 83, 69, 76, 69, 67, 84, 32, 42, 32, 70, 82, 79, 77, 32, 115, 121, 115, 116, 101,
    109, 46, 108, 111, 99, 97, 108, 0, 1, 0, 0, 0, 0, 6, 16, 0, 1, 7, 0, 0, 0, 39, 0, 0, 0, 29, 83, 69, 76, 69, 67, 84, 32, 42,
    32, 70, 82, 79, 77, 32, 115, 121, 115, 116, 101, 109, 46, 112, 101, 101, 114, 115, 95, 118, 50, 0, 1, 0, 0, 0, 0,
  ]);
  // The Java driver's signed int -642004664.
  assert.equal(crc32(q2) | 0, -642004664);
});
