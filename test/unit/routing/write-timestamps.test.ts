// Pinned write timestamps in the router (pin_write_timestamps): writes to both clusters without a
// client timestamp get ONE proxy timestamp in ORIGIN's and TARGET's frames; reads, LWT, client
// timestamps and the setting off are left alone. The clock is strictly increasing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consistency, Opcode, ProtocolVersion } from '../../../src/protocol/constants';
import { RawFrame } from '../../../src/protocol/frame';
import { encodeMessage, type RequestMessage } from '../../../src/protocol/messages';
import { peekDefaultTimestamp } from '../../../src/protocol/messages/default-timestamp';
import { inspect } from '../../../src/cql/inspector';
import { forwardDecision } from '../../../src/cql/routing';
import { RoutingSettings } from '../../../src/routing/settings';
import { PreparedCache } from '../../../src/routing/prepared-cache';
import { routeRequest, type Route, type RouteContext } from '../../../src/routing/request-router';
import { WriteTimestampClock, canPinTimestamp } from '../../../src/routing/write-timestamps';

const V4 = ProtocolVersion.V4;
const frame = (m: RequestMessage, v = V4): RawFrame =>
  RawFrame.fromParts({ version: v, isResponse: false, flags: 0, streamId: 3, opcode: m.opcode }, encodeMessage(m, v));
const query = (q: string, ts?: bigint): RawFrame =>
  frame({
    opcode: Opcode.QUERY,
    query: q,
    params: { consistency: Consistency.ONE, ...(ts !== undefined ? { defaultTimestamp: ts } : {}) },
  });

function ctx(over: Partial<RouteContext> = {}): RouteContext {
  let t = 1000n;
  return {
    keyspace: 'ks',
    cache: new PreparedCache(),
    settings: new RoutingSettings(),
    pinTimestamps: true,
    writeClock: { next: () => ++t },
    ...over,
  };
}
type Fwd = Extract<Route, { type: 'forward' }>;
function stamps(r: Route, f: RawFrame): { o?: bigint; t?: bigint } {
  const fw = r as Fwd;
  const o = fw.originFrame ?? f;
  const t = fw.targetFrame ?? f;
  return { o: peekDefaultTimestamp(o.opcode, o.body, o.version), t: peekDefaultTimestamp(t.opcode, t.body, t.version) };
}

test('QUERY writes get one proxy timestamp, the same for ORIGIN and TARGET, in distinct frames', () => {
  const c = ctx();
  for (const q of [
    'INSERT INTO t (k, v) VALUES (1, 2)',
    'UPDATE t SET v = 1 WHERE k = 1',
    'DELETE FROM t WHERE k = 1',
    'BEGIN BATCH INSERT INTO t (k) VALUES (1) APPLY BATCH',
  ]) {
    const f = query(q);
    const r = routeRequest(f, c) as Fwd;
    const s = stamps(r, f);
    assert.ok(s.o !== undefined, q);
    assert.equal(s.t, s.o, `${q}: same timestamp for both`);
    assert.notEqual(r.originFrame, r.targetFrame, 'two frame objects (each connection rewrites its stream id)');
    assert.equal(r.writeTimestamp, s.o, 'the route names the pinned timestamp');
  }
  const a = stamps(routeRequest(query('INSERT INTO t (k) VALUES (1)'), c), query('x')).o!;
  const b = stamps(routeRequest(query('INSERT INTO t (k) VALUES (2)'), c), query('x')).o!;
  assert.ok(b > a, 'later request, larger timestamp');
});

test('left alone: client timestamps, LWT, reads, DDL, setting off, protocol v2', () => {
  const c = ctx();
  const own = query('INSERT INTO t (k) VALUES (1)', 77n);
  assert.deepEqual(stamps(routeRequest(own, c), own), { o: 77n, t: 77n }, 'client timestamp kept');
  assert.equal((routeRequest(own, c) as Fwd).writeTimestamp, undefined, 'nothing pinned');
  for (const q of [
    'INSERT INTO t (k) VALUES (1) IF NOT EXISTS',
    'UPDATE t SET v = 1 WHERE k = 1 IF v = 2',
    'DELETE FROM t WHERE k = 1 IF EXISTS',
    'SELECT * FROM t',
    'CREATE TABLE x (k int PRIMARY KEY)',
    'BEGIN BATCH INSERT INTO t (k) VALUES (1) IF NOT EXISTS APPLY BATCH',
  ]) {
    const f = query(q);
    const r = routeRequest(f, c) as Fwd;
    assert.equal(r.originFrame, undefined, q);
    assert.equal(r.targetFrame, undefined, q);
  }
  const off = ctx({ pinTimestamps: false });
  const f = query('INSERT INTO t (k) VALUES (1)');
  assert.equal((routeRequest(f, off) as Fwd).originFrame, undefined, 'setting off');
  const v2 = frame(
    { opcode: Opcode.QUERY, query: 'INSERT INTO t (k) VALUES (1)', params: { consistency: Consistency.ONE } },
    ProtocolVersion.V2,
  );
  assert.equal((routeRequest(v2, c) as Fwd).originFrame, undefined, 'v2 has no default timestamp');
});

test('EXECUTE with a different TARGET id: both copies stamped alike, TARGET keeps its id; BATCH of prepared children too', () => {
  const c = ctx();
  const oid = Buffer.alloc(16, 1);
  const tid = Buffer.alloc(16, 2);
  const text = 'INSERT INTO t (k, v) VALUES (?, ?)';
  const info = inspect(text);
  c.cache.store({ originId: oid, targetId: tid, query: text, keyspace: 'ks', info, decision: forwardDecision(info, 'ks') });
  const ex = frame({
    opcode: Opcode.EXECUTE,
    id: oid,
    params: { consistency: Consistency.ONE, values: [Buffer.from([0, 0, 0, 1]), null] },
  });
  const r = routeRequest(ex, c) as Fwd;
  const s = stamps(r, ex);
  assert.ok(s.o !== undefined);
  assert.equal(s.t, s.o);
  assert.ok(r.targetFrame!.body.includes(tid), 'TARGET copy carries the TARGET id');
  const b = frame({
    opcode: Opcode.BATCH,
    type: 0,
    children: [{ kind: 'prepared', id: oid, values: [null, null] }],
    consistency: Consistency.ONE,
  });
  const rb = routeRequest(b, c) as Fwd;
  const sb = stamps(rb, b);
  assert.ok(sb.o !== undefined && sb.o === sb.t);
  assert.ok(rb.targetFrame!.body.includes(tid));
  // a conditional prepared statement in the batch: left alone
  const lwt = 'UPDATE t SET v = ? WHERE k = ? IF v = 1';
  const li = inspect(lwt);
  const lid = Buffer.alloc(16, 3);
  c.cache.store({ originId: lid, targetId: lid, query: lwt, keyspace: 'ks', info: li, decision: forwardDecision(li, 'ks') });
  assert.equal(canPinTimestamp(li), false);
  const bl = frame({
    opcode: Opcode.BATCH,
    type: 0,
    children: [
      { kind: 'prepared', id: oid, values: [null, null] },
      { kind: 'prepared', id: lid, values: [null, null] },
    ],
    consistency: Consistency.ONE,
  });
  assert.equal(stamps(routeRequest(bl, c), bl).o, undefined);
});

test('WriteTimestampClock: microseconds of the wall clock, strictly increasing even when the clock stands still or steps back', () => {
  let ms = 1_000;
  const clock = new WriteTimestampClock(() => ms);
  assert.equal(clock.next(), 1_000_000n);
  assert.equal(clock.next(), 1_000_001n);
  ms = 999;
  assert.equal(clock.next(), 1_000_002n);
  ms = 2_000;
  assert.equal(clock.next(), 2_000_000n);
});
