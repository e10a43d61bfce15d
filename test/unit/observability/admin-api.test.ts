// The routing admin API (GET/POST /api/v1/routing) on the HTTP server, with a real RoutingSettings object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startHttpServer, type HttpServerHandle } from '../../../src/observability/http-server';
import { STARTUP_HEALTH } from '../../../src/observability/health';
import { parseRoutingPatch, tokenMatches } from '../../../src/observability/admin-api';
import { RoutingSettings } from '../../../src/routing/settings';

const TOKEN = 's3cret';

function call(
  port: number,
  method: string,
  body?: string,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown>; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
    const req = http.request({ host: '127.0.0.1', port, path: '/api/v1/routing', method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
          headers: res.headers,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function withAdmin(
  token: string | undefined,
  settings: RoutingSettings | undefined,
  fn: (h: HttpServerHandle, warnings: string[]) => Promise<void>,
): Promise<void> {
  const warnings: string[] = [];
  const noop = (): void => undefined;
  const logger = { error: noop, info: noop, debug: noop, warn: (m: string) => warnings.push(m) } as never;
  const h = await startHttpServer({
    address: '127.0.0.1',
    port: 0,
    health: () => STARTUP_HEALTH,
    admin: { token, routing: () => settings },
    logger,
  });
  try {
    await fn(h, warnings);
  } finally {
    await h.close();
  }
}

test('GET reports the state and its source (config until a change through the API)', async () => {
  const s = new RoutingSettings({ primaryCluster: 'ORIGIN' });
  await withAdmin(TOKEN, s, async ({ port }) => {
    const r = await call(port, 'GET');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      primary_cluster: 'ORIGIN',
      read_mode: 'PRIMARY_ONLY',
      system_queries_mode: 'ORIGIN',
      source: 'config',
      changed_at: null,
    });
  });
});

test('POST with the token changes the settings at once, logged; the answer carries the new state', async () => {
  const s = new RoutingSettings();
  const changes: unknown[] = [];
  s.on('change', (next, prev, source) => changes.push({ next, prev, source }));
  await withAdmin(TOKEN, s, async ({ port }, warnings) => {
    const r = await call(
      port,
      'POST',
      JSON.stringify({ primary_cluster: 'target', read_mode: 'DUAL_ASYNC_ON_SECONDARY' }),
      TOKEN,
    );
    assert.equal(r.status, 200);
    assert.equal(r.json['primary_cluster'], 'TARGET');
    assert.equal(r.json['read_mode'], 'DUAL_ASYNC_ON_SECONDARY');
    assert.equal(r.json['source'], 'api');
    assert.equal(r.json['changed'], true);
    assert.equal(typeof r.json['changed_at'], 'string');
    assert.equal(s.primaryCluster, 'TARGET');
    assert.equal(s.readMode, 'DUAL_ASYNC_ON_SECONDARY');
    assert.equal(changes.length, 1);
    assert.match(
      warnings.join('\n'),
      /routing changed by 127\.0\.0\.1:\d+: primary_cluster ORIGIN -> TARGET, read_mode PRIMARY_ONLY -> DUAL_ASYNC_ON_SECONDARY/,
    );
    // the same again: 200, nothing changed, no event
    const again = await call(port, 'POST', JSON.stringify({ primary_cluster: 'TARGET' }), TOKEN);
    assert.equal(again.json['changed'], false);
    assert.equal(changes.length, 1);
  });
});

test('wrong or missing token: 401 and nothing changes', async () => {
  const s = new RoutingSettings();
  await withAdmin(TOKEN, s, async ({ port }) => {
    for (const token of ['wrong', '', undefined, `${TOKEN}x`]) {
      const r = await call(port, 'POST', JSON.stringify({ primary_cluster: 'TARGET' }), token);
      assert.equal(r.status, 401, `token ${JSON.stringify(token)}`);
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="zdm-proxy"');
    }
    assert.equal(s.primaryCluster, 'ORIGIN');
    assert.equal(s.source, 'config');
  });
});

test('admin API off without admin_token: POST 403 naming the setting; GET still answers', async () => {
  const s = new RoutingSettings();
  await withAdmin('', s, async ({ port }) => {
    const r = await call(port, 'POST', JSON.stringify({ primary_cluster: 'TARGET' }), '');
    assert.equal(r.status, 403);
    assert.match(String(r.json['error']), /admin_token \(ZDM_ADMIN_TOKEN\)/);
    assert.equal(s.primaryCluster, 'ORIGIN');
    assert.equal((await call(port, 'GET')).status, 200);
  });
});

test('bad bodies get 400 naming what is wrong; other methods 405; before the proxy is up 503', async () => {
  const s = new RoutingSettings();
  await withAdmin(TOKEN, s, async ({ port }) => {
    const cases: Array<[string, RegExp]> = [
      ['{', /not JSON/],
      ['[]', /must be a JSON object/],
      ['{}', /nothing to change/],
      ['{"primary_cluster":"BOTH"}', /invalid primary_cluster "BOTH": expected ORIGIN or TARGET/],
      ['{"read_mode":"DUAL"}', /invalid read_mode "DUAL"/],
      ['{"primary_cluster":1}', /primary_cluster must be a string/],
      ['{"system_queries_mode":"TARGET"}', /unknown field "system_queries_mode"/],
    ];
    for (const [body, re] of cases) {
      const r = await call(port, 'POST', body, TOKEN);
      assert.equal(r.status, 400, body);
      assert.match(String(r.json['error']), re, body);
    }
    assert.equal((await call(port, 'POST', 'x'.repeat(5000), TOKEN)).status, 413);
    assert.equal((await call(port, 'DELETE')).status, 405);
    assert.equal(s.source, 'config', 'nothing changed');
  });
  await withAdmin(TOKEN, undefined, async ({ port }) => {
    assert.equal((await call(port, 'GET')).status, 503);
    assert.equal((await call(port, 'POST', '{"primary_cluster":"TARGET"}', TOKEN)).status, 503);
  });
});

test('tokenMatches / parseRoutingPatch', () => {
  assert.equal(tokenMatches('Bearer abc', 'abc'), true);
  assert.equal(tokenMatches('bearer  abc ', 'abc'), true);
  assert.equal(tokenMatches('Basic abc', 'abc'), false);
  assert.equal(tokenMatches(undefined, 'abc'), false);
  assert.deepEqual(parseRoutingPatch('{"read_mode":"primary_only"}'), { readMode: 'PRIMARY_ONLY' });
});
