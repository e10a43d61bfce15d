// One-pass request edits (the forward path): spliceRequest gives byte for byte what the per-edit functions give
// (prepared id, result metadata id, pinned timestamp), in every version, with a custom payload before the message
// and with a compressed body; a client timestamp is kept; nothing to change gives undefined.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consistency, Opcode, ProtocolVersion, versionName } from '../../../src/protocol/constants';
import { decodeFrame, encodeFrame } from '../../../src/protocol/frame-codec';
import { lz4BodyCompressor } from '../../../src/protocol/compression';
import type { RequestMessage } from '../../../src/protocol/messages';
import { withDefaultTimestamp } from '../../../src/protocol/messages/default-timestamp';
import { Reader, Writer } from '../../../src/protocol/primitives';
import {
  openRequestBody,
  rebuildFrame,
  requestLayout,
  spliceRequest,
  takesTimestamp,
  withEnvelope,
  type BodyCodec,
} from '../../../src/protocol/request-codec';

const TS = 1_700_000_000_123_456n;
const VERSIONS = [ProtocolVersion.V3, ProtocolVersion.V4, ProtocolVersion.V5, ProtocolVersion.DSE_V1, ProtocolVersion.DSE_V2];
const five = (v: ProtocolVersion): boolean => v === ProtocolVersion.V5 || v === ProtocolVersion.DSE_V2;
const ORIGIN_ID = Buffer.from('0123456789abcdef');
const TARGET_ID = Buffer.from('TARGET-id-of-another-length');
const ORIGIN_RM = Buffer.from('fedcba');
const TARGET_RM = Buffer.from('rm-of-target!');

function execute(v: ProtocolVersion, timestamp?: bigint): RequestMessage {
  return {
    opcode: Opcode.EXECUTE,
    id: ORIGIN_ID,
    ...(five(v) ? { resultMetadataId: ORIGIN_RM } : {}),
    params: {
      consistency: Consistency.ONE,
      values: [Buffer.from([1, 2, 3, 4]), null],
      pageSize: 50,
      serialConsistency: Consistency.LOCAL_SERIAL,
      ...(timestamp !== undefined ? { defaultTimestamp: timestamp } : {}),
    },
  } as RequestMessage;
}

const codecOf = (v: ProtocolVersion): BodyCodec => ({
  compress: (b) => lz4BodyCompressor.compress(b, v),
  decompress: (b) => lz4BodyCompressor.decompress(b, v, 1 << 20),
});

// The per-edit rebuilds spliceRequest replaced, kept here as the reference it is compared with.
/** EXECUTE body with another prepared id. */
function replaceExecuteId(body: Buffer, id: Buffer): Buffer {
  const r = new Reader(body);
  r.readShortBytes('prepared id');
  const w = new Writer(body.length + id.length);
  w.writeShortBytes(id).writeRaw(body.subarray(r.offset));
  return Buffer.from(w.finish());
}

/**
 * v5/DSE_V2 EXECUTE (`<id><result_metadata_id><params>`) with another prepared id, and another result
 * metadata id when the client's equals `from` (the ORIGIN one); anything else is copied byte for byte.
 */
function replaceExecuteIdsV5(body: Buffer, id: Buffer, resultMetadataId: { from: Buffer; to: Buffer } | undefined): Buffer {
  const r = new Reader(body);
  r.readShortBytes('prepared id');
  const rmStart = r.offset;
  const rm = r.readShortBytes('result metadata id');
  const useNew = resultMetadataId !== undefined && Buffer.compare(rm, resultMetadataId.from) === 0;
  const w = new Writer(body.length + id.length + 16);
  w.writeShortBytes(id);
  if (useNew) w.writeShortBytes(resultMetadataId.to);
  else w.writeRaw(body.subarray(rmStart, r.offset));
  w.writeRaw(body.subarray(r.offset));
  return Buffer.from(w.finish());
}

/** the old way: one rebuild per edit */
function reference(frame: ReturnType<typeof encodeFrame>, v: ProtocolVersion, ids: boolean, ts: boolean, codec?: BodyCodec) {
  let f = frame;
  if (ids) {
    const m = openRequestBody(f, codec);
    const body = five(v)
      ? replaceExecuteIdsV5(m.msg, TARGET_ID, { from: ORIGIN_RM, to: TARGET_RM })
      : replaceExecuteId(m.msg, TARGET_ID);
    f = rebuildFrame(f, withEnvelope(m, body), codec);
  }
  if (ts) {
    const m = openRequestBody(f, codec);
    const body = withDefaultTimestamp(Opcode.EXECUTE, m.msg, v, TS);
    if (body) f = rebuildFrame(f, withEnvelope(m, body), codec);
  }
  return f;
}

test('spliceRequest: ids and timestamp in one pass equal the per-edit rebuilds (every version, payload, LZ4)', () => {
  for (const v of VERSIONS) {
    for (const payload of v === ProtocolVersion.V3 ? [false] : [false, true]) {
      for (const compressed of v === ProtocolVersion.V5 ? [false] : [false, true]) {
        const codec = compressed ? codecOf(v) : undefined;
        const frame = encodeFrame(
          {
            version: v,
            isResponse: false,
            streamId: 77,
            flags: 0,
            message: execute(v),
            ...(payload ? { customPayload: { k: Buffer.from('value') } } : {}),
          },
          compressed ? lz4BodyCompressor : undefined,
        );
        const m = openRequestBody(frame, codec);
        const layout = requestLayout(Opcode.EXECUTE, m.msg, v, true);
        assert.ok(takesTimestamp(layout));
        const what = `${versionName(v)} payload=${payload} lz4=${compressed}`;
        for (const [ids, ts] of [
          [true, false],
          [false, true],
          [true, true],
        ] as const) {
          const edits = {
            ...(ids ? { preparedId: TARGET_ID, resultMetadataId: { from: ORIGIN_RM, to: TARGET_RM } } : {}),
            ...(ts ? { timestamp: TS } : {}),
          };
          const got = spliceRequest(frame, m, layout, edits, codec)!;
          const want = reference(frame, v, ids, ts, codec);
          assert.deepEqual(openRequestBody(got, codec).full, openRequestBody(want, codec).full, `${what} ids=${ids} ts=${ts}`);
          assert.equal(got.streamId, 77);
          assert.equal(got.flags, frame.flags);
          const d = decodeFrame(got, compressed ? lz4BodyCompressor : undefined).message as {
            id: Buffer;
            params: { defaultTimestamp?: bigint; pageSize?: number; values?: unknown[] };
          };
          assert.deepEqual(d.id, ids ? TARGET_ID : ORIGIN_ID, what);
          assert.equal(d.params.defaultTimestamp, ts ? TS : undefined, what);
          assert.equal(d.params.pageSize, 50, what);
          assert.equal(d.params.values?.length, 2, what);
        }
        // the client frame is never modified
        assert.deepEqual(
          decodeFrame(frame, compressed ? lz4BodyCompressor : undefined).message,
          decodeFrame(encodeFrame({ version: v, isResponse: false, streamId: 77, flags: 0, message: execute(v) })).message,
        );
      }
    }
  }
});

test('spliceRequest: a client timestamp is kept; nothing to change gives undefined; the slot is read only when asked', () => {
  for (const v of VERSIONS) {
    const frame = encodeFrame({ version: v, isResponse: false, streamId: 1, flags: 0, message: execute(v, 5n) });
    const m = openRequestBody(frame, undefined);
    const layout = requestLayout(Opcode.EXECUTE, m.msg, v, true);
    assert.equal(takesTimestamp(layout), false);
    assert.equal(spliceRequest(frame, m, layout, { timestamp: TS }, undefined), undefined);
    const withId = spliceRequest(frame, m, layout, { preparedId: TARGET_ID, timestamp: TS }, undefined)!;
    const d = decodeFrame(withId).message as { id: Buffer; params: { defaultTimestamp?: bigint } };
    assert.deepEqual(d.id, TARGET_ID);
    assert.equal(d.params.defaultTimestamp, 5n);
    const idsOnly = requestLayout(Opcode.EXECUTE, m.msg, v, false);
    assert.equal(takesTimestamp(idsOnly), false);
    // params cut short: only a layout that reads them fails
    const cut = m.msg.subarray(0, idsOnly.rmEnd + 3);
    assert.doesNotThrow(() => requestLayout(Opcode.EXECUTE, cut, v, false));
    assert.throws(() => requestLayout(Opcode.EXECUTE, cut, v, true), { name: 'ProtocolError' });
  }
});
