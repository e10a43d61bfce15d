/**
 * Control connection to one cluster (upstream-spec-notes 2.2): protocol negotiation, auth with the configured
 * credentials, SUPPORTED options, REGISTER TOPOLOGY_CHANGE, topology refresh (system.local/system.peers),
 * heartbeats and the reconnect loop, host assignment.
 * Collaborators: control-negotiation.ts (version negotiation, STARTUP and auth, REGISTER), control-topology.ts
 * (the system table queries and their parsing), control-reconnect.ts (heartbeat timer, backoff, reconnect loop).
 *
 * Takes a narrow options object (`ControlConnectionOptions`); the wiring maps ProxyConfig onto it.
 * Events: 'up' (endpoint: Endpoint) after each successful open, 'down' (err) when the connection is lost,
 * 'hosts-changed' (removed: Host[], hosts: Host[]) after a refresh that changed the local-DC host list,
 * 'schema-change' (change: SchemaChange) for each SCHEMA_CHANGE event of the cluster (the live read comparison
 * forgets the key columns of that table),
 * 'heartbeat' (ok: boolean) after each heartbeat.
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type * as tls from 'node:tls';
import pino, { type Logger } from 'pino';
import { type Consistency, Opcode, ProtocolVersion, ResultKind, versionName } from '../protocol/constants';
import type { RawFrame } from '../protocol/frame';
import type { RowsResult, SchemaChange } from '../protocol/messages';
import type { ClusterName } from '../cluster';
import { ClusterConnection, decodeResponse, type Endpoint, endpointLabel, requestFrame } from './cluster-connection';
import { describe, handshake, NEGOTIATION_ORDER, registerForTopologyEvents, VersionRejectedError } from './control-negotiation';
import { Backoff, HeartbeatTimer, ReconnectLoop } from './control-reconnect';
import { type QueryResult, queryAll, readTopology } from './control-topology';
import { computeAssignedHosts, type Host, MURMUR3_PARTITIONER, RANDOM_PARTITIONER } from './topology';

export { HOST_OPTIONAL_COLUMNS, LOCAL_KEPT_COLUMNS } from './control-topology';
export { NEGOTIATION_ORDER } from './control-negotiation';
export type { Host } from './topology';

export interface ControlConnectionOptions {
  cluster: ClusterName;
  /** Host names or IPs (`*_contact_points`). */
  contactPoints: readonly string[];
  /** `*_port`: used for the contact points and for every host found in the topology. */
  port: number;
  username?: string;
  password?: string;
  /** `*_connection_timeout_ms`: single TCP (+TLS) dial timeout. */
  connectTimeoutMs: number;
  localDatacenter?: string;
  /** `*_enable_host_assignment` (default true). */
  enableHostAssignment?: boolean;
  /** `control_conn_max_protocol_version` (default DSE_V2). */
  maxProtocolVersion?: ProtocolVersion;
  heartbeatIntervalMs: number;
  retryIntervalMinMs: number;
  retryIntervalMaxMs: number;
  retryBackoffFactor: number;
  /** proxy_topology_index / count (upstream-spec-notes 1.5) for host assignment. */
  topologyIndex: number;
  topologyCount: number;
  tls?: tls.ConnectionOptions;
  /**
   * Astra secure connect bundle (upstream-spec-notes 7.3): contact points, SNI proxy and local DC come from the metadata
   * service, fetched before the first open and again before reopening after a failed attempt.
   */
  astra?: () => Promise<{ sniProxy: { host: string; port: number }; contactPoints: readonly string[]; localDc: string }>;
  logger?: Logger;
  /** Response timeout of control requests (default 10 s, as upstream). */
  requestTimeoutMs?: number;
  /** Page size of the system table queries (default 5000). */
  pageSize?: number;
  /** Delay before an event-triggered topology refresh runs (default 0; later events are dropped while one is pending). */
  refreshDelayMs?: number;
}

const silentLogger = pino({ level: 'silent' });
const CONTROL_STREAM_IDS = 128;

export class ControlConnection extends EventEmitter {
  readonly cluster: ClusterName;
  private readonly opts: ControlConnectionOptions;
  private readonly logger: Logger;
  private readonly requestTimeoutMs: number;
  private conn: ClusterConnection | undefined;
  private _endpoint: Endpoint | undefined;
  private _protocolVersion: ProtocolVersion | undefined;
  private _authEnabled = false;
  private _supported: Record<string, string[]> = {};
  private _clusterName = '';
  private _localDc: string | undefined;
  private _hosts: Host[] = [];
  private _assigned: Host[] = [];
  private _localRow: Record<string, unknown> = {};
  private _peerColumns: Set<string> | undefined;
  private _partitioner = '';
  private assignedCounter = 0;
  private failures = 0;
  private stopped = false;
  private previousOpenFailed = false;
  private readonly backoff: Backoff;
  private readonly heartbeats: HeartbeatTimer;
  private readonly reconnect: ReconnectLoop;
  private refreshPending = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Successful topology refreshes (for tests and metrics). */
  refreshCount = 0;

  constructor(opts: ControlConnectionOptions) {
    super();
    this.opts = opts;
    this.cluster = opts.cluster;
    this.logger = (opts.logger ?? silentLogger).child({ cluster: opts.cluster, component: 'control-connection' });
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.backoff = new Backoff(opts.retryIntervalMinMs, opts.retryIntervalMaxMs, opts.retryBackoffFactor);
    this.heartbeats = new HeartbeatTimer(opts.heartbeatIntervalMs, () => this.heartbeat());
    this.reconnect = new ReconnectLoop(this.backoff);
  }

  get protocolVersion(): ProtocolVersion {
    if (this._protocolVersion === undefined) throw new Error(`${this.cluster} control connection has not been opened`);
    return this._protocolVersion;
  }
  get authEnabled(): boolean {
    return this._authEnabled;
  }
  get supportedOptions(): Record<string, string[]> {
    return this._supported;
  }
  get clusterName(): string {
    return this._clusterName;
  }
  /** Astra: the SNI proxy and the host ids of the last metadata answer. */
  private sni: { host: string; port: number } | undefined;
  private astraContactPoints: readonly string[] = [];
  private astraLocalDc: string | undefined;

  private async refreshAstra(): Promise<void> {
    const m = await this.opts.astra!();
    this.sni = m.sniProxy;
    this.astraContactPoints = m.contactPoints;
    this.astraLocalDc ??= m.localDc || undefined; // set once, never refreshed (upstream-spec-notes 7.3 item 4)
    this.logger.info(
      `${this.cluster}: Astra metadata: SNI proxy ${m.sniProxy.host}:${m.sniProxy.port}, contact points [${m.contactPoints.join(', ')}], local DC ${m.localDc}`,
    );
  }

  get localDatacenter(): string {
    return this._localDc ?? '';
  }
  get hosts(): Host[] {
    return this._hosts;
  }
  get assignedHosts(): Host[] {
    return this._assigned;
  }
  get localRow(): Record<string, unknown> {
    return this._localRow;
  }
  get peerColumns(): Set<string> | undefined {
    return this._peerColumns;
  }
  /** The real partitioner class reported by system.local. */
  get partitioner(): string {
    return this._partitioner;
  }
  get consecutiveFailures(): number {
    return this.failures;
  }
  /** The endpoint the control connection is (or was last) connected to. */
  get endpoint(): Endpoint | undefined {
    return this._endpoint;
  }
  get isConnected(): boolean {
    return this.conn !== undefined && !this.conn.isClosed;
  }

  /** First open: contact points from a random start index. Rejects when no endpoint works. */
  async start(): Promise<void> {
    this.stopped = false;
    if (this.opts.astra) await this.refreshAstra();
    const cps = this.contactPointEndpoints();
    if (cps.length === 0) throw new Error(`no contact points configured for ${this.cluster}`);
    const start = randomInt(cps.length);
    const ordered = [...cps.slice(start), ...cps.slice(0, start)];
    await this.openAny(ordered);
    this.heartbeats.start();
  }

  /** Round robin over this proxy's assigned hosts (upstream-spec-notes 2.2.4); the current endpoint when assignment is off. */
  nextAssignedHost(): Host {
    if (this.opts.enableHostAssignment === false) {
      const ep = this._endpoint;
      if (!ep) throw new Error(`${this.cluster} control connection has no current endpoint`);
      return this._hosts.find((h) => h.address === ep.host && h.port === ep.port) ?? endpointHost(ep, this.localDatacenter);
    }
    const hosts = this._assigned;
    if (hosts.length === 0) throw new Error(`no hosts assigned to this proxy for ${this.cluster}`);
    const h = hosts[this.assignedCounter % hosts.length]!;
    this.assignedCounter = (this.assignedCounter + 1) % 1_000_000_007;
    return h;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.heartbeats.stop();
    this.reconnect.cancel();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    const c = this.conn;
    this.conn = undefined;
    c?.close('control connection stopped');
  }

  // ---- open -----------------------------------------------------------------------------------

  private contactPointEndpoints(): Endpoint[] {
    const sni = this.sni;
    if (sni) return this.astraContactPoints.map((id) => ({ host: id, port: sni.port, via: sni }));
    return this.opts.contactPoints.map((host) => ({ host, port: this.opts.port }));
  }

  /** Try each endpoint in order; resolves on the first that opens fully. */
  private async openAny(endpoints: Endpoint[]): Promise<void> {
    const errors: string[] = [];
    for (const ep of endpoints) {
      if (this.stopped) throw new Error(`${this.cluster} control connection stopped`);
      try {
        await this.openEndpoint(ep);
        return;
      } catch (e) {
        const msg = (e as Error).message;
        errors.push(`${endpointLabel(ep)}: ${msg}`);
        this.logger.warn(`Failed to open control connection to ${this.cluster} using endpoint ${endpointLabel(ep)}: ${msg}`);
      }
    }
    throw new Error(
      `could not open control connection to ${this.cluster}, tried endpoints: [${endpoints.map(endpointLabel).join(', ')}]: ${errors.join('; ')}`,
    );
  }

  private async openEndpoint(ep: Endpoint): Promise<void> {
    const max = this.opts.maxProtocolVersion ?? ProtocolVersion.DSE_V2;
    let idx = NEGOTIATION_ORDER.indexOf(max);
    if (idx < 0) idx = 0;
    let lastRejection: Error | undefined;
    for (; idx < NEGOTIATION_ORDER.length; idx++) {
      const version = NEGOTIATION_ORDER[idx]!;
      const conn = await ClusterConnection.connect({
        cluster: this.cluster,
        endpoint: ep,
        connectTimeoutMs: this.opts.connectTimeoutMs,
        retry: false,
        tls: this.opts.tls,
        maxStreamIds: CONTROL_STREAM_IDS,
        logger: this.opts.logger,
      });
      try {
        const h = await handshake(conn, version, {
          cluster: this.cluster,
          username: this.opts.username,
          password: this.opts.password,
          timeoutMs: this.requestTimeoutMs,
          logger: this.logger,
        });
        this._supported = h.supported;
        this._authEnabled = h.authEnabled;
      } catch (e) {
        conn.close('handshake failed');
        if (e instanceof VersionRejectedError) {
          lastRejection = e;
          this.logger.info(
            `${this.cluster} node ${endpointLabel(ep)} rejected protocol ${versionName(version)}: ${e.message}; retrying with a lower version`,
          );
          continue;
        }
        throw e;
      }
      try {
        await registerForTopologyEvents(conn, version, this.requestTimeoutMs);
        this.adoptConnection(conn, ep, version);
        await this.refreshTopology();
      } catch (e) {
        if (this.conn === conn) this.conn = undefined;
        conn.close('open failed');
        throw e;
      }
      this.logger.info(
        `Successfully opened control connection to ${this.cluster} using endpoint ${endpointLabel(ep)} with ${versionName(version)}.`,
      );
      this.failures = 0;
      this.backoff.reset();
      this.previousOpenFailed = false;
      this.emit('up', ep);
      return;
    }
    throw new Error(`no protocol version accepted (last: ${lastRejection?.message ?? 'none'})`);
  }

  private adoptConnection(conn: ClusterConnection, ep: Endpoint, version: ProtocolVersion): void {
    this.conn = conn;
    this._endpoint = ep;
    this._protocolVersion = version;
    conn.on('event', (f: RawFrame) => this.onEvent(f));
    conn.once('close', (err?: Error) => {
      if (this.conn !== conn) return;
      this.conn = undefined;
      if (this.stopped) return;
      this.logger.warn(`${this.cluster} control connection to ${endpointLabel(ep)} lost${err ? `: ${err.message}` : ''}`);
      this.connectionFailed(err ?? new Error('connection closed'));
    });
  }

  // ---- topology -------------------------------------------------------------------------------

  private onEvent(f: RawFrame): void {
    try {
      const ev = decodeResponse(f);
      if (ev.opcode === Opcode.EVENT && ev.type === 'SCHEMA_CHANGE') {
        this.emit('schema-change', ev.schemaChange satisfies SchemaChange);
        // and a topology refresh (below): the hosts' schema_version, which the virtual system.local/peers
        // report, follows the cluster's, so that drivers waiting for schema agreement after DDL see it change
      } else if (ev.opcode !== Opcode.EVENT || ev.type !== 'TOPOLOGY_CHANGE') return;
      else this.logger.debug(`${this.cluster} topology event ${ev.change} ${ev.address.address}`);
    } catch (e) {
      this.logger.warn({ err: e }, `${this.cluster}: could not decode EVENT`);
      return;
    }
    if (this.refreshPending) return;
    this.refreshPending = true;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.refreshPending = false;
      this.refreshTopology().catch((e: Error) => {
        this.logger.error(`${this.cluster} topology refresh after event failed: ${e.message}; reconnecting`);
        const c = this.conn;
        if (c) c.close(`topology refresh failed: ${e.message}`);
      });
    }, this.opts.refreshDelayMs ?? 0);
  }

  /**
   * One page of `query` with `values` bound (raw cells), at `consistency`, on the control connection (the live
   * read comparison: schema key columns, confirmation reads). Rejects when not connected, on an ERROR, on a timeout.
   */
  async query(query: string, values: readonly (Buffer | null)[], consistency: number): Promise<RowsResult> {
    const conn = this.conn;
    if (!conn) throw new Error(`${this.cluster} control connection is not open`);
    const params = { consistency: consistency as Consistency, values: [...values], pageSize: 100 };
    const f = await conn.request(
      requestFrame(this.protocolVersion, { opcode: Opcode.QUERY, query, params }),
      this.requestTimeoutMs,
    );
    const res = decodeResponse(f);
    if (res.opcode === Opcode.ERROR)
      throw new Error(`${query} failed on ${this.cluster}: ${res.message} (code 0x${res.code.toString(16)})`);
    if (res.opcode !== Opcode.RESULT || res.kind !== ResultKind.ROWS)
      throw new Error(`${query}: expected ROWS, got ${describe(f)}`);
    return res;
  }

  private async queryAll(query: string): Promise<QueryResult> {
    const conn = this.conn;
    if (!conn) throw new Error(`${this.cluster} control connection is not open`);
    return queryAll(conn, this.protocolVersion, query, {
      pageSize: this.opts.pageSize ?? 5000,
      timeoutMs: this.requestTimeoutMs,
    });
  }

  /** Spec 2.2.3. Public for tests and for an explicit refresh by the wiring. */
  async refreshTopology(): Promise<void> {
    const endpoint = this._endpoint!;
    const local = await this.queryAll('SELECT * FROM system.local');
    const peers = await this.queryAll('SELECT * FROM system.peers');
    const t = readTopology(local, peers, {
      cluster: this.cluster,
      logger: this.logger,
      endpoint,
      port: this.opts.port,
      sni: this.sni,
      currentDc: this._localDc,
      configuredDc: this.opts.localDatacenter ?? this.astraLocalDc,
    });
    const { hosts, partitioner } = t;

    const key = (h: Host) => `${h.address}:${h.port}`;
    const newKeys = new Set(hosts.map(key));
    const removed = this._hosts.filter((h) => !newKeys.has(key(h)));
    const changed =
      removed.length > 0 ||
      hosts.length !== this._hosts.length ||
      hosts.some((h, i) => key(h) !== key(this._hosts[i]!) || h.hostId !== this._hosts[i]!.hostId);

    this._localDc = t.localDc;
    this._clusterName = t.clusterName;
    this._partitioner = partitioner;
    this._localRow = t.localRow;
    this._peerColumns = t.peerColumns;
    this._hosts = hosts;
    this._assigned = computeAssignedHosts(this.opts.topologyIndex, this.opts.topologyCount, hosts);
    this.refreshCount++;
    if (partitioner.endsWith('RandomPartitioner') && partitioner !== MURMUR3_PARTITIONER) {
      this.logger.debug(`${this.cluster} uses ${RANDOM_PARTITIONER}; clients are told Murmur3`);
    }
    if (changed) {
      this.logger.info(`${this.cluster} hosts: ${hosts.map(key).join(', ')}; assigned: ${this._assigned.map(key).join(', ')}`);
      this.emit('hosts-changed', removed, hosts);
    }
  }

  // ---- heartbeats and reconnection ------------------------------------------------------------

  private async heartbeat(): Promise<void> {
    const conn = this.conn;
    if (!conn || this.reconnect.running || this.stopped) return;
    try {
      const r = await conn.request(requestFrame(this.protocolVersion, { opcode: Opcode.OPTIONS }), this.requestTimeoutMs);
      if (r.opcode !== Opcode.SUPPORTED) this.logger.warn(`${this.cluster} heartbeat: expected SUPPORTED, got ${describe(r)}`);
      if (this.failures > 0)
        this.logger.info(`${this.cluster} heartbeat succeeded; resetting failure counter (${this.failures})`);
      this.failures = 0;
      this.emit('heartbeat', true);
    } catch (e) {
      this.emit('heartbeat', false);
      if (this.conn !== conn) return; // closed meanwhile: the close handler reconnects
      this.logger.warn(`${this.cluster} heartbeat failed: ${(e as Error).message}`);
      this.conn = undefined;
      conn.close('heartbeat failed');
      this.connectionFailed(e as Error);
    }
  }

  private connectionFailed(err: Error): void {
    this.failures++;
    this.emit('down', err);
    if (!this.reconnect.running)
      void this.reconnect.run(
        () => this.reopen(),
        () => this.stopped,
        (e, delay) => {
          this.failures++;
          this.previousOpenFailed = true;
          this.logger.error(`${e.message}; retrying in ${delay} ms (failures: ${this.failures})`);
        },
      );
  }

  /** One reconnect attempt: the known hosts first, then the contact points (only these after a failed attempt). */
  private async reopen(): Promise<void> {
    if (this.opts.astra && this.previousOpenFailed) {
      try {
        await this.refreshAstra();
      } catch (e) {
        this.logger.error(`${this.cluster}: could not refresh the Astra metadata: ${(e as Error).message}`);
      }
    }
    const cps = this.contactPointEndpoints();
    let order: Endpoint[];
    if (this.previousOpenFailed) order = cps;
    else {
      const hostEps: Endpoint[] = this._hosts.map((h) => ({
        host: h.address,
        port: h.port,
        ...(h.via ? { via: h.via } : {}),
      }));
      const seen = new Set(hostEps.map(endpointLabel));
      order = [...hostEps, ...cps.filter((c) => !seen.has(endpointLabel(c)))];
    }
    await this.openAny(order);
  }
}

function endpointHost(ep: Endpoint, datacenter: string): Host {
  return { address: ep.host, port: ep.port, datacenter, rack: '', hostId: '', tokens: [], columns: {} };
}
