// Test harness for in-process proxy tests: a proxy between a raw CQL client and two fake servers.
import * as net from 'node:net';
import * as tls from 'node:tls';
import http from 'node:http';
import assert from 'node:assert/strict';
import pino, { type Logger } from 'pino';
import { Consistency, Opcode, ProtocolVersion } from '../../../src/protocol/constants';
import { FrameDecoder } from '../../../src/protocol/decoder';
import type { RawFrame } from '../../../src/protocol/frame';
import { decodeFrame, encodeFrame } from '../../../src/protocol/frame-codec';
import type { Message, RequestMessage } from '../../../src/protocol/messages';
import type { ErrorMessage } from '../../../src/protocol/messages';
import type { Value } from '../../../src/protocol/primitives';
import { loadConfig } from '../../../src/config/load';
import { startProxy, type RunningProxy, type StartProxyOptions } from '../../../src/proxy';
import { FakeServer, type FakeServerOptions } from '../../support/fake-server';
import { waitFor } from '../../support/wait';

export class TestClient {
  private decoder = new FrameDecoder({ expectResponses: true });
  private waiters = new Map<number, (f: RawFrame) => void>();
  private nextStream = 1;
  readonly events: RawFrame[] = [];
  readonly unmatched: RawFrame[] = [];
  closed = false;
  private constructor(
    readonly socket: net.Socket,
    readonly version: ProtocolVersion,
  ) {
    socket.on('data', (b) => {
      for (const f of this.decoder.push(b)) {
        if (f.opcode === Opcode.EVENT) {
          this.events.push(f);
          continue;
        }
        const w = this.waiters.get(f.streamId);
        if (w) {
          this.waiters.delete(f.streamId);
          w(f);
        } else this.unmatched.push(f);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  /** Plain TCP, or TLS with `tlsOptions` (resolves once the handshake is done). */
  static connect(port: number, version = ProtocolVersion.V4, tlsOptions?: tls.ConnectionOptions): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const s = tlsOptions
        ? tls.connect({ host: '127.0.0.1', port, ...tlsOptions }, () => resolve(new TestClient(s, version)))
        : net.connect({ host: '127.0.0.1', port }, () => resolve(new TestClient(s, version)));
      s.once('error', reject);
    });
  }

  /** Connect and run STARTUP (READY expected). */
  static async ready(port: number, version = ProtocolVersion.V4, tlsOptions?: tls.ConnectionOptions): Promise<TestClient> {
    const c = await TestClient.connect(port, version, tlsOptions);
    const r = await c.request({ opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0' } });
    assert.equal(r.opcode, Opcode.READY);
    return c;
  }

  frame(message: RequestMessage, stream = this.nextStream++): RawFrame {
    return encodeFrame({ version: this.version, isResponse: false, streamId: stream, flags: 0, message });
  }

  /** Send a frame, resolve with the reply on its stream id (rejects after timeoutMs). */
  send(f: RawFrame, timeoutMs = 3000): Promise<RawFrame> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters.delete(f.streamId);
        reject(new Error(`no reply on stream ${f.streamId}`));
      }, timeoutMs);
      this.waiters.set(f.streamId, (r) => (clearTimeout(t), resolve(r)));
      this.socket.write(f.bytes);
    });
  }

  request(message: RequestMessage, timeoutMs = 3000): Promise<RawFrame> {
    return this.send(this.frame(message), timeoutMs);
  }

  query(query: string, values?: Value[], timeoutMs = 3000): Promise<RawFrame> {
    return this.request(
      { opcode: Opcode.QUERY, query, params: { consistency: Consistency.ONE, ...(values ? { values } : {}) } },
      timeoutMs,
    );
  }

  async prepare(query: string): Promise<Buffer> {
    const r = decode(await this.request({ opcode: Opcode.PREPARE, query }));
    assert.equal(r.opcode, Opcode.RESULT, `PREPARE answered ${JSON.stringify(r)}`);
    return Buffer.from((r as { id: Buffer }).id);
  }

  execute(id: Buffer, values: Value[] = [], timeoutMs = 3000): Promise<RawFrame> {
    return this.request({ opcode: Opcode.EXECUTE, id, params: { consistency: Consistency.ONE, values } }, timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }
}

export function decode(f: RawFrame): Message {
  return decodeFrame(f, undefined, undefined, { allowTrailingBytes: true }).message;
}

export function errorOf(f: RawFrame): ErrorMessage {
  assert.equal(f.opcode, Opcode.ERROR, `expected an ERROR, got opcode ${f.opcode}`);
  return decode(f) as ErrorMessage;
}

export interface Harness {
  origin: FakeServer;
  target: FakeServer;
  proxy: RunningProxy;
  close(): Promise<void>;
}

export const silent: Logger = pino({ level: 'silent' });

export function proxyEnv(origin: FakeServer, target: FakeServer, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ZDM_ORIGIN_CONTACT_POINTS: origin.host,
    ZDM_ORIGIN_PORT: String(origin.port),
    ZDM_TARGET_CONTACT_POINTS: target.host,
    ZDM_TARGET_PORT: String(target.port),
    ZDM_ORIGIN_USERNAME: '',
    ZDM_ORIGIN_PASSWORD: '',
    ZDM_TARGET_USERNAME: '',
    ZDM_TARGET_PASSWORD: '',
    ZDM_PROXY_LISTEN_ADDRESS: '127.0.0.1',
    ZDM_PROXY_LISTEN_PORT: '0',
    ZDM_METRICS_ADDRESS: '127.0.0.1',
    ZDM_METRICS_PORT: '0',
    ...extra,
  };
}

/** Two fake servers and a proxy in front of them. */
export async function startHarness(
  env: Record<string, string> = {},
  servers: { origin?: FakeServerOptions; target?: FakeServerOptions } = {},
  opts: StartProxyOptions = {},
): Promise<Harness> {
  const origin = await FakeServer.start({ preparedIdSalt: 'origin', ...servers.origin });
  const target = await FakeServer.start({ preparedIdSalt: 'target', ...servers.target });
  const config = loadConfig({ env: proxyEnv(origin, target, env) });
  const proxy = await startProxy(config, { logger: silent, startTimeoutMs: 5000, ...opts });
  return {
    origin,
    target,
    proxy,
    async close() {
      await proxy.close();
      await origin.stop();
      await target.stop();
    },
  };
}

/** Wait until `pred()` is true (the shared waitFor, polling every 5 ms), or fail after `ms`. */
export async function until(pred: () => boolean, what: string, ms = 3000): Promise<void> {
  await waitFor(what, pred, { timeoutMs: ms, intervalMs: 5 });
}

/** GET http://127.0.0.1:<port><path> */
export function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Value of one sample line `<name>{<labels>} <value>` of a Prometheus text exposition (undefined when absent). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([^{\s]+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const kv of (m[2] ?? '').split(',').filter(Boolean)) {
      const [k, v] = kv.split('=');
      got[k!] = v!.replace(/^"|"$/g, '');
    }
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

export const int = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
