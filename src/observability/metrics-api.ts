// The metrics interface of the proxy and its label vocabulary: what the proxy calls (ProxyMetrics, NodeMetrics),
// the label values, and the helpers that map a routing decision or an ERROR code to them. Implementations:
// prometheus-metrics.ts (metrics_enabled) and noop-metrics.ts; the factory and the wiring notes are in metrics.ts.
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { ClusterName, FailedOn, ForwardTarget } from '../cluster';
import { ErrorCode } from '../protocol/constants';

/** Node-level metric groups: the two clusters, and the async (dual reads) connector. */
export type NodeGroup = ClusterName | 'ASYNC';
/** `type` label of the proxy-level request histogram / in-flight gauge. */
export type ProxyRequestType = 'reads_origin' | 'reads_target' | 'writes';
/** `type` label of the node-level request histograms. */
export type NodeRequestType = 'reads' | 'writes';
/** `error` label of `<X>_requests_failed_total`. */
export type NodeErrorClass =
  | 'client_timeout'
  | 'read_timeout'
  | 'read_failure'
  | 'write_timeout'
  | 'write_failure'
  | 'overloaded'
  | 'unavailable'
  | 'unprepared'
  | 'other';

export const PROXY_REQUEST_TYPES: readonly ProxyRequestType[] = Object.freeze(['reads_origin', 'reads_target', 'writes']);
export const NODE_REQUEST_TYPES: readonly NodeRequestType[] = Object.freeze(['reads', 'writes']);
export const FAILED_ON_VALUES: readonly ForwardTarget[] = Object.freeze(['origin', 'target', 'both']);
export const NODE_ERROR_CLASSES: readonly NodeErrorClass[] = Object.freeze([
  'client_timeout',
  'read_timeout',
  'read_failure',
  'write_timeout',
  'write_failure',
  'overloaded',
  'unavailable',
  'unprepared',
  'other',
]);

/** Upstream default for every `metrics_*_latency_buckets_ms` setting, in seconds. */
export const DEFAULT_LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze(
  [1, 4, 7, 10, 25, 40, 60, 80, 100, 150, 250, 500, 1000, 2500, 5000, 10000, 15000].map((ms) => ms / 1000),
);

/** ERROR code of a cluster reply -> `error` label (upstream: anything not listed is `other`). */
export function errorClassOf(code: number): NodeErrorClass {
  switch (code) {
    case ErrorCode.READ_TIMEOUT:
      return 'read_timeout';
    case ErrorCode.READ_FAILURE:
      return 'read_failure';
    case ErrorCode.WRITE_TIMEOUT:
      return 'write_timeout';
    case ErrorCode.WRITE_FAILURE:
      return 'write_failure';
    case ErrorCode.OVERLOADED:
      return 'overloaded';
    case ErrorCode.UNAVAILABLE:
      return 'unavailable';
    case ErrorCode.UNPREPARED:
      return 'unprepared';
    default:
      return 'other';
  }
}

/** Forward decision (routing `Route.to`) -> proxy-level `type` label. */
export function proxyRequestType(to: ForwardTarget): ProxyRequestType {
  return to === 'both' ? 'writes' : to === 'origin' ? 'reads_origin' : 'reads_target';
}

/** Forward decision -> node-level `type` label (`writes` when sent to both clusters, else `reads`). */
export function nodeRequestType(to: ForwardTarget): NodeRequestType {
  return to === 'both' ? 'writes' : 'reads';
}

/** Seconds elapsed since `startMs` (a `performance.now()` value). */
export function elapsedSeconds(startMs: number): number {
  return (performance.now() - startMs) / 1000;
}

/** Unprefixed metric names (upstream `proxy/pkg/metrics/*.go`). */
export const MetricNames = Object.freeze({
  proxyFailedConnections: 'proxy_failed_connections_total',
  proxyFailedReads: 'proxy_failed_reads_total',
  proxyFailedWrites: 'proxy_failed_writes_total',
  proxyRequestDuration: 'proxy_request_duration_seconds',
  proxyInflightRequests: 'proxy_inflight_requests_total',
  pscacheEntries: 'pscache_entries_total',
  pscacheMiss: 'pscache_miss_total',
  clientConnections: 'client_connections_total',
  asyncInflightRequests: 'async_inflight_requests_total',
  /** Extension (not upstream, which only logs them): async reads skipped because the async connector was
   *  saturated (in-flight limit reached, no stream id, socket congested). */
  asyncDroppedRequests: 'async_requests_dropped_total',
});
/** Node-level metrics of one (group, node): children pre-bound to their labels. */
export interface NodeMetrics {
  readonly group: NodeGroup;
  /** The `node` label: `ip:port` as dialled (or the Astra host id). */
  readonly node: string;
  /** `<x>_request_duration_seconds{node,type}`. */
  observeRequest(type: NodeRequestType, seconds: number): void;
  /** `<x>_requests_failed_total{error,node}` from a cluster ERROR code (errorClassOf). */
  requestFailed(errorCode: number): void;
  /** `<x>_requests_failed_total{error,node}` for an explicit class. */
  requestFailedWithClass(errorClass: NodeErrorClass): void;
  /** `<x>_requests_failed_total{error="client_timeout",node}`: proxy timeout without a reply from this node. */
  clientTimeout(): void;
  /** `<x>_connections_total{node}` +1 / -1. */
  connectionOpened(): void;
  connectionClosed(): void;
  /** `<x>_failed_connections_total{node}` +1. */
  connectionFailed(): void;
  /** `<x>_used_stream_ids_total{node}` +1 / -1 / +delta. */
  streamIdAcquired(): void;
  streamIdReleased(): void;
  addUsedStreamIds(delta: number): void;
  /** `async_inflight_requests_total{node}` +1 / -1 (ASYNC group only; no-op for ORIGIN/TARGET, as upstream). */
  asyncRequestStarted(): void;
  asyncRequestFinished(): void;
  /** `async_requests_dropped_total{node}` +1 (ASYNC group only; extension): an async read not sent because the
   *  async connector was saturated. */
  asyncRequestDropped(): void;
}

export interface ProxyMetrics {
  readonly enabled: boolean;
  /** `metrics_prefix` (namespace). */
  readonly prefix: string;
  /** The dedicated registry (undefined for the no-op implementation). */
  readonly registry: Registry | undefined;
  /** Content-Type of `metricsText()`. */
  readonly contentType: string;

  /** `proxy_inflight_requests_total{type}` +1 (tracked request dispatched). */
  requestStarted(type: ProxyRequestType): void;
  /** `proxy_inflight_requests_total{type}` -1 and `proxy_request_duration_seconds{type}` observes `seconds`
   *  (request completed or timed out). */
  requestFinished(type: ProxyRequestType, seconds: number): void;
  /** `proxy_inflight_requests_total{type}` -1 only (request cancelled, e.g. the client connection closed). */
  requestAbandoned(type: ProxyRequestType): void;
  /** `proxy_failed_reads_total{cluster}` +1: tracked single-cluster request answered with ERROR. */
  readFailed(cluster: ClusterName): void;
  /** `proxy_failed_writes_total{failed_on}` +1 (nothing when neither failed). */
  writeFailed(originFailed: boolean, targetFailed: boolean): void;
  /** `proxy_failed_writes_total{failed_on}` +1 for an explicit label value. */
  writeFailedOn(failedOn: FailedOn): void;
  /** `proxy_failed_connections_total{cluster}` +1: a client connection's ORIGIN/TARGET connection could not be opened. */
  clusterConnectionFailed(cluster: ClusterName): void;
  /** `pscache_miss_total` +1. */
  preparedCacheMiss(): void;
  /** Gauge functions read at scrape time. */
  setPreparedCacheEntriesSource(fn: () => number): void;
  setClientConnectionsSource(fn: () => number): void;
  /** Node-level metrics, created (and for a group's first node, registered) lazily, then cached. */
  node(group: NodeGroup, node: string): NodeMetrics;
  /** Prometheus text exposition of the registry. */
  metricsText(): Promise<string>;
  /** Unregister every metric (registry cleared); later calls are no-ops. Idempotent. */
  close(): void;
  readonly closed: boolean;
}

export interface ProxyMetricsOptions {
  /** `metrics_prefix`, default `zdm`. */
  prefix?: string;
  /** Bucket upper bounds in seconds; each defaults to DEFAULT_LATENCY_BUCKETS_SECONDS. */
  buckets?: { origin?: readonly number[]; target?: readonly number[]; asyncRead?: readonly number[] };
  /** Register prom-client's default process/Node.js collectors on the registry (default true). */
  defaultCollectors?: boolean;
}

/** Minimal view of ProxyConfig used here (see src/config/types.ts). */
export interface MetricsConfigView {
  readonly settings: { readonly metrics_enabled: boolean; readonly metrics_prefix: string };
  readonly latencyBuckets: {
    readonly origin: readonly number[];
    readonly target: readonly number[];
    readonly asyncRead: readonly number[];
  };
}
