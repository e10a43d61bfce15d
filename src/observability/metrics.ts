// Prometheus metrics of the proxy (upstream spec 6.1, 6.2): names, types, labels and help texts as
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
// "Tracked" request = routing `Route.tracking !== 'none'` (spec 4.1: handshake, OPTIONS, PREPARE, REGISTER,
// intercepted system.local/peers are NOT tracked). Untracked requests make no request metric calls.
//
// Proxy start (`startProxy`):
//   const metrics = createProxyMetrics(config)                    // registers the proxy-level metrics at 0
//   metrics.setClientConnectionsSource(() => listener.activeCount) // zdm_client_connections_total (gauge func)
//   metrics.setPreparedCacheEntriesSource(() => cache.size)        // zdm_pscache_entries_total (gauge func)
//   hand `() => metrics` to startHttpServer (it answers 503 until then).
// Proxy shutdown (after control connections closed): `metrics.close()` (unregisters everything; later calls are no-ops).
//
// Client connection setup (spec 2.4), per cluster connection dialled for the client (ORIGIN, TARGET, ASYNC):
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
//   reply chosen (spec 5.1), tracked only:
//     single cluster answered ERROR: metrics.readFailed('ORIGIN'|'TARGET')      (zdm_proxy_failed_reads_total{cluster})
//     `both` with error(s):          metrics.writeFailed(originFailed, targetFailed)  (failed_on=origin|target|both)
//
// Stream ids (spec 2.5), on every client-side cluster connection (ORIGIN, TARGET, ASYNC):
//   synthetic id taken: nm.streamIdAcquired()   id freed (reply, late reply, or connection close): nm.streamIdReleased()
//   (or nm.addUsedStreamIds(delta) in bulk, e.g. -usedStreamIds when the connection closes). The gauge is the sum
//   over all connections to that node.
//
// Prepared statement cache (spec 4.5): EXECUTE (or a BATCH child) whose id is not in the cache ->
//   metrics.preparedCacheMiss()   (zdm_pscache_miss_total); the entries gauge reads the source function on scrape.
//
// Async dual reads (spec 5.4), on the ASYNC node metrics `am = metrics.node('ASYNC', node)`, tracked requests only:
//   sent: am.asyncRequestStarted()                      (zdm_async_inflight_requests_total{node} +1)
//   reply: am.asyncRequestFinished(); am.observeRequest(nodeType, elapsedSeconds(t0)); ERROR -> am.requestFailed(code)
//   async timeout: am.asyncRequestFinished(); am.clientTimeout()
//   Skipped async requests (no stream id, queue full, not READY) have no metric upstream: only logs.
//   `zdm_async_*` families appear only once `node('ASYNC', ..)` was called (absent in PRIMARY_ONLY, as upstream).
// ─────────────────────────────────────────────────────────────────────────────────────────────────────────
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type HistogramConfiguration } from 'prom-client';
import { ErrorCode } from '../protocol/constants';

export type MetricsClusterName = 'ORIGIN' | 'TARGET';
/** Node-level metric groups: the two clusters, and the async (dual reads) connector. */
export type NodeGroup = 'ORIGIN' | 'TARGET' | 'ASYNC';
/** `type` label of the proxy-level request histogram / in-flight gauge. */
export type ProxyRequestType = 'reads_origin' | 'reads_target' | 'writes';
/** `type` label of the node-level request histograms. */
export type NodeRequestType = 'reads' | 'writes';
/** `failed_on` label of zdm_proxy_failed_writes_total. */
export type FailedOn = 'origin' | 'target' | 'both';
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
export const FAILED_ON_VALUES: readonly FailedOn[] = Object.freeze(['origin', 'target', 'both']);
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
export function proxyRequestType(to: 'origin' | 'target' | 'both'): ProxyRequestType {
  return to === 'both' ? 'writes' : to === 'origin' ? 'reads_origin' : 'reads_target';
}

/** Forward decision -> node-level `type` label (`writes` when sent to both clusters, else `reads`). */
export function nodeRequestType(to: 'origin' | 'target' | 'both'): NodeRequestType {
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

interface NodeGroupSpec {
  readonly prefix: 'origin' | 'target' | 'async';
  readonly failedHelp: string;
  readonly durationHelp: string;
  readonly connectionsHelp: string;
  readonly failedConnectionsHelp: string;
  readonly usedStreamIdsHelp: string;
}

const NODE_GROUPS: Readonly<Record<NodeGroup, NodeGroupSpec>> = Object.freeze({
  ORIGIN: {
    prefix: 'origin',
    failedHelp: 'Running total of requests that failed on Origin Cluster',
    durationHelp: 'Histogram that tracks the latency of requests sent to origin clusters at cluster connector level',
    connectionsHelp: 'Number of connections to Origin Cassandra currently open',
    failedConnectionsHelp: 'Number of failed connection attempts to Origin Cassandra',
    usedStreamIdsHelp: 'Number of used stream ids in Origin connections',
  },
  TARGET: {
    prefix: 'target',
    failedHelp: 'Running total of requests that failed on Target Cluster',
    durationHelp: 'Histogram that tracks the latency of requests sent to target clusters at cluster connector level',
    connectionsHelp: 'Number of connections to Target Cassandra currently open',
    failedConnectionsHelp: 'Number of failed connection attempts to Target Cassandra',
    usedStreamIdsHelp: 'Number of used stream ids in Target connections',
  },
  ASYNC: {
    prefix: 'async',
    failedHelp: 'Running total of requests that failed on Async Connector',
    durationHelp: 'Histogram that tracks the latency of async requests at async cluster connector level',
    connectionsHelp: 'Number of connections currently open for async requests',
    failedConnectionsHelp: 'Number of failed connection attempts for async requests',
    usedStreamIdsHelp: 'Number of used stream ids in Async connections',
  },
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
  readFailed(cluster: MetricsClusterName): void;
  /** `proxy_failed_writes_total{failed_on}` +1 (nothing when neither failed). */
  writeFailed(originFailed: boolean, targetFailed: boolean): void;
  /** `proxy_failed_writes_total{failed_on}` +1 for an explicit label value. */
  writeFailedOn(failedOn: FailedOn): void;
  /** `proxy_failed_connections_total{cluster}` +1: a client connection's ORIGIN/TARGET connection could not be opened. */
  clusterConnectionFailed(cluster: MetricsClusterName): void;
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

// ─── no-op ──────────────────────────────────────────────────────────────────────────────────────────────

const noop = (): void => {};

class NoopNodeMetrics implements NodeMetrics {
  constructor(
    readonly group: NodeGroup,
    readonly node: string,
  ) {}
  observeRequest: NodeMetrics['observeRequest'] = noop;
  requestFailed: NodeMetrics['requestFailed'] = noop;
  requestFailedWithClass: NodeMetrics['requestFailedWithClass'] = noop;
  clientTimeout: NodeMetrics['clientTimeout'] = noop;
  connectionOpened: NodeMetrics['connectionOpened'] = noop;
  connectionClosed: NodeMetrics['connectionClosed'] = noop;
  connectionFailed: NodeMetrics['connectionFailed'] = noop;
  streamIdAcquired: NodeMetrics['streamIdAcquired'] = noop;
  streamIdReleased: NodeMetrics['streamIdReleased'] = noop;
  addUsedStreamIds: NodeMetrics['addUsedStreamIds'] = noop;
  asyncRequestStarted: NodeMetrics['asyncRequestStarted'] = noop;
  asyncRequestFinished: NodeMetrics['asyncRequestFinished'] = noop;
  asyncRequestDropped: NodeMetrics['asyncRequestDropped'] = noop;
}

const NOOP_NODES: Readonly<Record<NodeGroup, NodeMetrics>> = Object.freeze({
  ORIGIN: new NoopNodeMetrics('ORIGIN', ''),
  TARGET: new NoopNodeMetrics('TARGET', ''),
  ASYNC: new NoopNodeMetrics('ASYNC', ''),
});

/** `metrics_enabled=false`: same interface, nothing recorded, nothing registered. */
export class NoopProxyMetrics implements ProxyMetrics {
  readonly enabled = false;
  readonly registry = undefined;
  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';
  closed = false;
  constructor(readonly prefix = 'zdm') {}
  requestStarted: ProxyMetrics['requestStarted'] = noop;
  requestFinished: ProxyMetrics['requestFinished'] = noop;
  requestAbandoned: ProxyMetrics['requestAbandoned'] = noop;
  readFailed: ProxyMetrics['readFailed'] = noop;
  writeFailed: ProxyMetrics['writeFailed'] = noop;
  writeFailedOn: ProxyMetrics['writeFailedOn'] = noop;
  clusterConnectionFailed: ProxyMetrics['clusterConnectionFailed'] = noop;
  preparedCacheMiss: ProxyMetrics['preparedCacheMiss'] = noop;
  setPreparedCacheEntriesSource: ProxyMetrics['setPreparedCacheEntriesSource'] = noop;
  setClientConnectionsSource: ProxyMetrics['setClientConnectionsSource'] = noop;
  node(group: NodeGroup, _node?: string): NodeMetrics {
    return NOOP_NODES[group];
  }
  metricsText(): Promise<string> {
    return Promise.resolve('');
  }
  close(): void {
    this.closed = true;
  }
}

// ─── Prometheus ─────────────────────────────────────────────────────────────────────────────────────────

interface CounterChild {
  inc(value?: number): void;
}
interface GaugeChild {
  inc(value?: number): void;
  dec(value?: number): void;
}
interface HistogramChild {
  observe(value: number): void;
}

/**
 * One series of a PlainHistogram: per-bucket counts (not cumulative), sum and count in plain numbers.
 * `observe` is what prom-client's child does (same bucket choice, same summation order), minus the label
 * validation and hashing it repeats on every call.
 */
class HistogramSeries implements HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
  exemplar: null | undefined;
}

/**
 * A prom-client Histogram (same constructor, name/help/type/bucket validation, registration) whose series
 * are kept in plain numbers (`HistogramSeries`) and published only at scrape time: `getForPromString()` and
 * `get()` return exactly what prom-client 15's Histogram returns for the same observations (series in
 * creation order; cumulative `le` buckets, `+Inf`, `_sum`, `_count`). Series are created with `series()`;
 * the inherited `observe()`/`labels()` are not used (their values would not be exported).
 */
class PlainHistogram<T extends string> extends Histogram<T> {
  private readonly plainSeries: HistogramSeries[] = [];
  private readonly bounds: readonly number[];
  private readonly metricName: string;
  private readonly metricHelp: string;

  constructor(config: HistogramConfiguration<T> & { buckets: number[] }) {
    super(config);
    this.bounds = Object.freeze([...config.buckets]);
    this.metricName = config.name;
    this.metricHelp = config.help;
  }

  /** A new series (exported at 0 until observed); call once per label set and keep it. */
  series(labels: Record<T, string>): HistogramSeries {
    const s = new HistogramSeries(Object.freeze({ ...labels }) as Record<string, string>, this.bounds);
    this.plainSeries.push(s);
    return s;
  }

  private exportValues(): ExportedValue[] {
    const name = this.metricName;
    const bucketName = `${name}_bucket`;
    const out: ExportedValue[] = [];
    for (const s of this.plainSeries) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        out.push({ labels: { le: this.bounds[i]! }, sharedLabels: s.labels, value: acc, metricName: bucketName, exemplar: null });
      }
      out.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucketName, exemplar: null });
      out.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${name}_sum`, exemplar: undefined });
      out.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${name}_count`, exemplar: undefined });
    }
    return out;
  }

  /** What the registry calls for the text exposition (prom-client 15 Histogram#getForPromString). */
  async getForPromString(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    values: ExportedValue[];
    aggregator: unknown;
  }> {
    const aggregator = (this as unknown as { aggregator: unknown }).aggregator;
    return { name: this.metricName, help: this.metricHelp, type: 'histogram', values: this.exportValues(), aggregator };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override async get(): Promise<any> {
    const data = await this.getForPromString();
    const values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return { ...data, values };
  }

  override reset(): void {
    super.reset();
    // also called by prom-client's Metric constructor, before this class's fields exist
    const series = this.plainSeries as HistogramSeries[] | undefined;
    if (series) for (const s of series) s.reset();
  }
}

/** A plain number read by a gauge's collect() at scrape time (no prom-client call per update). */
class PlainGauge implements GaugeChild {
  value = 0;
  inc(v = 1): void {
    this.value += v;
  }
  dec(v = 1): void {
    this.value -= v;
  }
}

/** Registered families of one node group (created when the group's first node is seen). */
interface NodeFamilies {
  failed: Counter<'error' | 'node'>;
  duration: PlainHistogram<'node' | 'type'>;
  connections: Gauge<'node'>;
  failedConnections: Counter<'node'>;
  usedStreamIds: Gauge<'node'>; // read from PromNodeMetrics.usedIds at scrape time
  inflight: Gauge<'node'> | undefined; // ASYNC only; read from PromNodeMetrics.asyncInflight at scrape time
  dropped: Counter<'node'> | undefined; // ASYNC only
}

class PromNodeMetrics implements NodeMetrics {
  private readonly failed: Record<NodeErrorClass, CounterChild>;
  private readonly reads: HistogramSeries;
  private readonly writes: HistogramSeries;
  private readonly connections: GaugeChild;
  private readonly failedConnections: CounterChild;
  /** plain numbers, published by the families' collect() at scrape time */
  readonly usedIds = new PlainGauge();
  readonly asyncInflight: PlainGauge | undefined;
  private readonly dropped: CounterChild | undefined;
  private readonly owner: PrometheusProxyMetrics;

  constructor(
    owner: PrometheusProxyMetrics,
    readonly group: NodeGroup,
    readonly node: string,
    f: NodeFamilies,
  ) {
    this.owner = owner;
    const failed = {} as Record<NodeErrorClass, CounterChild>;
    for (const error of NODE_ERROR_CLASSES) {
      const labels = { error, node };
      f.failed.inc(labels, 0); // the series exists at 0, as upstream's vec.With(...)
      failed[error] = f.failed.labels(labels);
    }
    this.failed = failed;
    const nodeLabels = { node };
    const series = {} as Record<NodeRequestType, HistogramSeries>;
    for (const type of NODE_REQUEST_TYPES) series[type] = f.duration.series({ node, type });
    this.reads = series.reads;
    this.writes = series.writes;
    f.connections.set(nodeLabels, 0);
    this.connections = f.connections.labels(nodeLabels);
    f.failedConnections.inc(nodeLabels, 0);
    this.failedConnections = f.failedConnections.labels(nodeLabels);
    f.usedStreamIds.set(nodeLabels, 0); // series order = node creation order, as before
    if (f.inflight) {
      f.inflight.set(nodeLabels, 0);
      this.asyncInflight = new PlainGauge();
    }
    if (f.dropped) {
      f.dropped.inc(nodeLabels, 0);
      this.dropped = f.dropped.labels(nodeLabels);
    }
  }

  observeRequest(type: NodeRequestType, seconds: number): void {
    if (this.owner.closed) return;
    (type === 'writes' ? this.writes : this.reads).observe(seconds);
  }
  requestFailed(errorCode: number): void {
    if (this.owner.closed) return;
    this.failed[errorClassOf(errorCode)].inc();
  }
  requestFailedWithClass(errorClass: NodeErrorClass): void {
    if (this.owner.closed) return;
    this.failed[errorClass].inc();
  }
  clientTimeout(): void {
    if (this.owner.closed) return;
    this.failed.client_timeout.inc();
  }
  connectionOpened(): void {
    if (!this.owner.closed) this.connections.inc();
  }
  connectionClosed(): void {
    if (!this.owner.closed) this.connections.dec();
  }
  connectionFailed(): void {
    if (!this.owner.closed) this.failedConnections.inc();
  }
  streamIdAcquired(): void {
    if (!this.owner.closed) this.usedIds.value++;
  }
  streamIdReleased(): void {
    if (!this.owner.closed) this.usedIds.value--;
  }
  addUsedStreamIds(delta: number): void {
    if (!this.owner.closed) this.usedIds.value += delta;
  }
  asyncRequestStarted(): void {
    if (!this.owner.closed && this.asyncInflight) this.asyncInflight.value++;
  }
  asyncRequestFinished(): void {
    if (!this.owner.closed && this.asyncInflight) this.asyncInflight.value--;
  }
  asyncRequestDropped(): void {
    if (!this.owner.closed && this.dropped) this.dropped.inc();
  }
}

function checkBuckets(name: string, buckets: readonly number[]): number[] {
  if (buckets.length === 0) throw new RangeError(`metrics: ${name} latency buckets are empty`);
  for (let i = 0; i < buckets.length; i++) {
    if (!Number.isFinite(buckets[i]))
      throw new RangeError(`metrics: ${name} latency bucket ${buckets[i]} is not a finite number`);
    if (i > 0 && !(buckets[i] > buckets[i - 1]))
      throw new RangeError(`metrics: ${name} latency buckets must be strictly increasing: ${buckets.join(', ')}`);
  }
  return [...buckets];
}

export class PrometheusProxyMetrics implements ProxyMetrics {
  readonly enabled = true;
  readonly prefix: string;
  readonly registry: Registry;
  readonly buckets: {
    readonly origin: readonly number[];
    readonly target: readonly number[];
    readonly asyncRead: readonly number[];
  };
  closed = false;

  /** plain numbers, published by the gauge's collect() at scrape time */
  private readonly inflight: Record<ProxyRequestType, PlainGauge>;
  private readonly durations: Record<ProxyRequestType, HistogramSeries>;
  private readonly failedReadsOrigin: CounterChild;
  private readonly failedReadsTarget: CounterChild;
  private readonly failedWrites: Record<FailedOn, CounterChild>;
  private readonly failedConnOrigin: CounterChild;
  private readonly failedConnTarget: CounterChild;
  private readonly psMiss: Counter;
  private psEntriesFn: () => number = () => 0;
  private clientConnsFn: () => number = () => 0;
  private readonly families = new Map<NodeGroup, NodeFamilies>();
  private readonly nodes: Record<NodeGroup, Map<string, PromNodeMetrics>> = {
    ORIGIN: new Map(),
    TARGET: new Map(),
    ASYNC: new Map(),
  };

  constructor(opts: ProxyMetricsOptions = {}) {
    this.prefix = opts.prefix ?? 'zdm';
    this.buckets = Object.freeze({
      origin: checkBuckets('origin', opts.buckets?.origin ?? DEFAULT_LATENCY_BUCKETS_SECONDS),
      target: checkBuckets('target', opts.buckets?.target ?? DEFAULT_LATENCY_BUCKETS_SECONDS),
      asyncRead: checkBuckets('async read', opts.buckets?.asyncRead ?? DEFAULT_LATENCY_BUCKETS_SECONDS),
    });
    const registry = (this.registry = new Registry());
    const p = (n: string) => `${this.prefix}_${n}`;

    const failedConnections = new Counter({
      name: p(MetricNames.proxyFailedConnections),
      help: 'Running total of failed requests due to inability to connect to given cluster',
      labelNames: ['cluster'] as const,
      registers: [registry],
    });
    const failedReads = new Counter({
      name: p(MetricNames.proxyFailedReads),
      help: 'Running total of failed reads',
      labelNames: ['cluster'] as const,
      registers: [registry],
    });
    const failedWrites = new Counter({
      name: p(MetricNames.proxyFailedWrites),
      help: 'Running total of failed writes',
      labelNames: ['failed_on'] as const,
      registers: [registry],
    });
    // Upstream registers one family for all three types; the first registration (reads_origin, ORIGIN buckets)
    // wins, so every proxy-level series uses the ORIGIN buckets.
    const duration = new PlainHistogram({
      name: p(MetricNames.proxyRequestDuration),
      help: 'Histogram that tracks the latency of requests at proxy entry point',
      labelNames: ['type'] as const,
      buckets: [...this.buckets.origin],
      registers: [registry],
    });
    const self = this;
    const inflight = new Gauge({
      name: p(MetricNames.proxyInflightRequests),
      help: 'Number of requests currently in flight in the proxy',
      labelNames: ['type'] as const,
      registers: [registry],
      collect() {
        for (const type of PROXY_REQUEST_TYPES) this.set({ type }, self.inflight[type].value);
      },
    });
    new Gauge({
      name: p(MetricNames.pscacheEntries),
      help: 'Number of entries currently in the prepared statement cache',
      registers: [registry],
      collect() {
        this.set(safeValue(self.psEntriesFn));
      },
    });
    this.psMiss = new Counter({
      name: p(MetricNames.pscacheMiss),
      help: 'Running total of prepared statement cache misses in the proxy',
      registers: [registry],
    });
    new Gauge({
      name: p(MetricNames.clientConnections),
      help: 'Number of client connections currently open',
      registers: [registry],
      collect() {
        this.set(safeValue(self.clientConnsFn));
      },
    });

    // Every labelled series exists from the start at 0 (upstream creates each child at proxy start).
    for (const cluster of ['origin', 'target']) {
      failedConnections.inc({ cluster }, 0);
      failedReads.inc({ cluster }, 0);
    }
    this.failedConnOrigin = failedConnections.labels({ cluster: 'origin' });
    this.failedConnTarget = failedConnections.labels({ cluster: 'target' });
    this.failedReadsOrigin = failedReads.labels({ cluster: 'origin' });
    this.failedReadsTarget = failedReads.labels({ cluster: 'target' });
    const fw = {} as Record<FailedOn, CounterChild>;
    for (const failed_on of FAILED_ON_VALUES) {
      failedWrites.inc({ failed_on }, 0);
      fw[failed_on] = failedWrites.labels({ failed_on });
    }
    this.failedWrites = fw;
    const infl = {} as Record<ProxyRequestType, PlainGauge>;
    const durs = {} as Record<ProxyRequestType, HistogramSeries>;
    for (const type of PROXY_REQUEST_TYPES) {
      durs[type] = duration.series({ type });
      inflight.set({ type }, 0);
      infl[type] = new PlainGauge();
    }
    this.inflight = infl;
    this.durations = durs;

    if (opts.defaultCollectors !== false) collectDefaultMetrics({ register: registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  requestStarted(type: ProxyRequestType): void {
    if (!this.closed) this.inflight[type].value++;
  }
  requestFinished(type: ProxyRequestType, seconds: number): void {
    if (this.closed) return;
    this.inflight[type].value--;
    this.durations[type].observe(seconds);
  }
  requestAbandoned(type: ProxyRequestType): void {
    if (!this.closed) this.inflight[type].value--;
  }
  readFailed(cluster: MetricsClusterName): void {
    if (this.closed) return;
    (cluster === 'ORIGIN' ? this.failedReadsOrigin : this.failedReadsTarget).inc();
  }
  writeFailed(originFailed: boolean, targetFailed: boolean): void {
    if (this.closed) return;
    if (originFailed) (targetFailed ? this.failedWrites.both : this.failedWrites.origin).inc();
    else if (targetFailed) this.failedWrites.target.inc();
  }
  writeFailedOn(failedOn: FailedOn): void {
    if (!this.closed) this.failedWrites[failedOn].inc();
  }
  clusterConnectionFailed(cluster: MetricsClusterName): void {
    if (this.closed) return;
    (cluster === 'ORIGIN' ? this.failedConnOrigin : this.failedConnTarget).inc();
  }
  preparedCacheMiss(): void {
    if (!this.closed) this.psMiss.inc();
  }
  setPreparedCacheEntriesSource(fn: () => number): void {
    this.psEntriesFn = fn;
  }
  setClientConnectionsSource(fn: () => number): void {
    this.clientConnsFn = fn;
  }

  node(group: NodeGroup, node: string): NodeMetrics {
    const cached = this.nodes[group].get(node);
    if (cached) return cached;
    if (this.closed) return NOOP_NODES[group];
    const nm = new PromNodeMetrics(this, group, node, this.familiesOf(group));
    this.nodes[group].set(node, nm);
    return nm;
  }

  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.registry.clear();
    for (const m of Object.values(this.nodes)) m.clear();
    this.families.clear();
  }

  private familiesOf(group: NodeGroup): NodeFamilies {
    let f = this.families.get(group);
    if (f) return f;
    const spec = NODE_GROUPS[group];
    const p = (n: string) => `${this.prefix}_${spec.prefix}_${n}`;
    const registers = [this.registry];
    const buckets = group === 'ORIGIN' ? this.buckets.origin : group === 'TARGET' ? this.buckets.target : this.buckets.asyncRead;
    const nodes = this.nodes[group];
    f = {
      failed: new Counter({
        name: p('requests_failed_total'),
        help: spec.failedHelp,
        labelNames: ['error', 'node'] as const,
        registers,
      }),
      duration: new PlainHistogram({
        name: p('request_duration_seconds'),
        help: spec.durationHelp,
        labelNames: ['node', 'type'] as const,
        buckets: [...buckets],
        registers,
      }),
      connections: new Gauge({
        name: p('connections_total'),
        help: spec.connectionsHelp,
        labelNames: ['node'] as const,
        registers,
      }),
      failedConnections: new Counter({
        name: p('failed_connections_total'),
        help: spec.failedConnectionsHelp,
        labelNames: ['node'] as const,
        registers,
      }),
      usedStreamIds: new Gauge({
        name: p('used_stream_ids_total'),
        help: spec.usedStreamIdsHelp,
        labelNames: ['node'] as const,
        registers,
        collect() {
          for (const nm of nodes.values()) this.set({ node: nm.node }, nm.usedIds.value);
        },
      }),
      inflight:
        group === 'ASYNC'
          ? new Gauge({
              name: `${this.prefix}_${MetricNames.asyncInflightRequests}`,
              help: 'Number of async requests currently in flight',
              labelNames: ['node'] as const,
              registers,
              collect() {
                for (const nm of nodes.values()) if (nm.asyncInflight) this.set({ node: nm.node }, nm.asyncInflight.value);
              },
            })
          : undefined,
      dropped:
        group === 'ASYNC'
          ? new Counter({
              name: `${this.prefix}_${MetricNames.asyncDroppedRequests}`,
              help: 'Number of async reads dropped because the async connector was saturated (extension, not in upstream)',
              labelNames: ['node'] as const,
              registers,
            })
          : undefined,
    };
    this.families.set(group, f);
    return f;
  }
}

function safeValue(fn: () => number): number {
  try {
    const v = fn();
    return Number.isFinite(v) ? v : 0;
  } catch {
    return 0;
  }
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

/** `metrics_enabled` -> PrometheusProxyMetrics on a fresh registry, else NoopProxyMetrics. */
export function createProxyMetrics(config: MetricsConfigView, opts: { defaultCollectors?: boolean } = {}): ProxyMetrics {
  const prefix = config.settings.metrics_prefix;
  if (!config.settings.metrics_enabled) return new NoopProxyMetrics(prefix);
  return new PrometheusProxyMetrics({ prefix, buckets: config.latencyBuckets, defaultCollectors: opts.defaultCollectors });
}
