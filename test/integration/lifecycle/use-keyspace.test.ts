// USE and the current keyspace (upstream-spec-notes 4.4, 4.3): `USE ks` goes to both clusters, after which
// unqualified statements work; a user table named `peers` in ks is the user's table after USE ks,
// while `USE system; SELECT * FROM local` is the proxy's virtual system.local (its rpc_address is the
// proxy's address). The proxy listens on 127.0.0.3 so its address differs from Origin's and Target's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';

import { dropKeyspace, ensureClusters, ORIGIN, uniqueKeyspaceName } from '../../support/clusters';
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';
import { bind, errorOf, expectResult, RawCqlClient, ResultKind, rowsOf } from '../../support/raw-client';
import { assertOnBoth, directSessions, type Direct } from './helpers';

const PROXY_HOST = '127.0.0.3';

describe('lifecycle: USE keyspace and unqualified tables', () => {
  const ks = uniqueKeyspaceName('lc_use');
  let d: Direct | undefined;
  let proxy: TestProxy | undefined;
  let client: Client | undefined;
  const raws: RawCqlClient[] = [];

  before(async () => {
    await ensureClusters();
    d = await directSessions(ks, [
      `CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`,
      `CREATE TABLE ${ks}.peers (peer text PRIMARY KEY, note text)`,
      `CREATE TABLE ${ks}.local (key text PRIMARY KEY, note text)`,
    ]);
    proxy = await startTestProxy({ host: PROXY_HOST });
  });
  after(async () => {
    for (const r of raws) r.close();
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await d?.shutdown();
    await dropKeyspace(ks).catch(() => undefined);
  });

  async function raw(): Promise<RawCqlClient> {
    const r = await RawCqlClient.connect({ host: proxy!.host, port: proxy!.port });
    raws.push(r);
    return r;
  }

  it('raw client: USE ks answers SET_KEYSPACE, then unqualified INSERT/UPDATE/SELECT work and writes land on both', async () => {
    const c = await raw();
    const use = expectResult(await c.query(`USE ${ks}`), 'USE');
    assert.equal((use.message as { kind: number }).kind, ResultKind.SET_KEYSPACE);
    assert.equal((use.message as { keyspace?: string }).keyspace, ks);
    for (const [k, v] of [
      [1, 'one'],
      [2, 'two'],
    ] as const) {
      const r = await c.query(`INSERT INTO kv (k, v) VALUES (${k}, '${v}')`);
      assert.equal(errorOf(r), undefined, `unqualified INSERT: ${JSON.stringify(errorOf(r))}`);
    }
    assert.equal(errorOf(await c.query(`UPDATE kv SET v = 'uno' WHERE k = 1`)), undefined);
    await assertOnBoth(d!, `SELECT v FROM ${ks}.kv WHERE k = ?`, [1], { v: 'uno' });
    await assertOnBoth(d!, `SELECT v FROM ${ks}.kv WHERE k = ?`, [2], { v: 'two' });
    // An unqualified read goes to Origin.
    await d!.target.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (3, 'from-target')`);
    await d!.origin.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (3, 'from-origin')`);
    assert.deepEqual(rowsOf(await c.query('SELECT v FROM kv WHERE k = 3')), [{ v: 'from-origin' }]);
    // Unqualified prepared statements too.
    const id = await c.prepare('INSERT INTO kv (k, v) VALUES (?, ?)');
    assert.equal(errorOf(await c.execute(id, [bind.int(4), bind.text('prepared-unqualified')])), undefined);
    await assertOnBoth(d!, `SELECT v FROM ${ks}.kv WHERE k = ?`, [4], { v: 'prepared-unqualified' });
    const sel = await c.prepare('SELECT v FROM kv WHERE k = ?');
    assert.deepEqual(rowsOf(await c.execute(sel, [bind.int(3)])), [{ v: 'from-origin' }]);
  });

  it('Node driver with the keyspace option: unqualified prepared INSERT and SELECT', async () => {
    client = await proxyClient({ proxy, keyspace: ks });
    await client.execute('INSERT INTO kv (k, v) VALUES (?, ?)', [10, 'driver-ks'], { prepare: true });
    await assertOnBoth(d!, `SELECT v FROM ${ks}.kv WHERE k = ?`, [10], { v: 'driver-ks' });
    const rs = await client.execute('SELECT v FROM kv WHERE k = ?', [3], { prepare: true });
    assert.equal(rs.first()?.['v'], 'from-origin');
  });

  it("after USE ks, a user table named peers (and local) is the user's table, not the virtual one", async () => {
    const c = await raw();
    expectResult(await c.query(`USE ${ks}`), 'USE');
    assert.equal(errorOf(await c.query(`INSERT INTO peers (peer, note) VALUES ('p1', 'user row')`)), undefined);
    assert.equal(errorOf(await c.query(`INSERT INTO local (key, note) VALUES ('k1', 'user local row')`)), undefined);
    await assertOnBoth(d!, `SELECT note FROM ${ks}.peers WHERE peer = ?`, ['p1'], { note: 'user row' });
    assert.deepEqual(rowsOf(await c.query('SELECT * FROM peers')), [{ peer: 'p1', note: 'user row' }]);
    assert.deepEqual(rowsOf(await c.query('SELECT * FROM local')), [{ key: 'k1', note: 'user local row' }]);
    const id = await c.prepare('SELECT note FROM peers WHERE peer = ?');
    assert.deepEqual(rowsOf(await c.execute(id, [bind.text('p1')])), [{ note: 'user row' }]);
  });

  it("USE system; SELECT * FROM local is the proxy's virtual system.local", async () => {
    const c = await raw();
    expectResult(await c.query('USE system'), 'USE system');
    const rows = rowsOf(await c.query('SELECT * FROM local'));
    assert.equal(rows.length, 1);
    assert.equal(
      String(rows[0]!['rpc_address']),
      PROXY_HOST,
      `rpc_address ${String(rows[0]!['rpc_address'])} should be the proxy's`,
    );
    assert.notEqual(String(rows[0]!['rpc_address']), ORIGIN.host);
    // system.peers through USE system is virtual too: a single proxy instance has no peers.
    assert.deepEqual(rowsOf(await c.query('SELECT * FROM peers')), []);
    // Switching back to the user keyspace makes `peers` the user's table again.
    expectResult(await c.query(`USE ${ks}`), 'USE ks');
    assert.deepEqual(rowsOf(await c.query('SELECT peer FROM peers')), [{ peer: 'p1' }]);
  });
});
