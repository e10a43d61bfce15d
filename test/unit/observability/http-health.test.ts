import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startHttpServer, type HttpServerHandle } from '../../../src/observability/http-server';
import { performHealthCheck, STARTUP_HEALTH, type HealthSource } from '../../../src/observability/health';
import { PrometheusProxyMetrics, NoopProxyMetrics, type ProxyMetrics } from '../../../src/observability/metrics';

interface LogEntry {
  level: string;
  msg: string;
}
function fakeLogger() {
  const entries: LogEntry[] = [];
  const mk = (level: string) => (a: unknown, b?: unknown) => {
    entries.push({ level, msg: typeof a === 'string' ? a : String(b ?? '') });
  };
  return { entries, logger: { error: mk('error'), info: mk('info'), debug: mk('debug'), warn: mk('warn') } as never };
}

function request(
  port: number,
  path: string,
  method = 'GET',
): Promise<{ status: number; body: string; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

function running(originFailures: number, targetFailures: number, originEndpoint?: string, targetEndpoint?: string): HealthSource {
  return {
    state: 'RUNNING',
    controlConnections: [
      { cluster: 'ORIGIN', consecutiveFailures: originFailures, endpoint: originEndpoint },
      { cluster: 'TARGET', consecutiveFailures: targetFailures, endpoint: targetEndpoint },
    ],
  };
}

async function withServer(
  opts: {
    metrics?: () => ProxyMetrics | undefined;
    metricsEnabled?: boolean;
    health: () => HealthSource | undefined;
    threshold?: number;
  },
  fn: (h: HttpServerHandle) => Promise<void>,
): Promise<void> {
  const { logger } = fakeLogger();
  const h = await startHttpServer({
    address: '127.0.0.1',
    port: 0,
    metrics: opts.metrics,
    metricsEnabled: opts.metricsEnabled,
    health: opts.health,
    heartbeatFailureThreshold: opts.threshold,
    logger,
  });
  try {
    assert.equal(h.listening, true);
    assert.ok(h.port > 0);
    await fn(h);
  } finally {
    await h.close();
  }
}

test('STARTUP: /metrics 503 not initialized, readiness 503 STARTUP with null statuses, liveness 200 OK', async () => {
  await withServer({ metrics: () => undefined, health: () => STARTUP_HEALTH }, async ({ port }) => {
    const m = await request(port, '/metrics');
    assert.equal(m.status, 503);
    assert.equal(m.body, "Proxy metrics haven't been initialized yet.\n");
    const r = await request(port, '/health/readiness');
    assert.equal(r.status, 503);
    assert.equal(r.type, 'application/json');
    assert.equal(r.body, '{"OriginStatus":null,"TargetStatus":null,"Status":"STARTUP"}');
    const l = await request(port, '/health/liveness');
    assert.equal(l.status, 200);
    assert.equal(l.body, 'OK');
    const lp = await request(port, '/health/liveness', 'POST');
    assert.equal(lp.status, 200);
  });
});

test('health() returning undefined and SHUTDOWN state both read as STARTUP', async () => {
  await withServer({ health: () => undefined }, async ({ port }) => {
    const r = await request(port, '/health/readiness');
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.body), { OriginStatus: null, TargetStatus: null, Status: 'STARTUP' });
  });
  assert.deepEqual(performHealthCheck({ state: 'SHUTDOWN', controlConnections: running(0, 0).controlConnections }, 1), {
    OriginStatus: null,
    TargetStatus: null,
    Status: 'STARTUP',
  });
});

test('RUNNING and healthy: readiness 200 UP with upstream JSON field names and order', async () => {
  await withServer({ health: () => running(0, 0, '10.0.0.1:9042', '10.0.0.2:9042'), threshold: 3 }, async ({ port }) => {
    const r = await request(port, '/health/readiness');
    assert.equal(r.status, 200);
    assert.equal(
      r.body,
      '{"OriginStatus":{"Addr":"10.0.0.1:9042","CurrentFailureCount":0,"FailureCountThreshold":3,"Status":"UP"},' +
        '"TargetStatus":{"Addr":"10.0.0.2:9042","CurrentFailureCount":0,"FailureCountThreshold":3,"Status":"UP"},"Status":"UP"}',
    );
  });
});

test('readiness: below threshold UP, at/above threshold DOWN (503), both DOWN, NOT_CONNECTED address', async () => {
  let src = running(0, 0, 'o:9042', 't:9042');
  await withServer({ health: () => src, threshold: 5 }, async ({ port }) => {
    src = running(4, 0, 'o:9042', 't:9042');
    let r = await request(port, '/health/readiness');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).OriginStatus.CurrentFailureCount, 4);
    assert.equal(JSON.parse(r.body).Status, 'UP');

    src = running(5, 0, undefined, 't:9042');
    r = await request(port, '/health/readiness');
    assert.equal(r.status, 503);
    const b = JSON.parse(r.body);
    assert.deepEqual(b.OriginStatus, { Addr: 'NOT_CONNECTED', CurrentFailureCount: 5, FailureCountThreshold: 5, Status: 'DOWN' });
    assert.equal(b.TargetStatus.Status, 'UP');
    assert.equal(b.Status, 'DOWN');

    src = running(6, 7, undefined, undefined);
    r = await request(port, '/health/readiness');
    assert.equal(r.status, 503);
    const c = JSON.parse(r.body);
    assert.equal(c.OriginStatus.Status, 'DOWN');
    assert.equal(c.TargetStatus.Status, 'DOWN');
    assert.equal(c.TargetStatus.CurrentFailureCount, 7);
    assert.equal(c.Status, 'DOWN');
  });
});

test('readiness with the default threshold 1: one failure is DOWN', () => {
  const rep = performHealthCheck(running(0, 1, 'a', 'b'), 1);
  assert.equal(rep.TargetStatus?.Status, 'DOWN');
  assert.equal(rep.Status, 'DOWN');
});

test('readiness: non-GET -> 404; unknown paths -> 404', async () => {
  await withServer({ health: () => running(0, 0, 'a', 'b') }, async ({ port }) => {
    const p = await request(port, '/health/readiness', 'POST');
    assert.equal(p.status, 404);
    assert.equal(p.body, '404 page not found\n');
    for (const path of ['/', '/nope', '/metrics/', '/health', '/health/readiness/x']) {
      const r = await request(port, path);
      assert.equal(r.status, 404, path);
    }
  });
});

test('/metrics: 200 Prometheus text when up; 503 again after close (shutdown); query string ignored', async () => {
  const metrics = new PrometheusProxyMetrics({ defaultCollectors: true });
  metrics.node('ORIGIN', '127.0.0.1:9042').connectionOpened();
  let current: ProxyMetrics | undefined = metrics;
  await withServer({ metrics: () => current, health: () => running(0, 0, 'a', 'b') }, async ({ port }) => {
    const r = await request(port, '/metrics?x=1');
    assert.equal(r.status, 200);
    assert.match(r.type ?? '', /^text\/plain/);
    assert.ok(
      r.body.includes(
        '# HELP zdm_proxy_request_duration_seconds Histogram that tracks the latency of requests at proxy entry point',
      ),
    );
    assert.ok(r.body.includes('zdm_origin_connections_total{node="127.0.0.1:9042"} 1'));
    assert.ok(r.body.includes('process_cpu_user_seconds_total'));
    metrics.close();
    assert.equal((await request(port, '/metrics')).status, 503);
    current = undefined;
    assert.equal((await request(port, '/metrics')).status, 503);
  });
});

test('/metrics with metrics disabled: 404 (no-op metrics, or metricsEnabled=false even before startup)', async () => {
  await withServer({ metrics: () => new NoopProxyMetrics(), health: () => running(0, 0, 'a', 'b') }, async ({ port }) => {
    const r = await request(port, '/metrics');
    assert.equal(r.status, 404);
    assert.equal(r.body, 'Metrics are disabled on this proxy instance.\n');
    assert.equal((await request(port, '/metrics', 'POST')).status, 404);
    assert.equal((await request(port, '/health/readiness')).status, 200, 'health still served');
  });
  await withServer({ metrics: () => undefined, metricsEnabled: false, health: () => STARTUP_HEALTH }, async ({ port }) => {
    assert.equal((await request(port, '/metrics')).status, 404);
  });
});

test('two servers with their own metrics do not collide', async () => {
  const m1 = new PrometheusProxyMetrics({ defaultCollectors: true });
  const m2 = new PrometheusProxyMetrics({ prefix: 'other', defaultCollectors: true });
  m1.preparedCacheMiss();
  await withServer({ metrics: () => m1, health: () => STARTUP_HEALTH }, async (h1) => {
    await withServer({ metrics: () => m2, health: () => STARTUP_HEALTH }, async (h2) => {
      const b1 = (await request(h1.port, '/metrics')).body;
      const b2 = (await request(h2.port, '/metrics')).body;
      assert.ok(b1.includes('zdm_pscache_miss_total 1'));
      assert.ok(!b2.includes('zdm_'));
      assert.ok(b2.includes('other_pscache_miss_total 0'));
    });
  });
  m1.close();
  m2.close();
});

test('port already in use: error logged, not listening, close() still resolves', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  const { logger, entries } = fakeLogger();
  try {
    const h = await startHttpServer({ address: '127.0.0.1', port, health: () => STARTUP_HEALTH, logger });
    assert.equal(h.listening, false);
    assert.equal(h.port, 0);
    assert.ok(
      entries.some((e) => e.level === 'error' && e.msg.includes(`127.0.0.1:${port}`)),
      JSON.stringify(entries),
    );
    await h.close();
  } finally {
    await new Promise<void>((r) => blocker.close(() => r()));
  }
});

test('close() ends an idle keep-alive connection and resolves', async () => {
  const { logger } = fakeLogger();
  const h = await startHttpServer({ address: '127.0.0.1', port: 0, health: () => STARTUP_HEALTH, logger, closeGraceMs: 100 });
  const agent = new http.Agent({ keepAlive: true });
  await new Promise<void>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: h.port, path: '/health/liveness', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      })
      .on('error', reject);
  });
  await h.close();
  agent.destroy();
  await assert.rejects(request(h.port, '/health/liveness'));
});
