// Dual writes through the proxy with the Node cassandra-driver (simple statements, no PREPARE):
// DDL, INSERT/UPDATE/DELETE, counters, TTL, collections, a text batch. Every change is checked
// directly on both clusters (upstream-spec-notes 4.1: writes and DDL go to both; 5.1: success only if both succeed).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';

import { dropKeyspace, ensureClusters, originSession, targetSession, uniqueKeyspaceName } from '../../support/clusters';
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';

describe('proxy: writes reach both clusters (Node driver, simple statements)', () => {
  const ks = uniqueKeyspaceName('proxy_writes');
  let proxy: TestProxy | undefined;
  let client: Client | undefined;
  let origin: Client | undefined;
  let target: Client | undefined;

  /** Runs a read directly on both clusters; returns [origin rows, target rows]. */
  async function onBoth(cql: string, params: unknown[] = []): Promise<[Record<string, unknown>[], Record<string, unknown>[]]> {
    const [o, t] = await Promise.all([origin!, target!].map((c) => c.execute(cql, params, { prepare: true })));
    return [o!.rows.map((r) => ({ ...r })), t!.rows.map((r) => ({ ...r }))];
  }
  /** The single row for a key read directly on both clusters, asserting both clusters hold the same values. */
  async function sameOnBoth(cql: string, params: unknown[] = []): Promise<Record<string, unknown> | undefined> {
    const [o, t] = await onBoth(cql, params);
    assert.deepEqual(norm(t), norm(o), `Origin and Target differ for ${cql} ${JSON.stringify(params)}`);
    assert.ok(o.length <= 1);
    return o[0] ? norm([o[0]])[0] : undefined;
  }
  const q = (cql: string, params?: unknown[]) => client!.execute(cql, params ?? [], { prepare: false });

  before(async () => {
    await ensureClusters();
    [origin, target] = await Promise.all([originSession(), targetSession()]);
    proxy = await startTestProxy();
    client = await proxyClient({ proxy });
  });
  after(async () => {
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await origin?.shutdown().catch(() => undefined);
    await target?.shutdown().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
  });

  it('DDL: CREATE KEYSPACE / CREATE TABLE / ALTER TABLE through the proxy create them on both clusters', async () => {
    await q(`CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    await q(`CREATE TABLE ${ks}.users (id int PRIMARY KEY, name text, email text)`);
    await q(`CREATE TABLE ${ks}.counters (k text PRIMARY KEY, n counter)`);
    await q(`CREATE TABLE ${ks}.colls (k int PRIMARY KEY, s set<text>, l list<int>, m map<text, int>)`);
    await q(`CREATE TABLE ${ks}.ttl (k int PRIMARY KEY, v text)`);
    await q(`CREATE TABLE ${ks}.scratch (k int PRIMARY KEY)`);
    await q(`ALTER TABLE ${ks}.users ADD age int`);
    for (const c of [origin!, target!]) {
      const tables = await c.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [ks], {
        prepare: true,
      });
      assert.deepEqual(tables.rows.map((r) => r['table_name']).sort(), ['colls', 'counters', 'scratch', 'ttl', 'users']);
      const cols = await c.execute(
        'SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?',
        [ks, 'users'],
        { prepare: true },
      );
      assert.deepEqual(cols.rows.map((r) => r['column_name']).sort(), ['age', 'email', 'id', 'name']);
    }
    await q(`DROP TABLE ${ks}.scratch`);
    for (const c of [origin!, target!]) {
      const tables = await c.execute(
        'SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
        [ks, 'scratch'],
        { prepare: true },
      );
      assert.equal(tables.rowLength, 0, 'DROP TABLE through the proxy should drop it on both clusters');
    }
  });

  it('INSERT lands on both clusters with the same write timestamp', async () => {
    await q(`INSERT INTO ${ks}.users (id, name, email, age) VALUES (1, 'ada', 'ada@example.com', 36)`);
    // bound values in a simple (unprepared) statement, with type hints
    await client!.execute(`INSERT INTO ${ks}.users (id, name, email) VALUES (?, ?, ?)`, [2, 'bob', 'bob@example.com'], {
      prepare: false,
      hints: ['int', 'text', 'text'],
    });
    assert.deepEqual(await sameOnBoth(`SELECT id, name, email, age FROM ${ks}.users WHERE id = 1`), {
      id: 1,
      name: 'ada',
      email: 'ada@example.com',
      age: 36,
    });
    assert.deepEqual(await sameOnBoth(`SELECT id, name, email, age FROM ${ks}.users WHERE id = 2`), {
      id: 2,
      name: 'bob',
      email: 'bob@example.com',
      age: null,
    });
    // The proxy forwards the same bytes, so the client-side timestamp is identical on both clusters.
    const row = await sameOnBoth(`SELECT writetime(name) AS wt FROM ${ks}.users WHERE id = 1`);
    assert.ok(row && row['wt'] !== null, 'writetime should be set');
  });

  it('UPDATE changes the row on both clusters (and upserts a missing one)', async () => {
    await q(`UPDATE ${ks}.users SET email = 'ada@lovelace.org', age = 37 WHERE id = 1`);
    await q(`UPDATE ${ks}.users SET name = 'cy' WHERE id = 3`);
    assert.deepEqual(await sameOnBoth(`SELECT id, name, email, age FROM ${ks}.users WHERE id = 1`), {
      id: 1,
      name: 'ada',
      email: 'ada@lovelace.org',
      age: 37,
    });
    assert.deepEqual(await sameOnBoth(`SELECT id, name, email, age FROM ${ks}.users WHERE id = 3`), {
      id: 3,
      name: 'cy',
      email: null,
      age: null,
    });
  });

  it('DELETE of a column and of a row applies on both clusters', async () => {
    await q(`DELETE email FROM ${ks}.users WHERE id = 1`);
    assert.deepEqual(await sameOnBoth(`SELECT id, name, email FROM ${ks}.users WHERE id = 1`), {
      id: 1,
      name: 'ada',
      email: null,
    });
    await q(`DELETE FROM ${ks}.users WHERE id = 2`);
    assert.equal(await sameOnBoth(`SELECT id FROM ${ks}.users WHERE id = 2`), undefined, 'row 2 should be gone on both');
  });

  it('a text BEGIN BATCH ... APPLY BATCH applies on both clusters', async () => {
    await q(
      `BEGIN BATCH INSERT INTO ${ks}.users (id, name) VALUES (10, 'x'); UPDATE ${ks}.users SET name = 'y' WHERE id = 11; APPLY BATCH`,
    );
    assert.deepEqual(await sameOnBoth(`SELECT id, name FROM ${ks}.users WHERE id = 10`), { id: 10, name: 'x' });
    assert.deepEqual(await sameOnBoth(`SELECT id, name FROM ${ks}.users WHERE id = 11`), { id: 11, name: 'y' });
  });

  it('counter updates are applied once on each cluster', async () => {
    await q(`UPDATE ${ks}.counters SET n = n + 5 WHERE k = 'a'`);
    await q(`UPDATE ${ks}.counters SET n = n + 5 WHERE k = 'a'`);
    await q(`UPDATE ${ks}.counters SET n = n - 3 WHERE k = 'a'`);
    await q(`UPDATE ${ks}.counters SET n = n + 1 WHERE k = 'b'`);
    assert.deepEqual(await sameOnBoth(`SELECT k, n FROM ${ks}.counters WHERE k = 'a'`), { k: 'a', n: '7' });
    assert.deepEqual(await sameOnBoth(`SELECT k, n FROM ${ks}.counters WHERE k = 'b'`), { k: 'b', n: '1' });
  });

  it('INSERT ... USING TTL: the TTL is visible via TTL(col) on both clusters', async () => {
    await q(`INSERT INTO ${ks}.ttl (k, v) VALUES (1, 'short-lived') USING TTL 3600`);
    await q(`UPDATE ${ks}.ttl USING TTL 7200 SET v = 'longer' WHERE k = 2`);
    const [o1, t1] = await onBoth(`SELECT v, TTL(v) AS t FROM ${ks}.ttl WHERE k = 1`);
    const [o2, t2] = await onBoth(`SELECT v, TTL(v) AS t FROM ${ks}.ttl WHERE k = 2`);
    for (const [rows, name] of [
      [o1, 'origin'],
      [t1, 'target'],
    ] as const) {
      assert.equal(rows.length, 1, `${name}: row 1`);
      assert.equal(rows[0]!['v'], 'short-lived');
      const ttl = Number(rows[0]!['t']);
      assert.ok(ttl > 3500 && ttl <= 3600, `${name}: TTL(v) of row 1 should be about 3600, got ${ttl}`);
    }
    for (const [rows, name] of [
      [o2, 'origin'],
      [t2, 'target'],
    ] as const) {
      assert.equal(rows.length, 1, `${name}: row 2`);
      const ttl = Number(rows[0]!['t']);
      assert.ok(ttl > 7100 && ttl <= 7200, `${name}: TTL(v) of row 2 should be about 7200, got ${ttl}`);
    }
    const [on, tn] = await onBoth(`SELECT TTL(name) AS t FROM ${ks}.users WHERE id = 1`);
    assert.equal(on[0]!['t'], null, 'a write without TTL has no TTL on origin');
    assert.equal(tn[0]!['t'], null, 'a write without TTL has no TTL on target');
  });

  it('collections: set/list/map add and remove apply on both clusters', async () => {
    await q(`INSERT INTO ${ks}.colls (k, s, l, m) VALUES (1, {'a', 'b'}, [1, 2], {'x': 1})`);
    await q(`UPDATE ${ks}.colls SET s = s + {'c'}, l = l + [3], m = m + {'y': 2} WHERE k = 1`);
    await q(`UPDATE ${ks}.colls SET l = [0] + l WHERE k = 1`);
    assert.deepEqual(await sameOnBoth(`SELECT s, l, m FROM ${ks}.colls WHERE k = 1`), {
      s: ['a', 'b', 'c'],
      l: [0, 1, 2, 3],
      m: { x: 1, y: 2 },
    });
    await q(`UPDATE ${ks}.colls SET s = s - {'a'}, l = l - [2], m = m - {'x'} WHERE k = 1`);
    await q(`UPDATE ${ks}.colls SET m['z'] = 26 WHERE k = 1`);
    await q(`DELETE l[0] FROM ${ks}.colls WHERE k = 1`);
    assert.deepEqual(await sameOnBoth(`SELECT s, l, m FROM ${ks}.colls WHERE k = 1`), {
      s: ['b', 'c'],
      l: [1, 3],
      m: { y: 2, z: 26 },
    });
  });
});

/** Makes driver values comparable: Long/BigDecimal/Uuid/InetAddress to strings, Maps to objects. */
function norm(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  const v = (x: unknown): unknown => {
    if (x === null || x === undefined) return null;
    if (Array.isArray(x)) return x.map(v);
    if (x instanceof Map) return Object.fromEntries([...x].map(([k, y]) => [String(k), v(y)]));
    if (typeof x === 'object') {
      const name = (x as object).constructor?.name;
      if (name === 'Object') return Object.fromEntries(Object.entries(x as Record<string, unknown>).map(([k, y]) => [k, v(y)]));
      return String(x);
    }
    return x;
  };
  return rows.map((r) => v(r) as Record<string, unknown>);
}
