// The per-request metrics (in-flight gauges, used stream ids, request histograms) are kept in plain numbers
// and published at scrape time. These tests replay one sequence of calls on PrometheusProxyMetrics and on a
// reference registry built directly on prom-client's own Gauge/Histogram (how the values were recorded before),
// and require the exposition (text and JSON) of those families to be identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Gauge, Histogram, Registry } from 'prom-client';
import { PrometheusProxyMetrics, PROXY_REQUEST_TYPES } from '../../../src/observability/metrics';

const BUCKETS = { origin: [0.001, 0.01, 0.1, 1], target: [0.002, 0.02, 0.2], asyncRead: [0.005, 0.05] };

/** Reference: the same families recorded through prom-client children, as the implementation used to. */
function reference() {
  const registry = new Registry();
  const registers = [registry];
  const duration = new Histogram({
    name: 'zdm_proxy_request_duration_seconds',
    help: 'Histogram that tracks the latency of requests at proxy entry point',
    labelNames: ['type'] as const,
    buckets: BUCKETS.origin,
    registers,
  });
  const inflight = new Gauge({
    name: 'zdm_proxy_inflight_requests_total',
    help: 'Number of requests currently in flight in the proxy',
    labelNames: ['type'] as const,
    registers,
  });
  for (const type of PROXY_REQUEST_TYPES) {
    duration.zero({ type });
    inflight.set({ type }, 0);
  }
  const node = (prefix: string, help: string, usedHelp: string, buckets: number[]) => ({
    duration: new Histogram({
      name: `zdm_${prefix}_request_duration_seconds`,
      help,
      labelNames: ['node', 'type'] as const,
      buckets,
      registers,
    }),
    used: new Gauge({ name: `zdm_${prefix}_used_stream_ids_total`, help: usedHelp, labelNames: ['node'] as const, registers }),
  });
  const origin = node(
    'origin',
    'Histogram that tracks the latency of requests sent to origin clusters at cluster connector level',
    'Number of used stream ids in Origin connections',
    BUCKETS.origin,
  );
  const asyncN = node(
    'async',
    'Histogram that tracks the latency of async requests at async cluster connector level',
    'Number of used stream ids in Async connections',
    BUCKETS.asyncRead,
  );
  const asyncInflight = new Gauge({
    name: 'zdm_async_inflight_requests_total',
    help: 'Number of async requests currently in flight',
    labelNames: ['node'] as const,
    registers,
  });
  return { registry, duration, inflight, origin, asyncN, asyncInflight };
}

const FAMILIES = [
  'zdm_proxy_request_duration_seconds',
  'zdm_proxy_inflight_requests_total',
  'zdm_origin_request_duration_seconds',
  'zdm_origin_used_stream_ids_total',
  'zdm_async_request_duration_seconds',
  'zdm_async_used_stream_ids_total',
  'zdm_async_inflight_requests_total',
];

async function assertSameExposition(actual: Registry, expected: Registry): Promise<void> {
  for (const name of FAMILIES) {
    assert.equal(await actual.getSingleMetricAsString(name), await expected.getSingleMetricAsString(name), `text of ${name}`);
    const a = await actual.getSingleMetric(name)!.get();
    const e = await expected.getSingleMetric(name)!.get();
    assert.deepEqual(
      { name: a.name, help: a.help, type: a.type, values: a.values },
      { name: e.name, help: e.help, type: e.type, values: e.values },
      `JSON of ${name}`,
    );
  }
}

test('plain-number metrics expose exactly what prom-client children would for the same calls', async () => {
  const m = new PrometheusProxyMetrics({ defaultCollectors: false, buckets: BUCKETS });
  const ref = reference();
  // node creation order = series order; two nodes per group
  const nodes = ['10.0.0.1:9042', '10.0.0.2:9042'];
  const om = nodes.map((n) => m.node('ORIGIN', n));
  const am = nodes.map((n) => m.node('ASYNC', n));
  for (const node of nodes) {
    for (const type of ['reads', 'writes']) ref.origin.duration.zero({ node, type });
    ref.origin.used.set({ node }, 0);
  }
  for (const node of nodes) {
    for (const type of ['reads', 'writes']) ref.asyncN.duration.zero({ node, type });
    ref.asyncN.used.set({ node }, 0);
    ref.asyncInflight.set({ node }, 0);
  }
  await assertSameExposition(m.registry, ref.registry); // all at 0

  // deterministic pseudo-random sequence, values on and between bucket bounds and above the last one
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const values = [0, 0.001, 0.0015, 0.01, 0.05, 0.1, 0.2, 1, 3, 1e-7];
  for (let i = 0; i < 2000; i++) {
    const type = PROXY_REQUEST_TYPES[Math.floor(rnd() * 3)]!;
    const v = rnd() < 0.5 ? values[Math.floor(rnd() * values.length)]! : rnd() * 2;
    const ni = rnd() < 0.5 ? 0 : 1;
    const node = nodes[ni]!;
    switch (Math.floor(rnd() * 8)) {
      case 0:
        m.requestStarted(type);
        ref.inflight.inc({ type });
        break;
      case 1:
        m.requestFinished(type, v);
        ref.inflight.dec({ type });
        ref.duration.observe({ type }, v);
        break;
      case 2:
        m.requestAbandoned(type);
        ref.inflight.dec({ type });
        break;
      case 3: {
        const t = rnd() < 0.5 ? 'reads' : 'writes';
        om[ni]!.observeRequest(t, v);
        ref.origin.duration.observe({ node, type: t }, v);
        break;
      }
      case 4: {
        const t = rnd() < 0.5 ? 'reads' : 'writes';
        am[ni]!.observeRequest(t, v);
        ref.asyncN.duration.observe({ node, type: t }, v);
        break;
      }
      case 5: {
        const d = Math.floor(rnd() * 7) - 3;
        om[ni]!.addUsedStreamIds(d);
        if (d !== 0) ref.origin.used.inc({ node }, d);
        break;
      }
      case 6:
        if (rnd() < 0.5) {
          am[ni]!.streamIdAcquired();
          ref.asyncN.used.inc({ node });
        } else {
          am[ni]!.streamIdReleased();
          ref.asyncN.used.dec({ node });
        }
        break;
      case 7:
        if (rnd() < 0.5) {
          am[ni]!.asyncRequestStarted();
          ref.asyncInflight.inc({ node });
        } else {
          am[ni]!.asyncRequestFinished();
          ref.asyncInflight.dec({ node });
        }
        break;
    }
    if (i % 500 === 0) await assertSameExposition(m.registry, ref.registry); // scrapes in between change nothing
  }
  await assertSameExposition(m.registry, ref.registry);
  // and the full text keeps parsing as before: a spot check on one sample
  const text = await m.metricsText();
  assert.match(text, /zdm_proxy_request_duration_seconds_bucket\{le="\+Inf",type="writes"\} \d+/);
  m.close();
  assert.equal((await m.metricsText()).trim(), '');
});

test('plain histograms: values above the last bound count only in +Inf; non-finite values rejected as before', async () => {
  const m = new PrometheusProxyMetrics({ defaultCollectors: false, buckets: BUCKETS });
  m.requestStarted('writes');
  m.requestFinished('writes', 5);
  m.requestFinished('writes', 0.001);
  const text = await m.metricsText();
  assert.ok(text.includes('zdm_proxy_request_duration_seconds_bucket{le="1",type="writes"} 1'), text);
  assert.ok(text.includes('zdm_proxy_request_duration_seconds_bucket{le="+Inf",type="writes"} 2'), text);
  assert.ok(text.includes('zdm_proxy_request_duration_seconds_sum{type="writes"} 5.001'), text);
  assert.ok(text.includes('zdm_proxy_inflight_requests_total{type="writes"} -1'), text);
  assert.throws(() => m.requestFinished('writes', NaN), TypeError);
  m.close();
});
