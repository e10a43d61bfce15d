// Request-id tracing (upstream-spec-notes 4.8) against the real clusters: with tracing_enabled=true every QUERY/PREPARE/
// EXECUTE/BATCH carries a request id in its custom payload; both Cassandra nodes accept it (writes land on
// both, reads answer), and the proxy log names the id with each cluster's reply. (What the clusters receive
// byte for byte is checked with scriptable servers in test/unit/routing/request-id.test.ts.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';
import {
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  originSession,
  targetSession,
  uniqueKeyspaceName,
} from '../../support/clusters';
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';

describe('request-id tracing with real clusters', () => {
  const ks = uniqueKeyspaceName('tracing');
  let proxy: TestProxy | undefined;
  let client: Client | undefined;

  before(async () => {
    await ensureClusters();
    await createKeyspace(ks);
    for (const open of [originSession, targetSession]) {
      const c = await open();
      try {
        await c.execute(`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`);
      } finally {
        await c.shutdown();
      }
    }
    proxy = await startTestProxy({ logLevel: 'info', settings: { tracing_enabled: true, tracing_request_id_key: 'request-id' } });
    client = await proxyClient({ proxy });
  });
  after(async () => {
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
  });

  it('a prepared write with a request id lands on both clusters; the log follows the id to both replies', async () => {
    await client!.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, [1, 'traced'], { prepare: true });
    for (const open of [originSession, targetSession]) {
      const c = await open();
      try {
        assert.deepEqual(
          (await c.execute(`SELECT v FROM ${ks}.kv WHERE k = 1`)).rows.map((r) => r['v']),
          ['traced'],
        );
      } finally {
        await c.shutdown();
      }
    }
    const logs = proxy!.logs.join('\n');
    const m = /Request id ([0-9a-f]{32}) \(hex\) for query with stream id (\d+) and EXECUTE/.exec(logs);
    assert.ok(m, 'the EXECUTE got a request id');
    for (const connector of ['ORIGIN-CONNECTOR', 'TARGET-CONNECTOR']) {
      assert.ok(
        logs.includes(`Received response from ${connector} for query with stream id ${m[2]} and request id ${m[1]} (hex)`),
        connector,
      );
    }
    assert.match(logs, /Request id [0-9a-f]{32} \(hex\) for query with stream id \d+ and PREPARE/);
  });

  it('reads and batches work with the payload', async () => {
    await client!.batch(
      [
        { query: `INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, params: [2, 'b1'] },
        { query: `INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, params: [3, 'b2'] },
      ],
      { prepare: true },
    );
    const rs = await client!.execute(`SELECT k, v FROM ${ks}.kv WHERE k IN (2, 3)`);
    assert.deepEqual(rs.rows.map((r) => `${r['k']}=${r['v']}`).sort(), ['2=b1', '3=b2']);
    assert.match(proxy!.logs.join('\n'), /and BATCH/);
  });
});
