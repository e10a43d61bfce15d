/**
 * Shutdown of `startProxy` (upstream-spec-notes 2.9): stop accepting, drain in-flight requests (bounded by
 * shutdown_grace_period_ms), close the client connections, the journal, the control connections; then
 * /metrics and readiness fall back to their startup answers and the HTTP server (when the proxy's own) stops.
 * Also what a failed startup releases.
 */
import type { Logger } from 'pino';
import type { ClientSession } from '../frontend/client-session';
import type { ClientListener } from '../frontend/listener';
import type { WriteJournal } from '../journal/journal';
import { STARTUP_HEALTH } from '../observability/health';
import type { ProxyMetrics } from '../observability/metrics';
import { type ControlPair, stopControlConnections } from './clusters';
import type { ObservabilityServer } from './observability';
import type { DualReadComparer } from '../compare/dual-read-comparer';

/** What a startup that failed part way had started (Origin and Target control connections, journal, metrics). */
export interface StartedParts {
  obs: ObservabilityServer;
  /** The HTTP server is the proxy's own: close it. */
  ownServer: boolean;
  control?: ControlPair;
  metrics?: ProxyMetrics;
  journal?: WriteJournal;
  /** the live read comparison (dual_read_compare_enabled) */
  comparer?: DualReadComparer;
}

/** Releases what a failed startup had started. */
export async function abandonStartup(p: StartedParts): Promise<void> {
  await p.journal?.close();
  p.comparer?.close();
  if (p.control) await stopControlConnections(p.control);
  p.metrics?.close();
  if (p.ownServer) await p.obs.close();
}

export interface RunningParts extends StartedParts {
  control: ControlPair;
  metrics: ProxyMetrics;
  listener: ClientListener;
  sessions: ReadonlySet<ClientSession>;
  graceMs: number;
  logger: Logger;
  /** Called once the clusters are closed: readiness says SHUTDOWN from then on. */
  stopped: () => void;
}

/** The proxy's close(): runs the shutdown once, every call returns the same promise. */
export function shutdownOnce(p: RunningParts): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return (): Promise<void> => {
    closing ??= (async () => {
      p.logger.info('Shutting down proxy...');
      await p.listener.close();
      const drained = Promise.all([...p.sessions].map((s) => s.drain()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((r) => (timer = setTimeout(r, p.graceMs)))]);
      if (timer) clearTimeout(timer);
      for (const s of [...p.sessions]) s.close('proxy shut down', 'info');
      await p.journal?.close();
      p.comparer?.close();
      await stopControlConnections(p.control);
      // upstream-spec-notes 2.9 item 4: /metrics and readiness fall back to their startup answers, then the HTTP server stops
      p.stopped();
      p.metrics.close();
      p.obs.setMetrics(undefined);
      p.obs.setHealth(STARTUP_HEALTH);
      p.obs.setRouting(undefined);
      p.obs.setStatus(undefined);
      p.obs.setMismatches(undefined);
      if (p.ownServer) await p.obs.close();
      p.logger.info('Proxy shutdown complete.');
    })();
    return closing;
  };
}
