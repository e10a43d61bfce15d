// Ports of upstream cqlparser_test.go (TestInspectFrame, QUERY and PREPARE cases),
// cqlparser_search_test.go and cqlparser_graph_test.go, plus keyspace resolution cases.
// EXECUTE/BATCH/STARTUP/AUTH cases of TestInspectFrame depend on the prepared cache and opcodes,
// which are not part of src/cql.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from '../../../src/cql/inspector';
import { forwardDecision, resolveDecision, type RoutingSettings, type ResolvedDecision } from '../../../src/cql/routing';

const originPrimary: RoutingSettings = {
  primaryCluster: 'ORIGIN',
  systemQueriesMode: 'ORIGIN',
  readMode: 'DUAL_ASYNC_ON_SECONDARY',
};
const targetPrimary: RoutingSettings = {
  primaryCluster: 'TARGET',
  systemQueriesMode: 'TARGET',
  readMode: 'DUAL_ASYNC_ON_SECONDARY',
};
const originPrimarySysTarget: RoutingSettings = { ...originPrimary, systemQueriesMode: 'TARGET' };

function route(q: string, s: RoutingSettings, ks?: string): ResolvedDecision {
  return resolveDecision(forwardDecision(inspect(q), ks), s);
}
const NONE: ResolvedDecision = { forwardTo: 'none', async: false, metrics: 'none' };

test('QUERY SELECT user table -> primary + async', () => {
  assert.deepEqual(route('SELECT blah FROM ks1.t2', originPrimary), { forwardTo: 'origin', async: true, metrics: 'read' });
  assert.deepEqual(route('SELECT blah FROM ks1.t1', targetPrimary), { forwardTo: 'target', async: true, metrics: 'read' });
  assert.deepEqual(route('SELECT blah FROM ks1.t1', { ...originPrimary, readMode: 'PRIMARY_ONLY' }), {
    forwardTo: 'origin',
    async: false,
    metrics: 'read',
  });
});

for (const [q, table] of [
  ['SELECT * FROM system.local', 'local'],
  ['SELECT * FROM system.peers', 'peers'],
  ['SELECT * FROM system.peers_v2', 'peers_v2'],
] as const) {
  test(`intercepted: ${q} (any settings)`, () => {
    for (const s of [originPrimary, targetPrimary, originPrimarySysTarget]) {
      const d = forwardDecision(inspect(q), undefined);
      assert.equal(d.kind, 'intercept');
      assert.equal(d.kind === 'intercept' && d.table, table);
      if (d.kind === 'intercept' && table !== 'peers_v2') assert.equal(d.projection, '*');
      assert.deepEqual(resolveDecision(d, s), NONE);
    }
  });
}

test('PREPARE with keyspace field system: SELECT * FROM local / peers are intercepted', () => {
  const l = forwardDecision(inspect('SELECT * FROM local'), 'system');
  assert.deepEqual(l, { kind: 'intercept', table: 'local', projection: '*' });
  const p = forwardDecision(inspect('SELECT * FROM peers'), 'system');
  assert.deepEqual(p, { kind: 'intercept', table: 'peers', projection: '*' });
});

test('system keyspaces go to system_queries_mode cluster, never async', () => {
  for (const q of [
    'SELECT * FROM system_auth.roles',
    'SELECT * FROM dse_insights.tokens',
    'SELECT * FROM system.size_estimates',
  ]) {
    assert.deepEqual(route(q, originPrimary), { forwardTo: 'origin', async: false, metrics: 'read' });
    assert.deepEqual(route(q, originPrimarySysTarget), { forwardTo: 'target', async: false, metrics: 'read' });
    // not the primary cluster
    assert.deepEqual(route(q, { ...targetPrimary, systemQueriesMode: 'ORIGIN' }), {
      forwardTo: 'origin',
      async: false,
      metrics: 'read',
    });
  }
});

test('writes, unknown text -> both, not async', () => {
  const both: ResolvedDecision = { forwardTo: 'both', async: false, metrics: 'write' };
  for (const q of [
    'INSERT INTO asd (a, b) VALUES (1, 2)',
    'UPDATE asd SET b = 2 WHERE a = 1',
    'DELETE FROM asd WHERE a = 1',
    'BEGIN BATCH INSERT INTO asd (a) VALUES (1) APPLY BATCH',
    'CREATE TABLE ks.t (a int PRIMARY KEY)',
    'TRUNCATE ks.t',
    'UNKNOWN',
    '',
  ]) {
    assert.deepEqual(route(q, originPrimary), both, q);
    assert.deepEqual(route(q, targetPrimary), both, q);
  }
});

test('CALL InsightsRpc (any case, literal args) is dropped; other CALLs go to both', () => {
  for (const q of [
    'CALL InsightsRpc.reportInsight(?)',
    "CALL InsightsRpc.reportInsight('a', 1, -2.3, true, '2020-01-01')",
    "call insightsrpc.reportinsight('a')",
    'CALL "InsightsRpc".reportInsight(?)',
  ]) {
    assert.deepEqual(forwardDecision(inspect(q), undefined), { kind: 'drop', reason: 'insights-rpc' }, q);
    assert.deepEqual(route(q, originPrimary), NONE);
  }
  assert.deepEqual(route('CALL DseGraphRpc.getSchemaBlob(?)', originPrimary), {
    forwardTo: 'both',
    async: false,
    metrics: 'write',
  });
});

test('USE -> both + async, keyspace returned', () => {
  assert.deepEqual(forwardDecision(inspect('USE ks1'), undefined), { kind: 'use', keyspace: 'ks1' });
  assert.deepEqual(forwardDecision(inspect('USE "MyKs";'), undefined), { kind: 'use', keyspace: 'MyKs' });
  assert.deepEqual(route('USE ks1', originPrimary), { forwardTo: 'both', async: true, metrics: 'write' });
});

test('keyspace-less names resolve against the session keyspace', () => {
  assert.deepEqual(forwardDecision(inspect('SELECT * FROM peers'), 'ks'), { kind: 'read' });
  assert.deepEqual(forwardDecision(inspect('SELECT * FROM local'), undefined), { kind: 'read' });
  assert.equal(forwardDecision(inspect('SELECT * FROM local'), 'system').kind, 'intercept');
  assert.deepEqual(forwardDecision(inspect('SELECT * FROM roles'), 'system_auth'), {
    kind: 'system-read',
    keyspace: 'system_auth',
  });
  // an explicit keyspace wins over the session keyspace
  assert.deepEqual(forwardDecision(inspect('SELECT * FROM ks.local'), 'system'), { kind: 'read' });
  assert.equal(forwardDecision(inspect('SELECT * FROM system.local'), 'ks').kind, 'intercept');
  // quoted identifiers keep their case: "System" is not the system keyspace
  assert.deepEqual(forwardDecision(inspect('SELECT * FROM "System".local'), undefined), { kind: 'read' });
  assert.equal(forwardDecision(inspect('SELECT * FROM SYSTEM.LOCAL'), undefined).kind, 'intercept');
  assert.equal(forwardDecision(inspect('SELECT * FROM "system"."local"'), undefined).kind, 'intercept');
  assert.deepEqual(forwardDecision(inspect('SELECT * FROM "Local"'), 'system'), { kind: 'system-read', keyspace: 'system' });
});

test('interception can be disabled', () => {
  assert.deepEqual(forwardDecision(inspect('SELECT * FROM system.local'), undefined, { interceptSystemTables: false }), {
    kind: 'system-read',
    keyspace: 'system',
  });
});

// cqlparser_search_test.go: DSE Search / SAI SELECTs are reads (origin primary, async)
const searchQueries = [
  "select * from person where hometown contains 'Bangkok';",
  'select * from person where age > 35 and age < 80;',
  "select * from person where solr_query='firstname: Olga firstname: Raymond -hometown: Bangkok';",
  'select * from person where solr_query=\'{"q":"hometown:Bangkok"}\';',
  'select * from person where solr_query=\'{"q":"id:*","facet":{"field":"hometown"}}\';',
  'select * from person where solr_query=\'{"q" : "*:*", "distrib.singlePass" : true}\';',
  "select * from person where nick_name:'fuzzy';",
  "select * from person where nick_name = 'Foo' or nick_name = 'Bar' and age > 10;",
  'SELECT * FROM cyclist_teams WHERE teams CONTAINS KEY 2014;',
  "SELECT * FROM cycling.cyclist_races WHERE races CONTAINS { race_title:'Rabobank 7-Dorpenomloop Aalburg', race_date:'2015-05-09', race_time:'02:58:33' };",
  "SELECT * FROM cyclist_teams WHERE teams CONTAINS 'Team Garmin - Cervelo';",
  "SELECT * FROM cycling.comments_vs WHERE created_at IN ('2017-03-21 21:11:09.999000+0000', '2017-03-22 01:16:59.001000+0000');",
];
for (const q of searchQueries) {
  test(`search/SAI read: ${q}`, () => {
    assert.deepEqual(route(q, originPrimary), { forwardTo: 'origin', async: true, metrics: 'read' });
  });
}

// cqlparser_graph_test.go: Gremlin (string API) and empty text (fluent API) -> both, no async
const graphQueries = [
  "system.graph('friendship').ifNotExists().create()",
  "schema.vertexLabel('person').ifNotExists().partitionBy('id', Text).property('firstname', Text).property('surname', Text)" +
    ".property('hometown', Text).property('age', Int).create();schema.edgeLabel('is_friend_of').ifNotExists().from('person').to('person')" +
    ".property('friendshipStartDate', Date).create();schema.vertexLabel('person').searchIndex().ifNotExists().by('firstname').asText().by('surname').asText()" +
    ".by('hometown').asText().by('age').create();schema.edgeLabel('is_friend_of').from('person').to('person')" +
    ".materializedView('person__is_parent_of__person_by_in_id').ifNotExists().inverse().create()}} ",
  "g.V().has('person','id', p1_id).as('p1').addV('person').property('id', p2_id).property('firstname', p2_firstname)" +
    ".property('surname', p2_surname).property('hometown', p2_hometown).property('age', p2_age).as('p2')" +
    ".addE('is_friend_of').from('p1').to('p2').property('friendshipStartDate', fsd);",
  "g.V().has('person','id', p1_id).elementMap()",
  "g.V().has('person','age', gt(lower_end)).has('person','age', lt(upper_end)).elementMap()",
  '', // fluent API: empty query text, bytecode in the custom payload
];
for (const q of graphQueries) {
  test(`graph request -> both: ${q.slice(0, 40) || '(empty)'}`, () => {
    assert.equal(inspect(q).kind, 'other');
    assert.deepEqual(route(q, originPrimary), { forwardTo: 'both', async: false, metrics: 'write' });
  });
}
