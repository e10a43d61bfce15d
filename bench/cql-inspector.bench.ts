// Micro-benchmark of the CQL statement inspector (per-request path for QUERY and PREPARE).
// Run: `npm run build && node dist/bench/cql-inspector.bench.js`, or call `run()` from a bench runner.
import { Bench } from 'tinybench';
import { inspect } from '../src/cql/inspector';

const SHORT_INSERT = 'INSERT INTO ks1.users (id, name, created) VALUES (?, ?, now())';
const SHORT_SELECT = 'SELECT id, name FROM ks1.users WHERE id = ?';

function makeBatch(targetBytes: number): string {
  let out = 'BEGIN UNLOGGED BATCH ';
  let i = 0;
  for (;;) {
    const child = `INSERT INTO ks1.events (id, seq, payload, at) VALUES (?, ${i}, 'payload-${i}', now()); `;
    if (out.length + child.length + 'APPLY BATCH'.length > targetBytes) break;
    out += child;
    i++;
  }
  out += 'APPLY BATCH';
  return out.padEnd(targetBytes, ' ');
}
const BATCH_2K = makeBatch(2048);

export interface BenchResult {
  name: string;
  opsPerSec: number;
  meanNs: number;
  samples: number;
}

export async function run(): Promise<BenchResult[]> {
  const bench = new Bench({ time: 500 });
  bench
    .add('inspect short INSERT', () => {
      inspect(SHORT_INSERT);
    })
    .add('inspect short SELECT', () => {
      inspect(SHORT_SELECT);
    })
    .add(`inspect ${BATCH_2K.length} B BATCH`, () => {
      inspect(BATCH_2K);
    });
  await bench.run();
  return bench.tasks.map((t) => {
    const r = t.result as unknown as {
      throughput?: { mean: number };
      latency?: { mean: number; samplesCount?: number; samples?: number[] };
      hz?: number;
      mean?: number;
      samples?: number[];
    };
    const opsPerSec = r.throughput?.mean ?? r.hz ?? 0;
    const meanMs = r.latency?.mean ?? r.mean ?? 0;
    const samples = r.latency?.samplesCount ?? r.latency?.samples?.length ?? r.samples?.length ?? 0;
    return { name: t.name, opsPerSec: Math.round(opsPerSec), meanNs: Math.round(meanMs * 1e6), samples };
  });
}

if (require.main === module) {
  run().then(
    (results) => {
      for (const r of results)
        console.log(`${r.name.padEnd(28)} ${r.opsPerSec.toLocaleString('en-US').padStart(12)} ops/s  ${r.meanNs} ns/op`);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
