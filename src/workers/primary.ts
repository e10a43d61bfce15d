// proxy_workers > 1, primary side. The primary process serves no CQL: it forks `config.workers` workers
// (node:cluster; they share the listen port, the primary hands them connections round robin), restarts a worker
// that dies (logged; readiness is DOWN until it runs again), and owns the one HTTP server of the metrics port:
//   /metrics            every worker's registry summed with prom-client's AggregatorRegistry.aggregate
//                       (counters and gauges summed, histogram buckets summed per series)
//   /health/readiness   the workers' reports combined: per cluster the worst control connection; DOWN while a
//                       worker is missing or not running (detail `Workers`); STARTUP until a worker runs
//   /api/v1/routing     the primary's RoutingSettings; a POST is broadcast to every worker and answered once all
//                       acknowledged (a worker forked later starts with the primary's routing of that moment)
//   /                   status page: clusters and journal as the workers report them, worker count
// Shutdown (`close()`): every worker drains (shutdown_grace_period_ms) and exits; close() resolves once all exited.
import { type ClusterName, pickCluster } from '../cluster';
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { ProxyConfig } from '../config/types';
import { packageVersion } from '../config/cli';
import { RoutingSettings, type RoutingSettingsValues } from '../routing/settings';
import { NOT_CONNECTED, STARTUP_HEALTH, type ControlConnectionHealth, type HealthSource } from '../observability/health';
import { startHttpServer } from '../observability/http-server';
import type { ClusterStatus, JournalStatus, MetricsExposition, StatusSource } from '../observability/status-page';
import {
  WORKER_INDEX_ENV,
  WORKER_ROUTING_ENV,
  isWorkerMessage,
  type RequestOp,
  type WorkerHealth,
  type WorkerMessage,
  type WorkerStatus,
} from './ipc';

/** How long the primary waits for a worker's answer: readiness and the status page must answer fast (probes
 *  commonly time out after 1 s); metrics and routing changes may take longer on a busy worker. */
const WORKER_REQUEST_TIMEOUT_MS: Record<RequestOp, number> = {
  health: 800,
  status: 800,
  mismatches: 2000,
  metrics: 5000,
  routing: 5000,
};
/** A worker that ran at least this long is restarted at once; one that died sooner waits (1 s doubling, max 30 s). */
const STABLE_RUN_MS = 30_000;
const MAX_RESTART_DELAY_MS = 30_000;

interface Slot {
  index: number;
  worker: Worker | undefined;
  running: boolean;
  startedAt: number;
  restartDelayMs: number;
  restartTimer: NodeJS.Timeout | undefined;
}

interface Pending {
  worker: Worker;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface PrimaryHandle {
  /** SIGHUP: every worker reloads its client-facing TLS material. */
  reloadTls(): boolean;
  /** Drain every worker and wait for all to exit (the HTTP server stays up: closeHttp() closes it). */
  close(): Promise<void>;
  /** SIGKILL every worker still alive (second signal). */
  kill(): void;
  closeHttp(): Promise<void>;
  /** Resolves when the proxy cannot start (a worker failed its startup before any worker ran). */
  readonly failed: Promise<Error>;
}

export async function startPrimary(config: ProxyConfig, logger: Logger): Promise<PrimaryHandle> {
  const n = config.workers;
  const settings = RoutingSettings.fromConfig(config);
  const slots: Slot[] = [];
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let stopping = false;
  let everRunning = false;
  let fail: (e: Error) => void = () => undefined;
  const failed = new Promise<Error>((r) => (fail = r));

  const live = (): Worker[] => slots.flatMap((s) => (s.worker && s.running && s.worker.isConnected() ? [s.worker] : []));

  const request = (w: Worker, op: RequestOp, routing?: RoutingSettingsValues): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`worker ${slotOf(w)?.index ?? '?'} did not answer '${op}' within ${WORKER_REQUEST_TIMEOUT_MS[op]} ms`));
      }, WORKER_REQUEST_TIMEOUT_MS[op]);
      pending.set(id, { worker: w, resolve, reject, timer });
      const failed = (e: Error): void => {
        clearTimeout(timer);
        pending.delete(id);
        reject(e);
      };
      try {
        w.send({ zdm: 'req', id, op, routing }, undefined, undefined, (e: Error | null) => {
          if (e) failed(e);
        });
      } catch (e) {
        failed(e as Error);
      }
    });
  const slotOf = (w: Worker): Slot | undefined => slots.find((s) => s.worker === w);
  /** Ask every running worker; a worker that fails or does not answer in time counts as null. */
  const askAll = (op: Exclude<RequestOp, 'routing'>): Promise<unknown[]> =>
    Promise.all(live().map((w) => request(w, op).catch(() => null)));

  const onMessage = (w: Worker, m: WorkerMessage): void => {
    if (m.zdm === 'state') {
      const s = slotOf(w);
      if (!s) return;
      s.running = true;
      everRunning = true;
      const up = slots.filter((x) => x.running).length;
      logger.info(`Worker ${s.index} (pid ${w.process.pid}) is serving clients (${up} of ${n} workers running).`);
      return;
    }
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.data);
    else p.reject(new Error(m.error ?? 'worker error'));
  };

  const fork = (s: Slot): void => {
    s.restartTimer = undefined;
    if (stopping) return;
    const w = cluster.fork({
      [WORKER_INDEX_ENV]: String(s.index),
      [WORKER_ROUTING_ENV]: JSON.stringify(settings.snapshot()),
    });
    s.worker = w;
    s.running = false;
    s.startedAt = Date.now();
    // a send to a worker that just died fails with EPIPE: its callback reports it; never crash the primary
    w.on('error', (e: Error) => logger.debug(`Worker ${s.index}: IPC error: ${e.message}`));
    w.on('message', (m: unknown) => {
      if (isWorkerMessage(m)) onMessage(w, m);
    });
    const gone = (): void => {
      for (const [id, p] of pending)
        if (p.worker === w) {
          pending.delete(id);
          clearTimeout(p.timer);
          p.reject(new Error(`worker ${s.index} is gone`));
        }
    };
    w.on('disconnect', gone);
    w.on('exit', (code, signal) => {
      gone();
      if (s.worker !== w) return;
      s.worker = undefined;
      s.running = false;
      if (stopping) return;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (!everRunning && code === 1) {
        fail(new Error(`worker ${s.index} could not start the proxy (exit ${how}); see its log lines above`));
        return;
      }
      const ranMs = Date.now() - s.startedAt;
      s.restartDelayMs = ranMs >= STABLE_RUN_MS ? 0 : Math.min(Math.max(1000, s.restartDelayMs * 2), MAX_RESTART_DELAY_MS);
      logger.error(
        `Worker ${s.index} (pid ${w.process.pid}) exited with ${how} after ${Math.round(ranMs / 1000)} s; ` +
          `restarting it${s.restartDelayMs > 0 ? ` in ${s.restartDelayMs} ms` : ''} (readiness is DOWN until it runs).`,
      );
      s.restartTimer = setTimeout(() => fork(s), s.restartDelayMs);
    });
  };

  // ---- what the HTTP server shows
  const metrics: MetricsExposition = {
    enabled: config.settings.metrics_enabled,
    get closed() {
      return stopping && live().length === 0;
    },
    prefix: config.settings.metrics_prefix,
    contentType: Registry.PROMETHEUS_CONTENT_TYPE,
    async metricsText() {
      const answers = await askAll('metrics');
      const registries = answers.filter((a): a is Parameters<typeof AggregatorRegistry.aggregate>[0][number] => Array.isArray(a));
      return AggregatorRegistry.aggregate(registries).metrics();
    },
  };

  const health = async (): Promise<HealthSource> => {
    if (stopping || !everRunning) return STARTUP_HEALTH;
    const reports = (await askAll('health')) as (WorkerHealth | null)[];
    const ok = reports.filter((r): r is WorkerHealth => r !== null && r.Status !== 'STARTUP');
    const control = (cluster: ClusterName): ControlConnectionHealth => {
      let worst: ControlConnectionHealth | undefined;
      let worstRank = -1;
      for (const r of ok) {
        const st = pickCluster(cluster, r.OriginStatus, r.TargetStatus);
        if (!st) continue;
        const connected = st.Addr !== NOT_CONNECTED;
        const rank = st.CurrentFailureCount * 2 + (connected ? 0 : 1);
        if (rank <= worstRank) continue;
        worstRank = rank;
        worst = { cluster, consecutiveFailures: st.CurrentFailureCount, endpoint: connected ? st.Addr : undefined };
      }
      return worst ?? { cluster, consecutiveFailures: 0 };
    };
    const source: HealthSource = {
      state: 'RUNNING',
      controlConnections: ok.length > 0 ? [control('ORIGIN'), control('TARGET')] : [],
      workers: { expected: n, running: ok.length },
    };
    const journals = ok.flatMap((r) => (r.Journal ? [r.Journal] : []));
    if (journals.length > 0)
      source.journal = () => ({
        Status: journals.some((j) => j.Status === 'FAILING')
          ? 'FAILING'
          : journals.some((j) => j.Status === 'FULL')
            ? 'FULL'
            : 'OK',
        Dir: config.settings.journal_dir,
        Bytes: journals.reduce((a, j) => a + j.Bytes, 0),
        MaxBytes: journals.reduce((a, j) => a + j.MaxBytes, 0),
        Records: journals.reduce((a, j) => a + j.Records, 0),
        DroppedRecords: journals.reduce((a, j) => a + j.DroppedRecords, 0),
      });
    return source;
  };

  let statuses: WorkerStatus[] = [];
  const status: StatusSource = {
    async refresh() {
      const answers = await askAll('status');
      statuses = answers.filter((a): a is WorkerStatus => a !== null && typeof a === 'object');
    },
    clusters() {
      const out: ClusterStatus[] = [];
      for (const c of ['ORIGIN', 'TARGET'] as const) {
        const all = statuses.flatMap((s) => s.clusters.filter((x) => x.cluster === c));
        if (all.length === 0) continue;
        out.push(all.reduce((a, b) => (b.consecutiveFailures > a.consecutiveFailures || !b.endpoint ? b : a)));
      }
      return out;
    },
    journal() {
      const js = statuses.flatMap((s) => (s.journal ? [s.journal] : []));
      if (js.length === 0) return undefined;
      const j: JournalStatus = {
        dir: config.settings.journal_dir,
        bytes: js.reduce((a, x) => a + x.bytes, 0),
        maxBytes: js.reduce((a, x) => a + x.maxBytes, 0),
        records: js.reduce((a, x) => a + x.records, 0),
        full: js.some((x) => x.full),
        dropped: js.reduce((a, x) => a + x.dropped, 0),
      };
      return j;
    },
    workers: () => ({ expected: n, running: live().length }),
  };

  /** GET /api/v1/mismatches: every worker's list, tables of the same name merged (newest last). */
  const mismatches = async (): Promise<unknown> => {
    if (!config.settings.dual_read_compare_enabled || !everRunning || stopping) return undefined;
    type Table = { keyspace: string; table: string; mismatches: { at: string }[] };
    const answers = await askAll('mismatches');
    const tables = new Map<string, Table>();
    for (const a of answers) {
      for (const t of (a as { tables?: Table[] } | null)?.tables ?? []) {
        const k = `${t.keyspace}.${t.table}`;
        const have = tables.get(k);
        if (have) have.mismatches.push(...t.mismatches);
        else tables.set(k, { ...t, mismatches: [...t.mismatches] });
      }
    }
    for (const t of tables.values()) t.mismatches.sort((x, y) => x.at.localeCompare(y.at));
    return { tables: [...tables.values()] };
  };

  const broadcast = async (values: RoutingSettingsValues): Promise<void> => {
    const missing = slots.filter((s) => !s.worker?.isConnected()).map((s) => s.index);
    const results = await Promise.allSettled(
      slots.flatMap((s) => (s.worker?.isConnected() ? [request(s.worker, 'routing', values)] : [])),
    );
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    if (missing.length > 0)
      logger.warn(`Routing change: worker(s) ${missing.join(', ')} not running; they start with the new routing.`);
    if (errors.length > 0) throw new Error(errors.join('; '));
  };

  const http = await startHttpServer({
    address: config.settings.metrics_address,
    port: config.settings.metrics_port,
    metrics: () => (everRunning && !stopping ? metrics : undefined),
    metricsEnabled: config.settings.metrics_enabled,
    health,
    heartbeatFailureThreshold: config.settings.heartbeat_failure_threshold,
    admin: { token: config.settings.admin_token, routing: () => (everRunning && !stopping ? settings : undefined), broadcast },
    status: { source: () => (everRunning && !stopping ? status : undefined), version: packageVersion() },
    mismatches,
    logger,
  });

  logger.info(`proxy_workers = ${n}: starting ${n} worker processes (the primary process ${process.pid} serves no CQL).`);
  for (let i = 1; i <= n; i++) {
    const s: Slot = {
      index: i,
      worker: undefined,
      running: false,
      startedAt: 0,
      restartDelayMs: 0,
      restartTimer: undefined,
    };
    slots.push(s);
    fork(s);
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      stopping = true;
      const exits: Promise<void>[] = [];
      for (const s of slots) {
        if (s.restartTimer) clearTimeout(s.restartTimer);
        const w = s.worker;
        if (!w || w.isDead()) continue;
        exits.push(new Promise<void>((r) => w.once('exit', () => r())));
        w.send({ zdm: 'shutdown' }, undefined, undefined, (e: Error | null) => {
          if (e) w.process.kill('SIGTERM');
        });
      }
      await Promise.all(exits);
      for (const p of pending.values()) clearTimeout(p.timer);
      logger.info('All worker processes exited.');
    })();
    return closing;
  };

  return {
    reloadTls: () => {
      for (const w of live()) w.send({ zdm: 'reload-tls' }, undefined, undefined, () => undefined);
      return true;
    },
    close,
    kill: () => {
      stopping = true;
      for (const s of slots) if (s.worker && !s.worker.isDead()) s.worker.process.kill('SIGKILL');
    },
    closeHttp: () => http.close(),
    failed,
  };
}
