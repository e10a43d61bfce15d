/**
 * In-flight request bookkeeping of one client session (upstream-spec-notes 2.5, 2.7, 5.3): sends a routed request to the
 * ORIGIN and/or TARGET connection, waits for the expected replies, runs the request's completion once
 * they are all in, or gives up after `proxy_request_timeout_ms` (no reply to the client; the cluster-side
 * stream ids stay reserved until the late replies arrive, which are then dropped).
 *
 * Never writes to the client itself: OVERLOADED, timeouts and completions go back to the owner through
 * the callbacks in `ExecutorHooks`.
 */
import { type ClusterName, forCluster, pickCluster } from '../cluster';
import type { Logger } from 'pino';
import { Opcode, opcodeName, type ProtocolVersion, type RawFrame } from '../protocol/codec';
import type { ClusterConnection, PendingRequest } from '../backend/cluster-connection';
import type { Route } from '../routing/request-router';
import {
  NoopProxyMetrics,
  elapsedSeconds,
  nodeRequestType,
  proxyRequestType,
  type NodeMetrics,
  type ProxyMetrics,
  type ProxyRequestType,
} from '../observability/metrics';

/** Metrics of one session's requests: the proxy-level facade and the node metrics of its two connections. */
export interface ExecutorMetrics {
  proxy: ProxyMetrics;
  origin: NodeMetrics;
  target: NodeMetrics;
}

const NOOP = new NoopProxyMetrics();
const NOOP_METRICS: ExecutorMetrics = { proxy: NOOP, origin: NOOP.node('ORIGIN', ''), target: NOOP.node('TARGET', '') };

export type ForwardRoute = Extract<Route, { type: 'forward' }>;

export interface InFlight {
  /** the client's stream id (restored in the reply) */
  clientStream: number;
  /** the client's request frame (version, opcode) */
  request: RawFrame;
  route: ForwardRoute;
  origin?: RawFrame;
  target?: RawFrame;
  /** the frames sent to each cluster (re-sent as they are when one side lost a prepared statement) */
  originSent?: RawFrame;
  targetSent?: RawFrame;
  originP?: PendingRequest;
  targetP?: PendingRequest;
  /** replies still expected */
  waiting: number;
  /** performance.now() when dispatched */
  startedAt: number;
  /** performance.now() after which the request times out (startedAt + timeout) */
  deadline: number;
  /** runs once every expected reply is in */
  complete: (fl: InFlight) => void;
  /** tracked requests (route.tracking !== 'none'): the proxy-level metrics type */
  metricsType?: ProxyRequestType;
  /** the executor's in-flight list (dispatch order): neighbours, and whether it is in the list */
  older?: InFlight;
  newer?: InFlight;
  listed?: boolean;
}

/**
 * The in-flight requests of one executor in dispatch order (hence deadline order), linked through the records
 * themselves: adding and removing one is a few pointer writes (no hash set to grow, rehash and shrink per request).
 */
class InFlightList {
  first: InFlight | undefined;
  private last: InFlight | undefined;
  size = 0;

  add(fl: InFlight): void {
    fl.older = this.last;
    fl.newer = undefined;
    fl.listed = true;
    if (this.last) this.last.newer = fl;
    else this.first = fl;
    this.last = fl;
    this.size++;
  }

  /** false when `fl` was not in the list (completed or timed out already) */
  delete(fl: InFlight): boolean {
    if (!fl.listed) return false;
    if (fl.older) fl.older.newer = fl.newer;
    else this.first = fl.newer;
    if (fl.newer) fl.newer.older = fl.older;
    else this.last = fl.older;
    fl.older = fl.newer = undefined;
    fl.listed = false;
    this.size--;
    return true;
  }

  /** A copy of the list, oldest first (safe to change the list while going through it). */
  toArray(): InFlight[] {
    const out: InFlight[] = [];
    for (let fl = this.first; fl; fl = fl.newer) out.push(fl);
    return out;
  }

  clear(): void {
    while (this.first) this.delete(this.first);
  }
}

export interface ExecutorHooks {
  /** A cluster connection failed with requests pending (the owner then calls `connectionLost`). */
  onSendError(e: Error): void;
  /**
   * The request needs `cluster` and the session's connection to it is down (lost, being reopened): nothing
   * was sent to any cluster; the owner answers the client at once.
   */
  onClusterDown(fl: InFlight, cluster: ClusterName): void;
  /** No stream id was free on `cluster`: the client gets OVERLOADED. */
  onOverloaded(fl: InFlight, cluster: ClusterName): void;
  /** After the timeout bookkeeping (ids abandoned, logged); the client gets no reply. */
  onTimedOut(fl: InFlight): void;
  /** The completion threw. */
  onCompleteError(fl: InFlight, e: Error): void;
  /** A request left the in-flight set (completed or timed out). */
  onSettled(): void;
  /** Version of proxy heartbeats (the client's STARTUP version). */
  heartbeatVersion(fallback: ProtocolVersion): ProtocolVersion;
  /** ERROR code of a cluster reply (its body decompressed if needed); -1 when unreadable. */
  errorCode(r: RawFrame): number;
}

export interface ExecutorStats {
  /** requests given up after proxy_request_timeout_ms */
  requestTimeouts: number;
}

export class RequestExecutor {
  /**
   * In dispatch order, hence in deadline order (one timeout for all): a single timer per executor is armed
   * for the oldest request's deadline instead of a setTimeout per request.
   */
  private readonly inflight = new InFlightList();
  private timer: NodeJS.Timeout | undefined;
  /** shared by every send (no closure per request) */
  private readonly onSendError = (e: Error): void => this.hooks.onSendError(e);
  private readonly onOverloaded = (fl: InFlight, c: ClusterName): void => this.hooks.onOverloaded(fl, c);
  private readonly onOriginReply = (r: RawFrame, fl: InFlight): void => this.onReply(fl, 'ORIGIN', r);
  private readonly onTargetReply = (r: RawFrame, fl: InFlight): void => this.onReply(fl, 'TARGET', r);

  constructor(
    private origin: ClusterConnection,
    private target: ClusterConnection,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly hooks: ExecutorHooks,
    private readonly stats: ExecutorStats = { requestTimeouts: 0 },
    private m: ExecutorMetrics = NOOP_METRICS,
  ) {}

  /** stream ids of each connection last reported to the `used_stream_ids` gauges */
  private reportedOriginIds = 0;
  private reportedTargetIds = 0;

  /** Bring the used-stream-id gauges in line with the connections (cheap: two reads, a call only on change). */
  private syncStreamIds(): void {
    const o = this.origin.usedStreamIds;
    if (o !== this.reportedOriginIds) {
      this.m.origin.addUsedStreamIds(o - this.reportedOriginIds);
      this.reportedOriginIds = o;
    }
    const t = this.target.usedStreamIds;
    if (t !== this.reportedTargetIds) {
      this.m.target.addUsedStreamIds(t - this.reportedTargetIds);
      this.reportedTargetIds = t;
    }
  }

  get size(): number {
    return this.inflight.size;
  }

  connection(cluster: ClusterName): ClusterConnection {
    return pickCluster(cluster, this.origin, this.target);
  }

  /** The session reopened its lost connection to `cluster`: requests go to `conn` from now on. */
  replace(cluster: ClusterName, conn: ClusterConnection, nm?: NodeMetrics): void {
    // the closed connection released all its stream ids: the next sync reports the new one's from zero
    if (cluster === 'ORIGIN') {
      this.origin = conn;
      this.m.origin.addUsedStreamIds(-this.reportedOriginIds);
      this.reportedOriginIds = 0;
      if (nm) this.m = { ...this.m, origin: nm };
    } else {
      this.target = conn;
      this.m.target.addUsedStreamIds(-this.reportedTargetIds);
      this.reportedTargetIds = 0;
      if (nm) this.m = { ...this.m, target: nm };
    }
  }

  /**
   * The connection to `cluster` was lost: every in-flight request still waiting for its reply gets `reply(fl)`
   * (an ERROR built by the owner) as that cluster's reply, at once. A request sent to both clusters still waits
   * for the other cluster's reply (or its timeout), then completes as usual (aggregation, journal of a write
   * applied on one side only).
   */
  connectionLost(cluster: ClusterName, reply: (fl: InFlight) => RawFrame): void {
    for (const fl of this.inflight.toArray()) {
      const waiting = pickCluster(cluster, fl.originP, fl.targetP) && !forCluster(cluster, fl);
      if (waiting) this.onReply(fl, cluster, reply(fl));
    }
  }

  /**
   * Send `f` where the route says (TARGET gets `route.targetFrame` when set). `clientStream` defaults to the
   * frame's stream id. Returns the in-flight record, or undefined when it could not be sent: then `refused` runs,
   * or without it the client is answered OVERLOADED (`onOverloaded`).
   */
  forward(
    f: RawFrame,
    route: ForwardRoute,
    complete: (fl: InFlight) => void,
    clientStream = f.streamId,
    refused?: (cluster: ClusterName) => void,
  ): InFlight | undefined {
    const startedAt = performance.now();
    // every field set now (one object shape: no hidden-class change as replies come in)
    const fl: InFlight = {
      clientStream,
      request: f,
      route,
      origin: undefined,
      target: undefined,
      originSent: undefined,
      targetSent: undefined,
      originP: undefined,
      targetP: undefined,
      waiting: route.to === 'both' ? 2 : 1,
      startedAt,
      deadline: startedAt + this.timeoutMs,
      complete,
      metricsType: undefined,
      older: undefined,
      newer: undefined,
      listed: false,
    };
    // Copies first: `send` rewrites the stream id of the frame it is given, in place.
    const targetFrame =
      route.to === 'origin' ? undefined : (route.targetFrame ?? (route.to === 'both' ? f.withStreamId(f.streamId) : f));
    const originFrame = route.to === 'target' ? undefined : (route.originFrame ?? f);
    // A request sent to both clusters is sent to both or to neither: reserve a stream id on every connection it
    // goes to before sending to any (issue 12: sending to ORIGIN then finding TARGET full applied the write on
    // ORIGIN while the client heard OVERLOADED and retried it).
    const overloaded = refused ? (_: InFlight, c: ClusterName): void => refused(c) : this.onOverloaded;
    // A cluster this request needs is down: refused before anything is sent (both or neither).
    const down = originFrame && this.origin.isClosed ? 'ORIGIN' : targetFrame && this.target.isClosed ? 'TARGET' : undefined;
    if (down) {
      if (refused) refused(down);
      else this.hooks.onClusterDown(fl, down);
      return undefined;
    }
    const originId = originFrame ? this.origin.reserve() : -1;
    if (originFrame && originId < 0) {
      overloaded(fl, 'ORIGIN');
      return undefined;
    }
    const targetId = targetFrame ? this.target.reserve() : -1;
    if (targetFrame && targetId < 0) {
      this.origin.unreserve(originId);
      overloaded(fl, 'TARGET');
      return undefined;
    }
    const onError = this.onSendError;
    if (originFrame) {
      fl.originP = this.origin.send(originFrame, this.onOriginReply, onError, originId, fl);
      if (!fl.originP) {
        this.target.unreserve(targetId);
        overloaded(fl, 'ORIGIN');
        return undefined;
      }
    }
    if (targetFrame) {
      fl.targetP = this.target.send(targetFrame, this.onTargetReply, onError, targetId, fl);
      if (!fl.targetP) {
        // not reached: the TARGET connection cannot close between reserve() and send() (same tick)
        if (fl.originP) this.origin.abandon(fl.originP);
        overloaded(fl, 'TARGET');
        return undefined;
      }
    }
    fl.originSent = originFrame;
    fl.targetSent = targetFrame;
    this.inflight.add(fl);
    if (this.timer === undefined) this.armTimer(fl.deadline);
    if (route.tracking !== 'none') {
      fl.metricsType = proxyRequestType(route.to);
      this.m.proxy.requestStarted(fl.metricsType);
    }
    this.syncStreamIds();
    // Spec 2.7: heartbeat the connection that did not get this request.
    if (route.to === 'origin') this.target.maybeHeartbeat(this.hooks.heartbeatVersion(f.version));
    else if (route.to === 'target') this.origin.maybeHeartbeat(this.hooks.heartbeatVersion(f.version));
    return fl;
  }

  private armTimer(deadline: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(deadline - performance.now())));
  }

  /** Time out every request past its deadline (the oldest ones), then re-arm for the next oldest. */
  private readonly onTimer = (): void => {
    this.timer = undefined;
    const now = performance.now();
    // the oldest first, each taken off the list by onTimeout; requests added meanwhile come last
    for (let fl = this.inflight.first; fl; fl = this.inflight.first) {
      if (fl.deadline > now) {
        if (this.timer === undefined) this.armTimer(fl.deadline);
        return;
      }
      this.onTimeout(fl);
    }
  };

  private onTimeout(fl: InFlight): void {
    if (!this.inflight.delete(fl)) return;
    if (fl.originP && !fl.origin) this.origin.abandon(fl.originP);
    if (fl.targetP && !fl.target) this.target.abandon(fl.targetP);
    this.stats.requestTimeouts++;
    if (fl.metricsType) {
      this.m.proxy.requestFinished(fl.metricsType, elapsedSeconds(fl.startedAt));
      if (fl.originP && !fl.origin) this.m.origin.clientTimeout();
      if (fl.targetP && !fl.target) this.m.target.clientTimeout();
    }
    const missing = [fl.originP && !fl.origin ? 'ORIGIN' : '', fl.targetP && !fl.target ? 'TARGET' : '']
      .filter(Boolean)
      .join(' and ');
    this.log.error(
      `Error handling request (${opcodeName(fl.request.opcode)}, stream ${fl.clientStream}): did not receive response from ${missing} within ${this.timeoutMs} ms`,
    );
    this.hooks.onTimedOut(fl);
    this.hooks.onSettled();
  }

  private onReply(fl: InFlight, cluster: ClusterName, r: RawFrame): void {
    if (!fl.listed) return;
    if (cluster === 'ORIGIN') fl.origin = r;
    else fl.target = r;
    let seconds = 0;
    if (fl.metricsType) {
      seconds = elapsedSeconds(fl.startedAt);
      const nm = forCluster(cluster, this.m);
      nm.observeRequest(nodeRequestType(fl.route.to), seconds);
      if (r.opcode === Opcode.ERROR) nm.requestFailed(this.hooks.errorCode(r));
    }
    if (--fl.waiting > 0) return;
    this.inflight.delete(fl); // its deadline is forgotten with it (the shared timer skips absent requests)
    this.syncStreamIds();
    if (fl.metricsType) {
      const m = this.m.proxy;
      m.requestFinished(fl.metricsType, seconds);
      const oe = fl.origin !== undefined && fl.origin.opcode === Opcode.ERROR;
      const te = fl.target !== undefined && fl.target.opcode === Opcode.ERROR;
      if (fl.route.to === 'both') {
        if (oe || te) m.writeFailed(oe, te);
      } else if (oe) m.readFailed('ORIGIN');
      else if (te) m.readFailed('TARGET');
    }
    try {
      fl.complete(fl);
    } catch (e) {
      this.hooks.onCompleteError(fl, e as Error);
      return;
    }
    this.hooks.onSettled();
  }

  /** Forget every in-flight request (session closed): timers cleared, no callback runs any more. */
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (let fl = this.inflight.first; fl; fl = fl.newer) {
      if (fl.metricsType) this.m.proxy.requestAbandoned(fl.metricsType);
    }
    this.inflight.clear();
    // the connections are closing: their stream ids leave the gauges
    this.m.origin.addUsedStreamIds(-this.reportedOriginIds);
    this.m.target.addUsedStreamIds(-this.reportedTargetIds);
    this.reportedOriginIds = 0;
    this.reportedTargetIds = 0;
  }
}
