// Metrics and health wired into the proxy (metrics.ts wiring notes, upstream-spec-notes 6.2, 6.3), with fake servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, Opcode } from '../../../src/protocol/constants';
import { Writer } from '../../../src/protocol/primitives';
import { loadConfig } from '../../../src/config/load';
import { startObservabilityServer, startProxy } from '../../../src/proxy';
import { FakeServer } from '../../support/fake-server';
import { TestClient, httpGet, proxyEnv, sample, silent, startHarness, until } from './harness';

test('request, connection, prepared cache and async metrics; readiness UP while running; the own HTTP server of the proxy closes with it', async () => {
  const h = await startHarness({ ZDM_READ_MODE: 'DUAL_ASYNC_ON_SECONDARY', ZDM_PROXY_REQUEST_TIMEOUT_MS: '2000' });
  let closed = false;
  try {
    const port = h.proxy.metricsPort;
    assert.ok(port > 0, 'the HTTP server listens');
    const ready = await httpGet(port, '/health/readiness');
    assert.equal(ready.status, 200);
    assert.equal(JSON.parse(ready.body).Status, 'UP');

    const c = await TestClient.ready(h.proxy.port);
    await until(() => h.proxy.counters.asyncConnectionsOpened === 1, 'the async connector');
    await c.query('INSERT INTO ks.t (k) VALUES (1)');
    await c.query('SELECT * FROM ks.t');
    const wr = new Writer(64)
      .writeInt(ErrorCode.WRITE_TIMEOUT)
      .writeString('timeout')
      .writeShort(1)
      .writeInt(0)
      .writeInt(1)
      .writeString('SIMPLE');
    h.target.onRequest((_f, d) =>
      d?.opcode === Opcode.QUERY && d.query.includes('fail_t')
        ? { opcode: Opcode.ERROR, body: Buffer.from(wr.finish()) }
        : undefined,
    );
    await c.query("INSERT INTO ks.t (k) VALUES ('fail_t')");
    await c.execute(Buffer.alloc(16, 3));
    await until(() => h.proxy.counters.asyncCompleted >= 1, 'the async read reply');
    const text = (await httpGet(port, '/metrics')).body;
    const o = `${h.origin.host}:${h.origin.port}`;
    const t = `${h.target.host}:${h.target.port}`;
    assert.equal(sample(text, 'zdm_origin_connections_total', { node: o }), 1);
    assert.equal(sample(text, 'zdm_target_connections_total', { node: t }), 1);
    assert.equal(sample(text, 'zdm_async_connections_total', { node: t }), 1);
    assert.equal(sample(text, 'zdm_proxy_request_duration_seconds_count', { type: 'writes' }), 2);
    assert.equal(sample(text, 'zdm_proxy_request_duration_seconds_count', { type: 'reads_origin' }), 1);
    assert.equal(sample(text, 'zdm_proxy_inflight_requests_total', { type: 'writes' }), 0);
    assert.equal(sample(text, 'zdm_proxy_failed_writes_total', { failed_on: 'target' }), 1);
    assert.equal(sample(text, 'zdm_target_requests_failed_total', { node: t, error: 'write_timeout' }), 1);
    assert.equal(sample(text, 'zdm_pscache_miss_total'), 1);
    assert.equal(sample(text, 'zdm_client_connections_total'), 1);
    assert.equal(sample(text, 'zdm_async_request_duration_seconds_count', { node: t, type: 'reads' }), 1);
    assert.equal(sample(text, 'zdm_origin_used_stream_ids_total', { node: o }), 0);
    c.close();
    await until(() => h.proxy.clientConnections === 0, 'the client to leave');
    await h.proxy.close();
    closed = true;
    // the proxy's own HTTP server is closed with it
    await assert.rejects(httpGet(port, '/health/liveness'));
  } finally {
    if (!closed) await h.proxy.close();
    await h.origin.stop();
    await h.target.stop();
  }
});

test('an HTTP server started before the proxy (CLI) says STARTUP until the proxy is up and again after its shutdown', async () => {
  const origin = await FakeServer.start({});
  const target = await FakeServer.start({});
  const config = loadConfig({ env: proxyEnv(origin, target) });
  const obs = await startObservabilityServer(config, silent);
  try {
    const before = await httpGet(obs.http.port, '/health/readiness');
    assert.equal(before.status, 503);
    assert.equal(JSON.parse(before.body).Status, 'STARTUP');
    assert.equal((await httpGet(obs.http.port, '/metrics')).status, 503);
    const proxy = await startProxy(config, { logger: silent, startTimeoutMs: 5000, observability: obs });
    assert.equal(proxy.metricsPort, obs.http.port);
    assert.equal(JSON.parse((await httpGet(obs.http.port, '/health/readiness')).body).Status, 'UP');
    assert.equal((await httpGet(obs.http.port, '/metrics')).status, 200);
    await proxy.close();
    const after = await httpGet(obs.http.port, '/health/readiness');
    assert.equal(JSON.parse(after.body).Status, 'STARTUP');
    assert.equal((await httpGet(obs.http.port, '/metrics')).status, 503);
  } finally {
    await obs.close();
    await origin.stop();
    await target.stop();
  }
});
