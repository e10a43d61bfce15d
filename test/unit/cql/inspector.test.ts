// Inspector behaviour beyond the upstream ports: projections, comments/strings containing keywords
// or now(), markers, LWT, batches, leading trivia and semicolons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from '../../../src/cql/inspector';
import { replaceNowCalls, preparedNowReplacement } from '../../../src/cql/rewrite';

test('projection of virtual system tables', () => {
  assert.equal(inspect('SELECT * FROM system.local').projection, '*');
  assert.deepEqual(inspect('SELECT rack AS r, count(*) AS c, rack FROM system.peers').projection, [
    { kind: 'column', name: 'rack', alias: 'r' },
    { kind: 'count', name: 'count', arg: '*', alias: 'c' },
    { kind: 'column', name: 'rack' },
  ]);
  assert.deepEqual(inspect('SELECT COUNT ( * ), "Rack" AS "R" FROM system.local').projection, [
    { kind: 'count', name: 'COUNT', arg: '*' },
    { kind: 'column', name: 'Rack', alias: 'R' },
  ]);
  assert.deepEqual(inspect('select count(1) as n from system.peers').projection, [
    { kind: 'count', name: 'count', arg: '1', alias: 'n' },
  ]);
  assert.deepEqual(inspect('SELECT writetime(host_id), CAST(rack AS text), 1 FROM system.local').projection, [
    { kind: 'function', name: 'writetime', text: 'writetime(host_id)' },
    { kind: 'function', name: 'cast', text: 'CAST(rack AS text)' },
    { kind: 'other', text: '1' },
  ]);
  assert.deepEqual(inspect('SELECT system.now() FROM local').projection, [
    { kind: 'function', name: 'system.now', text: 'system.now()' },
  ]);
  const j = inspect('SELECT JSON * FROM system.local');
  assert.equal(j.selectJson, true);
  assert.equal(j.projection, '*');
  assert.equal(inspect('SELECT DISTINCT key FROM system.local').selectDistinct, true);
  // JSON / DISTINCT as column names
  assert.deepEqual(inspect('SELECT json, distinct FROM system.local').projection, [
    { kind: 'column', name: 'json' },
    { kind: 'column', name: 'distinct' },
  ]);
  // projection only computed for local/peers/peers_v2 tables
  assert.equal(inspect('SELECT a, b FROM ks.t').projection, undefined);
  assert.equal(inspect('SELECT a FROM ks.peers').systemTable, 'peers');
});

test('SELECTs with syntax upstream cannot parse are still reads (deliberate)', () => {
  for (const q of [
    'SELECT token(k) FROM ks.t',
    "SELECT * FROM ks.t WHERE expr(idx, 'x')",
    'SELECT * FROM ks.t ORDER BY v ANN OF [1.0, 2.0] LIMIT 3',
    'SELECT * FROM ks.t BYPASS CACHE',
  ]) {
    const i = inspect(q);
    assert.equal(i.kind, 'select', q);
    assert.equal(i.table, 't');
  }
  // but a SELECT without FROM table is not
  assert.equal(inspect('SELECT 1').kind, 'other');
  assert.equal(inspect('SELECT FROM t').kind, 'other');
  assert.equal(inspect('SELECT a FROM').kind, 'other');
});

test('comments and strings containing keywords, now() and quotes', () => {
  assert.equal(inspect("/* INSERT INTO x */ SELECT a FROM t WHERE b = 'INSERT now()'").kind, 'select');
  assert.equal(inspect('-- SELECT * FROM system.local\nINSERT INTO t (a) VALUES (1)').kind, 'insert');
  const i = inspect("INSERT INTO t (a, b, c) VALUES ('now()', $$ now() $$, 'it''s now()') -- now()\n");
  assert.equal(i.kind, 'insert');
  assert.equal(i.nowCalls.length, 0);
  const j = inspect('UPDATE t /* now() */ SET a = now() // now()\n WHERE k = 1');
  assert.equal(j.nowCalls.length, 1);
  assert.equal(
    'UPDATE t /* now() */ SET a = now() // now()\n WHERE k = 1'.slice(j.nowCalls[0].start, j.nowCalls[0].end),
    'now()',
  );
  assert.equal(inspect("SELECT * FROM t WHERE a = '?' AND b = ':x'").bindMarkers.length, 0);
  assert.equal(inspect('SELECT * FROM "we""ird" . "t;x"').table, 't;x');
  assert.equal(inspect('SELECT * FROM "we""ird" . "t;x"').keyspace, 'we"ird');
});

test('case-insensitivity and leading trivia / semicolons', () => {
  assert.equal(inspect('sElEcT * fRoM KS.Tab').keyspace, 'ks');
  assert.equal(inspect('  \n\t-- c\n/* d */ select * from t;').kind, 'select');
  assert.equal(inspect('SELECT * FROM t;;').kind, 'select');
  // a leading ';' is a syntax error for Cassandra and "other" upstream
  assert.equal(inspect(';SELECT * FROM system.local').kind, 'other');
  // text after the first ';' is ignored (no EOF anchor upstream)
  assert.equal(inspect('SELECT * FROM t; DROP TABLE t').kind, 'select');
  assert.equal(inspect('INSERT INTO t (a) VALUES (now()); INSERT INTO t (a) VALUES (now())').nowCalls.length, 1);
});

test('unterminated literals and comments never throw and are "other"', () => {
  for (const q of [
    "SELECT * FROM t WHERE a = 'x",
    'SELECT * FROM "t',
    'SELECT * FROM t /* x',
    'INSERT INTO t (a) VALUES ($$x',
    'USE "ks',
  ]) {
    assert.equal(inspect(q).kind, 'other', q);
  }
});

test('now() detection rules (upstream-spec-notes 4.2/4.6)', () => {
  const sites = (q: string) => inspect(q).nowCalls.map((s) => q.slice(s.start, s.end));
  assert.deepEqual(sites('INSERT INTO t (a, b) VALUES (toTimestamp(now()), now())'), ['now()']);
  assert.deepEqual(sites("UPDATE t SET l = l + [now()], m = {now(): 'a'}, s = {now()} WHERE k = 1"), []);
  assert.deepEqual(sites('UPDATE t SET a = (timeuuid) now() WHERE k = NOW()'), ['now()', 'NOW()']);
  assert.deepEqual(sites('INSERT INTO t (a) VALUES (now(1))'), []);
  assert.deepEqual(sites('INSERT INTO t (a) VALUES (ks.now())'), []);
  assert.deepEqual(sites('INSERT INTO t (a) VALUES ("NOW"())'), []);
  assert.deepEqual(sites('INSERT INTO t (a) VALUES (SYSTEM.NOW())'), ['SYSTEM.NOW()']);
  assert.deepEqual(sites('SELECT now() FROM t WHERE a = now()'), []); // SELECT never
  assert.deepEqual(sites('DELETE m[now()] FROM t WHERE k = now() IF c = now()'), ['now()', 'now()', 'now()']);
});

test('bind markers: positional indices, named markers, marker choice for PREPARE', () => {
  const i = inspect('INSERT INTO t (a, b, c) VALUES (?, :b, ?) USING TTL ?');
  assert.deepEqual(
    i.bindMarkers.map((m) => [m.kind, m.index, m.name]),
    [
      ['positional', 0, undefined],
      ['named', -1, 'b'],
      ['positional', 1, undefined],
      ['positional', 2, undefined],
    ],
  );
  assert.equal(i.positionalMarkerCount, 3);
  assert.equal(i.hasNamedMarkers, true);
  assert.deepEqual(
    inspect('UPDATE t SET a = :"MyName" WHERE k IN :ks').bindMarkers.map((m) => m.name),
    ['MyName', 'ks'],
  );
  const q = 'INSERT INTO t (k, a) VALUES (:k, now())';
  const info = inspect(q);
  assert.deepEqual(preparedNowReplacement(info), { kind: 'named' });
  assert.equal(replaceNowCalls(q, info, preparedNowReplacement(info)).query, 'INSERT INTO t (k, a) VALUES (:k, :zdm__now)');
  assert.deepEqual(preparedNowReplacement(inspect('INSERT INTO t (k, a) VALUES (?, now())')), { kind: 'positional' });
  // `:` glued to an operand is an operator / map separator, not a marker
  assert.equal(inspect("SELECT * FROM t WHERE nick_name:'fuzzy'").bindMarkers.length, 0);
  assert.equal(inspect('UPDATE t SET u = {f:g} WHERE k = 1').hasNamedMarkers, false);
  // markers inside collection literals still count for positional indices
  const c = inspect('UPDATE t SET l = [?, ?], a = now() WHERE k = ?');
  assert.equal(c.nowCalls[0].previousPositionalIndex, 1);
  assert.equal(c.nowCalls[0].generatedPositionalIndex, 2);
});

test('lightweight transactions', () => {
  assert.equal(inspect('INSERT INTO t (a) VALUES (1) IF NOT EXISTS').isLwt, true);
  assert.equal(inspect('UPDATE t SET a = 1 WHERE k = 1 IF a = 2').isLwt, true);
  assert.equal(inspect('DELETE FROM t WHERE k = 1 IF EXISTS').isLwt, true);
  assert.equal(inspect('UPDATE t SET a = 1 WHERE k = 1').isLwt, false);
  assert.equal(inspect("INSERT INTO t (a) VALUES ('IF')").isLwt, false);
  assert.equal(
    inspect('BEGIN BATCH INSERT INTO t (a) VALUES (1); UPDATE t SET a = 2 WHERE k = 1 IF a = 1 APPLY BATCH').isLwt,
    true,
  );
});

test('BATCH text with multiple statements', () => {
  const q =
    'BEGIN COUNTER BATCH USING TIMESTAMP ? UPDATE ks.c SET n = n + 1 WHERE k = ?; UPDATE "Ks"."C2" SET n = n + ? WHERE k = now(); APPLY BATCH;';
  const i = inspect(q);
  assert.equal(i.kind, 'batch');
  assert.equal(i.keyspace, 'Ks');
  assert.equal(i.table, 'C2');
  assert.deepEqual(
    i.batchChildren?.map((c) => [c.kind, c.keyspace, c.table]),
    [
      ['update', 'ks', 'c'],
      ['update', 'Ks', 'C2'],
    ],
  );
  assert.equal(i.positionalMarkerCount, 3);
  assert.deepEqual(
    i.nowCalls.map((s) => [s.statementIndex, s.previousPositionalIndex, s.generatedPositionalIndex]),
    [[1, 2, 3]],
  );
  assert.equal(inspect('BEGIN BATCH INSERT INTO t (a) VALUES (1)').kind, 'other'); // no APPLY BATCH
  assert.equal(inspect('BEGIN BATCH SELECT * FROM t APPLY BATCH').kind, 'other');
  assert.equal(inspect('BEGIN BATCH APPLY BATCH').kind, 'batch');
});

test('statement kinds', () => {
  assert.equal(inspect('ALTER TABLE t ADD c int').kind, 'ddl');
  assert.equal(inspect('GRANT SELECT ON ks.t TO r').kind, 'ddl');
  assert.equal(inspect('CALL DseGraphRpc.getSchemaBlob(?)').callRpcName, 'dsegraphrpc');
  assert.equal(inspect('LIST ROLES').kind, 'ddl');
  assert.equal(inspect('g.V()').kind, 'other');
  assert.equal(inspect('USE').kind, 'other');
  assert.equal(inspect('INSERT INTO t VALUES (1)').kind, 'other');
});
