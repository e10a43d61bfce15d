/** Streaming FrameDecoder: chunking, limits, versions, stream id rewrite. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ALL_PROTOCOL_VERSIONS,
  FrameDecoder,
  Opcode,
  ProtocolError,
  ProtocolVersion,
  type RawFrame,
  decodeHeader,
  encodeHeader,
  headerLength,
  versionName,
} from '../../../src/protocol';
import { b, hex } from '../../support/bytes';

const { V2, V3, V4 } = ProtocolVersion;

/** A frame spelled by hand: header (8 bytes in v2, 9 after) + body. */
function frameBytes(
  version: ProtocolVersion,
  streamId: number,
  opcode: number,
  body: Uint8Array,
  flags = 0,
  response = false,
): Buffer {
  const h = b()
    .byte((response ? 0x80 : 0) | version)
    .byte(flags);
  if (version === V2) h.byte(streamId & 0xff);
  else h.short(streamId & 0xffff);
  return h.byte(opcode).int(body.length).raw(body).build();
}

function feedAll(dec: FrameDecoder, chunks: Buffer[]): RawFrame[] {
  const out: RawFrame[] = [];
  for (const c of chunks) out.push(...dec.push(c));
  return out;
}

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const sorted = [...new Set(cuts)].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of sorted) {
    out.push(Buffer.from(buf.subarray(prev, c)));
    prev = c;
  }
  out.push(Buffer.from(buf.subarray(prev)));
  return out;
}

const isCode = (code: string) => (e: unknown) => e instanceof ProtocolError && e.code === code;

describe('FrameDecoder', () => {
  for (const v of ALL_PROTOCOL_VERSIONS) {
    describe(versionName(v), () => {
      const frame1 = frameBytes(v, 1, Opcode.QUERY, Buffer.from('0000000153000100', 'hex'));
      const frame2 = frameBytes(v, 2, Opcode.OPTIONS, Buffer.alloc(0));

      it('decodes the header fields', () => {
        const [f] = new FrameDecoder().push(frame1);
        assert.ok(f);
        assert.deepStrictEqual(f.header, {
          version: v,
          isResponse: false,
          flags: 0,
          streamId: 1,
          opcode: Opcode.QUERY,
          bodyLength: 8,
        });
        assert.equal(hex(f.body), '00 00 00 01 53 00 01 00');
        assert.equal(f.bytes.length, headerLength(v) + 8);
      });

      it('one frame split at every byte position', () => {
        for (let cut = 0; cut <= frame1.length; cut++) {
          const dec = new FrameDecoder();
          const frames = feedAll(dec, [Buffer.from(frame1.subarray(0, cut)), Buffer.from(frame1.subarray(cut))]);
          assert.equal(frames.length, 1, `cut at ${cut}`);
          assert.equal(hex(frames[0]!.bytes), hex(frame1), `cut at ${cut}`);
          assert.equal(dec.bufferedBytes, 0);
        }
      });

      it('one frame fed byte by byte', () => {
        const dec = new FrameDecoder();
        const frames = feedAll(
          dec,
          [...frame1].map((x) => Buffer.from([x])),
        );
        assert.equal(frames.length, 1);
        assert.equal(hex(frames[0]!.bytes), hex(frame1));
      });

      it('two frames in one chunk, as views of the chunk', () => {
        const chunk = Buffer.concat([frame1, frame2]);
        const frames = new FrameDecoder().push(chunk);
        assert.equal(frames.length, 2);
        assert.equal(hex(frames[0]!.bytes), hex(frame1));
        assert.equal(hex(frames[1]!.bytes), hex(frame2));
        chunk[headerLength(v)] = 0x99;
        assert.equal(frames[0]!.body[0], 0x99, 'a frame inside one chunk is a view (no copy)');
        assert.equal(frames[1]!.streamId, 2);
        assert.equal(frames[1]!.body.length, 0);
      });

      it('a frame that spans chunks is copied: later chunk reuse does not change it', () => {
        const first = Buffer.from(frame1.subarray(0, 5));
        const second = Buffer.from(frame1.subarray(5));
        const dec = new FrameDecoder();
        assert.deepStrictEqual(dec.push(first), []);
        const [f] = dec.push(second);
        first.fill(0xee);
        second.fill(0xee);
        assert.equal(hex(f!.bytes), hex(frame1));
      });

      it('a body length above the maximum is rejected from the header alone', () => {
        const dec = new FrameDecoder({ maxBodyLength: 1024 });
        const header = frameBytes(v, 7, Opcode.QUERY, Buffer.alloc(0)).subarray(0, headerLength(v));
        header.writeInt32BE(1025, headerLength(v) - 4);
        assert.throws(
          () => dec.push(header),
          (e: unknown) =>
            isCode('frame-too-large')(e) && (e as ProtocolError).context.streamId === 7 && /1025/.test((e as Error).message),
        );
        // The decoder is failed for good: the stream can no longer be framed.
        assert.throws(() => dec.push(frame2), isCode('frame-too-large'));
        // Exactly the maximum is fine.
        const ok = new FrameDecoder({ maxBodyLength: 8 });
        assert.equal(ok.push(frame1).length, 1);
      });

      it('the header check also happens when the header arrives in pieces', () => {
        const header = frameBytes(v, 7, Opcode.QUERY, Buffer.alloc(0)).subarray(0, headerLength(v));
        header.writeInt32BE(0x7fffffff, headerLength(v) - 4);
        const dec = new FrameDecoder({ maxBodyLength: 100 });
        assert.deepStrictEqual(dec.push(Buffer.from(header.subarray(0, 3))), []);
        assert.throws(() => dec.push(Buffer.from(header.subarray(3))), isCode('frame-too-large'));
      });

      it('a negative body length is invalid', () => {
        const header = frameBytes(v, 7, Opcode.QUERY, Buffer.alloc(0));
        header.writeInt32BE(-1, headerLength(v) - 4);
        assert.throws(() => new FrameDecoder().push(header), isCode('invalid-value'));
      });

      it('stream id rewrite in place, and a rewritten copy', () => {
        const chunk = Buffer.from(frame1);
        const [f] = new FrameDecoder().push(chunk);
        const newId = v === V2 ? 100 : 30000;
        f!.setStreamId(newId);
        assert.equal(f!.streamId, newId);
        assert.equal(decodeHeader(f!.bytes).streamId, newId);
        assert.equal(decodeHeader(chunk).streamId, newId, 'rewritten in the received bytes');
        assert.equal(hex(f!.body), hex(frame1.subarray(headerLength(v))), 'body untouched');
        const copy = f!.withStreamId(5);
        assert.equal(copy.streamId, 5);
        assert.equal(decodeHeader(copy.bytes).streamId, 5);
        assert.equal(f!.streamId, newId, 'original unchanged by withStreamId');
        chunk.fill(0);
        assert.equal(copy.streamId, 5);
        assert.equal(decodeHeader(copy.bytes).opcode, Opcode.QUERY, 'the copy does not share the received bytes');
      });

      it('direction bit: expectResponses rejects a request frame', () => {
        assert.throws(() => new FrameDecoder({ expectResponses: true }).push(frame1), isCode('invalid-value'));
        const resp = frameBytes(v, 1, Opcode.READY, Buffer.alloc(0), 0, true);
        const [f] = new FrameDecoder({ expectResponses: true }).push(resp);
        assert.equal(f!.header.isResponse, true);
        assert.equal(f!.version, v);
      });
    });
  }

  it('v2 has 8-byte headers with a 1-byte signed stream id', () => {
    const bytes = b().raw('02 00 ff 07 00 00 00 02 ab cd').build();
    const [f] = new FrameDecoder().push(bytes);
    assert.deepStrictEqual(f!.header, {
      version: V2,
      isResponse: false,
      flags: 0,
      streamId: -1,
      opcode: Opcode.QUERY,
      bodyLength: 2,
    });
    assert.equal(hex(f!.body), 'ab cd');
    assert.equal(hex(encodeHeader(f!.header)), '02 00 ff 07 00 00 00 02');
    f!.setStreamId(3);
    assert.equal(hex(f!.bytes), '02 00 03 07 00 00 00 02 ab cd');
  });

  it('v3+ stream ids are signed shorts (events use -1)', () => {
    const bytes = b().raw('84 00 ff ff 0c 00 00 00 00').build();
    const [f] = new FrameDecoder().push(bytes);
    assert.equal(f!.streamId, -1);
    assert.equal(f!.header.isResponse, true);
    assert.equal(f!.version, V4);
  });

  it('unknown versions are rejected as unsupported-version, with the raw version in the context', () => {
    for (const version of [0x00, 0x01, 0x06, 0x43, 0x7f]) {
      const bytes = b().byte(version).raw('00 00 05 07 00 00 00 00').build();
      assert.throws(
        () => new FrameDecoder().push(bytes),
        (e: unknown) => isCode('unsupported-version')(e) && (e as ProtocolError).context.version === version,
        `version 0x${version.toString(16)}`,
      );
      // Two bytes (version, flags: the USE_BETA bit) are enough to know; one is not yet.
      assert.deepEqual(new FrameDecoder().push(Buffer.from([version])), []);
      assert.throws(() => new FrameDecoder().push(Buffer.from([version, 0])), isCode('unsupported-version'));
    }
    // Cassandra 5.0's beta version (v6) without USE_BETA gets Cassandra's own text; with it, upstream's.
    assert.throws(
      () => new FrameDecoder().push(Buffer.from([0x06, 0x00])),
      (e: unknown) => (e as Error).message === 'Beta version of the protocol used (6/v6-beta), but USE_BETA flag is unset',
    );
    assert.throws(
      () => new FrameDecoder().push(Buffer.from([0x06, 0x10])),
      (e: unknown) => (e as Error).message === 'Invalid or unsupported protocol version (6)',
    );
    // A bad version byte after a valid frame in the same chunk fails the push.
    const dec = new FrameDecoder();
    assert.throws(
      () => dec.push(Buffer.concat([frameBytes(V3, 0, Opcode.OPTIONS, Buffer.alloc(0)), Buffer.from([0x07, 0x00])])),
      isCode('unsupported-version'),
    );
  });

  it('random chunk splits of a frame sequence yield identical frames (fast-check)', () => {
    const frameArb = fc
      .record({
        version: fc.constantFrom(...ALL_PROTOCOL_VERSIONS),
        stream: fc.integer({ min: 0, max: 127 }),
        opcode: fc.constantFrom(Opcode.QUERY, Opcode.EXECUTE, Opcode.OPTIONS, Opcode.RESULT),
        flags: fc.integer({ min: 0, max: 0x1f }),
        response: fc.boolean(),
        body: fc.uint8Array({ maxLength: 40 }),
      })
      .map((f) => frameBytes(f.version, f.stream, f.opcode, f.body, f.flags, f.response));
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, rawCuts) => {
          const all = Buffer.concat(frames);
          const cuts = rawCuts.map((c) => c % (all.length + 1));
          const dec = new FrameDecoder();
          const got = feedAll(dec, splitAt(all, cuts));
          assert.equal(got.length, frames.length);
          got.forEach((f, i) => {
            assert.equal(hex(f.bytes), hex(frames[i]!));
            assert.deepStrictEqual(f.header, decodeHeader(frames[i]!));
          });
          assert.equal(dec.bufferedBytes, 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('empty chunks are harmless', () => {
    const dec = new FrameDecoder();
    const f = frameBytes(V3, 9, Opcode.OPTIONS, Buffer.alloc(0));
    assert.deepStrictEqual(dec.push(Buffer.alloc(0)), []);
    assert.deepStrictEqual(dec.push(f.subarray(0, 4)), []);
    assert.deepStrictEqual(dec.push(Buffer.alloc(0)), []);
    const out = dec.push(f.subarray(4));
    assert.equal(out.length, 1);
    assert.equal(out[0]!.streamId, 9);
  });
});
