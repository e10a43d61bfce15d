// End-to-end benchmark of the proxy on loopback, side by side in ONE run (the machine is shared and noisy,
// so only ratios measured in the same run are meaningful):
//   direct      client -> fake CQL server
//   relay       client -> plain TCP pipe relay -> fake CQL server
//   proxy read  client -> startProxy (Origin + Target fake servers) -> Origin only   (SELECT)
//   proxy write client -> startProxy -> Origin and Target                             (INSERT)
//   and both proxy rows again through a second proxy with ZDM_METRICS_ENABLED=false (cost of the metrics).
// Everything runs in this process, on one event loop (as test/unit/frontend/harness.ts does), so requests/s
// measure the CPU cost per request of the whole chain (µs/req = 1e6 / req/s); the ratios and the
// "µs/req over relay" column isolate what the proxy adds. A proxy write also costs the fake servers a second reply.
// The load generator is a pipelined client on our codec: `inflight` requests kept in flight, spread over 1 or
// 4 connections, a ~100-byte QUERY (v4) each; the fake servers answer a 1-row ROWS (read) or VOID (write).
// Targets are measured in interleaved slices over several rounds, so drift affects them all alike.
// Memory: process heap (after a forced GC) and RSS before the proxy starts, after each round, and at the end.
//
// Run: `npm run bench`, or `npm run build && BENCH_FILTER=proxy node scripts/run-bench.mjs`.
// Env: BENCH_TIME (ms per slice, default 800; the default run is ~35 s), BENCH_ROUNDS (default 3),
//      BENCH_INFLIGHT (requests in flight in total, default 128).
import * as net from 'node:net';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { Opcode, ProtocolVersion } from '../src/protocol/constants';
import { encodeMessage, rowsResult } from '../src/protocol/messages/index';
import { Writer } from '../src/protocol/primitives';
import { DataTypes } from '../src/protocol/values';
import { ResultKind } from '../src/protocol/constants';
import { loadConfig } from '../src/config/load';
import { startProxy, type RunningProxy } from '../src/proxy';
import { FakeServer } from '../test/support/fake-server';
import { proxyEnv } from '../test/unit/frontend/harness';
import { Histogram, LoadConnection, queryFrame } from './load';

export { Histogram, queryFrame } from './load';

const V = ProtocolVersion.V4;
const READ_CQL = 'SELECT v FROM bench.kv WHERE k = 42';
const WRITE_CQL = "INSERT INTO bench.kv (k, v) VALUES (42, 'x')";

type TargetName = 'direct' | 'relay' | 'proxy read' | 'proxy write' | 'proxy read, metrics off' | 'proxy write, metrics off';
const TARGETS: TargetName[] = [
  'direct',
  'relay',
  'proxy read',
  'proxy write',
  'proxy read, metrics off',
  'proxy write, metrics off',
];
const isWrite = (t: TargetName): boolean => t.startsWith('proxy write');

// ---------------------------------------------------------------------------------------------
// The systems under test.
// ---------------------------------------------------------------------------------------------
function rowsBody(): Buffer {
  return encodeMessage(rowsResult('bench', 'kv', [{ name: 'v', type: DataTypes.varchar }], [['value-42']], V), V);
}
const VOID_BODY = Buffer.from(new Writer(4).writeInt(ResultKind.VOID).finish());

export async function benchServer(salt: string, maxVersion?: ProtocolVersion): Promise<FakeServer> {
  const s = await FakeServer.start({ preparedIdSalt: salt, ...(maxVersion ? { maxVersion } : {}) });
  const rows = rowsBody();
  // The fake server writes every reply with its own socket.write, i.e. one syscall per reply: in a first run
  // that was ~48% of all CPU and capped every target alike. Cassandra batches its flushes per event-loop
  // turn (Flusher); do the same here by corking each connection's socket from a read until setImmediate
  // (replies are written in microtasks after the read). BENCH_SERVER_FLUSH=frame turns this off.
  if (process.env.BENCH_SERVER_FLUSH !== 'frame') {
    s.on('connection', (c: { socket: net.Socket }) => {
      let corked = false;
      c.socket.prependListener('data', () => {
        if (corked) return;
        corked = true;
        c.socket.cork();
        setImmediate(() => {
          corked = false;
          c.socket.uncork();
        });
      });
    });
  }
  s.onRequest((_frame, decoded) => {
    s.received.length = 0; // the fake server records every request: keep its memory flat
    if (decoded?.opcode !== Opcode.QUERY) return undefined;
    if (decoded.query.startsWith('SELECT v FROM bench.')) return { opcode: Opcode.RESULT, body: rows };
    if (decoded.query.startsWith('INSERT INTO bench.')) return { opcode: Opcode.RESULT, body: VOID_BODY };
    return undefined;
  });
  return s;
}

/** A plain TCP relay: each accepted connection is piped to a new connection to `to`. */
async function startRelay(to: { host: string; port: number }): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(to);
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on('error', () => (client.destroy(), upstream.destroy()));
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))),
  };
}

// ---------------------------------------------------------------------------------------------
// Memory helpers.
// ---------------------------------------------------------------------------------------------
let gcFn: (() => void) | undefined;
function forceGc(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}
interface MemSample {
  label: string;
  heapUsedMB: number;
  rssMB: number;
  externalMB: number;
}
const mb = (n: number): number => Math.round((n / 1048576) * 10) / 10;
function memSample(label: string, gc = true): MemSample {
  if (gc) forceGc();
  const m = process.memoryUsage();
  return { label, heapUsedMB: mb(m.heapUsed), rssMB: mb(m.rss), externalMB: mb(m.external) };
}

// ---------------------------------------------------------------------------------------------
// The run.
// ---------------------------------------------------------------------------------------------
export interface ProxyBenchRow {
  target: TargetName;
  connections: number;
  inflight: number;
  requests: number;
  reqPerSec: number;
  p50us: number;
  p99us: number;
  errors: number;
}
export interface ProxyBenchResult {
  rows: ProxyBenchRow[];
  /** Per connection count: proxy read / relay, proxy write / relay, relay / direct (requests/s ratios). */
  ratios: {
    connections: number;
    relayOverDirect: number;
    proxyReadOverRelay: number;
    proxyWriteOverRelay: number;
    proxyReadOverDirect: number;
    proxyWriteOverDirect: number;
    proxyReadNoMetricsOverRelay: number;
    proxyWriteNoMetricsOverRelay: number;
  }[];
  memory: MemSample[];
  memoryGrowth: { heapUsedMB: number; rssMB: number; peakRssMB: number; heapUsedFirstToLastRoundMB: number };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function measure(): Promise<ProxyBenchResult> {
  const sliceMs = Number(process.env.BENCH_TIME ?? 800);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const inflight = Number(process.env.BENCH_INFLIGHT ?? 128);
  const connCounts = [1, 4];
  const readReq = queryFrame(READ_CQL);
  const writeReq = queryFrame(WRITE_CQL);

  const direct = await benchServer('direct');
  const relay = await startRelay(direct.endpoint);
  const memory: MemSample[] = [memSample('before proxy start')];
  const origin = await benchServer('origin');
  const target = await benchServer('target');
  const config = loadConfig({ env: proxyEnv(origin, target) });
  const proxy: RunningProxy = await startProxy(config, { logger: pino({ level: 'silent' }), startTimeoutMs: 5000 });
  // A second proxy, same clusters, ZDM_METRICS_ENABLED=false: what the Prometheus bookkeeping costs per request.
  const config2 = loadConfig({ env: { ...proxyEnv(origin, target), ZDM_METRICS_ENABLED: 'false' } });
  const proxyNoMetrics: RunningProxy = await startProxy(config2, { logger: pino({ level: 'silent' }), startTimeoutMs: 5000 });
  const ports: Record<TargetName, number> = {
    direct: direct.port,
    relay: relay.port,
    'proxy read': proxy.port,
    'proxy write': proxy.port,
    'proxy read, metrics off': proxyNoMetrics.port,
    'proxy write, metrics off': proxyNoMetrics.port,
  };

  const hists = new Map<string, { hist: Histogram; requests: number; ms: number; errors: number }>();
  const key = (t: TargetName, c: number): string => `${t}|${c}`;
  let peakRss = process.memoryUsage().rss;
  const roundHeaps: number[] = [];
  try {
    // Open every connection once (the proxy's per-client cluster connections are opened at STARTUP).
    const conns = new Map<string, LoadConnection[]>();
    for (const c of connCounts) {
      for (const t of TARGETS) {
        const depth = Math.max(1, Math.floor(inflight / c));
        const list: LoadConnection[] = [];
        for (let i = 0; i < c; i++) {
          const lc = await LoadConnection.open(ports[t], depth, 'v4');
          lc.setRequest(isWrite(t) ? writeReq : readReq);
          list.push(lc);
        }
        conns.set(key(t, c), list);
      }
    }
    memory.push(memSample('proxy started, clients connected'));

    const slice = async (t: TargetName, c: number, ms: number, record: boolean): Promise<void> => {
      const list = conns.get(key(t, c))!;
      const h = new Histogram();
      const t0 = performance.now();
      for (const lc of list) lc.start(h);
      await sleep(ms);
      const elapsed = performance.now() - t0;
      const done = list.reduce((n, lc) => n + lc.done, 0);
      const errors = list.reduce((n, lc) => n + lc.errors, 0);
      await Promise.all(list.map((lc) => lc.stop()));
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (!record) return;
      const agg = hists.get(key(t, c)) ?? { hist: new Histogram(), requests: 0, ms: 0, errors: 0 };
      agg.hist.add(h);
      agg.requests += done;
      agg.ms += elapsed;
      agg.errors += errors;
      hists.set(key(t, c), agg);
    };

    // Warm-up (JIT, socket buffers), not recorded.
    for (const c of connCounts) for (const t of TARGETS) await slice(t, c, Math.min(300, sliceMs), false);
    memory.push(memSample('after warm-up'));
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so no target always runs first/last.
      const order = TARGETS.map((_, i) => TARGETS[(i + r) % TARGETS.length]!);
      for (const c of connCounts) for (const t of order) await slice(t, c, sliceMs, true);
      const s = memSample(`after round ${r + 1}`);
      roundHeaps.push(s.heapUsedMB);
      memory.push(s);
    }
    for (const list of conns.values()) for (const lc of list) lc.close();
    await sleep(50);
    memory.push(memSample('clients closed'));
  } finally {
    await proxy.close();
    await proxyNoMetrics.close();
    await relay.close();
    await Promise.all([direct.stop(), origin.stop(), target.stop()]);
  }

  const rows: ProxyBenchRow[] = [];
  for (const c of connCounts) {
    for (const t of TARGETS) {
      const a = hists.get(key(t, c))!;
      rows.push({
        target: t,
        connections: c,
        inflight: Math.max(1, Math.floor(inflight / c)) * c,
        requests: a.requests,
        reqPerSec: Math.round((a.requests / a.ms) * 1000),
        p50us: a.hist.pct(50),
        p99us: a.hist.pct(99),
        errors: a.errors,
      });
    }
  }
  const rps = (t: TargetName, c: number): number => rows.find((r) => r.target === t && r.connections === c)!.reqPerSec;
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  const ratios = connCounts.map((c) => ({
    connections: c,
    relayOverDirect: r2(rps('relay', c) / rps('direct', c)),
    proxyReadOverRelay: r2(rps('proxy read', c) / rps('relay', c)),
    proxyWriteOverRelay: r2(rps('proxy write', c) / rps('relay', c)),
    proxyReadOverDirect: r2(rps('proxy read', c) / rps('direct', c)),
    proxyWriteOverDirect: r2(rps('proxy write', c) / rps('direct', c)),
    proxyReadNoMetricsOverRelay: r2(rps('proxy read, metrics off', c) / rps('relay', c)),
    proxyWriteNoMetricsOverRelay: r2(rps('proxy write, metrics off', c) / rps('relay', c)),
  }));
  const last = memory[memory.length - 2]!; // after the last round
  const memoryGrowth = {
    heapUsedMB: mb((last.heapUsedMB - memory[0]!.heapUsedMB) * 1048576),
    rssMB: mb((last.rssMB - memory[0]!.rssMB) * 1048576),
    peakRssMB: mb(peakRss),
    heapUsedFirstToLastRoundMB: roundHeaps.length > 1 ? mb((roundHeaps[roundHeaps.length - 1]! - roundHeaps[0]!) * 1048576) : 0,
  };
  return { rows, ratios, memory, memoryGrowth };
}

/** Runs the benchmark, prints the tables and returns the figures. */
export async function run(): Promise<ProxyBenchResult> {
  const t0 = Date.now();
  const res = await measure();
  console.log(
    `# proxy end to end, loopback, one process (${process.version}); ${process.env.BENCH_ROUNDS ?? 3} rounds x ${process.env.BENCH_TIME ?? 800} ms slices per target; ` +
      `~100-byte QUERY v4; total ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  const relayRps = (c: number): number => res.rows.find((x) => x.target === 'relay' && x.connections === c)!.reqPerSec;
  console.table(
    res.rows.map((r) => ({
      target: r.target,
      conns: r.connections,
      inflight: r.inflight,
      'req/s': r.reqPerSec.toLocaleString('en-US'),
      // One thread does everything, so 1/(req/s) is the CPU time per request of the whole chain.
      'µs/req': Math.round((1e6 / r.reqPerSec) * 10) / 10,
      'µs/req over relay': Math.round((1e6 / r.reqPerSec - 1e6 / relayRps(r.connections)) * 10) / 10,
      'p50 µs': r.p50us,
      'p99 µs': r.p99us,
      requests: r.requests,
      errors: r.errors,
    })),
  );
  console.log('# requests/s ratios (same run)');
  console.table(
    res.ratios.map((r) => ({
      conns: r.connections,
      'relay/direct': r.relayOverDirect,
      'proxy read/relay': r.proxyReadOverRelay,
      'proxy write/relay': r.proxyWriteOverRelay,
      'proxy read/direct': r.proxyReadOverDirect,
      'proxy write/direct': r.proxyWriteOverDirect,
      'read, metrics off/relay': r.proxyReadNoMetricsOverRelay,
      'write, metrics off/relay': r.proxyWriteNoMetricsOverRelay,
    })),
  );
  console.log(
    "# process memory (heap after a forced GC; includes the fake servers and the load generator; external includes the bench's own latency histograms, 0.8 MB each)",
  );
  console.table(res.memory);
  console.log(
    `# growth from before proxy start to after the last round: heapUsed ${res.memoryGrowth.heapUsedMB} MB, RSS ${res.memoryGrowth.rssMB} MB (peak RSS ${res.memoryGrowth.peakRssMB} MB); heapUsed round 1 -> last round: ${res.memoryGrowth.heapUsedFirstToLastRoundMB} MB`,
  );
  return res;
}

if (require.main === module) {
  run().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
