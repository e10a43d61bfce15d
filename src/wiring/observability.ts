/**
 * Observability setup of `startProxy` (upstream-spec-notes 6.3): the metrics/health HTTP server and what it shows, the
 * proxy's metrics (Prometheus and migration), the readiness source and the status page's source.
 */
import { CLUSTER_NAMES, type ClusterName, forCluster } from '../cluster';
import type { Logger } from 'pino';
import { endpointLabel } from '../backend/cluster-connection';
import { packageVersion } from '../config/cli';
import type { ProxyConfig } from '../config/types';
import { readReplayResults, type WriteJournal } from '../journal/journal';
import { type HealthSource, STARTUP_HEALTH } from '../observability/health';
import { type HttpServerHandle, startHttpServer } from '../observability/http-server';
import { createProxyMetrics, type ProxyMetrics } from '../observability/metrics';
import { MigrationMetrics } from '../observability/migration-metrics';
import type { ClusterStatus, StatusSource } from '../observability/status-page';
import type { PreparedCache } from '../routing/prepared-cache';
import type { RoutingSettings, RoutingSettingsValues, SettingsSource } from '../routing/settings';
import type { ControlConnectionLike, ControlPair } from './clusters';

/**
 * The metrics/health HTTP server and what it shows (upstream-spec-notes 6.3). The CLI starts one before the proxy (readiness
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
  /** The confirmed mismatches of the live read comparison (GET /api/v1/mismatches); undefined = comparison off. */
  setMismatches(m: (() => unknown) | undefined): void;
  close(): Promise<void>;
}

export async function startObservabilityServer(config: ProxyConfig, logger: Logger): Promise<ObservabilityServer> {
  let metrics: ProxyMetrics | undefined;
  let health: HealthSource | undefined;
  let routing: RoutingSettings | undefined;
  let status: StatusSource | undefined;
  let mismatches: (() => unknown) | undefined;
  const http = await startHttpServer({
    address: config.settings.metrics_address,
    port: config.settings.metrics_port,
    metrics: () => metrics,
    metricsEnabled: config.settings.metrics_enabled,
    health: () => health ?? STARTUP_HEALTH,
    heartbeatFailureThreshold: config.settings.heartbeat_failure_threshold,
    admin: { token: config.settings.admin_token, routing: () => routing },
    status: { source: () => status, version: packageVersion() },
    mismatches: () => mismatches?.(),
    logger,
  });
  return {
    http,
    setMetrics: (m) => (metrics = m),
    setHealth: (h) => (health = h),
    setRouting: (r) => (routing = r),
    setStatus: (s) => (status = s),
    setMismatches: (m) => (mismatches = m),
    close: () => http.close(),
  };
}

/** The proxy's Prometheus metrics and migration metrics; routing changes are counted and logged. */
export function createMetrics(
  config: ProxyConfig,
  cache: PreparedCache,
  settings: RoutingSettings,
  logger: Logger,
): { metrics: ProxyMetrics; migrationMetrics: MigrationMetrics } {
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
  return { metrics, migrationMetrics };
}

/** The journal's gauges on the migration metrics. */
export function journalMetrics(migrationMetrics: MigrationMetrics, j: WriteJournal): void {
  migrationMetrics.enableJournal({
    bytes: () => j.state().bytes,
    full: () => j.state().full || j.state().failing,
    replayed: () => readReplayResults(j.dir),
  });
}

/** Readiness: the proxy's state, each control connection's failures and endpoint, the journal's state. */
export function healthSource(
  state: () => 'RUNNING' | 'SHUTDOWN',
  control: ControlPair,
  journal: WriteJournal | undefined,
): HealthSource {
  const controlHealth = (cluster: ClusterName, cc: ControlConnectionLike) => ({
    cluster,
    get consecutiveFailures() {
      return cc.consecutiveFailures ?? 0;
    },
    get endpoint() {
      const ep = cc.endpoint;
      return ep ? endpointLabel(ep) : undefined;
    },
  });
  const source: HealthSource = {
    get state() {
      return state();
    },
    controlConnections: CLUSTER_NAMES.map((c) => controlHealth(c, forCluster(c, control))),
  };
  if (journal) {
    const j = journal;
    source.journal = () => {
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
  return source;
}

/** What the status page shows: each cluster's control connection and hosts, the journal. */
export function statusSource(control: ControlPair, journal: WriteJournal | undefined): StatusSource {
  const clusterStatus = (cluster: ClusterName, cc: ControlConnectionLike): ClusterStatus => {
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
  return {
    clusters: () => CLUSTER_NAMES.map((c) => clusterStatus(c, forCluster(c, control))),
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
  };
}
