/**
 * One client connection (spec 2.4, 3.1-3.5, 5.x): an explicit state machine
 *
 *   connecting -> handshake -> ready -> closing -> closed
 *
 * - connecting: pick the ORIGIN and TARGET hosts, open ORIGIN then TARGET before reading the client.
 * - handshake: client requests are handled one at a time (OPTIONS, STARTUP, AUTH_RESPONSE, ...); the
 *   secondary handshake runs asynchronously before the client gets its READY/AUTH_SUCCESS.
 * - ready: each request is routed (routing/request-router), sent to one or both cluster connections,
 *   the replies are aggregated (routing/response-aggregator), the client's stream id restored.
 * - closing: graceful drain: new requests get OVERLOADED, in-flight requests complete, then close.
 *
 * Never throws out of a socket handler: bad client input closes this client only, with a log line.
 */
import type * as net from 'node:net';
import type { Logger } from 'pino';
import { ErrorCode, Opcode, ProtocolVersion, opcodeName, versionName } from '../protocol/constants';
import { FrameDecoder } from '../protocol/decoder';
import { ProtocolError } from '../protocol/errors';
import { RawFrame } from '../protocol/frame';
import { Reader, type StringMultimap } from '../protocol/primitives';
import { getCompressor } from '../protocol/compression';
import type { ClusterConnection, ClusterConnectionOptions, PendingRequest } from '../backend/cluster-connection';
import { AuthFailedError, runAuthRounds, type Credentials } from '../backend/authenticator';
import type { ProxyConfig } from '../config/types';
import type { PreparedCache } from '../routing/prepared-cache';
import { routeRequest, type BodyCodec, type Route } from '../routing/request-router';
import { aggregate } from '../routing/response-aggregator';
import type { ClusterName, RoutingSettings } from '../routing/settings';
import type { SystemTablesSource, VirtualTables } from './virtual-tables';
import { interceptedPreparedId } from './virtual-tables';
import { InvalidAuthTokenError, planAuth, relayToken, type AuthPlan } from './auth-relay';
import {
  errorFrame,
  overloadedFrame,
  protocolErrorFrame,
  readErrorCode,
  readErrorMessage,
  responseFrame,
  unpreparedFrame,
  unsupportedVersionMessage,
} from './replies';

/** What a session needs from a control connection (a subset of backend/ControlConnection). */
export interface ControlView extends SystemTablesSource {
  readonly protocolVersion: ProtocolVersion;
  readonly authEnabled: boolean;
  readonly supportedOptions: Record<string, string[]>;
  nextAssignedHost(): { address: string; port: number };
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
}

export type SessionState = 'connecting' | 'handshake' | 'ready' | 'closing' | 'closed';

/** Client versions never accepted while protocol v5 is not carried end to end (issue rule). */
const NOT_CARRIED_VERSIONS: ReadonlySet<number> = new Set([ProtocolVersion.V5]);

interface InFlight {
  clientStream: number;
  request: RawFrame;
  route: Extract<Route, { type: 'forward' }>;
  origin?: RawFrame;
  target?: RawFrame;
  originP?: PendingRequest;
  targetP?: PendingRequest;
  waiting: number;
  timer?: NodeJS.Timeout;
  /** custom completion (handshake steps); default: aggregate and reply */
  complete?: (f: InFlight) => void;
  onTimeout?: () => void;
}

export class ClientSession {
  state: SessionState = 'connecting';
  readonly remote: string;
  private readonly log: Logger;
  private origin!: ClusterConnection;
  private target!: ClusterConnection;
  private readonly decoder: FrameDecoder;
  private readonly inflight = new Set<InFlight>();
  private keyspace = '';
  private codec: BodyCodec | undefined;
  private compressionName = 'NONE';
  private clientVersion: ProtocolVersion | undefined;
  /** Spec 3.1: once sent, every later frame gets a copy. */
  private versionError: RawFrame | undefined;
  /** Spec 3.2: first cluster PROTOCOL_ERROR per connection is forwarded on stream 0, later ones dropped. */
  private clusterProtocolErrorSent = false;
  /** Spec 3.5.2 item 5: secondary auth failed: every later handshake request gets this error. */
  private authError: { code: number; message: string } | undefined;
  private handshakeQueue: RawFrame[] = [];
  private handshakeBusy = false;
  private authPlan: AuthPlan | undefined;
  private clientCredentials: Credentials | undefined;
  /** STARTUP reply of the secondary cluster, for the secondary handshake. */
  private secondaryStartupReply: RawFrame | undefined;
  private paused = false;
  private corked = false;
  private drainResolvers: (() => void)[] = [];
  private closeListeners: (() => void)[] = [];

  constructor(
    private readonly socket: net.Socket,
    private readonly deps: SessionDeps,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.log = deps.logger.child({ client: this.remote });
    this.decoder = new FrameDecoder({ expectResponses: false, maxBodyLength: deps.config.maxFrameSizeBytes });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 15_000);
    socket.pause(); // nothing is read before both cluster connections are open
    socket.on('error', (e) => this.close(`client socket error: ${e.message}`, 'debug'));
    socket.on('close', () => this.close('client closed the connection', 'debug'));
    socket.on('drain', () => this.updateFlow());
  }

  onClose(cb: () => void): void {
    if (this.state === 'closed') cb();
    else this.closeListeners.push(cb);
  }

  get inFlightCount(): number {
    return this.inflight.size;
  }

  /** Open ORIGIN then TARGET, then start reading the client. Resolves false when the session was closed. */
  async start(): Promise<boolean> {
    const { config, control } = this.deps;
    const maxStreamIds = this.maxStreamIds();
    try {
      const oh = control.origin.nextAssignedHost();
      this.origin = await this.deps.connect({
        cluster: 'ORIGIN',
        endpoint: { host: oh.address, port: oh.port },
        connectTimeoutMs: config.origin.connectionTimeoutMs,
        tls: this.deps.tls.origin,
        maxStreamIds,
        maxBodyLength: config.maxFrameSizeBytes,
        logger: this.deps.logger,
        heartbeatIntervalMs: config.settings.heartbeat_interval_ms,
      });
      if (this.state !== 'connecting') {
        this.origin.close('client gone');
        return false;
      }
      const th = control.target.nextAssignedHost();
      this.target = await this.deps.connect({
        cluster: 'TARGET',
        endpoint: { host: th.address, port: th.port },
        connectTimeoutMs: config.target.connectionTimeoutMs,
        tls: this.deps.tls.target,
        maxStreamIds,
        maxBodyLength: config.maxFrameSizeBytes,
        logger: this.deps.logger,
        heartbeatIntervalMs: config.settings.heartbeat_interval_ms,
      });
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
    for (const conn of [this.origin, this.target]) {
      conn.on('close', (err?: Error) => this.close(`${conn.cluster} connection closed${err ? `: ${err.message}` : ''}`, 'info'));
      conn.on('drain', () => this.updateFlow());
      conn.on('event', (f: RawFrame) => this.onEvent(conn.cluster, f));
    }
    this.state = 'handshake';
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.resume();
    return true;
  }

  private maxStreamIds(): number {
    const { control, config } = this.deps;
    const min = Math.min(control.origin.protocolVersion, control.target.protocolVersion);
    const cap = min === ProtocolVersion.V2 ? 127 : 2048;
    return Math.max(1, Math.min(config.settings.proxy_max_stream_ids, cap));
  }

  /** Version of proxy-built protocol errors: min(origin, target) control version, never above v4 (v5 is not carried). */
  private protocolErrorVersion(): ProtocolVersion {
    const { control } = this.deps;
    const min = Math.min(control.origin.protocolVersion ?? 4, control.target.protocolVersion ?? 4);
    return (min >= ProtocolVersion.V4 ? ProtocolVersion.V4 : min) as ProtocolVersion;
  }

  // ---- reading the client ------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    if (this.versionError) {
      this.write(this.versionError.withStreamId(0));
      return;
    }
    let frames: RawFrame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      if (e instanceof ProtocolError && e.code === 'unsupported-version') {
        this.log.warn(`Protocol error from client: ${e.message}`);
        this.versionError = protocolErrorFrame(this.protocolErrorVersion(), unsupportedVersionMessage(e.context.version ?? 0));
        this.write(this.versionError.withStreamId(0));
        return;
      }
      this.close(`invalid frame from client: ${(e as Error).message}`, 'warn');
      return;
    }
    this.cork();
    for (const f of frames) {
      if ((this.state as SessionState) === 'closed') return;
      try {
        this.onFrame(f);
      } catch (e) {
        this.close(`cannot handle ${opcodeName(f.opcode)} request (stream ${f.streamId}): ${(e as Error).message}`, 'warn');
        return;
      }
    }
    this.updateFlow();
  }

  private onFrame(f: RawFrame): void {
    if (this.versionError) {
      this.write(this.versionError.withStreamId(0));
      return;
    }
    // Spec 3.1 checks, before anything else.
    if (NOT_CARRIED_VERSIONS.has(f.version) || this.deps.config.blockedProtocolVersionSet.has(f.version as never)) {
      this.log.warn(`Client tried protocol ${versionName(f.version)}: answering with a protocol error`);
      this.versionError = protocolErrorFrame(this.protocolErrorVersion(), unsupportedVersionMessage(f.version));
      this.write(this.versionError.withStreamId(0));
      return;
    }
    if (f.streamId < 0) {
      this.write(protocolErrorFrame(f.version, `negative stream id: ${f.streamId}`, 0));
      return;
    }
    if (this.state === 'closing') {
      this.write(overloadedFrame(f.version, f.streamId));
      return;
    }
    if (this.state === 'handshake') {
      this.handshakeQueue.push(f);
      this.pumpHandshake();
      return;
    }
    this.handleRequest(f);
  }

  // ---- handshake ---------------------------------------------------------------------------

  private pumpHandshake(): void {
    while (!this.handshakeBusy && this.handshakeQueue.length > 0 && this.state === 'handshake') {
      const f = this.handshakeQueue.shift()!;
      this.handshakeBusy = true;
      try {
        this.handshakeStep(f);
      } catch (e) {
        this.close(`handshake failed: ${(e as Error).message}`, 'warn');
        return;
      }
    }
    if (this.state === 'ready' && this.handshakeQueue.length > 0) {
      const q = this.handshakeQueue;
      this.handshakeQueue = [];
      for (const f of q) this.handleRequest(f);
    }
  }

  private stepDone(): void {
    this.handshakeBusy = false;
    this.pumpHandshake();
    this.updateFlow();
  }

  private handshakeStep(f: RawFrame): void {
    if (this.authError) {
      this.write(errorFrame(f.version, f.streamId, this.authError.code, this.authError.message));
      this.handshakeBusy = false;
      return;
    }
    switch (f.opcode) {
      case Opcode.STARTUP:
        return this.onStartup(f);
      case Opcode.AUTH_RESPONSE:
        return this.onAuthResponse(f);
      default:
        // OPTIONS and anything else: normal routing, one at a time.
        this.handleRequest(f, () => this.stepDone());
        return;
    }
  }

  private onStartup(f: RawFrame): void {
    this.clientVersion = f.version;
    let options: Record<string, string> = {};
    try {
      options = new Reader(f.body).readStringMap('STARTUP options');
    } catch (e) {
      throw new ProtocolError('invalid-value', `cannot read STARTUP options: ${(e as Error).message}`);
    }
    const compression = Object.entries(options).find(([k]) => k.toUpperCase() === 'COMPRESSION')?.[1];
    const compressor = compression ? getCompressor(compression) : undefined;
    this.compressionName = compressor ? compressor.name : 'NONE';
    if (compressor) {
      const max = this.deps.config.maxFrameSizeBytes;
      const version = f.version;
      this.codec = {
        decompress: (b) => compressor.decompress(b, version, max),
        compress: (b) => compressor.compress(b, version),
      };
    } else this.codec = undefined;
    const { control, config } = this.deps;
    this.authPlan = planAuth(control.origin.authEnabled, control.target.authEnabled, config.settings.forward_client_credentials_to_origin, {
      origin: { username: config.origin.username, password: config.origin.password },
      target: { username: config.target.username, password: config.target.password },
    });
    const route: Extract<Route, { type: 'forward' }> = { type: 'forward', to: 'both', tracking: 'none', async: false };
    this.forward(f, route, {
      complete: (fl) => {
        const plan = this.authPlan!;
        const primaryReply = plan.authPrimary === 'ORIGIN' ? fl.origin! : fl.target!;
        const secondaryReply = plan.authPrimary === 'ORIGIN' ? fl.target! : fl.origin!;
        if (this.forwardClusterProtocolError(fl)) return this.stepDone();
        if (primaryReply.opcode === Opcode.ERROR) {
          this.reply(fl, primaryReply);
          return this.stepDone();
        }
        const okSecondary = [Opcode.READY, Opcode.AUTHENTICATE, Opcode.AUTH_CHALLENGE, Opcode.AUTH_SUCCESS];
        if (!okSecondary.includes(secondaryReply.opcode)) {
          const what = secondaryReply.opcode === Opcode.ERROR ? readErrorMessage(this.body(secondaryReply)) : opcodeName(secondaryReply.opcode);
          this.close(`unsuccessful startup on ${plan.secondary}: ${what}`, 'error');
          return;
        }
        this.secondaryStartupReply = secondaryReply;
        if (primaryReply.opcode === Opcode.READY || primaryReply.opcode === Opcode.AUTH_SUCCESS) {
          this.finishHandshake(fl, primaryReply);
          return;
        }
        this.reply(fl, primaryReply); // AUTHENTICATE: the client answers with AUTH_RESPONSE
        this.stepDone();
      },
    });
  }

  private onAuthResponse(f: RawFrame): void {
    const plan = this.authPlan;
    if (!plan) {
      // AUTH_RESPONSE before STARTUP: let ORIGIN answer (normally with a protocol error).
      this.handleRequest(f, () => this.stepDone());
      return;
    }
    let frame = f;
    try {
      const body = this.plainBody(f);
      const token = new Reader(body).readBytes('auth token');
      const relayed = relayToken(token, plan);
      if (relayed.clientCredentials) this.clientCredentials = relayed.clientCredentials;
      if (relayed.token !== token) {
        const w = Buffer.alloc(4 + (relayed.token ? relayed.token.length : 0));
        if (relayed.token) {
          w.writeInt32BE(relayed.token.length, 0);
          relayed.token.copy(w, 4);
        } else w.writeInt32BE(-1, 0);
        frame = RawFrame.fromParts(
          { version: f.version, isResponse: false, flags: f.flags, streamId: f.streamId, opcode: f.opcode },
          f.isCompressed && this.codec ? this.codec.compress(w) : w,
        );
      }
    } catch (e) {
      if (e instanceof InvalidAuthTokenError) {
        this.log.warn(`Handshake with client failed: ${e.message}`);
        this.write(errorFrame(f.version, f.streamId, ErrorCode.AUTH_ERROR, e.message));
        this.stepDone();
        return;
      }
      throw e;
    }
    const route: Extract<Route, { type: 'forward' }> = {
      type: 'forward',
      to: plan.authPrimary === 'ORIGIN' ? 'origin' : 'target',
      tracking: 'none',
      async: false,
    };
    this.forward(frame, route, {
      clientStream: f.streamId,
      complete: (fl) => {
        const r = plan.authPrimary === 'ORIGIN' ? fl.origin! : fl.target!;
        if (this.forwardClusterProtocolError(fl)) return this.stepDone();
        if (r.opcode === Opcode.AUTH_SUCCESS || r.opcode === Opcode.READY) {
          this.finishHandshake(fl, r);
          return;
        }
        this.reply(fl, r); // AUTH_CHALLENGE or an error: as it is
        this.stepDone();
      },
    });
  }

  /** Secondary handshake (async, never blocks the response path), then the primary's reply goes to the client. */
  private finishHandshake(fl: InFlight, primaryReply: RawFrame): void {
    const plan = this.authPlan!;
    const secondaryConn = plan.secondary === 'ORIGIN' ? this.origin : this.target;
    const stored = this.secondaryStartupReply;
    const version = fl.request.version;
    const run = async (): Promise<void> => {
      if (!stored || stored.opcode === Opcode.READY || stored.opcode === Opcode.AUTH_SUCCESS) return;
      if (stored.opcode !== Opcode.AUTHENTICATE) {
        throw new Error(`unexpected ${opcodeName(stored.opcode)} from ${plan.secondary} during the secondary handshake`);
      }
      const creds = plan.secondaryCredentials === 'client' ? this.clientCredentials : plan.secondaryCredentials;
      if (!creds) {
        throw new Error(
          `secondary cluster (${plan.secondary}) requested authentication but primary did not, and no client credentials are known`,
        );
      }
      const authenticatorClass = new Reader(this.body(stored)).readString('authenticator class');
      await runAuthRounds(secondaryConn, {
        version,
        authenticatorClass,
        credentials: creds,
        timeoutMs: this.deps.config.settings.proxy_request_timeout_ms,
        bodyOf: (r) => this.body(r),
      });
    };
    run().then(
      () => {
        if (this.state !== 'handshake') return;
        this.state = 'ready';
        this.log.info(`Handshake successful with client ${this.remote} (${versionName(version)}, Compression: ${this.compressionName})`);
        this.reply(fl, primaryReply);
        this.stepDone();
      },
      (e: unknown) => {
        if (this.state !== 'handshake') return;
        if (e instanceof AuthFailedError) {
          this.log.warn(`Secondary (${plan.secondary}) handshake failed with an auth error, returning ${e.serverMessage} to client.`);
          this.authError = { code: ErrorCode.AUTH_ERROR, message: e.serverMessage };
          this.write(errorFrame(version, fl.clientStream, ErrorCode.AUTH_ERROR, e.serverMessage));
          this.stepDone();
          return;
        }
        this.close(`secondary (${plan.secondary}) handshake failed: ${(e as Error).message}`, 'error');
      },
    );
  }

  /** Spec 3.2 during the handshake: a cluster PROTOCOL_ERROR goes to the client on stream 0, once. */
  private forwardClusterProtocolError(fl: InFlight): boolean {
    for (const [name, r] of [['ORIGIN', fl.origin], ['TARGET', fl.target]] as const) {
      if (!r || r.opcode !== Opcode.ERROR) continue;
      if (readErrorCode(this.body(r)) !== ErrorCode.PROTOCOL_ERROR) continue;
      if (!this.clusterProtocolErrorSent) {
        this.clusterProtocolErrorSent = true;
        this.log.error(`Protocol error detected (${readErrorMessage(this.body(r))}) on ${name}-CONNECTOR, forwarding it to the client.`);
        this.write(r.withStreamId(0));
      }
      return true;
    }
    return false;
  }

  // ---- ready: requests ----------------------------------------------------------------------

  private routeContext() {
    return { keyspace: this.keyspace, cache: this.deps.cache, settings: this.deps.settings, codec: this.codec };
  }

  /** Route and dispatch one request; `after` runs once the request is finished (handshake pump). */
  private handleRequest(f: RawFrame, after?: () => void): void {
    let route: Route;
    try {
      route = routeRequest(f, this.routeContext());
    } catch (e) {
      if (e instanceof ProtocolError) {
        this.close(`cannot route ${opcodeName(f.opcode)} request (stream ${f.streamId}): ${e.message}`, 'warn');
        return;
      }
      throw e;
    }
    switch (route.type) {
      case 'forward':
        this.forward(f, route, after ? { complete: (fl) => (this.defaultComplete(fl), after()) } : {});
        return;
      case 'auth': {
        const plan = this.authPlan;
        const to = plan?.authPrimary === 'TARGET' ? 'target' : 'origin';
        this.forward(f, { type: 'forward', to, tracking: 'none', async: false }, after ? { complete: (fl) => (this.defaultComplete(fl), after()) } : {});
        return;
      }
      case 'intercept':
        this.answerIntercepted(f, route);
        break;
      case 'unprepared':
        this.log.warn(`No cached entry for prepared-id = '${route.id.toString('hex')}' for OpCode ${opcodeName(f.opcode)}.`);
        this.write(unpreparedFrame(f.version, f.streamId, route.id));
        break;
      case 'drop':
        this.log.debug(`Request ${opcodeName(f.opcode)} (stream ${f.streamId}) not forwarded (${route.reason}); no reply`);
        break;
    }
    if (after) after();
  }

  private answerIntercepted(f: RawFrame, route: Extract<Route, { type: 'intercept' }>): void {
    const vt = this.deps.virtualTables;
    const req = { table: route.table, projection: route.projection };
    const ans = route.prepare ? vt.prepare(req, route.query, route.keyspace, f.version) : vt.select(req, f.version);
    switch (ans.kind) {
      case 'rows':
        this.write(responseFrame(f.version, f.streamId, Opcode.RESULT, ans.body));
        return;
      case 'prepared':
        this.deps.cache.storeIntercepted({
          id: interceptedPreparedId(route.query, route.keyspace),
          query: route.query,
          keyspace: route.keyspace,
          decision: { kind: 'intercept', table: route.table, projection: route.projection },
        });
        this.write(responseFrame(f.version, f.streamId, Opcode.RESULT, ans.body));
        return;
      case 'error':
        this.write(errorFrame(f.version, f.streamId, ans.code, ans.message));
        return;
    }
  }

  private forward(
    f: RawFrame,
    route: Extract<Route, { type: 'forward' }>,
    opts: { complete?: (fl: InFlight) => void; clientStream?: number },
  ): void {
    const clientStream = opts.clientStream ?? f.streamId;
    const fl: InFlight = {
      clientStream,
      request: f,
      route,
      waiting: route.to === 'both' ? 2 : 1,
      complete: opts.complete,
    };
    // Copies first: `send` rewrites the stream id of the frame it is given, in place.
    const targetFrame = route.to === 'origin' ? undefined : route.targetFrame ?? (route.to === 'both' ? f.withStreamId(f.streamId) : f);
    const originFrame = route.to === 'target' ? undefined : f;
    const onError = (e: Error): void => this.close(`request failed: ${e.message}`, 'info');
    if (originFrame) {
      fl.originP = this.origin.send(originFrame, (r) => this.onReply(fl, 'ORIGIN', r), onError);
      if (!fl.originP) return this.overloaded(fl, 'ORIGIN');
    }
    if (targetFrame) {
      fl.targetP = this.target.send(targetFrame, (r) => this.onReply(fl, 'TARGET', r), onError);
      if (!fl.targetP) {
        if (fl.originP) this.origin.abandon(fl.originP);
        return this.overloaded(fl, 'TARGET');
      }
    }
    this.inflight.add(fl);
    const timeoutMs = this.deps.config.settings.proxy_request_timeout_ms;
    fl.timer = setTimeout(() => this.onTimeout(fl), timeoutMs);
    // Spec 2.7: heartbeat the connection that did not get this request.
    if (route.to === 'origin') this.target.maybeHeartbeat(this.clientVersion ?? f.version);
    else if (route.to === 'target') this.origin.maybeHeartbeat(this.clientVersion ?? f.version);
  }

  private overloaded(fl: InFlight, cluster: ClusterName): void {
    this.log.error(`no stream id available on ${cluster} for ${opcodeName(fl.request.opcode)} (stream ${fl.clientStream})`);
    this.write(overloadedFrame(fl.request.version, fl.clientStream));
    if (fl.complete && this.state === 'handshake') this.stepDone();
  }

  private onTimeout(fl: InFlight): void {
    if (!this.inflight.delete(fl)) return;
    if (fl.originP && !fl.origin) this.origin.abandon(fl.originP);
    if (fl.targetP && !fl.target) this.target.abandon(fl.targetP);
    const missing = [fl.originP && !fl.origin ? 'ORIGIN' : '', fl.targetP && !fl.target ? 'TARGET' : ''].filter(Boolean).join(' and ');
    this.log.error(
      `Error handling request (${opcodeName(fl.request.opcode)}, stream ${fl.clientStream}): did not receive response from ${missing} within ${this.deps.config.settings.proxy_request_timeout_ms} ms`,
    );
    if (this.state === 'handshake' && fl.complete) {
      this.close('handshake request timed out', 'warn');
      return;
    }
    this.checkDrained();
  }

  private onReply(fl: InFlight, cluster: ClusterName, r: RawFrame): void {
    if (!this.inflight.has(fl)) return;
    if (cluster === 'ORIGIN') fl.origin = r;
    else fl.target = r;
    if (--fl.waiting > 0) return;
    this.inflight.delete(fl);
    if (fl.timer) clearTimeout(fl.timer);
    try {
      if (fl.complete) fl.complete(fl);
      else this.defaultComplete(fl);
    } catch (e) {
      this.close(`cannot handle the reply to ${opcodeName(fl.request.opcode)}: ${(e as Error).message}`, 'error');
      return;
    }
    this.checkDrained();
  }

  private defaultComplete(fl: InFlight): void {
    const res = aggregate({
      request: fl.request,
      to: fl.route.to,
      tracking: fl.route.tracking,
      prepare: fl.route.prepare,
      origin: fl.origin,
      target: fl.target,
      primary: this.deps.settings.primaryCluster,
      cache: this.deps.cache,
      supportedOptions: (): { origin: StringMultimap; target: StringMultimap } => ({
        origin: this.deps.control.origin.supportedOptions,
        target: this.deps.control.target.supportedOptions,
      }),
      codec: this.codec,
    });
    if (res.problem) this.log.warn(res.problem);
    if (res.note) this.log.info(res.note);
    if (res.keyspace !== undefined && res.keyspace !== '') this.keyspace = res.keyspace;
    if (res.reply) this.reply(fl, res.reply);
  }

  private reply(fl: InFlight, frame: RawFrame): void {
    frame.setStreamId(fl.clientStream);
    this.write(frame);
  }

  // ---- events ------------------------------------------------------------------------------

  /** Spec 5.6: only ORIGIN's SCHEMA_CHANGE reaches the client. */
  private onEvent(cluster: ClusterName, f: RawFrame): void {
    if (cluster !== 'ORIGIN' || this.state !== 'ready') return;
    try {
      const type = new Reader(this.body(f)).readString('event type');
      if (type === 'SCHEMA_CHANGE') this.write(f);
    } catch (e) {
      this.log.warn(`unreadable EVENT from ORIGIN: ${(e as Error).message}`);
    }
  }

  // ---- output and flow control ---------------------------------------------------------------

  private body(f: RawFrame): Buffer {
    return f.isCompressed && this.codec ? this.codec.decompress(f.body) : f.body;
  }
  private plainBody(f: RawFrame): Buffer {
    if (f.isCompressed && !this.codec) throw new ProtocolError('compression', 'compressed frame but no compression negotiated');
    return this.body(f);
  }

  private cork(): void {
    if (this.corked || this.state === 'closed') return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  private write(f: RawFrame): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    this.cork();
    this.socket.write(f.bytes);
    if (this.socket.writableNeedDrain) this.updateFlow();
  }

  /** Pause reading the client while a cluster connection or the client socket is congested. */
  private updateFlow(): void {
    if (this.state === 'closed') return;
    const congested =
      this.socket.writableNeedDrain || (this.origin?.congested ?? false) || (this.target?.congested ?? false) || this.handshakeQueue.length > 64;
    if (congested && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!congested && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  // ---- closing -----------------------------------------------------------------------------

  /** Graceful close (spec 2.9): new requests get OVERLOADED, in-flight ones complete (or time out). */
  drain(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    if (this.state !== 'closing') {
      this.state = 'closing';
      for (const f of this.handshakeQueue) this.write(overloadedFrame(f.version, f.streamId));
      this.handshakeQueue = [];
    }
    return new Promise((resolve) => {
      this.drainResolvers.push(resolve);
      this.checkDrained();
    });
  }

  private checkDrained(): void {
    if (this.state === 'closing' && this.inflight.size === 0) {
      // let the last replies reach the socket before closing it
      setImmediate(() => this.close('drained', 'debug'));
    }
  }

  close(reason: string, level: 'debug' | 'info' | 'warn' | 'error' = 'info'): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.log[level](`Closing client connection ${this.remote}: ${reason}`);
    for (const fl of this.inflight) if (fl.timer) clearTimeout(fl.timer);
    this.inflight.clear();
    if (this.socket.writableLength > 0 && !this.socket.destroyed) this.socket.end();
    else this.socket.destroy();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.origin?.close('client connection closed');
    this.target?.close('client connection closed');
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
