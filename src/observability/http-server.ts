// HTTP server for metrics and health (upstream-spec-notes 6.3, `runner.go`, `health/health.go`, `httpzdmproxy/*.go`).
// Plain HTTP on metrics_address:metrics_port, started before the proxy and stopped last.
//
//   /metrics           Prometheus text of the proxy's registry (any method). 503 `Proxy metrics haven't been
//                      initialized yet.` while `metrics()` returns undefined (startup retries, after shutdown) or a
//                      closed instance; 404 `Metrics are disabled on this proxy instance.` with metrics_enabled=false.
//   /health/liveness   200 `OK` (any method, also during startup).
//   /health/readiness  GET only (other methods 404): JSON report, 200 UP / 503 DOWN or STARTUP (health.ts).
//   /api/v1/routing    extension: GET the routing state, POST a change with the admin token (admin-api.ts).
//   /api/v1/mismatches extension: GET the latest confirmed mismatches of the live read comparison, JSON
//                      `{ enabled, tables: [{ keyspace, table, mismatches: [...] }] }` (no token, like /metrics).
//   /                  extension: the status page (GET; status-page.ts), when `status` is given.
//   anything else      404 `404 page not found` (Go default mux).
// If the port cannot be bound, an error is logged and the returned handle has `listening: false`: the proxy keeps
// running without the HTTP server (as upstream).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { livenessResponse, readinessResponse, type HealthSource } from './health';
import { ROUTING_PATH, handleRoutingApi, type AdminApiOptions } from './admin-api';
import { MetricsSampler, renderStatusPage, type MetricsExposition, type StatusSource } from './status-page';

export const METRICS_NOT_INITIALIZED = "Proxy metrics haven't been initialized yet.";
export const METRICS_DISABLED = 'Metrics are disabled on this proxy instance.';
/** Go's `http.NotFound` body. */
export const NOT_FOUND_BODY = '404 page not found';
/** The live read comparison's mismatch list (extension). */
export const MISMATCHES_PATH = '/api/v1/mismatches';

export interface HttpServerOptions {
  /** metrics_address */
  address: string;
  /** metrics_port (0 = any free port, for tests) */
  port: number;
  /** Current metrics: undefined before the proxy is up (and after its shutdown). */
  metrics?: () => MetricsExposition | undefined;
  /** metrics_enabled; false -> /metrics answers 404 even before the proxy is up. Default true. */
  metricsEnabled?: boolean;
  /** Current health source: `STARTUP_HEALTH` (or undefined) before the proxy is up (a promise: proxy_workers > 1). */
  health: () => HealthSource | undefined | Promise<HealthSource | undefined>;
  /** heartbeat_failure_threshold (default 1). */
  heartbeatFailureThreshold?: number;
  logger: Pick<Logger, 'error' | 'info' | 'debug' | 'warn'>;
  /** The routing admin API (GET/POST /api/v1/routing); absent = 404. */
  admin?: Omit<AdminApiOptions, 'logger'>;
  /** The live read comparison's confirmed mismatches (GET /api/v1/mismatches); undefined when it is off. */
  mismatches?: () => unknown | Promise<unknown>;
  /** The status page (GET /); absent = 404. */
  status?: { source: () => StatusSource | undefined; version: string; refreshSeconds?: number; sampleIntervalMs?: number };
  /** Grace period of close() before open keep-alive/in-progress connections are destroyed (default 5000 ms). */
  closeGraceMs?: number;
}

export interface HttpServerHandle {
  /** Bound port (0 when not listening). */
  readonly port: number;
  readonly listening: boolean;
  close(): Promise<void>;
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  // Go's http.Error: text/plain, nosniff, message + "\n".
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(`${text}\n`);
}

function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function startHttpServer(opts: HttpServerOptions): Promise<HttpServerHandle> {
  const threshold = opts.heartbeatFailureThreshold ?? 1;
  const log = opts.logger;

  const handleMetrics = (res: http.ServerResponse): void => {
    if (opts.metricsEnabled === false) return sendText(res, 404, METRICS_DISABLED);
    const m = opts.metrics?.();
    if (!m || m.closed) return sendText(res, 503, METRICS_NOT_INITIALIZED);
    if (!m.enabled) return sendText(res, 404, METRICS_DISABLED);
    m.metricsText().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': m.contentType });
        res.end(text);
      },
      (err: unknown) => {
        log.error({ err }, 'Could not collect metrics');
        if (!res.headersSent) sendText(res, 500, 'Internal server error');
        else res.destroy();
      },
    );
  };

  const sampler = opts.status ? new MetricsSampler(() => opts.metrics?.(), opts.status.sampleIntervalMs ?? 5000) : undefined;
  sampler?.start();
  const handleStatus = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const st = opts.status;
    if (!st || !sampler || (req.method !== 'GET' && req.method !== 'HEAD')) return sendText(res, 404, NOT_FOUND_BODY);
    void Promise.all([sampler.sample(), st.source()?.refresh?.()])
      .then(() => {
        const m = opts.metrics?.();
        const html = renderStatusPage({
          now: new Date(),
          version: st.version,
          refreshSeconds: st.refreshSeconds ?? 5,
          routing: opts.admin?.routing(),
          source: st.source(),
          heartbeatFailureThreshold: threshold,
          prefix: m?.enabled && !m.closed ? m.prefix : undefined,
          window: sampler.window(),
        });
        res.writeHead(200, {
          'Content-Type': 'text/html; charset=utf-8',
          'Cache-Control': 'no-store',
          'X-Content-Type-Options': 'nosniff',
        });
        res.end(req.method === 'HEAD' ? undefined : html);
      })
      .catch((err: unknown) => {
        log.error({ err }, 'Could not render the status page');
        if (!res.headersSent) sendText(res, 500, 'Internal server error');
        else res.destroy();
      });
  };

  const server = http.createServer((req, res) => {
    try {
      switch (pathOf(req.url)) {
        case '/':
          return handleStatus(req, res);
        case '/metrics':
          return handleMetrics(res);
        case '/health/liveness': {
          const r = livenessResponse();
          res.writeHead(r.statusCode, { 'Content-Type': r.contentType });
          return void res.end(r.body);
        }
        case '/health/readiness': {
          if (req.method !== 'GET') return sendText(res, 404, NOT_FOUND_BODY);
          const answer = (source: HealthSource | undefined): void => {
            const r = readinessResponse(source, threshold);
            res.writeHead(r.statusCode, { 'Content-Type': r.contentType });
            res.end(r.body);
          };
          const h = opts.health();
          if (!(h instanceof Promise)) return answer(h);
          return void h.then(answer, (err: unknown) => {
            log.error({ err }, 'Could not collect the readiness report');
            if (!res.headersSent) sendText(res, 500, 'Internal server error');
          });
        }
        case MISMATCHES_PATH: {
          if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Method Not Allowed');
          void Promise.resolve(opts.mismatches?.()).then(
            (m) => {
              const body = JSON.stringify(m ? { enabled: true, ...(m as object) } : { enabled: false, tables: [] });
              res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
              res.end(req.method === 'HEAD' ? undefined : body);
            },
            (err: unknown) => {
              log.error({ err }, 'Could not collect the mismatch list');
              if (!res.headersSent) sendText(res, 500, 'Internal server error');
            },
          );
          return;
        }
        case ROUTING_PATH:
          if (!opts.admin) return sendText(res, 404, NOT_FOUND_BODY);
          return handleRoutingApi(req, res, { ...opts.admin, logger: log });
        default:
          return sendText(res, 404, NOT_FOUND_BODY);
      }
    } catch (err) {
      log.error({ err }, 'Error while handling an HTTP request on the metrics/health endpoint');
      if (!res.headersSent) sendText(res, 500, 'Internal server error');
      else res.destroy();
    }
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    else socket.destroy();
  });

  let closing: Promise<void> | undefined;
  const makeHandle = (port: number, listening: boolean): HttpServerHandle => ({
    port,
    listening,
    close(): Promise<void> {
      if (!listening) return Promise.resolve();
      if (closing) return closing;
      sampler?.stop();
      closing = new Promise<void>((resolve) => {
        const grace = setTimeout(() => server.closeAllConnections(), opts.closeGraceMs ?? 5000);
        grace.unref();
        server.close(() => {
          clearTimeout(grace);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  });

  return new Promise<HttpServerHandle>((resolve) => {
    const onError = (err: Error) => {
      sampler?.stop();
      log.error(
        { err },
        `Failed to start the HTTP server (metrics and health checks) on ${opts.address}:${opts.port}: ${err.message}. ` +
          'The proxy will keep running without it.',
      );
      resolve(makeHandle(0, false));
    };
    server.once('error', onError);
    server.listen(opts.port, opts.address, () => {
      server.off('error', onError);
      server.on('error', (err) => log.error({ err }, `HTTP server (metrics and health checks) error: ${err.message}`));
      const port = (server.address() as AddressInfo).port;
      log.info(`Started the HTTP server (metrics and health checks) on ${opts.address}:${port}`);
      resolve(makeHandle(port, true));
    });
  });
}
