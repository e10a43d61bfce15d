// What protocol v5 (segment framing, CRC24/CRC32) and LZ4 segments cost the proxy per request, side by side
// in ONE run with v4 (only ratios and differences measured in the same run mean anything on a shared machine).
//
// For each framing F in { v4, v5, v5 + LZ4 segments }:
//   direct F        client -> fake CQL server speaking F          (SELECT and INSERT)
//   proxy  F        client -> startProxy -> Origin (+ Target) fake servers, all speaking F
// Everything runs in this process on one event loop, so the process CPU time (user + system, process.cpuUsage)
// spent during a slice divided by the requests completed is the CPU cost per request of the whole chain; unlike
// requests/s it does not depend on how much of a CPU the shared machine gave us. "proxy cost" =
// CPU µs/req(proxy F) - CPU µs/req(direct F) is what the proxy adds for that framing (both sides
// of the proxy frame and check segments on v5; a proxy write also costs the fake servers a second reply).
// The load generator keeps `inflight` ~100-byte QUERYs in flight over 4 connections and, on v5, packs the
// requests of one event-loop turn into one segment, as drivers do. Targets run in interleaved slices per round.
//
// Run: `npm run bench` (all benchmarks) or `npm run build && BENCH_FILTER=protocol-v5 node scripts/run-bench.mjs`.
// Env: BENCH_TIME (ms per slice, default 600), BENCH_ROUNDS (default 3), BENCH_INFLIGHT (default 128).
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { ProtocolVersion } from '../src/protocol/constants';
import { loadConfig } from '../src/config/load';
import { startProxy, type RunningProxy } from '../src/proxy';
import { proxyEnv } from '../test/unit/frontend/harness';
import { type Framing, Histogram, LoadConnection, queryFrame, versionOf } from './load';
import { benchServer } from './proxy.bench';

const FRAMINGS: Framing[] = ['v4', 'v5', 'v5 lz4'];
type Op = 'read' | 'write';
type Via = 'direct' | 'proxy';
interface Target {
  framing: Framing;
  via: Via;
  op: Op;
}
const TARGETS: Target[] = FRAMINGS.flatMap((framing) =>
  (['direct', 'proxy'] as Via[]).flatMap((via) => (['read', 'write'] as Op[]).map((op) => ({ framing, via, op }))),
);
const nameOf = (t: Target): string => `${t.via} ${t.op} ${t.framing}`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface V5BenchRow {
  target: string;
  reqPerSec: number /** CPU µs per request (whole chain) */;
  usPerReq: number;
  p50us: number;
  p99us: number;
  requests: number;
  errors: number;
}
export interface V5CostRow {
  framing: Framing;
  op: Op;
  directUsPerReq: number;
  proxyUsPerReq: number;
  proxyCostUs: number;
  costVsV4: number;
}

export async function measure(): Promise<{ rows: V5BenchRow[]; costs: V5CostRow[] }> {
  const sliceMs = Number(process.env.BENCH_TIME ?? 600);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const inflight = Number(process.env.BENCH_INFLIGHT ?? 128);
  const conns = 4;
  const depth = Math.max(1, Math.floor(inflight / conns));
  // Fake servers speak up to v5 (segments, LZ4 when asked): one for "direct", an Origin and a Target for the proxy.
  const direct = await benchServer('direct', ProtocolVersion.V5);
  const origin = await benchServer('origin', ProtocolVersion.V5);
  const target = await benchServer('target', ProtocolVersion.V5);
  const proxy: RunningProxy = await startProxy(loadConfig({ env: proxyEnv(origin, target) }), {
    logger: pino({ level: 'silent' }),
    startTimeoutMs: 5000,
  });
  const agg = new Map<string, { hist: Histogram; requests: number; ms: number; cpuUs: number; errors: number }>();
  const open = new Map<string, LoadConnection[]>();
  try {
    for (const t of TARGETS) {
      const list: LoadConnection[] = [];
      for (let i = 0; i < conns; i++) {
        const lc = await LoadConnection.open(t.via === 'direct' ? direct.port : proxy.port, depth, t.framing);
        const cql = t.op === 'read' ? 'SELECT v FROM bench.kv WHERE k = 42' : "INSERT INTO bench.kv (k, v) VALUES (42, 'x')";
        lc.setRequest(queryFrame(cql, 100, versionOf(t.framing)));
        list.push(lc);
      }
      open.set(nameOf(t), list);
    }
    const slice = async (t: Target, ms: number, record: boolean): Promise<void> => {
      const list = open.get(nameOf(t))!;
      const h = new Histogram();
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (const lc of list) lc.start(h);
      await sleep(ms);
      const elapsed = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      const done = list.reduce((n, lc) => n + lc.done, 0);
      const errors = list.reduce((n, lc) => n + lc.errors, 0);
      await Promise.all(list.map((lc) => lc.stop()));
      if (!record) return;
      const a = agg.get(nameOf(t)) ?? { hist: new Histogram(), requests: 0, ms: 0, cpuUs: 0, errors: 0 };
      a.hist.add(h);
      a.requests += done;
      a.ms += elapsed;
      a.cpuUs += cpu.user + cpu.system;
      a.errors += errors;
      agg.set(nameOf(t), a);
    };
    for (const t of TARGETS) await slice(t, Math.min(300, sliceMs), false); // warm-up
    for (let r = 0; r < rounds; r++) {
      const order = TARGETS.map((_, i) => TARGETS[(i + r * 5) % TARGETS.length]!);
      for (const t of order) await slice(t, sliceMs, true);
    }
  } finally {
    for (const list of open.values()) for (const lc of list) lc.close();
    await proxy.close();
    await Promise.all([direct.stop(), origin.stop(), target.stop()]);
  }
  const r1 = (x: number): number => Math.round(x * 10) / 10;
  const rows: V5BenchRow[] = TARGETS.map((t) => {
    const a = agg.get(nameOf(t))!;
    const rps = (a.requests / a.ms) * 1000;
    return {
      target: nameOf(t),
      reqPerSec: Math.round(rps),
      usPerReq: r1(a.cpuUs / a.requests),
      p50us: a.hist.pct(50),
      p99us: a.hist.pct(99),
      requests: a.requests,
      errors: a.errors,
    };
  });
  const us = (via: Via, op: Op, framing: Framing): number =>
    rows.find((r) => r.target === nameOf({ via, op, framing }))!.usPerReq;
  const costs: V5CostRow[] = [];
  for (const op of ['read', 'write'] as Op[]) {
    const v4Cost = us('proxy', op, 'v4') - us('direct', op, 'v4');
    for (const framing of FRAMINGS) {
      const cost = us('proxy', op, framing) - us('direct', op, framing);
      costs.push({
        framing,
        op,
        directUsPerReq: us('direct', op, framing),
        proxyUsPerReq: us('proxy', op, framing),
        proxyCostUs: r1(cost),
        costVsV4: Math.round((cost / v4Cost) * 100) / 100,
      });
    }
  }
  return { rows, costs };
}

export async function run(): Promise<{ rows: V5BenchRow[]; costs: V5CostRow[] }> {
  const t0 = Date.now();
  const res = await measure();
  console.log(
    `# protocol v5 vs v4, LZ4 segments vs none: loopback, one process (${process.version}); ${process.env.BENCH_ROUNDS ?? 3} rounds x ` +
      `${process.env.BENCH_TIME ?? 600} ms slices per target; 4 connections, ${process.env.BENCH_INFLIGHT ?? 128} in flight; ~100-byte QUERY; total ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  console.table(
    res.rows.map((r) => ({
      target: r.target,
      'req/s': r.reqPerSec.toLocaleString('en-US'),
      'CPU µs/req': r.usPerReq,
      'p50 µs': r.p50us,
      'p99 µs': r.p99us,
      requests: r.requests,
      errors: r.errors,
    })),
  );
  console.log(
    '# proxy cost per request = CPU µs/req through the proxy - CPU µs/req direct, same framing; last column: that cost / the v4 cost (same op)',
  );
  console.table(
    res.costs.map((c) => ({
      op: c.op,
      framing: c.framing,
      'direct CPU µs/req': c.directUsPerReq,
      'proxy CPU µs/req': c.proxyUsPerReq,
      'proxy cost µs/req': c.proxyCostUs,
      'cost / v4 cost': c.costVsV4,
    })),
  );
  return res;
}

if (require.main === module) {
  run().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
