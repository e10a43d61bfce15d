/**
 * Shared helpers for the response message tests: run a codec, fast-check arbitraries, and a
 * mutation check (truncations and byte flips only ever throw ProtocolError).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolVersion } from '../../../src/protocol/constants';
import { ProtocolError } from '../../../src/protocol/errors';
import { Reader, Writer, ipToString } from '../../../src/protocol/primitives';
import { type DataType, DataTypeCode } from '../../../src/protocol/values';
import type { SchemaChange } from '../../../src/protocol/messages/event';

export const V = ProtocolVersion;
/** Every version but v2. */
export const V3_UP = [V.V3, V.V4, V.V5, V.DSE_V1, V.DSE_V2] as const;
export const ALL = [V.V2, ...V3_UP] as const;
export const V4_UP = [V.V4, V.V5, V.DSE_V1, V.DSE_V2] as const;

export type Encode<M> = (msg: M, version: ProtocolVersion, w: Writer) => void;
export type Decode<M> = (r: Reader, version: ProtocolVersion) => M;

export function encode<M>(enc: Encode<M>, msg: M, version: ProtocolVersion): Buffer {
  const w = new Writer(8);
  enc(msg, version, w);
  return Buffer.from(w.finish());
}

/** Decode and require the whole body to be consumed. */
export function decode<M>(dec: Decode<M>, body: Buffer, version: ProtocolVersion): M {
  const r = new Reader(body);
  const msg = dec(r, version);
  assert.equal(r.remaining, 0, `decoder left ${r.remaining} byte(s) unread`);
  return msg;
}

/** Golden check both ways: encode(msg) == bytes and decode(bytes) == msg. */
export function golden<M>(enc: Encode<M>, dec: Decode<M>, msg: M, bytes: Buffer, version: ProtocolVersion): void {
  assert.deepEqual(encode(enc, msg, version).toString('hex'), bytes.toString('hex'), 'encoded bytes');
  assert.deepEqual(decode(dec, bytes, version), msg, 'decoded message');
}

export function throwsProtocolError(fn: () => unknown, what: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ProtocolError, `${what}: expected a ProtocolError, got ${String(e)}`);
    return;
  }
  assert.fail(`${what}: no error thrown`);
}

/** Either decodes or throws a ProtocolError: never another exception. */
export function decodesOrProtocolError(fn: () => unknown, what: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ProtocolError, `${what}: expected a ProtocolError, got ${e instanceof Error ? e.stack : String(e)}`);
  }
}

/**
 * Mutation property: every strict prefix of a valid encoding throws ProtocolError; any byte flip
 * (and random garbage) decodes or throws ProtocolError only.
 */
export function checkMutations<M>(
  arb: fc.Arbitrary<M>,
  enc: Encode<M>,
  dec: Decode<M>,
  versions: readonly ProtocolVersion[],
  numRuns = 150,
): void {
  for (const version of versions) {
    fc.assert(
      fc.property(arb, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (msg, cut, pos, xor) => {
        const bytes = encode(enc, msg, version);
        const prefix = bytes.subarray(0, cut % Math.max(1, bytes.length));
        throwsProtocolError(() => decode(dec, prefix, version), `prefix ${prefix.length}/${bytes.length} v${version}`);
        const flipped = Buffer.from(bytes);
        if (flipped.length > 0) flipped[pos % flipped.length]! ^= xor;
        decodesOrProtocolError(
          () => dec(new Reader(flipped), version),
          `flip at ${pos % Math.max(1, flipped.length)} v${version}`,
        );
      }),
      { numRuns },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (garbage) => {
        decodesOrProtocolError(() => dec(new Reader(Buffer.from(garbage)), version), `garbage v${version}`);
      }),
      { numRuns: 100 },
    );
  }
}

export function roundTrip<M>(
  arb: fc.Arbitrary<M>,
  enc: Encode<M>,
  dec: Decode<M>,
  version: ProtocolVersion,
  numRuns = 200,
): void {
  fc.assert(
    fc.property(arb, (msg) => {
      assert.deepEqual(decode(dec, encode(enc, msg, version), version), msg);
    }),
    { numRuns },
  );
}

// ---- arbitraries ----------------------------------------------------------------------------

/** [string]-safe text (no lone surrogates), short. */
export const str = (maxLength = 12): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength });
export const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
export const nonNegInt32 = fc.integer({ min: 0, max: 0x7fffffff });
export const short = fc.integer({ min: 0, max: 0xffff });
export const buf = (maxLength = 16): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((u) => Buffer.from(u));
export const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((u) => ipToString(Buffer.from(u)));
export const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((u) => ipToString(Buffer.from(u)));
export const ip = fc.oneof(ipv4, ipv6);

/** fc.record with plain-prototype objects (deepStrictEqual compares prototypes). */
export function rec<T extends object>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as unknown as fc.Arbitrary<T>;
}

/** Drop properties whose value is undefined (decoders omit absent optional fields). */
export function compact<T extends object>(o: T): T {
  const out = { ...o };
  for (const k of Object.keys(out) as (keyof T)[]) if (out[k] === undefined) delete out[k];
  return out;
}

const nativeCodes = [
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
] as const;

/** Any [option] type, nested at most a few levels. */
export const dataTypeArb: fc.Arbitrary<DataType> = fc.letrec<{ t: DataType }>((tie) => ({
  t: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...nativeCodes).map((code) => ({ code }) as DataType),
    rec({ code: fc.constant(DataTypeCode.CUSTOM as const), className: str(30) }),
    rec({ code: fc.constant(DataTypeCode.LIST as const), element: tie('t') }),
    rec({ code: fc.constant(DataTypeCode.SET as const), element: tie('t') }),
    rec({ code: fc.constant(DataTypeCode.MAP as const), key: tie('t'), value: tie('t') }),
    rec({
      code: fc.constant(DataTypeCode.UDT as const),
      keyspace: str(),
      name: str(),
      fields: fc.array(rec({ name: str(), type: tie('t') }), { maxLength: 3 }),
    }),
    rec({ code: fc.constant(DataTypeCode.TUPLE as const), elements: fc.array(tie('t'), { maxLength: 3 }) }),
  ),
})).t;

const changeType = fc.constantFrom('CREATED' as const, 'UPDATED' as const, 'DROPPED' as const);

export function schemaChangeArb(version: ProtocolVersion): fc.Arbitrary<SchemaChange> {
  if (version === V.V2) {
    return fc.oneof(
      rec({ changeType, target: fc.constant('KEYSPACE' as const), keyspace: str() }),
      rec({ changeType, target: fc.constant('TABLE' as const), keyspace: str(), name: str().filter((s) => s !== '') }),
    );
  }
  return fc.oneof(
    rec({ changeType, target: fc.constant('KEYSPACE' as const), keyspace: str() }),
    rec({ changeType, target: fc.constantFrom('TABLE' as const, 'TYPE' as const), keyspace: str(), name: str() }),
    rec({
      changeType,
      target: fc.constantFrom('FUNCTION' as const, 'AGGREGATE' as const),
      keyspace: str(),
      name: str(),
      argTypes: fc.array(str(), { maxLength: 3 }),
    }),
  );
}
