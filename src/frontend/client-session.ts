/**
 * One client connection (upstream-spec-notes 2.4, 3.1-3.5, 5.x): an explicit state machine
 *
 *   connecting -> handshake -> ready -> closing -> closed
 *
 * - connecting: pick the ORIGIN and TARGET hosts, open ORIGIN then TARGET before reading the client.
 * - handshake: client requests go through `Handshake` (one at a time, auth relay, secondary handshake).
 * - ready: each request is routed (routing/request-router), sent by the `RequestExecutor` to one or both
 *   cluster connections, the replies aggregated (routing/response-aggregator), the client's stream id restored.
 * - closing: graceful drain: new requests get OVERLOADED, in-flight requests complete, then close.
 *
 * Losing the ORIGIN or TARGET connection once ready (issue 12) does not close the session: requests in flight
 * on it get SERVER_ERROR at once (their outcome there is unknown), requests that need that cluster are refused
 * with UNAVAILABLE before anything is sent (both or neither), requests for the live cluster go on, and a
 * `ClusterReconnector` reopens the connection in the background (`reopenClusterConnection`: handshake, auth,
 * USE, REGISTER). Losing both, or losing one before the session is ready, closes the session (as upstream).
 *
 * Collaborators: `ClientWriter` (socket writes, corking, back-pressure), `Handshake`, `RequestExecutor`
 * (in-flight bookkeeping, timeouts). This class only reads frames, routes them and reacts to the results.
 *
 * Never throws out of a socket handler: bad client input closes this client only, with a log line.
 */
import type * as net from 'node:net';
import type { Logger } from 'pino';
import {
  type BodyCodec,
  clusterDownFrame,
  ConnectionFraming,
  connectionLostFrame,
  Consistency,
  ErrorCode,
  errorFrame,
  messageOf,
  Opcode,
  opcodeName,
  overloadedFrame,
  ProtocolError,
  protocolErrorFrame,
  ProtocolVersion,
  type RawFrame,
  readErrorCode,
  readEventType,
  responseFrame,
  type StringMultimap,
  unpreparedFrame,
  unsupportedVersionMessage,
  versionName,
  withoutSkipMetadata,
} from '../protocol/codec';
import {
  endpointLabel,
  requestFrame,
  type ClusterConnection,
  type ClusterConnectionOptions,
  type Endpoint,
} from '../backend/cluster-connection';
import type { ProxyConfig } from '../config/types';
import type { PreparedCache } from '../routing/prepared-cache';
import { routeRequest, type Route, type RouteContext } from '../routing/request-router';
import type { RequestIdTracer } from '../routing/request-id';
import { NowReplacementError } from '../routing/now-replacement';
import { aggregate, usualReply } from '../routing/response-aggregator';
import type { RoutingSettings } from '../routing/settings';
import { type ClusterName, clusterLabel, clusterOfLabel, forCluster, otherCluster, PerCluster, pickCluster } from '../cluster';
import type { SystemTablesSource, VirtualTables } from './virtual-tables';
import { interceptedPreparedId } from './virtual-tables';
import { ClientWriter } from './client-writer';
import { Handshake } from './handshake';
import { RequestExecutor, type ForwardRoute, type InFlight } from './request-executor';
import { ProxyCounters } from './counters';
import { AsyncReads, asyncMetricsObserver } from './async-reads';
import { prepareAside } from './prepare-aside';
import { OneSidedUnprepared, oneSidedUnprepared, useStatement, useSwitchedOnOneSide } from './one-sided-unprepared';
import { ClusterReconnector } from './cluster-reconnector';
import type { ReopenGate } from './reopen-gate';
import { reopenClusterConnection } from './reopen';
import { NoopProxyMetrics, type NodeMetrics, type ProxyMetrics } from '../observability/metrics';
import type { JournalRecorder } from '../journal/recorder';
import type { DualReadComparer } from '../compare/dual-read-comparer';

/** What a session needs from a control connection (a subset of backend/ControlConnection). */
export interface ControlView extends SystemTablesSource {
  readonly protocolVersion: ProtocolVersion;
  readonly authEnabled: boolean;
  readonly supportedOptions: Record<string, string[]>;
  nextAssignedHost(): { address: string; port: number; via?: { host: string; port: number } };
}

export interface SessionDeps {
  config: ProxyConfig;
  settings: RoutingSettings;
  cache: PreparedCache;
  control: { origin: ControlView; target: ControlView };
  virtualTables: VirtualTables;
  logger: Logger;
  connect: (opts: ClusterConnectionOptions) => Promise<ClusterConnection>;
  tls: { origin?: import('node:tls').ConnectionOptions; target?: import('node:tls').ConnectionOptions };
  /** process-wide counters (default: a private instance) */
  counters?: ProxyCounters;
  /** Tests: timeuuid source of the now() replacement. */
  generateNow?: () => Buffer;
  /** metrics (default: no-op) */
  metrics?: ProxyMetrics;
  /** request-id tracing (upstream-spec-notes 4.8), shared by all sessions (one rate limit); undefined = requests untouched */
  requestIds?: RequestIdTracer;
  /** the one-sided write journal (journal_dir set) */
  journal?: JournalRecorder;
  /** live read comparison of dual reads (dual_read_compare_enabled) */
  comparer?: DualReadComparer;
  /** shared by all sessions: how many may reopen their connection to each cluster at once (default: no limit) */
  reopenGates?: { origin: ReopenGate; target: ReopenGate };
}

export type SessionState = 'connecting' | 'handshake' | 'ready' | 'closing' | 'closed';

const NOOP_METRICS = new NoopProxyMetrics();

export class ClientSession {
  state: SessionState = 'connecting';
  readonly remote: string;
  readonly log: Logger;
  private origin!: ClusterConnection;
  private target!: ClusterConnection;
  private executor: RequestExecutor | undefined;
  /** dual reads (read_mode=DUAL_ASYNC_ON_SECONDARY): the async connector to the secondary cluster */
  private asyncReads: AsyncReads | undefined;
  /** legacy frames, then (v5) segments after the STARTUP reply */
  private readonly framing: ConnectionFraming;
  private readonly writer: ClientWriter;
  private readonly handshake: Handshake;
  private keyspace = '';
  private bodyCodec: BodyCodec | undefined;
  private compressionName = 'NONE';
  /** Spec 3.1: once sent, every later frame gets a copy. */
  private versionError: RawFrame | undefined;
  private readonly counters: ProxyCounters;
  private readonly metrics: ProxyMetrics;
  private originMetrics: NodeMetrics | undefined;
  private targetMetrics: NodeMetrics | undefined;
  /** reused for every request (no allocation per frame) */
  private readonly ctx: RouteContext;
  private drainResolvers: (() => void)[] = [];
  /** UNPREPARED from one cluster only, after the other applied the request (issue 12) */
  private readonly oneSided: OneSidedUnprepared;
  private closeListeners: (() => void)[] = [];
  /** replies held until their one-sided write is in the journal */
  private journalWaits = 0;
  /** once ready: the state of each cluster connection (up, or down and being reopened) */
  private links: PerCluster<ClusterReconnector<ClusterConnection>> | undefined;
  /** the client's REGISTER (a copy), sent again on a reopened connection */
  private registerFrame: RawFrame | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly deps: SessionDeps,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.log = deps.logger.child({ client: this.remote });
    this.counters = deps.counters ?? new ProxyCounters();
    this.metrics = deps.metrics ?? NOOP_METRICS;
    this.ctx = {
      keyspace: '',
      cache: deps.cache,
      settings: deps.settings,
      codec: undefined,
      replaceNow: deps.config.settings.replace_cql_functions,
      pinTimestamps: deps.config.settings.pin_write_timestamps,
      generateNow: deps.generateNow,
    };
    this.framing = new ConnectionFraming({ expectResponses: false, maxBodyLength: deps.config.maxFrameSizeBytes });
    this.writer = new ClientWriter(
      socket,
      () => (this.origin?.congested ?? false) || (this.target?.congested ?? false) || this.handshake.congested,
      this.framing,
      (full) => {
        this.origin?.setReading(!full);
        this.target?.setReading(!full);
      },
    );
    this.handshake = new Handshake({
      log: this.log,
      config: deps.config,
      control: deps.control,
      isHandshaking: () => this.state === 'handshake',
      connection: (c) => this.connection(c),
      write: (f) => this.writer.write(f),
      reply: (fl, frame) => this.reply(fl, frame),
      forward: (f, route, complete, clientStream) => this.forward(f, route, complete, clientStream),
      handleRequest: (f, after) => this.handleRequest(f, after),
      body: (f) => this.body(f),
      setCompression: (codec, name, segments) => {
        this.bodyCodec = codec;
        this.compressionName = name;
        this.framing.setSegmentCompressor(segments);
      },
      codec: () => this.bodyCodec,
      becomeReady: (version) => {
        this.state = 'ready';
        this.log.info(
          `Handshake successful with client ${this.remote} (${versionName(version)}, Compression: ${this.compressionName}${this.framing.segments ? ', v5 segments' : ''})`,
        );
        const a = this.asyncReads;
        const startup = this.handshake.startup;
        if (a && startup) void a.handshake(startup, () => this.handshake.asyncCredentials(a.cluster));
      },
      close: (reason, level) => this.close(reason, level),
      updateFlow: () => this.writer.updateFlow(),
    });
    this.oneSided = new OneSidedUnprepared(
      {
        forward: (f, route, complete, clientStream, refused) => this.executor!.forward(f, route, complete, clientStream, refused),
        body: (f) => this.body(f),
        keyspace: () => this.keyspace,
        prepareAside: (cluster, keyspace, query, version) => this.prepareAside(cluster, keyspace, query, version),
        log: this.log,
      },
      this.counters,
    );
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 15_000);
    socket.pause(); // nothing is read before both cluster connections are open
    socket.on('error', (e) => this.close(`client socket error: ${e.message}`, 'debug'));
    socket.on('end', () => this.clientEnded());
    socket.on('close', () => this.close('client closed the connection', 'debug'));
    socket.on('drain', () => this.writer.updateFlow());
  }

  onClose(cb: () => void): void {
    if (this.state === 'closed') cb();
    else this.closeListeners.push(cb);
  }

  get inFlightCount(): number {
    return (this.executor?.size ?? 0) + this.journalWaits;
  }

  /** The node this session's ORIGIN / TARGET connection goes to (undefined before it is open). */
  endpoint(cluster: ClusterName): { host: string; port: number } | undefined {
    return this.connection(cluster)?.endpoint;
  }

  /** This session's current connection to `cluster`. */
  private connection(cluster: ClusterName): ClusterConnection {
    return pickCluster(cluster, this.origin, this.target);
  }

  /** Dial options for another connection to the node of this session's `cluster` connection (no heartbeats). */
  private sameNodeDial(cluster: ClusterName): Omit<ClusterConnectionOptions, 'maxStreamIds' | 'retry'> {
    return this.nodeDial(cluster, this.connection(cluster).endpoint);
  }

  /** What every connection of this session to `cluster` dials with, but its stream ids and heartbeats. */
  private nodeDial(cluster: ClusterName, endpoint: Endpoint): Omit<ClusterConnectionOptions, 'maxStreamIds' | 'retry'> {
    const { config } = this.deps;
    return {
      cluster,
      endpoint: { host: endpoint.host, port: endpoint.port, ...(endpoint.via ? { via: endpoint.via } : {}) },
      connectTimeoutMs: forCluster(cluster, config).connectionTimeoutMs,
      tls: forCluster(cluster, this.deps.tls),
      maxBodyLength: config.maxFrameSizeBytes,
      logger: this.deps.logger,
    };
  }

  /** Cluster replies dropped because their request had timed out (both connections). */
  get lateReplies(): number {
    return (this.origin?.lateReplies ?? 0) + (this.target?.lateReplies ?? 0);
  }

  /** Dial one cluster connection (metrics: opened/closed exactly once, or failed). */
  private async dial(
    cluster: ClusterName,
    host: { address: string; port: number; via?: { host: string; port: number } },
    maxStreamIds: number,
  ): Promise<ClusterConnection> {
    return this.connectMetered(this.dialOptions(cluster, host, maxStreamIds));
  }

  private dialOptions(
    cluster: ClusterName,
    host: { address: string; port: number; via?: { host: string; port: number } },
    maxStreamIds: number,
  ): ClusterConnectionOptions {
    return {
      ...this.nodeDial(cluster, { host: host.address, port: host.port, ...(host.via ? { via: host.via } : {}) }),
      maxStreamIds,
      heartbeatIntervalMs: this.deps.config.settings.heartbeat_interval_ms,
    };
  }

  /** deps.connect with the node metrics (opened/closed exactly once, or failed). */
  private readonly connectMetered = async (opts: ClusterConnectionOptions): Promise<ClusterConnection> => {
    const cluster = opts.cluster;
    const nm = this.metrics.node(cluster, endpointLabel(opts.endpoint));
    let conn: ClusterConnection;
    try {
      conn = await this.deps.connect(opts);
    } catch (e) {
      nm.connectionFailed();
      this.metrics.clusterConnectionFailed(cluster);
      throw e;
    }
    nm.connectionOpened();
    conn.once('close', () => nm.connectionClosed());
    if (cluster === 'ORIGIN') this.originMetrics = nm;
    else this.targetMetrics = nm;
    return conn;
  };

  /** Open ORIGIN then TARGET, then start reading the client. Resolves false when the session was closed. */
  async start(): Promise<boolean> {
    const { config, control } = this.deps;
    const maxStreamIds = this.maxStreamIds();
    try {
      this.origin = await this.dial('ORIGIN', control.origin.nextAssignedHost(), maxStreamIds);
      if (this.state !== 'connecting') {
        this.origin.close('client gone');
        return false;
      }
      this.target = await this.dial('TARGET', control.target.nextAssignedHost(), maxStreamIds);
    } catch (e) {
      this.log.error(`Client Handler could not be created: ${(e as Error).message}`);
      this.close('cluster connection failed');
      return false;
    }
    if (this.state !== 'connecting') {
      this.target.close('client gone');
      this.origin.close('client gone');
      return false;
    }
    if (this.deps.settings.readMode === 'DUAL_ASYNC_ON_SECONDARY') this.openAsyncReads(maxStreamIds);
    this.executor = new RequestExecutor(
      this.origin,
      this.target,
      config.settings.proxy_request_timeout_ms,
      this.log,
      {
        onSendError: () => {}, // the connection's 'close' follows: clusterLost
        onClusterDown: (fl, cluster) => this.clusterDown(fl, cluster),
        onOverloaded: (fl, cluster) => this.overloaded(fl, cluster),
        onTimedOut: (fl) => {
          void this.journalOneSided(fl);
          if (this.state === 'handshake') this.close('handshake request timed out', 'warn');
        },
        onCompleteError: (fl, e) =>
          this.close(`cannot handle the reply to ${opcodeName(fl.request.opcode)}: ${e.message}`, 'error'),
        onSettled: () => this.checkDrained(),
        heartbeatVersion: (fallback) => this.handshake.clientVersion ?? fallback,
        errorCode: (r) => {
          try {
            return readErrorCode(this.body(r));
          } catch {
            return -1;
          }
        },
      },
      this.counters,
      { proxy: this.metrics, origin: this.originMetrics!, target: this.targetMetrics! },
    );
    this.links = PerCluster.of((c) => this.reconnector(c));
    this.wire(this.origin);
    this.wire(this.target);
    this.state = 'handshake';
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.resume();
    return true;
  }

  /**
   * The async connector of the current secondary cluster. read_mode and primary_cluster can change at run time
   * (admin API): a session that has none yet, or one to the former secondary, opens one here (it serves from
   * the next request on, once its handshake is done). One that failed is not reopened for the same cluster.
   */
  private currentAsyncReads(): AsyncReads {
    const a = this.asyncReads;
    if (a && a.cluster === this.deps.settings.secondaryCluster) return a;
    a?.stop('the secondary cluster changed');
    this.openAsyncReads(this.maxStreamIds());
    const n = this.asyncReads!;
    const startup = this.handshake.startup;
    if (startup) void n.handshake(startup, () => this.handshake.asyncCredentials(n.cluster));
    return n;
  }

  /** Spec 2.4 item 3: the async connection goes to the secondary cluster, on the node of the session's secondary connection. */
  private openAsyncReads(maxStreamIds: number): void {
    const { config, settings } = this.deps;
    const cluster = settings.secondaryCluster;
    const { endpoint, connectTimeoutMs, tls } = this.sameNodeDial(cluster);
    this.asyncReads = new AsyncReads({
      cluster,
      endpoint,
      connect: this.deps.connect,
      connectTimeoutMs,
      tls,
      maxStreamIds,
      maxBodyLength: config.maxFrameSizeBytes,
      handshakeTimeoutMs: config.settings.async_handshake_timeout_ms,
      requestTimeoutMs: config.settings.proxy_request_timeout_ms,
      queueSize: Math.max(1, config.settings.async_connector_write_queue_size_frames),
      counters: this.counters,
      logger: this.log,
      codec: () => this.bodyCodec,
      observer: asyncMetricsObserver(this.metrics.node('ASYNC', endpointLabel(endpoint))),
    });
  }

  /** One-sided UNPREPARED: PREPARE in `keyspace` on a separate connection to the node of this session's `cluster` connection. */
  private async prepareAside(cluster: ClusterName, keyspace: string, query: string, version: ProtocolVersion): Promise<RawFrame> {
    const { config } = this.deps;
    const startup = this.handshake.startup;
    if (!startup) throw new Error('no STARTUP to repeat');
    const f = await prepareAside({
      connect: this.deps.connect,
      dial: this.sameNodeDial(cluster),
      startup,
      credentials: () => this.handshake.asyncCredentials(cluster),
      version,
      keyspace,
      query,
      timeoutMs: config.settings.proxy_request_timeout_ms,
      body: (r) => this.body(r),
      log: this.log,
    });
    if (this.state === 'closed') throw new Error('the client connection closed meanwhile');
    return f;
  }

  private wire(conn: ClusterConnection): void {
    conn.on('close', (err?: Error) =>
      this.clusterLost(conn, `${conn.cluster} connection closed${err ? `: ${err.message}` : ''}`),
    );
    conn.on('drain', () => this.writer.updateFlow());
    conn.on('event', (f: RawFrame) => this.onEvent(conn.cluster, f));
  }

  private reconnector(cluster: ClusterName): ClusterReconnector<ClusterConnection> {
    const s = this.deps.config.settings;
    return new ClusterReconnector<ClusterConnection>({
      cluster,
      policy: {
        minMs: s.heartbeat_retry_interval_min_ms,
        maxMs: s.heartbeat_retry_interval_max_ms,
        factor: s.heartbeat_retry_backoff_factor,
      },
      open: () => this.reopen(cluster),
      onUp: (conn, attempts) => this.reopened(cluster, conn, attempts),
      onRetry: (e, attempt, delayMs) =>
        this.log.info(`Reopening the ${cluster} connection failed (attempt ${attempt}): ${e.message}; next try in ${delayMs} ms`),
      onGiveUp: (e) => {
        this.counters.sessionsClosedByClusterLoss++;
        this.close(`cannot reopen the ${cluster} connection: ${e.message}`, 'warn');
      },
    });
  }

  /**
   * A cluster connection closed. Before the session is ready, or when the other one is down too, the session
   * closes (upstream-spec-notes 2.4 item 5). Otherwise the session survives: requests in flight there get SERVER_ERROR now
   * and the connection is reopened in the background.
   */
  private clusterLost(conn: ClusterConnection, reason: string): void {
    if (this.state === 'closed') return;
    const cluster = conn.cluster;
    if (this.connection(cluster) !== conn) return; // an older connection
    const links = this.links;
    const other = otherCluster(cluster);
    if (this.state !== 'ready' || !links || !links.get(other).isUp) {
      this.counters.sessionsClosedByClusterLoss++;
      this.close(links && !links.get(other).isUp ? `${reason} (${other} is down too)` : reason, 'info');
      return;
    }
    this.counters.clusterConnectionsLost++;
    this.log.warn(
      `${reason}: the client connection stays open; requests that need ${cluster} get UNAVAILABLE until it is reopened`,
    );
    links.get(cluster).lost();
    this.executor!.connectionLost(cluster, (fl) => connectionLostFrame(fl.request.version, fl.clientStream, cluster));
    this.writer.updateFlow();
  }

  /** One attempt to reopen `cluster` (the reconnector's backoff runs between attempts). */
  private reopen(cluster: ClusterName): Promise<ClusterConnection> {
    const startup = this.handshake.startup;
    if (!startup) return Promise.reject(new Error('no STARTUP to replay'));
    const attempt = (): Promise<ClusterConnection> => {
      // queued behind other sessions' attempts: this session may have closed meanwhile
      if (this.state === 'closed') return Promise.reject(new Error('the client connection closed'));
      return this.reopenNow(cluster, startup);
    };
    const gates = this.deps.reopenGates;
    return gates ? forCluster(cluster, gates).run(attempt) : attempt();
  }

  private reopenNow(cluster: ClusterName, startup: RawFrame): Promise<ClusterConnection> {
    const control = forCluster(cluster, this.deps.control);
    return reopenClusterConnection({
      dial: this.dialOptions(cluster, control.nextAssignedHost(), this.maxStreamIds()),
      connect: this.connectMetered,
      startup,
      credentials: () => this.handshake.asyncCredentials(cluster),
      keyspace: this.keyspace,
      ...(this.registerFrame ? { register: this.registerFrame } : {}),
      timeoutMs: this.deps.config.settings.proxy_request_timeout_ms,
      body: this.bodyOf,
    });
  }

  /** The reopened connection replaces the lost one: requests for `cluster` are sent again. */
  private reopened(cluster: ClusterName, conn: ClusterConnection, attempts: number): void {
    if (this.state === 'closed') {
      conn.close('client connection closed');
      return;
    }
    if (cluster === 'ORIGIN') this.origin = conn;
    else this.target = conn;
    this.wire(conn);
    this.executor!.replace(cluster, conn, pickCluster(cluster, this.originMetrics, this.targetMetrics));
    // the async connector to that cluster stopped with it: the next dual read opens a new one
    if (this.asyncReads?.cluster === cluster && this.asyncReads.state === 'closed') this.asyncReads = undefined;
    this.counters.clusterConnectionsReopened++;
    this.log.info(`${cluster} connection reopened to ${endpointLabel(conn.endpoint)} after ${attempts} attempt(s)`);
    this.writer.updateFlow();
  }

  /** The request needs a cluster whose connection is down: refused before anything was sent (spec of issue 12). */
  private clusterDown(fl: InFlight, cluster: ClusterName): void {
    this.counters.clusterDownRefusals++;
    // the failure metrics of the request's kind, on the cluster that is down
    if (fl.route.tracking !== 'none') {
      if (fl.route.to === 'both') this.metrics.writeFailedOn(clusterLabel(cluster));
      else this.metrics.readFailed(cluster);
    }
    this.writer.write(clusterDownFrame(fl.request.version, fl.clientStream, cluster));
    if (this.state === 'handshake') this.handshake.notSent();
  }

  /** The state of the session's connection to `cluster` (tests, status, `client_sessions_cluster_down`). */
  linkState(cluster: ClusterName): string {
    return this.links?.get(cluster).state ?? 'up';
  }

  /** `cluster`'s control connection reopened: a lost connection to it is reopened now, not after its backoff. */
  clusterReturned(cluster: ClusterName): void {
    this.links?.get(cluster).retryNow();
  }

  private maxStreamIds(): number {
    const { control, config } = this.deps;
    const min = Math.min(control.origin.protocolVersion, control.target.protocolVersion);
    const cap = min === ProtocolVersion.V2 ? 127 : 2048;
    return Math.max(1, Math.min(config.settings.proxy_max_stream_ids, cap));
  }

  /** Version of proxy-built protocol errors (upstream-spec-notes 3.1): min(origin, target) control connection version. */
  private protocolErrorVersion(): ProtocolVersion {
    const { control } = this.deps;
    return Math.min(control.origin.protocolVersion ?? 4, control.target.protocolVersion ?? 4) as ProtocolVersion;
  }

  // ---- reading the client ------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    if (this.versionError) {
      this.writer.write(this.versionError); // built on stream 0; its bytes are never changed
      return;
    }
    let frames: RawFrame[];
    try {
      frames = this.framing.push(chunk);
    } catch (e) {
      if (e instanceof ProtocolError && e.code === 'unsupported-version') {
        this.log.warn(`Protocol error from client: ${e.message}`);
        this.versionError = protocolErrorFrame(this.protocolErrorVersion(), e.message);
        this.writer.write(this.versionError); // built on stream 0; its bytes are never changed
        return;
      }
      const lz4 = this.framing.segmentCompression ? ' (lz4)' : '';
      const what = !this.framing.segments
        ? 'invalid frame from client'
        : e instanceof ProtocolError && e.code === 'checksum'
          ? `corrupt v5 segment from client${lz4}`
          : `invalid v5 segment from client${lz4}`;
      this.close(`${what}: ${(e as Error).message}`, 'warn');
      return;
    }
    this.writer.cork();
    for (const f of frames) {
      if ((this.state as SessionState) === 'closed') return;
      try {
        this.onFrame(f);
      } catch (e) {
        this.close(`cannot handle ${opcodeName(f.opcode)} request (stream ${f.streamId}): ${(e as Error).message}`, 'warn');
        return;
      }
    }
    this.writer.updateFlow();
  }

  /** The client ended its side: a frame or segment cut short is worth a line (it never completes now). */
  private clientEnded(): void {
    const n = this.framing.bufferedBytes;
    if (n === 0 || this.state === 'closed') return;
    this.close(
      `client closed the connection in the middle of a ${this.framing.segments ? 'v5 segment or multi-segment frame (truncated)' : 'frame (truncated)'}: ${n} bytes unread`,
      'warn',
    );
  }

  private onFrame(f: RawFrame): void {
    if (this.versionError) {
      this.writer.write(this.versionError); // built on stream 0; its bytes are never changed
      return;
    }
    // Spec 3.1 checks, before anything else.
    if (this.deps.config.blockedProtocolVersionSet.has(f.version as never)) {
      this.log.warn(`Client tried protocol ${versionName(f.version)}: answering with a protocol error`);
      this.versionError = protocolErrorFrame(this.protocolErrorVersion(), unsupportedVersionMessage(f.version));
      this.writer.write(this.versionError); // built on stream 0; its bytes are never changed
      return;
    }
    if (f.streamId < 0) {
      this.writer.write(protocolErrorFrame(f.version, `negative stream id: ${f.streamId}`, 0));
      return;
    }
    if (this.state === 'closing') {
      this.writer.write(overloadedFrame(f.version, f.streamId));
      return;
    }
    if (this.state === 'handshake') {
      this.handshake.push(f);
      return;
    }
    this.handleRequest(f);
  }

  // ---- ready: requests ----------------------------------------------------------------------

  private routeContext(): RouteContext {
    const ctx = this.ctx;
    ctx.keyspace = this.keyspace;
    ctx.codec = this.bodyCodec;
    return ctx;
  }

  /** Route and dispatch one request; `after` runs once the request is finished (handshake pump). */
  private handleRequest(f: RawFrame, after?: () => void): void {
    let route: Route;
    let requestId: string | undefined;
    try {
      const tracer = this.deps.requestIds;
      if (tracer?.concerns(f)) ({ frame: f, id: requestId } = this.traceRequest(f, tracer));
      route = routeRequest(f, this.routeContext());
    } catch (e) {
      if (e instanceof NowReplacementError) {
        this.log.warn(`now() replacement failed for ${opcodeName(f.opcode)} (stream ${f.streamId}): ${e.message}`);
        this.writer.write(errorFrame(f.version, f.streamId, ErrorCode.INVALID, e.message));
        if (after) after();
        return;
      }
      if (e instanceof ProtocolError) {
        this.close(`cannot route ${opcodeName(f.opcode)} request (stream ${f.streamId}): ${e.message}`, 'warn');
        return;
      }
      throw e;
    }
    let complete = after ? (fl: InFlight) => (this.defaultComplete(fl), after()) : this.completeRequest;
    switch (route.type) {
      case 'forward': {
        if (requestId !== undefined) complete = this.logRequestId(f, requestId, complete);
        if (f.opcode === Opcode.REGISTER) this.registerFrame = f.withStreamId(f.streamId);
        // the async copy is taken before the synchronous send (which rewrites stream ids in place)
        const a = route.async && this.state === 'ready' ? this.currentAsyncReads() : undefined;
        let asyncFrame =
          a && a.state !== 'closed'
            ? (pickCluster(a.cluster, route.originFrame, route.targetFrame) ?? f).withStreamId(f.streamId)
            : undefined;
        // live read comparison: the replies are only handed over (compared later, off the reply path)
        const primary = asyncFrame && route.tracking === 'read' && route.to !== 'both' ? clusterOfLabel(route.to) : undefined;
        const cmp = primary ? this.deps.comparer?.begin(f, this.bodyCodec, primary) : undefined;
        if (cmp && primary) {
          // the secondary's RESULT must name its columns (the client's EXECUTE may skip them): the async copy only
          if (asyncFrame) asyncFrame = withoutSkipMetadata(asyncFrame, this.bodyCodec);
          const inner = complete;
          complete = (fl) => {
            cmp.primaryReply(forCluster(primary, fl));
            inner(fl);
          };
        }
        if (this.executor!.forward(f, route, complete) && asyncFrame) {
          if (!a!.send(asyncFrame, route.tracking, route.prepared, cmp?.secondaryReply)) cmp?.secondaryReply(undefined);
        } else cmp?.primaryReply(undefined);
        return;
      }
      case 'auth': {
        const to = clusterLabel(this.handshake.authPlan?.authPrimary ?? 'ORIGIN');
        this.forward(f, { type: 'forward', to, tracking: 'none', async: false }, complete);
        return;
      }
      case 'intercept':
        this.answerIntercepted(f, route);
        break;
      case 'unprepared':
        this.counters.preparedCacheMisses++;
        this.metrics.preparedCacheMiss();
        this.log.warn(`No cached entry for prepared-id = '${route.id.toString('hex')}' for OpCode ${opcodeName(f.opcode)}.`);
        this.writer.write(unpreparedFrame(f.version, f.streamId, route.id));
        break;
      case 'drop':
        this.log.debug(`Request ${opcodeName(f.opcode)} (stream ${f.streamId}) not forwarded (${route.reason}); no reply`);
        break;
    }
    if (after) after();
  }

  private traceRequest(f: RawFrame, tracer: RequestIdTracer): { frame: RawFrame; id?: string } {
    const c = this.deps.control;
    const clusterVersion = Math.min(c.origin.protocolVersion, c.target.protocolVersion) as ProtocolVersion;
    return tracer.apply(f, clusterVersion, this.bodyCodec);
  }

  /** Spec 4.8 log lines: the request id when sent, and each cluster's reply to it. */
  private logRequestId(f: RawFrame, id: string, complete: (fl: InFlight) => void): (fl: InFlight) => void {
    const stream = f.streamId;
    this.log.info(`Request id ${id} (hex) for query with stream id ${stream} and ${opcodeName(f.opcode)}`);
    return (fl) => {
      for (const [name, r] of [
        ['ORIGIN-CONNECTOR', fl.origin],
        ['TARGET-CONNECTOR', fl.target],
      ] as const) {
        if (r) this.log.info(`Received response from ${name} for query with stream id ${stream} and request id ${id} (hex)`);
      }
      complete(fl);
    };
  }

  private forward(f: RawFrame, route: ForwardRoute, complete: (fl: InFlight) => void, clientStream?: number): void {
    this.executor!.forward(f, route, complete, clientStream);
  }

  private overloaded(fl: InFlight, cluster: ClusterName): void {
    this.log.error(`no stream id available on ${cluster} for ${opcodeName(fl.request.opcode)} (stream ${fl.clientStream})`);
    this.writer.write(overloadedFrame(fl.request.version, fl.clientStream));
    if (this.state === 'handshake') this.handshake.notSent();
  }

  private answerIntercepted(f: RawFrame, route: Extract<Route, { type: 'intercept' }>): void {
    const vt = this.deps.virtualTables;
    const req = { table: route.table, projection: route.projection };
    const ans = route.prepare ? vt.prepare(req, route.query, route.keyspace, f.version) : vt.select(req, f.version);
    switch (ans.kind) {
      case 'rows':
        this.writer.write(responseFrame(f.version, f.streamId, Opcode.RESULT, ans.body));
        return;
      case 'prepared':
        this.deps.cache.storeIntercepted({
          id: interceptedPreparedId(route.query, route.keyspace),
          query: route.query,
          keyspace: route.keyspace,
          decision: { kind: 'intercept', table: route.table, projection: route.projection },
        });
        this.writer.write(responseFrame(f.version, f.streamId, Opcode.RESULT, ans.body));
        return;
      case 'error':
        this.writer.write(errorFrame(f.version, f.streamId, ans.code, ans.message));
        return;
    }
  }

  /** `defaultComplete` bound once (no closure per request) */
  private readonly completeRequest = (fl: InFlight): void => this.defaultComplete(fl);

  private defaultComplete(fl: InFlight): void {
    const r = fl.route;
    const usual = usualReply(fl.request.opcode, r.to, r.prepare, fl.origin, fl.target, this.deps.settings.primaryCluster);
    if (usual) return this.reply(fl, usual);
    if (this.handshake.forwardClusterProtocolError(fl)) return;
    const lost = oneSidedUnprepared(fl, this.bodyOf);
    if (lost) {
      this.oneSided.heal(
        fl,
        lost,
        (healed) => this.aggregateReply(healed),
        (x, frame) => this.reply(x, frame),
      );
      return;
    }
    const switched = useSwitchedOnOneSide(fl, this.bodyOf);
    if (switched) {
      this.restoreKeyspace(fl, switched);
      return;
    }
    this.aggregateReply(fl);
  }

  /**
   * A USE switched `cluster`'s connection only (issue 12). The session keyspace did not change (the client gets
   * the other cluster's error): `cluster` is put back on the previous keyspace with `USE "<previous>"` before the
   * error is answered. With no previous keyspace (a connection cannot leave a keyspace) or when the restore fails,
   * the client gets the error and the client connection is drained and closed: no later unqualified statement can
   * land in different keyspaces; the driver reconnects with a fresh pair.
   */
  private restoreKeyspace(fl: InFlight, cluster: ClusterName): void {
    const previous = this.keyspace;
    const answer = (): void => this.aggregateReply(fl);
    const giveUp = (why: string): void => {
      this.log.warn(
        `USE succeeded on ${cluster} only and ${why}: answering the error, then closing the client connection so that the two clusters cannot resolve later statements in different keyspaces`,
      );
      answer();
      void this.drain();
    };
    if (previous === '') return giveUp('the session had no keyspace to go back to');
    const frame = requestFrame(fl.request.version, {
      opcode: Opcode.QUERY,
      query: useStatement(previous),
      params: { consistency: Consistency.ONE },
    });
    const route: ForwardRoute = {
      type: 'forward',
      to: clusterLabel(cluster),
      tracking: 'none',
      async: false,
    };
    this.executor!.forward(
      frame,
      route,
      (r) => {
        const f = forCluster(cluster, r)!;
        if (f.opcode !== Opcode.RESULT) return giveUp(`going back to keyspace ${previous} there failed`);
        this.counters.useRestored++;
        this.log.warn(
          `USE succeeded on ${cluster} only: ${cluster} put back on keyspace ${previous}; the client gets the other cluster's error`,
        );
        answer();
      },
      fl.clientStream,
      () => giveUp(`no stream id was free to put it back on keyspace ${previous}`),
    );
  }

  /** both control connections' SUPPORTED options (bound once: no closure per reply) */
  private readonly supportedOptions = (): { origin: StringMultimap; target: StringMultimap } => ({
    origin: this.deps.control.origin.supportedOptions,
    target: this.deps.control.target.supportedOptions,
  });

  private aggregateReply(fl: InFlight): void {
    const res = aggregate({
      request: fl.request,
      to: fl.route.to,
      tracking: fl.route.tracking,
      prepare: fl.route.prepare,
      prepared: fl.route.prepared,
      origin: fl.origin,
      target: fl.target,
      primary: this.deps.settings.primaryCluster,
      cache: this.deps.cache,
      supportedOptions: this.supportedOptions,
      codec: this.bodyCodec,
    });
    if (res.problem) this.log.warn(res.problem);
    if (res.note) this.log.info(res.note);
    if (res.keyspace !== undefined && res.keyspace !== '') this.keyspace = res.keyspace;
    if (!res.reply) return;
    const reply = res.reply;
    const journaled = res.failedOn === 'origin' || res.failedOn === 'target' ? this.journalOneSided(fl) : undefined;
    if (!journaled) return this.reply(fl, reply);
    // the client learns of the failure once the journal has the write (group commit: milliseconds)
    this.journalWaits++;
    void journaled.then(() => {
      this.journalWaits--;
      if (this.state !== 'closed') this.reply(fl, reply);
      this.checkDrained();
    });
  }

  /**
   * Write journal (extension): a write sent to both clusters that one applied and the other answered with an
   * ERROR or did not answer in time. The ONE place the request path hands writes to the journal (completion
   * and timeout both come here). Resolves once the record is durable or dropped.
   */
  private journalOneSided(fl: InFlight): Promise<boolean> | undefined {
    const j = this.deps.journal;
    if (!j || fl.route.to !== 'both' || fl.route.tracking !== 'write') return undefined;
    const op = fl.request.opcode;
    if (op !== Opcode.QUERY && op !== Opcode.EXECUTE && op !== Opcode.BATCH) return undefined;
    const originOk = fl.origin !== undefined && fl.origin.opcode !== Opcode.ERROR;
    const targetOk = fl.target !== undefined && fl.target.opcode !== Opcode.ERROR;
    if (originOk === targetOk) return undefined;
    const failedOn: ClusterName = originOk ? 'TARGET' : 'ORIGIN';
    return j.record({
      failedOn,
      frame: pickCluster(failedOn, fl.route.originFrame, fl.route.targetFrame) ?? fl.request,
      errorReply: forCluster(failedOn, fl),
      timeoutMs: this.deps.config.settings.proxy_request_timeout_ms,
      keyspace: this.keyspace,
      prepared: fl.route.prepared,
      codec: this.bodyCodec,
      dispatchedAtMs: performance.timeOrigin + fl.startedAt,
    });
  }

  private reply(fl: InFlight, frame: RawFrame): void {
    frame.setStreamId(fl.clientStream);
    this.writer.write(frame);
  }

  // ---- events ------------------------------------------------------------------------------

  /** Spec 5.6: only ORIGIN's SCHEMA_CHANGE reaches the client. */
  private onEvent(cluster: ClusterName, f: RawFrame): void {
    if (cluster !== 'ORIGIN' || this.state !== 'ready') return;
    try {
      const type = readEventType(this.body(f));
      if (type === 'SCHEMA_CHANGE') this.writer.write(f);
    } catch (e) {
      this.log.warn(`unreadable EVENT from ORIGIN: ${(e as Error).message}`);
    }
  }

  /** The message of a frame: decompressed, after its envelope (tracing id, warnings, custom payload). */
  private body(f: RawFrame): Buffer {
    return messageOf(f, this.bodyCodec);
  }
  private readonly bodyOf = (f: RawFrame): Buffer => this.body(f);

  // ---- closing -----------------------------------------------------------------------------

  /** Graceful close (upstream-spec-notes 2.9): new requests get OVERLOADED, in-flight ones complete (or time out). */
  drain(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    if (this.state !== 'closing') {
      this.state = 'closing';
      for (const f of this.handshake.takeQueued()) this.writer.write(overloadedFrame(f.version, f.streamId));
    }
    return new Promise((resolve) => {
      this.drainResolvers.push(resolve);
      this.checkDrained();
    });
  }

  private checkDrained(): void {
    if (this.state === 'closing' && this.inFlightCount === 0) {
      // let the last replies reach the socket before closing it
      setImmediate(() => this.close('drained', 'debug'));
    }
  }

  close(reason: string, level: 'debug' | 'info' | 'warn' | 'error' = 'info'): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.log[level](`Closing client connection ${this.remote}: ${reason}`);
    this.executor?.clear();
    this.counters.lateRepliesOfClosedSessions += this.lateReplies;
    this.writer.close();
    this.links?.forEach((l) => {
      l.stop();
    });
    this.origin?.close('client connection closed');
    this.target?.close('client connection closed');
    this.asyncReads?.stop('client connection closed');
    for (const r of this.drainResolvers.splice(0)) r();
    for (const cb of this.closeListeners.splice(0)) {
      try {
        cb();
      } catch {
        /* listener errors never escape */
      }
    }
  }
}
