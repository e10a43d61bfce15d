/**
 * fast-check arbitraries for request messages and frames, respecting each protocol version's
 * features (what exists where: see src/protocol/messages/query-parameters.ts). Generated
 * values are canonical: what decode(encode(x)) gives back (optional fields absent, not
 * undefined; booleans present only when true).
 */
import fc from 'fast-check';
import {
  BatchType,
  Opcode,
  ProtocolVersion,
  UNSET,
  type Batch,
  type BatchChild,
  type BytesMap,
  type Message,
  type QueryParameters,
  type RequestMessage,
  type Value,
} from '../../src/protocol';

const { V2, V3, V4, V5, DSE_V1, DSE_V2 } = ProtocolVersion;
const isDse = (v: ProtocolVersion) => v === DSE_V1 || v === DSE_V2;
const hasKeyspace = (v: ProtocolVersion) => v === V5 || v === DSE_V2;

/** fc.record with plain-prototype objects (what decoders build). */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }, opts: { requiredKeys?: (keyof T)[] } = {}): fc.Arbitrary<T> {
  return (fc.record as any)(model, { ...opts, noNullPrototype: true });
}

export const int32 = () => fc.integer({ min: -0x80000000, max: 0x7fffffff });
export const uint16 = () => fc.integer({ min: 0, max: 0xffff });
export const int64 = () => fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
export const buffer = (maxLength = 24) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));
export const text = (maxLength = 16) => fc.string({ unit: 'binary', maxLength });

export function value(v: ProtocolVersion): fc.Arbitrary<Value> {
  const opts: fc.Arbitrary<Value>[] = [buffer(), fc.constant(null)];
  if (v >= V4) opts.push(fc.constant(UNSET));
  return fc.oneof(...opts);
}

function entries<T>(val: fc.Arbitrary<T>, maxLength = 4): fc.Arbitrary<Record<string, T>> {
  return fc
    .uniqueArray(fc.tuple(text(), val), { maxLength, selector: ([k]) => k })
    .map((pairs) => Object.fromEntries(pairs) as Record<string, T>);
}
export const stringMap = () => entries(text(12));
export const bytesMap = (): fc.Arbitrary<BytesMap> => entries(fc.option(buffer(), { nil: null }));

export function queryParameters(v: ProtocolVersion): fc.Arbitrary<QueryParameters> {
  const model: Record<string, fc.Arbitrary<unknown>> = {
    consistency: uint16(),
    values: fc.array(value(v), { maxLength: 5 }),
    skipMetadata: fc.constant(true),
    pageSize: int32(),
    pagingState: fc.option(buffer(), { nil: null }),
    serialConsistency: uint16(),
  };
  if (v >= V3) {
    model.namedValues = fc.array(rec({ name: text(8), value: value(v) }), { maxLength: 4 });
    model.defaultTimestamp = int64();
  }
  if (hasKeyspace(v)) model.keyspace = text();
  if (v === V5) model.nowInSeconds = int32();
  if (isDse(v)) {
    model.pageSizeInBytes = fc.constant(true);
    model.continuousPaging =
      v === DSE_V2
        ? rec({ maxNumPages: int32(), pagesPerSecond: int32(), nextPages: int32() })
        : rec({ maxNumPages: int32(), pagesPerSecond: int32() });
  }
  return rec(model, { requiredKeys: ['consistency'] }).map((p) => {
    const q = p as unknown as QueryParameters;
    if (q.values !== undefined && q.namedValues !== undefined) delete q.namedValues;
    return q;
  });
}

function batchChild(v: ProtocolVersion): fc.Arbitrary<BatchChild> {
  const values = fc.array(value(v), { maxLength: 4 });
  return fc.oneof(
    rec({ kind: fc.constant('query' as const), query: text(30), values }),
    rec({ kind: fc.constant('prepared' as const), id: buffer(16), values }),
  );
}

function batch(v: ProtocolVersion): fc.Arbitrary<Batch> {
  const model: Record<string, fc.Arbitrary<unknown>> = {
    opcode: fc.constant(Opcode.BATCH),
    type: fc.constantFrom(BatchType.LOGGED, BatchType.UNLOGGED, BatchType.COUNTER),
    children: fc.array(batchChild(v), { maxLength: 4 }),
    consistency: uint16(),
  };
  if (v >= V3) {
    model.serialConsistency = uint16();
    model.defaultTimestamp = int64();
  }
  if (hasKeyspace(v)) model.keyspace = text();
  if (v === V5) model.nowInSeconds = int32();
  return rec(model, { requiredKeys: ['opcode', 'type', 'children', 'consistency'] }) as unknown as fc.Arbitrary<Batch>;
}

/** One arbitrary per request opcode that exists in the version. */
export function requestArbitraries(v: ProtocolVersion): Record<string, fc.Arbitrary<RequestMessage>> {
  const arbs: Record<string, fc.Arbitrary<RequestMessage>> = {
    STARTUP: rec({ opcode: fc.constant(Opcode.STARTUP as const), options: stringMap() }),
    AUTH_RESPONSE: rec({ opcode: fc.constant(Opcode.AUTH_RESPONSE as const), token: fc.option(buffer(), { nil: null }) }),
    OPTIONS: fc.constant({ opcode: Opcode.OPTIONS as const }),
    QUERY: rec({ opcode: fc.constant(Opcode.QUERY as const), query: text(40), params: queryParameters(v) }),
    PREPARE: hasKeyspace(v)
      ? rec(
          { opcode: fc.constant(Opcode.PREPARE as const), query: text(40), keyspace: text() },
          { requiredKeys: ['opcode', 'query'] },
        )
      : rec({ opcode: fc.constant(Opcode.PREPARE as const), query: text(40) }),
    EXECUTE: hasKeyspace(v)
      ? rec({
          opcode: fc.constant(Opcode.EXECUTE as const),
          id: buffer(16),
          resultMetadataId: buffer(16),
          params: queryParameters(v),
        })
      : rec({ opcode: fc.constant(Opcode.EXECUTE as const), id: buffer(16), params: queryParameters(v) }),
    BATCH: batch(v),
    REGISTER: rec({ opcode: fc.constant(Opcode.REGISTER as const), eventTypes: fc.array(text(), { maxLength: 4 }) }),
  };
  if (isDse(v)) {
    // Canonical decoded form: the raw body plus the fields parsed from it.
    arbs.REVISE_REQUEST = fc
      .oneof(
        fc.tuple(fc.constant(1), int32()).map(([t, s]) => ({ t, s, n: undefined as number | undefined })),
        fc.tuple(fc.constant(2), int32(), int32()).map(([t, s, n]) => ({ t, s, n: n as number | undefined })),
      )
      .map(({ t, s, n }) => {
        const body = Buffer.alloc(n === undefined ? 8 : 12);
        body.writeInt32BE(t, 0);
        body.writeInt32BE(s, 4);
        if (n !== undefined) body.writeInt32BE(n, 8);
        const msg: RequestMessage = { opcode: Opcode.REVISE_REQUEST, body, revisionType: t, targetStreamId: s };
        if (n !== undefined) msg.nextPages = n;
        return msg;
      });
  }
  return arbs;
}

export function anyRequest(v: ProtocolVersion): fc.Arbitrary<RequestMessage> {
  return fc.oneof(...Object.values(requestArbitraries(v)));
}

export const anyVersion = () => fc.constantFrom(V2, V3, V4, V5, DSE_V1, DSE_V2);

/** Stream ids valid for the version (v2: signed byte; later: signed short, requests non-negative). */
export function streamId(v: ProtocolVersion): fc.Arbitrary<number> {
  return v === V2 ? fc.integer({ min: 0, max: 127 }) : fc.integer({ min: 0, max: 32767 });
}

export type { Message };
