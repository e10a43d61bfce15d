// Live routing changes through the admin API (POST /api/v1/routing, `zdm-proxy routing set`) against the real
// clusters, under a steady read load from the Node driver: reads move to Target and back with no client error
// and no restart; a wrong token gets 401 and changes nothing; read_mode switched live opens the async connector
// on the driver's existing connections.
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
import { proxyClient, runCli, startTestProxy, type TestProxy } from '../../support/proxy';
import { waitFor } from '../../support/wait';
import { httpGet, metricsPort, postRouting, scrape } from '../observability/http-helpers';

const TOKEN = 'live-routing-test-token';

async function routing(proxy: TestProxy): Promise<Record<string, unknown>> {
  const r = await httpGet(proxy, '/api/v1/routing');
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as Record<string, unknown>;
}

interface ReadRecord {
  startedAt: number;
  value?: unknown;
  error?: string;
}

/** `workers` loops of prepared reads until stopped; every result is recorded with its start time. */
function readLoad(client: Client, cql: string, workers = 4): { reads: ReadRecord[]; stop(): Promise<void> } {
  const reads: ReadRecord[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const rec: ReadRecord = { startedAt: performance.now() };
      try {
        const rs = await client.execute(cql, [1], { prepare: true });
        rec.value = rs.rows[0]?.['v'];
      } catch (e) {
        rec.error = (e as Error).message;
      }
      reads.push(rec);
    }
  });
  return {
    reads,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('live routing changes through the admin API (real clusters, steady read load)', () => {
  const ks = uniqueKeyspaceName('live_routing');
  let proxy: TestProxy | undefined;
  let client: Client | undefined;

  before(async () => {
    await ensureClusters();
    await createKeyspace(ks);
    const [o, t] = await Promise.all([originSession({ timeoutMs: 20_000 }), targetSession({ timeoutMs: 20_000 })]);
    try {
      for (const c of [o, t]) await c.execute(`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`);
      // Same key, different values: shows which cluster answered.
      await o.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (1, 'from-origin')`);
      await t.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (1, 'from-target')`);
    } finally {
      await Promise.all([o.shutdown(), t.shutdown()]);
    }
    proxy = await startTestProxy({ settings: { admin_token: TOKEN } });
    client = await proxyClient({ proxy, timeoutMs: 5000, extra: { isMetadataSyncEnabled: false } });
  });
  after(async () => {
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
  });

  it('switches reads to Target and back under load with no client error; a wrong token gets 401 and changes nothing', async () => {
    const p = proxy!;
    const cql = `SELECT v FROM ${ks}.kv WHERE k = ?`;
    assert.deepEqual(await routing(p), {
      primary_cluster: 'ORIGIN',
      read_mode: 'PRIMARY_ONLY',
      system_queries_mode: 'ORIGIN',
      source: 'config',
      changed_at: null,
    });
    const load = readLoad(client!, cql);
    try {
      await waitFor('reads flowing (from Origin)', () => load.reads.filter((r) => r.value === 'from-origin').length >= 20);

      // Wrong token, no token: 401, nothing changes.
      const wrong = await postRouting(p, { primary_cluster: 'TARGET' }, 'not-the-token');
      assert.equal(wrong.status, 401);
      assert.equal((await postRouting(p, { primary_cluster: 'TARGET' })).status, 401);
      const afterWrong = performance.now();
      await waitFor('more reads after the refused change', () => load.reads.filter((r) => r.startedAt > afterWrong).length >= 20);
      assert.deepEqual(
        new Set(load.reads.map((r) => r.value)),
        new Set(['from-origin']),
        'the refused change did not move any read',
      );
      assert.equal((await routing(p))['primary_cluster'], 'ORIGIN');
      assert.equal((await scrape(p)).value('zdm_routing_changes_total'), 0, 'no change counted');

      // The CLI applies the change to the instance and verifies it.
      const cli = await runCli(
        ['routing', 'set', '--primary', 'TARGET', '--instances', `127.0.0.1:${metricsPort(p)}`, '--token', TOKEN],
        {},
      );
      assert.equal(cli.code, 0, cli.stdout + cli.stderr);
      assert.match(cli.stdout, /1 of 1 instance\(s\) took the change/);
      const switched = performance.now();
      await waitFor('reads started after the switch', () => load.reads.filter((r) => r.startedAt > switched).length >= 50);
      const afterSwitch = load.reads.filter((r) => r.startedAt > switched);
      assert.deepEqual(
        new Set(afterSwitch.map((r) => r.value)),
        new Set(['from-target']),
        'every read started after the switch is answered by Target',
      );
      const state = await routing(p);
      assert.equal(state['primary_cluster'], 'TARGET');
      assert.equal(state['source'], 'api');

      // Back to Origin with a plain POST (the curl of the README).
      const back = await postRouting(p, { primary_cluster: 'ORIGIN' }, TOKEN);
      assert.equal(back.status, 200);
      assert.equal(back.body['changed'], true);
      const switchedBack = performance.now();
      await waitFor(
        'reads started after the switch back',
        () => load.reads.filter((r) => r.startedAt > switchedBack).length >= 50,
      );
      assert.deepEqual(
        new Set(load.reads.filter((r) => r.startedAt > switchedBack).map((r) => r.value)),
        new Set(['from-origin']),
        'every read started after the switch back is answered by Origin',
      );
    } finally {
      await load.stop();
    }
    const errors = load.reads.filter((r) => r.error !== undefined);
    assert.deepEqual(errors.slice(0, 5), [], `${errors.length} of ${load.reads.length} reads failed`);
    assert.ok(load.reads.length > 150, `${load.reads.length} reads in the run`);
    const s = await scrape(p);
    assert.equal(s.value('zdm_routing_changes_total', { source: 'api' }), 2, 'both changes counted');
    assert.ok(
      p.logs.some((l) => l.includes('Admin API: routing changed by') && l.includes('primary_cluster ORIGIN -> TARGET')),
      'the change is logged',
    );
  });

  it('read_mode switched live to DUAL_ASYNC_ON_SECONDARY: existing connections open their async connector; reads stay on the primary', async () => {
    const p = proxy!;
    const cql = `SELECT v FROM ${ks}.kv WHERE k = ?`;
    await client!.execute(cql, [1], { prepare: true });
    const before = await scrape(p);
    assert.equal(before.value('zdm_async_request_duration_seconds_count'), 0, 'no async read before the change');
    const r = await postRouting(p, { read_mode: 'dual_async_on_secondary' }, TOKEN);
    assert.equal(r.status, 200);
    assert.equal(r.body['read_mode'], 'DUAL_ASYNC_ON_SECONDARY');
    const values = new Set<unknown>();
    await waitFor(
      "async reads on the driver's existing connections",
      async () => {
        const rs = await client!.execute(cql, [1], { prepare: true });
        values.add(rs.rows[0]?.['v']);
        return (await scrape(p)).value('zdm_async_request_duration_seconds_count', { type: 'reads' }) > 0;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    assert.deepEqual(values, new Set(['from-origin']), "the client still gets the primary's rows");
    const off = await postRouting(p, { read_mode: 'PRIMARY_ONLY' }, TOKEN);
    assert.equal(off.status, 200);
  });

  it('the CLI reports an instance that did not take the change (exit 1), and refuses a bad value', async () => {
    const p = proxy!;
    const dead = '127.0.0.1:1'; // nothing listens on port 1
    const cli = await runCli(
      ['routing', 'set', '--read-mode', 'PRIMARY_ONLY', '--instances', `127.0.0.1:${metricsPort(p)},${dead}`, '--token', TOKEN],
      {},
    );
    assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /1 of 2 instance\(s\) took the change/);
    assert.match(cli.stderr, new RegExp(`did not take the change: ${dead.replace(/\./g, '\\.')}`));
    const wrongToken = await runCli(
      ['routing', 'set', '--primary', 'TARGET', '--instances', `127.0.0.1:${metricsPort(p)}`, '--token', 'nope'],
      {},
    );
    assert.equal(wrongToken.code, 1);
    assert.match(wrongToken.stdout, /FAILED: HTTP 401/);
    const bad = await runCli(
      ['routing', 'set', '--primary', 'BOTH', '--instances', `127.0.0.1:${metricsPort(p)}`, '--token', TOKEN],
      {},
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid --primary "BOTH": expected ORIGIN or TARGET/);
    const get = await runCli(['routing', 'get', '--instances', `127.0.0.1:${metricsPort(p)}`], {});
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /primary_cluster=ORIGIN read_mode=PRIMARY_ONLY source=api/);
  });
});
