/**
 * Fault-injecting TCP relay between a client (usually the proxy) and a real (or fake) server, for tests.
 *
 *   const relay = await FaultRelay.start({ target: { host: TARGET.host, port: TARGET.port } });  // listens on 127.0.0.1:<random>
 *   relay.endpoint           // { host, port } to connect to instead of the server
 *
 * Faults, all toggled at run time and applied to every relayed connection (both directions unless said):
 *   relay.set({ latencyMs: 200, jitterMs: 20 })   // delay each chunk by latency + random(0..jitter) ms (order kept)
 *   relay.set({ bytesPerSecond: 64_000 })         // bandwidth limit per connection and direction
 *   relay.set({ rechunkMaxBytes: 7 })             // re-chunk into random writes of 1..7 bytes, one per event-loop turn
 *   relay.set({ latencyMs: 0, bytesPerSecond: 0, rechunkMaxBytes: 0 })   // 0 = off; relay.clearFaults() clears all
 *   relay.blackhole()        // silently drop everything from now on (both directions); resume() ends it
 *   relay.pause() / resume() // stop forwarding (sockets stay open, data is buffered) / forward what was buffered
 *   relay.delay(ms)          // = set({ latencyMs: ms })
 *   relay.cutAfterBytes(n)   // after n more bytes server->client (any connection), forward them and reset both sides
 *   relay.resetAll()         // destroy every relayed connection (RST towards the client)
 *   relay.connections        // the open relayed connections, oldest first: each has cutAfterBytes(n, dir),
 *                            //   closeAfterBytes(n, dir) (FIN instead of RST), reset(), bytesToServer/bytesToClient,
 *                            //   hold() / release() (pause / resume this connection only)
 *   relay.connectionCount, relay.connectionsAccepted, relay.bytesToServer, relay.bytesToClient
 *   await relay.stop()
 *
 * Back-pressure is kept: when one side's socket is full the relay stops reading the other side, so a client
 * that does not read stalls the server instead of growing the relay's memory.
 */
import * as net from 'node:net';
import { EventEmitter } from 'node:events';

export type Direction = 'to-server' | 'to-client';

export interface RelayFaults {
  /** added to every chunk, ms (0 = none) */
  latencyMs: number;
  /** random extra delay 0..jitterMs per chunk (order is kept) */
  jitterMs: number;
  /** per connection and direction (0 = unlimited) */
  bytesPerSecond: number;
  /** split every chunk into random writes of 1..rechunkMaxBytes bytes, each in its own event-loop turn (0 = off) */
  rechunkMaxBytes: number;
}
const NO_FAULTS: RelayFaults = { latencyMs: 0, jitterMs: 0, bytesPerSecond: 0, rechunkMaxBytes: 0 };

interface Scheduled {
  due: number;
  chunk: Buffer;
}

/** One direction of one relayed connection: a queue of chunks with their due times. */
class Lane {
  readonly queue: Scheduled[] = [];
  lastDue = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  constructor(private readonly deliver: (chunk: Buffer) => void) {}

  get busy(): boolean {
    return this.queue.length > 0;
  }
  push(s: Scheduled): void {
    this.queue.push(s);
    this.lastDue = Math.max(this.lastDue, s.due);
    this.pump();
  }
  pump(): void {
    if (this.timer || this.immediate) return;
    const head = this.queue[0];
    if (!head) return;
    const wait = head.due - performance.now();
    if (wait > 1) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      return;
    }
    // one chunk per event-loop turn: separate writes reach the peer as separate reads (noDelay)
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      const s = this.queue.shift();
      if (s) this.deliver(s.chunk);
      this.pump();
    });
  }
  clear(): void {
    this.queue.length = 0;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }
}

/** One client connection and its server connection. */
export class RelayedConnection extends EventEmitter {
  bytesToServer = 0;
  bytesToClient = 0;
  closed = false;
  queued: { to: Direction; chunk: Buffer }[] = [];
  readonly lanes: Record<Direction, Lane>;
  private readonly waitingDrain = new Set<Direction>();
  private budget: Partial<Record<Direction, { bytes: number; how: 'reset' | 'end' }>> = {};

  constructor(
    readonly id: number,
    readonly client: net.Socket,
    readonly server: net.Socket,
    private readonly relay: FaultRelay,
  ) {
    super();
    this.lanes = {
      'to-server': new Lane((c) => this.write('to-server', c)),
      'to-client': new Lane((c) => this.write('to-client', c)),
    };
  }

  /** After n more bytes in that direction (default server->client), forward them and reset both sides (mid-frame). */
  cutAfterBytes(n: number, dir: Direction = 'to-client'): void {
    this.budget[dir] = { bytes: n, how: 'reset' };
  }
  /** Like cutAfterBytes, but closes both sides with a FIN. */
  closeAfterBytes(n: number, dir: Direction = 'to-client'): void {
    this.budget[dir] = { bytes: n, how: 'end' };
  }
  /** Stop forwarding on this connection only (both directions; data is buffered), until release(). */
  hold(): void {
    this.held = true;
  }
  /** End hold(): what was buffered is forwarded (unless the whole relay is paused). */
  release(): void {
    this.held = false;
    this.relay.flush(this);
  }
  /** @internal */ held = false;
  /** Reset both sides now. */
  reset(): void {
    this.close('reset');
  }

  close(how: 'reset' | 'end' | 'destroy' = 'destroy'): void {
    if (this.closed) return;
    this.closed = true;
    this.lanes['to-server'].clear();
    this.lanes['to-client'].clear();
    this.shut(how);
    this.emit('close');
  }

  private shut(how: 'reset' | 'end' | 'destroy'): void {
    if (how === 'reset') {
      this.client.resetAndDestroy();
      this.server.resetAndDestroy();
    } else if (how === 'end') {
      this.client.end();
      this.server.end();
      this.client.destroySoon();
      this.server.destroySoon();
    } else {
      this.client.destroy();
      this.server.destroy();
    }
  }

  /** Write a chunk out (after latency/bandwidth), honouring a pending cut and back-pressure. */
  write(to: Direction, chunk: Buffer): void {
    if (this.closed || this.relay.dropping) return;
    const b = this.budget[to] ?? (to === 'to-client' ? this.relay.takeGlobalCut(chunk.length) : undefined);
    if (b) {
      if (chunk.length >= b.bytes) {
        const part = chunk.subarray(0, b.bytes);
        delete this.budget[to];
        this.count(to, part.length);
        const out = to === 'to-server' ? this.server : this.client;
        out.write(part, () => this.shut(b.how));
        // stop relaying anything else on this connection
        this.closed = true;
        this.lanes['to-server'].clear();
        this.lanes['to-client'].clear();
        this.emit('close');
        return;
      }
      b.bytes -= chunk.length;
      if (!this.budget[to]) this.budget[to] = b;
    }
    this.count(to, chunk.length);
    const out = to === 'to-server' ? this.server : this.client;
    const src = to === 'to-server' ? this.client : this.server;
    if (!out.write(chunk) && !this.waitingDrain.has(to)) {
      this.waitingDrain.add(to);
      src.pause();
      out.once('drain', () => {
        this.waitingDrain.delete(to);
        if (!this.closed) src.resume();
      });
    }
  }

  private count(to: Direction, n: number): void {
    if (to === 'to-server') {
      this.bytesToServer += n;
      this.relay.bytesToServer += n;
    } else {
      this.bytesToClient += n;
      this.relay.bytesToClient += n;
    }
  }
}

export class FaultRelay {
  private readonly pairs = new Set<RelayedConnection>();
  private paused = false;
  /** @internal */ dropping = false;
  private faults: RelayFaults = { ...NO_FAULTS };
  private globalCut: number | undefined;
  private listener!: net.Server;
  private nextId = 1;
  host = '127.0.0.1';
  port = 0;
  bytesToServer = 0;
  bytesToClient = 0;
  connectionsAccepted = 0;

  private constructor(private readonly target: { host: string; port: number }) {}

  static async start(opts: { target: { host: string; port: number }; host?: string; port?: number }): Promise<FaultRelay> {
    const r = new FaultRelay(opts.target);
    r.host = opts.host ?? '127.0.0.1';
    r.listener = net.createServer((client) => r.accept(client));
    await new Promise<void>((resolve, reject) => {
      r.listener.once('error', reject);
      r.listener.listen(opts.port ?? 0, r.host, () => resolve());
    });
    r.port = (r.listener.address() as net.AddressInfo).port;
    return r;
  }

  get endpoint(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }
  get connectionCount(): number {
    return this.pairs.size;
  }
  /** Open relayed connections, oldest first. */
  get connections(): RelayedConnection[] {
    return [...this.pairs];
  }
  /** The faults now in force. */
  get current(): Readonly<RelayFaults> {
    return { ...this.faults };
  }

  /** Change faults at run time (fields not given are kept). */
  set(f: Partial<RelayFaults>): void {
    this.faults = { ...this.faults, ...f };
  }
  clearFaults(): void {
    this.faults = { ...NO_FAULTS };
    this.globalCut = undefined;
  }
  pause(): void {
    this.paused = true;
  }
  /** Ends pause and blackhole: what was buffered while paused is forwarded. */
  resume(): void {
    this.paused = false;
    this.dropping = false;
    for (const p of this.pairs) this.flush(p);
  }
  /** @internal forward what `p` buffered while paused or held */
  flush(p: RelayedConnection): void {
    if (this.paused || p.held) return;
    const q = p.queued;
    p.queued = [];
    for (const item of q) this.schedule(p, item.to, item.chunk);
  }
  delay(ms: number): void {
    this.set({ latencyMs: ms });
  }
  cutAfterBytes(n: number): void {
    this.globalCut = n;
  }
  blackhole(): void {
    this.dropping = true;
    for (const p of this.pairs) {
      p.lanes['to-server'].clear();
      p.lanes['to-client'].clear();
    }
  }
  resetAll(): void {
    for (const p of this.pairs) p.close('reset');
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.resetAll();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  /** @internal the relay-wide cut (cutAfterBytes) applies to whichever connection sends server->client next */
  takeGlobalCut(len: number): { bytes: number; how: 'reset' } | undefined {
    if (this.globalCut === undefined) return undefined;
    if (len >= this.globalCut) {
      const b = { bytes: this.globalCut, how: 'reset' as const };
      this.globalCut = undefined;
      return b;
    }
    this.globalCut -= len;
    return undefined;
  }

  private accept(client: net.Socket): void {
    this.connectionsAccepted++;
    const server = net.connect(this.target);
    client.setNoDelay(true);
    server.setNoDelay(true);
    const pair = new RelayedConnection(this.nextId++, client, server, this);
    this.pairs.add(pair);
    pair.once('close', () => this.pairs.delete(pair));
    const close = (): void => pair.close();
    client.on('data', (c: Buffer) => this.onChunk(pair, 'to-server', c));
    server.on('data', (c: Buffer) => this.onChunk(pair, 'to-client', c));
    client.on('error', close);
    server.on('error', close);
    client.on('close', close);
    server.on('close', close);
  }

  private onChunk(p: RelayedConnection, to: Direction, chunk: Buffer): void {
    if (this.dropping || p.closed) return;
    if (this.paused || p.held) {
      p.queued.push({ to, chunk });
      return;
    }
    this.schedule(p, to, chunk);
  }

  private schedule(p: RelayedConnection, to: Direction, chunk: Buffer): void {
    const f = this.faults;
    const lane = p.lanes[to];
    if (f.latencyMs <= 0 && f.jitterMs <= 0 && f.bytesPerSecond <= 0 && f.rechunkMaxBytes <= 0 && !lane.busy) {
      p.write(to, chunk);
      return;
    }
    const pieces: Buffer[] = [];
    if (f.rechunkMaxBytes > 0) {
      for (let off = 0; off < chunk.length; ) {
        const n = 1 + Math.floor(Math.random() * f.rechunkMaxBytes);
        pieces.push(chunk.subarray(off, off + n));
        off += n;
      }
    } else pieces.push(chunk);
    const now = performance.now();
    for (const piece of pieces) {
      let due = now + f.latencyMs + (f.jitterMs > 0 ? Math.random() * f.jitterMs : 0);
      due = Math.max(due, lane.lastDue);
      if (f.bytesPerSecond > 0) due = Math.max(due, Math.max(now, lane.lastDue) + (piece.length * 1000) / f.bytesPerSecond);
      lane.push({ due, chunk: piece });
    }
  }
}
