import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from '../../../src/cql/inspector';
import { InspectCache, deepFreeze, sharedInspectCache } from '../../../src/cql/inspect-cache';
import { Opcode, ProtocolVersion } from '../../../src/protocol/constants';
import { ProtocolError } from '../../../src/protocol/errors';
import { RawFrame } from '../../../src/protocol/frame';
import { Reader, Writer } from '../../../src/protocol/primitives';
import { RoutingSettings } from '../../../src/routing/settings';
import { PreparedCache } from '../../../src/routing/prepared-cache';
import { peekPrepare, peekQuery } from '../../../src/protocol/request-codec';
import { routeRequest } from '../../../src/routing/request-router';

const STATEMENTS = [
  'SELECT v FROM bench.kv WHERE k = 42',
  'select key, rpc_address AS a, count(*) from system.local',
  'SELECT * FROM peers',
  "INSERT INTO ks.t (k, v, ts) VALUES (?, 'x', now()) IF NOT EXISTS",
  'UPDATE ks.t SET v = :v, ts = system.now() WHERE k = :k',
  'BEGIN BATCH INSERT INTO a.b (k, t) VALUES (1, now()); DELETE FROM c.d WHERE k = ? APPLY BATCH',
  'USE "MyKs"',
  'CALL InsightsRpc.reportInsight(?)',
  'CREATE TABLE ks.x (k int PRIMARY KEY)',
  'this is not cql',
  '',
  "SELECT * FROM ks.t WHERE v = 'unterminated",
  'SELECT v FROM ks.t WHERE k = \u00e9\u20ac',
];

test('inspect cache: a hit returns info equal to inspect(), and the same (cached) object', () => {
  const c = new InspectCache(64);
  for (const q of STATEMENTS) {
    const first = c.inspect(q);
    assert.deepEqual(first, inspect(q), q);
    const again = c.inspect(q);
    assert.equal(again, first, `cached object for ${q}`);
    assert.deepEqual(again, inspect(q), q);
  }
  assert.equal(c.misses, STATEMENTS.length);
  assert.equal(c.hits, STATEMENTS.length);
  assert.equal(c.size, STATEMENTS.length);
});

test('inspect cache: results are deep-frozen (shared between requests)', () => {
  const c = new InspectCache(8);
  const info = c.inspect('INSERT INTO ks.t (k, ts) VALUES (?, now())');
  assert.ok(Object.isFrozen(info));
  assert.ok(Object.isFrozen(info.nowCalls) && Object.isFrozen(info.nowCalls[0]));
  assert.ok(Object.isFrozen(info.bindMarkers) && Object.isFrozen(info.bindMarkers[0]));
  assert.throws(() => {
    (info as { kind: string }).kind = 'select';
  }, TypeError);
  const sel = c.inspect('SELECT key AS k FROM system.local');
  assert.ok(Array.isArray(sel.projection) && Object.isFrozen(sel.projection) && Object.isFrozen(sel.projection[0]));
  const b = c.inspect('BEGIN BATCH INSERT INTO a.b (k) VALUES (1); APPLY BATCH');
  assert.ok(b.batchChildren && Object.isFrozen(b.batchChildren) && Object.isFrozen(b.batchChildren[0]));
  // deepFreeze leaves primitives alone and handles nested arrays
  assert.equal(deepFreeze(3), 3);
  const nested = deepFreeze({ a: [{ b: 1 }] });
  assert.ok(Object.isFrozen(nested.a[0]));
});

test('inspect cache: bounded LRU (a recently used entry survives, the least recently used one goes)', () => {
  const c = new InspectCache(2);
  const a = c.inspect('SELECT a FROM ks.t');
  c.inspect('SELECT b FROM ks.t');
  assert.equal(c.inspect('SELECT a FROM ks.t'), a); // a is now the most recent
  c.inspect('SELECT c FROM ks.t'); // evicts b
  assert.equal(c.size, 2);
  const misses = c.misses;
  assert.equal(c.inspect('SELECT a FROM ks.t'), a, 'a kept');
  assert.equal(c.misses, misses);
  c.inspect('SELECT b FROM ks.t');
  assert.equal(c.misses, misses + 1, 'b was evicted');
  assert.throws(() => new InspectCache(0), RangeError);
});

test('inspect cache: texts over maxKeyLength are inspected but not kept', () => {
  const c = new InspectCache(8, 20);
  const long = 'SELECT v FROM ks.t WHERE k = 1';
  const i1 = c.inspect(long);
  assert.deepEqual(i1, inspect(long));
  assert.equal(c.size, 0);
  assert.notEqual(c.inspect(long), i1);
  assert.equal(c.misses, 2);
});

test('routing through the cache: the same text still resolves against each session keyspace', () => {
  const ctx = (keyspace: string) => ({ settings: new RoutingSettings(), cache: new PreparedCache(), keyspace });
  const q = 'SELECT * FROM local';
  const frame = () =>
    RawFrame.fromParts(
      { version: ProtocolVersion.V4, isResponse: false, flags: 0, streamId: 1, opcode: Opcode.QUERY },
      new Writer().writeLongString(q).writeShort(1).writeByte(0).finish(),
    );
  for (let i = 0; i < 2; i++) {
    assert.equal(routeRequest(frame(), ctx('system')).type, 'intercept', `USE system (${i})`);
    const r = routeRequest(frame(), ctx('ks'));
    assert.equal(r.type, 'forward', `other keyspace (${i})`);
  }
  assert.ok(sharedInspectCache.size > 0);
});

test('query text decoding: ASCII fast path and the UTF-8 path give what the Reader gives; bad lengths still throw', () => {
  const texts = ['SELECT 1', '', 'SELECT v FROM t WHERE k = \u00e9\u20ac\u{1F600}', '\ufeffSELECT 1', 'x'.repeat(5000)];
  for (const t of texts) {
    const body = Buffer.from(new Writer().writeLongString(t).writeShort(1).writeByte(0).finish());
    const expected = new Reader(body).readLongString();
    assert.equal(peekQuery(body, ProtocolVersion.V4).query, expected, JSON.stringify(t.slice(0, 20)));
    assert.equal(peekPrepare(body, ProtocolVersion.V4).query, expected);
  }
  const invalidUtf8 = Buffer.from([0, 0, 0, 3, 0x41, 0xff, 0x42, 0, 1, 0]);
  assert.equal(peekQuery(invalidUtf8, ProtocolVersion.V4).query, new Reader(invalidUtf8).readLongString());
  assert.throws(() => peekQuery(Buffer.from([0, 0, 0, 9, 0x41]), ProtocolVersion.V4), ProtocolError);
  assert.throws(() => peekQuery(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x41]), ProtocolVersion.V4), ProtocolError);
  assert.throws(() => peekQuery(Buffer.from([0, 0]), ProtocolVersion.V4), ProtocolError);
});
