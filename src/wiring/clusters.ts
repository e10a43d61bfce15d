/**
 * Cluster setup of `startProxy` (upstream-spec-notes 2.1): how the proxy reaches each cluster (TLS files or a secure connect
 * bundle), its control connections (started with backoff until both are up), and the drain of client
 * connections whose host left the topology (upstream-spec-notes 2.8).
 */
import { CLUSTER_NAMES, type ClusterName, clusterLabel, forCluster, PerCluster } from '../cluster';
import type { EventEmitter } from 'node:events';
import type * as tls from 'node:tls';
import type { Logger } from 'pino';
import { endpointLabel } from '../backend/cluster-connection';
import { ControlConnection } from '../backend/control-connection';
import type { Host } from '../backend/topology';
import type { ClusterConfig, ProxyConfig } from '../config/types';
import type { ClientSession, ControlView } from '../frontend/client-session';
import type { ProxyCounters } from '../frontend/counters';
import type { ProtocolVersion } from '../protocol/constants';
import { clusterTlsOptions } from '../tls/cluster';
import { type AstraMetadata, astraTlsOptions, fetchAstraMetadata, readSecureConnectBundle } from '../tls/secure-connect-bundle';

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

export type ControlConnectionFactory = (cluster: ClusterName, config: ProxyConfig, logger: Logger) => ControlConnectionLike;

/** The two control connections. */
export interface ControlPair {
  origin: ControlConnectionLike;
  target: ControlConnectionLike;
}

export type ClusterTls = { origin: tls.ConnectionOptions | undefined; target: tls.ConnectionOptions | undefined };
type AstraSource = () => Promise<AstraMetadata>;
export type ClusterAstra = { origin: AstraSource | undefined; target: AstraSource | undefined };

/** How the proxy reaches each cluster (read once, before anything connects). */
export function clustersAccess(config: ProxyConfig, logger: Logger): { tls: ClusterTls; astra: ClusterAstra } {
  const access = { origin: clusterAccess(config.origin, logger), target: clusterAccess(config.target, logger) };
  return {
    tls: { origin: access.origin.tls, target: access.target.tls },
    astra: { origin: access.origin.astra, target: access.target.astra },
  };
}

/** The control connection of a cluster, with that cluster's TLS options (read once by startProxy). */
export function defaultControlFactory(tlsOpts: ClusterTls, astra: ClusterAstra): ControlConnectionFactory {
  return (cluster, config, logger) =>
    newControlConnection(cluster, config, logger, forCluster(cluster, tlsOpts), forCluster(cluster, astra));
}

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
  cluster: ClusterName,
  config: ProxyConfig,
  logger: Logger,
  tlsOptions: tls.ConnectionOptions | undefined,
  astra?: AstraSource,
): ControlConnectionLike {
  const c = forCluster(cluster, config);
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
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

/**
 * Starts both control connections, retried with backoff 100 ms -> 10 s (factor 2, jitter) until both are up,
 * `startTimeoutMs` has passed or `signal` aborts.
 */
export async function startControlConnections(
  config: ProxyConfig,
  logger: Logger,
  factory: ControlConnectionFactory,
  opts: { startTimeoutMs?: number; signal?: AbortSignal },
): Promise<ControlPair> {
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

/** Stops both control connections (Origin first), ignoring their errors. */
export async function stopControlConnections(control: ControlPair): Promise<void> {
  await control.origin.stop().catch(() => undefined);
  await control.target.stop().catch(() => undefined);
}

/** Upstream's startup line for each control connection. */
export function logControlConnections(control: ControlPair, logger: Logger): void {
  for (const c of CLUSTER_NAMES) {
    const cc = forCluster(c, control);
    logger.info(
      `Initialized ${clusterLabel(c)} control connection. Cluster Name: ${cc.clusterName}, Hosts: [${cc.hosts.map((h) => endpointLabel({ host: h.address, port: h.port })).join(', ')}].`,
    );
  }
}

/**
 * Spec 2.8: a client connection whose ORIGIN/TARGET host left the topology drains and closes. Watches both
 * control connections; returns the check to run right after a session's connections are open (its hosts may
 * have been removed in between).
 */
export function drainSessionsOfRemovedHosts(
  control: ControlPair,
  sessions: ReadonlySet<ClientSession>,
  counters: ProxyCounters,
  logger: Logger,
): (s: ClientSession) => void {
  const removedHosts = PerCluster.of(() => new Set<string>());
  const sessionUses = (s: ClientSession, cluster: ClusterName, keys: ReadonlySet<string>): boolean => {
    const ep = s.endpoint(cluster);
    return ep !== undefined && keys.has(`${ep.host}:${ep.port}`);
  };
  const drainForRemovedHost = (s: ClientSession, cluster: ClusterName): void => {
    if (s.state === 'closing' || s.state === 'closed') return;
    const ep = s.endpoint(cluster)!;
    logger.info(`${cluster} host ${endpointLabel(ep)} left the topology: draining client connection ${s.remote}`);
    counters.sessionsDrainedByHostRemoval++;
    void s.drain();
  };
  for (const cluster of CLUSTER_NAMES) {
    forCluster(cluster, control).on('hosts-changed', (removed: Host[], hosts: Host[]) => {
      const gone = removedHosts.get(cluster);
      for (const h of hosts ?? []) gone.delete(`${h.address}:${h.port}`);
      const now = new Set((removed ?? []).map((h) => `${h.address}:${h.port}`));
      for (const k of now) gone.add(k);
      if (now.size === 0) return;
      for (const s of sessions) if (sessionUses(s, cluster, now)) drainForRemovedHost(s, cluster);
    });
  }
  return (s: ClientSession): void => {
    for (const cluster of CLUSTER_NAMES) {
      if (sessionUses(s, cluster, removedHosts.get(cluster))) return drainForRemovedHost(s, cluster);
    }
  };
}

/**
 * Issue 12: when a cluster's control connection reopens, the cluster is back: every session whose connection
 * to it is down tries to reopen it now instead of at the end of its backoff (up to
 * heartbeat_retry_interval_max_ms, 30 s by default).
 */
export function reopenSessionsWhenClusterReturns(control: ControlPair, sessions: ReadonlySet<ClientSession>): void {
  for (const cluster of CLUSTER_NAMES) {
    forCluster(cluster, control).on('up', () => {
      for (const s of sessions) s.clusterReturned(cluster);
    });
  }
}

/** Open sessions whose connection to `cluster` is down or being reopened (`client_sessions_cluster_down`). */
export function sessionsWithClusterDown(sessions: ReadonlySet<ClientSession>, cluster: ClusterName): number {
  let n = 0;
  for (const s of sessions) {
    const state = s.linkState(cluster);
    if (state === 'down' || state === 'reopening') n++;
  }
  return n;
}
