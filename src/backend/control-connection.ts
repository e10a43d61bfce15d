/**
 * Control connection to one cluster (spec 2.2): protocol negotiation, auth with the configured
 * credentials, SUPPORTED options, REGISTER TOPOLOGY_CHANGE, topology refresh (system.local/system.peers),
 * heartbeats and the reconnect loop, host assignment.
 *
 * Takes a narrow options object (`ControlConnectionOptions`); the wiring maps ProxyConfig onto it.
 * Events: 'up' (endpoint: Endpoint) after each successful open, 'down' (err) when the connection is lost,
 * 'hosts-changed' (removed: Host[], hosts: Host[]) after a refresh that changed the local-DC host list.
 */
import { EventEmitter } from 'node:events';
import type * as tls from 'node:tls';
import { randomInt } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { Consistency, ErrorCode, Opcode, ProtocolVersion, ResultKind, opcodeName, versionName } from '../protocol/constants';
import { ProtocolError } from '../protocol/errors';
import { RawFrame } from '../protocol/frame';
import type { Authenticate, ErrorMessage, RowsResult, Supported } from '../protocol/messages';
import { decodeValue, type CqlValue, type DataType } from '../protocol/values';
import {
  ClusterConnection,
  decodeResponse,
  endpointLabel,
  requestFrame,
  type ClusterName,
  type Endpoint,
} from './cluster-connection';
import { runAuthRounds } from './authenticator';
import { computeAssignedHosts, MURMUR3_PARTITIONER, RANDOM_PARTITIONER, type Host } from './topology';

export type { Host } from './topology';

/** Negotiation order (spec 2.2.1). */
export const NEGOTIATION_ORDER: readonly ProtocolVersion[] = [
  ProtocolVersion.DSE_V2,
  ProtocolVersion.DSE_V1,
  ProtocolVersion.V5,
  ProtocolVersion.V4,
  ProtocolVersion.V3,
  ProtocolVersion.V2,
];

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
  /** proxy_topology_index / count (spec 1.5) for host assignment. */
  topologyIndex: number;
  topologyCount: number;
  tls?: tls.ConnectionOptions;
  /**
   * Astra secure connect bundle (spec 7.3): contact points, SNI proxy and local DC come from the metadata
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

/** Columns of system.local kept for virtualisation (spec 2.2.3 item 2). */
export const LOCAL_KEPT_COLUMNS = [
  'key',
  'bootstrapped',
  'cql_version',
  'gossip_generation',
  'last_nodesync_checkpoint_time',
  'native_protocol_version',
  'partitioner',
  'thrift_version',
  'cluster_name',
] as const;
/** Optional per-host columns kept (spec 2.2.3 item 4). */
export const HOST_OPTIONAL_COLUMNS = [
  'release_version',
  'dse_version',
  'graph',
  'jmx_port',
  'server_id',
  'storage_port',
  'storage_port_ssl',
  'workload',
  'workloads',
  'native_transport_address',
  'native_transport_port',
  'native_transport_port_ssl',
  'preferred_ip',
] as const;

/** The cluster answered the handshake with a protocol error for this version: try a lower one. */
class VersionRejectedError extends Error {}

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
  private reconnecting = false;
  private previousOpenFailed = false;
  private backoffMs: number;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryWake: (() => void) | undefined;
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
    this.backoffMs = opts.retryIntervalMinMs;
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
    this.astraLocalDc ??= m.localDc || undefined; // set once, never refreshed (spec 7.3 item 4)
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
    this.startHeartbeats();
  }

  /** Round robin over this proxy's assigned hosts (spec 2.2.4); the current endpoint when assignment is off. */
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
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.heartbeatTimer = this.retryTimer = this.refreshTimer = undefined;
    this.retryWake?.();
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
        await this.handshake(conn, version);
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
        await this.register(conn, version);
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
      this.backoffMs = this.opts.retryIntervalMinMs;
      this.previousOpenFailed = false;
      this.emit('up', ep);
      return;
    }
    throw new Error(`no protocol version accepted (last: ${lastRejection?.message ?? 'none'})`);
  }

  private async handshake(conn: ClusterConnection, version: ProtocolVersion): Promise<void> {
    const supported = await conn.request(requestFrame(version, { opcode: Opcode.OPTIONS }), this.requestTimeoutMs);
    this.checkVersionRejection(supported, version);
    if (supported.opcode !== Opcode.SUPPORTED) throw new Error(`expected SUPPORTED, got ${describe(supported)}`);
    const options = (decodeResponse(supported) as Supported).options;

    const reply = await conn.request(
      requestFrame(version, { opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0' } }),
      this.requestTimeoutMs,
    );
    this.checkVersionRejection(reply, version);
    let authEnabled: boolean;
    if (reply.opcode === Opcode.READY) {
      authEnabled = false;
      this.logger.warn(`${this.cluster} ControlConn: authentication is NOT enabled.`);
    } else if (reply.opcode === Opcode.AUTHENTICATE) {
      authEnabled = true;
      const authenticatorClass = (decodeResponse(reply) as Authenticate).authenticator;
      if (this.opts.username === undefined || this.opts.username === '') {
        throw new Error(`${this.cluster} requires authentication (${authenticatorClass}) but no username/password is configured`);
      }
      await runAuthRounds(conn, {
        version,
        authenticatorClass,
        credentials: { username: this.opts.username, password: this.opts.password ?? '' },
        timeoutMs: this.requestTimeoutMs,
      });
    } else {
      throw new Error(`expected READY or AUTHENTICATE in reply to STARTUP, got ${describe(reply)}`);
    }
    this._supported = options;
    this._authEnabled = authEnabled;
  }

  private checkVersionRejection(f: RawFrame, version: ProtocolVersion): void {
    if (f.opcode !== Opcode.ERROR) return;
    const e = decodeResponse(f) as ErrorMessage;
    if (e.code === ErrorCode.PROTOCOL_ERROR || f.version !== version) throw new VersionRejectedError(e.message);
  }

  private async register(conn: ClusterConnection, version: ProtocolVersion): Promise<void> {
    const r = await conn.request(
      requestFrame(version, { opcode: Opcode.REGISTER, eventTypes: ['TOPOLOGY_CHANGE'] }),
      this.requestTimeoutMs,
    );
    if (r.opcode !== Opcode.READY) throw new Error(`expected READY in reply to REGISTER, got ${describe(r)}`);
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
      if (ev.opcode !== Opcode.EVENT || ev.type !== 'TOPOLOGY_CHANGE') return;
      this.logger.debug(`${this.cluster} topology event ${ev.change} ${ev.address.address}`);
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

  private async queryAll(query: string): Promise<{ rows: Record<string, unknown>[]; columns: string[] }> {
    const conn = this.conn;
    if (!conn) throw new Error(`${this.cluster} control connection is not open`);
    const version = this.protocolVersion;
    const rows: Record<string, unknown>[] = [];
    let columns: string[] = [];
    let paging: Buffer | null = null;
    for (let page = 0; page < 10_000; page++) {
      const params = {
        consistency: Consistency.ONE,
        pageSize: this.opts.pageSize ?? 5000,
        ...(paging ? { pagingState: paging } : {}),
      };
      const f = await conn.request(requestFrame(version, { opcode: Opcode.QUERY, query, params }), this.requestTimeoutMs);
      if (f.opcode !== Opcode.ERROR && f.opcode !== Opcode.RESULT)
        throw new Error(`${query}: expected RESULT, got ${describe(f)}`);
      const res = decodeResponse(f);
      if (res.opcode === Opcode.ERROR) throw new Error(`${query} failed: ${res.message} (code 0x${res.code.toString(16)})`);
      if (res.opcode !== Opcode.RESULT) throw new Error(`${query}: expected RESULT, got ${describe(f)}`);
      if (res.kind !== ResultKind.ROWS) throw new Error(`${query}: expected ROWS, got result kind ${res.kind}`);
      const cols = res.metadata.columns ?? [];
      if (cols.length) columns = cols.map((c) => c.name);
      rows.push(...rowsToObjects(res, version));
      paging = res.metadata.pagingState ?? null;
      if (!paging) break;
    }
    return { rows, columns };
  }

  /** Spec 2.2.3. Public for tests and for an explicit refresh by the wiring. */
  async refreshTopology(): Promise<void> {
    const endpoint = this._endpoint!;
    const local = await this.queryAll('SELECT * FROM system.local');
    const peers = await this.queryAll('SELECT * FROM system.peers');
    const localRowRaw = local.rows[0];
    if (!localRowRaw) throw new Error(`${this.cluster}: system.local returned no row`);

    const partitioner = String(localRowRaw['partitioner'] ?? '');
    if (partitioner !== '' && !partitioner.endsWith('Murmur3Partitioner') && !partitioner.endsWith('RandomPartitioner')) {
      throw new Error(`virtualization is enabled and partitioner is not Murmur3 or Random but instead ${partitioner}`);
    }

    const localColumns = new Set(local.columns);
    const keptLocal: Record<string, unknown> = {};
    for (const c of LOCAL_KEPT_COLUMNS) if (localColumns.has(c)) keptLocal[c] = localRowRaw[c] ?? null;

    const byId = new Map<string, Host>();
    for (const row of peers.rows) {
      const h = this.parseHost(row, false, endpoint);
      if (h) byId.set(h.hostId, h);
    }
    const localHost = this.parseHost(localRowRaw, true, endpoint);
    if (localHost) byId.set(localHost.hostId, localHost);
    const all = [...byId.values()];

    // Local DC rule (2.2.3 item 7).
    let dc = this._localDc;
    if (dc !== undefined) {
      if (!all.some((h) => h.datacenter === dc)) throw new Error(`${this.cluster}: no host found in the local datacenter ${dc}`);
    } else {
      const configured = this.opts.localDatacenter ?? this.astraLocalDc;
      if (configured) {
        if (all.some((h) => h.datacenter === configured)) dc = configured;
        else
          this.logger.warn(
            `${this.cluster}: configured local datacenter ${configured} has no hosts; using the datacenter of the control node`,
          );
      }
      if (dc === undefined) dc = String(localRowRaw['data_center'] ?? localHost?.datacenter ?? '');
    }
    const hosts = all
      .filter((h) => h.datacenter === dc)
      .sort((a, b) => (a.rack < b.rack ? -1 : a.rack > b.rack ? 1 : a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0));
    if (hosts.length === 0) throw new Error(`${this.cluster}: no hosts found in the local datacenter ${dc}`);

    const key = (h: Host) => `${h.address}:${h.port}`;
    const newKeys = new Set(hosts.map(key));
    const removed = this._hosts.filter((h) => !newKeys.has(key(h)));
    const changed =
      removed.length > 0 ||
      hosts.length !== this._hosts.length ||
      hosts.some((h, i) => key(h) !== key(this._hosts[i]!) || h.hostId !== this._hosts[i]!.hostId);

    this._localDc = dc;
    this._clusterName = String(localRowRaw['cluster_name'] ?? '');
    this._partitioner = partitioner;
    this._localRow = keptLocal;
    this._peerColumns = peers.rows.length > 0 ? new Set(peers.columns) : undefined;
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

  private parseHost(row: Record<string, unknown>, isLocal: boolean, endpoint: Endpoint): Host | undefined {
    let address: string | undefined;
    if (!('rpc_address' in row)) address = isLocal ? endpoint.host : asString(row['peer']);
    else {
      address = asString(row['rpc_address']);
      if (address === '0.0.0.0' || address === '::') {
        // Upstream quirk 9.2 fixed: fall back to listen_address when broadcast_address is null.
        address = isLocal ? (asString(row['broadcast_address']) ?? asString(row['listen_address'])) : asString(row['peer']);
      }
    }
    const hostId = asString(row['host_id']);
    const datacenter = asString(row['data_center']);
    const rack = asString(row['rack']);
    if (!hostId || !address || datacenter === undefined || rack === undefined) {
      this.logger.warn(
        `${this.cluster}: ignoring ${isLocal ? 'system.local' : 'system.peers'} row without ${!hostId ? 'host_id' : !address ? 'address' : !datacenter ? 'data_center' : 'rack'}`,
      );
      return undefined;
    }
    const columns: Record<string, unknown> = {};
    for (const c of HOST_OPTIONAL_COLUMNS) if (c in row) columns[c] = row[c] ?? null;
    const tokens = Array.isArray(row['tokens']) ? (row['tokens'] as unknown[]).map(String) : [];
    if (this.sni)
      return {
        address: hostId,
        port: this.sni.port,
        via: this.sni,
        datacenter,
        rack,
        hostId,
        tokens,
        schemaVersion: asString(row['schema_version']),
        releaseVersion: asString(row['release_version']),
        columns,
      };
    return {
      address,
      port: this.opts.port,
      datacenter,
      rack,
      hostId,
      tokens,
      schemaVersion: asString(row['schema_version']),
      releaseVersion: asString(row['release_version']),
      columns,
    };
  }

  // ---- heartbeats and reconnection ------------------------------------------------------------

  private startHeartbeats(): void {
    if (this.heartbeatTimer || this.opts.heartbeatIntervalMs <= 0) return;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.opts.heartbeatIntervalMs);
    this.heartbeatTimer.unref?.();
  }

  private async heartbeat(): Promise<void> {
    const conn = this.conn;
    if (!conn || this.reconnecting || this.stopped) return;
    try {
      const r = await conn.request(requestFrame(this.protocolVersion, { opcode: Opcode.OPTIONS }), this.requestTimeoutMs);
      if (r.opcode !== Opcode.SUPPORTED) this.logger.warn(`${this.cluster} heartbeat: expected SUPPORTED, got ${describe(r)}`);
      if (this.failures > 0)
        this.logger.info(`${this.cluster} heartbeat succeeded; resetting failure counter (${this.failures})`);
      this.failures = 0;
    } catch (e) {
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
    if (!this.reconnecting) void this.reconnectLoop();
  }

  private async reconnectLoop(): Promise<void> {
    this.reconnecting = true;
    try {
      while (!this.stopped) {
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
        try {
          await this.openAny(order);
          return;
        } catch (e) {
          if (this.stopped) return;
          this.failures++;
          this.previousOpenFailed = true;
          const delay = this.nextBackoff();
          this.logger.error(`${(e as Error).message}; retrying in ${delay} ms (failures: ${this.failures})`);
          await new Promise<void>((resolve) => {
            this.retryWake = resolve;
            this.retryTimer = setTimeout(resolve, delay);
          });
          this.retryWake = undefined;
          this.retryTimer = undefined;
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  /** Jittered exponential backoff between retryIntervalMinMs and retryIntervalMaxMs. */
  private nextBackoff(): number {
    const base = this.backoffMs;
    this.backoffMs = Math.min(this.opts.retryIntervalMaxMs, Math.max(1, base * this.opts.retryBackoffFactor));
    const jitter = base * 0.2 * (Math.random() * 2 - 1);
    return Math.max(this.opts.retryIntervalMinMs, Math.min(this.opts.retryIntervalMaxMs, Math.round(base + jitter)));
  }
}

function asString(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  return String(v);
}

function endpointHost(ep: Endpoint, datacenter: string): Host {
  return { address: ep.host, port: ep.port, datacenter, rack: '', hostId: '', tokens: [], columns: {} };
}

function describe(f: RawFrame): string {
  if (f.opcode === Opcode.ERROR) {
    try {
      const e = decodeResponse(f) as ErrorMessage;
      return `ERROR 0x${e.code.toString(16)}: ${e.message}`;
    } catch {
      /* fall through */
    }
  }
  return opcodeName(f.opcode);
}

/**
 * Row values as documented in ARCHITECTURE.md: `decodeValue` (values.ts), with maps as plain objects (string
 * keys) and, for types values.ts does not decode (decimal, date, time, duration, tuple, udt, custom) or
 * malformed cells, the raw bytes.
 */
function rowsToObjects(res: RowsResult, version: ProtocolVersion): Record<string, unknown>[] {
  const cols = res.metadata.columns ?? [];
  return res.rows.map((row) => {
    const o: Record<string, unknown> = {};
    cols.forEach((c, i) => {
      o[c.name] = cellValue(c.type, row[i] ?? null, version);
    });
    return o;
  });
}

function cellValue(type: DataType, bytes: Buffer | null, version: ProtocolVersion): unknown {
  let v: CqlValue;
  try {
    v = decodeValue(type, bytes, version);
  } catch (e) {
    if (e instanceof ProtocolError) return bytes;
    throw e;
  }
  return plain(v);
}

function plain(v: CqlValue): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[String(k)] = plain(x);
    return o;
  }
  return v;
}
