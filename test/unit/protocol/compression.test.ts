import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { ProtocolVersion } from '../../../src/protocol/constants';
import { ProtocolError } from '../../../src/protocol/errors';
import {
  getCompressor,
  lz4BodyCompressor,
  lz4CompressBlock,
  lz4CompressBound,
  lz4DecompressBlock,
  snappyBodyCompressor,
  supportsVersion,
} from '../../../src/protocol/compression';

const BODY_VERSIONS = [
  ProtocolVersion.V2,
  ProtocolVersion.V3,
  ProtocolVersion.V4,
  ProtocolVersion.DSE_V1,
  ProtocolVersion.DSE_V2,
];

function isCompressionError(e: unknown): boolean {
  return e instanceof ProtocolError && e.code === 'compression';
}

/** Data shapes: random, small alphabet, repeated chunks, long runs. */
const bodies = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
  fc.array(fc.constantFrom(0x41, 0x42, 0x43, 0x20), { maxLength: 5000 }).map((a) => Buffer.from(a)),
  fc
    .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 400 }), fc.uint8Array({ maxLength: 20 }))
    .map(([unit, n, tail]) => Buffer.concat([...Array.from({ length: n }, () => Buffer.from(unit)), Buffer.from(tail)])),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 70000 })).map(([b, n]) => Buffer.alloc(n, b)),
);

test('LZ4 block round trip (random, low-entropy, repeated and run data)', () => {
  fc.assert(
    fc.property(bodies, (src) => {
      const z = lz4CompressBlock(src);
      assert.ok(z.length >= 1 && z.length <= lz4CompressBound(src.length));
      assert.deepEqual(lz4DecompressBlock(z, src.length), src);
    }),
    { numRuns: 300 },
  );
});

test('LZ4 block: empty input is the single byte 00; highly compressible data shrinks; incompressible data grows by little', () => {
  assert.deepEqual(lz4CompressBlock(Buffer.alloc(0)), Buffer.from([0]));
  assert.equal(lz4DecompressBlock(Buffer.from([0]), 0).length, 0);
  const zeros = Buffer.alloc(1 << 20);
  const z = lz4CompressBlock(zeros);
  assert.ok(z.length < 5000, `1 MiB of zeros compressed to ${z.length} bytes`);
  assert.deepEqual(lz4DecompressBlock(z, zeros.length), zeros);
  const rnd = randomBytes(100_000);
  const zr = lz4CompressBlock(rnd);
  assert.ok(zr.length <= lz4CompressBound(rnd.length));
  assert.deepEqual(lz4DecompressBlock(zr, rnd.length), rnd);
});

test('LZ4 block output respects the end-of-block rules (last 5 bytes literals, no match in the last 12)', () => {
  // Walk the sequences of our own output and check where the last match ends / starts.
  fc.assert(
    fc.property(bodies, (src) => {
      const z = lz4CompressBlock(src);
      let ip = 0;
      let op = 0;
      let lastMatchStart = -1;
      let lastMatchEnd = 0;
      for (;;) {
        const token = z[ip++]!;
        let ll = token >>> 4;
        if (ll === 15) for (let b = 255; b === 255; ) ll += b = z[ip++]!;
        ip += ll;
        op += ll;
        if (ip === z.length) break;
        ip += 2;
        let ml = token & 15;
        if (ml === 15) for (let b = 255; b === 255; ) ml += b = z[ip++]!;
        lastMatchStart = op;
        op += ml + 4;
        lastMatchEnd = op;
      }
      assert.equal(op, src.length);
      if (lastMatchStart >= 0) {
        assert.ok(src.length - lastMatchStart >= 12, 'last match starts too close to the end');
        assert.ok(src.length - lastMatchEnd >= 5, 'last 5 bytes must be literals');
      }
    }),
    { numRuns: 200 },
  );
});

test('LZ4 block decoding refuses a declared length that does not match', () => {
  const src = Buffer.from('hello hello hello hello hello hello hello, world');
  const z = lz4CompressBlock(src);
  assert.throws(() => lz4DecompressBlock(z, src.length + 1), isCompressionError);
  assert.throws(() => lz4DecompressBlock(z, src.length - 1), isCompressionError);
  assert.throws(() => lz4DecompressBlock(z, 0), isCompressionError);
  assert.throws(() => lz4DecompressBlock(z, -1), isCompressionError);
  // Impossible ratio: refused before allocating.
  assert.throws(() => lz4DecompressBlock(z, z.length * 255 + 1), /impossible/);
});

test('LZ4 block decoding refuses every truncation of a valid block', () => {
  fc.assert(
    fc.property(
      bodies.filter((b) => b.length > 0),
      (src) => {
        const z = lz4CompressBlock(src);
        for (const cut of new Set([0, 1, 2, z.length >> 1, z.length - 2, z.length - 1])) {
          if (cut < 0 || cut >= z.length) continue;
          assert.throws(() => lz4DecompressBlock(z.subarray(0, cut), src.length), isCompressionError, `cut at ${cut}`);
        }
      },
    ),
    { numRuns: 100 },
  );
});

test('LZ4 block decoding refuses offsets before the start of the output, zero offsets and overruns', () => {
  // token: 0 literals, match length 4; offset 1 with nothing written yet.
  assert.throws(() => lz4DecompressBlock(Buffer.from([0x00, 0x01, 0x00, 0x00]), 4), /before the start/);
  // 2 literals then a match at offset 3.
  assert.throws(() => lz4DecompressBlock(Buffer.from([0x20, 0x61, 0x62, 0x03, 0x00, 0x00]), 6), /before the start/);
  // Zero offset.
  assert.throws(() => lz4DecompressBlock(Buffer.from([0x10, 0x61, 0x00, 0x00, 0x00]), 5), /zero match offset/);
  // Literal run longer than the input.
  assert.throws(() => lz4DecompressBlock(Buffer.from([0x50, 0x61, 0x62]), 5), /passes the end of the input/);
  // Output larger than declared.
  assert.throws(() => lz4DecompressBlock(Buffer.from([0x30, 0x61, 0x62, 0x63]), 2), /exceed the declared length/);
  // A valid hand-made block: "ab" then match offset 2 length 4 -> "ababab", then 0 literals end.
  assert.equal(lz4DecompressBlock(Buffer.from([0x20, 0x61, 0x62, 0x02, 0x00, 0x00]), 6).toString(), 'ababab');
});

test('LZ4 block decoding of mutated blocks only ever returns the declared size or throws ProtocolError', () => {
  fc.assert(
    fc.property(
      bodies,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), {
        minLength: 1,
        maxLength: 6,
      }),
      fc.integer({ min: -3, max: 3 }),
      (src, mutations, lengthDelta) => {
        let z = Buffer.from(lz4CompressBlock(src));
        for (const [pos, val, kind] of mutations) {
          const p = z.length === 0 ? 0 : pos % (z.length + (kind === 'insert' ? 1 : 0));
          if (kind === 'set' && z.length > 0) z[p] = val;
          else if (kind === 'insert') z = Buffer.concat([z.subarray(0, p), Buffer.from([val]), z.subarray(p)]);
          else if (kind === 'delete' && z.length > 0) z = Buffer.concat([z.subarray(0, p), z.subarray(p + 1)]);
        }
        const declared = Math.max(0, src.length + lengthDelta);
        try {
          const out = lz4DecompressBlock(z, declared);
          assert.equal(out.length, declared);
        } catch (e) {
          assert.ok(e instanceof ProtocolError && e.code === 'compression', `unexpected error ${String(e)}`);
        }
      },
    ),
    { numRuns: 1000 },
  );
});

test('LZ4 frame body: 4-byte big-endian length + block; round trip for every body-compression version', () => {
  assert.deepEqual(lz4BodyCompressor.compress(Buffer.alloc(0), ProtocolVersion.V4), Buffer.from([0, 0, 0, 0, 0]));
  assert.equal(lz4BodyCompressor.decompress(Buffer.from([0, 0, 0, 0, 0]), ProtocolVersion.V4, 100).length, 0);
  assert.equal(lz4BodyCompressor.decompress(Buffer.from([0, 0, 0, 0]), ProtocolVersion.V4, 100).length, 0);
  const body = Buffer.from('x'.repeat(1000));
  const c = lz4BodyCompressor.compress(body, ProtocolVersion.V4);
  assert.equal(c.readUInt32BE(0), 1000);
  assert.deepEqual(lz4DecompressBlock(c.subarray(4), 1000), body);
  fc.assert(
    fc.property(bodies, fc.constantFrom(...BODY_VERSIONS), (src, v) => {
      assert.deepEqual(lz4BodyCompressor.decompress(lz4BodyCompressor.compress(src, v), v, src.length), src);
    }),
    { numRuns: 150 },
  );
});

test('LZ4 frame body: declared length checks before allocation', () => {
  const v = ProtocolVersion.V4;
  const c = lz4BodyCompressor.compress(Buffer.from('abcdefgh'.repeat(100)), v);
  // Above maxLength.
  assert.throws(() => lz4BodyCompressor.decompress(c, v, 799), /exceeds the maximum of 799/);
  // Wrong declared length.
  const wrong = Buffer.from(c);
  wrong.writeUInt32BE(801, 0);
  assert.throws(() => lz4BodyCompressor.decompress(wrong, v, 10_000), isCompressionError);
  wrong.writeUInt32BE(799, 0);
  assert.throws(() => lz4BodyCompressor.decompress(wrong, v, 10_000), isCompressionError);
  // Huge declared length on a tiny block under a huge maximum: impossible ratio, refused.
  const huge = Buffer.from([0x0f, 0xff, 0xff, 0xff, 0x00]);
  assert.throws(() => lz4BodyCompressor.decompress(huge, v, 0x7fffffff), /impossible/);
  // Negative [int] length, too short body.
  assert.throws(() => lz4BodyCompressor.decompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0]), v, 100), /negative/);
  assert.throws(() => lz4BodyCompressor.decompress(Buffer.from([0, 0, 1]), v, 100), /no 4-byte/);
  try {
    lz4BodyCompressor.decompress(wrong, ProtocolVersion.V3, 10_000);
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(isCompressionError(e));
    assert.equal((e as ProtocolError).context.version, ProtocolVersion.V3);
  }
});

test('Snappy frame body round trip (v2-v4, DSE) and refusal on v5', () => {
  fc.assert(
    fc.property(bodies, fc.constantFrom(...BODY_VERSIONS), (src, v) => {
      assert.deepEqual(snappyBodyCompressor.decompress(snappyBodyCompressor.compress(src, v), v, src.length), src);
    }),
    { numRuns: 150 },
  );
  assert.throws(() => snappyBodyCompressor.compress(Buffer.from('abc'), ProtocolVersion.V5), /not supported with protocol v5/);
  assert.throws(
    () => snappyBodyCompressor.decompress(Buffer.from([3, 8, 97, 98, 99]), ProtocolVersion.V5, 100),
    isCompressionError,
  );
  assert.equal(supportsVersion(snappyBodyCompressor, ProtocolVersion.V5), false);
  assert.equal(supportsVersion(lz4BodyCompressor, ProtocolVersion.V5), true);
});

test('Snappy: declared length above the maximum, truncation and bad offsets are compression errors', () => {
  const v = ProtocolVersion.V4;
  const c = snappyBodyCompressor.compress(Buffer.from('abcdefgh'.repeat(100)), v);
  assert.throws(() => snappyBodyCompressor.decompress(c, v, 799), /exceeds the maximum of 799/);
  // A 5-byte preamble claiming ~4 GiB.
  assert.throws(
    () => snappyBodyCompressor.decompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), v, 1 << 28),
    /exceeds the maximum/,
  );
  assert.throws(() => snappyBodyCompressor.decompress(Buffer.from([0x80]), v, 100), /truncated/);
  assert.throws(() => snappyBodyCompressor.decompress(Buffer.alloc(0), v, 100), /truncated/);
  for (let cut = 1; cut < c.length; cut += 7) {
    assert.throws(() => snappyBodyCompressor.decompress(c.subarray(0, cut), v, 10_000), isCompressionError);
  }
  // Declared 4, literal "ab", then a 1-byte-offset copy of 4 at offset 3 (> 2 bytes written).
  assert.throws(
    () => snappyBodyCompressor.decompress(Buffer.from([6, 0x04, 0x61, 0x62, 0x01, 0x03]), v, 100),
    /outside the output/,
  );
  // Declared 3 but the literal has 2 bytes.
  assert.throws(() => snappyBodyCompressor.decompress(Buffer.from([3, 0x04, 0x61, 0x62]), v, 100), /declared/);
});

test('Snappy decoding of mutated streams only ever returns the declared size or throws ProtocolError', () => {
  fc.assert(
    fc.property(
      bodies,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      (src, muts) => {
        const z = Buffer.from(snappyBodyCompressor.compress(src, ProtocolVersion.V4));
        for (const [pos, val] of muts) z[pos % z.length] = val;
        try {
          const out = snappyBodyCompressor.decompress(z, ProtocolVersion.V4, 1 << 20);
          assert.ok(out.length <= 1 << 20);
        } catch (e) {
          assert.ok(isCompressionError(e), `unexpected error ${String(e)}`);
        }
      },
    ),
    { numRuns: 500 },
  );
});

test('getCompressor: STARTUP COMPRESSION names, case-insensitive', () => {
  assert.equal(getCompressor('lz4'), lz4BodyCompressor);
  assert.equal(getCompressor('LZ4'), lz4BodyCompressor);
  assert.equal(getCompressor('Snappy'), snappyBodyCompressor);
  assert.equal(getCompressor('none'), undefined);
  assert.equal(getCompressor(''), undefined);
  assert.equal(getCompressor('zstd'), undefined);
});

// Cross-check against the reference LZ4 implementation when its CLI is installed (legacy frame
// format: magic 0x184C2102, then blocks prefixed with their 4-byte little-endian size).
const lz4Cli = spawnSync('lz4', ['--version'], { encoding: 'utf8' });
test('LZ4 blocks interoperate with the reference lz4 CLI (legacy frames)', {
  skip: lz4Cli.status !== 0 ? 'lz4 CLI not installed' : false,
}, () => {
  const inputs = [
    Buffer.from('a'.repeat(100_000)),
    randomBytes(7000),
    Buffer.from(JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ id: i, name: `row${i % 17}` })))),
    Buffer.from('abcdabcdabcdabcd1234567'),
    Buffer.from('short'),
  ];
  for (const src of inputs) {
    const block = lz4CompressBlock(src);
    const head = Buffer.alloc(8);
    head.writeUInt32LE(0x184c2102, 0);
    head.writeUInt32LE(block.length, 4);
    const d = spawnSync('lz4', ['-d', '-c', '-q'], { input: Buffer.concat([head, block]), maxBuffer: 1 << 24 });
    assert.equal(d.status, 0, String(d.stderr));
    assert.deepEqual(d.stdout, src, 'reference decoder output');
    const r = spawnSync('lz4', ['-l', '-c', '-q', '-9'], { input: src, maxBuffer: 1 << 24 });
    assert.equal(r.status, 0, String(r.stderr));
    const blen = r.stdout.readUInt32LE(4);
    assert.deepEqual(lz4DecompressBlock(r.stdout, src.length, 8, 8 + blen), src, 'our decoder on reference output');
  }
});
