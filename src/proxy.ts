/**
 * Wiring (upstream-spec-notes 2.1, 2.3, 2.9): `startProxy(config)` starts both control connections (retried with
 * backoff 100 ms -> 10 s, factor 2, jitter, until both are up; no client is accepted meanwhile), logs
 * the startup lines, opens the listener and hands each admitted client socket to a ClientSession.
 * `close()` stops accepting, drains in-flight requests (bounded by shutdown_grace_period_ms), closes
 * the client connections, then the control connections.
 *
 * The pieces live in src/wiring/: clusters.ts (cluster access, control connections, host removal),
 * observability.ts (HTTP server, metrics, readiness and status sources), listener.ts (listener and
 * sessions), shutdown.ts (close, and what a failed startup releases).
 */
import { forCluster } from './cluster';
import pino, { type Logger } from 'pino';
import { ClusterConnection, type ClusterConnectionOptions } from './backend/cluster-connection';
import { resolveTopology } from './config/load';
import type { ProxyConfig } from './config/types';
import { ProxyCounters } from './frontend/counters';
import { VirtualTables } from './frontend/virtual-tables';
import { WriteJournal } from './journal/journal';
import { JournalRecorder } from './journal/recorder';
import { type ComparisonControl, startComparison } from './compare/setup';
import { STARTUP_HEALTH } from './observability/health';
import type { ProxyMetrics } from './observability/metrics';
import { PreparedCache } from './routing/prepared-cache';
import { RequestIdTracer } from './routing/request-id';
import { RoutingSettings } from './routing/settings';
import { ProxyTlsMaterial } from './tls/server';
import {
  type ControlConnectionFactory,
  type ControlPair,
  clustersAccess,
  defaultControlFactory,
  drainSessionsOfRemovedHosts,
  reopenSessionsWhenClusterReturns,
  sessionsWithClusterDown,
  logControlConnections,
  startControlConnections,
} from './wiring/clusters';
import { clientSessions } from './wiring/listener';
import { REOPEN_CONCURRENCY, ReopenGate } from './frontend/reopen-gate';
import {
  createMetrics,
  healthSource,
  journalMetrics,
  type ObservabilityServer,
  startObservabilityServer,
  statusSource,
} from './wiring/observability';
import { abandonStartup, shutdownOnce } from './wiring/shutdown';

export type { ControlConnectionFactory, ControlConnectionLike } from './wiring/clusters';
export { type ObservabilityServer, startObservabilityServer } from './wiring/observability';

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

export async function startProxy(config: ProxyConfig, opts: StartProxyOptions = {}): Promise<RunningProxy> {
  const logger = opts.logger ?? pino({ level: 'info' });
  // upstream's startup lines on the TLS mode of each side (upstream-spec-notes 1.4)
  for (const m of [config.origin.tls.logMessage, config.target.tls.logMessage, config.proxyTls.logMessage]) logger.info(m);
  // client-facing TLS files are read (and checked) before anything connects: a bad file stops the startup
  const proxyTls = config.proxyTls.enabled ? new ProxyTlsMaterial(config.proxyTls) : undefined;
  const access = clustersAccess(config, logger);
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
  let control: ControlPair;
  try {
    control = await startControlConnections(
      config,
      logger,
      opts.controlConnectionFactory ?? defaultControlFactory(access.tls, access.astra),
      opts,
    );
  } catch (e) {
    await abandonStartup({ obs, ownServer });
    throw e;
  }
  const { metrics, migrationMetrics } = createMetrics(config, cache, settings, logger);
  logControlConnections(control, logger);

  const virtualTables = new VirtualTables(
    {
      addresses: topology.addresses,
      index: topology.index,
      numTokens: topology.numTokens,
      ipBytes: topology.addressSource === 'listen_address' ? 4 : 16,
      listenPort: config.settings.proxy_listen_port,
    },
    () => forCluster(settings.systemQueriesMode, control),
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
      await abandonStartup({ obs, ownServer, control, metrics });
      throw e;
    }
    journalMetrics(migrationMetrics, journal);
  }
  const recorder = journal
    ? new JournalRecorder(journal, logger, { holdCapped: () => migrationMetrics.journalHoldCappedReply() })
    : undefined;
  // Live read comparison of dual reads (dual_read_compare_enabled; compare/setup.ts)
  const comparer = config.settings.dual_read_compare_enabled
    ? startComparison(
        config,
        control as unknown as { origin: ComparisonControl; target: ComparisonControl },
        () => settings.primaryCluster,
        migrationMetrics,
        logger,
      )
    : undefined;

  const { listener, sessions } = clientSessions(
    config,
    proxyTls,
    {
      config,
      settings,
      cache,
      control,
      virtualTables,
      logger,
      connect: opts.connect ?? ((o) => ClusterConnection.connect(o)),
      tls: access.tls,
      counters,
      requestIds,
      metrics,
      journal: recorder,
      comparer,
      // issue 12: a node that comes back is not hit by every session's reopen (dial + login) at once
      reopenGates: { origin: new ReopenGate(REOPEN_CONCURRENCY), target: new ReopenGate(REOPEN_CONCURRENCY) },
    },
    (s) => checkHostsOnce(s),
  );
  // Spec 2.8: a client connection whose ORIGIN/TARGET host left the topology drains and closes.
  const checkHostsOnce = drainSessionsOfRemovedHosts(control, sessions, counters, logger);
  // Issue 12: a session's lost cluster connection is reopened as soon as that cluster's control connection is back
  reopenSessionsWhenClusterReturns(control, sessions);
  migrationMetrics.enableSessionLinks({
    down: (c) => sessionsWithClusterDown(sessions, c),
    lost: () => counters.clusterConnectionsLost,
    reopened: () => counters.clusterConnectionsReopened,
  });
  metrics.setClientConnectionsSource(() => listener.activeConnections);
  let state: 'RUNNING' | 'SHUTDOWN' = 'RUNNING';
  let bound: { address: string; port: number };
  try {
    bound = await listener.listen();
  } catch (e) {
    await abandonStartup({ obs, ownServer, control, metrics, journal, comparer });
    throw e;
  }
  obs.setMetrics(metrics);
  obs.setHealth(healthSource(() => state, control, journal));
  obs.setRouting(settings);
  obs.setStatus(statusSource(control, journal));
  if (comparer) obs.setMismatches(() => comparer.mismatches.toJSON());
  logger.info(`Proxy connected and ready to accept queries on ${bound.address}:${bound.port}`);
  logger.info('Proxy started. Waiting for SIGINT/SIGTERM to shutdown.');

  const close = shutdownOnce({
    obs,
    ownServer,
    control,
    metrics,
    journal,
    comparer,
    listener,
    sessions,
    graceMs: config.shutdownGracePeriodMs,
    logger,
    stopped: () => (state = 'SHUTDOWN'),
  });

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
