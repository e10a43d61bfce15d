// proxy_workers = 2 against the real clusters (the CLI as a child process: one primary, two workers):
// - the Node driver with several connections per host: prepared INSERT/SELECT, every execution succeeds and the
//   rows are on both clusters, whichever worker each connection landed on;
// - a statement prepared on a connection of worker 1 and executed on a connection of worker 2: UNPREPARED with the
//   client's id (the driver re-prepares there), then it runs;
// - /metrics on the one metrics port sums the workers: the writes counter grows by exactly the writes sent;
// - the admin API applies a routing change on both workers before it answers;
// - a SIGKILLed worker: readiness DOWN (Workers.Running 1) until the primary restarted it, then UP;
// - SIGTERM: clean exit 0, no worker left behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';

import { type BothClusters, bothClusters, uniqueKeyspaceName } from '../../support/clusters';
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';
import { ErrorCode, RawCqlClient, bind, errorOf, expectResult, rowsOf } from '../../support/raw-client';
import { waitFor } from '../../support/wait';
import { httpGet, postRouting, scrape } from '../observability/http-helpers';

const TOKEN = 'workers-test-token';

interface LogLine {
  msg?: string;
  worker?: number;
}

function logLines(proxy: TestProxy): LogLine[] {
  const out: LogLine[] = [];
  for (const l of proxy.logs) {
    try {
      out.push(JSON.parse(l) as LogLine);
    } catch {
      /* not JSON */
    }
  }
  return out;
}

/** The worker (1 or 2) that logged the admission of the client connection from 127.0.0.1:localPort. */
function workerOf(proxy: TestProxy, localPort: number): number | undefined {
  const needle = `Accepted connection from 127.0.0.1:${localPort}`;
  return logLines(proxy).find((l) => l.msg === needle)?.worker;
}

async function readiness(proxy: TestProxy): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await httpGet(proxy, '/health/readiness');
  return { status: r.status, body: JSON.parse(r.body) as Record<string, unknown> };
}

function workerPids(proxy: TestProxy): Map<number, number> {
  const pids = new Map<number, number>();
  for (const l of logLines(proxy)) {
    const m = /^Worker (\d+) \(pid (\d+)\) is serving clients/.exec(l.msg ?? '');
    if (m) pids.set(Number(m[1]), Number(m[2]));
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('proxy_workers = 2 (real clusters)', { timeout: 240_000 }, () => {
  let proxy: TestProxy;
  let client: Client;
  const ks = uniqueKeyspaceName('workers');
  let db: BothClusters;
  const raws: RawCqlClient[] = [];
  /** one raw connection on each worker (test 2) */
  const byWorker = new Map<number, RawCqlClient>();

  before(async () => {
    db = await bothClusters(ks, [`CREATE TABLE IF NOT EXISTS ${ks}.kv (k int PRIMARY KEY, v text)`]);
    proxy = await startTestProxy({
      mode: 'cli',
      logLevel: 'info',
      settings: { proxy_workers: 2, admin_token: TOKEN, log_level: 'info' },
    });
    await waitFor(
      'both workers running (readiness UP)',
      async () => {
        const r = await readiness(proxy);
        return r.status === 200 && (r.body['Workers'] as { Running?: number } | undefined)?.Running === 2;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    client = await proxyClient({
      proxy,
      keyspace: ks,
      timeoutMs: 20_000,
      extra: { pooling: { coreConnectionsPerHost: { 0: 4, 1: 1, 2: 1 }, heartBeatInterval: 0 } },
    });
  });

  after(async () => {
    for (const r of raws) r.close();
    await client?.shutdown();
    await proxy?.stop();
    await db?.close();
  });

  it('serves prepared INSERT/SELECT through connections on both workers; rows on both clusters', async () => {
    const n = 200;
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        client.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, [i, `v${i}`], { prepare: true }),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    assert.equal(
      failed.length,
      0,
      `failed inserts: ${failed.map((f) => String((f as PromiseRejectedResult).reason)).join('; ')}`,
    );
    for (let i = 0; i < n; i += 7) {
      const rs = await client.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [i], { prepare: true });
      assert.equal(rs.first()?.['v'], `v${i}`);
    }
    const workers = new Set(logLines(proxy).flatMap((l) => (l.msg?.startsWith('Accepted connection from') ? [l.worker] : [])));
    assert.deepEqual([...workers].sort(), [1, 2], 'the driver connections landed on both workers');
    for (const s of [db.origin, db.target]) {
      const rs = await s.execute(`SELECT count(*) FROM ${ks}.kv`);
      assert.equal(Number(rs.first()?.['count']), n);
    }
  });

  it('a statement prepared on worker 1 and executed on worker 2: UNPREPARED, then prepared there and run', async () => {
    for (let i = 0; i < 12 && byWorker.size < 2; i++) {
      const c = await RawCqlClient.connect({ host: proxy.host, port: proxy.port });
      raws.push(c);
      const w = await waitFor('the admission log line of a raw connection', () => workerOf(proxy, c.socket.localPort!));
      if (!byWorker.has(w)) byWorker.set(w, c);
    }
    assert.equal(byWorker.size, 2, 'raw connections on both workers');
    const [a, b] = [byWorker.get(1)!, byWorker.get(2)!];
    await a.query(`USE ${ks}`);
    await b.query(`USE ${ks}`);
    // a statement text no driver connection prepared before (the id is the same on both workers: the clusters' id)
    const cql = `INSERT INTO ${ks}.kv (k, v) VALUES (?, ?) USING TTL 86400`;
    const id = await a.prepare(cql);
    expectResult(await a.execute(id, [bind.int(1000), bind.text('on-a')]), 'execute on worker 1');
    const unknown = errorOf(await b.execute(id, [bind.int(1001), bind.text('on-b')]));
    assert.equal(unknown?.code, ErrorCode.UNPREPARED, 'worker 2 does not know the id: UNPREPARED');
    assert.ok(unknown?.id?.equals(id), 'UNPREPARED names the id the client sent');
    const id2 = await b.prepare(cql);
    assert.ok(id2.equals(id), 'the same statement has the same id on both workers');
    expectResult(await b.execute(id, [bind.int(1001), bind.text('on-b')]), 'execute on worker 2 after its PREPARE');
    const rows = rowsOf(await a.query(`SELECT v FROM ${ks}.kv WHERE k = 1001`));
    assert.equal(rows[0]?.['v'], 'on-b');
  });

  it('/metrics sums the workers: the writes counter grows by exactly the writes sent', async () => {
    const writes = (s: Awaited<ReturnType<typeof scrape>>) =>
      s.value('zdm_proxy_request_duration_seconds_count', { type: 'writes' });
    // every driver connection has prepared the statement already (previous tests): no UNPREPARED round trip now
    const before = writes(await scrape(proxy));
    const n = 120;
    for (let i = 0; i < n; i += 20)
      await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          client.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, [2000 + i + j, 'm'], { prepare: true }),
        ),
      );
    const afterScrape = await scrape(proxy);
    assert.equal(writes(afterScrape) - before, n);
    assert.ok(afterScrape.value('zdm_client_connections_total') >= 5, 'client connections summed over the workers');
  });

  it('the admin API applies a routing change on both workers before answering', async () => {
    // a row on Target only: a read through a worker finds it only once that worker routes reads to Target
    await db.target.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (5000, 'target-only')`);
    const readOn = async (w: number): Promise<unknown> =>
      rowsOf(await byWorker.get(w)!.query(`SELECT v FROM ${ks}.kv WHERE k = 5000`))[0]?.['v'];
    assert.equal(await readOn(1), undefined, 'reads go to Origin before the change (worker 1)');
    assert.equal(await readOn(2), undefined, 'reads go to Origin before the change (worker 2)');
    const r = await postRouting(proxy, { primary_cluster: 'TARGET' }, TOKEN);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body['primary_cluster'], 'TARGET');
    assert.equal(await readOn(1), 'target-only', 'worker 1 reads from Target as soon as the POST answered');
    assert.equal(await readOn(2), 'target-only', 'worker 2 reads from Target as soon as the POST answered');
    const back = await postRouting(proxy, { primary_cluster: 'ORIGIN' }, TOKEN);
    assert.equal(back.status, 200);
    assert.equal(await readOn(1), undefined);
    assert.equal(await readOn(2), undefined);
  });

  it('a killed worker is restarted; readiness is DOWN meanwhile; then SIGTERM exits cleanly', async () => {
    const pids = workerPids(proxy);
    const victim = pids.get(1);
    assert.ok(victim !== undefined && alive(victim), 'worker 1 pid from the log');
    process.kill(victim, 'SIGKILL');
    const down = await waitFor(
      'readiness DOWN with one worker running',
      async () => {
        const r = await readiness(proxy);
        if (r.status === 503 && (r.body['Workers'] as { Running?: number }).Running === 1) return r;
        throw new Error(`readiness ${r.status} ${JSON.stringify(r.body)}`);
      },
      { timeoutMs: 20_000, intervalMs: 20 },
    );
    assert.equal(down.body['Status'], 'DOWN');
    await waitFor('the primary logged the crash', () =>
      logLines(proxy).some((l) => /^Worker 1 \(pid \d+\) exited with signal SIGKILL/.test(l.msg ?? '')),
    );
    await waitFor(
      'worker 1 restarted: readiness UP again',
      async () => (await readiness(proxy)).status === 200 && workerPids(proxy).get(1) !== victim,
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    // the driver keeps working (its connections to the dead worker are replaced)
    await waitFor(
      'a prepared read through the proxy after the restart',
      async () => (await client.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [2], { prepare: true })).first()?.['v'] === 'v2',
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const all = [...workerPids(proxy).values()].filter(alive);
    assert.equal(all.length, 2);
    for (const r of raws) r.close();
    await client.shutdown();
    const child = proxy.child!;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await proxy.stop();
    assert.equal(await exited, 0, 'the primary exits 0 after the workers drained');
    for (const pid of all) assert.equal(alive(pid), false, `worker pid ${pid} is gone`);
    await waitFor('the primary logged the end of the workers', () =>
      logLines(proxy).some((l) => l.msg === 'All worker processes exited.'),
    );
  });
});
