/**
 * Asynchronous dual reads (`read_mode=DUAL_ASYNC_ON_SECONDARY`, upstream-spec-notes 2.4 item 3, 3.5.2 item 4, 5.4): the
 * session's third connection, to the secondary cluster, on the same node as the session's secondary connection.
 *
 * - Opened next to the ORIGIN/TARGET connections; its handshake (the client's own STARTUP, then auth with the
 *   async credentials, each step bounded by `async_handshake_timeout_ms`) runs once the client is READY.
 *   If it cannot be opened or its handshake fails, it is closed and the session works on without it.
 * - Fire and forget: `send()` never blocks, never throws and never delays the caller; replies are counted (and
 *   logged when they are errors), and handed to the request's `settled` callback when it has one (the live
 *   read comparison, compare/dual-read-comparer.ts: it only keeps a reference).
 * - Bounded: at most `async_connector_write_queue_size_frames` requests in flight (and no more than the
 *   stream id pool); while the socket is congested (the secondary reads slowly) or the bound is reached,
 *   requests are dropped and counted. A request unanswered after `proxy_request_timeout_ms` is abandoned
 *   (its stream id stays reserved until the late reply arrives, so a stalled secondary fills the bound).
 * - UNPREPARED on the async side: the statement is re-prepared there (query text and keyspace from the cache
 *   entry the request used), fire and forget; the failed read is not retried.
 * - PROTOCOL_ERROR from the secondary, or losing the connection: the async connector stops for this session.
 */
import type { Logger } from 'pino';
import {
  atLeastV5,
  type BodyCodec,
  ErrorCode,
  messageOf,
  Opcode,
  opcodeName,
  type ProtocolVersion,
  type RawFrame,
  readErrorCode,
  readErrorMessage,
  readUnpreparedId,
} from '../protocol/codec';
import {
  requestFrame,
  type ClusterConnection,
  type ClusterConnectionOptions,
  type Endpoint,
  type PendingRequest,
} from '../backend/cluster-connection';
import type { Credentials } from '../backend/authenticator';
import { openSession } from './open-session';
import { type PreparedEntry, preparedIdOn } from '../routing/prepared-cache';
import type { ClusterName } from '../cluster';
import type { ProxyCounters } from './counters';
import type { NodeMetrics } from '../observability/metrics';

type Tracking = 'read' | 'write' | 'none';

export type AsyncState = 'connecting' | 'connected' | 'handshake' | 'ready' | 'closed';

/** Observer of the async connection (metrics wiring); every method optional. */
export interface AsyncReadsObserver {
  connectionOpened?(): void;
  connectionClosed?(): void;
  connectionFailed?(): void;
  requestStarted?(tracked: Tracking): void;
  /** a reply arrived: seconds since the request was sent; `errorCode` when it was an ERROR */
  requestFinished?(seconds: number, tracked: Tracking, errorCode?: number): void;
  requestTimedOut?(tracked: Tracking): void;
  /** the connection closed under the request */
  requestAborted?(tracked: Tracking): void;
  /** used stream ids of the async connection changed by `delta` */
  streamIds?(delta: number): void;
  /** a read was not sent: the async connector was saturated */
  requestDropped?(): void;
}

/** The metrics calls of the async connector (metrics.ts wiring notes: tracked requests only). */
export function asyncMetricsObserver(am: NodeMetrics): AsyncReadsObserver {
  return {
    connectionOpened: () => am.connectionOpened(),
    connectionClosed: () => am.connectionClosed(),
    connectionFailed: () => am.connectionFailed(),
    requestDropped: () => am.asyncRequestDropped(),
    requestStarted: (t) => {
      if (t !== 'none') am.asyncRequestStarted();
    },
    requestFinished: (seconds, t, code) => {
      if (t === 'none') return;
      am.asyncRequestFinished();
      am.observeRequest(t === 'read' ? 'reads' : 'writes', seconds);
      if (code !== undefined) am.requestFailed(code);
    },
    requestTimedOut: (t) => {
      if (t === 'none') return;
      am.asyncRequestFinished();
      am.clientTimeout();
    },
    requestAborted: (t) => {
      if (t !== 'none') am.asyncRequestFinished();
    },
    streamIds: (d) => am.addUsedStreamIds(d),
  };
}

export interface AsyncReadsOptions {
  /** the secondary cluster */
  cluster: ClusterName;
  endpoint: Endpoint;
  connect: (opts: ClusterConnectionOptions) => Promise<ClusterConnection>;
  connectTimeoutMs: number;
  tls?: import('node:tls').ConnectionOptions;
  maxStreamIds: number;
  maxBodyLength: number;
  handshakeTimeoutMs: number;
  requestTimeoutMs: number;
  /** async_connector_write_queue_size_frames */
  queueSize: number;
  counters: ProxyCounters;
  logger: Logger;
  codec: () => BodyCodec | undefined;
  observer?: AsyncReadsObserver;
}

interface AsyncRequest {
  p: PendingRequest;
  timer: NodeJS.Timeout;
  startedAt: number;
  opcode: number;
  tracked: 'read' | 'write' | 'none';
  /** EXECUTE/BATCH: the prepared statements the request used (UNPREPARED -> re-prepare) */
  prepared?: readonly PreparedEntry[];
  /** the request's version (a re-PREPARE uses it) */
  version: ProtocolVersion;
  /** the reply, or undefined when none comes (timeout, connection lost) */
  settled?: AsyncSettled;
}

/** Told the async reply of a request (undefined: none will come). Called once; must not throw. */
export type AsyncSettled = (reply: RawFrame | undefined) => void;

export class AsyncReads {
  state: AsyncState = 'connecting';
  private conn: ClusterConnection | undefined;
  private inflight = 0;
  /**
   * Requests that arrived while the connector was still opening or handshaking, in order: sent once it is
   * ready, so short-lived clients get dual reads from their first request. Counted in the same bound as the
   * requests in flight (async_connector_write_queue_size_frames); dropped (and counted) if the connector fails.
   */
  private waiting: {
    frame: RawFrame;
    tracked: 'read' | 'write' | 'none';
    prepared?: readonly PreparedEntry[];
    settled?: AsyncSettled;
  }[] = [];
  private readonly log: Logger;
  private readonly opened: Promise<boolean>;

  constructor(private readonly opts: AsyncReadsOptions) {
    this.log = opts.logger.child({ async: opts.cluster });
    this.opened = this.open();
  }

  get cluster(): ClusterName {
    return this.opts.cluster;
  }
  get isReady(): boolean {
    return this.state === 'ready';
  }
  /** async requests sent and not yet answered (or timed out) */
  get inFlight(): number {
    return this.inflight;
  }
  get endpoint(): Endpoint {
    return this.opts.endpoint;
  }

  private async open(): Promise<boolean> {
    const o = this.opts;
    try {
      const conn = await o.connect({
        cluster: o.cluster,
        endpoint: o.endpoint,
        connectTimeoutMs: o.connectTimeoutMs,
        tls: o.tls,
        maxStreamIds: o.maxStreamIds,
        maxBodyLength: o.maxBodyLength,
        logger: o.logger,
      });
      if (this.state === 'closed') {
        conn.close('session closed');
        return false;
      }
      this.conn = conn;
      this.state = 'connected';
      o.observer?.connectionOpened?.();
      conn.on('close', (err?: Error) => this.stop(`async connection closed${err ? `: ${err.message}` : ''}`, 'info'));
      return true;
    } catch (e) {
      o.counters.asyncConnectionsFailed++;
      o.observer?.connectionFailed?.();
      this.log.error(
        `Could not open async connection to ${o.cluster} ${o.endpoint.host}:${o.endpoint.port}: ${(e as Error).message}`,
      );
      this.state = 'closed';
      return false;
    }
  }

  /**
   * Run the async handshake: the client's STARTUP (a copy), then auth with `credentials` when the
   * secondary asks for it. Resolves when done (READY, or stopped on failure; never rejects).
   */
  async handshake(startup: RawFrame, credentials: () => Credentials | undefined): Promise<void> {
    if (!(await this.opened) || this.state !== 'connected' || !this.conn) return;
    const conn = this.conn;
    this.state = 'handshake';
    try {
      await openSession(conn, {
        cluster: this.opts.cluster,
        startup,
        credentials,
        keyspace: '',
        timeoutMs: this.opts.handshakeTimeoutMs,
        body: (f) => this.messageOf(f),
      });
      if ((this.state as AsyncState) !== 'handshake') return;
      this.state = 'ready';
      this.opts.counters.asyncConnectionsOpened++;
      this.log.debug(`Async connector to ${this.opts.cluster} is ready`);
      const waiting = this.waiting;
      this.waiting = [];
      for (const w of waiting) if (!this.send(w.frame, w.tracked, w.prepared, w.settled)) w.settled?.(undefined);
    } catch (e) {
      this.stop(`async handshake failed: ${(e as Error).message}`, 'error');
    }
  }

  /**
   * Fire and forget `frame` (its stream id is rewritten in place: pass a copy). While the connector is still
   * opening or handshaking the request waits for it (within the bound). Returns false when the request was
   * dropped (closed, queue full, no stream id, socket congested): then `settled` is not called.
   */
  send(
    frame: RawFrame,
    tracked: 'read' | 'write' | 'none',
    prepared?: readonly PreparedEntry[],
    settled?: AsyncSettled,
  ): boolean {
    const conn = this.conn;
    const c = this.opts.counters;
    if (this.state === 'closed') return false;
    if (this.state !== 'ready' || !conn) {
      if (this.inflight + this.waiting.length >= this.opts.queueSize) {
        c.asyncDropped++;
        this.opts.observer?.requestDropped?.();
        return false;
      }
      this.waiting.push({ frame, tracked, ...(prepared ? { prepared } : {}), ...(settled ? { settled } : {}) });
      return true;
    }
    if (this.inflight >= this.opts.queueSize || conn.congested) {
      c.asyncDropped++;
      this.opts.observer?.requestDropped?.();
      return false;
    }
    const copy = frame;
    const req = {
      startedAt: performance.now(),
      opcode: frame.opcode,
      tracked,
      prepared,
      version: frame.version,
      settled,
    } as AsyncRequest;
    const p = conn.send(
      copy,
      (r) => this.onReply(req, r),
      () => this.onFailure(req),
    );
    if (!p) {
      c.asyncDropped++;
      this.opts.observer?.requestDropped?.();
      this.log.warn('Could not send async request: no stream id available');
      return false;
    }
    req.p = p;
    req.timer = setTimeout(() => this.onTimeout(req), this.opts.requestTimeoutMs);
    this.inflight++;
    c.asyncSent++;
    this.opts.observer?.requestStarted?.(tracked);
    this.syncStreamIds();
    return true;
  }

  /** The message of a reply: decompressed, after its envelope. */
  private messageOf(f: RawFrame): Buffer {
    return messageOf(f, this.opts.codec());
  }

  private settle(req: AsyncRequest): void {
    clearTimeout(req.timer);
    this.inflight--;
    this.syncStreamIds();
  }

  private reportedIds = 0;
  private syncStreamIds(): void {
    const u = this.conn ? this.conn.usedStreamIds : 0;
    if (u !== this.reportedIds) {
      this.opts.observer?.streamIds?.(u - this.reportedIds);
      this.reportedIds = u;
    }
  }

  private onReply(req: AsyncRequest, r: RawFrame): void {
    this.settle(req);
    const c = this.opts.counters;
    const seconds = (performance.now() - req.startedAt) / 1000;
    c.asyncCompleted++;
    c.asyncDurationSecondsSum += seconds;
    req.settled?.(r);
    if (r.opcode !== Opcode.ERROR) {
      this.opts.observer?.requestFinished?.(seconds, req.tracked);
      return;
    }
    c.asyncFailed++;
    let code = -1;
    let body: Buffer | undefined;
    try {
      body = this.messageOf(r);
      code = readErrorCode(body);
    } catch {
      /* unreadable error: counted as failed */
    }
    this.opts.observer?.requestFinished?.(seconds, req.tracked, code);
    if (code === ErrorCode.UNPREPARED && body) return this.reprepare(req, body);
    if (code === ErrorCode.PROTOCOL_ERROR) {
      this.stop(`protocol error from ${this.opts.cluster} on the async connection: ${readErrorMessage(body!)}`, 'error');
      return;
    }
    this.log.warn(`Async Request failed with error code ${code}. Error message: ${body ? readErrorMessage(body) : ''}`);
  }

  private reprepare(req: AsyncRequest, body: Buffer): void {
    let id: Buffer;
    try {
      id = readUnpreparedId(body);
    } catch {
      return;
    }
    const cluster = this.opts.cluster;
    const entry = req.prepared?.find((e) => preparedIdOn(e, cluster).equals(id));
    if (!entry || !this.conn || this.state !== 'ready') {
      this.log.warn(`Async request got UNPREPARED for id ${id.toString('hex')}, which it did not send: not re-prepared`);
      return;
    }
    const keyspace = atLeastV5(req.version) && entry.keyspace ? entry.keyspace : undefined;
    const frame = requestFrame(req.version, { opcode: Opcode.PREPARE, query: entry.query, ...(keyspace ? { keyspace } : {}) });
    const p = this.conn.send(
      frame,
      () => undefined,
      () => undefined,
    );
    if (p) {
      this.opts.counters.asyncReprepares++;
      this.log.debug(`Re-preparing ${id.toString('hex')} on the async connection to ${this.opts.cluster}`);
      // bounded like any async request: abandoned after the request timeout
      const t = setTimeout(() => this.conn?.abandon(p), this.opts.requestTimeoutMs);
      t.unref();
    }
  }

  private onFailure(req: AsyncRequest): void {
    this.settle(req);
    req.settled?.(undefined);
    this.opts.counters.asyncFailed++;
    this.opts.observer?.requestAborted?.(req.tracked);
  }

  private onTimeout(req: AsyncRequest): void {
    this.inflight--;
    this.conn?.abandon(req.p);
    req.settled?.(undefined);
    this.opts.counters.asyncTimeouts++;
    this.opts.observer?.requestTimedOut?.(req.tracked);
    this.log.warn(`Async Request (${opcodeName(req.opcode)}) timed out after ${this.opts.requestTimeoutMs} ms.`);
  }

  /** Stop the async connector (the session is not affected). */
  stop(reason: string, level: 'debug' | 'info' | 'error' = 'debug'): void {
    if (this.state === 'closed') return;
    const wasOpen = this.conn !== undefined;
    this.state = 'closed';
    if (this.waiting.length > 0) {
      // requests waiting for the handshake are never sent: count them as dropped
      this.opts.counters.asyncDropped += this.waiting.length;
      for (const w of this.waiting) {
        this.opts.observer?.requestDropped?.();
        w.settled?.(undefined);
      }
      this.waiting = [];
    }
    this.log[level](`Async connector to ${this.opts.cluster} stopped: ${reason}`);
    if (this.conn) {
      this.conn.close(reason);
      this.conn = undefined;
    }
    this.syncStreamIds();
    if (wasOpen) this.opts.observer?.connectionClosed?.();
  }
}
