/**
 * Fuzz: random bytes and mutated valid frames through FrameDecoder + decodeFrame. Nothing may
 * throw anything but a ProtocolError, and no single Buffer allocation may exceed the
 * configured body limit (declared lengths are checked against what is there before anything
 * is allocated). Termination of the run is the "never hangs" check.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ALL_PROTOCOL_VERSIONS,
  FrameDecoder,
  HeaderFlag,
  Opcode,
  ProtocolError,
  ProtocolVersion,
  RawFrame,
  decodeFrame,
  decodeMessage,
  encodeFrame,
  getCompressor,
  type Frame,
} from '../../../src/protocol';
import { b } from '../../support/bytes';
import { anyRequest, bytesMap, streamId } from '../../support/protocol-arbitraries';

const MAX_BODY = 4096;
const lz4 = getCompressor('lz4')!;
const snappy = getCompressor('snappy')!;

/** Run `fn` with Buffer.alloc* instrumented; returns the largest size requested. */
function largestAllocation(fn: () => void): number {
  const orig = { alloc: Buffer.alloc, allocUnsafe: Buffer.allocUnsafe, allocUnsafeSlow: Buffer.allocUnsafeSlow };
  let max = 0;
  const wrap =
    <F extends (size: number, ...rest: any[]) => Buffer>(f: F) =>
    (size: number, ...rest: any[]) => {
      if (size > max) max = size;
      return f.call(Buffer, size, ...rest);
    };
  Buffer.alloc = wrap(orig.alloc) as typeof Buffer.alloc;
  Buffer.allocUnsafe = wrap(orig.allocUnsafe) as typeof Buffer.allocUnsafe;
  Buffer.allocUnsafeSlow = wrap(orig.allocUnsafeSlow) as typeof Buffer.allocUnsafeSlow;
  try {
    fn();
  } finally {
    Buffer.alloc = orig.alloc;
    Buffer.allocUnsafe = orig.allocUnsafe;
    Buffer.allocUnsafeSlow = orig.allocUnsafeSlow;
  }
  return max;
}

/** Feed chunks and decode every frame; only ProtocolErrors may escape (and are swallowed). */
function feed(chunks: Buffer[], compressor = lz4): void {
  const dec = new FrameDecoder({ maxBodyLength: MAX_BODY });
  try {
    for (const c of chunks) {
      for (const raw of dec.push(c)) {
        try {
          decodeFrame(raw, compressor, MAX_BODY);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }
    }
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
  }
}

const requestFrame = fc.constantFrom(...ALL_PROTOCOL_VERSIONS).chain((v) =>
  fc
    .record({
      stream: streamId(v),
      message: anyRequest(v),
      payload: v >= ProtocolVersion.V4 ? fc.option(bytesMap(), { nil: undefined }) : fc.constant(undefined),
      compress: fc.boolean(),
    })
    .map(({ stream, message, payload, compress }) => {
      const f: Frame = { version: v, isResponse: false, streamId: stream, flags: 0, message };
      if (payload !== undefined) f.customPayload = payload;
      return Buffer.from(encodeFrame(f, compress ? lz4 : undefined).bytes);
    }),
);

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('int-max' as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(buf: Buffer, muts: Mutation[]): Buffer {
  let out = Buffer.from(buf);
  for (const m of muts) {
    if (out.length === 0) break;
    const at = m.at % out.length;
    if (m.kind === 'flip') out[at] = m.value;
    else if (m.kind === 'truncate') out = out.subarray(0, at);
    else if (m.kind === 'insert') out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
    else if (at + 4 <= out.length) out.writeInt32BE(0x7fffffff, at);
  }
  return out;
}

describe('fuzz: decoder + frame codec', () => {
  it('random bytes: only ProtocolErrors, no allocation above the limit', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), fc.boolean(), (chunks, useSnappy) => {
        const max = largestAllocation(() =>
          feed(
            chunks.map((c) => Buffer.from(c)),
            useSnappy ? snappy : lz4,
          ),
        );
        assert.ok(max <= MAX_BODY + 9, `allocated ${max} bytes`);
      }),
      { numRuns: 1000 },
    );
  });

  it('random bytes behind a valid header of each version and opcode: only ProtocolErrors, bounded allocation', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALL_PROTOCOL_VERSIONS),
        fc.constantFrom(...Object.values(Opcode).filter((x): x is number => typeof x === 'number'), 0x04, 0x11),
        fc.boolean(),
        fc.integer({ min: 0, max: 0x1f }),
        fc.uint8Array({ maxLength: 200 }),
        (version, opcode, isResponse, flags, body) => {
          const raw = RawFrame.fromParts({ version, isResponse, flags, streamId: 1, opcode }, body);
          const max = largestAllocation(() => feed([Buffer.from(raw.bytes)]));
          assert.ok(max <= MAX_BODY + 9, `allocated ${max} bytes`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('mutated valid request frames: only ProtocolErrors, bounded allocation', () => {
    fc.assert(
      fc.property(
        fc.array(requestFrame, { minLength: 1, maxLength: 3 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (frames, muts, cuts) => {
          const bytes = mutate(Buffer.concat(frames), muts);
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const p of points) {
            chunks.push(bytes.subarray(prev, p));
            prev = p;
          }
          chunks.push(bytes.subarray(prev));
          const max = largestAllocation(() => feed(chunks));
          assert.ok(max <= MAX_BODY + 9, `allocated ${max} bytes`);
        },
      ),
      { numRuns: 1000 },
    );
  });

  describe('declared lengths far beyond the body fail as truncated without allocating', () => {
    const huge = 0x7fffffff;
    const cases: [string, number, Buffer][] = [
      ['AUTH_RESPONSE [bytes]', Opcode.AUTH_RESPONSE, b().int(huge).raw('00').build()],
      ['QUERY [long string]', Opcode.QUERY, b().int(huge).raw('53').build()],
      ['QUERY 65535 values in a short body', Opcode.QUERY, b().longString('Q').short(1).byte(0x01).short(0xffff).int(1).build()],
      ['QUERY [value] length', Opcode.QUERY, b().longString('Q').short(1).byte(0x01).short(1).int(huge).build()],
      ['QUERY paging state', Opcode.QUERY, b().longString('Q').short(1).byte(0x08).int(huge).build()],
      ['STARTUP 65535 entries', Opcode.STARTUP, b().short(0xffff).string('a').build()],
      ['REGISTER 65535 strings', Opcode.REGISTER, b().short(0xffff).build()],
      ['BATCH 65535 statements', Opcode.BATCH, b().byte(0).short(0xffff).byte(0).build()],
      ['EXECUTE [short bytes]', Opcode.EXECUTE, b().short(0xffff).raw('01').build()],
    ];
    for (const [name, opcode, body] of cases) {
      it(name, () => {
        for (const v of [ProtocolVersion.V3, ProtocolVersion.V4]) {
          let err: unknown;
          const max = largestAllocation(() => {
            try {
              decodeMessage(opcode, false, body, v);
            } catch (e) {
              err = e;
            }
          });
          assert.ok(err instanceof ProtocolError && err.code === 'truncated', `${name}: ${String(err)}`);
          assert.ok(max <= 1024, `allocated ${max} bytes`);
        }
      });
    }

    it('a custom payload value of 2^31-1 bytes in a tiny frame', () => {
      const raw = RawFrame.fromParts(
        { version: ProtocolVersion.V4, isResponse: false, flags: HeaderFlag.CUSTOM_PAYLOAD, streamId: 1, opcode: Opcode.OPTIONS },
        b().short(1).string('k').int(huge).build(),
      );
      assert.throws(
        () => decodeFrame(raw),
        (e: unknown) => e instanceof ProtocolError && e.code === 'truncated',
      );
    });
  });
});
