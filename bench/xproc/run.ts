// `npm run bench:proxy`: the cross-process proxy benchmark. Every part is its own process: the load generator
// (loadgen.ts), the backends (null-backend.ts, one for Origin and one for Target; or the real clusters with
// --backend clusters), a plain byte relay (relay.ts) and the proxy under test (dist/src/cli.js), once per worker
// count. For each workload and protocol version the paths run in alternating slices over several rounds:
//   direct   generator -> Origin backend
//   relay    generator -> relay -> Origin backend
//   floor    generator -> dual-relay.js -> Origin (+ Target for writes): the least a frame-aware proxy in Node does
//            (our framing, a prepared-id lookup, two sends, the reply once both are in; nothing else)
//   proxy/Nw generator -> proxy (N workers) -> Origin (+ Target for writes)
// Saturation slices measure throughput, latency and the proxy's CPU seconds per 1,000 requests (read from
// /proc for the proxy's process tree, not the generator's) and resident memory; then fixed-rate slices at half
// of the proxy's saturation throughput measure the p99 the proxy adds over the relay below saturation.
// Output: a table on stdout and a JSON file (--out, default bench-results/proxy-xproc.json).
//
// Options (all optional): --backend null|clusters  --duration 3000 (ms per slice)  --warmup 500  --rounds 2
//   --conns 4  --inflight 32 (per connection)  --workloads insert,select-100B,select-10KiB,mix-50/50 (also select-k-100B,
//   select-k-10KiB: the key column selected too)
//   --versions 4,5  --workers 1 (comma list, e.g. 1,2: proxy_workers of each proxy run)  --no-latency  --out FILE
//   --count N (each slice measures N requests after its warmup instead of running --duration ms)
//   --rate-fractions 0.5 (comma list: the fixed-rate slices at these fractions of each path's saturation throughput)
//   --client-timestamps: requests carry a client timestamp (as drivers send by default); without it every write
//     is one the proxy pins a timestamp into (pin_write_timestamps, the worst case for writes)
//   --same-prepared-ids: the null backends give a statement the same prepared id (as real clusters do); without it
//     every EXECUTE to TARGET has its prepared id rewritten
//   --compare: instead of the proxy paths, two proxies with dual reads (read_mode=DUAL_ASYNC_ON_SECONDARY), the live
//     read comparison off (`dual`) and on (`dual+cmp`, every dual read compared), side by side; the report adds
//     their ratios (throughput, p99, CPU) and the comparison results the `dual+cmp` proxy counted.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ProtocolVersion } from '../../src/protocol/constants';
import { BenchConnection } from './conn';
import type { LoadgenOptions, LoadgenResult } from './loadgen';
import {
  CREDS,
  DIST,
  ROOT,
  arg,
  flag,
  freePort,
  procTree,
  proxyEnv,
  spawnNode,
  startNode,
  startNullBackend,
  waitForCql,
} from './procs';
import { BENCH_KEYSPACE, CLUSTER_SETUP, KEYS, WORKLOADS } from './workloads';

const backend = arg('backend', 'null') as 'null' | 'clusters';
const durationMs = Number(arg('duration', process.env['BENCH_TIME'] ?? '3000'));
/** --count N: each slice measures N requests (after its warmup) instead of running for --duration */
const count = Number(arg('count', '0'));
if (!Number.isInteger(count) || count < 0) throw new Error(`--count: ${arg('count', '0')} is not a number of requests`);
const warmupMs = Number(arg('warmup', '500'));
const rounds = Number(arg('rounds', '2'));
const connsN = Number(arg('conns', '4'));
const inflight = Number(arg('inflight', '32'));
/** default workloads: the four of the README table; with --compare, reads that select the key (compared) and the mix */
const compareFlagDefault = (): string =>
  process.argv.includes('--compare')
    ? 'select-k-100B,select-k-10KiB,select-100B,mix-50/50'
    : Object.keys(WORKLOADS)
        .filter((w) => !w.startsWith('select-k-'))
        .join(',');
const workloads = arg('workloads', compareFlagDefault()).split(',');
const versions = arg('versions', '4,5')
  .split(',')
  .map((v) => Number(v) as ProtocolVersion);
const workerCounts = arg('workers', '1').split(',').map(Number);
const latency = !flag('no-latency');
/** --rate-fractions 0.5,0.25: the fixed-rate slices run at these fractions of each path's saturation throughput */
const rateFractions = arg('rate-fractions', '0.5')
  .split(',')
  .map((x) => {
    const n = Number(x);
    if (!(n > 0 && n <= 1)) throw new Error(`--rate-fractions: ${x} is not a fraction in (0, 1]`);
    return n;
  });
/** --client-timestamps: every request carries a client timestamp, as the Node, Java and Python drivers send by
 *  default (then the proxy's pin_write_timestamps leaves writes as they are) */
const clientTimestamps = flag('client-timestamps');
/** --same-prepared-ids: the two null backends give a statement the same prepared id, as real clusters do */
const sameIds = flag('same-prepared-ids');
const compare = flag('compare');
const outFile = arg('out', join(ROOT, 'bench-results', 'proxy-xproc.json'));
/** --cpu-prof DIR: the proxy runs under `node --cpu-prof` and writes its profile there when the run ends */
const profDir = process.argv.includes('--cpu-prof') ? arg('cpu-prof', join(ROOT, 'bench-results', 'profiles')) : undefined;

function runLoadgen(o: LoadgenOptions): Promise<LoadgenResult> {
  const child = spawnNode([join(DIST, 'bench', 'xproc', 'loadgen.js'), JSON.stringify(o)], process.env, [
    'ignore',
    'pipe',
    'inherit',
  ]);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', () => {
      try {
        const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as LoadgenResult & { fatal?: string };
        if (r.fatal) reject(new Error(`load generator: ${r.fatal}`));
        else resolve(r);
      } catch (e) {
        reject(new Error(`load generator printed ${JSON.stringify(out)}: ${String(e)}`));
      }
    });
  });
}

interface Path {
  name: string;
  host: string;
  port: number;
  /** pid whose process tree is measured (relay, proxy) */
  pid?: number;
  /** the proxy process */
  child?: ChildProcess;
  /** the proxy's metrics port */
  metricsPort?: number;
}

async function startProxy(
  workers: number,
  origin: { host: string; port: number },
  target: { host: string; port: number },
  variant?: { name: string; env: NodeJS.ProcessEnv },
): Promise<Path> {
  const port = await freePort();
  const metricsPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...proxyEnv(origin, target, port, metricsPort),
    ...(workers > 1 ? { ZDM_PROXY_WORKERS: String(workers) } : {}),
    ...(variant?.env ?? {}),
  };
  const name = variant ? `proxy ${variant.name}` : `proxy ${workers}w`;
  mkdirSync(dirname(outFile), { recursive: true });
  const log = openSync(join(dirname(outFile), `${name.replace(/[^a-z0-9]+/g, '-')}.log`), 'w');
  const profile = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  const child = spawnNode([...profile, join(DIST, 'src', 'cli.js')], { ...process.env, ...env }, ['ignore', log, log]);
  await waitForCql('127.0.0.1', port, ProtocolVersion.V4);
  return { name, host: '127.0.0.1', port, pid: child.pid, child, metricsPort };
}

async function setupClusters(proxy: Path): Promise<void> {
  const c = await BenchConnection.open({ host: proxy.host, port: proxy.port, version: ProtocolVersion.V4, credentials: CREDS });
  for (const q of CLUSTER_SETUP) await c.query(q);
  const ins100 = await c.prepare(`INSERT INTO ${BENCH_KEYSPACE}.kv (k, v) VALUES (?, ?)`);
  const ins10k = await c.prepare(`INSERT INTO ${BENCH_KEYSPACE}.kv10k (k, v) VALUES (?, ?)`);
  const { Opcode, Consistency } = await import('../../src/protocol/constants');
  for (let k = 0; k < KEYS; k++) {
    const key = Buffer.alloc(4);
    key.writeInt32BE(k);
    for (const [p, n] of [
      [ins100, 100],
      [ins10k, 10_240],
    ] as const) {
      await c.call({
        opcode: Opcode.EXECUTE,
        id: p.id,
        params: { consistency: Consistency.LOCAL_ONE, values: [key, Buffer.alloc(n, 0x61)] },
      });
    }
  }
  c.close();
}

interface Row {
  round: number;
  workload: string;
  version: number;
  path: string;
  mode: 'saturation' | 'fixed-rate';
  rate?: number;
  /** fixed rate: the fraction of the path's saturation throughput */
  fraction?: number;
  result: LoadgenResult;
  cpuPer1000?: number;
  rssMiB?: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
};

async function main(): Promise<void> {
  let origin: { host: string; port: number };
  let target: { host: string; port: number };
  if (backend === 'clusters') {
    origin = { host: process.env['ZDM_TEST_ORIGIN_HOST'] ?? '127.0.0.1', port: 9042 };
    target = { host: process.env['ZDM_TEST_TARGET_HOST'] ?? '127.0.0.2', port: 9042 };
  } else {
    // real clusters give a statement the same prepared id on both (MD5 of keyspace and text); by default the null
    // backends differ, so every EXECUTE to TARGET has its id rewritten (a copy): --same-prepared-ids for the usual case
    origin = await startNullBackend(sameIds ? 'same' : 'origin');
    target = await startNullBackend(sameIds ? 'same' : 'target');
  }
  const relay = await startNode(join(DIST, 'bench', 'xproc', 'relay.js'), [
    JSON.stringify({ listenHost: '127.0.0.1', targetHost: origin.host, targetPort: origin.port }),
  ]);
  const paths: Path[] = [
    { name: 'direct', ...origin },
    { name: 'relay', host: '127.0.0.1', port: relay.ready.port!, pid: relay.child.pid },
  ];
  if (!compare) {
    const floor = await startNode(join(DIST, 'bench', 'xproc', 'dual-relay.js'), [
      JSON.stringify({ listenHost: '127.0.0.1', origin, target }),
    ]);
    paths.push({ name: 'floor', host: '127.0.0.1', port: floor.ready.port!, pid: floor.child.pid });
  }
  if (compare) {
    const dual = { ZDM_READ_MODE: 'DUAL_ASYNC_ON_SECONDARY' };
    paths.push(await startProxy(1, origin, target, { name: 'dual', env: dual }));
    paths.push(
      await startProxy(1, origin, target, { name: 'dual+cmp', env: { ...dual, ZDM_DUAL_READ_COMPARE_ENABLED: 'true' } }),
    );
  } else for (const w of workerCounts) paths.push(await startProxy(w, origin, target));
  if (backend === 'clusters') await setupClusters(paths.find((p) => p.name.startsWith('proxy'))!);

  const rows: Row[] = [];
  const base = { conns: connsN, inflight, durationMs, warmupMs, count, credentials: CREDS, clientTimestamps };
  const runSlice = async (
    p: Path,
    workload: string,
    version: ProtocolVersion,
    rate: number,
  ): Promise<Omit<Row, 'round' | 'mode'>> => {
    const before = p.pid ? procTree(p.pid) : undefined;
    const result = await runLoadgen({ ...base, host: p.host, port: p.port, version, workload, rate });
    const after = p.pid ? procTree(p.pid) : undefined;
    if (result.errors > 0)
      console.error(`# ${p.name} ${workload} v${version}: ${result.errors} errors, first: ${result.firstError}`);
    return {
      workload,
      version,
      path: p.name,
      result,
      ...(before && after && result.requests > 0
        ? { cpuPer1000: ((after.cpu - before.cpu) / result.requests) * 1000, rssMiB: after.rss / 2 ** 20 }
        : {}),
    };
  };
  const t0 = Date.now();
  for (let round = 1; round <= rounds; round++) {
    for (const workload of workloads) {
      for (const version of versions) {
        for (const p of round % 2 ? paths : [...paths].reverse()) {
          rows.push({ round, mode: 'saturation', ...(await runSlice(p, workload, version, 0)) });
        }
      }
    }
    console.error(`# round ${round}/${rounds} done (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  if (latency) {
    for (const workload of workloads) {
      for (const version of versions) {
        for (const p of paths.filter((x) => x.name.startsWith('proxy') || x.name === 'floor')) {
          const sat = median(
            rows
              .filter((r) => r.mode === 'saturation' && r.path === p.name && r.workload === workload && r.version === version)
              .map((r) => r.result.throughput),
          );
          for (const fraction of rateFractions) {
            const rate = Math.max(100, Math.round(sat * fraction));
            for (const q of [paths[1]!, p])
              rows.push({ round: 0, mode: 'fixed-rate', rate, fraction, ...(await runSlice(q, workload, version, rate)) });
          }
        }
      }
    }
  }
  report(rows);
  if (compare) await reportComparison(rows, paths.find((p) => p.name === 'proxy dual+cmp')!);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(
    outFile,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        backend,
        options: { durationMs, count, warmupMs, rounds, conns: connsN, inflight, workerCounts },
        rows,
      },
      null,
      2,
    ),
  );
  console.log(`\nraw results: ${outFile}`);
  // Proxies shut down gracefully (a --cpu-prof profile is written on exit); the rest is killed on exit.
  await Promise.all(
    paths
      .filter((p) => p.child)
      .map(
        (p) =>
          new Promise<void>((r) => {
            p.child!.once('exit', () => r());
            p.child!.kill('SIGTERM');
          }),
      ),
  );
  if (profDir) console.log(`proxy CPU profiles: ${profDir}`);
  process.exit(0);
}

/** --compare: comparison on vs off, side by side, and what the comparing proxy counted. */
async function reportComparison(rows: Row[], cmp: Path): Promise<void> {
  console.log('\n## Live read comparison: dual reads with comparison on (`dual+cmp`) vs off (`dual`), same run');
  console.log('| workload | v | req/s on/off | p99 on/off (saturation) | CPU s/1k on/off | p99 on/off (fixed rate) |');
  console.log('|---|---|---|---|---|---|');
  const sat = rows.filter((r) => r.mode === 'saturation');
  const fixed = rows.filter((r) => r.mode === 'fixed-rate');
  const m = (xs: Row[], f: (r: Row) => number | undefined): number =>
    median(xs.map(f).filter((x): x is number => x !== undefined));
  for (const workload of workloads) {
    for (const version of versions) {
      const of = (rs: Row[], path: string) =>
        rs.filter((r) => r.workload === workload && r.version === version && r.path === path);
      const [on, off] = [of(sat, 'proxy dual+cmp'), of(sat, 'proxy dual')];
      const [fon, foff] = [of(fixed, 'proxy dual+cmp'), of(fixed, 'proxy dual')];
      const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : '-');
      const t = [m(on, (r) => r.result.throughput), m(off, (r) => r.result.throughput)];
      const p = [m(on, (r) => r.result.p99us), m(off, (r) => r.result.p99us)];
      const c = [m(on, (r) => r.cpuPer1000), m(off, (r) => r.cpuPer1000)];
      const fp = [m(fon, (r) => r.result.p99us), m(foff, (r) => r.result.p99us)];
      console.log(
        `| ${workload} | ${version} | ${t[0]} / ${t[1]} = ${ratio(t[0]!, t[1]!)} | ${p[0]} / ${p[1]} µs = ${ratio(p[0]!, p[1]!)} | ${c[0]!.toFixed(3)} / ${c[1]!.toFixed(3)} = ${ratio(c[0]!, c[1]!)} | ${fon.length ? `${fp[0]} / ${fp[1]} µs = ${ratio(fp[0]!, fp[1]!)}` : '-'} |`,
      );
    }
  }
  try {
    const res = await fetch(`http://127.0.0.1:${cmp.metricsPort}/metrics`);
    const text = await res.text();
    const counts: Record<string, number> = {};
    for (const mm of text.matchAll(/^zdm_dual_read_comparisons_total\{[^}]*result="(\w+)"[^}]*\} (\S+)$/gm))
      counts[mm[1]!] = (counts[mm[1]!] ?? 0) + Number(mm[2]);
    const skips: Record<string, number> = {};
    for (const mm of text.matchAll(/^zdm_dual_read_comparison_skips_total\{reason="([\w-]+)"\} (\S+)$/gm))
      if (Number(mm[2]) > 0) skips[mm[1]!] = Number(mm[2]);
    console.log(
      `\ncomparisons counted by the dual+cmp proxy: ${JSON.stringify(counts)}; skipped by reason: ${JSON.stringify(skips)}`,
    );
  } catch (e) {
    console.log(`\n(could not read the dual+cmp proxy's metrics: ${String(e)})`);
  }
}

function report(rows: Row[]): void {
  const f = (n: number | undefined, d = 0): string => (n === undefined ? '-' : n.toFixed(d));
  console.log(`\n## Saturation (${backend} backend; median of ${rounds} rounds; ${connsN} conns x ${inflight} in flight)`);
  console.log('| workload | v | path | req/s | x relay | x floor | p50 µs | p99 µs | p99.9 µs | proxy CPU s/1k req | RSS MiB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  const sat = rows.filter((r) => r.mode === 'saturation');
  const key = (r: Row): string => `${r.workload}|${r.version}|${r.path}`;
  const groups = new Map<string, Row[]>();
  for (const r of sat) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  for (const [k, g] of groups) {
    const [workload, version, path] = k.split('|');
    const of = (path: string): number =>
      median(
        sat
          .filter((r) => r.workload === workload && String(r.version) === version && r.path === path)
          .map((r) => r.result.throughput),
      );
    const relay = of('relay');
    const floor = of('floor');
    const tput = median(g.map((r) => r.result.throughput));
    const cpu = g.every((r) => r.cpuPer1000 !== undefined) ? median(g.map((r) => r.cpuPer1000!)) : undefined;
    const rss = g.every((r) => r.rssMiB !== undefined) ? Math.max(...g.map((r) => r.rssMiB!)) : undefined;
    console.log(
      `| ${workload} | ${version} | ${path} | ${tput} | ${relay ? (tput / relay).toFixed(2) : '-'} | ${floor ? (tput / floor).toFixed(2) : '-'} | ${median(g.map((r) => r.result.p50us))} | ${median(g.map((r) => r.result.p99us))} | ${median(g.map((r) => r.result.p999us))} | ${f(cpu, 3)} | ${f(rss)} |`,
    );
  }
  const fixed = rows.filter((r) => r.mode === 'fixed-rate');
  if (fixed.length) {
    console.log("\n## Fixed rate at a fraction of the path's saturation throughput (latency from the scheduled send time)");
    console.log('late: requests not sent on time for want of a free stream id (the load was not kept; raise --inflight)');
    console.log("from send: latency from the moment each request was written, without the generator's timer lag");
    console.log(
      '| workload | v | path | of sat. | rate/s | p50 µs | p99 µs | p99.9 µs | max µs | late | p50 / p99 from send µs | p99 added over relay µs | p99 from send added µs |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (let i = 0; i + 1 < fixed.length; i += 2) {
      const relay = fixed[i]!;
      const proxy = fixed[i + 1]!;
      for (const r of [relay, proxy]) {
        console.log(
          `| ${r.workload} | ${r.version} | ${r.path === 'relay' ? `relay (vs ${proxy.path})` : r.path} | ${r.fraction} | ${r.rate} | ${r.result.p50us} | ${r.result.p99us} | ${r.result.p999us} | ${r.result.maxUs} | ${r.result.late} | ${r.result.p50SentUs} / ${r.result.p99SentUs} | ${r === proxy ? proxy.result.p99us - relay.result.p99us : ''} | ${r === proxy ? proxy.result.p99SentUs - relay.result.p99SentUs : ''} |`,
        );
      }
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
