import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { MAX_SEGMENT_PAYLOAD, Opcode, ProtocolVersion } from '../../../src/protocol/constants';
import { ProtocolError } from '../../../src/protocol/errors';
import { RawFrame } from '../../../src/protocol/frame';
import { crc24, crc32 } from '../../../src/protocol/crc';
import { lz4BodyCompressor, snappyBodyCompressor } from '../../../src/protocol/compression';
import {
  type Segment,
  SegmentDecoder,
  SegmentFrameAssembler,
  SegmentFramer,
  V5FrameDecoder,
  encodeSegment,
  framesToSegments,
} from '../../../src/protocol/segment';

function frame(streamId: number, body: Buffer, opcode = Opcode.QUERY): RawFrame {
  return RawFrame.fromParts({ version: ProtocolVersion.V5, isResponse: false, flags: 0, streamId, opcode }, body);
}

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

function checksumError(part: 'header' | 'payload') {
  return (e: unknown) => e instanceof ProtocolError && e.code === 'checksum' && e.message.includes(part);
}

test('golden: self-contained uncompressed segment of "hello", assembled from the spec', () => {
  // Header value = payload length 5 | selfContained << 17 = 0x020005, written as 3 bytes little-endian.
  // CRC24 (poly 0x1974F0B, init 0x875060) of those 3 bytes = 0x9A9919, written little-endian.
  // Payload CRC32 over FA 2D 55 CA "hello" = 0xB60E8074, written little-endian.
  const expected = Buffer.from([0x05, 0x00, 0x02, 0x19, 0x99, 0x9a, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x74, 0x80, 0x0e, 0xb6]);
  assert.deepEqual(encodeSegment(Buffer.from('hello'), true), expected);
  const segs = new SegmentDecoder().push(expected);
  assert.equal(segs.length, 1);
  assert.equal(segs[0]!.payload.toString(), 'hello');
  assert.equal(segs[0]!.selfContained, true);
});

test('golden: headers from go-cassandra-native-protocol encode_test.go', () => {
  // 1-byte payload, self-contained and not.
  assert.deepEqual(encodeSegment(Buffer.from([1]), true), Buffer.from([1, 0, 0b10, 0x72, 0x56, 0xac, 1, 0xb, 0x2b, 0x9b, 0xba]));
  assert.deepEqual(encodeSegment(Buffer.from([1]), false), Buffer.from([1, 0, 0, 0x6f, 0x87, 0x15, 1, 0xb, 0x2b, 0x9b, 0xba]));
  const ten = Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(
    encodeSegment(ten, true),
    Buffer.concat([Buffer.from([10, 0, 0b10, 0x8c, 0x68, 0x79]), ten, Buffer.from([0xa8, 0x32, 0xfa, 0xdf])]),
  );
  // LZ4 header format, payload not worth compressing: compressed length = 1, uncompressed length = 0.
  assert.deepEqual(
    encodeSegment(Buffer.from([1]), true, lz4BodyCompressor),
    Buffer.from([1, 0, 0, 0, 0b100, 0x06, 0xa5, 0x87, 1, 0xb, 0x2b, 0x9b, 0xba]),
  );
  assert.deepEqual(
    encodeSegment(Buffer.from([1]), false, lz4BodyCompressor),
    Buffer.from([1, 0, 0, 0, 0, 0x37, 0x48, 0x63, 1, 0xb, 0x2b, 0x9b, 0xba]),
  );
  assert.deepEqual(
    encodeSegment(ten, true, lz4BodyCompressor),
    Buffer.concat([Buffer.from([10, 0, 0, 0, 0b100, 0x8e, 0xdb, 0x58]), ten, Buffer.from([0xa8, 0x32, 0xfa, 0xdf])]),
  );
});

test('LZ4 segment header fields: compressed(17) | uncompressed(17) << 17 | selfContained << 34', () => {
  for (const size of [100, 5000, MAX_SEGMENT_PAYLOAD]) {
    for (const sc of [true, false]) {
      const payload = Buffer.alloc(size, 7);
      const seg = encodeSegment(payload, sc, lz4BodyCompressor);
      let v = 0n;
      for (let i = 4; i >= 0; i--) v = (v << 8n) | BigInt(seg[i]!);
      const compressedLength = Number(v & 0x1ffffn);
      assert.equal(Number((v >> 17n) & 0x1ffffn), size);
      assert.equal((v >> 34n) & 1n, sc ? 1n : 0n);
      assert.equal(v >> 35n, 0n, 'padding bits are zero');
      assert.equal(seg.length, 8 + compressedLength + 4);
      assert.ok(compressedLength < size);
      const [decoded] = new SegmentDecoder({ compressor: lz4BodyCompressor }).push(seg);
      assert.deepEqual(decoded, { payload, selfContained: sc });
    }
  }
});

test('segment payload limit is 128 KiB - 1', () => {
  assert.equal(MAX_SEGMENT_PAYLOAD, 131071);
  const max = encodeSegment(Buffer.alloc(MAX_SEGMENT_PAYLOAD), true);
  assert.deepEqual([...max.subarray(0, 3)], [0xff, 0xff, 0b11]);
  assert.throws(() => encodeSegment(Buffer.alloc(MAX_SEGMENT_PAYLOAD + 1), true), /exceeds the maximum/);
  assert.throws(() => encodeSegment(Buffer.alloc(10), true, snappyBodyCompressor), /LZ4 only/);
  assert.throws(() => new SegmentDecoder({ compressor: snappyBodyCompressor }), /LZ4 only/);
});

/** Deterministic incompressible bytes (xorshift), so fast-check values stay reproducible. */
function pseudoRandom(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = n | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const frameLists = fc.array(
  fc.tuple(
    fc.integer({ min: 0, max: 32767 }),
    fc.oneof(
      { weight: 6, arbitrary: fc.uint8Array({ maxLength: 2000 }) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 300_000 }).map((n) => new Uint8Array(n).fill(n & 0xff)) },
      { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 300_000 }).map((n) => pseudoRandom(n)) },
    ),
  ),
  { maxLength: 8 },
);

for (const compressor of [undefined, lz4BodyCompressor]) {
  const label = compressor ? 'LZ4' : 'uncompressed';

  test(`${label}: frames -> segments -> byte stream in random chunks -> the same frames`, () => {
    fc.assert(
      fc.property(frameLists, fc.array(fc.nat(), { maxLength: 12 }), (list, cuts) => {
        const frames = list.map(([id, body]) => frame(id, Buffer.from(body)));
        const stream = Buffer.concat(
          framesToSegments(
            frames.map((f) => f.bytes),
            compressor,
          ),
        );
        const dec = new V5FrameDecoder({ compressor });
        const got: RawFrame[] = [];
        for (const chunk of splitAt(stream, cuts)) got.push(...dec.push(chunk));
        assert.equal(got.length, frames.length);
        got.forEach((g, i) => {
          assert.equal(g.streamId, frames[i]!.streamId);
          assert.ok(g.bytes.equals(frames[i]!.bytes), `frame ${i} differs`);
        });
      }),
      { numRuns: 60 },
    );
  });

  test(`${label}: a 300 KiB frame is split into non-self-contained segments and reassembled`, () => {
    const big = frame(42, randomBytes(300 * 1024));
    const small = frame(7, Buffer.from('small'));
    const segs = framesToSegments([small.bytes, big.bytes, small.bytes], compressor);
    const decoded: Segment[] = [];
    const sd = new SegmentDecoder({ compressor });
    for (const s of segs) decoded.push(...sd.push(s));
    // small | 3 pieces of the big frame | small
    assert.deepEqual(
      decoded.map((s) => [s.selfContained, s.payload.length]),
      [
        [true, small.bytes.length],
        [false, MAX_SEGMENT_PAYLOAD],
        [false, MAX_SEGMENT_PAYLOAD],
        [false, big.bytes.length - 2 * MAX_SEGMENT_PAYLOAD],
        [true, small.bytes.length],
      ],
    );
    const asm = new SegmentFrameAssembler();
    const frames = decoded.flatMap((s) => asm.push(s));
    assert.equal(frames.length, 3);
    assert.ok(frames[1]!.bytes.equals(big.bytes));
    assert.equal(frames[1]!.streamId, 42);
    // Byte-by-byte feeding gives the same result (spot check on the whole stream in 1000-byte chunks).
    const stream = Buffer.concat(segs);
    const dec = new V5FrameDecoder({ compressor });
    const again: RawFrame[] = [];
    for (let i = 0; i < stream.length; i += 1000) again.push(...dec.push(stream.subarray(i, i + 1000)));
    assert.deepEqual(
      again.map((f) => f.bytes.length),
      frames.map((f) => f.bytes.length),
    );
  });

  test(`${label}: small frames are packed into self-contained segments up to the payload limit`, () => {
    const frames = Array.from({ length: 100 }, (_, i) => frame(i, Buffer.alloc(3000, i)).bytes); // 3009 bytes each
    const segs = framesToSegments(frames, compressor);
    const decoded = segs.flatMap((s) => new SegmentDecoder({ compressor }).push(s));
    const perSegment = Math.floor(MAX_SEGMENT_PAYLOAD / 3009);
    assert.equal(decoded.length, Math.ceil(100 / perSegment));
    assert.ok(decoded.every((s) => s.selfContained));
    assert.equal(decoded[0]!.payload.length, perSegment * 3009);
  });

  test(`${label}: a corrupted header or payload byte is a checksum error naming which`, () => {
    const seg = framesToSegments([frame(1, Buffer.from('x'.repeat(500))).bytes], compressor)[0]!;
    const headerLength = compressor ? 8 : 6;
    for (let i = 0; i < headerLength; i++) {
      const bad = Buffer.from(seg);
      bad[i]! ^= 0x10;
      assert.throws(() => new SegmentDecoder({ compressor }).push(bad), checksumError('header'), `header byte ${i}`);
    }
    for (const i of [headerLength, headerLength + 3, seg.length - 5, seg.length - 1]) {
      const bad = Buffer.from(seg);
      bad[i]! ^= 0x01;
      assert.throws(() => new SegmentDecoder({ compressor }).push(bad), checksumError('payload'), `byte ${i}`);
    }
    // After an error the decoder keeps failing.
    const dec = new SegmentDecoder({ compressor });
    const bad = Buffer.from(seg);
    bad[0]! ^= 1;
    assert.throws(() => dec.push(bad), checksumError('header'));
    assert.throws(() => dec.push(seg), checksumError('header'));
  });
}

test('SegmentDecoder: header CRC is checked as soon as the header is complete, before the payload arrives', () => {
  const seg = encodeSegment(Buffer.alloc(1000, 1), true);
  seg[1]! ^= 0x01; // length field corrupted
  const dec = new SegmentDecoder();
  assert.deepEqual(dec.push(seg.subarray(0, 4)), []);
  assert.throws(() => dec.push(seg.subarray(4, 6)), checksumError('header'));
});

test('LZ4 segment: a payload that does not decompress to the declared length is a compression error', () => {
  // Hand-built LZ4 header claiming 100 uncompressed bytes for a block that yields 5.
  const block = Buffer.from([0x50, 0x68, 0x65, 0x6c, 0x6c, 0x6f]);
  const seg = encodeSegment(Buffer.alloc(100), true, lz4BodyCompressor);
  const head = Buffer.from(seg.subarray(0, 8));
  const lo = (block.length | (100 << 17)) >>> 0;
  head.writeUInt32LE(lo, 0);
  head[4] = 0b100;
  const c24 = crc24(head, 0, 5);
  head[5] = c24 & 0xff;
  head[6] = (c24 >>> 8) & 0xff;
  head[7] = c24 >>> 16;
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(crc32(block), 0);
  assert.throws(
    () => new SegmentDecoder({ compressor: lz4BodyCompressor }).push(Buffer.concat([head, block, trailer])),
    (e: unknown) => e instanceof ProtocolError && e.code === 'compression',
  );
});

test('SegmentFrameAssembler: self-contained segments must hold whole frames', () => {
  const f = frame(3, Buffer.from('abcdef')).bytes;
  assert.throws(() => new SegmentFrameAssembler().push({ payload: f.subarray(0, 10), selfContained: true }), /incomplete frame/);
  const asm = new SegmentFrameAssembler();
  assert.deepEqual(asm.push({ payload: f.subarray(0, 10), selfContained: false }), []);
  assert.equal(asm.bufferedBytes, 10);
  assert.throws(() => asm.push({ payload: f, selfContained: true }), /multi-segment frame is incomplete/);
  const two = Buffer.concat([f, f]);
  assert.throws(() => new SegmentFrameAssembler().push({ payload: two, selfContained: false }), /more than one frame/);
  assert.equal(new SegmentFrameAssembler().push({ payload: two, selfContained: true }).length, 2);
});

test('SegmentFrameAssembler enforces the frame body limit across segments', () => {
  const big = frame(1, Buffer.alloc(200_000)).bytes;
  const dec = new V5FrameDecoder({ maxBodyLength: 100_000 });
  const segs = framesToSegments([big]);
  assert.throws(
    () => dec.push(segs[0]!),
    (e: unknown) => e instanceof ProtocolError && e.code === 'frame-too-large',
  );
});

test('SegmentFramer keeps frames until flush and accepts a smaller payload limit', () => {
  const framer = new SegmentFramer(undefined, 100);
  assert.deepEqual(framer.add(Buffer.alloc(60, 1)), []);
  assert.equal(framer.bufferedBytes, 60);
  const s1 = framer.add(Buffer.alloc(60, 2)); // does not fit: the first is flushed
  assert.equal(s1.length, 1);
  const s2 = framer.add(Buffer.alloc(250, 3)); // flush pending + 3 pieces
  assert.equal(s2.length, 4);
  assert.deepEqual(framer.flush(), []);
  const decoded = [...s1, ...s2].flatMap((s) => new SegmentDecoder().push(s));
  assert.deepEqual(
    decoded.map((d) => [d.selfContained, d.payload.length]),
    [
      [true, 60],
      [true, 60],
      [false, 100],
      [false, 100],
      [false, 50],
    ],
  );
  assert.throws(() => new SegmentFramer(undefined, MAX_SEGMENT_PAYLOAD + 1), RangeError);
});

test('SegmentFramer with gather: the same bytes as the copied segments; large frames are written as themselves', () => {
  fc.assert(
    fc.property(frameLists, fc.integer({ min: 512, max: MAX_SEGMENT_PAYLOAD }), (list, limit) => {
      const frames = list.map(([id, body]) => frame(id, Buffer.from(body)).bytes);
      const copied = new SegmentFramer(undefined, limit);
      const gathered = new SegmentFramer(undefined, limit, true);
      const a: Buffer[] = [];
      const b: Buffer[] = [];
      for (const f of frames) {
        for (const s of copied.add(f)) a.push(s);
        for (const s of gathered.add(f)) b.push(s);
      }
      for (const s of copied.flush()) a.push(s);
      for (const s of gathered.flush()) b.push(s);
      assert.ok(Buffer.concat(b).equals(Buffer.concat(a)));
    }),
    { numRuns: 60 },
  );
  const large = [frame(1, Buffer.alloc(10_000, 1)).bytes, frame(2, Buffer.alloc(10_000, 2)).bytes];
  const small = [frame(3, Buffer.alloc(100, 3)).bytes, frame(4, Buffer.alloc(100, 4)).bytes];
  for (const [frames, asThemselves] of [
    [large, true],
    [small, false],
  ] as const) {
    const framer = new SegmentFramer(undefined, undefined, true);
    for (const f of frames) assert.deepEqual(framer.add(f), []);
    const chunks = framer.flush();
    assert.ok(Buffer.concat([...chunks]).equals(encodeSegment(frames, true)));
    assert.equal(chunks.length, asThemselves ? 4 : 1, asThemselves ? 'header, the two frames, trailer' : 'one copied segment');
    for (const f of frames) assert.equal(chunks.includes(f), asThemselves);
  }
  // LZ4 segments are compressed whole: gather does not apply, each element is a whole segment
  const frames = [frame(1, Buffer.alloc(500, 1)).bytes, frame(2, Buffer.alloc(500, 2)).bytes];
  const lz4 = new SegmentFramer(lz4BodyCompressor, undefined, true);
  for (const f of frames) assert.deepEqual(lz4.add(f), []);
  const [seg, ...rest] = lz4.flush();
  assert.equal(rest.length, 0);
  assert.ok(seg!.equals(encodeSegment(frames, true, lz4BodyCompressor)));
});

test('SegmentDecoder copies only the held segment when a chunk completes it; later segments are read in place', () => {
  const s1 = encodeSegment(frame(1, Buffer.alloc(300, 1)).bytes, true);
  const s2 = encodeSegment(frame(2, Buffer.alloc(300, 2)).bytes, true);
  for (const cut of [3, 100]) {
    // cut 3: even the header of the first segment is split
    const dec = new SegmentDecoder();
    assert.deepEqual(dec.push(s1.subarray(0, cut)), []);
    const chunk = Buffer.concat([s1.subarray(cut), s2]);
    const got = dec.push(chunk);
    assert.equal(got.length, 2);
    assert.ok(got[0]!.payload.equals(s1.subarray(6, s1.length - 4)));
    assert.ok(got[1]!.payload.equals(s2.subarray(6, s2.length - 4)));
    assert.equal(got[1]!.payload.buffer, chunk.buffer, 'the second segment is a view of the chunk');
    assert.equal(got[1]!.payload.byteOffset, chunk.byteOffset + (s1.length - cut) + 6);
    assert.equal(dec.bufferedBytes, 0);
  }
});

/** A segment with valid CRCs around arbitrary header fields and payload bytes (LZ4 header format). */
function rawLz4Segment(wire: Buffer, uncompressedLength: number, selfContained: boolean): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE((wire.length | (uncompressedLength << 17)) >>> 0, 0);
  head[4] = (uncompressedLength >>> 15) | (selfContained ? 0b100 : 0);
  const c24 = crc24(head, 0, 5);
  head[5] = c24 & 0xff;
  head[6] = (c24 >>> 8) & 0xff;
  head[7] = c24 >>> 16;
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(crc32(wire), 0);
  return Buffer.concat([head, wire, trailer]);
}

test('segments with valid checksums but arbitrary contents only ever yield frames or ProtocolError', () => {
  const frameBytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    // Something that looks like a v5 frame header with an arbitrary length, plus arbitrary bytes.
    fc
      .tuple(fc.integer({ min: 0, max: 0x7fffffff }), fc.uint8Array({ maxLength: 200 }))
      .map(([len, rest]) =>
        Buffer.concat([
          frame(1, Buffer.alloc(0)).bytes.subarray(0, 5),
          Buffer.from([len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff]),
          Buffer.from(rest),
        ]),
      ),
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(frameBytes, fc.boolean(), fc.integer({ min: 0, max: MAX_SEGMENT_PAYLOAD }), fc.boolean()), {
        minLength: 1,
        maxLength: 5,
      }),
      (list) => {
        for (const compressor of [undefined, lz4BodyCompressor]) {
          const stream = Buffer.concat(
            list.map(([payload, sc, ulen, raw]) =>
              compressor && raw
                ? rawLz4Segment(payload, ulen % (payload.length * 255 + 2), sc)
                : encodeSegment(payload, sc, compressor),
            ),
          );
          const dec = new V5FrameDecoder({ compressor, maxBodyLength: 1 << 20 });
          try {
            for (const f of dec.push(stream)) assert.ok(f.bytes.length >= 9);
          } catch (e) {
            assert.ok(e instanceof ProtocolError, `unexpected error ${String(e)}`);
          }
        }
      },
    ),
    { numRuns: 500 },
  );
});
