// proxy_workers > 1, worker side: one worker process of node:cluster. It runs an ordinary proxy (`startProxy`:
// its own control connections, cluster connections, prepared cache and metrics registry) on the shared listen
// port, without an HTTP server of its own: the primary serves /metrics, health, the admin API and the status page
// from what the workers answer over IPC (ipc.ts). Signals are the primary's business: SIGINT/SIGTERM are ignored
// here (a Ctrl-C reaches the whole process group); the primary sends 'shutdown'. A worker whose primary is gone
// (IPC channel closed) drains and exits.
import { otherCluster } from '../cluster';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ProxyConfig } from '../config/types';
import { workerJournalDirName } from '../journal/dirs';
import type { RoutingSettings, RoutingSettingsValues } from '../routing/settings';
import type { ProxyMetrics } from '../observability/metrics';
import { performHealthCheck, type HealthSource } from '../observability/health';
import type { StatusSource } from '../observability/status-page';
import type { ObservabilityServer, RunningProxy } from '../proxy';
import {
  WORKER_INDEX_ENV,
  WORKER_ROUTING_ENV,
  isPrimaryMessage,
  type WorkerMessage,
  type WorkerRequest,
  type WorkerStatus,
} from './ipc';

/** The configuration a worker runs with: its journal sub-directory, its share of the client connection limit, the routing of the moment. */
export function workerConfig(config: ProxyConfig, index: number, routing: RoutingSettingsValues | undefined): ProxyConfig {
  const s = config.settings;
  const r = routing ?? { primaryCluster: config.primaryCluster, readMode: config.readMode };
  return {
    ...config,
    settings: {
      ...s,
      journal_dir: s.journal_dir ? join(s.journal_dir, workerJournalDirName(index)) : '',
      proxy_max_client_connections: Math.ceil(s.proxy_max_client_connections / config.workers),
    },
    primaryCluster: r.primaryCluster,
    secondaryCluster: otherCluster(r.primaryCluster),
    readMode: r.readMode,
    dualReadsEnabled: r.readMode === 'DUAL_ASYNC_ON_SECONDARY',
  };
}

function send(m: WorkerMessage): void {
  // the callback swallows EPIPE when the primary is gone ('disconnect' then drains this worker)
  if (process.connected) process.send?.(m, undefined, undefined, () => undefined);
}

/** Runs this process as worker `ZDM_PROXY_WORKER_INDEX` (call from the CLI in a cluster worker). */
export function runWorker(config: ProxyConfig, baseLogger: Logger, exit: (code: number) => void): void {
  const index = Number(process.env[WORKER_INDEX_ENV] ?? '0');
  const logger = baseLogger.child({ worker: index });
  let routing: RoutingSettingsValues | undefined;
  try {
    const raw = process.env[WORKER_ROUTING_ENV];
    if (raw) routing = JSON.parse(raw) as RoutingSettingsValues;
  } catch {
    logger.warn(`Ignoring a malformed ${WORKER_ROUTING_ENV}: starting with the configured routing.`);
  }

  let running: RunningProxy | undefined;
  let metrics: ProxyMetrics | undefined;
  let health: HealthSource | undefined;
  let settings: RoutingSettings | undefined;
  let status: StatusSource | undefined;
  let mismatches: (() => unknown) | undefined;
  /** the latest routing broadcast received before the proxy was up */
  let pendingRouting: RoutingSettingsValues | undefined;
  let stopping = false;
  const abort = new AbortController();

  const observability: ObservabilityServer = {
    http: { port: config.settings.metrics_port, listening: false, close: () => Promise.resolve() },
    setMetrics: (m) => (metrics = m),
    setHealth: (h) => (health = h),
    setRouting: (r) => (settings = r),
    setStatus: (s) => (status = s),
    setMismatches: (m) => (mismatches = m),
    close: () => Promise.resolve(),
  };

  const answer = async (req: WorkerRequest): Promise<unknown> => {
    switch (req.op) {
      case 'metrics':
        return metrics?.registry && !metrics.closed ? await metrics.registry.getMetricsAsJSON() : null;
      case 'health':
        return performHealthCheck(health, config.settings.heartbeat_failure_threshold);
      case 'status': {
        const st: WorkerStatus = { clusters: status ? [...status.clusters()] : [], journal: status?.journal?.() };
        return st;
      }
      case 'mismatches':
        return mismatches?.() ?? null;
      case 'routing':
        if (!req.routing) throw new Error('routing request without values');
        if (settings) settings.set(req.routing, 'api');
        else pendingRouting = req.routing;
        return true;
    }
  };

  const shutdown = (why: string): void => {
    if (stopping) return;
    stopping = true;
    abort.abort();
    logger.info(`Worker ${index} shutting down: ${why}.`);
    if (running)
      running.close().then(
        () => exit(0),
        () => exit(0),
      );
    // else: the startup finishes (or fails) first, see below
  };

  // Attached synchronously at startup: no message of the primary can arrive before.
  process.on('message', (m: unknown) => {
    if (!isPrimaryMessage(m)) return;
    if (m.zdm === 'shutdown') return shutdown('asked by the primary process');
    if (m.zdm === 'reload-tls') return void running?.reloadTls();
    answer(m).then(
      (data) => send({ zdm: 'res', id: m.id, ok: true, data }),
      (e: unknown) => send({ zdm: 'res', id: m.id, ok: false, error: (e as Error).message }),
    );
  });
  process.on('disconnect', () => shutdown('the primary process is gone'));
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => logger.debug(`Worker ${index}: ${sig} ignored (the primary process drives the shutdown).`));
  process.on('SIGHUP', () => void running?.reloadTls());

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startProxy } = require('../proxy') as typeof import('../proxy');
  startProxy(workerConfig(config, index, pendingRouting ?? routing), { logger, observability, signal: abort.signal }).then(
    (p) => {
      running = p;
      if (pendingRouting) p.settings.set(pendingRouting, 'api');
      if (stopping) {
        void p.close().then(() => exit(0));
        return;
      }
      send({ zdm: 'state', state: 'RUNNING' });
    },
    (e: unknown) => {
      if (stopping) return exit(0);
      logger.error(`Worker ${index}: the proxy could not start: ${(e as Error).message}`);
      exit(1);
    },
  );
}
