// The default-timestamp splice (pinned write timestamps): flag 0x20 + <timestamp> inserted in
// QUERY / EXECUTE / BATCH bodies of every version that has it; every other field decodes unchanged;
// a client timestamp is never replaced; v2 and other opcodes are left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consistency, Opcode, ProtocolVersion, QueryFlag, versionName } from '../../../src/protocol/constants';
import { decodeMessage, encodeMessage, type RequestMessage } from '../../../src/protocol/messages';
import {
  peekDefaultTimestamp,
  withDefaultTimestamp,
  withoutSkipMetadata,
} from '../../../src/protocol/messages/default-timestamp';
import { encodeFrame, messageOf } from '../../../src/protocol/frame-codec';
import { lz4BodyCompressor } from '../../../src/protocol/compression';

const TS = 1_700_000_000_123_456n;
const VERSIONS = [ProtocolVersion.V3, ProtocolVersion.V4, ProtocolVersion.V5, ProtocolVersion.DSE_V1, ProtocolVersion.DSE_V2];

function body(m: RequestMessage, v: ProtocolVersion): Buffer {
  return Buffer.from(encodeMessage(m, v));
}
function decode(b: Buffer, opcode: Opcode, v: ProtocolVersion): RequestMessage {
  return decodeMessage(opcode, false, b, v) as RequestMessage;
}

function messages(v: ProtocolVersion): RequestMessage[] {
  const five = v === ProtocolVersion.V5 || v === ProtocolVersion.DSE_V2;
  return [
    { opcode: Opcode.QUERY, query: 'INSERT INTO ks.t (k, v) VALUES (?, ?)', params: { consistency: Consistency.QUORUM } },
    {
      opcode: Opcode.QUERY,
      query: 'UPDATE ks.t SET v = ? WHERE k = ?',
      params: {
        consistency: Consistency.LOCAL_QUORUM,
        values: [Buffer.from('abc'), null],
        pageSize: 100,
        pagingState: Buffer.from([9, 9]),
        serialConsistency: Consistency.LOCAL_SERIAL,
        ...(five ? { keyspace: 'ks' } : {}),
        ...(v === ProtocolVersion.V5 ? { nowInSeconds: 42 } : {}),
      },
    },
    {
      opcode: Opcode.QUERY,
      query: 'INSERT INTO ks.t (k, v) VALUES (:k, :v)',
      params: {
        consistency: Consistency.ONE,
        namedValues: [
          { name: 'k', value: Buffer.from([0, 0, 0, 1]) },
          { name: 'v', value: Buffer.alloc(0) },
        ],
      },
    },
    {
      opcode: Opcode.EXECUTE,
      id: Buffer.from('0123456789abcdef'),
      ...(five ? { resultMetadataId: Buffer.from('fedcba') } : {}),
      params: { consistency: Consistency.ONE, values: [Buffer.from([1, 2, 3, 4])], skipMetadata: true },
    },
    {
      opcode: Opcode.BATCH,
      type: 0,
      children: [
        { kind: 'query', query: 'INSERT INTO ks.t (k) VALUES (?)', values: [Buffer.from([0, 0, 0, 7])] },
        { kind: 'prepared', id: Buffer.from('0123456789abcdef'), values: [null, Buffer.from('x')] },
      ],
      consistency: Consistency.QUORUM,
      serialConsistency: Consistency.SERIAL,
      ...(five ? { keyspace: 'ks' } : {}),
    },
  ] as RequestMessage[];
}

test('withDefaultTimestamp: the timestamp is added, every other field decodes unchanged (v3, v4, v5, DSE)', () => {
  for (const v of VERSIONS) {
    for (const m of messages(v)) {
      const b = body(m, v);
      assert.equal(peekDefaultTimestamp(m.opcode, b, v), undefined);
      const out = withDefaultTimestamp(m.opcode, b, v, TS);
      assert.ok(out, `${versionName(v)} opcode ${m.opcode}: spliced`);
      assert.equal(out.length, b.length + 8);
      const got = decode(out, m.opcode, v) as unknown as Record<string, unknown>;
      const want = decode(b, m.opcode, v) as unknown as Record<string, unknown>;
      if (m.opcode === Opcode.BATCH) {
        assert.equal(got['defaultTimestamp'], TS);
        assert.deepEqual({ ...got, defaultTimestamp: undefined }, { ...want, defaultTimestamp: undefined });
      } else {
        const gp = got['params'] as Record<string, unknown>;
        assert.equal(gp['defaultTimestamp'], TS, `${versionName(v)} opcode ${m.opcode}`);
        assert.deepEqual(
          { ...got, params: { ...gp, defaultTimestamp: undefined } },
          { ...want, params: { ...(want['params'] as object), defaultTimestamp: undefined } },
        );
      }
      assert.equal(peekDefaultTimestamp(m.opcode, out, v), TS);
    }
  }
});

test('withDefaultTimestamp: a client timestamp is never replaced; the generator is not even called', () => {
  for (const v of VERSIONS) {
    const m = {
      opcode: Opcode.QUERY,
      query: 'INSERT INTO ks.t (k) VALUES (1)',
      params: { consistency: Consistency.ONE, defaultTimestamp: 5n },
    } as RequestMessage;
    const b = body(m, v);
    assert.equal(
      withDefaultTimestamp(Opcode.QUERY, b, v, () => assert.fail('called')),
      undefined,
    );
    assert.equal(peekDefaultTimestamp(Opcode.QUERY, b, v), 5n);
    const batch = {
      opcode: Opcode.BATCH,
      type: 1,
      children: [],
      consistency: Consistency.ONE,
      defaultTimestamp: 6n,
    } as unknown as RequestMessage;
    assert.equal(withDefaultTimestamp(Opcode.BATCH, body(batch, v), v, TS), undefined);
  }
});

test('withDefaultTimestamp: v2, other opcodes: nothing; a truncated body is a ProtocolError, not a crash', () => {
  const q = {
    opcode: Opcode.QUERY,
    query: 'INSERT INTO ks.t (k) VALUES (1)',
    params: { consistency: Consistency.ONE },
  } as RequestMessage;
  assert.equal(withDefaultTimestamp(Opcode.QUERY, body(q, ProtocolVersion.V2), ProtocolVersion.V2, TS), undefined);
  assert.equal(
    withDefaultTimestamp(
      Opcode.PREPARE,
      body({ opcode: Opcode.PREPARE, query: 'x' } as RequestMessage, ProtocolVersion.V4),
      ProtocolVersion.V4,
      TS,
    ),
    undefined,
  );
  const b = body(q, ProtocolVersion.V4);
  assert.throws(() => withDefaultTimestamp(Opcode.QUERY, b.subarray(0, b.length - 2), ProtocolVersion.V4, TS), {
    name: 'ProtocolError',
  });
  // the flag byte really is the v4 byte
  const out = withDefaultTimestamp(Opcode.QUERY, b, ProtocolVersion.V4, TS)!;
  assert.equal(out[b.length - 1]! & QueryFlag.DEFAULT_TIMESTAMP, QueryFlag.DEFAULT_TIMESTAMP);
});

test('withoutSkipMetadata: the async copy of an EXECUTE/QUERY loses Skip_metadata, nothing else (v4, v5, DSE_V2, compressed)', () => {
  const lz4 = {
    compress: (b: Buffer) => lz4BodyCompressor.compress(b, ProtocolVersion.V4),
    decompress: (b: Buffer) => lz4BodyCompressor.decompress(b, ProtocolVersion.V4, 1 << 20),
  };
  for (const v of [ProtocolVersion.V4, ProtocolVersion.V5, ProtocolVersion.DSE_V2]) {
    const five = v !== ProtocolVersion.V4;
    const exec: RequestMessage = {
      opcode: Opcode.EXECUTE,
      id: Buffer.from('0102', 'hex'),
      ...(five ? { resultMetadataId: Buffer.from('0a0b', 'hex') } : {}),
      params: { consistency: Consistency.LOCAL_QUORUM, values: [Buffer.from('k')], skipMetadata: true, pageSize: 50 },
    };
    const frame = encodeFrame({ version: v, isResponse: false, streamId: 7, flags: 0, message: exec });
    const out = withoutSkipMetadata(frame.withStreamId(7));
    const { skipMetadata: _s, ...rest } = (exec as { params: object }).params as Record<string, unknown>;
    const got = decodeMessage(Opcode.EXECUTE, false, messageOf(out), v) as RequestMessage;
    assert.deepEqual(got, { ...exec, params: rest }, versionName(v));
    assert.deepEqual(decodeMessage(Opcode.EXECUTE, false, messageOf(frame), v), exec, 'the original frame is untouched');
  }
  const plain: RequestMessage = { opcode: Opcode.QUERY, query: 'SELECT * FROM ks.t', params: { consistency: Consistency.ONE } };
  const q = encodeFrame({ version: ProtocolVersion.V4, isResponse: false, streamId: 1, flags: 0, message: plain });
  assert.equal(withoutSkipMetadata(q), q, 'no flag: the same frame');
  const skipQ: RequestMessage = { ...plain, params: { consistency: Consistency.ONE, skipMetadata: true } } as RequestMessage;
  const compressed = encodeFrame(
    { version: ProtocolVersion.V4, isResponse: false, streamId: 1, flags: 0, message: skipQ },
    lz4BodyCompressor,
  );
  assert.ok(compressed.isCompressed);
  assert.equal(withoutSkipMetadata(compressed), compressed, 'compressed without a codec: left as it is');
  const out = withoutSkipMetadata(compressed, lz4);
  assert.ok(out.isCompressed);
  assert.deepEqual(
    decodeMessage(Opcode.QUERY, false, messageOf(out, lz4), ProtocolVersion.V4),
    plain,
    'compressed: flag cleared',
  );
  const opts = encodeFrame({
    version: ProtocolVersion.V4,
    isResponse: false,
    streamId: 1,
    flags: 0,
    message: { opcode: Opcode.OPTIONS },
  });
  assert.equal(withoutSkipMetadata(opts), opts, 'another opcode');
});
