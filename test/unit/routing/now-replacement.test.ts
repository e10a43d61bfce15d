import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Consistency,
  HeaderFlag,
  Opcode,
  ProtocolVersion,
  ResultKind,
  BatchType,
  versionName,
} from '../../../src/protocol/constants';
import type { RawFrame } from '../../../src/protocol/frame';
import { decodeFrame, encodeFrame, type Frame } from '../../../src/protocol/frame-codec';
import { bodyCodec, getCompressor, type BodyCodec, type BodyCompressor } from '../../../src/protocol/compression';
import type { Message } from '../../../src/protocol/messages';
import type { Batch, BatchChild } from '../../../src/protocol/messages/batch';
import type { Execute } from '../../../src/protocol/messages/execute';
import type { Prepare } from '../../../src/protocol/messages/prepare';
import type { Query } from '../../../src/protocol/messages/query';
import type { QueryParameters } from '../../../src/protocol/messages/query-parameters';
import type { PreparedResult } from '../../../src/protocol/messages/result';
import type { ColumnSpec, PreparedMetadata } from '../../../src/protocol/messages/result-metadata';
import { UNSET, type Value } from '../../../src/protocol/primitives';
import { DataTypes, makeTimeUuid, timeUuidTimestamp, uuidToString, type DataType } from '../../../src/protocol/values';
import { inspect } from '../../../src/cql/inspector';
import {
  NowReplacementError,
  addGeneratedValues,
  completePrepare,
  generatedVariableIndices,
  hideGeneratedVariables,
  hidePreparedReply,
  needsNowReplacement,
  preparedVariables,
  rewriteBatchFrame,
  rewritePrepareFrame,
  rewriteQueryFrame,
  type NowPrepareReplacement,
  type PreparedNowState,
} from '../../../src/routing/now-replacement';

const { V2, V3, V4, V5, DSE_V1, DSE_V2 } = ProtocolVersion;
const VERSIONS = [V3, V4, V5, DSE_V1, DSE_V2];
/** Versions whose frame bodies can be compressed (v5 compresses segments instead). */
const COMPRESSIBLE = [V3, V4, DSE_V1, DSE_V2];
const lz4 = getCompressor('lz4')!;
const snappy = getCompressor('snappy')!;
const hasMetadataId = (v: ProtocolVersion) => v === V5 || v === DSE_V2;
const hasPk = (v: ProtocolVersion) => v !== V2 && v !== V3;

/** Deterministic generator: distinct, increasing version-1 uuids. */
function sequence(start = 0x1ec418800000000n) {
  let t = start;
  const node = Buffer.from([1, 2, 3, 4, 5, 6]);
  return () => makeTimeUuid(t++, 7, node);
}
const u = (b: Buffer | Value) => uuidToString(b as Buffer);

function request<M extends Message>(
  version: ProtocolVersion,
  message: M,
  compressor?: BodyCompressor,
  extra: Partial<Frame> = {},
): RawFrame {
  return encodeFrame({ version, isResponse: false, streamId: 42, flags: 0, message, ...extra }, compressor);
}
function decoded<M extends Message>(raw: RawFrame, compressor?: BodyCompressor): Frame<M> {
  return decodeFrame(raw, compressor) as Frame<M>;
}
function params(version: ProtocolVersion, p: Partial<QueryParameters> = {}): QueryParameters {
  const out: QueryParameters = { consistency: Consistency.LOCAL_QUORUM, ...p };
  if (hasMetadataId(version) && !('keyspace' in p)) out.keyspace = 'ks';
  return out;
}
function col(name: string, type: DataType = DataTypes.int): ColumnSpec {
  return { keyspace: 'ks', table: 't', name, type };
}
function queryFrame(version: ProtocolVersion, cql: string, compressor?: BodyCompressor, extra: Partial<Frame> = {}): RawFrame {
  return request<Query>(
    version,
    { opcode: Opcode.QUERY, query: cql, params: params(version, { pageSize: 100 }) },
    compressor,
    extra,
  );
}
function preparedReply(version: ProtocolVersion, variables: PreparedMetadata, compressor?: BodyCompressor): RawFrame {
  const message: PreparedResult = {
    opcode: Opcode.RESULT,
    kind: ResultKind.PREPARED,
    id: Buffer.from('0123456789abcdef'),
    variables,
    resultMetadata: { columnCount: 0, columns: [] },
  };
  if (hasMetadataId(version)) message.resultMetadataId = Buffer.from('rmid');
  return encodeFrame({ version, isResponse: true, streamId: 9, flags: 0, message }, compressor);
}
function executeFrame(version: ProtocolVersion, p: Partial<QueryParameters>, compressor?: BodyCompressor): RawFrame {
  const msg: Execute = { opcode: Opcode.EXECUTE, id: Buffer.from('origin-id'), params: params(version, p) };
  if (hasMetadataId(version)) msg.resultMetadataId = Buffer.from('rmid');
  return request(version, msg, compressor);
}
const UUID_RE = '[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
/** every v1 uuid literal (global: for String.match only) */
const UUID_LITERAL = new RegExp(UUID_RE, 'g');
const ONE_UUID = new RegExp(`^INSERT INTO ks\\.t \\(k\\) VALUES \\(${UUID_RE}\\)$`);

// ---- decisions ---------------------------------------------------------------------------------

test('needsNowReplacement: pinned functions in any position of a write, never in reads', () => {
  assert.equal(needsNowReplacement(inspect('INSERT INTO ks.t (k, v) VALUES (now(), 1)')), true);
  assert.equal(needsNowReplacement(inspect('UPDATE ks.t SET v = 1 WHERE k = system.now()')), true);
  assert.equal(needsNowReplacement(inspect('BEGIN BATCH INSERT INTO ks.t (k) VALUES (now()) APPLY BATCH')), true);
  assert.equal(needsNowReplacement(inspect('INSERT INTO ks.t (k, v) VALUES (?, ?)')), false);
  // beyond upstream: compositions and other non-deterministic functions are pinned too
  assert.equal(needsNowReplacement(inspect('INSERT INTO ks.t (k, ts) VALUES (1, toTimestamp(now()))')), true);
  assert.equal(needsNowReplacement(inspect('UPDATE ks.t SET l = l + [uuid()] WHERE k = 1')), true);
  assert.equal(needsNowReplacement(inspect('SELECT * FROM ks.t WHERE k = now()')), false);
});

test('generatedVariableIndices: text order over positional and named markers', () => {
  assert.deepEqual(generatedVariableIndices(inspect('INSERT INTO ks.t (a, b, c) VALUES (?, now(), ?)')), [1]);
  assert.deepEqual(generatedVariableIndices(inspect('INSERT INTO ks.t (a, b) VALUES (?, now())')), [1]);
  assert.deepEqual(generatedVariableIndices(inspect('INSERT INTO ks.t (a, b, c) VALUES (now(), ?, now())')), [0, 2]);
  assert.deepEqual(
    generatedVariableIndices(inspect('UPDATE ks.t USING TTL :ttl SET v = :v, w = now() WHERE k = now() AND c = :c')),
    [2, 3],
  );
  assert.deepEqual(
    generatedVariableIndices(inspect('UPDATE ks.t SET f[now()] = ? WHERE k IN (?, now(), 2) AND c = ? IF g IN (now(), ?)')),
    [0, 3, 5],
  );
  assert.deepEqual(
    generatedVariableIndices(
      inspect(
        'BEGIN BATCH USING TIMESTAMP ? INSERT INTO ks.t (a, b) VALUES (?, now()); UPDATE ks.t SET v = now() WHERE k = ? APPLY BATCH',
      ),
    ),
    [2, 3],
  );
});

// ---- QUERY -------------------------------------------------------------------------------------

test('rewriteQueryFrame: each now() becomes its own literal, parameters and header kept (every version)', () => {
  for (const v of [V2, ...VERSIONS]) {
    const gen = sequence();
    const cql = "INSERT INTO ks.t (k, c, v, é) VALUES (now(), (timeuuid) now(), 'now()', 'ü') USING TTL 10";
    const extra: Partial<Frame> = v === V2 || v === V3 ? {} : { customPayload: { k: Buffer.from([1]) } };
    const raw = queryFrame(v, cql, undefined, extra);
    const out = rewriteQueryFrame(raw, inspect(cql), { generate: gen })!;
    const expected = sequence();
    const a = uuidToString(expected());
    const b = uuidToString(expected());
    assert.notEqual(a, b);
    const f = decoded<Query>(out);
    assert.equal(
      f.message.query,
      `INSERT INTO ks.t (k, c, v, é) VALUES (${a}, (timeuuid) ${b}, 'now()', 'ü') USING TTL 10`,
      versionName(v),
    );
    assert.deepEqual(f.message.params, decoded<Query>(raw).message.params);
    assert.equal(out.streamId, 42);
    assert.equal(out.version, v);
    assert.equal(out.opcode, Opcode.QUERY);
    assert.deepEqual(f.customPayload, decoded<Query>(raw).customPayload);
  }
});

test('rewriteQueryFrame: nothing to replace -> undefined; default generator makes fresh v1 uuids', () => {
  const cql = 'INSERT INTO ks.t (k) VALUES (1)';
  assert.equal(rewriteQueryFrame(queryFrame(V4, cql), inspect(cql)), undefined);
  const before = Date.now();
  const q = 'UPDATE ks.t SET v = now() WHERE k = now() IF c = now()';
  const out = decoded<Query>(rewriteQueryFrame(queryFrame(V4, q), inspect(q))!).message.query;
  const found = out.match(UUID_LITERAL)!;
  assert.equal(found.length, 3);
  assert.equal(new Set(found).size, 3, 'every call site gets its own value');
  for (const s of found) {
    assert.ok(timeUuidTimestamp(s) >= before && timeUuidTimestamp(s) <= Date.now());
  }
  assert.match(out, /^UPDATE ks\.t SET v = \S+ WHERE k = \S+ IF c = \S+$/);
});

test('rewriteQueryFrame: text BATCH statement and DELETE element selector', () => {
  const cql = 'BEGIN BATCH INSERT INTO ks.t (k, v) VALUES (now(), 1); DELETE m[now()] FROM ks.t WHERE k = now(); APPLY BATCH';
  const gen = sequence();
  const out = decoded<Query>(rewriteQueryFrame(queryFrame(V4, cql), inspect(cql), { generate: gen })!).message.query;
  const e = sequence();
  const [a, b, c] = [e(), e(), e()].map(uuidToString);
  assert.equal(out, `BEGIN BATCH INSERT INTO ks.t (k, v) VALUES (${a}, 1); DELETE m[${b}] FROM ks.t WHERE k = ${c}; APPLY BATCH`);
});

test('rewriteQueryFrame: compressed frames (LZ4, Snappy) come back compressed with the new text', () => {
  const cql = 'INSERT INTO ks.t (k, v) VALUES (now(), now())';
  for (const comp of [lz4, snappy]) {
    for (const v of COMPRESSIBLE) {
      const raw = queryFrame(v, cql, comp);
      assert.ok(raw.isCompressed);
      const out = rewriteQueryFrame(raw, inspect(cql), { compressor: bodyCodec(comp, v, 1 << 20), generate: sequence() })!;
      assert.ok(out.isCompressed, `${comp.name} ${versionName(v)}`);
      assert.equal(decoded<Query>(out, comp).message.query.match(UUID_LITERAL)!.length, 2);
    }
  }
  // a hand-made codec (compress(body) / decompress(body)) fits too
  const codec: BodyCodec = { compress: (b) => lz4.compress(b, V4), decompress: (b) => lz4.decompress(b, V4, 1 << 20) };
  const out = rewriteQueryFrame(queryFrame(V4, cql, lz4), inspect(cql), { compressor: codec })!;
  assert.equal(decoded<Query>(out, lz4).message.query.match(UUID_LITERAL)!.length, 2);
  assert.throws(() => rewriteQueryFrame(queryFrame(V4, cql, lz4), inspect(cql)), NowReplacementError);
});

test('rewriteQueryFrame: refuses another opcode or statement info of another text', () => {
  const cql = 'INSERT INTO ks.t (k) VALUES (now())';
  assert.throws(() => rewriteQueryFrame(executeFrame(V4, {}), inspect(cql)), NowReplacementError);
  assert.throws(
    () =>
      rewriteQueryFrame(
        queryFrame(V4, 'INSERT INTO ks.t (k) VALUES (1)'),
        inspect('INSERT INTO ks.t (kkkkkkkkk) VALUES (now())'),
      ),
    NowReplacementError,
  );
});

// ---- PREPARE -----------------------------------------------------------------------------------

test('rewritePrepareFrame: positional and named markers, keyspace field kept (every version)', () => {
  for (const v of [V2, ...VERSIONS]) {
    const ks = hasMetadataId(v) ? { keyspace: 'ks2' } : {};
    const p1 = 'INSERT INTO ks.t (a, b, c) VALUES (?, now(), ?)';
    const r1 = rewritePrepareFrame(request<Prepare>(v, { opcode: Opcode.PREPARE, query: p1, ...ks }), inspect(p1))!;
    const f1 = decoded<Prepare>(r1.frame);
    assert.equal(f1.message.query, 'INSERT INTO ks.t (a, b, c) VALUES (?, ?, ?)', versionName(v));
    assert.equal(f1.message.keyspace, ks.keyspace);
    assert.deepEqual(r1.replacement, { markers: 'positional', generatedIndices: [1], functions: ['now'] });

    const p2 = 'UPDATE ks.t SET v = :v, w = now() WHERE k = :k AND c = now()';
    const r2 = rewritePrepareFrame(request<Prepare>(v, { opcode: Opcode.PREPARE, query: p2, ...ks }), inspect(p2))!;
    assert.equal(
      decoded<Prepare>(r2.frame).message.query,
      'UPDATE ks.t SET v = :v, w = :zdm__now WHERE k = :k AND c = :zdm__now',
    );
    assert.deepEqual(r2.replacement, { markers: 'named', generatedIndices: [1, 3], functions: ['now', 'now'] });
  }
});

test('rewritePrepareFrame: last variable, text batch, compression, nothing to do', () => {
  const p = 'INSERT INTO ks.t (a, b) VALUES (?, now())';
  const r = rewritePrepareFrame(request<Prepare>(V4, { opcode: Opcode.PREPARE, query: p }, lz4), inspect(p), {
    compressor: bodyCodec(lz4, V4, 1 << 20),
  })!;
  assert.ok(r.frame.isCompressed);
  assert.equal(decoded<Prepare>(r.frame, lz4).message.query, 'INSERT INTO ks.t (a, b) VALUES (?, ?)');
  assert.deepEqual(r.replacement.generatedIndices, [1]);
  const b = 'BEGIN BATCH INSERT INTO ks.t (a, b) VALUES (?, now()) UPDATE ks.t SET v = ? WHERE k = now() APPLY BATCH';
  const rb = rewritePrepareFrame(request<Prepare>(V4, { opcode: Opcode.PREPARE, query: b }), inspect(b))!;
  assert.equal(
    decoded<Prepare>(rb.frame).message.query,
    'BEGIN BATCH INSERT INTO ks.t (a, b) VALUES (?, ?) UPDATE ks.t SET v = ? WHERE k = ? APPLY BATCH',
  );
  assert.deepEqual(rb.replacement.generatedIndices, [1, 3]);
  const none = 'INSERT INTO ks.t (a) VALUES (?)';
  assert.equal(rewritePrepareFrame(request<Prepare>(V4, { opcode: Opcode.PREPARE, query: none }), inspect(none)), undefined);
});

// ---- PREPARED reply ----------------------------------------------------------------------------

const positional = (...g: number[]): NowPrepareReplacement => ({ markers: 'positional', generatedIndices: g });
const named = (...g: number[]): NowPrepareReplacement => ({ markers: 'named', generatedIndices: g });

test('hideGeneratedVariables: columns removed, pk indices renumbered, the last variable hidden too', () => {
  // INSERT INTO t (c, now_col, k) VALUES (?, now(), ?) with pk k at index 2
  const vars: PreparedMetadata = { pkIndices: [2], columns: [col('c'), col('x', DataTypes.timeuuid), col('k')] };
  assert.deepEqual(hideGeneratedVariables(vars, positional(1)), { pkIndices: [1], columns: [col('c'), col('k')] });
  // upstream bug: INSERT ... VALUES (?, now()) must show ONE variable
  const last: PreparedMetadata = { pkIndices: [0], columns: [col('k'), col('x', DataTypes.timeuuid)] };
  assert.deepEqual(hideGeneratedVariables(last, positional(1)), { pkIndices: [0], columns: [col('k')] });
  // two generated, pk after both and between
  const two: PreparedMetadata = {
    pkIndices: [3, 1],
    columns: [col('a', DataTypes.uuid), col('k1'), col('b', DataTypes.timeuuid), col('k2')],
  };
  assert.deepEqual(hideGeneratedVariables(two, positional(0, 2)), { pkIndices: [1, 0], columns: [col('k1'), col('k2')] });
  // a partition key column is itself generated: no pk indices for the client
  const pkGen: PreparedMetadata = { pkIndices: [0, 1], columns: [col('k', DataTypes.timeuuid), col('k2'), col('v')] };
  assert.deepEqual(hideGeneratedVariables(pkGen, positional(0)), { pkIndices: [], columns: [col('k2'), col('v')] });
  // named: the zdm__now variables
  const nv: PreparedMetadata = { pkIndices: [2], columns: [col('v'), col('zdm__now', DataTypes.timeuuid), col('k')] };
  assert.deepEqual(hideGeneratedVariables(nv, named(1)), { pkIndices: [1], columns: [col('v'), col('k')] });
  assert.throws(() => hideGeneratedVariables(nv, named(0)), NowReplacementError);
  assert.throws(() => hideGeneratedVariables(last, positional(2)), NowReplacementError);
});

test('hidePreparedReply: the client sees its own variables only (every version), ids kept, full metadata returned', () => {
  for (const v of VERSIONS) {
    const vars: PreparedMetadata = {
      pkIndices: hasPk(v) ? [0, 3] : [],
      columns: [col('k'), col('t', DataTypes.timeuuid), col('v', DataTypes.text), col('c'), col('u', DataTypes.uuid)],
    };
    const raw = preparedReply(v, vars);
    const out = hidePreparedReply(raw, positional(1, 4))!;
    const f = decoded<Message>(out.frame);
    const msg = f.message as PreparedResult;
    assert.equal(msg.kind, ResultKind.PREPARED);
    assert.deepEqual(msg.id, Buffer.from('0123456789abcdef'));
    if (hasMetadataId(v)) assert.deepEqual(msg.resultMetadataId, Buffer.from('rmid'));
    assert.deepEqual(
      msg.variables.columns.map((c) => c.name),
      ['k', 'v', 'c'],
      versionName(v),
    );
    assert.deepEqual(msg.variables.pkIndices, hasPk(v) ? [0, 2] : []);
    assert.deepEqual(out.variables, (decoded<Message>(raw).message as PreparedResult).variables);
    assert.deepEqual(preparedVariables(raw), out.variables);
    assert.equal(out.frame.streamId, 9);
    assert.ok(out.frame.header.isResponse);
  }
});

test('hidePreparedReply: compressed reply, non-PREPARED reply untouched, mismatched metadata refused', () => {
  for (const v of COMPRESSIBLE) {
    const raw = preparedReply(v, { pkIndices: [], columns: [col('k'), col('t', DataTypes.timeuuid)] }, lz4);
    const out = hidePreparedReply(raw, positional(1), { compressor: bodyCodec(lz4, v, 1 << 20) })!;
    assert.ok(out.frame.isCompressed);
    assert.deepEqual((decoded<Message>(out.frame, lz4).message as PreparedResult).variables.columns, [col('k')]);
  }
  const voidReply = encodeFrame({
    version: V4,
    isResponse: true,
    streamId: 1,
    flags: 0,
    message: { opcode: Opcode.RESULT, kind: ResultKind.VOID },
  });
  assert.equal(hidePreparedReply(voidReply, positional(0)), undefined);
  assert.equal(preparedVariables(voidReply), undefined);
  assert.throws(
    () => hidePreparedReply(preparedReply(V4, { pkIndices: [], columns: [col('k')] }), positional(1)),
    NowReplacementError,
  );
});

test('completePrepare: client reply from ORIGIN without generated variables, state with both full metadata', () => {
  for (const v of VERSIONS) {
    const p = 'INSERT INTO ks.t (k, t) VALUES (?, now())';
    const info = inspect(p);
    const { replacement } = rewritePrepareFrame(request<Prepare>(v, { opcode: Opcode.PREPARE, query: p }), info)!;
    const originVars: PreparedMetadata = { pkIndices: hasPk(v) ? [0] : [], columns: [col('k'), col('t', DataTypes.timeuuid)] };
    const targetVars: PreparedMetadata = { pkIndices: hasPk(v) ? [0] : [], columns: [col('k'), col('t', DataTypes.uuid)] };
    const done = completePrepare(preparedReply(v, originVars), preparedReply(v, targetVars), replacement)!;
    const client = decoded<Message>(done.clientFrame).message as PreparedResult;
    assert.deepEqual(client.variables, { pkIndices: hasPk(v) ? [0] : [], columns: [col('k')] }, versionName(v));
    assert.deepEqual(done.state, { replacement, originVariables: originVars, targetVariables: targetVars });
    // the stored state drives EXECUTE: the client sends 1 value, each cluster gets 2
    const out = addGeneratedValues(executeFrame(v, { values: [pos('K')] }), done.state, { generate: sequence() });
    assert.deepEqual(decoded<Execute>(out.target).message.params.values, [pos('K'), sequence()()]);
  }
  const voidReply = encodeFrame({
    version: V4,
    isResponse: true,
    streamId: 1,
    flags: 0,
    message: { opcode: Opcode.RESULT, kind: ResultKind.VOID },
  });
  const ok = preparedReply(V4, { pkIndices: [], columns: [col('k'), col('t', DataTypes.timeuuid)] });
  assert.equal(completePrepare(ok, voidReply, positional(1)), undefined);
  assert.equal(completePrepare(voidReply, ok, positional(1)), undefined);
  assert.throws(
    () => completePrepare(ok, preparedReply(V4, { pkIndices: [], columns: [col('k')] }), positional(1)),
    /TARGET PREPARED result has 1/,
  );
});

// ---- EXECUTE -----------------------------------------------------------------------------------

const pos = (id: string) => Buffer.from(id);

function state(r: NowPrepareReplacement, columns: ColumnSpec[], targetColumns = columns): PreparedNowState {
  return {
    replacement: r,
    originVariables: { pkIndices: [], columns },
    targetVariables: { pkIndices: [], columns: targetColumns },
  };
}

test('addGeneratedValues: positional values spliced at the generated positions, same values for both clusters (every version)', () => {
  for (const v of VERSIONS) {
    // INSERT INTO t (a, b, c, d) VALUES (now(), ?, now(), ?) -> 4 variables, client sends 2
    const st = state(
      positional(0, 2),
      [col('a', DataTypes.timeuuid), col('b'), col('c', DataTypes.uuid), col('d')],
      [col('a', DataTypes.uuid), col('b'), col('c', DataTypes.timeuuid), col('d')],
    );
    const raw = executeFrame(v, {
      values: [pos('B'), null],
      serialConsistency: Consistency.LOCAL_SERIAL,
      defaultTimestamp: 123n,
    });
    const out = addGeneratedValues(raw, st, { generate: sequence(), targetId: Buffer.from('target-id') });
    const e = sequence();
    const [g0, g1] = [e(), e()];
    assert.deepEqual(out.generated, [g0, g1]);
    assert.notDeepEqual(g0, g1);
    const o = decoded<Execute>(out.origin).message;
    const t = decoded<Execute>(out.target).message;
    assert.deepEqual(o.params.values, [g0, pos('B'), g1, null], versionName(v));
    assert.deepEqual(t.params.values, o.params.values, 'TARGET gets the same generated values');
    assert.deepEqual(o.id, Buffer.from('origin-id'));
    assert.deepEqual(t.id, Buffer.from('target-id'));
    if (hasMetadataId(v)) {
      assert.deepEqual(o.resultMetadataId, Buffer.from('rmid'));
      assert.deepEqual(t.resultMetadataId, Buffer.from('rmid'));
    }
    const { values: _ov, ...oRest } = o.params;
    const { values: _rv, ...rawRest } = decoded<Execute>(raw).message.params;
    assert.deepEqual(oRest, rawRest, 'other parameters unchanged');
    assert.notEqual(out.origin, out.target);
    assert.equal(out.origin.streamId, 42);
  }
});

test('addGeneratedValues: the last variable, no client values at all, unset values', () => {
  // INSERT ... VALUES (?, now()): client sends 1 value
  const st = state(positional(1), [col('k'), col('t', DataTypes.timeuuid)]);
  const out = addGeneratedValues(executeFrame(V4, { values: [UNSET] }), st, { generate: sequence() });
  assert.deepEqual(decoded<Execute>(out.origin).message.params.values, [UNSET, sequence()()]);
  // INSERT ... VALUES (1, now()): the client sends no values (no VALUES flag)
  const only = state(positional(0), [col('t', DataTypes.timeuuid)]);
  const out2 = addGeneratedValues(executeFrame(V3, {}), only, { generate: sequence() });
  assert.deepEqual(decoded<Execute>(out2.origin).message.params.values, [sequence()()]);
  assert.deepEqual(decoded<Execute>(out2.target).message.params.values, [sequence()()]);
  assert.deepEqual(decoded<Execute>(out2.target).message.id, Buffer.from('origin-id'), 'no targetId: same id');
});

test('addGeneratedValues: named values get one zdm__now, client names kept (v3+)', () => {
  for (const v of VERSIONS) {
    const st = state(named(1, 3), [col('v'), col('zdm__now', DataTypes.timeuuid), col('k'), col('zdm__now', DataTypes.timeuuid)]);
    const raw = executeFrame(v, {
      namedValues: [
        { name: 'k', value: pos('K') },
        { name: 'v', value: pos('V') },
      ],
    });
    const out = addGeneratedValues(raw, st, { generate: sequence() });
    const g0 = sequence()();
    assert.deepEqual(out.generated, [g0], 'one value for every zdm__now occurrence');
    for (const f of [out.origin, out.target]) {
      assert.deepEqual(
        decoded<Execute>(f).message.params.namedValues,
        [
          { name: 'k', value: pos('K') },
          { name: 'v', value: pos('V') },
          { name: 'zdm__now', value: g0 },
        ],
        versionName(v),
      );
    }
    // an application-supplied zdm__now is kept (upstream)
    const own = addGeneratedValues(
      executeFrame(v, {
        namedValues: [
          { name: 'zdm__now', value: pos('mine') },
          { name: 'v', value: null },
          { name: 'k', value: null },
        ],
      }),
      st,
    );
    assert.deepEqual(
      decoded<Execute>(own.origin).message.params.namedValues!.map((n) => n.name),
      ['zdm__now', 'v', 'k'],
    );
  }
});

test('addGeneratedValues: positional values for a statement with named markers walk the metadata', () => {
  // UPDATE t SET v = :v, w = now() WHERE k = :k AND c = now() -> [v, zdm__now, k, zdm__now]
  const st = state(named(1, 3), [col('v'), col('zdm__now', DataTypes.timeuuid), col('k'), col('zdm__now', DataTypes.timeuuid)]);
  const out = addGeneratedValues(executeFrame(V4, { values: [pos('V'), pos('K')] }), st, { generate: sequence() });
  const e = sequence();
  const [g0, g1] = [e(), e()];
  assert.deepEqual(decoded<Execute>(out.origin).message.params.values, [pos('V'), g0, pos('K'), g1]);
  assert.deepEqual(decoded<Execute>(out.target).message.params.values, [pos('V'), g0, pos('K'), g1]);
});

test("addGeneratedValues: named values for `?` markers use the variables' column names", () => {
  const st = state(positional(0), [col('id', DataTypes.timeuuid), col('v')]);
  const out = addGeneratedValues(executeFrame(V4, { namedValues: [{ name: 'v', value: pos('V') }] }), st, {
    generate: sequence(),
  });
  assert.deepEqual(decoded<Execute>(out.origin).message.params.namedValues, [
    { name: 'v', value: pos('V') },
    { name: 'id', value: sequence()() },
  ]);
  // the client's own name also binds the generated variable: refused
  const clash = state(positional(1), [col('id'), col('id', DataTypes.timeuuid)]);
  assert.throws(
    () => addGeneratedValues(executeFrame(V4, { namedValues: [{ name: 'id', value: pos('x') }] }), clash),
    NowReplacementError,
  );
});

test('addGeneratedValues: wrong value count, non-uuid variable type, wrong opcode -> NowReplacementError', () => {
  const st = state(positional(1), [col('k'), col('t', DataTypes.timeuuid), col('v')]);
  assert.throws(
    () => addGeneratedValues(executeFrame(V4, { values: [pos('K')] }), st),
    /carries 1 value\(s\) but the prepared statement has 2/,
  );
  assert.throws(() => addGeneratedValues(executeFrame(V4, { values: [pos('K'), pos('V'), pos('X')] }), st), NowReplacementError);
  const text = state(positional(1), [col('k'), col('t', DataTypes.text)]);
  assert.throws(() => addGeneratedValues(executeFrame(V4, { values: [pos('K')] }), text), /of type varchar/);
  const mismatched = state(positional(2), [col('k'), col('t', DataTypes.timeuuid)]);
  assert.throws(() => addGeneratedValues(executeFrame(V4, { values: [pos('K')] }), mismatched), NowReplacementError);
  assert.throws(() => addGeneratedValues(queryFrame(V4, 'x'), st), NowReplacementError);
});

test('addGeneratedValues: compressed EXECUTE, default generator values are fresh v1 uuids', () => {
  const st = state(positional(0, 1), [col('a', DataTypes.timeuuid), col('b', DataTypes.timeuuid)]);
  const before = Date.now();
  for (const v of COMPRESSIBLE) {
    const out = addGeneratedValues(executeFrame(v, {}, lz4), st, {
      compressor: bodyCodec(lz4, v, 1 << 20),
      targetId: Buffer.from('tid'),
    });
    assert.ok(out.origin.isCompressed && out.target.isCompressed);
    const o = decoded<Execute>(out.origin, lz4).message;
    const t = decoded<Execute>(out.target, lz4).message;
    assert.deepEqual(t.id, Buffer.from('tid'));
    assert.deepEqual(o.params.values, t.params.values);
    const [a, b] = o.params.values as Buffer[];
    assert.notDeepEqual(a, b);
    for (const x of [a!, b!]) assert.ok(timeUuidTimestamp(x) >= before && timeUuidTimestamp(x) <= Date.now());
  }
});

// ---- BATCH -------------------------------------------------------------------------------------

function batchFrame(version: ProtocolVersion, children: BatchChild[], compressor?: BodyCompressor): RawFrame {
  const msg: Batch = { opcode: Opcode.BATCH, type: BatchType.LOGGED, children, consistency: Consistency.QUORUM };
  if (version !== V2) msg.defaultTimestamp = 77n;
  return request(version, msg, compressor);
}

test('rewriteBatchFrame: text children get literals, prepared children get values, TARGET ids (every version)', () => {
  for (const v of [V2, ...VERSIONS]) {
    const p1 = Buffer.from('p1');
    const p2 = Buffer.from('p2');
    const p3 = Buffer.from('p3');
    const now1 = state(positional(1), [col('k'), col('t', DataTypes.timeuuid)]);
    const now3 = state(named(0), [col('zdm__now', DataTypes.uuid), col('v')]);
    const lookup = new Map([
      ['p1', { targetId: Buffer.from('T1'), now: now1 }],
      ['p2', { targetId: Buffer.from('T2') }],
      ['p3', { targetId: Buffer.from('T3'), now: now3 }],
    ]);
    const children: BatchChild[] = [
      { kind: 'query', query: 'INSERT INTO ks.t (k, a, b) VALUES (?, now(), now())', values: [pos('q')] },
      { kind: 'prepared', id: p1, values: [pos('k1')] },
      { kind: 'prepared', id: p2, values: [pos('x'), null] },
      { kind: 'query', query: 'UPDATE ks.t SET v = 1 WHERE k = 2', values: [] },
      { kind: 'prepared', id: p3, values: [pos('v3')] },
    ];
    const out = rewriteBatchFrame(batchFrame(v, children), (id) => lookup.get(id.toString()), { generate: sequence() })!;
    const e = sequence();
    const g = [e(), e(), e(), e()];
    assert.deepEqual(out.generated, g);
    const o = decoded<Batch>(out.origin).message;
    const t = decoded<Batch>(out.target).message;
    const text = `INSERT INTO ks.t (k, a, b) VALUES (?, ${u(g[0]!)}, ${u(g[1]!)})`;
    assert.deepEqual(
      o.children,
      [
        { kind: 'query', query: text, values: [pos('q')] },
        { kind: 'prepared', id: p1, values: [pos('k1'), g[2]] },
        { kind: 'prepared', id: p2, values: [pos('x'), null] },
        { kind: 'query', query: 'UPDATE ks.t SET v = 1 WHERE k = 2', values: [] },
        { kind: 'prepared', id: p3, values: [g[3], pos('v3')] },
      ],
      versionName(v),
    );
    assert.deepEqual(t.children, [
      { kind: 'query', query: text, values: [pos('q')] },
      { kind: 'prepared', id: Buffer.from('T1'), values: [pos('k1'), g[2]] },
      { kind: 'prepared', id: Buffer.from('T2'), values: [pos('x'), null] },
      { kind: 'query', query: 'UPDATE ks.t SET v = 1 WHERE k = 2', values: [] },
      { kind: 'prepared', id: Buffer.from('T3'), values: [g[3], pos('v3')] },
    ]);
    assert.equal(o.consistency, Consistency.QUORUM);
    assert.equal(o.defaultTimestamp, v === V2 ? undefined : 77n);
    assert.equal(t.defaultTimestamp, o.defaultTimestamp);
  }
});

test('rewriteBatchFrame: nothing to replace -> undefined; compressed; bad value count refused', () => {
  const plain: BatchChild[] = [
    { kind: 'query', query: 'INSERT INTO ks.t (k) VALUES (1)', values: [] },
    { kind: 'prepared', id: Buffer.from('p'), values: [] },
  ];
  assert.equal(
    rewriteBatchFrame(batchFrame(V4, plain), () => ({ targetId: Buffer.from('T') })),
    undefined,
  );
  assert.equal(
    rewriteBatchFrame(batchFrame(V4, []), () => undefined),
    undefined,
    'empty batch',
  );
  const children: BatchChild[] = [
    { kind: 'query', query: 'INSERT INTO ks.t (k) VALUES (now())', values: [] },
    { kind: 'prepared', id: Buffer.from('p'), values: [] },
  ];
  for (const v of COMPRESSIBLE) {
    const out = rewriteBatchFrame(batchFrame(v, children, lz4), () => undefined, { compressor: bodyCodec(lz4, v, 1 << 20) })!;
    assert.ok(out.origin.isCompressed && out.target.isCompressed);
    const o = decoded<Batch>(out.origin, lz4).message;
    assert.match((o.children[0] as { query: string }).query, ONE_UUID);
    assert.deepEqual(decoded<Batch>(out.target, lz4).message.children, o.children, 'unknown ids stay as sent');
  }
  const st = state(positional(0), [col('t', DataTypes.timeuuid), col('v')]);
  assert.throws(
    () => rewriteBatchFrame(batchFrame(V4, [{ kind: 'prepared', id: Buffer.from('p'), values: [] }]), () => ({ now: st })),
    /BATCH statement 0 carries 0 value\(s\) but the prepared statement has 1/,
  );
});

// ---- properties --------------------------------------------------------------------------------

test('property: ORIGIN and TARGET copies hold the same timeuuids, distinct per call site, all versions', () => {
  const seen = new Set<string>();
  for (const v of VERSIONS) {
    for (let n = 1; n <= 5; n++) {
      // a statement with n generated variables interleaved with n client variables
      const columns: ColumnSpec[] = [];
      const gen: number[] = [];
      const values: Value[] = [];
      for (let i = 0; i < n; i++) {
        if ((i + n) % 2 === 0) {
          gen.push(columns.length);
          columns.push(col(`g${i}`, i % 2 ? DataTypes.uuid : DataTypes.timeuuid));
          columns.push(col(`c${i}`));
        } else {
          columns.push(col(`c${i}`));
          gen.push(columns.length);
          columns.push(col(`g${i}`, DataTypes.timeuuid));
        }
        values.push(Buffer.from([i]));
      }
      const st = state(positional(...gen), columns);
      const out = addGeneratedValues(executeFrame(v, { values }), st, { targetId: Buffer.from('other') });
      const o = decoded<Execute>(out.origin).message.params.values!;
      const t = decoded<Execute>(out.target).message.params.values!;
      assert.deepEqual(o, t);
      assert.deepEqual(
        gen.map((i) => o[i]),
        out.generated,
      );
      assert.deepEqual(
        o.filter((_, i) => !gen.includes(i)),
        values,
        'client values keep their order',
      );
      for (const g of out.generated) {
        assert.ok(!seen.has(g.toString('hex')), 'every generated value is new');
        seen.add(g.toString('hex'));
      }
      // the frames differ only in the prepared id
      const oBytes = out.origin.body;
      const tBytes = out.target.body;
      assert.equal(tBytes.length - oBytes.length, 'other'.length - 'origin-id'.length);
      assert.ok(oBytes.subarray(2 + 9).equals(tBytes.subarray(2 + 5)), versionName(v));
    }
  }
});

test('property: PREPARE rewrite + hidden reply agree with the inspector for many shapes', () => {
  const shapes = [
    'INSERT INTO ks.t (a, b) VALUES (?, now())',
    'INSERT INTO ks.t (a, b, c) VALUES (now(), ?, now())',
    'UPDATE ks.t USING TIMESTAMP ? AND TTL ? SET b[now()] = ? WHERE a IN (?, now(), ?) IF c = now()',
    'DELETE m[now()] FROM ks.t USING TIMESTAMP ? WHERE k = ? AND (c1, c2) IN ((now(), ?))',
    'UPDATE ks.t SET v = :v WHERE k = now() AND c IN (:c1, now())',
  ];
  for (const s of shapes) {
    const info = inspect(s);
    const r = rewritePrepareFrame(request<Prepare>(V4, { opcode: Opcode.PREPARE, query: s }), info)!;
    const text = decoded<Prepare>(r.frame).message.query;
    const rewritten = inspect(text);
    assert.equal(rewritten.nowCalls.length, 0, s);
    // the generated markers are exactly the markers at the generated positions of the rewritten text
    const markerTexts = rewritten.bindMarkers.map((m) => text.slice(m.start, m.end));
    const expectedMarker = info.hasNamedMarkers ? ':zdm__now' : '?';
    const gen = r.replacement.generatedIndices;
    assert.equal(markerTexts.length, info.bindMarkers.length + info.nowCalls.length);
    for (const g of gen) assert.equal(markerTexts[g], expectedMarker, s);
    const original = markerTexts.filter((_, i) => !gen.includes(i));
    assert.deepEqual(
      original,
      info.bindMarkers.map((m) => s.slice(m.start, m.end)),
    );
    // the client sees as many variables as the original text has markers
    const columns = markerTexts.map((m, i) =>
      col(
        gen.includes(i) ? (m === ':zdm__now' ? 'zdm__now' : `g${i}`) : `c${i}`,
        gen.includes(i) ? DataTypes.timeuuid : DataTypes.int,
      ),
    );
    assert.equal(hideGeneratedVariables({ pkIndices: [], columns }, r.replacement).columns.length, info.bindMarkers.length, s);
  }
});

test('wire flags: compression flag only when the input had it, custom payload flag kept', () => {
  const cql = 'INSERT INTO ks.t (k) VALUES (now())';
  const raw = queryFrame(V4, cql, undefined, { customPayload: { a: Buffer.from('b') } });
  const out = rewriteQueryFrame(raw, inspect(cql))!;
  assert.equal(out.flags & HeaderFlag.COMPRESSION, 0);
  assert.notEqual(out.flags & HeaderFlag.CUSTOM_PAYLOAD, 0);
  const traced = encodeFrame({
    version: V4,
    isResponse: false,
    streamId: 3,
    flags: HeaderFlag.TRACING,
    message: { opcode: Opcode.QUERY, query: cql, params: params(V4) } as Query,
  });
  assert.notEqual(rewriteQueryFrame(traced, inspect(cql))!.flags & HeaderFlag.TRACING, 0, 'tracing request flag kept');
});
