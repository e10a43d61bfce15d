// ConnectionFraming: the switch from legacy frames to v5 segments where Cassandra makes it, both roles,
// with and without LZ4; bytes held at the switch; the CASSGO-98 flag; corrupt input.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import {
  ConnectionFraming,
  HeaderFlag,
  MAX_SEGMENT_PAYLOAD,
  Opcode,
  ProtocolError,
  ProtocolVersion,
  RawFrame,
  SegmentDecoder,
  encodeSegment,
  lz4BodyCompressor,
  snappyBodyCompressor,
  switchesToSegments,
} from '../../../src/protocol';

const V5 = ProtocolVersion.V5;
const V4 = ProtocolVersion.V4;

function frame(
  version: ProtocolVersion,
  opcode: number,
  body: Buffer = Buffer.alloc(0),
  opts: { isResponse?: boolean; streamId?: number; flags?: number } = {},
): RawFrame {
  return RawFrame.fromParts(
    { version, isResponse: opts.isResponse ?? false, flags: opts.flags ?? 0, streamId: opts.streamId ?? 1, opcode },
    body,
  );
}
const ready = (v = V5): RawFrame => frame(v, Opcode.READY, Buffer.alloc(0), { isResponse: true });

/** Write frames through `framing` as a socket would get them (encode each, then one flush). */
function wire(framing: ConnectionFraming, frames: RawFrame[]): Buffer {
  const out: Buffer[] = [];
  for (const f of frames) out.push(...framing.encode(f.bytes));
  out.push(...framing.flush());
  return Buffer.concat(out);
}

describe('ConnectionFraming', () => {
  it('switches only after a v5 READY or AUTHENTICATE response', () => {
    assert.equal(switchesToSegments(ready()), true);
    assert.equal(switchesToSegments(frame(V5, Opcode.AUTHENTICATE, Buffer.from([0, 1, 0x41]), { isResponse: true })), true);
    assert.equal(switchesToSegments(ready(V4)), false, 'v4');
    assert.equal(
      switchesToSegments(frame(V5, Opcode.ERROR, Buffer.alloc(6), { isResponse: true })),
      false,
      'an ERROR to STARTUP',
    );
    assert.equal(switchesToSegments(frame(V5, Opcode.READY)), false, 'a request frame');
    const server = new ConnectionFraming({ expectResponses: false });
    assert.equal(server.afterWrite(ready(V4)), false);
    assert.equal(server.segments, false);
    assert.equal(server.afterWrite(ready()), true);
    assert.equal(server.segments, true);
    assert.equal(server.afterWrite(ready()), false, 'once');
  });

  for (const lz4 of [false, true]) {
    it(`server and client roles exchange small and multi-segment frames${lz4 ? ' (LZ4 segments)' : ''}`, () => {
      const server = new ConnectionFraming({ expectResponses: false });
      const client = new ConnectionFraming({ expectResponses: true });
      if (lz4) {
        server.setSegmentCompressor(lz4BodyCompressor);
        client.setSegmentCompressor(lz4BodyCompressor);
      }
      // legacy until the READY: the server writes it as a frame, the client reads it as one
      const r = ready();
      assert.equal(server.encode(r.bytes)[0], r.bytes);
      server.afterWrite(r);
      const [got] = client.push(r.bytes);
      assert.equal(client.afterRead(got!), true);
      assert.equal(server.segmentCompression, lz4 ? 'lz4' : undefined);

      const big = Buffer.concat([Buffer.from('compressible '.repeat(12_000)), randomBytes(150_000)]);
      const requests = [
        frame(V5, Opcode.QUERY, Buffer.from('small one'), { streamId: 2 }),
        frame(V5, Opcode.QUERY, big, { streamId: 3 }),
        frame(V5, Opcode.OPTIONS, Buffer.alloc(0), { streamId: 4 }),
      ];
      const bytes = wire(client, requests);
      // several segments: the big frame alone spans more than two
      const segments = new SegmentDecoder(lz4 ? { compressor: lz4BodyCompressor } : {}).push(bytes);
      assert.ok(segments.length >= 4, `${segments.length} segments`);
      assert.equal(segments.filter((s) => !s.selfContained).length, Math.ceil((big.length + 9) / MAX_SEGMENT_PAYLOAD));
      if (lz4) assert.ok(bytes.length < big.length + 500, 'LZ4 shrank the compressible half');
      // fed to the server one byte-chunk of odd size at a time
      const received: RawFrame[] = [];
      for (let off = 0; off < bytes.length; off += 7777) received.push(...server.push(bytes.subarray(off, off + 7777)));
      assert.deepEqual(
        received.map((f) => f.streamId),
        [2, 3, 4],
      );
      assert.ok(received[1]!.body.equals(big), 'the 300 KiB body byte-identical');
      assert.equal(server.bufferedBytes, 0);
      // and back
      const replies = wire(server, [frame(V5, Opcode.RESULT, big, { isResponse: true, streamId: 3 })]);
      const [back] = client.push(replies);
      assert.ok(back!.body.equals(big));
    });
  }

  it('bytes the legacy decoder held at the switch are read as the start of the segment stream', () => {
    const server = new ConnectionFraming({ expectResponses: false });
    const seg = encodeSegment(frame(V5, Opcode.OPTIONS, Buffer.alloc(0), { streamId: 5 }).bytes, true);
    assert.deepEqual(server.push(seg.subarray(0, 1)), [], 'one byte: not a whole legacy header yet');
    server.afterWrite(ready());
    const frames = server.push(seg.subarray(1));
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.streamId]),
      [[Opcode.OPTIONS, 5]],
    );
  });

  it('a COMPRESSION flag on a v5 frame inside a segment is cleared (CASSGO-98)', () => {
    const server = new ConnectionFraming({ expectResponses: false });
    server.afterWrite(ready());
    const flagged = frame(V5, Opcode.QUERY, Buffer.from('x'), { flags: HeaderFlag.COMPRESSION | HeaderFlag.TRACING });
    const [f] = server.push(encodeSegment(flagged.bytes, true));
    assert.equal(f!.isCompressed, false);
    assert.equal(f!.flags, HeaderFlag.TRACING);
    assert.equal(f!.bytes[1], HeaderFlag.TRACING, 'in the bytes too');
  });

  it('Snappy cannot frame v5 segments: the switch throws a ProtocolError', () => {
    const server = new ConnectionFraming({ expectResponses: false });
    server.setSegmentCompressor(snappyBodyCompressor);
    assert.throws(
      () => server.afterWrite(ready()),
      (e: unknown) => e instanceof ProtocolError && e.code === 'compression',
    );
  });

  it('corrupt segments throw checksum errors naming the header or the payload; a cut segment stays buffered', () => {
    const seg = encodeSegment(frame(V5, Opcode.OPTIONS).bytes, true);
    const open = (): ConnectionFraming => {
      const f = new ConnectionFraming({ expectResponses: false });
      f.afterWrite(ready());
      return f;
    };
    const badHeader = Buffer.from(seg);
    badHeader[4] ^= 1;
    assert.throws(() => open().push(badHeader), /segment header CRC24 mismatch/);
    const badPayload = Buffer.from(seg);
    badPayload[8] ^= 1;
    assert.throws(() => open().push(badPayload), /segment payload CRC32 mismatch/);
    const cut = open();
    assert.deepEqual(cut.push(seg.subarray(0, seg.length - 3)), []);
    assert.equal(cut.bufferedBytes, seg.length - 3);
  });
});
