// The load generator and latency histogram shared by the in-process benchmarks (proxy.bench.ts,
// protocol-v5.bench.ts): a QUERY frame of a given size, a 1 µs-bucket histogram, and a pipelined client on our
// codec speaking v4, v5 segments or v5 LZ4 segments.
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { lz4BodyCompressor } from '../src/protocol/compression';
import { Consistency, Opcode, ProtocolVersion } from '../src/protocol/constants';
import type { RawFrame } from '../src/protocol/frame';
import { encodeFrame } from '../src/protocol/frame-codec';
import { ConnectionFraming } from '../src/protocol/framing';

/** How a LoadConnection frames its requests. */
export type Framing = 'v4' | 'v5' | 'v5 lz4';
export const versionOf = (f: Framing): ProtocolVersion => (f === 'v4' ? ProtocolVersion.V4 : ProtocolVersion.V5);

/** A QUERY frame (stream id 0) whose body is `bodyBytes` long: the CQL text is padded with a comment. */
export function queryFrame(cql: string, bodyBytes = 100, version: ProtocolVersion = ProtocolVersion.V4): Buffer {
  const fixed = 4 + 2 + 1; // [long string] length, consistency, flags
  const pad = Math.max(0, bodyBytes - fixed - cql.length - 6);
  const query = pad > 0 ? `${cql} /* ${'p'.repeat(pad)} */` : cql;
  return Buffer.from(
    encodeFrame({
      version,
      isResponse: false,
      streamId: 0,
      flags: 0,
      message: { opcode: Opcode.QUERY, query, params: { consistency: Consistency.LOCAL_QUORUM } },
    }).bytes,
  );
}

// ---------------------------------------------------------------------------------------------
// Latency histogram: 1 µs buckets up to 200 ms, one overflow bucket.
// ---------------------------------------------------------------------------------------------
export class Histogram {
  readonly counts = new Uint32Array(200_001);
  total = 0;
  record(us: number): void {
    const i = us >= 200_000 ? 200_000 : us < 0 ? 0 : Math.floor(us);
    this.counts[i]!++;
    this.total++;
  }
  add(o: Histogram): void {
    for (let i = 0; i < o.counts.length; i++) this.counts[i]! += o.counts[i]!;
    this.total += o.total;
  }
  /** Percentile in µs (upper edge of the bucket). */
  pct(p: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.ceil((p / 100) * this.total);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i + 1;
    }
    return this.counts.length;
  }
}

// ---------------------------------------------------------------------------------------------
// Pipelined load generator: per connection, `depth` slots; slot i uses stream id i+1 and its own copy of the
// request frame (reused only once its reply came back, so no per-request allocation on the client side).
// Replies coming in one chunk trigger their follow-up requests in one corked write (as drivers coalesce).
// ---------------------------------------------------------------------------------------------
/** Pipelined client on our codec: `depth` slots, slot i on stream i+1; v5 after the handshake: requests in segments. */
export class LoadConnection {
  private readonly framing = new ConnectionFraming({ expectResponses: true });
  private readonly slots: Buffer[] = [];
  private readonly sentAt: Float64Array;
  private running = false;
  private outstanding = 0;
  private waiter: ((f: RawFrame) => void) | undefined;
  hist: Histogram | undefined;
  done = 0;
  errors = 0;

  private constructor(
    private readonly socket: net.Socket,
    private readonly depth: number,
  ) {
    this.sentAt = new Float64Array(depth + 1);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('data', (b: Buffer) => this.onData(b));
  }

  static async open(port: number, depth: number, framing: Framing): Promise<LoadConnection> {
    const s = await new Promise<net.Socket>((resolve, reject) => {
      const so = net.connect({ host: '127.0.0.1', port }, () => resolve(so));
      so.once('error', reject);
    });
    const c = new LoadConnection(s, depth);
    if (framing === 'v5 lz4') c.framing.setSegmentCompressor(lz4BodyCompressor);
    const options: Record<string, string> = { CQL_VERSION: '3.0.0', ...(framing === 'v5 lz4' ? { COMPRESSION: 'lz4' } : {}) };
    const startup = encodeFrame({
      version: versionOf(framing),
      isResponse: false,
      streamId: 0,
      flags: 0,
      message: { opcode: Opcode.STARTUP, options },
    });
    const r = await new Promise<RawFrame>((resolve) => {
      c.waiter = resolve;
      s.write(startup.bytes);
    });
    if (r.opcode !== Opcode.READY) throw new Error(`STARTUP (${framing}) answered with opcode ${r.opcode}`);
    if ((framing !== 'v4') !== c.framing.segments)
      throw new Error(`${framing}: segment framing ${c.framing.segments ? 'on' : 'off'}`);
    return c;
  }

  setRequest(template: Buffer): void {
    this.slots.length = 0;
    for (let i = 0; i < this.depth; i++) {
      const b = Buffer.from(template);
      b.writeInt16BE(i + 1, 2);
      this.slots.push(b);
    }
  }

  start(hist: Histogram): void {
    this.hist = hist;
    this.done = 0;
    this.errors = 0;
    this.running = true;
    this.socket.cork();
    for (let i = 0; i < this.depth; i++) this.send(i + 1);
    this.flush();
    this.socket.uncork();
  }

  async stop(): Promise<void> {
    this.running = false;
    while (this.outstanding > 0) await new Promise((r) => setTimeout(r, 2));
    this.hist = undefined;
  }

  private send(stream: number): void {
    this.sentAt[stream] = performance.now();
    this.outstanding++;
    const frame = this.slots[stream - 1]!;
    if (!this.framing.segments) this.socket.write(frame);
    else for (const s of this.framing.encode(frame)) this.socket.write(s);
  }

  private flush(): void {
    for (const s of this.framing.flush()) this.socket.write(s);
  }

  private onData(b: Buffer): void {
    const frames = this.framing.push(b);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      this.framing.afterRead(frames[0]!);
      w(frames[0]!);
      return;
    }
    const now = performance.now();
    this.socket.cork();
    for (const f of frames) {
      const stream = f.streamId;
      if (stream <= 0 || stream > this.depth) continue;
      this.outstanding--;
      if (f.opcode !== Opcode.RESULT) this.errors++;
      if (this.hist) {
        this.hist.record((now - this.sentAt[stream]!) * 1000);
        this.done++;
      }
      if (this.running) this.send(stream);
    }
    this.flush();
    this.socket.uncork();
  }

  close(): void {
    this.socket.destroy();
  }
}
