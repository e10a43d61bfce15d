// Asynchronous dual reads (read_mode=DUAL_ASYNC_ON_SECONDARY, spec 5.4; upstream asyncreads_test.go)
// against the real clusters: reads are answered by Origin (primary) and ALSO sent, fire and forget,
// to Target on the async connection; what happens there never reaches the client but shows in the
// zdm_async_* metrics. Writes are never sent on the async connection.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';

import {
  createKeyspace, dropKeyspace, ensureClusters, originSession, pauseNode, resumeNode, targetSession, uniqueKeyspaceName,
  TARGET,
} from '../../support/clusters';
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';
import { scrape, sleep, waitFor } from '../observability/http-helpers';

const TARGET_NODE = `${TARGET.host}:${TARGET.port}`;
const ASYNC_FAILED = 'zdm_async_requests_failed_total';
const ASYNC_DURATION = 'zdm_async_request_duration_seconds_count';
/** Proxy timeout: short, so that async requests stuck on a paused Target time out quickly. */
const PROXY_TIMEOUT_MS = 1500;

describe('dual reads: read_mode=DUAL_ASYNC_ON_SECONDARY (real clusters)', () => {
  const ks = uniqueKeyspaceName('dual_reads');
  let origin: Client | undefined;
  let target: Client | undefined;
  let proxy: TestProxy | undefined;
  let client: Client | undefined;

  before(async () => {
    await ensureClusters();
    await createKeyspace(ks);
    [origin, target] = await Promise.all([originSession({ timeoutMs: 20_000 }), targetSession({ timeoutMs: 20_000 })]);
    for (const c of [origin, target]) {
      await c.execute(`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`);
      await c.execute(`CREATE TABLE ${ks}.c (k int PRIMARY KEY, n counter)`);
    }
    await origin.execute(`CREATE TABLE ${ks}.origin_only (k int PRIMARY KEY, v text)`);
    for (let k = 0; k < 3; k++) await origin.execute(`INSERT INTO ${ks}.origin_only (k, v) VALUES (${k}, 'origin-${k}')`);
    // Same key, different values per cluster: shows which cluster answered.
    await origin.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (1, 'from-origin')`);
    await target.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (1, 'from-target')`);
    proxy = await startTestProxy({
      settings: { read_mode: 'DUAL_ASYNC_ON_SECONDARY', proxy_request_timeout_ms: PROXY_TIMEOUT_MS },
    });
    client = await proxyClient({ proxy, timeoutMs: 5000, extra: { isMetadataSyncEnabled: false } });
  });
  after(async () => {
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await origin?.shutdown().catch(() => undefined);
    await target?.shutdown().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
  });

  it('a read of a table on both clusters returns Origin\'s row and is also sent to Target on the async connection', async () => {
    const before = await scrape(proxy!);
    const b = before.value(ASYNC_DURATION, { type: 'reads' });
    const rs = await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = 1`, [], { prepare: false });
    assert.deepEqual(rs.rows.map((r) => r['v']), ['from-origin']);
    const s = await waitFor('async read duration count +1', async () => {
      const x = await scrape(proxy!);
      return x.value(ASYNC_DURATION, { type: 'reads' }) >= b + 1 ? x : undefined;
    }, { timeoutMs: 5000 });
    assert.ok(s.value('zdm_async_connections_total', { node: TARGET_NODE }) >= 1, 'an async connection to the Target node is open');
    assert.equal(s.value(ASYNC_FAILED) - before.value(ASYNC_FAILED), 0, 'a read that Target can answer is no async failure');
  });

  it('a table on Origin only: the client gets Origin\'s rows while the async failure counter rises by one per read', async () => {
    const READS = 5;
    const b = (await scrape(proxy!)).value(ASYNC_FAILED);
    for (let i = 0; i < READS; i++) {
      const rs = await client!.execute(`SELECT k, v FROM ${ks}.origin_only`, [], { prepare: false });
      assert.deepEqual(rs.rows.map((r) => r['v'] as string).sort(), ['origin-0', 'origin-1', 'origin-2'], `read ${i}`);
    }
    await waitFor(`async failures +${READS}`, async () => (await scrape(proxy!)).value(ASYNC_FAILED) - b >= READS, { timeoutMs: 5000 });
    await sleep(300);
    const s = await scrape(proxy!);
    const moved = s.value(ASYNC_FAILED) - b;
    assert.equal(moved, READS, 'one async failure (Target: unconfigured table) per read');
    assert.equal(s.value(ASYNC_FAILED, { node: TARGET_NODE, error: 'other' }) >= READS, true, 'counted as error="other" on the Target node');
    assert.equal(s.value('zdm_proxy_failed_reads_total'), 0, 'async failures are not client-visible read failures');
  });

  it('writes are never sent on the async connection: a counter increment through the proxy lands once on Target', async () => {
    const asyncWritesBefore = (await scrape(proxy!)).value(ASYNC_DURATION, { type: 'writes' });
    await client!.execute(`UPDATE ${ks}.c SET n = n + 1 WHERE k = 1`, [], { prepare: false });
    await client!.execute(`UPDATE ${ks}.c SET n = n + 1 WHERE k = 2`, [], { prepare: true });
    await client!.execute(`UPDATE ${ks}.c SET n = n + 1 WHERE k = 2`, [], { prepare: true });
    await client!.batch([{ query: `UPDATE ${ks}.c SET n = n + 1 WHERE k = 3` }], { prepare: false, counter: true });
    await sleep(500); // an (erroneous) async copy would have landed by now
    const read = async (c: Client): Promise<Record<number, number>> => {
      const rs = await c.execute(`SELECT k, n FROM ${ks}.c`);
      return Object.fromEntries(rs.rows.map((r) => [r['k'] as number, Number(r['n'])]));
    };
    assert.deepEqual(await read(target!), { 1: 1, 2: 2, 3: 1 }, 'Target: each increment applied exactly once');
    assert.deepEqual(await read(origin!), { 1: 1, 2: 2, 3: 1 }, 'Origin: each increment applied exactly once');
    assert.equal((await scrape(proxy!)).value(ASYNC_DURATION, { type: 'writes' }) - asyncWritesBefore, 0, 'no async write was recorded');
  });

  it('with Target paused, reads keep being answered from Origin and the async timeouts show in the metrics', async () => {
    const READS = 20;
    // Warm up the prepared statement before the pause (PREPARE goes to both clusters).
    await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [1], { prepare: true });
    const b = await scrape(proxy!);
    const timeoutsBefore = b.value(ASYNC_FAILED, { error: 'client_timeout' });
    let s = b;
    await pauseNode('target');
    try {
      const results = await Promise.allSettled(Array.from({ length: READS }, (_, i) =>
        client!.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [1], { prepare: true, readTimeout: 2000 })
          .then((rs) => ({ i, v: rs.rows[0]?.['v'] }))));
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`#${i}: ${(r.reason as Error).message}`] : []));
      assert.deepEqual(failed, [], 'every read succeeds within the driver\'s 2 s read timeout while Target is paused');
      assert.deepEqual(
        new Set(results.map((r) => (r.status === 'fulfilled' ? r.value.v : undefined))),
        new Set(['from-origin']),
        'every read returns Origin\'s row',
      );
      // The async copies got no answer: they time out after proxy_request_timeout_ms (or are dropped).
      s = await waitFor('async client_timeout failures', async () => {
        const x = await scrape(proxy!);
        return x.value(ASYNC_FAILED, { error: 'client_timeout' }) > timeoutsBefore ? x : undefined;
      }, { timeoutMs: PROXY_TIMEOUT_MS + 8000, intervalMs: 250 });
    } finally {
      await resumeNode('target');
    }
    assert.ok(s.value(ASYNC_FAILED, { error: 'client_timeout' }) - timeoutsBefore >= 1);
    assert.equal(s.value('zdm_proxy_failed_reads_total'), 0, 'no client-visible read failure');
    // After the resume, the connection keeps working (reads, and writes to both clusters).
    const rs = await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = 1`, [], { prepare: false });
    assert.deepEqual(rs.rows.map((r) => r['v']), ['from-origin']);
  });
});
