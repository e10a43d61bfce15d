// TLS towards a cluster (spec 7.2, one-way: `target_tls_server_ca_path`): Target runs with client TLS on its
// native port; the proxy's control connection and client-side cluster connections to Target use TLS, and
// dual writes and reads still work end to end. Target is restarted with TLS for this file and restored after.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';
import {
  ORIGIN,
  TARGET,
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  originSession,
  setNodeOptions,
  targetSession,
  tlsCaFile,
  uniqueKeyspaceName,
} from '../../support/clusters';
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';

/** (Re)start Target with client TLS on or off, keeping its other options; no-op when already so. */
const setTargetTls = (tls: boolean): Promise<void> => setNodeOptions({ target: { tls } });

describe('proxy: TLS towards a cluster (Target with client TLS, real clusters)', () => {
  const ks = uniqueKeyspaceName('proxy_tls');
  let proxy: TestProxy | undefined;
  let client: Client | undefined;

  before(async () => {
    await ensureClusters();
    await setTargetTls(true);
    await createKeyspace(ks);
    for (const open of [originSession, targetSession]) {
      const c = await open({ timeoutMs: 20_000 });
      try {
        await c.execute(`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`);
      } finally {
        await c.shutdown();
      }
    }
    proxy = await startTestProxy({ settings: { target_tls_server_ca_path: await tlsCaFile() }, logLevel: 'info' });
    client = await proxyClient({ proxy, timeoutMs: 10_000 });
  });

  after(async () => {
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
    await setTargetTls(false);
  });

  it('the proxy starts with a one-way TLS control connection to Target and logs the TLS mode of each side', () => {
    const logs = proxy!.logs.join('\n');
    assert.match(logs, /One-way TLS configured for Target\. Please note that hostname verification is not currently supported\./);
    assert.match(logs, /TLS was not configured for Origin/);
  });

  it('writes through the proxy land on Origin (plain) and on Target (TLS); reads come from Origin', async () => {
    await client!.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (1, 'over-tls')`);
    for (const open of [originSession, targetSession]) {
      const c = await open({ timeoutMs: 20_000 });
      try {
        const rs = await c.execute(`SELECT v FROM ${ks}.kv WHERE k = 1`);
        assert.deepEqual(rs.rows.map((r) => r['v']), ['over-tls']);
      } finally {
        await c.shutdown();
      }
    }
    const t = await targetSession({ timeoutMs: 20_000 });
    try {
      await t.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (2, 'target-only-value')`);
    } finally {
      await t.shutdown();
    }
    const o = await originSession({ timeoutMs: 20_000 });
    try {
      await o.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (2, 'origin-value')`);
    } finally {
      await o.shutdown();
    }
    const read = await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = 2`);
    assert.deepEqual(read.rows.map((r) => r['v']), ['origin-value'], 'read served by the primary (Origin)');
  });

  it('a proxy without the CA cannot reach the TLS port in plain text: startup keeps retrying and the client is never admitted', async () => {
    const { startProxy } = await import('../../../src/proxy');
    const { loadConfig } = await import('../../../src/config');
    const pino = (await import('pino')).default;
    const config = loadConfig({
      env: {
        ZDM_ORIGIN_CONTACT_POINTS: ORIGIN.host,
        ZDM_TARGET_CONTACT_POINTS: TARGET.host,
        ZDM_ORIGIN_USERNAME: 'cassandra',
        ZDM_ORIGIN_PASSWORD: 'cassandra',
        ZDM_TARGET_USERNAME: 'cassandra',
        ZDM_TARGET_PASSWORD: 'cassandra',
        ZDM_PROXY_LISTEN_ADDRESS: '127.0.0.1',
        ZDM_PROXY_LISTEN_PORT: '0',
        ZDM_METRICS_PORT: '0',
        ZDM_TARGET_CONNECTION_TIMEOUT_MS: '2000',
      },
    });
    await assert.rejects(startProxy(config, { logger: pino({ level: 'silent' }), startTimeoutMs: 3000 }));
  });
});
