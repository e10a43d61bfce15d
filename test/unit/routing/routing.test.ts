import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode, ProtocolVersion, ErrorCode, ResultKind } from '../../../src/protocol/constants';
import { RawFrame } from '../../../src/protocol/frame';
import { Writer } from '../../../src/protocol/primitives';
import { getCompressor } from '../../../src/protocol/compression';
import { inspect } from '../../../src/cql/inspector';
import { forwardDecision } from '../../../src/cql/routing';
import { RoutingSettings } from '../../../src/routing/settings';
import { PreparedCache } from '../../../src/routing/prepared-cache';
import { peekBatch, plainBody, type BodyCodec } from '../../../src/protocol/request-codec';
import { routeRequest } from '../../../src/routing/request-router';
import { aggregate, buildSupportedOptions, chooseBothReply } from '../../../src/routing/response-aggregator';
import { errorBody, readUnpreparedId, readErrorMessage, readSupported } from '../../../src/protocol/replies';

const V4 = ProtocolVersion.V4;
const req = (opcode: number, body: Uint8Array, flags = 0, stream = 7): RawFrame =>
  RawFrame.fromParts({ version: V4, isResponse: false, flags, streamId: stream, opcode }, body);
const resp = (opcode: number, body: Uint8Array, stream = 7): RawFrame =>
  RawFrame.fromParts({ version: V4, isResponse: true, flags: 0, streamId: stream, opcode }, body);
const query = (q: string) => req(Opcode.QUERY, new Writer().writeLongString(q).writeShort(1).writeByte(0).finish());
const prepare = (q: string) => req(Opcode.PREPARE, new Writer().writeLongString(q).finish());
const execute = (id: Buffer) => req(Opcode.EXECUTE, new Writer().writeShortBytes(id).writeShort(1).writeByte(0).finish());
const id = (n: number) => Buffer.alloc(16, n);
const preparedResult = (pid: Buffer) =>
  resp(
    Opcode.RESULT,
    new Writer()
      .writeInt(ResultKind.PREPARED)
      .writeShortBytes(pid)
      .writeInt(0)
      .writeInt(0)
      .writeInt(0)
      .writeInt(4)
      .writeInt(0)
      .finish(),
  );
const voidResult = () => resp(Opcode.RESULT, new Writer().writeInt(ResultKind.VOID).finish());

function ctx(settings = new RoutingSettings(), cache = new PreparedCache(), keyspace = '', codec?: BodyCodec) {
  return { settings, cache, keyspace, codec };
}

function batch(children: ({ q: string } | { id: Buffer })[]): RawFrame {
  const w = new Writer().writeByte(0).writeShort(children.length);
  for (const c of children) {
    if ('q' in c) w.writeByte(0).writeLongString(c.q);
    else w.writeByte(1).writeShortBytes(c.id);
    w.writeShort(1).writeBytes(Buffer.from([1, 2, 3]));
  }
  w.writeShort(1).writeByte(0);
  return req(Opcode.BATCH, w.finish());
}

test('router: opcode table (upstream-spec-notes 4.1)', () => {
  const c = ctx();
  assert.deepEqual(routeRequest(req(Opcode.STARTUP, new Writer().writeStringMap({ CQL_VERSION: '3.0.0' }).finish()), c), {
    type: 'forward',
    to: 'both',
    tracking: 'none',
    async: false,
  });
  assert.equal(
    (routeRequest(req(Opcode.REGISTER, new Writer().writeStringList(['SCHEMA_CHANGE']).finish()), c) as { to: string }).to,
    'both',
  );
  assert.equal((routeRequest(req(Opcode.OPTIONS, Buffer.alloc(0)), c) as { to: string }).to, 'both');
  assert.deepEqual(routeRequest(req(Opcode.AUTH_RESPONSE, new Writer().writeBytes(null).finish()), c), { type: 'auth' });
  assert.equal((routeRequest(req(0xff, Buffer.alloc(4)), c) as { to: string }).to, 'both');
});

test('router: QUERY reads go to the primary only, writes / DDL / unparseable to both', () => {
  const s = new RoutingSettings();
  const c = ctx(s);
  const sel = routeRequest(query('SELECT * FROM ks.t WHERE k = 1'), c);
  assert.deepEqual([sel.type, (sel as { to: string }).to, (sel as { tracking: string }).tracking], ['forward', 'origin', 'read']);
  s.set({ primaryCluster: 'TARGET' });
  assert.equal((routeRequest(query('SELECT * FROM ks.t'), c) as { to: string }).to, 'target', 'settings are read per request');
  for (const q of [
    'INSERT INTO ks.t (k) VALUES (1)',
    'UPDATE ks.t SET v=1 WHERE k=1',
    'DELETE FROM ks.t WHERE k=1',
    'CREATE TABLE ks.x (k int PRIMARY KEY)',
    'this is not cql',
    '',
  ]) {
    const r = routeRequest(query(q), c);
    assert.equal((r as { to: string }).to, 'both', q);
    assert.equal((r as { tracking: string }).tracking, 'write', q);
  }
});

test('router: system keyspace reads follow system_queries_mode, not the primary', () => {
  const s = new RoutingSettings({ primaryCluster: 'TARGET' });
  assert.equal((routeRequest(query('SELECT * FROM system_schema.keyspaces'), ctx(s)) as { to: string }).to, 'origin');
  s.set({ systemQueriesMode: 'TARGET', primaryCluster: 'ORIGIN' });
  assert.equal((routeRequest(query('SELECT * FROM system_auth.roles'), ctx(s)) as { to: string }).to, 'target');
});

test('router: system.local / peers / peers_v2 are intercepted; user tables named local are not', () => {
  const r = routeRequest(query('SELECT rack AS r, count(*) FROM system.peers'), ctx());
  assert.equal(r.type, 'intercept');
  assert.equal((r as { table: string }).table, 'peers');
  assert.equal((routeRequest(query('SELECT * FROM system.peers_v2'), ctx()) as { table: string }).table, 'peers_v2');
  assert.equal(routeRequest(query('SELECT * FROM local'), ctx(undefined, undefined, 'system')).type, 'intercept');
  assert.equal((routeRequest(query('SELECT * FROM local'), ctx(undefined, undefined, 'ks')) as { to: string }).to, 'origin');
  const p = routeRequest(prepare('SELECT * FROM system.local'), ctx());
  assert.equal(p.type, 'intercept');
  assert.equal((p as { prepare: boolean }).prepare, true);
});

test('router: USE goes to both; CALL InsightsRpc is dropped', () => {
  const u = routeRequest(query('USE ks1'), ctx());
  assert.equal((u as { to: string }).to, 'both');
  assert.equal((u as { useKeyspace?: string }).useKeyspace, 'ks1');
  assert.equal(routeRequest(query("CALL InsightsRpc.reportInsight('x')"), ctx()).type, 'drop');
});

test('router: PREPARE goes to both (even a SELECT); EXECUTE uses the stored decision and TARGET id', () => {
  const cache = new PreparedCache();
  const c = ctx(new RoutingSettings(), cache);
  const p = routeRequest(prepare('SELECT * FROM ks.t WHERE k=?'), c);
  assert.equal((p as { to: string }).to, 'both');
  assert.equal((p as { prepare?: { query: string } }).prepare?.query, 'SELECT * FROM ks.t WHERE k=?');

  // miss -> unprepared with the client's id
  const miss = routeRequest(execute(id(9)), c);
  assert.deepEqual(miss, { type: 'unprepared', id: id(9) });

  const ins = 'INSERT INTO ks.t (k) VALUES (?)';
  cache.store({
    originId: id(1),
    targetId: id(2),
    query: ins,
    keyspace: '',
    info: inspect(ins),
    decision: forwardDecision(inspect(ins), ''),
  });
  const e = routeRequest(execute(id(1)), c);
  assert.equal((e as { to: string }).to, 'both');
  const tf = (e as { targetFrame?: RawFrame }).targetFrame!;
  assert.ok(tf, 'TARGET copy is rewritten');
  assert.deepEqual(tf.body.subarray(2, 18), id(2));
  assert.equal(tf.streamId, 7);

  const sel = 'SELECT * FROM ks.t';
  cache.store({
    originId: id(3),
    targetId: id(4),
    query: sel,
    keyspace: '',
    info: inspect(sel),
    decision: forwardDecision(inspect(sel), ''),
  });
  const es = routeRequest(execute(id(3)), c);
  assert.equal((es as { to: string }).to, 'origin');
  assert.equal((es as { targetFrame?: RawFrame }).targetFrame, undefined);
});

test('router: BATCH -> both, prepared children rewritten for TARGET, unknown child -> UNPREPARED', () => {
  const cache = new PreparedCache();
  const ins = 'INSERT INTO ks.t (k) VALUES (?)';
  cache.store({
    originId: id(1),
    targetId: Buffer.alloc(20, 5),
    query: ins,
    keyspace: '',
    info: inspect(ins),
    decision: { kind: 'write' },
  });
  const b = batch([{ q: 'INSERT INTO ks.t (k) VALUES (1)' }, { id: id(1) }]);
  const r = routeRequest(b, ctx(new RoutingSettings(), cache));
  assert.equal((r as { to: string }).to, 'both');
  const tf = (r as { targetFrame?: RawFrame }).targetFrame!;
  const kids = peekBatch(tf.body, V4).children;
  assert.equal(kids.length, 2);
  assert.deepEqual(kids[1]!.id, Buffer.alloc(20, 5));
  assert.equal(tf.body.length, b.body.length + 4);
  assert.deepEqual(routeRequest(batch([{ id: id(8) }]), ctx(new RoutingSettings(), cache)), { type: 'unprepared', id: id(8) });
});

test('router: compressed bodies are decompressed to route and re-compressed for TARGET', () => {
  const lz4 = getCompressor('lz4')!;
  const codec: BodyCodec = { decompress: (b) => lz4.decompress(b, V4, 1 << 20), compress: (b) => lz4.compress(b, V4) };
  const plain = query('SELECT * FROM ks.t').body;
  const f = req(Opcode.QUERY, lz4.compress(Buffer.from(plain), V4), 0x01);
  assert.equal((routeRequest(f, ctx(new RoutingSettings(), new PreparedCache(), '', codec)) as { to: string }).to, 'origin');
  assert.throws(() => routeRequest(f, ctx()), /no compression was negotiated/);
  const cache = new PreparedCache();
  cache.store({
    originId: id(1),
    targetId: id(2),
    query: 'INSERT INTO ks.t (k) VALUES (?)',
    keyspace: '',
    info: inspect('INSERT INTO ks.t (k) VALUES (?)'),
    decision: { kind: 'write' },
  });
  const ex = req(Opcode.EXECUTE, lz4.compress(Buffer.from(execute(id(1)).body), V4), 0x01);
  const r = routeRequest(ex, ctx(new RoutingSettings(), cache, '', codec));
  const tf = (r as { targetFrame: RawFrame }).targetFrame;
  assert.ok(tf.isCompressed);
  assert.deepEqual(plainBody(tf, codec).subarray(2, 18), id(2));
});

test('prepared cache: LRU eviction, target index, intercepted entries, unbounded with 0', () => {
  const c = new PreparedCache(2);
  const e = (n: number) => ({
    originId: id(n),
    targetId: id(n + 100),
    query: `q${n}`,
    keyspace: '',
    info: inspect('SELECT 1'),
    decision: { kind: 'read' } as const,
  });
  c.store(e(1));
  c.store(e(2));
  assert.ok(c.get(id(1)), 'hit refreshes 1');
  c.store(e(3)); // evicts 2 (least recently used)
  assert.equal(c.get(id(2)), undefined);
  assert.ok(c.get(id(1)));
  assert.deepEqual(c.originIdForTarget(id(103)), id(3));
  assert.equal(c.originIdForTarget(id(102)), undefined, 'evicted entry leaves the target index');
  assert.equal(c.evicted, 1);
  // repeated hits on the newest entry keep the order; a hit on an older one, a delete and a re-store move it
  const d = new PreparedCache(3);
  for (const n of [1, 2, 3]) d.store(e(n));
  for (let i = 0; i < 3; i++) assert.ok(d.get(id(3)));
  assert.ok(d.get(id(1))); // order 2, 3, 1
  assert.ok(d.delete(id(1))); // 2, 3
  d.store(e(1)); // 2, 3, 1
  assert.ok(d.get(id(1)));
  d.store(e(4)); // evicts 2
  assert.equal(d.get(id(2)), undefined);
  assert.ok(d.get(id(3))); // 1, 4, 3
  d.store(e(5)); // evicts 1
  assert.equal(d.get(id(1)), undefined);
  assert.ok(d.get(id(3)) && d.get(id(4)) && d.get(id(5)));
  c.storeIntercepted({
    id: id(50),
    query: 'SELECT * FROM system.local',
    keyspace: '',
    decision: { kind: 'intercept', table: 'local', projection: '*' },
  });
  assert.equal(c.getIntercepted(id(50))?.decision.table, 'local');
  assert.equal(c.size, 3);
  const u = new PreparedCache(0);
  for (let i = 0; i < 50; i++) u.store(e(i));
  assert.equal(u.mainSize, 50);
  assert.throws(() => new PreparedCache(-1), RangeError);
});

test('settings: shared, mutable, validated, emits change', () => {
  const s = new RoutingSettings();
  const seen: string[] = [];
  s.on('change', (n: { primaryCluster: string }) => seen.push(n.primaryCluster));
  s.set({ primaryCluster: 'TARGET' });
  s.set({ primaryCluster: 'TARGET' });
  assert.deepEqual(seen, ['TARGET']);
  assert.equal(s.secondaryCluster, 'ORIGIN');
  assert.throws(() => s.set({ primaryCluster: 'BOTH' as never }), /invalid primary cluster/);
  assert.equal(s.primaryCluster, 'TARGET');
});

test('aggregator: upstream-spec-notes 5.1 table', () => {
  const ok = voidResult();
  const err = (m: string) => resp(Opcode.ERROR, errorBody(ErrorCode.WRITE_TIMEOUT, m));
  assert.equal(chooseBothReply(ok, err('t'), Opcode.QUERY, 'ORIGIN').failedOn, 'target');
  assert.equal(readErrorMessage(chooseBothReply(ok, err('t'), Opcode.QUERY, 'ORIGIN').frame.body), 't');
  assert.equal(readErrorMessage(chooseBothReply(err('o'), ok, Opcode.QUERY, 'TARGET').frame.body), 'o');
  assert.equal(
    readErrorMessage(chooseBothReply(err('o'), err('t'), Opcode.QUERY, 'TARGET').frame.body),
    'o',
    'both fail: ORIGIN even with primary TARGET',
  );
  const o = voidResult();
  const t = voidResult();
  assert.equal(chooseBothReply(o, t, Opcode.QUERY, 'TARGET').frame, t, 'both succeed: primary');
  assert.equal(chooseBothReply(o, t, Opcode.PREPARE, 'TARGET').frame, o, 'PREPARE: ORIGIN');
});

test('aggregator: SUPPORTED intersection in ORIGIN order, other keys from TARGET', () => {
  assert.deepEqual(
    buildSupportedOptions({ COMPRESSION: ['snappy'], FROM: ['origin'] }, { COMPRESSION: ['snappy', 'lz4'], FROM: ['target'] }),
    {
      FROM: ['target'],
      COMPRESSION: ['snappy'],
    },
  );
  assert.deepEqual(buildSupportedOptions({ COMPRESSION: ['lz4', 'snappy'] }, { COMPRESSION: ['snappy', 'lz4'] }).COMPRESSION, [
    'lz4',
    'snappy',
  ]);
  assert.equal(buildSupportedOptions({}, { COMPRESSION: ['lz4'] }).COMPRESSION, undefined);
  const r = aggregate({
    request: req(Opcode.OPTIONS, Buffer.alloc(0)),
    to: 'both',
    tracking: 'none',
    origin: resp(Opcode.SUPPORTED, new Writer().writeStringMultimap({}).finish()),
    target: resp(Opcode.SUPPORTED, new Writer().writeStringMultimap({}).finish()),
    primary: 'ORIGIN',
    cache: new PreparedCache(),
    supportedOptions: () => ({
      origin: { COMPRESSION: ['snappy'] },
      target: { COMPRESSION: ['snappy', 'lz4'], CQL_VERSION: ['3.4.7'] },
    }),
  });
  assert.deepEqual(readSupported(r.reply!.body), { CQL_VERSION: ['3.4.7'], COMPRESSION: ['snappy'] });
});

test('aggregator: PREPARED pair cached, SET_KEYSPACE reported, TARGET UNPREPARED translated', () => {
  const cache = new PreparedCache();
  const q = 'INSERT INTO ks.t (k) VALUES (?)';
  const r = aggregate({
    request: prepare(q),
    to: 'both',
    tracking: 'none',
    prepare: { query: q, keyspace: 'ks', info: inspect(q), decision: { kind: 'write' } },
    origin: preparedResult(id(1)),
    target: preparedResult(id(2)),
    primary: 'TARGET',
    cache,
    supportedOptions: () => ({ origin: {}, target: {} }),
  });
  assert.equal(r.from, 'ORIGIN');
  assert.deepEqual(cache.get(id(1))?.targetId, id(2));

  const ks = aggregate({
    request: query('USE ks2'),
    to: 'both',
    tracking: 'write',
    origin: resp(Opcode.RESULT, new Writer().writeInt(ResultKind.SET_KEYSPACE).writeString('ks2').finish()),
    target: resp(Opcode.RESULT, new Writer().writeInt(ResultKind.SET_KEYSPACE).writeString('ks2').finish()),
    primary: 'ORIGIN',
    cache,
    supportedOptions: () => ({ origin: {}, target: {} }),
  });
  assert.equal(ks.keyspace, 'ks2');

  const unprep = (pid: Buffer) =>
    resp(
      Opcode.ERROR,
      errorBody(ErrorCode.UNPREPARED, 'x', (w) => w.writeShortBytes(pid)),
    );
  const u = aggregate({
    request: execute(id(1)),
    to: 'both',
    tracking: 'write',
    origin: voidResult(),
    target: unprep(id(2)),
    primary: 'ORIGIN',
    cache,
    supportedOptions: () => ({ origin: {}, target: {} }),
  });
  assert.deepEqual(readUnpreparedId(u.reply!.body), id(1));
  assert.match(
    readErrorMessage(u.reply!.body),
    /^Prepared query with ID 01010101010101010101010101010101 not found \(either the query was not prepared on this host/,
  );
  const lost = aggregate({
    request: execute(id(1)),
    to: 'target',
    tracking: 'read',
    target: unprep(id(77)),
    primary: 'TARGET',
    cache,
    supportedOptions: () => ({ origin: {}, target: {} }),
  });
  assert.equal(lost.reply, undefined, 'unknown TARGET id: no reply (upstream-spec-notes 5.5)');
});
