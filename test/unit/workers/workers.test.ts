// proxy_workers (extension): the setting's accepted values and errors, what each worker runs with, and the
// readiness report of the primary (DOWN while a worker is missing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveWorkers } from '../../../src/config/load';
import { performHealthCheck, type HealthSource } from '../../../src/observability/health';
import { workerConfig } from '../../../src/workers/worker';
import { journalDirs, workerJournalDirName } from '../../../src/journal/dirs';
import { WriteJournal } from '../../../src/journal/journal';
import { runJournalCommand } from '../../../src/commands/journal';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { renderStatusPage, type StatusSource } from '../../../src/observability/status-page';
import { startHttpServer } from '../../../src/observability/http-server';
import { RoutingSettings } from '../../../src/routing/settings';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { YAML_BASE, baseEnv, envError, loadEnv, yamlConfig } from '../config/helpers';
import { journalMeta, quietLog } from '../../support/journal';

test('proxy_workers: default 1; a number; 0 and auto = one per CPU; env and YAML', () => {
  assert.equal(loadEnv().workers, 1);
  assert.equal(loadEnv({ ZDM_PROXY_WORKERS: '2' }).workers, 2);
  assert.equal(loadEnv({ ZDM_PROXY_WORKERS: ' 3 ' }).workers, 3);
  assert.equal(
    resolveWorkers('auto', () => 6),
    6,
  );
  assert.equal(
    resolveWorkers('AUTO', () => 6),
    6,
  );
  assert.equal(
    resolveWorkers('0', () => 4),
    4,
  );
  assert.equal(
    resolveWorkers('0', () => 0),
    1,
    'never fewer than one',
  );
  assert.ok(loadEnv({ ZDM_PROXY_WORKERS: 'auto' }).workers >= 1);
  const y = yamlConfig(`${YAML_BASE}\nproxy_workers: 2\n`);
  assert.equal(y.workers, 2);
});

test('proxy_workers: a clear error naming the setting for anything else', () => {
  for (const bad of ['-1', 'two', '1.5', '257', '']) {
    const e = envError({ ZDM_PROXY_WORKERS: bad });
    assert.match(e.message, /invalid value for ZDM_PROXY_WORKERS; it must be a whole number from 1 to 256, or 0 or "auto"/, bad);
    assert.deepEqual(e.settings, ['proxy_workers'], bad);
  }
});

test('a worker runs with its own journal directory, its share of the connection limit and the routing of the moment', () => {
  const c = loadEnv({ ZDM_PROXY_WORKERS: '3', ZDM_JOURNAL_DIR: '/var/zdm', ZDM_PROXY_MAX_CLIENT_CONNECTIONS: '1000' });
  const w = workerConfig(c, 2, { primaryCluster: 'TARGET', readMode: 'DUAL_ASYNC_ON_SECONDARY', systemQueriesMode: 'ORIGIN' });
  assert.equal(w.settings.journal_dir, `/var/zdm/${workerJournalDirName(2)}`);
  assert.equal(w.settings.proxy_max_client_connections, 334);
  assert.equal(w.primaryCluster, 'TARGET');
  assert.equal(w.secondaryCluster, 'ORIGIN');
  assert.equal(w.readMode, 'DUAL_ASYNC_ON_SECONDARY');
  assert.equal(w.dualReadsEnabled, true);
  const plain = workerConfig(loadEnv({ ZDM_PROXY_WORKERS: '2' }), 1, undefined);
  assert.equal(plain.settings.journal_dir, '', 'no journal stays no journal');
  assert.equal(plain.primaryCluster, 'ORIGIN');
});

test('readiness with workers: DOWN while one is missing, with the Workers detail', () => {
  const source = (running: number): HealthSource => ({
    state: 'RUNNING',
    controlConnections: [
      { cluster: 'ORIGIN', consecutiveFailures: 0, endpoint: '10.0.0.1:9042' },
      { cluster: 'TARGET', consecutiveFailures: 0, endpoint: '10.0.0.2:9042' },
    ],
    workers: { expected: 2, running },
  });
  const all = performHealthCheck(source(2), 1);
  assert.equal(all.Status, 'UP');
  assert.deepEqual(all.Workers, { Expected: 2, Running: 2 });
  const gap = performHealthCheck(source(1), 1);
  assert.equal(gap.Status, 'DOWN');
  assert.deepEqual(gap.Workers, { Expected: 2, Running: 1 });
  assert.equal(gap.OriginStatus?.Status, 'UP', 'the clusters themselves are still reported as they are');
  const single = performHealthCheck({ ...source(2), workers: undefined }, 1);
  assert.equal(single.Workers, undefined, 'no Workers detail with one process');
});

test('journal with workers: one file per worker under journal_dir; `zdm-proxy journal` reads them all', async () => {
  const root = mkdtempSync(join(tmpdir(), 'zdm-workers-journal-'));
  try {
    assert.deepEqual(journalDirs(root), [], 'nothing yet');
    for (const [w, n] of [
      [2, 1],
      [1, 2],
    ] as const) {
      const j = new WriteJournal(join(root, workerJournalDirName(w)), 1 << 20, quietLog);
      for (let i = 0; i < n; i++) assert.equal(await j.append(journalMeta(w * 10 + i, 'TARGET'), Buffer.from('m')), true);
      await j.close();
    }
    assert.deepEqual(journalDirs(root), [join(root, 'worker-1'), join(root, 'worker-2')]);
    let out = '';
    const io = {
      out: (s: string) => void (out += s),
      err: (s: string) => assert.fail(s),
      env: { ...baseEnv(), ZDM_JOURNAL_DIR: root } as NodeJS.ProcessEnv,
    };
    assert.equal(await runJournalCommand(['list'], io), 0);
    assert.deepEqual(
      [...out.matchAll(/"INSERT (\d+)"/g)].map((m) => m[1]),
      ['10', '11', '20'],
      'the records of both workers',
    );
    out = '';
    assert.equal(await runJournalCommand(['replay', '--to', 'target', '--dry-run'], io), 0);
    assert.match(out, /3 record\(s\) missed by TARGET: .*3 would be applied/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('status page: the Workers section shows running / configured (DOWN class while one is missing)', () => {
  const render = (source: StatusSource): string =>
    renderStatusPage({
      now: new Date(0),
      version: '1',
      refreshSeconds: 5,
      routing: new RoutingSettings(),
      heartbeatFailureThreshold: 1,
      prefix: 'zdm',
      source,
      window: {},
    });
  const page = (running: number): string => render({ clusters: () => [], workers: () => ({ expected: 2, running }) });
  assert.match(page(2), /id="workers-running" class="up">2 \/ 2</);
  assert.match(page(1), /id="workers-running" class="down">1 \/ 2</);
  const single = render({ clusters: () => [] });
  assert.doesNotMatch(single, /workers-running/, 'no Workers section with one process');
});

test('admin API with workers: the POST answers once the broadcast settled; 500 naming the worker when one did not acknowledge', async () => {
  const settings = new RoutingSettings();
  let fail: string | undefined;
  const seen: string[] = [];
  const noop = (): void => undefined;
  const h = await startHttpServer({
    address: '127.0.0.1',
    port: 0,
    health: () => undefined,
    admin: {
      token: 't',
      routing: () => settings,
      broadcast: async (v) => {
        seen.push(v.primaryCluster);
        if (fail) throw new Error(fail);
      },
    },
    logger: { error: noop, info: noop, debug: noop, warn: noop } as never,
  });
  const post = (body: unknown) =>
    new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: h.port,
          path: '/api/v1/routing',
          method: 'POST',
          headers: { Authorization: 'Bearer t' },
          agent: false,
        },
        (res) => {
          let t = '';
          res.setEncoding('utf8').on('data', (c: string) => (t += c));
          res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(t) as Record<string, unknown> }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  try {
    const ok = await post({ primary_cluster: 'TARGET' });
    assert.equal(ok.status, 200);
    assert.deepEqual(seen, ['TARGET']);
    fail = "worker 2 did not answer 'routing' within 5000 ms";
    const bad = await post({ primary_cluster: 'ORIGIN' });
    assert.equal(bad.status, 500);
    assert.match(String(bad.json['error']), /not acknowledged by every worker: worker 2 did not answer/);
    assert.equal(bad.json['primary_cluster'], 'ORIGIN', 'the change stays recorded on the primary');
    fail = undefined;
    const again = await post({ primary_cluster: 'ORIGIN' });
    assert.equal(again.status, 200, 'the same values again are sent again (a worker that missed them catches up)');
    assert.deepEqual(seen, ['TARGET', 'ORIGIN', 'ORIGIN']);
  } finally {
    await h.close();
  }
});
