// Prepared statements through the proxy against the real clusters (upstream-spec-notes 4.5, 5.5):
// prepared INSERT/UPDATE/DELETE land on both clusters, a prepared SELECT reads Origin's value, the
// prepared id the client sees is Origin's own id, and an id the proxy never saw gets the proxy's UNPREPARED.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Client } from 'cassandra-driver';

import { dropKeyspace, ensureClusters, ORIGIN, uniqueKeyspaceName } from '../../support/clusters';
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';
import { bind, ErrorCode, errorOf, RawCqlClient, rowsOf } from '../../support/raw-client';
import { assertOnBoth, directSessions, type Direct } from './helpers';

describe('lifecycle: prepared statements (Node driver prepare: true, raw PREPARE/EXECUTE)', () => {
  const ks = uniqueKeyspaceName('lc_prepared');
  let d: Direct | undefined;
  let proxy: TestProxy | undefined;
  let client: Client | undefined;
  const raws: RawCqlClient[] = [];

  before(async () => {
    await ensureClusters();
    d = await directSessions(ks, [`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text, n int)`]);
    proxy = await startTestProxy();
    client = await proxyClient({ proxy });
  });
  after(async () => {
    for (const r of raws) r.close();
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await d?.shutdown();
    await dropKeyspace(ks).catch(() => undefined);
  });

  const row = (k: number) => [`SELECT k, v, n FROM ${ks}.kv WHERE k = ?`, [k]] as const;

  it('prepared INSERT, UPDATE and DELETE land on both clusters', async () => {
    await client!.execute(`INSERT INTO ${ks}.kv (k, v, n) VALUES (?, ?, ?)`, [1, 'one', 10], { prepare: true });
    await client!.execute(`INSERT INTO ${ks}.kv (k, v, n) VALUES (?, ?, ?)`, [2, 'two', 20], { prepare: true });
    await assertOnBoth(d!, ...row(1), { k: 1, v: 'one', n: 10 }, 'prepared INSERT k=1');
    await assertOnBoth(d!, ...row(2), { k: 2, v: 'two', n: 20 }, 'prepared INSERT k=2');

    await client!.execute(`UPDATE ${ks}.kv SET v = ?, n = ? WHERE k = ?`, ['uno', 11, 1], { prepare: true });
    await assertOnBoth(d!, ...row(1), { k: 1, v: 'uno', n: 11 }, 'prepared UPDATE k=1');

    await client!.execute(`DELETE FROM ${ks}.kv WHERE k = ?`, [2], { prepare: true });
    await assertOnBoth(d!, ...row(2), undefined, 'prepared DELETE k=2');
    // Executing the same prepared statements again (EXECUTE only, the driver has them cached).
    for (let k = 100; k < 110; k++)
      await client!.execute(`INSERT INTO ${ks}.kv (k, v, n) VALUES (?, ?, ?)`, [k, `v${k}`, k], { prepare: true });
    for (let k = 100; k < 110; k++) await assertOnBoth(d!, ...row(k), { k, v: `v${k}`, n: k }, `re-executed INSERT k=${k}`);
  });

  it("a prepared SELECT reads Origin's value", async () => {
    await d!.origin.execute(`INSERT INTO ${ks}.kv (k, v, n) VALUES (50, 'from-origin', 1)`);
    await d!.target.execute(`INSERT INTO ${ks}.kv (k, v, n) VALUES (50, 'from-target', 2)`);
    for (let i = 0; i < 3; i++) {
      const rs = await client!.execute(`SELECT v, n FROM ${ks}.kv WHERE k = ?`, [50], { prepare: true });
      assert.equal(rs.rowLength, 1);
      assert.equal(rs.first()['v'], 'from-origin', `execution ${i + 1}`);
      assert.equal(rs.first()['n'], 1);
    }
  });

  it("the prepared id the client gets equals Origin's own id for the same query", async () => {
    const viaProxy = await RawCqlClient.connect({ host: proxy!.host, port: proxy!.port });
    raws.push(viaProxy);
    const onOrigin = await RawCqlClient.connect({
      host: ORIGIN.host,
      port: ORIGIN.port,
      credentials: { username: ORIGIN.username, password: ORIGIN.password },
    });
    raws.push(onOrigin);
    for (const cql of [
      `SELECT v FROM ${ks}.kv WHERE k = ?`,
      `INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`,
      `UPDATE ${ks}.kv SET n = ? WHERE k = ?`,
    ]) {
      const proxyId = await viaProxy.prepare(cql);
      const originId = await onOrigin.prepare(cql);
      assert.equal(proxyId.toString('hex'), originId.toString('hex'), `prepared id of ${cql}`);
    }
    // And that id is executable through the proxy (the proxy's cache knows it).
    const id = await viaProxy.prepare(`SELECT v FROM ${ks}.kv WHERE k = ?`);
    const rows = rowsOf(await viaProxy.execute(id, [bind.int(50)]));
    assert.deepEqual(rows, [{ v: 'from-origin' }]);
    const ins = await viaProxy.prepare(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`);
    const r = await viaProxy.execute(ins, [bind.int(60), bind.text('raw-execute')]);
    assert.equal(errorOf(r), undefined, `raw EXECUTE INSERT: ${JSON.stringify(errorOf(r))}`);
    await assertOnBoth(d!, `SELECT v FROM ${ks}.kv WHERE k = ?`, [60], { v: 'raw-execute' }, 'raw EXECUTE INSERT k=60');
  });

  it('EXECUTE of an id the proxy never prepared gets UNPREPARED with that id (proxy-generated)', async () => {
    const c = await RawCqlClient.connect({ host: proxy!.host, port: proxy!.port });
    raws.push(c);
    const id = randomBytes(16);
    const r = await c.execute(id, [bind.int(1)]);
    const e = errorOf(r);
    assert.ok(e, `expected an ERROR, got opcode ${r.message.opcode}`);
    assert.equal(e.code, ErrorCode.UNPREPARED);
    assert.equal(e.id?.toString('hex'), id.toString('hex'));
    assert.equal(
      e.message,
      `Prepared query with ID ${id.toString('hex')} not found (either the query was not prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)`,
    );
    // The connection is still usable.
    assert.deepEqual(rowsOf(await c.query(`SELECT v FROM ${ks}.kv WHERE k = 50`)), [{ v: 'from-origin' }]);
  });
});
