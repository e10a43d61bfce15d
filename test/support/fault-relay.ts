/**
 * Fault-injecting TCP relay between a client and a real (or fake) server, for tests.
 *
 *   const relay = await FaultRelay.start({ target: { host: '127.0.0.1', port: 9042 } });  // listens on 127.0.0.1:<random>
 *   relay.endpoint          // { host, port } to connect to instead of the server
 *   relay.pause()           // stop forwarding in both directions (sockets stay open, data is buffered)
 *   relay.resume()          // forward what was buffered, then pass through again
 *   relay.delay(ms)         // delay every chunk by ms (0 = off)
 *   relay.cutAfterBytes(n)  // after n more bytes server->client, forward the first part and reset both sides (mid-frame)
 *   relay.blackhole()       // silently drop everything from now on (both directions); resume() ends it
 *   relay.resetAll()        // destroy every relayed connection
 *   relay.connectionCount, relay.bytesToServer, relay.bytesToClient
 *   await relay.stop()
 */
import * as net from 'node:net';

interface Pair {
  client: net.Socket;
  server: net.Socket;
  queued: { to: 'server' | 'client'; chunk: Buffer }[];
}

export class FaultRelay {
  private readonly pairs = new Set<Pair>();
  private paused = false;
  private dropping = false;
  private delayMs = 0;
  private cutBudget: number | undefined;
  private listener!: net.Server;
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

  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.dropping = false;
    for (const p of this.pairs) {
      const q = p.queued;
      p.queued = [];
      for (const item of q) this.forward(p, item.to, item.chunk);
    }
  }
  delay(ms: number): void {
    this.delayMs = ms;
  }
  cutAfterBytes(n: number): void {
    this.cutBudget = n;
  }
  blackhole(): void {
    this.dropping = true;
  }
  resetAll(): void {
    for (const p of this.pairs) {
      p.client.resetAndDestroy();
      p.server.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.resetAll();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.connectionsAccepted++;
    const server = net.connect(this.target);
    const pair: Pair = { client, server, queued: [] };
    this.pairs.add(pair);
    const close = () => {
      if (!this.pairs.delete(pair)) return;
      client.destroy();
      server.destroy();
    };
    client.on('data', (c: Buffer) => this.onChunk(pair, 'server', c));
    server.on('data', (c: Buffer) => this.onChunk(pair, 'client', c));
    client.on('error', close);
    server.on('error', close);
    client.on('close', close);
    server.on('close', close);
  }

  private onChunk(p: Pair, to: 'server' | 'client', chunk: Buffer): void {
    if (this.dropping) return;
    if (this.paused) {
      p.queued.push({ to, chunk });
      return;
    }
    if (this.delayMs > 0) {
      setTimeout(() => this.forward(p, to, chunk), this.delayMs);
      return;
    }
    this.forward(p, to, chunk);
  }

  private forward(p: Pair, to: 'server' | 'client', chunk: Buffer): void {
    if (!this.pairs.has(p) || this.dropping) return;
    if (to === 'client' && this.cutBudget !== undefined) {
      if (chunk.length >= this.cutBudget) {
        const part = chunk.subarray(0, this.cutBudget);
        this.cutBudget = undefined;
        this.bytesToClient += part.length;
        p.client.write(part, () => {
          p.client.resetAndDestroy();
          p.server.destroy();
        });
        this.pairs.delete(p);
        return;
      }
      this.cutBudget -= chunk.length;
    }
    if (to === 'server') {
      this.bytesToServer += chunk.length;
      p.server.write(chunk);
    } else {
      this.bytesToClient += chunk.length;
      p.client.write(chunk);
    }
  }
}
