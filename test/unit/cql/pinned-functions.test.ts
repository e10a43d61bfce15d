// Pinned functions (replace_cql_functions): call sites of every non-deterministic function in any
// term position, their replacement texts (type hints outside upstream's whole-term now()), the
// generated values, and the clear error for a text the proxy cannot parse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from '../../../src/cql/inspector';
import { replaceNowCalls } from '../../../src/cql/rewrite';
import { generateValue } from '../../../src/routing/now-replacement';
import { routeRequest } from '../../../src/routing/request-router';
import { RoutingSettings } from '../../../src/routing/settings';
import { PreparedCache } from '../../../src/routing/prepared-cache';
import { RawFrame } from '../../../src/protocol/frame';
import { Writer } from '../../../src/protocol/primitives';
import { Opcode, ProtocolVersion } from '../../../src/protocol/constants';

const sites = (q: string) => inspect(q).functionCalls.map((s) => [q.slice(s.start, s.end), s.fn, s.wholeTerm, s.inCollection]);

test('functionCalls: every pinned function, any position; reads and other functions ignored', () => {
  assert.deepEqual(
    sites(
      'INSERT INTO t (a, b, c, d, e, f) VALUES (now(), currentTimeUUID(), UUID(), currentTimestamp(), currentdate(), system.currentTime())',
    ),
    [
      ['now()', 'now', true, false],
      ['currentTimeUUID()', 'currenttimeuuid', true, false],
      ['UUID()', 'uuid', true, false],
      ['currentTimestamp()', 'currenttimestamp', true, false],
      ['currentdate()', 'currentdate', true, false],
      ['system.currentTime()', 'currenttime', true, false],
    ],
  );
  assert.deepEqual(sites('UPDATE t SET ts = toTimestamp(now()), l = l + [uuid()], u = {a: now()}, m[now()] = 1 WHERE k = 1'), [
    ['now()', 'now', false, false],
    ['uuid()', 'uuid', false, true],
    ['now()', 'now', false, false],
    ['now()', 'now', true, false],
  ]);
  assert.deepEqual(sites('SELECT now(), uuid() FROM t'), []);
  assert.deepEqual(sites("INSERT INTO t (a, b) VALUES (yesterday(), 'now()')"), []);
  assert.equal(inspect('INSERT INTO t (a) VALUES (toTimestamp(now()))').nowCalls.length, 0, 'upstream sites unchanged');
});

test('replacement texts: a whole-term now() as upstream, everything else with a type hint', () => {
  const q = 'UPDATE t SET a = now(), b = toDate(now()), c = currentDate(), d = {x: uuid()} WHERE k = ?';
  const info = inspect(q);
  assert.equal(
    replaceNowCalls(q, info, { kind: 'positional' }).query,
    'UPDATE t SET a = ?, b = toDate((timeuuid)?), c = (date)?, d = {x: (uuid)?} WHERE k = ?',
  );
  const n = 'INSERT INTO t (k, a, b) VALUES (:k, now(), currentTimestamp())';
  assert.equal(
    replaceNowCalls(n, inspect(n), { kind: 'named' }).query,
    'INSERT INTO t (k, a, b) VALUES (:k, :zdm__now, (timestamp):zdm__currenttimestamp)',
  );
});

test('generateValue: literal and bytes of each function', () => {
  const ms = Date.UTC(2026, 11, 3, 12, 34, 56, 789);
  const clockMs = () => ms;
  const ts = generateValue('currenttimestamp', { clockMs });
  assert.equal(ts.literal, String(ms));
  assert.equal(ts.bytes.readBigInt64BE(0), BigInt(ms));
  const d = generateValue('currentdate', { clockMs });
  assert.equal(d.literal, "'2026-12-03'");
  assert.equal(d.bytes.readUInt32BE(0) - 0x80000000, Math.floor(ms / 86_400_000));
  const t = generateValue('currenttime', { clockMs });
  assert.equal(t.literal, "'12:34:56.789000000'");
  assert.equal(t.bytes.readBigInt64BE(0), BigInt(((12 * 60 + 34) * 60 + 56) * 1000 + 789) * 1_000_000n);
  const u = generateValue('uuid');
  assert.match(u.literal, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(u.bytes.toString('hex'), u.literal.replace(/-/g, ''));
  assert.notEqual(generateValue('uuid').literal, u.literal);
  assert.equal(generateValue('now').bytes[6]! >> 4, 1, 'version 1');
});

test('a statement the proxy cannot parse that calls a pinned function: ERROR (NowReplacementError), with the setting on only', () => {
  const body = new Writer().writeLongString('INSERT INTO t JSON now()').writeShort(1).writeByte(0).finish();
  const f = RawFrame.fromParts(
    { version: ProtocolVersion.V4, isResponse: false, flags: 0, streamId: 1, opcode: Opcode.QUERY },
    body,
  );
  const ctx = { keyspace: 'ks', cache: new PreparedCache(), settings: new RoutingSettings() };
  assert.equal(inspect('INSERT INTO t JSON now()').unpinnedCall, 'now');
  assert.throws(() => routeRequest(f, { ...ctx, replaceNow: true }), {
    name: 'NowReplacementError',
    message: /replace_cql_functions: now\(\) appears in a statement the proxy cannot parse/,
  });
  assert.equal((routeRequest(f, ctx) as { to: string }).to, 'both');
});
