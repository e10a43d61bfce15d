// Optional request/connection lifecycle events on node:diagnostics_channel, so that logging, tracing or
// ad-hoc tooling can observe the proxy without the hot path knowing about them. Metrics do NOT depend on
// these: ProxyMetrics is called directly (cheaper, and always on). Publishing costs one property read when
// nobody subscribes: every `publish*` helper checks `channel.hasSubscribers` first, and callers that would
// have to build a message object should check `hasSubscribers(channel)` before building it.
//
//   import { requestStart, publishRequestStart } from './observability/events';
//   if (requestStart.hasSubscribers) publishRequestStart({ ... });
//
// Subscribing (e.g. in a test or a debugging tool):
//   diagnostics_channel.subscribe(CHANNELS.requestEnd, (msg) => { ... });
import diagnostics_channel from 'node:diagnostics_channel';

export const CHANNELS = Object.freeze({
  /** A tracked or untracked client request was dispatched to the cluster(s). */
  requestStart: 'zdm:request:start',
  /** All expected replies arrived (the client got its reply). */
  requestEnd: 'zdm:request:end',
  /** The proxy request timeout fired before all replies arrived. */
  requestTimeout: 'zdm:request:timeout',
  /** A client-side cluster connection (ORIGIN, TARGET or ASYNC) opened. */
  connectionOpen: 'zdm:connection:open',
  /** A client-side cluster connection closed (err set when it failed). */
  connectionClose: 'zdm:connection:close',
  /** Opening a client-side cluster connection failed. */
  connectionFailed: 'zdm:connection:failed',
});

export type EventCluster = 'ORIGIN' | 'TARGET' | 'ASYNC';

export interface RequestStartMessage {
  /** Client connection id (as used in logs). */
  connectionId: string | number;
  /** Client stream id. */
  streamId: number;
  opcode: number;
  /** Forward decision. */
  to: 'origin' | 'target' | 'both';
  tracked: boolean;
  /** performance.now() at receipt. */
  startMs: number;
}

export interface RequestEndMessage extends RequestStartMessage {
  /** Seconds from receipt to completion. */
  seconds: number;
  /** ERROR codes per cluster, undefined when that cluster's reply was not an ERROR (or not expected). */
  originErrorCode?: number;
  targetErrorCode?: number;
}

export interface RequestTimeoutMessage extends RequestStartMessage {
  seconds: number;
  /** Clusters that had not answered. */
  missing: ('ORIGIN' | 'TARGET')[];
}

export interface ConnectionMessage {
  cluster: EventCluster;
  /** `ip:port` */
  node: string;
  connectionId?: string | number;
  err?: Error;
}

export const requestStart = diagnostics_channel.channel(CHANNELS.requestStart);
export const requestEnd = diagnostics_channel.channel(CHANNELS.requestEnd);
export const requestTimeout = diagnostics_channel.channel(CHANNELS.requestTimeout);
export const connectionOpen = diagnostics_channel.channel(CHANNELS.connectionOpen);
export const connectionClose = diagnostics_channel.channel(CHANNELS.connectionClose);
export const connectionFailed = diagnostics_channel.channel(CHANNELS.connectionFailed);

export function publishRequestStart(msg: RequestStartMessage): void {
  if (requestStart.hasSubscribers) requestStart.publish(msg);
}
export function publishRequestEnd(msg: RequestEndMessage): void {
  if (requestEnd.hasSubscribers) requestEnd.publish(msg);
}
export function publishRequestTimeout(msg: RequestTimeoutMessage): void {
  if (requestTimeout.hasSubscribers) requestTimeout.publish(msg);
}
export function publishConnectionOpen(msg: ConnectionMessage): void {
  if (connectionOpen.hasSubscribers) connectionOpen.publish(msg);
}
export function publishConnectionClose(msg: ConnectionMessage): void {
  if (connectionClose.hasSubscribers) connectionClose.publish(msg);
}
export function publishConnectionFailed(msg: ConnectionMessage): void {
  if (connectionFailed.hasSubscribers) connectionFailed.publish(msg);
}
