// Cost of pinned write timestamps (pin_write_timestamps) on the routing step of a write, side by
// side in one run: the same QUERY / EXECUTE / BATCH routed with the setting off and on, and the ratio.
// Run: `npm run build && BENCH_FILTER=write-timestamps node scripts/run-bench.mjs`.
import { Bench } from 'tinybench';
import { Consistency, Opcode, ProtocolVersion } from '../src/protocol/constants';
import { RawFrame } from '../src/protocol/frame';
import { encodeMessage, type RequestMessage } from '../src/protocol/messages';
import { inspect } from '../src/cql/inspector';
import { forwardDecision } from '../src/cql/routing';
import { PreparedCache } from '../src/routing/prepared-cache';
import { RoutingSettings } from '../src/routing/settings';
import { routeRequest, type RouteContext } from '../src/routing/request-router';

const V4 = ProtocolVersion.V4;
const frame = (m: RequestMessage): RawFrame =>
  RawFrame.fromParts({ version: V4, isResponse: false, flags: 0, streamId: 1, opcode: m.opcode }, encodeMessage(m, V4));

export interface BenchResult {
  name: string;
  opsPerSec: number;
  meanNs: number;
  samples: number;
}

export async function run(): Promise<BenchResult[]> {
  const cache = new PreparedCache();
  const text = 'INSERT INTO ks.t (k, v) VALUES (?, ?)';
  const info = inspect(text);
  const id = Buffer.alloc(16, 1);
  cache.store({
    originId: id,
    targetId: Buffer.alloc(16, 2),
    query: text,
    keyspace: 'ks',
    info,
    decision: forwardDecision(info, 'ks'),
  });
  // the usual case: both clusters derive the prepared id from the same keyspace and text
  const sameId = Buffer.alloc(16, 3);
  cache.store({ originId: sameId, targetId: sameId, query: text, keyspace: 'ks', info, decision: forwardDecision(info, 'ks') });
  const value = Buffer.alloc(100, 0x61);
  const frames: Record<string, RawFrame> = {
    'QUERY INSERT': frame({
      opcode: Opcode.QUERY,
      query: "INSERT INTO ks.t (k, v) VALUES (1, 'a')",
      params: { consistency: Consistency.ONE },
    }),
    'EXECUTE (same TARGET id)': frame({
      opcode: Opcode.EXECUTE,
      id: sameId,
      params: { consistency: Consistency.ONE, values: [Buffer.from([0, 0, 0, 1]), value] },
    }),
    'EXECUTE (other TARGET id)': frame({
      opcode: Opcode.EXECUTE,
      id,
      params: { consistency: Consistency.ONE, values: [Buffer.from([0, 0, 0, 1]), value] },
    }),
    'BATCH of 10': frame({
      opcode: Opcode.BATCH,
      type: 0,
      consistency: Consistency.ONE,
      children: Array.from({ length: 10 }, (_, i) => ({
        kind: 'prepared' as const,
        id,
        values: [Buffer.from([0, 0, 0, i]), value],
      })),
    }),
  };
  const bench = new Bench({ time: 400 });
  for (const [name, f] of Object.entries(frames)) {
    for (const pin of [false, true]) {
      const ctx: RouteContext = { keyspace: 'ks', cache, settings: new RoutingSettings(), pinTimestamps: pin };
      bench.add(`route ${name}, pin ${pin ? 'on ' : 'off'}`, () => {
        routeRequest(f, ctx);
      });
    }
  }
  await bench.run();
  const out = bench.tasks.map((t) => {
    const r = t.result as unknown as {
      throughput?: { mean: number };
      latency?: { mean: number; samplesCount?: number };
      hz?: number;
      mean?: number;
    };
    const meanMs = r.latency?.mean ?? r.mean ?? 0;
    return {
      name: t.name,
      opsPerSec: Math.round(r.throughput?.mean ?? r.hz ?? 0),
      meanNs: Math.round(meanMs * 1e6),
      samples: r.latency?.samplesCount ?? 0,
    };
  });
  // ratio of throughputs (off / on = how many times slower the routing step is with pinning)
  const pairs = out.length;
  for (let i = 0; i + 1 < pairs; i += 2) {
    const slower = out[i]!.opsPerSec / Math.max(1, out[i + 1]!.opsPerSec);
    out.push({
      name: `routing slower with pin on (x): ${out[i]!.name.replace(/, pin off$/, '')}`,
      opsPerSec: Math.round(slower * 100) / 100,
      meanNs: 0,
      samples: 0,
    });
  }
  return out;
}
