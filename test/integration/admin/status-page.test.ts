// The status page (GET / on the metrics port) in a real browser: Debian's chromium driven by playwright-core,
// against a proxy on the real clusters. The page loads, names both clusters, shows live figures (requests
// counted after a read load) and reflects a routing switch made through the admin API.
// Set ZDM_STATUS_SCREENSHOT=<file.png> to save a screenshot (docs/status-page.png was made that way).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import type { Client } from 'cassandra-driver';
import type { BrowserContext, Page } from 'playwright-core';

import {
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  originSession,
  targetSession,
  uniqueKeyspaceName,
} from '../../support/clusters';
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';
import { waitFor } from '../../support/wait';
import { metricsPort } from '../observability/http-helpers';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'status-page-token';

function setPrimary(proxy: TestProxy, primary: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: metricsPort(proxy),
        path: '/api/v1/routing',
        method: 'POST',
        agent: false,
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ primary_cluster: primary }));
  });
}

describe('status page in a real browser (chromium + playwright-core, real clusters)', () => {
  const ks = uniqueKeyspaceName('status_page');
  let proxy: TestProxy | undefined;
  let client: Client | undefined;
  let browser: BrowserContext | undefined;
  let page: Page | undefined;
  let profile: string | undefined;
  const names: Record<string, string> = {};

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install -y chromium (.ci/run installs it)`);
    await ensureClusters();
    await createKeyspace(ks);
    const [o, t] = await Promise.all([originSession({ timeoutMs: 20_000 }), targetSession({ timeoutMs: 20_000 })]);
    try {
      for (const c of [o, t]) await c.execute(`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`);
      names['origin'] = String((await o.execute('SELECT cluster_name FROM system.local')).rows[0]!['cluster_name']);
      names['target'] = String((await t.execute('SELECT cluster_name FROM system.local')).rows[0]!['cluster_name']);
    } finally {
      await Promise.all([o.shutdown(), t.shutdown()]);
    }
    proxy = await startTestProxy({ settings: { admin_token: TOKEN } });
    client = await proxyClient({ proxy, timeoutMs: 5000, extra: { isMetadataSyncEnabled: false } });
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'zdm-chromium-'));
    // a fresh user-data-dir (profile) per run
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 900 },
    });
    page = await browser.newPage();
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    if (profile) rmSync(profile, { recursive: true, force: true });
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
  });

  const url = (): string => `http://127.0.0.1:${metricsPort(proxy!)}/`;
  const text = async (selector: string): Promise<string> => (await page!.locator(selector).first().textContent())?.trim() ?? '';

  it('loads, names both clusters, and shows live figures', async () => {
    const res = await page!.goto(url());
    assert.equal(res?.status(), 200);
    assert.equal(await page!.title(), 'ZDM proxy status');
    assert.equal(await text('#cluster-origin .cluster-name'), names['origin']);
    assert.equal(await text('#cluster-target .cluster-name'), names['target']);
    assert.equal(await text('#origin-health'), 'UP');
    assert.equal(await text('#target-health'), 'UP');
    assert.equal(await text('#routing-primary'), 'ORIGIN');
    assert.equal(await text('#routing-source'), 'config');
    const before = Number(await text('#origin-requests-total'));
    assert.ok(Number.isFinite(before), 'requests total is a number');
    // traffic through the proxy: writes go to both clusters, reads to Origin
    for (let i = 0; i < 30; i++) {
      await client!.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, [i, `v${i}`], { prepare: true });
      await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [i], { prepare: true });
    }
    await page!.reload();
    const after = Number(await text('#origin-requests-total'));
    assert.ok(after >= before + 60, `Origin requests total ${before} -> ${after} after 60 requests`);
    assert.ok(Number(await text('#target-requests-total')) >= 30, 'Target got the writes');
    assert.match(await text('#origin-latency'), /^[\d.]+ ms \/ [\d.]+ ms \/ [\d.]+ ms$/, 'latency percentiles shown');
    assert.match(await text('#journal'), /journal is off/);
    const rate = await waitFor(
      'a request rate on the page (second sample)',
      async () => {
        await page!.reload();
        const r = await text('#origin-request-rate');
        return r !== '–' && Number(r) > 0 ? r : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 1000 },
    );
    assert.ok(Number(rate) > 0);
  });

  it('reflects a routing switch made through the API (the page reloads itself)', async () => {
    await page!.goto(url());
    assert.equal(await text('#routing-primary'), 'ORIGIN');
    assert.equal(await setPrimary(proxy!, 'TARGET'), 200);
    // no reload by the test: the page's own refresh picks the change up
    await waitFor('the page to show primary TARGET', async () => (await text('#routing-primary')) === 'TARGET', {
      timeoutMs: 15_000,
      intervalMs: 250,
    });
    assert.match(await text('#routing-source'), /^api \(changed /);
    const shot = process.env['ZDM_STATUS_SCREENSHOT'];
    if (shot) await page!.screenshot({ path: shot, fullPage: true });
    assert.equal(await setPrimary(proxy!, 'ORIGIN'), 200);
  });
});
