// The proxy in-process (startProxy) between the Node cassandra-driver and the real Origin/Target clusters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';
import { ensureClusters, originSession, targetSession, uniqueKeyspaceName, dropKeyspace } from '../../support/clusters';
import { startTestProxy, proxyClient, type TestProxy } from '../../support/proxy';
import type { ClusterName } from '../../../src/cluster';

let proxy: TestProxy;
let client: Client;
let origin: Client;
let target: Client;
const ks = uniqueKeyspaceName('basic');

before(async () => {
  await ensureClusters();
  proxy = await startTestProxy();
  client = await proxyClient({ proxy });
  origin = await originSession();
  target = await targetSession();
});

after(async () => {
  await client?.shutdown().catch(() => undefined);
  await proxy?.stop();
  await dropKeyspace(ks).catch(() => undefined);
  await origin?.shutdown().catch(() => undefined);
  await target?.shutdown().catch(() => undefined);
});

test('the driver sees only the proxy host', () => {
  const hosts = client.hosts.values();
  assert.equal(hosts.length, 1);
  assert.equal(hosts[0]!.address, proxy.contactPoint);
  assert.deepEqual(
    client
      .getState()
      .getConnectedHosts()
      .map((h) => h.address),
    [proxy.contactPoint],
  );
});

test('DDL and INSERT/UPDATE/DELETE through the proxy land on both clusters', async () => {
  await client.execute(`CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
  await client.execute(`CREATE TABLE ${ks}.keyvalue (key int PRIMARY KEY, value text)`);
  await client.execute(`INSERT INTO ${ks}.keyvalue (key, value) VALUES (?, ?)`, [1, 'one'], { prepare: true });
  await client.execute(`INSERT INTO ${ks}.keyvalue (key, value) VALUES (2, 'two')`);
  for (const c of [origin, target]) {
    const rs = await c.execute(`SELECT key, value FROM ${ks}.keyvalue`);
    assert.deepEqual(rs.rows.map((r) => [r['key'], r['value']]).sort(), [
      [1, 'one'],
      [2, 'two'],
    ]);
  }
  await client.execute(`UPDATE ${ks}.keyvalue SET value = ? WHERE key = ?`, ['uno', 1], { prepare: true });
  await client.execute(`DELETE FROM ${ks}.keyvalue WHERE key = 2`);
  for (const c of [origin, target]) {
    const rs = await c.execute(`SELECT key, value FROM ${ks}.keyvalue`);
    assert.deepEqual(
      rs.rows.map((r) => [r['key'], r['value']]),
      [[1, 'uno']],
    );
  }
  const viaProxy = await client.execute(`SELECT value FROM ${ks}.keyvalue WHERE key = ?`, [1], { prepare: true });
  assert.equal(viaProxy.first()['value'], 'uno');
});

test('reads are served by the primary cluster (ORIGIN, then TARGET at run time)', async () => {
  await client.execute(`CREATE TABLE IF NOT EXISTS ${ks}.divergent (k int PRIMARY KEY, v text)`);
  await origin.execute(`INSERT INTO ${ks}.divergent (k, v) VALUES (7, 'from-origin')`);
  await target.execute(`INSERT INTO ${ks}.divergent (k, v) VALUES (7, 'from-target')`);
  const read = async () => (await client.execute(`SELECT v FROM ${ks}.divergent WHERE k = 7`)).first()['v'];
  const readPrepared = async () =>
    (await client.execute(`SELECT v FROM ${ks}.divergent WHERE k = ?`, [7], { prepare: true })).first()['v'];
  assert.equal(await read(), 'from-origin');
  assert.equal(await readPrepared(), 'from-origin');
  const settings = proxy.handle!.settings as { set(p: { primaryCluster: ClusterName }): void };
  settings.set({ primaryCluster: 'TARGET' });
  try {
    assert.equal(await read(), 'from-target');
    assert.equal(await readPrepared(), 'from-target');
  } finally {
    settings.set({ primaryCluster: 'ORIGIN' });
  }
});

test('a proxy started with primary_cluster=TARGET reads Target', async () => {
  const p2 = await startTestProxy({ settings: { primary_cluster: 'TARGET' } });
  const c2 = await proxyClient({ proxy: p2 });
  try {
    const rs = await c2.execute(`SELECT v FROM ${ks}.divergent WHERE k = 7`);
    assert.equal(rs.first()['v'], 'from-target');
  } finally {
    await c2.shutdown();
    await p2.stop();
  }
});

test('virtual system.local describes the proxy; peers is empty', async () => {
  const local = (await client.execute('SELECT rpc_address, data_center, cluster_name, rack FROM system.local')).first();
  assert.equal(local['rpc_address'].toString(), '127.0.0.1');
  assert.equal(local['data_center'], 'datacenter1');
  assert.equal(local['cluster_name'], 'origin');
  assert.equal(local['rack'], 'rack0');
  assert.equal((await client.execute('SELECT * FROM system.peers')).rowLength, 0);
});
