/**
 * Wiring (spec 2.1, 2.3, 2.9): `startProxy(config)` starts both control connections (retried with
 * backoff 100 ms -> 10 s, factor 2, jitter, until both are up; no client is accepted meanwhile), logs
 * the startup lines, opens the listener and hands each admitted client socket to a ClientSession.
 * `close()` stops accepting, drains in-flight requests (bounded by shutdown_grace_period_ms), closes
 * the client connections, then the control connections.
 */
import type { EventEmitter } from 'node:events';
import type * as tls from 'node:tls';
import pino, { type Logger } from 'pino';
import type { ClusterConfig, ProxyConfig } from './config/types';
import { resolveTopology } from './config/load';
import { ClusterConnection, endpointLabel, type ClusterConnectionOptions } from './backend/cluster-connection';
import type { Host } from './backend/topology';
import { ControlConnection } from './backend/control-connection';
import type { ProtocolVersion } from './protocol/constants';
import { PreparedCache } from './routing/prepared-cache';
import { RoutingSettings, type RoutingSettingsValues, type SettingsSource } from './routing/settings';
import { RequestIdTracer } from './routing/request-id';
import { MigrationMetrics } from './observability/migration-metrics';
import type { ClusterStatus, StatusSource } from './observability/status-page';
import { packageVersion } from './config/cli';
import { WriteJournal, readReplayResults } from './journal/journal';
import { JournalRecorder } from './journal/recorder';
import { ClientListener } from './frontend/listener';
import { ProxyTlsMaterial } from './tls/server';
import { clusterTlsOptions } from './tls/cluster';
import { astraTlsOptions, fetchAstraMetadata, readSecureConnectBundle, type AstraMetadata } from './tls/secure-connect-bundle';
import { ClientSession, type ControlView } from './frontend/client-session';
import { VirtualTables } from './frontend/virtual-tables';
import { ProxyCounters } from './frontend/counters';
import { createProxyMetrics, type ProxyMetrics } from './observability/metrics';
import { STARTUP_HEALTH, type HealthSource } from './observability/health';
import { startHttpServer, type HttpServerHandle } from './observability/http-server';

/** What the proxy needs from a control connection (backend/ControlConnection implements it). */
export interface ControlConnectionLike extends ControlView, Pick<EventEmitter, 'on'> {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly clusterName: string;
  readonly hosts: Host[];
  /** readiness (health.ts); absent = 0 failures */
  readonly consecutiveFailures?: number;
  /** readiness: the current control endpoint; absent = not connected */
  readonly endpoint?: { host: string; port: number } | undefined;
}

/**
 * The metrics/health HTTP server and what it shows (spec 6.3). The CLI starts one before the proxy (readiness
 * says STARTUP during the startup retries) and hands it to `startProxy`; otherwise `startProxy` starts its own
 * and closes it on shutdown.
 */
export interface ObservabilityServer {
  readonly http: HttpServerHandle;
  setMetrics(m: ProxyMetrics | undefined): void;
  setHealth(h: HealthSource | undefined): void;
  /** The proxy's routing settings (admin API); undefined before the proxy is up and after its shutdown. */
  setRouting(r: RoutingSettings | undefined): void;
  /** What the status page shows about the clusters (and the journal); undefined before the proxy is up. */
  setStatus(s: StatusSource | undefined): void;
  close(): Promise<void>;
}

export async function startObservabilityServer(config: ProxyConfig, logger: Logger): Promise<ObservabilityServer> {
  let metrics: ProxyMetrics | undefined;
  let health: HealthSource | undefined;
  let routing: RoutingSettings | undefined;
  let status: StatusSource | undefined;
  const http = await startHttpServer({
    address: config.settings.metrics_address,
    port: config.settings.metrics_port,
    metrics: () => metrics,
    metricsEnabled: config.settings.metrics_enabled,
    health: () => health ?? STARTUP_HEALTH,
    heartbeatFailureThreshold: config.settings.heartbeat_failure_threshold,
    admin: { token: config.settings.admin_token, routing: () => routing },
    status: { source: () => status, version: packageVersion() },
    logger,
  });
  return {
    http,
    setMetrics: (m) => (metrics = m),
    setHealth: (h) => (health = h),
    setRouting: (r) => (routing = r),
    setStatus: (s) => (status = s),
    close: () => http.close(),
  };
}

export type ControlConnectionFactory = (
  cluster: 'ORIGIN' | 'TARGET',
  config: ProxyConfig,
  logger: Logger,
) => ControlConnectionLike;

export interface StartProxyOptions {
  logger?: Logger;
  /** Tests: replace the control connection implementation. */
  controlConnectionFactory?: ControlConnectionFactory;
  /** Tests: replace how cluster connections are opened. */
  connect?: (opts: ClusterConnectionOptions) => Promise<ClusterConnection>;
  /** Give up starting after this long (default: retry forever, as upstream). */
  startTimeoutMs?: number;
  /** Abort the startup retry loop. */
  signal?: AbortSignal;
  /** An HTTP server already started by the caller (the CLI); the proxy then does not start (nor close) its own. */
  observability?: ObservabilityServer;
}

export interface RunningProxy {
  address: string;
  port: number;
  settings: RoutingSettings;
  cache: PreparedCache;
  /** request-path counters (prepared cache misses, timeouts, late replies, async reads) */
  counters: ProxyCounters;
  /** Prometheus metrics of this proxy (no-op with metrics_enabled=false) */
  metrics: ProxyMetrics;
  /** port of the metrics/health HTTP server (0 when it is not listening) */
  metricsPort: number;
  /** active client connections */
  readonly clientConnections: number;
  /**
   * SIGHUP: read the client-facing TLS files again; new client connections use the new material, open
   * ones keep theirs. A file that cannot be used keeps the current material (logged with the reason).
   * Returns false when nothing was reloaded (no client TLS, or a bad file).
   */
  reloadTls(): boolean;
  close(): Promise<void>;
}

/** The control connection of a cluster, with that cluster's TLS options (read once by startProxy). */
function defaultControlFactory(tlsOpts: ClusterTls, astra: ClusterAstra): ControlConnectionFactory {
  return (cluster, config, logger) =>
    newControlConnection(
      cluster,
      config,
      logger,
      cluster === 'ORIGIN' ? tlsOpts.origin : tlsOpts.target,
      cluster === 'ORIGIN' ? astra.origin : astra.target,
    );
}

type ClusterTls = { origin?: tls.ConnectionOptions; target?: tls.ConnectionOptions };
type AstraSource = () => Promise<AstraMetadata>;
type ClusterAstra = { origin?: AstraSource; target?: AstraSource };

/**
 * How the proxy reaches a cluster: TLS options from CA/cert/key files, or, with a secure connect bundle, the
 * bundle's TLS material and its metadata service (read once here; the metadata is fetched by the control connection).
 */
function clusterAccess(c: ClusterConfig, logger: Logger): { tls?: tls.ConnectionOptions; astra?: AstraSource } {
  if (c.tls.mode !== 'secure-connect-bundle') return { tls: clusterTlsOptions(c) };
  const setting = `${c.cluster.toLowerCase()}_secure_connect_bundle_path`;
  const bundle = readSecureConnectBundle(setting, c.secureConnectBundlePath, (m) => logger.warn(m));
  let sniHost = '';
  return {
    tls: astraTlsOptions(bundle, () => sniHost),
    astra: async () => {
      const m = await fetchAstraMetadata(bundle);
      sniHost = m.sniProxy.host;
      return m;
    },
  };
}

function newControlConnection(
  cluster: 'ORIGIN' | 'TARGET',
  config: ProxyConfig,
  logger: Logger,
  tlsOptions: tls.ConnectionOptions | undefined,
  astra?: AstraSource,
): ControlConnectionLike {
  const c = cluster === 'ORIGIN' ? config.origin : config.target;
  const s = config.settings;
  return new ControlConnection({
    cluster,
    contactPoints: c.contactPoints,
    port: c.port,
    username: c.username,
    password: c.password,
    connectTimeoutMs: c.connectionTimeoutMs,
    localDatacenter: c.localDatacenter || undefined,
    enableHostAssignment: c.enableHostAssignment,
    maxProtocolVersion: config.controlConnMaxProtocolVersion as number as ProtocolVersion,
    heartbeatIntervalMs: s.heartbeat_interval_ms,
    retryIntervalMinMs: s.heartbeat_retry_interval_min_ms,
    retryIntervalMaxMs: s.heartbeat_retry_interval_max_ms,
    retryBackoffFactor: s.heartbeat_retry_backoff_factor,
    topologyIndex: config.topology.index,
    topologyCount: config.topology.count,
    tls: tlsOptions,
    astra,
    logger,
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

async function startControlConnections(
  config: ProxyConfig,
  logger: Logger,
  factory: ControlConnectionFactory,
  opts: StartProxyOptions,
): Promise<{ origin: ControlConnectionLike; target: ControlConnectionLike }> {
  const deadline = opts.startTimeoutMs !== undefined ? Date.now() + opts.startTimeoutMs : Infinity;
  let backoff = 100;
  for (;;) {
    const origin = factory('ORIGIN', config, logger);
    let target: ControlConnectionLike | undefined;
    try {
      await origin.start();
      target = factory('TARGET', config, logger);
      await target.start();
      return { origin, target };
    } catch (e) {
      await origin.stop().catch(() => undefined);
      if (target) await target.stop().catch(() => undefined);
      if (opts.signal?.aborted) throw new Error('proxy startup aborted');
      if (Date.now() + backoff > deadline) throw e;
      const delay = Math.round(backoff * (0.8 + Math.random() * 0.4));
      logger.error(`Couldn't start proxy, retrying in ${delay} ms: ${(e as Error).message}.`);
      await sleep(delay, opts.signal);
      if (opts.signal?.aborted) throw new Error('proxy startup aborted');
      backoff = Math.min(backoff * 2, 10_000);
    }
  }
}

export async function startProxy(config: ProxyConfig, opts: StartProxyOptions = {}): Promise<RunningProxy> {
  const logger = opts.logger ?? pino({ level: 'info' });
  // upstream's startup lines on the TLS mode of each side (spec 1.4)
  for (const m of [config.origin.tls.logMessage, config.target.tls.logMessage, config.proxyTls.logMessage]) logger.info(m);
  // client-facing TLS files are read (and checked) before anything connects: a bad file stops the startup
  const proxyTls = config.proxyTls.enabled ? new ProxyTlsMaterial(config.proxyTls) : undefined;
  const access = { origin: clusterAccess(config.origin, logger), target: clusterAccess(config.target, logger) };
  const tlsOpts: ClusterTls = { origin: access.origin.tls, target: access.target.tls };
  const astra: ClusterAstra = { origin: access.origin.astra, target: access.target.astra };
  const topology = await resolveTopology(config);

  const settings = RoutingSettings.fromConfig(config);
  const cache = new PreparedCache(config.maxPreparedStatements);
  const counters = new ProxyCounters();
  const requestIds = new RequestIdTracer({
    enabled: config.settings.tracing_enabled,
    rateLimit: config.settings.tracing_rate_limit,
    key: config.settings.tracing_request_id_key,
  });

  const ownServer = opts.observability === undefined;
  const obs = opts.observability ?? (await startObservabilityServer(config, logger));
  obs.setHealth(STARTUP_HEALTH);
  let control: { origin: ControlConnectionLike; target: ControlConnectionLike };
  try {
    control = await startControlConnections(
      config,
      logger,
      opts.controlConnectionFactory ?? defaultControlFactory(tlsOpts, astra),
      opts,
    );
  } catch (e) {
    if (ownServer) await obs.close();
    throw e;
  }
  const metrics = createProxyMetrics(config);
  metrics.setPreparedCacheEntriesSource(() => cache.size);
  const migrationMetrics = new MigrationMetrics(metrics.registry, metrics.prefix);
  settings.on('change', (next: RoutingSettingsValues, previous: RoutingSettingsValues, source: SettingsSource) => {
    migrationMetrics.routingChanged(source);
    logger.info(
      `Routing settings changed (source: ${source}): primary_cluster ${previous.primaryCluster} -> ${next.primaryCluster}, ` +
        `read_mode ${previous.readMode} -> ${next.readMode}`,
    );
  });
  for (const [name, cc] of [
    ['origin', control.origin],
    ['target', control.target],
  ] as const) {
    logger.info(
      `Initialized ${name} control connection. Cluster Name: ${cc.clusterName}, Hosts: [${cc.hosts.map((h) => endpointLabel({ host: h.address, port: h.port })).join(', ')}].`,
    );
  }

  const virtualTables = new VirtualTables(
    {
      addresses: topology.addresses,
      index: topology.index,
      numTokens: topology.numTokens,
      ipBytes: topology.addressSource === 'listen_address' ? 4 : 16,
      listenPort: config.settings.proxy_listen_port,
    },
    () => (settings.systemQueriesMode === 'TARGET' ? control.target : control.origin),
  );

  // One-sided write journal (journal_dir): opened before any client is accepted.
  let journal: WriteJournal | undefined;
  if (config.settings.journal_dir) {
    try {
      journal = new WriteJournal(config.settings.journal_dir, config.settings.journal_max_bytes, logger, {
        committed: (failedOn) => migrationMetrics.journalCommitted(failedOn),
        dropped: (reason) => migrationMetrics.journalDroppedRecord(reason),
      });
    } catch (e) {
      await control.origin.stop().catch(() => undefined);
      await control.target.stop().catch(() => undefined);
      metrics.close();
      if (ownServer) await obs.close();
      throw e;
    }
    const j = journal;
    migrationMetrics.enableJournal({
      bytes: () => j.state().bytes,
      full: () => j.state().full || j.state().failing,
      replayed: () => readReplayResults(j.dir),
    });
  }
  const recorder = journal ? new JournalRecorder(journal, logger) : undefined;

  const sessions = new Set<ClientSession>();
  counters.setLiveLateRepliesSource(() => {
    let n = 0;
    for (const s of sessions) n += s.lateReplies;
    return n;
  });

  // Spec 2.8: a client connection whose ORIGIN/TARGET host left the topology drains and closes.
  const removedHosts = { ORIGIN: new Set<string>(), TARGET: new Set<string>() };
  const sessionUses = (s: ClientSession, cluster: 'ORIGIN' | 'TARGET', keys: ReadonlySet<string>): boolean => {
    const ep = s.endpoint(cluster);
    return ep !== undefined && keys.has(`${ep.host}:${ep.port}`);
  };
  const drainForRemovedHost = (s: ClientSession, cluster: 'ORIGIN' | 'TARGET'): void => {
    if (s.state === 'closing' || s.state === 'closed') return;
    const ep = s.endpoint(cluster)!;
    logger.info(`${cluster} host ${endpointLabel(ep)} left the topology: draining client connection ${s.remote}`);
    counters.sessionsDrainedByHostRemoval++;
    void s.drain();
  };
  for (const [cluster, cc] of [
    ['ORIGIN', control.origin],
    ['TARGET', control.target],
  ] as const) {
    cc.on('hosts-changed', (removed: Host[], hosts: Host[]) => {
      const gone = removedHosts[cluster];
      for (const h of hosts ?? []) gone.delete(`${h.address}:${h.port}`);
      const now = new Set((removed ?? []).map((h) => `${h.address}:${h.port}`));
      for (const k of now) gone.add(k);
      if (now.size === 0) return;
      for (const s of sessions) if (sessionUses(s, cluster, now)) drainForRemovedHost(s, cluster);
    });
  }
  /** Right after the session's connections are open: its hosts may have been removed in between. */
  const checkHostsOnce = (s: ClientSession): void => {
    for (const cluster of ['ORIGIN', 'TARGET'] as const) {
      if (sessionUses(s, cluster, removedHosts[cluster])) return drainForRemovedHost(s, cluster);
    }
  };

  const listener = new ClientListener({
    host: config.settings.proxy_listen_address,
    port: config.settings.proxy_listen_port,
    maxClientConnections: config.settings.proxy_max_client_connections,
    logger,
    tls: proxyTls?.serverOptions(),
    onConnection: (socket, release) => {
      const s = new ClientSession(socket, {
        config,
        settings,
        cache,
        control,
        virtualTables,
        logger,
        connect: opts.connect ?? ((o) => ClusterConnection.connect(o)),
        tls: tlsOpts,
        counters,
        requestIds,
        metrics,
        journal: recorder,
      });
      sessions.add(s);
      s.onClose(() => {
        sessions.delete(s);
        release();
      });
      void s.start().then((ok) => {
        if (ok) checkHostsOnce(s);
      });
    },
  });
  metrics.setClientConnectionsSource(() => listener.activeConnections);
  let state: 'RUNNING' | 'SHUTDOWN' = 'RUNNING';
  const controlHealth = (cluster: 'ORIGIN' | 'TARGET', cc: ControlConnectionLike) => ({
    cluster,
    get consecutiveFailures() {
      return cc.consecutiveFailures ?? 0;
    },
    get endpoint() {
      const ep = cc.endpoint;
      return ep ? endpointLabel(ep) : undefined;
    },
  });
  const healthSource: HealthSource = {
    get state() {
      return state;
    },
    controlConnections: [controlHealth('ORIGIN', control.origin), controlHealth('TARGET', control.target)],
  };
  if (journal) {
    const j = journal;
    healthSource.journal = () => {
      const st = j.state();
      return {
        Status: st.failing ? 'FAILING' : st.full ? 'FULL' : 'OK',
        Dir: st.dir,
        Bytes: st.bytes,
        MaxBytes: st.maxBytes,
        Records: st.records,
        DroppedRecords: st.dropped,
      };
    };
  }
  let bound: { address: string; port: number };
  try {
    bound = await listener.listen();
  } catch (e) {
    await journal?.close();
    await control.origin.stop().catch(() => undefined);
    await control.target.stop().catch(() => undefined);
    metrics.close();
    if (ownServer) await obs.close();
    throw e;
  }
  obs.setMetrics(metrics);
  obs.setHealth(healthSource);
  obs.setRouting(settings);
  const clusterStatus = (cluster: 'ORIGIN' | 'TARGET', cc: ControlConnectionLike): ClusterStatus => {
    const ep = cc.endpoint;
    return {
      cluster,
      name: cc.clusterName,
      endpoint: ep ? endpointLabel(ep) : undefined,
      consecutiveFailures: cc.consecutiveFailures ?? 0,
      hosts: cc.hosts.map((h) => ({
        address: h.address,
        port: h.port,
        datacenter: h.datacenter,
        rack: h.rack,
        releaseVersion: h.releaseVersion,
      })),
    };
  };
  obs.setStatus({
    clusters: () => [clusterStatus('ORIGIN', control.origin), clusterStatus('TARGET', control.target)],
    journal: () => {
      if (!journal) return undefined;
      const st = journal.state();
      return {
        dir: st.dir,
        bytes: st.bytes,
        maxBytes: st.maxBytes,
        records: st.records,
        full: st.full || st.failing,
        dropped: st.dropped,
      };
    },
  });
  logger.info(`Proxy connected and ready to accept queries on ${bound.address}:${bound.port}`);
  logger.info('Proxy started. Waiting for SIGINT/SIGTERM to shutdown.');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info('Shutting down proxy...');
      await listener.close();
      const grace = config.shutdownGracePeriodMs;
      const drained = Promise.all([...sessions].map((s) => s.drain()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((r) => (timer = setTimeout(r, grace)))]);
      if (timer) clearTimeout(timer);
      for (const s of [...sessions]) s.close('proxy shut down', 'info');
      await journal?.close();
      await control.origin.stop().catch(() => undefined);
      await control.target.stop().catch(() => undefined);
      // spec 2.9 item 4: /metrics and readiness fall back to their startup answers, then the HTTP server stops
      state = 'SHUTDOWN';
      metrics.close();
      obs.setMetrics(undefined);
      obs.setHealth(STARTUP_HEALTH);
      obs.setRouting(undefined);
      obs.setStatus(undefined);
      if (ownServer) await obs.close();
      logger.info('Proxy shutdown complete.');
    })();
    return closing;
  };

  return {
    address: bound.address,
    port: bound.port,
    settings,
    cache,
    counters,
    metrics,
    metricsPort: obs.http.port,
    get clientConnections() {
      return listener.activeConnections;
    },
    reloadTls: () => {
      if (!proxyTls) {
        logger.info('Client-facing TLS is not configured: no certificate to reload.');
        return false;
      }
      const r = proxyTls.reload();
      if (!r.ok) {
        logger.error(r.message);
        return false;
      }
      listener.setSecureContext(proxyTls.context);
      logger.info(r.message);
      return true;
    },
    close,
  };
}
