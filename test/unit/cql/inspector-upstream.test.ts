// Ports of upstream unit tests: queryinspector_test.go (TestInspectCqlQuery, TestNowFunctionCalls)
// and querymodifier_test.go (TestReplaceQueryString: the recorded now() term positions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect, upstreamStatementType } from '../../../src/cql/inspector';
import { replaceNowCalls } from '../../../src/cql/rewrite';

type UpType = 'select' | 'insert' | 'update' | 'delete' | 'batch' | 'use' | 'other';

const inspectCases: Array<[string, string, UpType, string, string]> = [
  ['simple SELECT', 'SELECT foo, bar, qix FROM table1 WHERE foo = 1;', 'select', '', 'table1'],
  ['qualified SELECT', 'SELECT foo, bar, qix FROM ks1.table1 WHERE foo = 1;', 'select', 'ks1', 'table1'],
  ['simple SELECT star', 'SELECT * FROM table1', 'select', '', 'table1'],
  ['qualified SELECT star', 'SELECT * FROM ks1.TABLE1', 'select', 'ks1', 'table1'],
  ['SELECT COUNT star', 'SELECT COUNT ( * ) FROM ks1.TABLE1', 'select', 'ks1', 'table1'],
  ['quoted SELECT', 'SELECT foo, bar, qix FROM "MyTable"', 'select', '', 'MyTable'],
  ['quoted qualified SELECT', 'SELECT foo, bar, qix FROM "MyKeyspace" . "MyTable"', 'select', 'MyKeyspace', 'MyTable'],
  [
    'quoted qualified SELECT with quotes',
    'SELECT foo, bar, qix FROM "MyKeyspace" . "My""Table"',
    'select',
    'MyKeyspace',
    'My"Table',
  ],
  ['unreserved keywords', 'SELECT * FROM FILTERING.TINYINT WHERE foo = 1;', 'select', 'filtering', 'tinyint'],
  [
    'complex SELECT',
    'SELECT foo, "BAR" AS bar, \'literal\', $$ plsql-style literal $$, -NaN, 0.1, true, PT2S, 0xcafebabe, ' +
      '97bda55b-6175-4c39-9e04-7c0205c709dc, system.now(), "system".myFunction( col1, 2, 0.1, false, \'foo\', "system".cos(3.14) ), ' +
      "CAST(qix AS varchar), (list<varchar>) [ 'a', 'b' ] FROM ks1 . table1 WHERE foo = 0.1 " +
      'AND token ( pk1, pk2 ) >= -9876543321' +
      'AND "MyCol" LIKE \'search\' AND col2 IS NOT NULL AND "MyMap" CONTAINS key \'foo\' ' +
      'AND "MyMap" [ \'key\' ] = PT2S AND col IN ( )  AND col IN ( :col1, :col2 )  AND col IN :bindMarker  ' +
      'AND ( "MyCol1" , "MyCol2" ) IN () AND ( "MyCol1" , "MyCol2" ) IN ( ( true , false) , ( 0.1, 2.3 ) ) ' +
      'AND ( "MyCol1" , "MyCol2" ) IN (?,?) AND ( "MyCol1" , "MyCol2" ) >= (1, 2, 3) AND ( "MyCol1" , "MyCol2" ) < ?',
    'select',
    'ks1',
    'table1',
  ],
  ['json SELECT', 'SELECT JSON DISTINCT foo, bar, qix FROM table1 WHERE foo = 1;', 'select', '', 'table1'],
  ['whitespace before SELECT', '   \t\r\n   SELECT foo, bar FROM table1', 'select', '', 'table1'],
  ['single line comment dash', '-- blah  \n   SELECT foo, bar FROM table1', 'select', '', 'table1'],
  ['single line comment dash Windows', '-- blah  \r\n   SELECT foo, bar FROM table1', 'select', '', 'table1'],
  ['single line comment slash', '// blah  \n   SELECT foo, bar FROM table1', 'select', '', 'table1'],
  ['single line comment slash Windows', '// blah  \r\n   SELECT foo, bar FROM table1', 'select', '', 'table1'],
  ['multi line comment 1 line', '/* blah */  SELECT foo, bar FROM table1', 'select', '', 'table1'],
  ['multi line comment 2 lines', '/* blah  \t\r\n */  SELECT foo, bar FROM table1', 'select', '', 'table1'],
  ['many comments', '-- comment1 \n // comment 2 \n /* comment 2\t\r\n */  SELECT foo, bar FROM table1', 'select', '', 'table1'],
  ['simple USE', 'USE ks1', 'use', 'ks1', ''],
  ['simple INSERT', 'INSERT INTO ks1.table1 (foo, bar) VALUES (1, now())', 'insert', 'ks1', 'table1'],
  [
    'complex INSERT',
    'INSERT INTO "MyKeyspace" . "MyTable" ( foo, "BAR", tinyint, cast, json, filtering) ' +
      "VALUES ('literal', $$ plsql-style literal $$, -NaN, 0.1, true, PT2S, 0xcafebabe, 97bda55b-6175-4c39-9e04-7c0205c709dc, system.now(), (list<varchar>) [ 'a', 'b' ]) " +
      'if not exists USING timestamp 1234 AND ttl 123',
    'insert',
    'MyKeyspace',
    'MyTable',
  ],
  ['simple UPDATE', 'UPDATE ks1.table1 SET foo = 1, bar = 2 WHERE qix = 42', 'update', 'ks1', 'table1'],
  [
    'complex UPDATE',
    'UPDATE "MyKeyspace" . "MyTable" USING TIMESTAMP 1234 and ttl 123 ' +
      'SET foo = 1, bar = system.now(), foo = \'literal\', "BAR" = $$ plsql-style literal $$, ' +
      'tinyint = -NaN, cast = 0.1, writetime = true, json = PT2S, filtering = 0xcafebabe ' +
      "WHERE foo = \"MyKeyspace\".whatever(123) AND bar = (list<varchar>) [ 'a', 'b' ] " +
      'IF qix IN (97bda55b-6175-4c39-9e04-7c0205c709dc)',
    'update',
    'MyKeyspace',
    'MyTable',
  ],
  ['simple DELETE', 'DELETE FROM ks1.table1 WHERE qix = 123', 'delete', 'ks1', 'table1'],
  [
    'complex DELETE',
    'DELETE foo, bar FROM "MyKeyspace" . "MyTable" USING TIMESTAMP ? ' +
      'WHERE foo = 123 AND bar = 0xcafebabe AND (c1, c2, c3) IN ((1,2,3),(2,3,4)) IF EXISTS',
    'delete',
    'MyKeyspace',
    'MyTable',
  ],
  [
    'simple BATCH',
    'BEGIN UNLOGGED BATCH INSERT INTO ks1.table1 (foo, bar) VALUES (1, now()); ' +
      'UPDATE ks1.table2 USING TIMESTAMP 1234 SET foo = 1, bar = now() WHERE bar = 42 ' +
      'DELETE foo, bar FROM ks1.table3 USING TIMESTAMP 1234 WHERE qix = 123 APPLY BATCH',
    'batch',
    'ks1',
    'table3',
  ],
  ['INSERT JSON', "INSERT INTO table1 JSON '{}'", 'other', '', ''],
  ['simple CREATE', 'CREATE TABLE ks1.table1 blah', 'other', '', ''],
  ['simple DROP', 'DROP TABLE ks1.table1 blah', 'other', '', ''],
  ['empty', '', 'other', '', ''],
];

for (const [name, query, type, ks, table] of inspectCases) {
  test(`TestInspectCqlQuery: ${name}`, () => {
    const info = inspect(query);
    assert.equal(upstreamStatementType(info), type);
    assert.equal(info.keyspace ?? '', ks);
    assert.equal(info.table ?? '', table);
  });
}

test('TestInspectCqlQuery: CREATE/DROP are ddl in this port', () => {
  assert.equal(inspect('CREATE TABLE ks1.table1 blah').kind, 'ddl');
  assert.equal(inspect('DROP TABLE ks1.table1 blah').kind, 'ddl');
  assert.equal(inspect('').kind, 'other');
});

const UID = '7872e70a-5a68-11eb-ae93-0242ac130002';

// [name, query, type, hasNow, literal, positional, named, [start, stopInclusive, previousPositionalIndex][]]
type NowCase = [string, string, UpType, boolean, string, string, string, Array<[number, number, number]>];
const nowCases: NowCase[] = [
  [
    'simple INSERT',
    'INSERT INTO ks1.table1 (foo) VALUES (now())',
    'insert',
    true,
    `INSERT INTO ks1.table1 (foo) VALUES (${UID})`,
    'INSERT INTO ks1.table1 (foo) VALUES (?)',
    'INSERT INTO ks1.table1 (foo) VALUES (:zdm__now)',
    [[37, 41, -1]],
  ],
  [
    'positional markers at start and end',
    'INSERT INTO ks1.table1 (foo1, foo2, foo3, foo4) VALUES (?, now(), now(), ?)',
    'insert',
    true,
    `INSERT INTO ks1.table1 (foo1, foo2, foo3, foo4) VALUES (?, ${UID}, ${UID}, ?)`,
    'INSERT INTO ks1.table1 (foo1, foo2, foo3, foo4) VALUES (?, ?, ?, ?)',
    'INSERT INTO ks1.table1 (foo1, foo2, foo3, foo4) VALUES (?, :zdm__now, :zdm__now, ?)',
    [
      [59, 63, 0],
      [66, 70, 0],
    ],
  ],
  [
    'positional markers at middle',
    'INSERT INTO ks1.table1 (foo1, foo2, foo3, foo4) VALUES (now(), ?, ?, now())',
    'insert',
    true,
    `INSERT INTO ks1.table1 (foo1, foo2, foo3, foo4) VALUES (${UID}, ?, ?, ${UID})`,
    'INSERT INTO ks1.table1 (foo1, foo2, foo3, foo4) VALUES (?, ?, ?, ?)',
    'INSERT INTO ks1.table1 (foo1, foo2, foo3, foo4) VALUES (:zdm__now, ?, ?, :zdm__now)',
    [
      [56, 60, -1],
      [69, 73, 1],
    ],
  ],
  [
    'qualified call INSERT',
    'INSERT INTO ks1.table1 (foo) VALUES (system.now())',
    'insert',
    true,
    `INSERT INTO ks1.table1 (foo) VALUES (${UID})`,
    'INSERT INTO ks1.table1 (foo) VALUES (?)',
    'INSERT INTO ks1.table1 (foo) VALUES (:zdm__now)',
    [[37, 48, -1]],
  ],
  [
    'qualified call with whitespace and quoted identifiers',
    'INSERT INTO ks1.table1 (foo) VALUES ( "system" . "now" ( ) )',
    'insert',
    true,
    `INSERT INTO ks1.table1 (foo) VALUES ( ${UID} )`,
    'INSERT INTO ks1.table1 (foo) VALUES ( ? )',
    'INSERT INTO ks1.table1 (foo) VALUES ( :zdm__now )',
    [[38, 57, -1]],
  ],
  [
    'cast INSERT',
    'INSERT INTO ks1.table1 (foo) VALUES ( ( uuid ) system.now())',
    'insert',
    true,
    `INSERT INTO ks1.table1 (foo) VALUES ( ( uuid ) ${UID})`,
    'INSERT INTO ks1.table1 (foo) VALUES ( ( uuid ) ?)',
    'INSERT INTO ks1.table1 (foo) VALUES ( ( uuid ) :zdm__now)',
    [[47, 58, -1]],
  ],
  [
    'other functions INSERT',
    'INSERT INTO ks1.table1 (foo, bar, qix) VALUES (now(), yesterday(), tomorrow())',
    'insert',
    true,
    `INSERT INTO ks1.table1 (foo, bar, qix) VALUES (${UID}, yesterday(), tomorrow())`,
    'INSERT INTO ks1.table1 (foo, bar, qix) VALUES (?, yesterday(), tomorrow())',
    'INSERT INTO ks1.table1 (foo, bar, qix) VALUES (:zdm__now, yesterday(), tomorrow())',
    [[47, 51, -1]],
  ],
  [
    'multiple occurrences INSERT',
    'INSERT INTO ks1.table1 (c1, c2, c3, c4) VALUES ( now(), now ( ), system.now(), "system" . "now" ( ))',
    'insert',
    true,
    `INSERT INTO ks1.table1 (c1, c2, c3, c4) VALUES ( ${UID}, ${UID}, ${UID}, ${UID})`,
    'INSERT INTO ks1.table1 (c1, c2, c3, c4) VALUES ( ?, ?, ?, ?)',
    'INSERT INTO ks1.table1 (c1, c2, c3, c4) VALUES ( :zdm__now, :zdm__now, :zdm__now, :zdm__now)',
    [
      [49, 53, -1],
      [56, 62, -1],
      [65, 76, -1],
      [79, 98, -1],
    ],
  ],
  [
    'INSERT inside BATCH',
    'BEGIN BATCH INSERT INTO ks1.table1 (c1, c2) VALUES (42, now()) DELETE FROM ks1.table1 WHERE c1 = 42 ' +
      'INSERT INTO ks1.table1 (c1, c2) VALUES (42, now()) INSERT INTO ks1.table1 (c1, c2) VALUES (42, now()) APPLY BATCH',
    'batch',
    true,
    `BEGIN BATCH INSERT INTO ks1.table1 (c1, c2) VALUES (42, ${UID}) DELETE FROM ks1.table1 WHERE c1 = 42 ` +
      `INSERT INTO ks1.table1 (c1, c2) VALUES (42, ${UID}) INSERT INTO ks1.table1 (c1, c2) VALUES (42, ${UID}) APPLY BATCH`,
    'BEGIN BATCH INSERT INTO ks1.table1 (c1, c2) VALUES (42, ?) DELETE FROM ks1.table1 WHERE c1 = 42 ' +
      'INSERT INTO ks1.table1 (c1, c2) VALUES (42, ?) INSERT INTO ks1.table1 (c1, c2) VALUES (42, ?) APPLY BATCH',
    'BEGIN BATCH INSERT INTO ks1.table1 (c1, c2) VALUES (42, :zdm__now) DELETE FROM ks1.table1 WHERE c1 = 42 ' +
      'INSERT INTO ks1.table1 (c1, c2) VALUES (42, :zdm__now) INSERT INTO ks1.table1 (c1, c2) VALUES (42, :zdm__now) APPLY BATCH',
    [
      [56, 60, -1],
      [144, 148, -1],
      [195, 199, -1],
    ],
  ],
  [
    'BATCH with INSERTs, UPDATEs and DELETEs',
    'BEGIN BATCH INSERT INTO ks1.table1 (c1, c2) VALUES (42, now()) DELETE FROM ks1.table1 WHERE c1 = now() ' +
      'UPDATE ks1.table1 SET c2 = now() WHERE c1 = now() INSERT INTO ks1.table1 (c1, c2) VALUES (42, now()) ' +
      'INSERT INTO ks1.table1 (c1, c2) VALUES (42, now()) APPLY BATCH',
    'batch',
    true,
    `BEGIN BATCH INSERT INTO ks1.table1 (c1, c2) VALUES (42, ${UID}) DELETE FROM ks1.table1 WHERE c1 = ${UID} ` +
      `UPDATE ks1.table1 SET c2 = ${UID} WHERE c1 = ${UID} INSERT INTO ks1.table1 (c1, c2) VALUES (42, ${UID}) ` +
      `INSERT INTO ks1.table1 (c1, c2) VALUES (42, ${UID}) APPLY BATCH`,
    'BEGIN BATCH INSERT INTO ks1.table1 (c1, c2) VALUES (42, ?) DELETE FROM ks1.table1 WHERE c1 = ? ' +
      'UPDATE ks1.table1 SET c2 = ? WHERE c1 = ? INSERT INTO ks1.table1 (c1, c2) VALUES (42, ?) ' +
      'INSERT INTO ks1.table1 (c1, c2) VALUES (42, ?) APPLY BATCH',
    'BEGIN BATCH INSERT INTO ks1.table1 (c1, c2) VALUES (42, :zdm__now) DELETE FROM ks1.table1 WHERE c1 = :zdm__now ' +
      'UPDATE ks1.table1 SET c2 = :zdm__now WHERE c1 = :zdm__now INSERT INTO ks1.table1 (c1, c2) VALUES (42, :zdm__now) ' +
      'INSERT INTO ks1.table1 (c1, c2) VALUES (42, :zdm__now) APPLY BATCH',
    [
      [56, 60, -1],
      [97, 101, -1],
      [130, 134, -1],
      [147, 151, -1],
      [197, 201, -1],
      [248, 252, -1],
    ],
  ],
  [
    'no occurrences',
    "INSERT INTO ks1.table1 (foo) VALUES ('bar')",
    'insert',
    false,
    "INSERT INTO ks1.table1 (foo) VALUES ('bar')",
    "INSERT INTO ks1.table1 (foo) VALUES ('bar')",
    "INSERT INTO ks1.table1 (foo) VALUES ('bar')",
    [],
  ],
  [
    'update',
    "UPDATE ks1.table1 SET foo = 'bar' WHERE col = now()",
    'update',
    true,
    `UPDATE ks1.table1 SET foo = 'bar' WHERE col = ${UID}`,
    "UPDATE ks1.table1 SET foo = 'bar' WHERE col = ?",
    "UPDATE ks1.table1 SET foo = 'bar' WHERE col = :zdm__now",
    [[46, 50, -1]],
  ],
  [
    'delete',
    'DELETE FROM ks1.table1 WHERE col = now()',
    'delete',
    true,
    `DELETE FROM ks1.table1 WHERE col = ${UID}`,
    'DELETE FROM ks1.table1 WHERE col = ?',
    'DELETE FROM ks1.table1 WHERE col = :zdm__now',
    [[35, 39, -1]],
  ],
  ['unknown statement', 'CREATE TABLE foo', 'other', false, 'CREATE TABLE foo', 'CREATE TABLE foo', 'CREATE TABLE foo', []],
  ['empty statement', '', 'other', false, '', '', '', []],
];

for (const [name, query, type, hasNow, lit, pos, named, sites] of nowCases) {
  test(`TestNowFunctionCalls: ${name}`, () => {
    const info = inspect(query);
    assert.equal(upstreamStatementType(info), type);
    assert.equal(info.nowCalls.length > 0, hasNow);
    assert.deepEqual(
      info.nowCalls.map((s) => [s.start, s.end - 1, s.previousPositionalIndex]),
      sites,
    );
    assert.equal(replaceNowCalls(query, info, { kind: 'literal', next: () => UID }).query, lit);
    assert.equal(replaceNowCalls(query, info, { kind: 'positional' }).query, pos);
    assert.equal(replaceNowCalls(query, info, { kind: 'named' }).query, named);
    // the rewritten texts have no now() left and keep the statement type
    for (const q of [lit, pos, named]) {
      const again = inspect(q);
      assert.equal(again.nowCalls.length, 0);
      assert.equal(upstreamStatementType(again), type);
    }
  });
}

// querymodifier_test.go TestReplaceQueryString: [name, query, type, sites [start, stopInclusive, prevPos], namedMarkers]
const modifierCases: Array<[string, string, UpType, Array<[number, number, number]>, boolean]> = [
  ['QUERY SELECT', 'SELECT blah FROM ks1.t2', 'select', [], false],
  ['INSERT', 'INSERT INTO blah (a, b) VALUES (now(), 1)', 'insert', [[32, 36, -1]], false],
  ['INSERT NAMED', 'INSERT INTO blah (a, b) VALUES (now(), :bparam)', 'insert', [[32, 36, -1]], true],
  [
    'UPDATE',
    'UPDATE blah SET a = ?, b = now() WHERE a = now()',
    'update',
    [
      [27, 31, 0],
      [43, 47, 0],
    ],
    false,
  ],
  [
    'UPDATE NAMED',
    'UPDATE blah SET a = :aparam, b = now() WHERE a = now()',
    'update',
    [
      [33, 37, -1],
      [49, 53, -1],
    ],
    true,
  ],
  [
    'UPDATE Conditional',
    'UPDATE blah SET a = ?, b = 123 WHERE a = now() IF b = now()',
    'update',
    [
      [41, 45, 0],
      [54, 58, 0],
    ],
    false,
  ],
  [
    'UPDATE Complex',
    'UPDATE blah SET a[?] = ?, b[now()] = 123, c[1] = now() WHERE a = 123',
    'update',
    [
      [28, 32, 1],
      [49, 53, 1],
    ],
    false,
  ],
  [
    'UPDATE Complex 2',
    'UPDATE blah SET a = ?, b = 123 WHERE f[now()] = ? IF g[123] IN (2, 3, ?, now(), ?, now()) AND d IN ? AND c IN (?, now(), 2) AND a = now()',
    'update',
    [
      [39, 43, 0],
      [73, 77, 2],
      [83, 87, 3],
      [114, 118, 5],
      [132, 136, 5],
    ],
    false,
  ],
  [
    'UPDATE Complex 3',
    'UPDATE blah USING TIMESTAMP ? AND TTL ? SET a = ?, b = now() WHERE (a IN ?) AND (b IN (now(), ?)) AND ' +
      '(a, b, c) IN ? AND (a, b, c) IN ((1, 2, ?), (now(), 5, 6)) AND (a, b, c) IN (?, ?, ?) AND (a, b, c) > (1, now(), ?)',
    'update',
    [
      [55, 59, 2],
      [87, 91, 3],
      [147, 151, 6],
      [208, 212, 9],
    ],
    false,
  ],
  ['DELETE No Operation', 'DELETE FROM blah WHERE b = 123 AND a = now()', 'delete', [[39, 43, -1]], false],
  ['DELETE', 'DELETE a FROM blah WHERE b = 123 AND a = now()', 'delete', [[41, 45, -1]], false],
  [
    'DELETE Conditional',
    'DELETE a FROM blah WHERE a = now() IF b = now()',
    'delete',
    [
      [29, 33, -1],
      [42, 46, -1],
    ],
    false,
  ],
  [
    'DELETE Complex',
    'DELETE c[1], a[?], b[now()] FROM blah WHERE b = 123 AND a = now()',
    'delete',
    [
      [21, 25, 0],
      [60, 64, 0],
    ],
    false,
  ],
];

for (const [name, query, type, sites, namedMarkers] of modifierCases) {
  test(`TestReplaceQueryString: ${name}`, () => {
    const info = inspect(query);
    assert.equal(upstreamStatementType(info), type);
    assert.deepEqual(
      info.nowCalls.map((s) => [s.start, s.end - 1, s.previousPositionalIndex]),
      sites,
    );
    assert.equal(info.hasNamedMarkers, namedMarkers);
    const rewritten = replaceNowCalls(query, info, { kind: 'literal', next: () => UID });
    assert.equal(rewritten.query === query, sites.length === 0);
  });
}

test('TestReplaceQueryString: generated positional indices (UPDATE Complex 2)', () => {
  const q =
    'UPDATE blah SET a = ?, b = 123 WHERE f[now()] = ? IF g[123] IN (2, 3, ?, now(), ?, now()) AND d IN ? AND c IN (?, now(), 2) AND a = now()';
  const info = inspect(q);
  assert.deepEqual(
    info.nowCalls.map((s) => s.generatedPositionalIndex),
    [1, 4, 6, 9, 10],
  );
  const rewritten = replaceNowCalls(q, info, { kind: 'positional' }).query;
  const after = inspect(rewritten);
  assert.equal(after.positionalMarkerCount, info.positionalMarkerCount + info.nowCalls.length);
  // every generated marker sits where the now() was, at the announced index
  let shift = 0;
  for (const site of info.nowCalls) {
    const m = after.bindMarkers.find((b) => b.start === site.start - shift);
    assert.ok(m, `marker at ${site.start - shift}`);
    assert.equal(m.index, site.generatedPositionalIndex);
    shift += site.end - site.start - 1;
  }
});

test('TestReplaceQueryString: batch text children (Mixed)', () => {
  const child0 =
    'UPDATE blah SET a = ?, b = 123 WHERE f[now()] = ? IF g[123] IN (2, 3, ?, now(), ?, now()) AND d IN ? AND c IN (?, now(), 2) AND a = now()';
  const child2 = 'DELETE FROM blah WHERE b = 123 AND a = now()';
  assert.deepEqual(
    inspect(child0).nowCalls.map((s) => s.start),
    [39, 73, 83, 114, 132],
  );
  assert.deepEqual(
    inspect(child2).nowCalls.map((s) => [s.start, s.previousPositionalIndex]),
    [[39, -1]],
  );
});
