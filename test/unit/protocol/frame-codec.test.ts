/** Envelope (tracing id, warnings, custom payload), decoded frames, compression, cheap peeks. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ALL_PROTOCOL_VERSIONS,
  Consistency,
  FrameDecoder,
  HeaderFlag,
  Opcode,
  ProtocolError,
  ProtocolVersion,
  RawFrame,
  decodeEnvelope,
  decodeFrame,
  encodeFrame,
  encodedFlags,
  getCompressor,
  peekPreparedId,
  peekQueryString,
  versionName,
  type Frame,
} from '../../../src/protocol';
import { b, hex } from '../../support/bytes';
import { anyRequest, bytesMap, streamId } from '../../support/protocol-arbitraries';

const { V2, V3, V4, V5, DSE_V1, DSE_V2 } = ProtocolVersion;
const lz4 = getCompressor('lz4')!;
const snappy = getCompressor('snappy')!;
const isCode = (code: string) => (e: unknown) => e instanceof ProtocolError && e.code === code;
const TRACING_ID = '0102030405060708090a0b0c0d0e0f10';

describe('envelope and frame codec', () => {
  it('v4 response: tracing id, then warnings, then custom payload, then the message (golden)', () => {
    const frame: Frame = {
      version: V4,
      isResponse: true,
      streamId: 5,
      flags: HeaderFlag.TRACING | HeaderFlag.WARNING | HeaderFlag.CUSTOM_PAYLOAD,
      tracingId: Buffer.from(TRACING_ID, 'hex'),
      warnings: ['Aggregation query used without partition key'],
      customPayload: { k: Buffer.from('76', 'hex') },
      message: { opcode: Opcode.READY },
    };
    const body = b()
      .uuid(TRACING_ID)
      .stringList(['Aggregation query used without partition key'])
      .bytesMap([['k', '76']]);
    const expected = b().raw('84 0e 00 05 02').int(body.length).concat(body).build();
    const raw = encodeFrame(frame);
    assert.equal(hex(raw.bytes), hex(expected));
    assert.deepStrictEqual(decodeFrame(new FrameDecoder().push(expected)[0]!), frame);
    const env = decodeEnvelope(raw.header, raw.body);
    assert.equal(env.messageOffset, body.length);
  });

  it('v4 request: custom payload before the QUERY; TRACING adds nothing to a request body (golden)', () => {
    const frame: Frame = {
      version: V4,
      isResponse: false,
      streamId: 300,
      flags: HeaderFlag.TRACING | HeaderFlag.CUSTOM_PAYLOAD,
      customPayload: { 'proxy.route': null },
      message: { opcode: Opcode.QUERY, query: 'SELECT 1', params: { consistency: Consistency.ONE } },
    };
    const body = b()
      .bytesMap([['proxy.route', null]])
      .longString('SELECT 1')
      .short(1)
      .byte(0);
    const expected = b().raw('04 06 01 2c 07').int(body.length).concat(body).build();
    assert.equal(hex(encodeFrame(frame).bytes), hex(expected));
    const raw = new FrameDecoder().push(expected)[0]!;
    assert.deepStrictEqual(decodeFrame(raw), frame);
    assert.equal(peekQueryString(raw), 'SELECT 1');
  });

  it('flags derive from the envelope: stale WARNING / CUSTOM_PAYLOAD / response TRACING bits are not written', () => {
    const frame: Frame = {
      version: V4,
      isResponse: true,
      streamId: 0,
      flags: HeaderFlag.WARNING | HeaderFlag.CUSTOM_PAYLOAD | HeaderFlag.TRACING | HeaderFlag.USE_BETA,
      message: { opcode: Opcode.READY },
    };
    assert.equal(encodedFlags(frame), HeaderFlag.USE_BETA);
    assert.equal(hex(encodeFrame(frame).bytes), '84 10 00 00 02 00 00 00 00');
  });

  it('v3 and v2: custom payload and warnings do not exist (encode refuses, decode ignores the flags)', () => {
    for (const v of [V2, V3]) {
      assert.throws(
        () =>
          encodeFrame({
            version: v,
            isResponse: false,
            streamId: 1,
            flags: 0,
            customPayload: {},
            message: { opcode: Opcode.OPTIONS },
          }),
        RangeError,
      );
      assert.throws(
        () =>
          encodeFrame({ version: v, isResponse: true, streamId: 1, flags: 0, warnings: [], message: { opcode: Opcode.READY } }),
        RangeError,
      );
      const raw = RawFrame.fromParts(
        {
          version: v,
          isResponse: true,
          flags: HeaderFlag.WARNING | HeaderFlag.CUSTOM_PAYLOAD,
          streamId: 1,
          opcode: Opcode.READY,
        },
        Buffer.alloc(0),
      );
      assert.deepStrictEqual(decodeFrame(raw).message, { opcode: Opcode.READY });
      // Tracing ids exist in every version.
      const traced = encodeFrame({
        version: v,
        isResponse: true,
        streamId: 2,
        flags: 0,
        tracingId: Buffer.alloc(16, 7),
        message: { opcode: Opcode.READY },
      });
      assert.equal(traced.flags, HeaderFlag.TRACING);
      assert.deepStrictEqual(decodeFrame(traced).tracingId, Buffer.alloc(16, 7));
    }
  });

  it('a request cannot carry a tracing id or warnings', () => {
    assert.throws(
      () =>
        encodeFrame({
          version: V4,
          isResponse: false,
          streamId: 1,
          flags: 0,
          tracingId: Buffer.alloc(16),
          message: { opcode: Opcode.OPTIONS },
        }),
      RangeError,
    );
    assert.throws(
      () =>
        encodeFrame({
          version: V4,
          isResponse: false,
          streamId: 1,
          flags: 0,
          warnings: ['x'],
          message: { opcode: Opcode.OPTIONS },
        }),
      RangeError,
    );
  });

  it('a truncated envelope fails as truncated with the frame context', () => {
    const raw = RawFrame.fromParts(
      { version: V4, isResponse: true, flags: HeaderFlag.TRACING, streamId: 9, opcode: Opcode.READY },
      Buffer.alloc(10),
    );
    assert.throws(
      () => decodeFrame(raw),
      (e: unknown) =>
        isCode('truncated')(e) && (e as ProtocolError).context.streamId === 9 && /tracing id/.test((e as Error).message),
    );
  });

  it('message errors carry the frame version, stream id and opcode', () => {
    const raw = RawFrame.fromParts(
      { version: V4, isResponse: false, flags: 0, streamId: 77, opcode: Opcode.QUERY },
      Buffer.from([0, 0, 0, 9]),
    );
    assert.throws(
      () => decodeFrame(raw),
      (e: unknown) =>
        isCode('truncated')(e) &&
        (e as ProtocolError).context.streamId === 77 &&
        (e as ProtocolError).context.opcode === Opcode.QUERY &&
        (e as ProtocolError).context.version === V4,
    );
    const unknown = RawFrame.fromParts({ version: V4, isResponse: false, flags: 0, streamId: 1, opcode: 0x04 }, Buffer.alloc(0));
    assert.throws(() => decodeFrame(unknown), isCode('unknown-opcode'));
  });

  describe('compression', () => {
    const query: Frame = {
      version: V4,
      isResponse: false,
      streamId: 3,
      flags: 0,
      message: {
        opcode: Opcode.QUERY,
        query: 'SELECT * FROM ks.t WHERE k = ? '.repeat(20),
        params: { consistency: Consistency.ONE },
      },
    };

    for (const [name, compressor] of [
      ['lz4', lz4],
      ['snappy', snappy],
    ] as const) {
      it(`${name}: compressed body round trip, flag set; decode without a compressor fails as 'compression'`, () => {
        for (const v of [V2, V3, V4, DSE_V1, DSE_V2]) {
          const f: Frame = { ...query, version: v };
          const raw = encodeFrame(f, compressor);
          assert.equal(raw.flags & HeaderFlag.COMPRESSION, HeaderFlag.COMPRESSION, versionName(v));
          assert.ok(raw.header.bodyLength < encodeFrame(f).header.bodyLength, 'the repetitive query compresses');
          assert.deepStrictEqual(decodeFrame(raw, compressor), { ...f, flags: HeaderFlag.COMPRESSION });
          assert.equal(peekQueryString(raw, compressor), (f.message as { query: string }).query);
          assert.throws(() => decodeFrame(raw), isCode('compression'));
        }
      });
    }

    it('STARTUP and OPTIONS requests are never compressed; READY responses may be', () => {
      const startup = encodeFrame(
        {
          version: V4,
          isResponse: false,
          streamId: 0,
          flags: 0,
          message: { opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0', COMPRESSION: 'lz4' } },
        },
        lz4,
      );
      assert.equal(startup.flags & HeaderFlag.COMPRESSION, 0);
      const options = encodeFrame(
        { version: V4, isResponse: false, streamId: 0, flags: 0, message: { opcode: Opcode.OPTIONS } },
        lz4,
      );
      assert.equal(options.flags & HeaderFlag.COMPRESSION, 0);
      const ready = encodeFrame({ version: V4, isResponse: true, streamId: 0, flags: 0, message: { opcode: Opcode.READY } }, lz4);
      assert.equal(ready.flags & HeaderFlag.COMPRESSION, HeaderFlag.COMPRESSION);
      assert.deepStrictEqual(decodeFrame(ready, lz4).message, { opcode: Opcode.READY });
    });

    it('v5 frames are not compressed per frame (segments do it); the flag is ignored on decode', () => {
      const raw = encodeFrame(
        { ...query, version: V5, message: { ...query.message, query: 'SELECT 1' } as Frame['message'] },
        lz4,
      );
      assert.equal(raw.flags & HeaderFlag.COMPRESSION, 0);
      const flagged = RawFrame.fromParts({ ...raw.header, flags: HeaderFlag.COMPRESSION }, raw.body);
      assert.equal((decodeFrame(flagged).message as { query: string }).query, 'SELECT 1');
    });

    it('a compressed body declaring more than the maximum is rejected before allocating', () => {
      const body = b().int(0x7fffffff).raw('00').build();
      const raw = RawFrame.fromParts(
        { version: V4, isResponse: false, flags: HeaderFlag.COMPRESSION, streamId: 1, opcode: Opcode.QUERY },
        body,
      );
      assert.throws(
        () => decodeFrame(raw, lz4, 1024),
        (e: unknown) => isCode('compression')(e) && (e as ProtocolError).context.streamId === 1,
      );
    });
  });

  describe('peeks', () => {
    it('peekQueryString: QUERY and PREPARE text; undefined for others and for responses', () => {
      for (const v of ALL_PROTOCOL_VERSIONS) {
        const prep = encodeFrame({
          version: v,
          isResponse: false,
          streamId: 1,
          flags: 0,
          message: { opcode: Opcode.PREPARE, query: 'SELECT k FROM t' },
        });
        assert.equal(peekQueryString(prep), 'SELECT k FROM t');
        const opts = encodeFrame({ version: v, isResponse: false, streamId: 1, flags: 0, message: { opcode: Opcode.OPTIONS } });
        assert.equal(peekQueryString(opts), undefined);
        assert.equal(peekPreparedId(opts), undefined);
      }
      const truncated = RawFrame.fromParts(
        { version: V4, isResponse: false, flags: 0, streamId: 4, opcode: Opcode.QUERY },
        b().int(100).raw('41').build(),
      );
      assert.throws(
        () => peekQueryString(truncated),
        (e: unknown) => isCode('truncated')(e) && (e as ProtocolError).context.streamId === 4,
      );
    });

    it('peekPreparedId: the EXECUTE id as a view, after a custom payload', () => {
      for (const v of ALL_PROTOCOL_VERSIONS) {
        const id = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
        const frame: Frame = {
          version: v,
          isResponse: false,
          streamId: 1,
          flags: 0,
          message:
            v === V5 || v === DSE_V2
              ? { opcode: Opcode.EXECUTE, id, resultMetadataId: Buffer.from('01', 'hex'), params: { consistency: 1 } }
              : { opcode: Opcode.EXECUTE, id, params: { consistency: 1 } },
        };
        if (v >= V4) frame.customPayload = { a: Buffer.from('ff', 'hex'), b: null };
        const raw = encodeFrame(frame);
        const got = peekPreparedId(raw);
        assert.deepStrictEqual(got, id, versionName(v));
        assert.equal(got!.buffer, raw.bytes.buffer, 'a view of the frame bytes, no copy');
      }
    });
  });

  it('request frames round trip through encodeFrame, FrameDecoder and decodeFrame (fast-check)', () => {
    const frameArb = fc.constantFrom(...ALL_PROTOCOL_VERSIONS).chain((v) =>
      fc.record({
        v: fc.constant(v),
        stream: streamId(v),
        message: anyRequest(v),
        tracing: fc.boolean(),
        payload: v >= V4 ? fc.option(bytesMap(), { nil: undefined }) : fc.constant(undefined),
        compress: fc.constantFrom(undefined, lz4, ...(v === V5 ? [] : [snappy])),
      }),
    );
    fc.assert(
      fc.property(frameArb, ({ v, stream, message, tracing, payload, compress }) => {
        const frame: Frame = {
          version: v,
          isResponse: false,
          streamId: stream,
          flags: tracing ? HeaderFlag.TRACING : 0,
          message,
        };
        if (payload !== undefined) frame.customPayload = payload;
        const raw = encodeFrame(frame, compress);
        const [decodedRaw] = new FrameDecoder().push(Buffer.from(raw.bytes));
        const decoded = decodeFrame(decodedRaw!, compress);
        assert.deepStrictEqual(decoded, { ...frame, flags: encodedFlags(frame, compress) });
      }),
      { numRuns: 300 },
    );
  });
});
