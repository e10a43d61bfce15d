/**
 * One socket to one cluster node (upstream-spec-notes 2.4-2.7): stream id remapping, pending requests, EVENT frames,
 * proxy heartbeats, back-pressure. See the contract in docs/ARCHITECTURE.md.
 *
 * - Requests get a synthetic stream id from a fixed pool; pending requests live in an array indexed by
 *   that id. `onResponse` gets the response frame with the synthetic id still in it.
 * - `abandon(p)` (proxy timeout) keeps the id reserved until the late reply arrives, then frees it and
 *   drops the reply (`lateReplies` counts them).
 * - Internal requests (`request()`, `maybeHeartbeat()`) use the same pool; heartbeat replies are dropped.
 * - EVENT frames (stream -1) are emitted as 'event'.
 * - Writes are corked and uncorked once per event-loop tick, so small frames coalesce into one write.
 * - On socket error/close every pending request gets `onError` and 'close' is emitted once.
 * - Protocol v5 (upstream-spec-notes 3.4): the connection notes the COMPRESSION option of the STARTUP it sends and switches
 *   reading and writing to segments right after it reads a v5 READY or AUTHENTICATE (`segments` tells).
 */
import type { ClusterName } from '../cluster';
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import pino, { type Logger } from 'pino';
import { Opcode, type ProtocolVersion, opcodeName } from '../protocol/constants';
import { ConnectionFraming } from '../protocol/framing';
import type { RawFrame } from '../protocol/frame';
import { decodeFrame, encodeFrame, openBody } from '../protocol/frame-codec';
import { decodeMessage, type DecodeMessageOptions, type RequestMessage, type ResponseMessage } from '../protocol/messages';
import { getCompressor } from '../protocol/compression';
import { startupCompression } from '../protocol/messages/startup';
import { StreamIdPool } from './stream-ids';

/** `${host}:${port}` is the node label in logs and metrics (`endpointLabel`). */
export interface Endpoint {
  host: string;
  port: number;
  /**
   * Astra: dial this address instead (the SNI proxy), over TLS with SNI = `host` (the node's host id);
   * `host:port` stays the node's name in logs and metrics.
   */
  via?: { host: string; port: number };
}
export function endpointLabel(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

export interface ClusterConnectionOptions {
  cluster: ClusterName;
  endpoint: Endpoint;
  /** Client-side use: the dial retry loop runs until this expires. With `retry: false`: the single dial's timeout. */
  connectTimeoutMs: number;
  /** Dial retry loop with backoff 100 ms -> 10 s, factor 2 (default true; control connections pass false). */
  retry?: boolean;
  /** undefined = plain TCP. */
  tls?: tls.ConnectionOptions;
  /** Pool size for synthetic stream ids. */
  maxStreamIds: number;
  /** Largest accepted response body (default 256 MiB). */
  maxBodyLength?: number;
  logger?: Logger;
  /** Proxy OPTIONS on otherwise idle connections (upstream-spec-notes 2.7); undefined/0 = maybeHeartbeat() does nothing. */
  heartbeatIntervalMs?: number;
  /** TCP keepalive initial delay (default 15 s, as Go). */
  keepAliveMs?: number;
}

export interface PendingRequest {
  readonly streamId: number;
  /** Internal to the connection; do not touch. */
  onResponse: ((r: RawFrame, ctx: unknown) => void) | undefined;
  onError: ((e: Error) => void) | undefined;
  /** what `send` was given as `ctx`, handed back to `onResponse` (lets callers share one handler: no closure per request) */
  ctx: unknown;
  abandoned: boolean;
  /** Proxy heartbeat: the reply is dropped. */
  heartbeat: boolean;
}

export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
}
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
}

const noop = (): void => {};
const silentLogger = pino({ level: 'silent' });

/**
 * A proxy-built request frame (uncompressed, no envelope). The stream id is a placeholder: `send` / `request`
 * write their own synthetic id into it.
 */
export function requestFrame(version: ProtocolVersion, message: RequestMessage, streamId = 0): RawFrame {
  return encodeFrame({ version, isResponse: false, streamId, flags: 0, message });
}

/** Responses read from clusters: extra bytes after the message are ignored (spec: clients ignore them). */
const FROM_CLUSTER: DecodeMessageOptions = { allowTrailingBytes: true };

/**
 * Decode a response frame read from a cluster: the envelope (tracing id, warnings, custom payload) is
 * skipped and trailing bytes are ignored. `message`: the message bytes already extracted by the caller
 * (decompressed, envelope skipped, e.g. with `messageOf`); without it a compressed frame is a
 * ProtocolError('compression').
 * Malformed bodies throw ProtocolError naming the message.
 */
export function decodeResponse(frame: RawFrame, message?: Buffer): ResponseMessage {
  let bytes: Buffer;
  if (message !== undefined) bytes = message;
  else {
    const { body, messageOffset } = openBody(frame);
    bytes = messageOffset === 0 ? body : body.subarray(messageOffset);
  }
  return decodeMessage(frame.opcode, true, bytes, frame.version, FROM_CLUSTER) as ResponseMessage;
}

export class ClusterConnection extends EventEmitter {
  readonly cluster: ClusterName;
  readonly endpoint: Endpoint;
  readonly label: string;
  private readonly socket: net.Socket;
  private readonly pool: StreamIdPool;
  private readonly pending: (PendingRequest | undefined)[];
  /** legacy frames, then v5 segments once a v5 READY/AUTHENTICATE was read (the rule of ConnectionFraming) */
  private readonly framing: ConnectionFraming;
  private readonly maxBodyLength: number | undefined;
  private readonly logger: Logger;
  private readonly heartbeatIntervalMs: number;
  private corked = false;
  private closed = false;
  private closeError: Error | undefined;
  private live = 0;
  private lastHeartbeatAt = Date.now();
  /** Replies that arrived for abandoned requests (freed and dropped). */
  lateReplies = 0;
  /** Responses whose stream id matched no pending request (dropped). */
  unknownReplies = 0;
  heartbeatsSent = 0;

  /** Dial (with the retry loop unless `retry: false`) and wrap the socket. Rejects when the deadline passes. */
  static async connect(opts: ClusterConnectionOptions): Promise<ClusterConnection> {
    const socket = await dialWithRetry(opts);
    return new ClusterConnection(opts, socket);
  }

  /** Wrap an already connected socket. */
  constructor(opts: ClusterConnectionOptions, socket: net.Socket) {
    super();
    this.cluster = opts.cluster;
    this.endpoint = opts.endpoint;
    this.label = endpointLabel(opts.endpoint);
    this.socket = socket;
    this.pool = new StreamIdPool(opts.maxStreamIds);
    // grows with the highest stream id in use (ids are handed out lowest first): an idle connection costs
    // a few bytes here instead of maxStreamIds slots (16 KiB for 2048; 1,000 sessions have 2,000 of them)
    this.pending = [];
    this.maxBodyLength = opts.maxBodyLength;
    this.framing = new ConnectionFraming({ expectResponses: true, maxBodyLength: opts.maxBodyLength });
    this.logger = (opts.logger ?? silentLogger).child({ cluster: opts.cluster, node: this.label });
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 0;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, opts.keepAliveMs ?? 15_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.emit('drain'));
    socket.on('error', (err) => this.onClose(err));
    socket.on('close', () => this.onClose(undefined));
    socket.on('end', () => socket.end());
  }

  get inFlight(): number {
    return this.live;
  }
  get usedStreamIds(): number {
    return this.pool.used;
  }
  get congested(): boolean {
    return this.socket.writableNeedDrain;
  }
  /** Back-pressure from the client side: stop reading replies from the node while false (the node's sends then stall). */
  setReading(on: boolean): void {
    if (this.closed) return;
    if (on) this.socket.resume();
    else this.socket.pause();
  }
  get isClosed(): boolean {
    return this.closed;
  }
  /** True once v5 segment framing is on (after a v5 READY/AUTHENTICATE was read). */
  get segments(): boolean {
    return this.framing.segments;
  }
  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  /**
   * Send a request with a synthetic stream id (rewritten in `frame`'s bytes, in place). `onResponse` is
   * called exactly once with the response (synthetic id still in it), or `onError` if the connection closes
   * first. Returns undefined when no stream id is free or the connection is closed.
   */
  send<C = undefined>(
    frame: RawFrame,
    onResponse: (r: RawFrame, ctx: C) => void,
    onError: (e: Error) => void,
    reserved = -1,
    ctx?: C,
  ): PendingRequest | undefined {
    return this.enqueue(frame, onResponse as (r: RawFrame, ctx: unknown) => void, onError, false, reserved, ctx);
  }

  /**
   * Take a stream id now for a `send` that follows (a request going to two clusters reserves on both before
   * sending to either). -1 when none is free or the connection is closed. Give it to `send(..., id)`, or back
   * with `unreserve(id)`.
   */
  reserve(): number {
    return this.closed ? -1 : this.pool.take();
  }

  /** Return a reserved id that was not used by `send`. */
  unreserve(id: number): void {
    if (id >= 0 && this.pending[id] === undefined) this.pool.release(id);
  }

  /** Stop waiting for a request: its callbacks are dropped; its id is freed when the late reply arrives. */
  abandon(p: PendingRequest): void {
    if (p.abandoned || this.pending[p.streamId] !== p) return;
    p.abandoned = true;
    p.onResponse = undefined;
    p.onError = undefined;
    p.ctx = undefined;
    this.live--;
  }

  /** Send a proxy-built request and wait for its reply (rejects on close or after `timeoutMs`). */
  request(frame: RawFrame, timeoutMs: number): Promise<RawFrame> {
    return new Promise<RawFrame>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const p = this.enqueue(
        frame,
        (r) => {
          if (timer) clearTimeout(timer);
          resolve(r);
        },
        (e) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
        false,
      );
      if (!p) {
        reject(
          this.closed ? this.closedError() : new Error(`no stream id available on ${this.cluster} connection to ${this.label}`),
        );
        return;
      }
      timer = setTimeout(() => {
        this.abandon(p);
        reject(
          new RequestTimeoutError(
            `${this.cluster} ${this.label}: no response to ${opcodeName(frame.opcode)} after ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
    });
  }

  /** Send an OPTIONS heartbeat if none was sent for heartbeatIntervalMs (upstream-spec-notes 2.7). Returns true if sent. */
  maybeHeartbeat(version: ProtocolVersion): boolean {
    if (this.heartbeatIntervalMs <= 0 || this.closed) return false;
    const now = Date.now();
    if (now - this.lastHeartbeatAt < this.heartbeatIntervalMs) return false;
    this.lastHeartbeatAt = now;
    const p = this.enqueue(requestFrame(version, { opcode: Opcode.OPTIONS }), noop, noop, true);
    if (p) {
      this.heartbeatsSent++;
      this.logger.debug(`Sending heartbeat to cluster ${this.cluster}`);
    }
    return p !== undefined;
  }

  /** Write raw bytes as they are (no stream id handling; for tests and handshakes of other layers). */
  writeRaw(bytes: Buffer): void {
    if (this.closed) return;
    this.write(bytes);
  }

  close(reason?: string): void {
    if (this.closed) return;
    this.onClose(reason ? new ConnectionClosedError(`${this.cluster} connection to ${this.label} closed: ${reason}`) : undefined);
  }

  // ---- internals ----------------------------------------------------------------------------

  private enqueue(
    frame: RawFrame,
    onResponse: (r: RawFrame, ctx: unknown) => void,
    onError: (e: Error) => void,
    heartbeat: boolean,
    reserved = -1,
    ctx: unknown = undefined,
  ): PendingRequest | undefined {
    if (this.closed) return undefined;
    const id = reserved >= 0 && this.pool.isInUse(reserved) && this.pending[reserved] === undefined ? reserved : this.pool.take();
    if (id < 0) return undefined;
    const p: PendingRequest = { streamId: id, onResponse, onError, ctx, abandoned: false, heartbeat };
    this.pending[id] = p;
    if (!heartbeat) this.live++;
    else p.abandoned = true; // nobody waits for it
    frame.setStreamId(id);
    if (frame.opcode === Opcode.STARTUP && !this.framing.segments) this.noteStartup(frame);
    this.write(frame.bytes);
    return p;
  }

  private write(bytes: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => this.flushTick());
    }
    if (this.framing.segments) {
      for (const seg of this.framing.encode(bytes)) this.socket.write(seg);
    } else this.socket.write(bytes);
  }

  private flushTick(): void {
    this.corked = false;
    if (this.framing.segments && !this.closed) for (const seg of this.framing.flush()) this.socket.write(seg);
    this.socket.uncork();
  }

  private noteStartup(frame: RawFrame): void {
    try {
      const startup = decodeFrame(frame, undefined, this.maxBodyLength, { allowTrailingBytes: true }).message;
      const c = startup.opcode === Opcode.STARTUP ? startupCompression(startup.options) : undefined;
      const compressor = c ? getCompressor(c) : undefined;
      // v5 segments know LZ4 only (Cassandra refuses Snappy with v5 at STARTUP: no switch then)
      this.framing.setSegmentCompressor(compressor?.name === 'lz4' ? compressor : undefined);
    } catch {
      this.framing.setSegmentCompressor(undefined);
    }
  }

  private onData(chunk: Buffer): void {
    let frames: RawFrame[];
    try {
      frames = this.framing.push(chunk);
    } catch (e) {
      this.logger.error({ err: e }, `invalid frame from ${this.cluster} ${this.label}`);
      this.onClose(e as Error);
      return;
    }
    for (const f of frames) {
      if (this.closed) return;
      if (this.framing.afterRead(f)) {
        this.logger.debug(
          `${this.cluster} ${this.label}: switched to v5 segment framing${this.framing.segmentCompression ? ' (lz4)' : ''}`,
        );
      }
      this.dispatch(f);
    }
  }

  private dispatch(f: RawFrame): void {
    const id = f.streamId;
    if (id < 0) {
      if (f.opcode === Opcode.EVENT) this.emit('event', f);
      else this.logger.warn(`unexpected ${opcodeName(f.opcode)} frame with stream id ${id} from ${this.cluster}`);
      return;
    }
    const p = id < this.pending.length ? this.pending[id] : undefined;
    if (!p) {
      this.unknownReplies++;
      this.logger.warn(`Could not find request context for stream id ${id} received from ${this.cluster}`);
      return;
    }
    this.pending[id] = undefined;
    this.pool.release(id);
    if (p.heartbeat) {
      this.logger.debug(`Received internal response from ${this.cluster}`);
      return;
    }
    if (p.abandoned) {
      this.lateReplies++;
      return;
    }
    this.live--;
    const cb = p.onResponse!;
    const ctx = p.ctx;
    p.onResponse = undefined;
    p.onError = undefined;
    p.ctx = undefined;
    try {
      cb(f, ctx);
    } catch (e) {
      this.logger.error({ err: e }, 'response handler threw');
    }
  }

  private closedError(): Error {
    return this.closeError ?? new ConnectionClosedError(`${this.cluster} connection to ${this.label} closed`);
  }

  private onClose(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    if (err && !(err instanceof ConnectionClosedError)) {
      this.closeError = new ConnectionClosedError(`${this.cluster} connection to ${this.label} failed: ${err.message}`);
    } else this.closeError = err;
    this.socket.destroy();
    const e = this.closedError();
    for (let i = 0; i < this.pending.length; i++) {
      const p = this.pending[i];
      if (!p) continue;
      this.pending[i] = undefined;
      this.pool.release(i);
      const cb = p.onError;
      p.onResponse = undefined;
      p.onError = undefined;
      if (cb && !p.abandoned) {
        try {
          cb(e);
        } catch (x) {
          this.logger.error({ err: x }, 'error handler threw');
        }
      }
    }
    this.live = 0;
    this.emit('close', err ? e : undefined);
  }
}

/** One dial: TCP (+ TLS handshake) with a timeout. */
export function dialOnce(endpoint: Endpoint, timeoutMs: number, tlsOpts?: tls.ConnectionOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const addr = endpoint.via ?? endpoint;
    const sock: net.Socket = tlsOpts
      ? tls.connect({
          ...tlsOpts,
          host: addr.host,
          port: addr.port,
          servername: tlsOpts.servername ?? (net.isIP(endpoint.host) ? undefined : endpoint.host),
        })
      : net.connect({ host: addr.host, port: addr.port });
    // Requests are small and latency-bound: no Nagle delay (what every CQL driver and Go's net package do).
    sock.setNoDelay(true);
    const timer = setTimeout(
      () => {
        sock.destroy();
        reject(new Error(`timeout after ${timeoutMs} ms connecting to ${endpointLabel(endpoint)}`));
      },
      Math.max(1, timeoutMs),
    );
    const onErr = (e: Error): void => {
      clearTimeout(timer);
      sock.destroy();
      reject(new Error(`could not connect to ${endpointLabel(endpoint)}: ${e.message}`));
    };
    sock.once('error', onErr);
    sock.once(tlsOpts ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      sock.off('error', onErr);
      resolve(sock);
    });
  });
}

/** Client-side dial loop (upstream-spec-notes 2.4): backoff 100 ms -> 10 s, factor 2, no jitter, until connectTimeoutMs. */
export async function dialWithRetry(opts: ClusterConnectionOptions): Promise<net.Socket> {
  const deadline = Date.now() + opts.connectTimeoutMs;
  if (opts.retry === false) return dialOnce(opts.endpoint, opts.connectTimeoutMs, opts.tls);
  let backoff = 100;
  for (;;) {
    const remaining = deadline - Date.now();
    try {
      return await dialOnce(opts.endpoint, remaining, opts.tls);
    } catch (e) {
      const left = deadline - Date.now();
      if (left <= 0) throw e;
      await new Promise((r) => setTimeout(r, Math.min(backoff, left)));
      if (Date.now() >= deadline) throw e;
      backoff = Math.min(backoff * 2, 10_000);
    }
  }
}
