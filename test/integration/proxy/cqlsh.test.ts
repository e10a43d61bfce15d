// cqlsh (project venv) through the proxy: CREATE TABLE, INSERT, SELECT, UPDATE, DELETE; every
// change checked directly on both clusters; SELECT output shows the primary's (Origin's) data.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';

import {
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  originSession,
  runCqlsh,
  targetSession,
  uniqueKeyspaceName,
  type CqlshResult,
} from '../../support/clusters';
import { startTestProxy, type TestProxy } from '../../support/proxy';

describe('proxy: cqlsh', () => {
  const ks = uniqueKeyspaceName('proxy_cqlsh');
  let origin: Client | undefined;
  let target: Client | undefined;
  let proxy: TestProxy | undefined;

  /** cqlsh -e against the test proxy (runCqlsh('proxy') reads ZDM_PROXY_HOST/ZDM_PROXY_PORT when called). */
  async function cqlsh(statements: string): Promise<CqlshResult> {
    const saved = [process.env.ZDM_PROXY_HOST, process.env.ZDM_PROXY_PORT];
    process.env.ZDM_PROXY_HOST = proxy!.host;
    process.env.ZDM_PROXY_PORT = String(proxy!.port);
    try {
      const r = await runCqlsh('proxy', ['--connect-timeout=20', '--request-timeout=30', '-e', statements], {
        timeoutMs: 90_000,
      });
      assert.equal(r.code, 0, `cqlsh failed (exit ${r.code}):\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /error/i, `cqlsh reported an error:\n${r.stderr}`);
      return r;
    } finally {
      if (saved[0] === undefined) delete process.env.ZDM_PROXY_HOST;
      else process.env.ZDM_PROXY_HOST = saved[0];
      if (saved[1] === undefined) delete process.env.ZDM_PROXY_PORT;
      else process.env.ZDM_PROXY_PORT = saved[1];
    }
  }
  async function rowsOnBoth(cql: string): Promise<[string[], string[]]> {
    const f = async (c: Client) => (await c.execute(cql)).rows.map((r) => `${r['k']}=${r['v']}`).sort();
    return Promise.all([f(origin!), f(target!)]);
  }

  before(async () => {
    await ensureClusters();
    await createKeyspace(ks);
    [origin, target] = await Promise.all([originSession(), targetSession()]);
    proxy = await startTestProxy();
  });
  after(async () => {
    await proxy?.stop().catch(() => undefined);
    await origin?.shutdown().catch(() => undefined);
    await target?.shutdown().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
  });

  it('CREATE TABLE and INSERT through cqlsh reach both clusters', async () => {
    await cqlsh(`CREATE TABLE ${ks}.t (k int PRIMARY KEY, v text);
      INSERT INTO ${ks}.t (k, v) VALUES (1, 'one');
      INSERT INTO ${ks}.t (k, v) VALUES (2, 'two');
      INSERT INTO ${ks}.t (k, v) VALUES (3, 'three');`);
    const [o, t] = await rowsOnBoth(`SELECT k, v FROM ${ks}.t`);
    assert.deepEqual(o, ['1=one', '2=two', '3=three']);
    assert.deepEqual(t, o);
  });

  it("SELECT through cqlsh shows the rows, with Origin's value where the clusters differ", async () => {
    await origin!.execute(`INSERT INTO ${ks}.t (k, v) VALUES (4, 'origin-four')`);
    await target!.execute(`INSERT INTO ${ks}.t (k, v) VALUES (4, 'target-four')`);
    const r = await cqlsh(`SELECT k, v FROM ${ks}.t;`);
    for (const v of ['one', 'two', 'three', 'origin-four']) assert.match(r.stdout, new RegExp(`\\|\\s+${v}\\s*$`, 'm'), r.stdout);
    assert.doesNotMatch(r.stdout, /target-four/, r.stdout);
    assert.match(r.stdout, /\(4 rows\)/, r.stdout);
  });

  it('UPDATE and DELETE through cqlsh apply on both clusters', async () => {
    await cqlsh(`UPDATE ${ks}.t SET v = 'uno' WHERE k = 1;
      DELETE FROM ${ks}.t WHERE k = 2;
      DELETE v FROM ${ks}.t WHERE k = 3;`);
    const [o, t] = await rowsOnBoth(`SELECT k, v FROM ${ks}.t WHERE k IN (1, 2, 3)`);
    assert.deepEqual(o, ['1=uno', '3=null']);
    assert.deepEqual(t, o);
  });
});
