// The metrics implementation for `metrics_enabled=false`: the same interface, every call does nothing.
import type { NodeGroup, NodeMetrics, ProxyMetrics } from './metrics-api';

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

export const NOOP_NODES: Readonly<Record<NodeGroup, NodeMetrics>> = Object.freeze({
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
