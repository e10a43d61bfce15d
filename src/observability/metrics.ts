// Prometheus metrics of the proxy (upstream-spec-notes 6.1, 6.2): names, types, labels and help texts as
// datastax/zdm-proxy v2.4 (`proxy/pkg/metrics/*.go`), exposed as `<metrics_prefix>_<name>`.
//
// One `PrometheusProxyMetrics` per proxy instance, on its OWN prom-client Registry (several proxies in one
// process do not collide), plus the default process/Node.js collectors on that registry (upstream shows
// the go_* / process_* collectors of the default Go registry). `metrics_enabled=false` -> `NoopProxyMetrics`
// (same interface, every call does nothing, `/metrics` answers 404). Create with `createProxyMetrics(config)`.
//
// ─────────────────────────────────────────────────────────────────────────────────────────────────────────
// WIRING: which call the proxy makes, and where (all calls are cheap: no label objects are built per call)
// Per-request calls touch no prom-client object at all: in-flight gauges, used stream ids and the request
// duration histograms are plain numbers (PlainGauge, HistogramSeries) published at scrape time (gauge
// `collect()`, PlainHistogram#getForPromString); the exposition is the same as prom-client children give.
// ─────────────────────────────────────────────────────────────────────────────────────────────────────────
// Timing: `const t0 = performance.now()` at request receipt; `elapsedSeconds(t0)` gives the seconds to record.
// "Tracked" request = routing `Route.tracking !== 'none'` (upstream-spec-notes 4.1: handshake, OPTIONS, PREPARE, REGISTER,
// intercepted system.local/peers are NOT tracked). Untracked requests make no request metric calls.
//
// Proxy start (`startProxy`):
//   const metrics = createProxyMetrics(config)                    // registers the proxy-level metrics at 0
//   metrics.setClientConnectionsSource(() => listener.activeCount) // zdm_client_connections_total (gauge func)
//   metrics.setPreparedCacheEntriesSource(() => cache.size)        // zdm_pscache_entries_total (gauge func)
//   hand `() => metrics` to startHttpServer (it answers 503 until then).
// Proxy shutdown (after control connections closed): `metrics.close()` (unregisters everything; later calls are no-ops).
//
// Client connection setup (upstream-spec-notes 2.4), per cluster connection dialled for the client (ORIGIN, TARGET, ASYNC):
//   const nm = metrics.node('ORIGIN', `${host}:${port}`)   // cached per (cluster, node): keep it on the connection
//   success: nm.connectionOpened()          close of that connection: nm.connectionClosed()   (exactly once each)
//   dial failure (ORIGIN/TARGET): nm.connectionFailed(); metrics.clusterConnectionFailed('ORIGIN'|'TARGET')
//   dial failure (ASYNC): nm.connectionFailed() only (no proxy-level counter for async).
//   Control connections are NOT counted.
//
// Tracked request dispatched to the clusters (route.to = 'origin' | 'target' | 'both'):
//   const type = proxyRequestType(route.to)            // 'reads_origin' | 'reads_target' | 'writes'
//   const nodeType = nodeRequestType(route.to)         // 'reads' | 'writes'  (both -> writes)
//   metrics.requestStarted(type)                       // zdm_proxy_inflight_requests_total{type} +1
//   each reply from cluster C (tracked): nmC.observeRequest(nodeType, elapsedSeconds(t0))
//     and, if the reply is an ERROR with code `code`: nmC.requestFailed(code)   (error class from the code)
//   completion (all expected replies arrived) OR proxy timeout:
//     metrics.requestFinished(type, elapsedSeconds(t0)) // inflight -1 and proxy latency histogram
//   proxy timeout: for each cluster that had not replied: nmC.clientTimeout()
//   cancelled without completion (connection closed): metrics.requestAbandoned(type) (inflight -1 only)
//   reply chosen (upstream-spec-notes 5.1), tracked only:
//     single cluster answered ERROR: metrics.readFailed('ORIGIN'|'TARGET')      (zdm_proxy_failed_reads_total{cluster})
//     `both` with error(s):          metrics.writeFailed(originFailed, targetFailed)  (failed_on=origin|target|both)
//
// Stream ids (upstream-spec-notes 2.5), on every client-side cluster connection (ORIGIN, TARGET, ASYNC):
//   synthetic id taken: nm.streamIdAcquired()   id freed (reply, late reply, or connection close): nm.streamIdReleased()
//   (or nm.addUsedStreamIds(delta) in bulk, e.g. -usedStreamIds when the connection closes). The gauge is the sum
//   over all connections to that node.
//
// Prepared statement cache (upstream-spec-notes 4.5): EXECUTE (or a BATCH child) whose id is not in the cache ->
//   metrics.preparedCacheMiss()   (zdm_pscache_miss_total); the entries gauge reads the source function on scrape.
//
// Async dual reads (upstream-spec-notes 5.4), on the ASYNC node metrics `am = metrics.node('ASYNC', node)`, tracked requests only:
//   sent: am.asyncRequestStarted()                      (zdm_async_inflight_requests_total{node} +1)
//   reply: am.asyncRequestFinished(); am.observeRequest(nodeType, elapsedSeconds(t0)); ERROR -> am.requestFailed(code)
//   async timeout: am.asyncRequestFinished(); am.clientTimeout()
//   Skipped async requests (no stream id, queue full, not READY) have no metric upstream: only logs.
//   `zdm_async_*` families appear only once `node('ASYNC', ..)` was called (absent in PRIMARY_ONLY, as upstream).
// ─────────────────────────────────────────────────────────────────────────────────────────────────────────
// The pieces: metrics-api.ts (interface and label vocabulary), prometheus-metrics.ts, noop-metrics.ts,
// plain-histogram.ts (plain-number series published at scrape time). This module re-exports them.
import * as api from './metrics-api';
import type { MetricsConfigView, ProxyMetrics } from './metrics-api';
import { NoopProxyMetrics } from './noop-metrics';
import { PrometheusProxyMetrics } from './prometheus-metrics';

// The values as aliases (`export import`): CommonJS output then holds plain values, where `export *` makes a
// getter run on every use (elapsedSeconds, proxyRequestType and nodeRequestType run per request). Types as they are.
export type * from './metrics-api';
export import PROXY_REQUEST_TYPES = api.PROXY_REQUEST_TYPES;
export import NODE_REQUEST_TYPES = api.NODE_REQUEST_TYPES;
export import FAILED_ON_VALUES = api.FAILED_ON_VALUES;
export import NODE_ERROR_CLASSES = api.NODE_ERROR_CLASSES;
export import DEFAULT_LATENCY_BUCKETS_SECONDS = api.DEFAULT_LATENCY_BUCKETS_SECONDS;
export import errorClassOf = api.errorClassOf;
export import proxyRequestType = api.proxyRequestType;
export import nodeRequestType = api.nodeRequestType;
export import elapsedSeconds = api.elapsedSeconds;
export import MetricNames = api.MetricNames;
export { NoopProxyMetrics } from './noop-metrics';
export { PrometheusProxyMetrics } from './prometheus-metrics';

/** `metrics_enabled` -> PrometheusProxyMetrics on a fresh registry, else NoopProxyMetrics. */
export function createProxyMetrics(config: MetricsConfigView, opts: { defaultCollectors?: boolean } = {}): ProxyMetrics {
  const prefix = config.settings.metrics_prefix;
  if (!config.settings.metrics_enabled) return new NoopProxyMetrics(prefix);
  return new PrometheusProxyMetrics({ prefix, buckets: config.latencyBuckets, defaultCollectors: opts.defaultCollectors });
}
