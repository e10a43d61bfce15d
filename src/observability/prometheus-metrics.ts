// The Prometheus implementation of ProxyMetrics (metrics_enabled): upstream's families and help texts on a
// registry of its own per proxy instance (see metrics.ts for the wiring).
import {
  CLUSTER_NAMES,
  type ClusterLabel,
  type ClusterName,
  clusterLabel,
  type FailedOn,
  forCluster,
  PerCluster,
} from '../cluster';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import {
  DEFAULT_LATENCY_BUCKETS_SECONDS,
  FAILED_ON_VALUES,
  MetricNames,
  NODE_ERROR_CLASSES,
  NODE_REQUEST_TYPES,
  PROXY_REQUEST_TYPES,
  errorClassOf,
  type NodeErrorClass,
  type NodeGroup,
  type NodeMetrics,
  type NodeRequestType,
  type ProxyMetrics,
  type ProxyMetricsOptions,
  type ProxyRequestType,
} from './metrics-api';
import { NOOP_NODES } from './noop-metrics';
import { type CounterChild, type GaugeChild, type HistogramSeries, PlainGauge, PlainHistogram } from './plain-histogram';

interface NodeGroupSpec {
  readonly prefix: ClusterLabel | 'async';
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
  private readonly failedReads: PerCluster<CounterChild>;
  private readonly failedWrites: Record<FailedOn, CounterChild>;
  private readonly failedConnections: PerCluster<CounterChild>;
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
    for (const cluster of CLUSTER_NAMES.map(clusterLabel)) {
      failedConnections.inc({ cluster }, 0);
      failedReads.inc({ cluster }, 0);
    }
    this.failedConnections = PerCluster.of((c) => failedConnections.labels({ cluster: clusterLabel(c) }));
    this.failedReads = PerCluster.of((c) => failedReads.labels({ cluster: clusterLabel(c) }));
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
  readFailed(cluster: ClusterName): void {
    if (this.closed) return;
    this.failedReads.get(cluster).inc();
  }
  writeFailed(originFailed: boolean, targetFailed: boolean): void {
    if (this.closed) return;
    if (originFailed) (targetFailed ? this.failedWrites.both : this.failedWrites.origin).inc();
    else if (targetFailed) this.failedWrites.target.inc();
  }
  writeFailedOn(failedOn: FailedOn): void {
    if (!this.closed) this.failedWrites[failedOn].inc();
  }
  clusterConnectionFailed(cluster: ClusterName): void {
    if (this.closed) return;
    this.failedConnections.get(cluster).inc();
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
    const buckets = group === 'ASYNC' ? this.buckets.asyncRead : forCluster(group, this.buckets);
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
