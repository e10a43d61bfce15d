// `npm run bench:memory`: resident memory of the proxy with many idle authenticated client sessions. Separate
// processes: two null backends with PasswordAuthenticator (null-backend.ts, Origin and Target), the proxy under
// test (dist/src/cli.js), and this process opening the client sessions (each a full handshake: STARTUP,
// AUTHENTICATE, AUTH_RESPONSE; the proxy opens that session's Origin and Target connections and authenticates on
// both). RSS is read from /proc for the proxy's process tree (primary and workers), after the sessions settled.
// Output: one table on stdout and a JSON file (--out, default bench-results/memory.json).
//
// Options: --sessions 1000  --workers 1  --version 4  --settle 30000 (ms the sessions sit idle before the
//          measurement; RSS is sampled once a second meanwhile)  --budget-mb 110 (MB = 10^6 bytes: exit 1 when
//          the settled RSS with every session open is over it)  --out FILE
//          --node-args "--max-semi-space-size=2" (node/V8 flags of the proxy process)
//          --heap-snapshot DIR (a V8 heap snapshot of the proxy with every session open, to see what costs)
import { mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { dirname, join } from 'node:path';
import type { ProtocolVersion } from '../../src/protocol/constants';
import { BenchConnection } from './conn';
import { CREDS, DIST, ROOT, arg, freePort, procTree, proxyEnv, spawnNode, startNullBackend } from './procs';

const sessions = Number(arg('sessions', '1000'));
const workers = Number(arg('workers', '1'));
const version = Number(arg('version', '4')) as ProtocolVersion;
const settleMs = Number(arg('settle', '30000'));
const budgetMB = Number(arg('budget-mb', '110'));
const outFile = arg('out', join(ROOT, 'bench-results', 'memory.json'));
/** --node-args "--flag ...": node/V8 flags for the proxy process (e.g. --max-semi-space-size=2) */
const extraNodeArgs = arg('node-args', '').split(' ').filter(Boolean);
/** --heap-snapshot DIR: the proxy writes a V8 heap snapshot there (SIGUSR2) with every session open */
const snapDir = process.argv.includes('--heap-snapshot') ? arg('heap-snapshot', join(ROOT, 'bench-results')) : undefined;

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
        let t = '';
        res.setEncoding('utf8').on('data', (d: string) => (t += d));
        res.on('end', () => resolve(t));
      })
      .on('error', reject);
  });
}
const metric = (text: string, name: string): number =>
  text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MiB = (b: number): string => (b / 1024 / 1024).toFixed(1);

async function main(): Promise<void> {
  const origin = await startNullBackend('origin', CREDS);
  const target = await startNullBackend('target', CREDS);
  const port = await freePort();
  const metricsPort = await freePort();
  mkdirSync(dirname(outFile), { recursive: true });
  const log = openSync(join(dirname(outFile), `memory-proxy-${workers}w.log`), 'w');
  const nodeArgs = snapDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapDir}`] : [];
  nodeArgs.push(...extraNodeArgs);
  const proxy = spawnNode(
    [...nodeArgs, join(DIST, 'src', 'cli.js')],
    {
      PATH: process.env['PATH'] ?? '',
      ...proxyEnv(origin, target, port, metricsPort),
      ZDM_METRICS_ADDRESS: '127.0.0.1',
      ZDM_PROXY_MAX_CLIENT_CONNECTIONS: String(sessions + 100),
      ZDM_PROXY_WORKERS: String(workers),
    },
    ['ignore', log, log],
  );
  // ready: one authenticated session answers, and every worker runs (readiness UP)
  for (const deadline = Date.now() + 60_000; ; ) {
    try {
      (await BenchConnection.open({ host: '127.0.0.1', port, version, credentials: CREDS })).close();
      const ready = await new Promise<number>((resolve, reject) =>
        http
          .get({ host: '127.0.0.1', port: metricsPort, path: '/health/readiness', agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', reject),
      );
      if (ready === 200) break;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`the proxy did not start: ${String(e)}`);
    }
    await sleep(200);
  }
  await sleep(settleMs);
  const before = procTree(proxy.pid!).rss;
  const textBefore = await scrape(metricsPort);
  const heapBefore = metric(textBefore, 'nodejs_heap_size_used_bytes');
  const heapTotalBefore = metric(textBefore, 'nodejs_heap_size_total_bytes');

  const conns: BenchConnection[] = [];
  const started = Date.now();
  const batch = 50;
  for (let i = 0; i < sessions; i += batch) {
    const n = Math.min(batch, sessions - i);
    conns.push(
      ...(await Promise.all(
        Array.from({ length: n }, () => BenchConnection.open({ host: '127.0.0.1', port, version, credentials: CREDS })),
      )),
    );
  }
  const openMs = Date.now() - started;
  // RSS once a second while the sessions sit idle: right after the burst of opens V8 keeps the young generation
  // it grew for it; its memory reducer gives that back once the process is idle (about 8 s after the last full GC)
  const timeline: number[] = [];
  for (const end = Date.now() + settleMs; Date.now() < end; ) {
    timeline.push(procTree(proxy.pid!).rss);
    await sleep(1000);
  }
  const text = await scrape(metricsPort);
  const open = metric(text, 'zdm_client_connections_total');
  const originConns = metric(text, 'zdm_origin_connections_total');
  const targetConns = metric(text, 'zdm_target_connections_total');
  const after = procTree(proxy.pid!).rss;
  const heapAfter = metric(text, 'nodejs_heap_size_used_bytes');
  const heapTotalAfter = metric(text, 'nodejs_heap_size_total_bytes');
  const closedEarly = conns.filter((c) => c.closed).length;
  if (snapDir) {
    const files = () => readdirSync(snapDir).filter((f) => f.endsWith('.heapsnapshot')).length;
    const n = files();
    proxy.kill('SIGUSR2');
    while (files() === n) await sleep(200);
    await sleep(5000); // written in one go once the file appears? give it time to finish
    process.stdout.write(`heap snapshot written to ${snapDir}\n`);
  }
  for (const c of conns) c.close();

  const result = {
    sessions,
    workers,
    version,
    openMs,
    clientConnections: open,
    originConnections: originConns,
    targetConnections: targetConns,
    closedEarly,
    rssBeforeMiB: Number(MiB(before)),
    rssAfterMiB: Number(MiB(after)),
    rssPerSessionKiB: Number(((after - before) / sessions / 1024).toFixed(1)),
    heapUsedBeforeMiB: Number(MiB(heapBefore)),
    heapUsedAfterMiB: Number(MiB(heapAfter)),
    heapTotalBeforeMiB: Number(MiB(heapTotalBefore)),
    heapTotalAfterMiB: Number(MiB(heapTotalAfter)),
    /** RSS (MiB) once a second from the end of the opens to the measurement */
    rssTimelineMiB: timeline.map((b) => Number(MiB(b))),
    rssPeakAfterOpenMiB: Number(MiB(Math.max(after, ...timeline))),
    budgetMB,
    withinBudget: after <= budgetMB * 1_000_000,
  };
  process.stdout.write(
    [
      `memory: ${sessions} idle authenticated sessions, proxy_workers=${workers}, protocol v${version} (null backends with auth)`,
      `  sessions open (proxy metrics): client ${open}, Origin ${originConns}, Target ${targetConns}; opened in ${openMs} ms; closed early ${closedEarly}`,
      `  RSS (proxy process tree): before ${result.rssBeforeMiB} MiB, after ${settleMs / 1000} s idle ${result.rssAfterMiB} MiB (${(after / 1e6).toFixed(1)} MB), ${result.rssPerSessionKiB} KiB per session; highest since the opens ${result.rssPeakAfterOpenMiB} MiB`,
      `  RSS timeline after the opens (MiB, 1 s apart): ${result.rssTimelineMiB.join(' ')}`,
      `  V8 heap used / committed (summed over workers): before ${result.heapUsedBeforeMiB} / ${result.heapTotalBeforeMiB} MiB, after ${result.heapUsedAfterMiB} / ${result.heapTotalAfterMiB} MiB`,
      `  budget ${budgetMB} MB for the whole proxy (after ${settleMs / 1000} s idle): ${result.withinBudget ? 'within' : 'OVER'}`,
      '',
    ].join('\n'),
  );
  writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
  proxy.kill('SIGTERM');
  await new Promise((r) => proxy.once('exit', r));
  process.exit(result.withinBudget && open === sessions && closedEarly === 0 ? 0 : 1);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:memory: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
