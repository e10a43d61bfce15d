/**
 * The client handshake of one session (upstream-spec-notes 3.3, 3.5): requests are handled one at a time until the
 * client is READY.
 *
 * - STARTUP goes to both clusters; the auth-primary's reply goes to the client, the other one is stored.
 * - AUTH_RESPONSE goes to the auth-primary only, with the credentials replaced per upstream-spec-notes 3.5.1 (auth-relay).
 * - On the auth-primary's READY/AUTH_SUCCESS the secondary handshake runs (asynchronously: never blocks
 *   the response path, 3.5.3) with the proxy's authenticator; then the client gets the primary's reply.
 * - A secondary auth failure answers this and every later handshake request with the secondary's error.
 * - The first cluster PROTOCOL_ERROR goes to the client on stream 0 (3.2; the session applies the same rule after the handshake).
 *
 * Anything else during the handshake (OPTIONS, ...) is routed normally through `host.handleRequest`.
 */
import { type ClusterName, clusterLabel, forCluster, otherCluster } from '../cluster';
import type { Logger } from 'pino';
import {
  type BodyCodec,
  type BodyCompressor,
  bodyCodec,
  ErrorCode,
  errorFrame,
  getCompressor,
  Opcode,
  opcodeName,
  ProtocolError,
  ProtocolVersion,
  type RawFrame,
  readAuthenticatorClass,
  readAuthToken,
  readErrorCode,
  readErrorMessage,
  readStartupOptions,
  startupCompression,
  withAuthToken,
} from '../protocol/codec';
import type { ClusterConnection } from '../backend/cluster-connection';
import { AuthFailedError, runAuthRounds, type Credentials } from '../backend/authenticator';
import type { ProxyConfig } from '../config/types';
import { InvalidAuthTokenError, planAuth, relayToken, type AuthPlan } from './auth-relay';
import type { ForwardRoute, InFlight } from './request-executor';

/** What the handshake needs from its session. */
export interface HandshakeHost {
  readonly log: Logger;
  readonly config: ProxyConfig;
  readonly control: { origin: { authEnabled: boolean }; target: { authEnabled: boolean } };
  /** still in the handshake state */
  isHandshaking(): boolean;
  connection(cluster: ClusterName): ClusterConnection;
  write(f: RawFrame): void;
  /** write `frame` with the client's stream id of `fl` */
  reply(fl: InFlight, frame: RawFrame): void;
  forward(f: RawFrame, route: ForwardRoute, complete: (fl: InFlight) => void, clientStream?: number): void;
  /** normal routing of a request; `after` runs when it is finished */
  handleRequest(f: RawFrame, after?: () => void): void;
  body(f: RawFrame): Buffer;
  /**
   * The compression the client's STARTUP asked for: `codec` for frame bodies (v2-v4, DSE), `segments` for
   * the v5 segments (then `codec` is undefined: v5 frames are never compressed themselves).
   */
  setCompression(codec: BodyCodec | undefined, name: string, segments?: BodyCompressor): void;
  codec(): BodyCodec | undefined;
  /** the handshake succeeded: the session becomes ready (before the client gets the final reply) */
  becomeReady(version: ProtocolVersion): void;
  close(reason: string, level: 'debug' | 'info' | 'warn' | 'error'): void;
  updateFlow(): void;
}

/** Above this many queued handshake requests, reading the client pauses. */
const MAX_QUEUED = 64;

export class Handshake {
  private queue: RawFrame[] = [];
  private busy = false;
  /** Spec 3.5.2 item 5: secondary auth failed: every later handshake request gets this error. */
  private authError: { code: number; message: string } | undefined;
  private plan: AuthPlan | undefined;
  private credentials: Credentials | undefined;
  /** STARTUP reply of the secondary cluster, for the secondary handshake. */
  private secondaryStartupReply: RawFrame | undefined;
  /** Spec 3.2: first cluster PROTOCOL_ERROR per connection is forwarded on stream 0, later ones dropped. */
  private clusterProtocolErrorSent = false;
  /** The client's STARTUP frame (a copy), for the async connector's own handshake. */
  startup: RawFrame | undefined;
  /** Version of the client's STARTUP. */
  clientVersion: ProtocolVersion | undefined;

  constructor(private readonly host: HandshakeHost) {}

  get congested(): boolean {
    return this.queue.length > MAX_QUEUED;
  }

  get authPlan(): AuthPlan | undefined {
    return this.plan;
  }

  /** Credentials parsed from the client's AUTH_RESPONSE (undefined when none were sent). */
  get clientCredentials(): Credentials | undefined {
    return this.credentials;
  }

  /**
   * Credentials of the async connection to `cluster` (upstream-spec-notes 3.5.1, last paragraph): the client's, except when
   * they belong to the other cluster, then the configured ones of `cluster`.
   */
  asyncCredentials(cluster: ClusterName): Credentials | undefined {
    const { config } = this.host;
    const configured = forCluster(cluster, config);
    const own: Credentials | undefined = configured.username
      ? { username: configured.username, password: configured.password }
      : undefined;
    const plan = this.plan;
    if (!plan || plan.clientCredsAre !== cluster) return own ?? this.credentials;
    return this.credentials ?? own;
  }

  /** A request read during the handshake. */
  push(f: RawFrame): void {
    this.queue.push(f);
    this.pump();
  }

  /** Requests still queued (draining answers them with OVERLOADED). */
  takeQueued(): RawFrame[] {
    const q = this.queue;
    this.queue = [];
    return q;
  }

  private pump(): void {
    while (!this.busy && this.queue.length > 0 && this.host.isHandshaking()) {
      const f = this.queue.shift()!;
      this.busy = true;
      try {
        this.step(f);
      } catch (e) {
        this.host.close(`handshake failed: ${(e as Error).message}`, 'warn');
        return;
      }
    }
    if (!this.host.isHandshaking() && !this.busy && this.queue.length > 0) {
      // ready now: what the client pipelined after its last handshake request is routed normally
      for (const f of this.takeQueued()) this.host.handleRequest(f);
    }
  }

  private stepDone(): void {
    this.busy = false;
    this.pump();
    this.host.updateFlow();
  }

  private step(f: RawFrame): void {
    if (this.authError) {
      this.host.write(errorFrame(f.version, f.streamId, this.authError.code, this.authError.message));
      this.busy = false;
      return;
    }
    switch (f.opcode) {
      case Opcode.STARTUP:
        return this.onStartup(f);
      case Opcode.AUTH_RESPONSE:
        return this.onAuthResponse(f);
      default:
        // OPTIONS and anything else: normal routing, one at a time.
        this.host.handleRequest(f, () => this.stepDone());
        return;
    }
  }

  /** Forwarding failed (OVERLOADED already written): the next queued request may go. */
  notSent(): void {
    if (this.busy) this.stepDone();
  }

  private onStartup(f: RawFrame): void {
    const { config, control } = this.host;
    this.clientVersion = f.version;
    this.startup = f.withStreamId(f.streamId);
    let options: Record<string, string> = {};
    try {
      options = readStartupOptions(f.body);
    } catch (e) {
      throw new ProtocolError('invalid-value', `cannot read STARTUP options: ${(e as Error).message}`);
    }
    const compression = startupCompression(options);
    const compressor = compression ? getCompressor(compression) : undefined;
    if (compressor && f.version === ProtocolVersion.V5) this.host.setCompression(undefined, compressor.name, compressor);
    else if (compressor) {
      this.host.setCompression(bodyCodec(compressor, f.version, config.maxFrameSizeBytes), compressor.name);
    } else this.host.setCompression(undefined, 'NONE');
    this.plan = planAuth(
      control.origin.authEnabled,
      control.target.authEnabled,
      config.settings.forward_client_credentials_to_origin,
      {
        origin: { username: config.origin.username, password: config.origin.password },
        target: { username: config.target.username, password: config.target.password },
      },
    );
    this.host.forward(f, { type: 'forward', to: 'both', tracking: 'none', async: false }, (fl) => {
      const plan = this.plan!;
      const primaryReply = forCluster(plan.authPrimary, fl)!;
      const secondaryReply = forCluster(otherCluster(plan.authPrimary), fl)!;
      if (this.forwardClusterProtocolError(fl)) return this.stepDone();
      if (primaryReply.opcode === Opcode.ERROR) {
        this.host.reply(fl, primaryReply);
        return this.stepDone();
      }
      const okSecondary = [Opcode.READY, Opcode.AUTHENTICATE, Opcode.AUTH_CHALLENGE, Opcode.AUTH_SUCCESS];
      if (!okSecondary.includes(secondaryReply.opcode)) {
        const what =
          secondaryReply.opcode === Opcode.ERROR
            ? readErrorMessage(this.host.body(secondaryReply))
            : opcodeName(secondaryReply.opcode);
        this.host.close(`unsuccessful startup on ${plan.secondary}: ${what}`, 'error');
        return;
      }
      this.secondaryStartupReply = secondaryReply;
      if (primaryReply.opcode === Opcode.READY || primaryReply.opcode === Opcode.AUTH_SUCCESS) {
        this.finish(fl, primaryReply);
        return;
      }
      this.host.reply(fl, primaryReply); // AUTHENTICATE: the client answers with AUTH_RESPONSE
      this.stepDone();
    });
  }

  private onAuthResponse(f: RawFrame): void {
    const plan = this.plan;
    if (!plan) {
      // AUTH_RESPONSE before STARTUP: let ORIGIN answer (normally with a protocol error).
      this.host.handleRequest(f, () => this.stepDone());
      return;
    }
    let frame = f;
    try {
      if (f.isCompressed && !this.host.codec())
        throw new ProtocolError('compression', 'compressed frame but no compression negotiated');
      const token = readAuthToken(this.host.body(f));
      const relayed = relayToken(token, plan);
      if (relayed.clientCredentials) this.credentials = relayed.clientCredentials;
      if (relayed.token !== token) {
        frame = withAuthToken(f, relayed.token, this.host.codec());
      }
    } catch (e) {
      if (e instanceof InvalidAuthTokenError) {
        this.host.log.warn(`Handshake with client failed: ${e.message}`);
        this.host.write(errorFrame(f.version, f.streamId, ErrorCode.AUTH_ERROR, e.message));
        this.stepDone();
        return;
      }
      throw e;
    }
    const route: ForwardRoute = {
      type: 'forward',
      to: clusterLabel(plan.authPrimary),
      tracking: 'none',
      async: false,
    };
    this.host.forward(
      frame,
      route,
      (fl) => {
        const r = forCluster(plan.authPrimary, fl)!;
        if (this.forwardClusterProtocolError(fl)) return this.stepDone();
        if (r.opcode === Opcode.AUTH_SUCCESS || r.opcode === Opcode.READY) {
          this.finish(fl, r);
          return;
        }
        this.host.reply(fl, r); // AUTH_CHALLENGE or an error: as it is
        this.stepDone();
      },
      f.streamId,
    );
  }

  /** Secondary handshake (async, never blocks the response path), then the primary's reply goes to the client. */
  private finish(fl: InFlight, primaryReply: RawFrame): void {
    const plan = this.plan!;
    const secondaryConn = this.host.connection(plan.secondary);
    const stored = this.secondaryStartupReply;
    const version = fl.request.version;
    const run = async (): Promise<void> => {
      if (!stored || stored.opcode === Opcode.READY || stored.opcode === Opcode.AUTH_SUCCESS) return;
      if (stored.opcode !== Opcode.AUTHENTICATE) {
        throw new Error(`unexpected ${opcodeName(stored.opcode)} from ${plan.secondary} during the secondary handshake`);
      }
      const creds = plan.secondaryCredentials === 'client' ? this.credentials : plan.secondaryCredentials;
      if (!creds) {
        throw new Error(
          `secondary cluster (${plan.secondary}) requested authentication but primary did not, and no client credentials are known`,
        );
      }
      const authenticatorClass = readAuthenticatorClass(this.host.body(stored));
      await runAuthRounds(secondaryConn, {
        version,
        authenticatorClass,
        credentials: creds,
        timeoutMs: this.host.config.settings.proxy_request_timeout_ms,
        bodyOf: (r) => this.host.body(r),
      });
    };
    run().then(
      () => {
        if (!this.host.isHandshaking()) return;
        this.host.becomeReady(version);
        this.host.reply(fl, primaryReply);
        this.stepDone();
      },
      (e: unknown) => {
        if (!this.host.isHandshaking()) return;
        if (e instanceof AuthFailedError) {
          this.host.log.warn(
            `Secondary (${plan.secondary}) handshake failed with an auth error, returning ${e.serverMessage} to client.`,
          );
          this.authError = { code: ErrorCode.AUTH_ERROR, message: e.serverMessage };
          this.host.write(errorFrame(version, fl.clientStream, ErrorCode.AUTH_ERROR, e.serverMessage));
          this.stepDone();
          return;
        }
        this.host.close(`secondary (${plan.secondary}) handshake failed: ${(e as Error).message}`, 'error');
      },
    );
  }

  /**
   * Spec 3.2, during the handshake and after it: a cluster PROTOCOL_ERROR goes to the client on stream 0, once
   * per client connection (later ones are dropped); the request itself gets no other reply. True when `fl` had one.
   */
  forwardClusterProtocolError(fl: InFlight): boolean {
    return this.protocolErrorFrom('ORIGIN', fl.origin, fl) || this.protocolErrorFrom('TARGET', fl.target, fl);
  }

  /** `forwardClusterProtocolError` for one cluster's reply `r`: true when it is a PROTOCOL_ERROR. */
  private protocolErrorFrom(name: ClusterName, r: RawFrame | undefined, fl: InFlight): boolean {
    if (!r || r.opcode !== Opcode.ERROR) return false;
    if (readErrorCode(this.host.body(r)) !== ErrorCode.PROTOCOL_ERROR) return false;
    if (!this.clusterProtocolErrorSent) {
      this.clusterProtocolErrorSent = true;
      const message = readErrorMessage(this.host.body(r));
      // A driver proposing a version the cluster does not speak (v5/v6/DSE_V2 against an older node) gets this
      // on its first OPTIONS/STARTUP and steps down: normal negotiation, not worth an error line.
      const negotiation =
        (fl.request.opcode === Opcode.OPTIONS || fl.request.opcode === Opcode.STARTUP) && NEGOTIATION_ERROR.test(message);
      this.host.log[negotiation ? 'info' : 'error'](
        `Protocol error detected (${message}) on ${name}-CONNECTOR, forwarding it to the client${negotiation ? ' (protocol version negotiation: the client is expected to retry with a lower version)' : ''}.`,
      );
      this.host.write(r.withStreamId(0));
    }
    return true;
  }
}

/** The cluster's answer to a protocol version it does not speak (Cassandra: unsupported version, beta without USE_BETA). */
const NEGOTIATION_ERROR = /unsupported protocol version|beta version of the protocol/i;
