// The load generator of the cross-process benchmark (its own process), on our codec: `conns` connections,
// `inflight` requests in flight per connection (pipelined), prepared statements of one workload, for
// `durationMs` after `warmupMs` (or until `count` requests are measured). With `rate` > 0 requests are sent on a fixed schedule (total requests/s) and
// latency is measured from each request's scheduled time, so a stall is not hidden (no coordinated omission).
//   node dist/bench/xproc/loadgen.js '<json LoadgenOptions>'   -> prints one JSON LoadgenResult line
import { createHistogram, performance } from 'node:perf_hooks';
import { Opcode, type ProtocolVersion } from '../../src/protocol/constants';
import type { RawFrame } from '../../src/protocol/frame';
import { BenchConnection, executeTemplate } from './conn';
import { BENCH_STATEMENTS, KEYS, WORKLOADS, type StatementName } from './workloads';

export interface LoadgenOptions {
  host: string;
  port: number;
  version: ProtocolVersion;
  credentials?: { username: string; password: string };
  conns: number;
  inflight: number;
  workload: string;
  durationMs: number;
  warmupMs: number;
  /** > 0: measure this many requests after the warmup instead of running for `durationMs` */
  count?: number;
  /** total requests/s; 0 = as fast as replies come back */
  rate: number;
  /** requests carry a client timestamp (as drivers send by default) */
  clientTimestamps?: boolean;
}

export interface LoadgenResult {
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  throughput: number;
  p50us: number;
  p99us: number;
  p999us: number;
  maxUs: number;
  /** latency from the moment each request was written (equal to the above at saturation; at a fixed rate it
   *  leaves out the generator's own timer lag and queueing, and so measures the path alone) */
  p50SentUs: number;
  p99SentUs: number;
  /** fixed rate: requests that could not be sent on time (no free stream id) */
  late: number;
}

const TEMPLATES_PER_STATEMENT = 64;

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2] ?? '{}') as LoadgenOptions;
  const names = WORKLOADS[o.workload];
  if (!names) throw new Error(`unknown workload ${o.workload}`);
  const conns: BenchConnection[] = [];
  for (let i = 0; i < o.conns; i++) {
    conns.push(await BenchConnection.open({ host: o.host, port: o.port, version: o.version, credentials: o.credentials }));
  }
  // Every connection prepares (with several proxy workers, each worker has its own prepared cache).
  const templates: Buffer[][][] = []; // [conn][statement of the workload][key variant]
  for (const c of conns) {
    const perConn: Buffer[][] = [];
    for (const n of names as StatementName[]) {
      const s = BENCH_STATEMENTS[n];
      const p = await c.prepare(s.cql);
      const variants: Buffer[] = [];
      for (let k = 0; k < TEMPLATES_PER_STATEMENT; k++) {
        const key = Buffer.alloc(4);
        key.writeInt32BE((k * 7919) % KEYS);
        variants.push(
          executeTemplate(o.version, p, s.write ? [key, Buffer.alloc(100, 0x62)] : [key], o.clientTimestamps === true),
        );
      }
      perConn.push(variants);
    }
    templates.push(perConn);
  }

  const hist = createHistogram();
  const histSent = createHistogram();
  let requests = 0;
  let errors = 0;
  let late = 0;
  let firstError: string | undefined;
  let counting = false;
  let running = true;
  let seq = 0;
  const t0 = performance.now();
  const measureFrom = t0 + o.warmupMs;
  const count = o.count ?? 0;
  const end = count > 0 ? Number.POSITIVE_INFINITY : measureFrom + o.durationMs;
  let stoppedAt = end;
  const stop = (now: number): void => {
    running = false;
    stoppedAt = now;
    if (outstanding === 0) resolveDone();
  };

  // Per connection: free stream ids and the (scheduled) send time of each stream id in flight.
  const free = conns.map(() => Array.from({ length: o.inflight }, (_, i) => o.inflight - i));
  const sentAt = conns.map(() => new Float64Array(o.inflight + 1));
  const writtenAt = conns.map(() => new Float64Array(o.inflight + 1));
  const send = (ci: number, at: number): boolean => {
    const id = free[ci]!.pop();
    if (id === undefined) return false;
    const perConn = templates[ci]!;
    const s = seq++;
    const variants = perConn[s % perConn.length]!;
    sentAt[ci]![id] = at;
    writtenAt[ci]![id] = o.rate > 0 ? performance.now() : at;
    conns[ci]!.sendTemplate(variants[(s >>> 1) % TEMPLATES_PER_STATEMENT]!, id);
    return true;
  };
  const pending: number[] = []; // fixed rate: scheduled times not yet sent

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let outstanding = 0;
  conns.forEach((c, ci) => {
    c.onReply = (f: RawFrame) => {
      const now = performance.now();
      outstanding--;
      const startedAt = sentAt[ci]![f.streamId]!;
      free[ci]!.push(f.streamId);
      if (counting && startedAt >= measureFrom && (count === 0 || requests < count)) {
        requests++;
        hist.record(Math.max(1, Math.round((now - startedAt) * 1000)));
        histSent.record(Math.max(1, Math.round((now - writtenAt[ci]![f.streamId]!) * 1000)));
        if (f.opcode === Opcode.ERROR) {
          errors++;
          firstError ??= f.body.toString('latin1').replace(/[^\x20-\x7e]/g, '.');
        }
        if (requests === count && running) stop(now);
      }
      if (!running) {
        if (outstanding === 0) resolveDone();
        return;
      }
      if (o.rate > 0) {
        const at = pending.shift();
        if (at !== undefined && send(ci, at)) outstanding++;
        else if (at !== undefined) pending.unshift(at);
      } else if (send(ci, now)) outstanding++;
    };
  });

  if (o.rate > 0) {
    const interval = 1000 / o.rate;
    let next = t0;
    let rr = 0;
    const tick = (): void => {
      const now = performance.now();
      if (now >= measureFrom) counting = true;
      if (!running) return;
      if (now >= end) {
        stop(end);
        return;
      }
      while (next <= now) {
        pending.push(next);
        next += interval;
      }
      while (pending.length > 0) {
        let sent = false;
        for (let k = 0; k < conns.length && !sent; k++) {
          const ci = rr++ % conns.length;
          if (send(ci, pending[0]!)) sent = true;
        }
        if (!sent) {
          late++;
          break;
        }
        pending.shift();
        outstanding++;
      }
      setTimeout(tick, 1);
    };
    tick();
  } else {
    for (let ci = 0; ci < conns.length; ci++) for (let k = 0; k < o.inflight; k++) if (send(ci, performance.now())) outstanding++;
    setTimeout(() => {
      counting = true;
    }, o.warmupMs);
    if (count === 0) setTimeout(() => stop(end), o.warmupMs + o.durationMs);
  }
  const limitMs = count > 0 ? 600_000 : o.warmupMs + o.durationMs + 10_000;
  await Promise.race([done, new Promise((r) => setTimeout(r, limitMs))]);
  const seconds = ((running ? performance.now() : stoppedAt) - measureFrom) / 1000;
  const us = (p: number): number => Math.round(hist.percentile(p)) / 1;
  const result: LoadgenResult = {
    requests,
    errors,
    ...(firstError ? { firstError } : {}),
    seconds,
    throughput: Math.round(requests / seconds),
    p50us: requests ? us(50) : 0,
    p99us: requests ? us(99) : 0,
    p999us: requests ? us(99.9) : 0,
    maxUs: requests ? hist.max : 0,
    p50SentUs: requests ? Math.round(histSent.percentile(50)) : 0,
    p99SentUs: requests ? Math.round(histSent.percentile(99)) : 0,
    late,
  };
  for (const c of conns) c.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stdout.write(`${JSON.stringify({ fatal: String((e as Error)?.stack ?? e) })}\n`);
  process.exit(1);
});
