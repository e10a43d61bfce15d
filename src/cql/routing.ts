/**
 * Forward decision for QUERY and PREPARE, from the inspected statement (upstream `cqlparser.go`
 * `buildRequestInfo` / `getRequestInfoFromQueryInfo`, upstream-spec-notes 4.1, 4.3, 4.4, 4.7).
 *
 * The decision is symbolic on purpose: `primary_cluster`, `read_mode` and `system_queries_mode`
 * may change at run time, so they are applied by `resolveDecision()` at send time, not here.
 *
 * | statement                                                   | decision                     |
 * |-------------------------------------------------------------|------------------------------|
 * | SELECT on system.local / system.peers / system.peers_v2     | intercept (answered by proxy)|
 * | SELECT on keyspace `system`, `system_*`, `dse_*`             | system-read                  |
 * | other SELECT                                                | read                         |
 * | USE ks                                                      | use                          |
 * | CALL InsightsRpc.* (case-insensitive)                       | drop (not forwarded)         |
 * | INSERT/UPDATE/DELETE/BATCH/DDL/other CALL/anything unknown  | write                        |
 *
 * Keyspace-less table names resolve against the request keyspace: the v5/DSE_V2 keyspace field of
 * the request if set, else the connection's current keyspace (`USE`). So `USE ks; SELECT * FROM peers`
 * reads the user's table `ks.peers`, while `USE system; SELECT * FROM local` is the virtual table.
 * Identifiers are compared after normalisation: `"System".local` is not the system keyspace.
 */
import { type ClusterName, clusterLabel, type ForwardTarget } from '../cluster';
import type { Selector, StatementInfo, SystemTableName } from './inspector';

export type ForwardDecision =
  /** primary cluster; also the async connector in DUAL_ASYNC_ON_SECONDARY; metered as a read */
  | { kind: 'read' }
  /** ORIGIN, or TARGET when system_queries_mode=TARGET; never async; metered as a read */
  | { kind: 'system-read'; keyspace: string }
  /** both clusters (ORIGIN first, then TARGET); never async; metered as a write */
  | { kind: 'write' }
  /** both clusters and the async connector; metered as a write; the caller tracks the keyspace on SET_KEYSPACE */
  | { kind: 'use'; keyspace: string }
  /** answered by the proxy itself (4.3); `projection` undefined for peers_v2 (always an error) */
  | { kind: 'intercept'; table: SystemTableName; projection?: '*' | Selector[] }
  /** not forwarded, not metered: DSE Insights client RPC (4.7) */
  | { kind: 'drop'; reason: 'insights-rpc' };

export interface ForwardOptions {
  /**
   * Answer system.local/peers/peers_v2 in the proxy (upstream: always on since v2.0.0).
   * When false, those SELECTs are ordinary system reads.
   */
  interceptSystemTables?: boolean;
}

/** Keyspace the statement applies to: the one written in it, else the request/session keyspace. */
export function applicableKeyspace(info: StatementInfo, sessionKeyspace: string | undefined): string | undefined {
  return info.keyspace !== undefined ? info.keyspace : sessionKeyspace || undefined;
}

/** Upstream `isSystemQuery`: keyspace `system`, `system_*` or `dse_*` (exact case after normalisation). */
export function isSystemKeyspace(keyspace: string | undefined): boolean {
  return keyspace !== undefined && (keyspace === 'system' || keyspace.startsWith('system_') || keyspace.startsWith('dse_'));
}

/**
 * Symbolic forward decision for a QUERY or a PREPARE of `info`.
 * `sessionKeyspace`: the request's keyspace field (v5/DSE_V2) if present, else the connection's
 * current keyspace; undefined/empty when none.
 */
export function forwardDecision(
  info: StatementInfo,
  sessionKeyspace: string | undefined,
  opts: ForwardOptions = {},
): ForwardDecision {
  switch (info.kind) {
    case 'select': {
      const ks = applicableKeyspace(info, sessionKeyspace);
      if (ks === 'system' && info.systemTable !== undefined && opts.interceptSystemTables !== false) {
        return info.systemTable === 'peers_v2'
          ? { kind: 'intercept', table: 'peers_v2' }
          : { kind: 'intercept', table: info.systemTable, projection: info.projection };
      }
      if (isSystemKeyspace(ks)) return { kind: 'system-read', keyspace: ks as string };
      return { kind: 'read' };
    }
    case 'use':
      return { kind: 'use', keyspace: info.keyspace as string };
    case 'call':
      if (info.callRpcName !== undefined && info.callRpcName.toLowerCase() === 'insightsrpc') {
        return { kind: 'drop', reason: 'insights-rpc' };
      }
      return { kind: 'write' }; // e.g. CALL DseGraphRpc.getSchemaBlob(?): both
    default:
      // INSERT, UPDATE, DELETE, text BATCH, DDL and everything the inspector could not classify
      // (Gremlin text, empty query, syntax errors, vendor extensions) go to BOTH clusters: a write
      // that reached only one cluster would silently diverge, a failing statement fails on both.
      return { kind: 'write' };
  }
}

export interface RoutingSettings {
  primaryCluster: ClusterName;
  systemQueriesMode: ClusterName;
  readMode: 'PRIMARY_ONLY' | 'DUAL_ASYNC_ON_SECONDARY';
}

export interface ResolvedDecision {
  /** clusters the request is sent to synchronously; 'none' = answered (or dropped) by the proxy */
  forwardTo: ForwardTarget | 'none';
  /** also send fire-and-forget to the async connector (secondary) */
  async: boolean;
  /** request metrics category */
  metrics: 'read' | 'write' | 'none';
}

/**
 * Applies the current routing settings to a symbolic decision. For a PREPARE, the caller sends to
 * both clusters whatever `forwardTo` says (upstream-spec-notes 4.5) and stores the decision for EXECUTE.
 */
export function resolveDecision(d: ForwardDecision, s: RoutingSettings): ResolvedDecision {
  const dual = s.readMode === 'DUAL_ASYNC_ON_SECONDARY';
  switch (d.kind) {
    case 'read':
      return { forwardTo: clusterLabel(s.primaryCluster), async: dual, metrics: 'read' };
    case 'system-read':
      return { forwardTo: clusterLabel(s.systemQueriesMode), async: false, metrics: 'read' };
    case 'use':
      return { forwardTo: 'both', async: dual, metrics: 'write' };
    case 'write':
      return { forwardTo: 'both', async: false, metrics: 'write' };
    case 'intercept':
    case 'drop':
      return { forwardTo: 'none', async: false, metrics: 'none' };
  }
}
