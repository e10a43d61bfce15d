// Prometheus metrics and health endpoints of the proxy against the real clusters (upstream-spec-notes 6.1-6.3;
// upstream metrics_test.go / runner_test.go). Metrics are scraped over HTTP from the proxy's
// metrics port; counts are compared before/after (whatever the driver sends itself is excluded by
// turning off its metadata sync and doing all DDL directly on the clusters before it connects).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';

import {
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  nodePid,
  originSession,
  pauseNode,
  resumeNode,
  targetSession,
  uniqueKeyspaceName,
  ORIGIN,
  TARGET,
} from '../../support/clusters';
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';
import { httpGet, metricsPort, scrape, waitFor, type Scrape } from './http-helpers';

const DURATION = 'zdm_proxy_request_duration_seconds_count';
const FAILED_WRITES = 'zdm_proxy_failed_writes_total';
const ORIGIN_NODE = `${ORIGIN.host}:${ORIGIN.port}`;
const TARGET_NODE = `${TARGET.host}:${TARGET.port}`;

const PROXY_FAMILIES = [
  'zdm_proxy_failed_connections_total',
  'zdm_proxy_failed_reads_total',
  'zdm_proxy_failed_writes_total',
  'zdm_proxy_request_duration_seconds',
  'zdm_proxy_inflight_requests_total',
  'zdm_pscache_entries_total',
  'zdm_pscache_miss_total',
  'zdm_client_connections_total',
];

/** Current values of the given series (name + labels) in one scrape. */
function snapshot(s: Scrape, series: Record<string, [string, Record<string, string>]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, [name, labels]] of Object.entries(series)) out[k] = s.value(name, labels);
  return out;
}

/** The samples one simple read through the proxy (routed to Origin) moves, by one each. */
const FENCE_SAMPLES: [string, Record<string, string>][] = [
  [DURATION, { type: 'reads_origin' }],
  ['zdm_origin_request_duration_seconds_count', { node: ORIGIN_NODE, type: 'reads' }],
];

/** How much the fence read moves a series (name + labels it must include): 1 when it covers a fence sample. */
function fenceDelta([name, labels]: [string, Record<string, string>]): number {
  return FENCE_SAMPLES.filter(([n, l]) => n === name && Object.entries(labels).every(([k, v]) => l[k] === v)).length;
}

/**
 * Runs `action`, waits until every series moved by at least its expected delta, then asserts each moved by
 * EXACTLY its expected delta. No increment can still be on its way then: the proxy records a request's metrics
 * before it writes the reply, and a fence (one more read, after the action's replies) is counted too: the deltas
 * must be the expected ones plus exactly what the fence moves (the fence shows that the scrape sees what came after).
 */
async function assertDeltas(
  proxy: TestProxy,
  fence: () => Promise<unknown>,
  series: Record<string, [string, Record<string, string>]>,
  expected: Record<string, number>,
  action: () => Promise<void>,
): Promise<void> {
  const before = snapshot(await scrape(proxy), series);
  await action();
  const reached = async (): Promise<boolean> => {
    const now = snapshot(await scrape(proxy), series);
    return Object.entries(expected).every(([k, d]) => now[k]! - before[k]! >= d);
  };
  try {
    await waitFor('metric deltas', reached, { timeoutMs: 5000 });
  } catch {
    // fall through: the exact comparison below reports what moved
  }
  await fence();
  const now = snapshot(await scrape(proxy), series);
  const deltas: Record<string, number> = {};
  const want: Record<string, number> = {};
  for (const k of Object.keys(series)) {
    deltas[k] = now[k]! - before[k]!;
    if (k in expected) want[k] = expected[k]! + fenceDelta(series[k]!);
  }
  assert.deepEqual(
    deltas,
    { ...deltas, ...want },
    `metric deltas, with one fence read after the action (before ${JSON.stringify(before)}, after ${JSON.stringify(now)})`,
  );
}

describe('observability: Prometheus metrics and health endpoints (real clusters)', () => {
  const ks = uniqueKeyspaceName('obs_metrics');
  let proxy: TestProxy | undefined;
  let client: Client | undefined;

  before(async () => {
    await ensureClusters();
    await createKeyspace(ks);
    const [o, t] = await Promise.all([originSession({ timeoutMs: 20_000 }), targetSession({ timeoutMs: 20_000 })]);
    try {
      for (const c of [o, t]) await c.execute(`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`);
      await o.execute(`CREATE TABLE ${ks}.origin_only (k int PRIMARY KEY, v text)`);
      await t.execute(`CREATE TABLE ${ks}.target_only (k int PRIMARY KEY, v text)`);
    } finally {
      await Promise.all([o.shutdown(), t.shutdown()]);
    }
    proxy = await startTestProxy();
    // No metadata sync: the driver sends nothing of its own after connect (schema refreshes would be reads).
    client = await proxyClient({ proxy, extra: { isMetadataSyncEnabled: false } });
  });
  after(async () => {
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
  });
  /** The fence of assertDeltas: one simple read on the same client (see FENCE_SAMPLES). */
  const fence = () => client!.execute(`SELECT v FROM ${ks}.kv WHERE k = 0`, [], { prepare: false });

  it('/metrics lists every proxy-level family; no zdm_async_* family with read_mode=PRIMARY_ONLY', async () => {
    const s = await scrape(proxy!);
    const names = s.names();
    const missing = PROXY_FAMILIES.filter((n) => !names.has(n));
    assert.deepEqual(missing, [], 'proxy-level families missing from /metrics');
    assert.equal(s.value('zdm_client_connections_total') >= 1, true, "the driver's connection(s) are counted");
    assert.equal(
      s.value('zdm_origin_connections_total', { node: ORIGIN_NODE }) >= 1,
      true,
      'origin connection gauge for the node',
    );
    assert.equal(
      s.value('zdm_target_connections_total', { node: TARGET_NODE }) >= 1,
      true,
      'target connection gauge for the node',
    );
    assert.deepEqual(
      [...names].filter((n) => n.startsWith('zdm_async_')),
      [],
      'async families only exist in dual-read mode',
    );
  });

  it('N writes and M reads (simple statements) move the request histogram counts by exactly N and M', async () => {
    const N = 6;
    const M = 9;
    await assertDeltas(
      proxy!,
      fence,
      {
        writes: [DURATION, { type: 'writes' }],
        readsOrigin: [DURATION, { type: 'reads_origin' }],
        readsTarget: [DURATION, { type: 'reads_target' }],
        originWrites: ['zdm_origin_request_duration_seconds_count', { node: ORIGIN_NODE, type: 'writes' }],
        targetWrites: ['zdm_target_request_duration_seconds_count', { node: TARGET_NODE, type: 'writes' }],
        originReads: ['zdm_origin_request_duration_seconds_count', { node: ORIGIN_NODE, type: 'reads' }],
        targetReads: ['zdm_target_request_duration_seconds_count', { node: TARGET_NODE, type: 'reads' }],
      },
      { writes: N, readsOrigin: M, readsTarget: 0, originWrites: N, targetWrites: N, originReads: M, targetReads: 0 },
      async () => {
        for (let i = 0; i < N; i++)
          await client!.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (${i}, 'v${i}')`, [], { prepare: false });
        for (let i = 0; i < M; i++) await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = ${i % N}`, [], { prepare: false });
      },
    );
    const s = await scrape(proxy!);
    assert.ok(
      s.value('zdm_proxy_request_duration_seconds_sum', { type: 'writes' }) > 0,
      'the writes histogram has a positive sum',
    );
    assert.equal(s.value('zdm_proxy_inflight_requests_total'), 0, 'nothing in flight once all replies arrived');
  });

  it('prepared statements: each EXECUTE is counted by type, the PREPAREs are not', async () => {
    const N = 4;
    const M = 5;
    await assertDeltas(
      proxy!,
      fence,
      { writes: [DURATION, { type: 'writes' }], readsOrigin: [DURATION, { type: 'reads_origin' }] },
      { writes: N, readsOrigin: M },
      async () => {
        for (let i = 0; i < N; i++)
          await client!.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, [100 + i, `p${i}`], { prepare: true });
        for (let i = 0; i < M; i++)
          await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [100 + (i % N)], { prepare: true });
      },
    );
  });

  it('a write failing on Target only (table on Origin only) moves failed_writes{failed_on="target"} by exactly one', async () => {
    await assertDeltas(
      proxy!,
      fence,
      {
        target: [FAILED_WRITES, { failed_on: 'target' }],
        origin: [FAILED_WRITES, { failed_on: 'origin' }],
        both: [FAILED_WRITES, { failed_on: 'both' }],
        writes: [DURATION, { type: 'writes' }],
        targetFailed: ['zdm_target_requests_failed_total', { node: TARGET_NODE }],
        originFailed: ['zdm_origin_requests_failed_total', { node: ORIGIN_NODE }],
      },
      { target: 1, origin: 0, both: 0, writes: 1, targetFailed: 1, originFailed: 0 },
      async () => {
        await assert.rejects(
          client!.execute(`INSERT INTO ${ks}.origin_only (k, v) VALUES (1, 'x')`, [], { prepare: false }),
          /origin_only/,
          "the client gets Target's error",
        );
      },
    );
  });

  it('a read failing on Origin (table on Target only) moves failed_reads{cluster="origin"} by exactly one', async () => {
    await assertDeltas(
      proxy!,
      fence,
      {
        origin: ['zdm_proxy_failed_reads_total', { cluster: 'origin' }],
        target: ['zdm_proxy_failed_reads_total', { cluster: 'target' }],
        writes: [FAILED_WRITES, {}],
        reads: [DURATION, { type: 'reads_origin' }],
      },
      { origin: 1, target: 0, writes: 0, reads: 1 },
      async () => {
        await assert.rejects(
          client!.execute(`SELECT v FROM ${ks}.target_only WHERE k = 1`, [], { prepare: false }),
          /target_only/,
        );
      },
    );
  });

  it('zdm_client_connections_total follows client connections', async () => {
    const before = (await scrape(proxy!)).value('zdm_client_connections_total');
    const extra = await proxyClient({ proxy: proxy!, extra: { isMetadataSyncEnabled: false } });
    let during: number;
    try {
      during = await waitFor(
        'client connections gauge up',
        async () => {
          const v = (await scrape(proxy!)).value('zdm_client_connections_total');
          return v > before ? v : undefined;
        },
        { timeoutMs: 5000 },
      );
    } finally {
      await extra.shutdown();
    }
    assert.ok(during > before);
    await waitFor(
      'client connections gauge back',
      async () => (await scrape(proxy!)).value('zdm_client_connections_total') === before,
      { timeoutMs: 5000 },
    );
  });

  it('CLI mode: the HTTP server serves /metrics and readiness UP', async () => {
    const cp = await startTestProxy({ mode: 'cli' });
    try {
      const s = await scrape(cp);
      assert.ok(s.has('zdm_proxy_request_duration_seconds'), 'proxy-level families listed');
      const r = await httpGet(cp, '/health/readiness');
      assert.equal(r.status, 200, r.body);
      assert.equal((JSON.parse(r.body) as { Status: string }).Status, 'UP');
    } finally {
      await cp.stop();
    }
  });

  it('/health/liveness answers 200 OK, /health/readiness 200 UP with both control connections, unknown paths 404', async () => {
    const live = await httpGet(proxy!, '/health/liveness');
    assert.equal(live.status, 200);
    assert.equal(live.body.trim(), 'OK');
    const ready = await httpGet(proxy!, '/health/readiness');
    assert.equal(ready.status, 200, ready.body);
    const report = JSON.parse(ready.body) as Record<
      string,
      { Status?: string; Addr?: string; CurrentFailureCount?: number } | string | null
    >;
    assert.equal(report['Status'], 'UP');
    assert.deepEqual(
      { o: (report['OriginStatus'] as { Status: string }).Status, t: (report['TargetStatus'] as { Status: string }).Status },
      { o: 'UP', t: 'UP' },
    );
    assert.equal((report['OriginStatus'] as { Addr: string }).Addr, ORIGIN_NODE);
    assert.equal((report['TargetStatus'] as { Addr: string }).Addr, TARGET_NODE);
    assert.equal((await httpGet(proxy!, '/health/readiness', 'POST')).status, 404, 'readiness is GET only');
    assert.equal((await httpGet(proxy!, '/no/such/path')).status, 404);
  });

  describe('readiness follows the control connections (heartbeat_interval_ms=500, heartbeat_failure_threshold=1)', () => {
    let hp: TestProxy | undefined;
    before(async () => {
      hp = await startTestProxy({
        settings: {
          heartbeat_interval_ms: 500,
          heartbeat_failure_threshold: 1,
          heartbeat_retry_interval_min_ms: 100,
          heartbeat_retry_interval_max_ms: 1000,
        },
      });
    });
    after(async () => {
      await hp?.stop().catch(() => undefined);
    });

    it('503 DOWN (Target DOWN, Origin UP) while Target is paused, 200 UP once it is back; liveness stays 200', async () => {
      const first = await httpGet(hp!, '/health/readiness');
      assert.equal(first.status, 200, `readiness before the pause: ${first.body}`);
      const pid = await nodePid('target');
      await pauseNode('target');
      try {
        // DOWN once a heartbeat OPTIONS is unanswered for the control connection's request timeout (10 s).
        const down = await waitFor(
          'readiness 503 with Target paused',
          async () => {
            const r = await httpGet(hp!, '/health/readiness');
            return r.status === 503 ? r : undefined;
          },
          { timeoutMs: 40_000, intervalMs: 250 },
        ).catch(async (e: Error) => {
          const now = await nodePid('target');
          throw new Error(
            `${e.message}${now !== pid ? ` (the Target node was restarted meanwhile by someone else: pid ${pid} -> ${now})` : ''}`,
          );
        });
        const report = JSON.parse(down.body) as {
          Status: string;
          OriginStatus: { Status: string } | null;
          TargetStatus: { Status: string; CurrentFailureCount: number; FailureCountThreshold: number } | null;
        };
        assert.equal(report.Status, 'DOWN', down.body);
        assert.equal(report.OriginStatus?.Status, 'UP', down.body);
        assert.equal(report.TargetStatus?.Status, 'DOWN', down.body);
        assert.ok((report.TargetStatus?.CurrentFailureCount ?? 0) >= 1, down.body);
        assert.equal(report.TargetStatus?.FailureCountThreshold, 1, down.body);
        const live = await httpGet(hp!, '/health/liveness');
        assert.equal(live.status, 200, 'liveness does not depend on the clusters');
        assert.equal((await httpGet(hp!, '/metrics')).status, 200, '/metrics keeps answering');
      } finally {
        await resumeNode('target');
      }
      const up = await waitFor(
        'readiness 200 once Target is back',
        async () => {
          const r = await httpGet(hp!, '/health/readiness');
          return r.status === 200 ? r : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      assert.equal((JSON.parse(up.body) as { Status: string }).Status, 'UP');
    });
  });

  it('metrics_port=0: startProxy reports the bound port (metricsPort) and the endpoints answer there', async () => {
    const zp = await startTestProxy({ settings: { metrics_port: 0 } });
    try {
      const reported = (zp.handle as unknown as { metricsPort?: unknown } | undefined)?.metricsPort;
      assert.equal(typeof reported, 'number', 'startProxy returns metricsPort');
      assert.ok((reported as number) > 0, `metricsPort is the bound port, got ${String(reported)}`);
      assert.equal(metricsPort(zp), reported);
      const live = await httpGet(zp, '/health/liveness');
      assert.equal(live.status, 200);
      assert.equal((await httpGet(zp, '/metrics')).status, 200);
    } finally {
      await zp.stop();
    }
  });

  describe('metrics_enabled=false', () => {
    let dp: TestProxy | undefined;
    let dc: Client | undefined;
    before(async () => {
      dp = await startTestProxy({ settings: { metrics_enabled: false } });
      dc = await proxyClient({ proxy: dp, extra: { isMetadataSyncEnabled: false } });
    });
    after(async () => {
      await dc?.shutdown().catch(() => undefined);
      await dp?.stop().catch(() => undefined);
    });

    it('/metrics answers 404 (also after traffic) while the health endpoints still work', async () => {
      await dc!.execute(`SELECT v FROM ${ks}.kv WHERE k = 0`, [], { prepare: false });
      const m = await httpGet(dp!, '/metrics');
      assert.equal(m.status, 404, m.body);
      assert.match(m.body, /Metrics are disabled on this proxy instance\./);
      const live = await httpGet(dp!, '/health/liveness');
      assert.equal(live.status, 200);
      const ready = await httpGet(dp!, '/health/readiness');
      assert.equal(ready.status, 200, ready.body);
      assert.equal((JSON.parse(ready.body) as { Status: string }).Status, 'UP');
    });
  });
});
