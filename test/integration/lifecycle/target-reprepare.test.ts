// A table dropped and re-created directly on Target invalidates Target's prepared statements for it.
// The next EXECUTE through the proxy succeeds on Origin and gets UNPREPARED from Target: the client must
// receive UNPREPARED carrying the client-facing (Origin) id (spec 5.5), re-prepare, and then its write
// lands on both clusters. The Node driver does this transparently.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';

import { dropKeyspace, ensureClusters, uniqueKeyspaceName } from '../../support/clusters';
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';
import { bind, ErrorCode, errorOf, RawCqlClient } from '../../support/raw-client';
import { assertOnBoth, directSessions, type Direct } from './helpers';

describe('lifecycle: UNPREPARED from Target after a table is re-created there', () => {
  const ks = uniqueKeyspaceName('lc_reprep');
  let d: Direct | undefined;
  let proxy: TestProxy | undefined;
  let raw: RawCqlClient | undefined;
  let client: Client | undefined;

  before(async () => {
    await ensureClusters();
    d = await directSessions(ks, [`CREATE TABLE ${ks}.t (k int PRIMARY KEY, v text)`, `CREATE TABLE ${ks}.t2 (k int PRIMARY KEY, v text)`]);
    proxy = await startTestProxy({ logLevel: 'info' });
  });
  after(async () => {
    raw?.close();
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await d?.shutdown();
    await dropKeyspace(ks).catch(() => undefined);
  });

  async function recreateOnTarget(table: string): Promise<void> {
    await d!.target.execute(`DROP TABLE ${ks}.${table}`);
    await d!.target.execute(`CREATE TABLE ${ks}.${table} (k int PRIMARY KEY, v text)`);
  }

  it('raw client: UNPREPARED with the client-facing id, then re-PREPARE and the write lands on both', async () => {
    raw = await RawCqlClient.connect({ host: proxy!.host, port: proxy!.port });
    const cql = `INSERT INTO ${ks}.t (k, v) VALUES (?, ?)`;
    const id = await raw.prepare(cql);
    const first = await raw.execute(id, [bind.int(1), bind.text('before')]);
    assert.equal(errorOf(first), undefined, `first EXECUTE: ${JSON.stringify(errorOf(first))}`);
    await assertOnBoth(d!, `SELECT v FROM ${ks}.t WHERE k = ?`, [1], { v: 'before' });

    await recreateOnTarget('t');

    const second = await raw.execute(id, [bind.int(2), bind.text('after-recreate')]);
    const e = errorOf(second);
    assert.ok(e, 'EXECUTE after the table was re-created on Target should fail');
    assert.equal(e.code, ErrorCode.UNPREPARED, `expected UNPREPARED, got 0x${e.code.toString(16)} ${e.message}`);
    assert.equal(e.id?.toString('hex'), id.toString('hex'), 'UNPREPARED must carry the id the client knows');
    assert.match(e.message, /Prepared query with ID [0-9a-f]+ not found/);
    // Origin applied the write (only Target refused it): the usual dual-write caveat, spec 5.5.
    const [o] = await d!.read(`SELECT v FROM ${ks}.t WHERE k = ?`, [2]);
    assert.deepEqual(o.map((r) => r['v']), ['after-recreate']);

    const id2 = await raw.prepare(cql);
    assert.equal(id2.toString('hex'), id.toString('hex'), 're-PREPARE gives the same client-facing id');
    const third = await raw.execute(id2, [bind.int(2), bind.text('after-reprepare')]);
    assert.equal(errorOf(third), undefined, `EXECUTE after re-PREPARE: ${JSON.stringify(errorOf(third))}`);
    await assertOnBoth(d!, `SELECT v FROM ${ks}.t WHERE k = ?`, [2], { v: 'after-reprepare' });
  });

  it('Node driver: re-prepares transparently, the write lands on both clusters', async () => {
    client = await proxyClient({ proxy });
    const cql = `INSERT INTO ${ks}.t2 (k, v) VALUES (?, ?)`;
    await client.execute(cql, [1, 'before'], { prepare: true });
    await assertOnBoth(d!, `SELECT v FROM ${ks}.t2 WHERE k = ?`, [1], { v: 'before' });

    await recreateOnTarget('t2');

    await client.execute(cql, [2, 'after-recreate'], { prepare: true });
    await assertOnBoth(d!, `SELECT v FROM ${ks}.t2 WHERE k = ?`, [2], { v: 'after-recreate' });
    for (let k = 3; k < 8; k++) await client.execute(cql, [k, `v${k}`], { prepare: true });
    for (let k = 3; k < 8; k++) await assertOnBoth(d!, `SELECT v FROM ${ks}.t2 WHERE k = ?`, [k], { v: `v${k}` });
  });
});
