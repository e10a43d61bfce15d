// Micro-benchmarks of the wire codec: frames per second for header-only decoding with a stream id
// rewrite (what the proxy does for every forwarded frame), full QUERY/EXECUTE decoding (what it
// does for frames it inspects), LZ4 throughput, CRC32 and v5 segment framing.
// Run: `npm run bench`, or `npm run build && node dist/bench/codec.bench.js`. BENCH_TIME=ms per task (default 500).
import { Bench } from 'tinybench';
import { Consistency, Opcode, ProtocolVersion } from '../src/protocol/constants';
import { FrameDecoder } from '../src/protocol/decoder';
import type { RawFrame } from '../src/protocol/frame';
import { decodeFrame, encodeFrame, type Frame } from '../src/protocol/frame-codec';
import type { Message } from '../src/protocol/messages';
import { lz4CompressBlock, lz4DecompressBlock, lz4BodyCompressor } from '../src/protocol/compression';
import { crc32, crc32UpdateTable, CRC32_SEED } from '../src/protocol/crc';
import { V5FrameDecoder, framesToSegments } from '../src/protocol/segment';
import * as zlib from 'node:zlib';

const FRAMES_PER_BUFFER = 1000;
const V = ProtocolVersion.V4;

/** A value of `n` bytes that compresses like real row data (repetitive text with some variation). */
function textLike(n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed;
  let pos = 0;
  while (pos < n) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const s = `{"id":${x % 100000},"name":"user-${x % 977}","city":"${['Paris', 'Lyon', 'Oslo', 'Lima'][x % 4]}","active":${x % 2 === 0}},`;
    pos += out.write(s, pos);
  }
  return out;
}

function randomish(n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function frameOf(message: Message, streamId: number, version = V): Buffer {
  const f: Frame = { version, isResponse: false, streamId, flags: 0, message };
  return encodeFrame(f).bytes;
}

/** A QUERY frame whose body is about `bodyBytes` long (one bound blob value fills the rest). */
function queryFrame(bodyBytes: number, streamId: number, version = V): Buffer {
  const query = 'INSERT INTO ks1.events (id, seq, payload) VALUES (?, ?, ?)';
  const fixed = 4 + query.length + 2 + 1 + 2 + (4 + 16) + (4 + 4) + 4; // string, consistency, flags, count, 2 values, 3rd len
  const blob = textLike(Math.max(0, bodyBytes - fixed));
  return frameOf(
    {
      opcode: Opcode.QUERY,
      query,
      params: { consistency: Consistency.LOCAL_QUORUM, values: [Buffer.alloc(16, 7), Buffer.from([0, 0, 0, 42]), blob] },
    },
    streamId,
    version,
  );
}

/** An EXECUTE frame whose body is about `bodyBytes` long. */
function executeFrame(bodyBytes: number, streamId: number, version = V): Buffer {
  const fixed = 2 + 16 + 2 + 1 + 2 + (4 + 16) + (4 + 4) + 4 + (4 + 8);
  const blob = textLike(Math.max(0, bodyBytes - fixed), 7);
  return frameOf(
    {
      opcode: Opcode.EXECUTE,
      id: Buffer.alloc(16, 0xab),
      params: {
        consistency: Consistency.LOCAL_QUORUM,
        values: [Buffer.alloc(16, 7), Buffer.from([0, 0, 0, 42]), blob],
        pageSize: 5000,
      },
    },
    streamId,
    version,
  );
}

function manyFrames(make: (body: number, id: number) => Buffer, bodyBytes: number, count = FRAMES_PER_BUFFER): Buffer[] {
  return Array.from({ length: count }, (_, i) => make(bodyBytes, i % 2048));
}

export interface CodecBenchResult {
  name: string;
  /** Task calls per second. */
  opsPerSec: number;
  /** Mean time per call, in microseconds. */
  meanUs: number;
  /** The derived rate: frames/s or MB/s. */
  rate: number;
  unit: 'frames/s' | 'MB/s';
}

interface Spec {
  name: string;
  fn: () => void;
  /** Units of work per call: frames, or bytes for MB/s. */
  perCall: number;
  unit: 'frames/s' | 'MB/s';
}

let sink = 0;

function specs(): Spec[] {
  const out: Spec[] = [];
  for (const body of [100, 10 * 1024]) {
    const label = body === 100 ? '100 B' : '10 KiB';
    // (a) header-only decode + stream id rewrite over a buffer of many frames.
    const stream = Buffer.concat(manyFrames(queryFrame, body));
    out.push({
      name: `header decode + setStreamId, ${label} bodies`,
      perCall: FRAMES_PER_BUFFER,
      unit: 'frames/s',
      fn: () => {
        const frames = new FrameDecoder().push(stream);
        for (let i = 0; i < frames.length; i++) frames[i]!.setStreamId(i & 0x7fff);
        sink += frames.length;
      },
    });
    // (b) full decode of QUERY and EXECUTE frames (header + envelope + message + query parameters).
    for (const [kind, make] of [
      ['QUERY', queryFrame],
      ['EXECUTE', executeFrame],
    ] as const) {
      const raws: RawFrame[] = new FrameDecoder().push(Buffer.concat(manyFrames(make, body)));
      out.push({
        name: `full ${kind} decode, ${label} bodies`,
        perCall: raws.length,
        unit: 'frames/s',
        fn: () => {
          for (let i = 0; i < raws.length; i++) sink += decodeFrame(raws[i]!).streamId;
        },
      });
    }
  }
  // LZ4 block throughput, on 64 KiB of text-like and of incompressible data.
  for (const [label, data] of [
    ['text-like', textLike(64 * 1024)],
    ['random', randomish(64 * 1024)],
  ] as const) {
    const block = lz4CompressBlock(data);
    out.push({
      name: `LZ4 compress 64 KiB ${label} (ratio ${(data.length / block.length).toFixed(2)})`,
      perCall: data.length,
      unit: 'MB/s',
      fn: () => {
        sink += lz4CompressBlock(data).length;
      },
    });
    out.push({
      name: `LZ4 decompress 64 KiB ${label}`,
      perCall: data.length,
      unit: 'MB/s',
      fn: () => {
        sink += lz4DecompressBlock(block, data.length).length;
      },
    });
  }
  // Frame-body LZ4 (v4): compress + decompress of a 10 KiB QUERY body.
  const body10k = queryFrame(10 * 1024, 1).subarray(9);
  const c10k = lz4BodyCompressor.compress(body10k, V);
  out.push({
    name: 'LZ4 body decompress 10 KiB (v4 frame)',
    perCall: body10k.length,
    unit: 'MB/s',
    fn: () => {
      sink += lz4BodyCompressor.decompress(c10k, V, 1 << 20).length;
    },
  });
  // CRC32 (segment payload checksum): table-driven vs zlib's native crc32 when present.
  const crcData = randomish(128 * 1024 - 1);
  out.push({
    name: 'CRC32 JS table (slicing-by-4), 128 KiB',
    perCall: crcData.length,
    unit: 'MB/s',
    fn: () => {
      sink += crc32UpdateTable(CRC32_SEED, crcData);
    },
  });
  out.push({
    name: 'CRC32 segment crc32() as used, 128 KiB',
    perCall: crcData.length,
    unit: 'MB/s',
    fn: () => {
      sink += crc32(crcData);
    },
  });
  const nativeCrc = (zlib as unknown as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
  if (typeof nativeCrc === 'function') {
    out.push({
      name: 'CRC32 zlib.crc32 (native), 128 KiB',
      perCall: crcData.length,
      unit: 'MB/s',
      fn: () => {
        sink += nativeCrc(crcData);
      },
    });
  }
  // v5 framing: 1000 QUERY frames of 100 B packed into segments and decoded back to frames.
  const v5Frames = manyFrames((b, id) => queryFrame(b, id, ProtocolVersion.V5), 100);
  const v5Stream = Buffer.concat(framesToSegments(v5Frames));
  out.push({
    name: 'v5 segments encode, 100 B frames',
    perCall: v5Frames.length,
    unit: 'frames/s',
    fn: () => {
      sink += framesToSegments(v5Frames).length;
    },
  });
  out.push({
    name: 'v5 segments decode -> frames, 100 B',
    perCall: v5Frames.length,
    unit: 'frames/s',
    fn: () => {
      sink += new V5FrameDecoder().push(v5Stream).length;
    },
  });
  const v5Lz4Stream = Buffer.concat(framesToSegments(v5Frames, lz4BodyCompressor));
  out.push({
    name: 'v5 LZ4 segments decode -> frames, 100 B',
    perCall: v5Frames.length,
    unit: 'frames/s',
    fn: () => {
      sink += new V5FrameDecoder({ compressor: lz4BodyCompressor }).push(v5Lz4Stream).length;
    },
  });
  return out;
}

/** Runs every task and returns the figures (no printing). */
export async function measure(): Promise<CodecBenchResult[]> {
  const time = Number(process.env.BENCH_TIME ?? 500);
  const bench = new Bench({ name: 'protocol codec', time });
  const all = specs();
  for (const s of all) bench.add(s.name, s.fn);
  await bench.run();
  const results: CodecBenchResult[] = bench.tasks.map((t, i) => {
    const s = all[i]!;
    const r = t.result;
    if (r.state !== 'completed') throw new Error(`bench task ${t.name} ended in state ${r.state}`);
    const meanMs = r.latency.mean;
    const opsPerSec = 1000 / meanMs;
    const rate = s.unit === 'frames/s' ? opsPerSec * s.perCall : (opsPerSec * s.perCall) / 1e6;
    return {
      name: s.name,
      opsPerSec: Math.round(opsPerSec),
      meanUs: Math.round(meanMs * 1000 * 10) / 10,
      rate: Math.round(rate * 10) / 10,
      unit: s.unit,
    };
  });
  if (sink === -1) console.log(''); // keep the results observable so nothing is optimised away
  return results;
}

/** Runs the benchmarks and prints a table. */
export async function run(): Promise<void> {
  const results = await measure();
  console.log(`# protocol codec (${process.version}, ${process.env.BENCH_TIME ?? 500} ms per task)`);
  console.table(
    results.map((r) => ({
      task: r.name,
      'ops/s': r.opsPerSec.toLocaleString('en-US'),
      'µs/op': r.meanUs,
      rate: `${Math.round(r.rate).toLocaleString('en-US')} ${r.unit}`,
    })),
  );
}

if (require.main === module) {
  run().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
