/**
 * Wiring of the live read comparison (dual_read_compare_enabled): the comparer with its schema source (key
 * columns from system_schema through the primary's control connection, forgotten on SCHEMA_CHANGE events of either
 * cluster), its confirmation reads (the control connections) and its metrics.
 */
import type { Logger } from 'pino';
import type { RowsResult, SchemaChange } from '../protocol/messages';
import type { ProtocolVersion } from '../protocol/constants';
import type { ProxyConfig } from '../config/types';
import { SchemaKeys } from '../backend/schema-keys';
import type { MigrationMetrics } from '../observability/migration-metrics';
import { type ClusterName, forCluster } from '../cluster';
import { DualReadComparer } from './dual-read-comparer';

/** What the comparison needs from a control connection (backend/ControlConnection implements it). */
export interface ComparisonControl {
  readonly protocolVersion: ProtocolVersion;
  query?(cql: string, values: readonly (Buffer | null)[], consistency: number): Promise<RowsResult>;
  on(event: 'schema-change', listener: (c: SchemaChange) => void): unknown;
}

export function startComparison(
  config: ProxyConfig,
  control: { origin: ComparisonControl; target: ComparisonControl },
  primary: () => ClusterName,
  metrics: MigrationMetrics,
  logger: Logger,
): DualReadComparer {
  const s = config.settings;
  const cc = (c: ClusterName): ComparisonControl => forCluster(c, control);
  const query = (c: ClusterName, cql: string, values: readonly (Buffer | null)[], consistency: number): Promise<RowsResult> => {
    const q = cc(c).query;
    if (!q) return Promise.reject(new Error(`the ${c} control connection cannot run queries`));
    return q.call(cc(c), cql, values, consistency);
  };
  const keys = new SchemaKeys(
    () => ({
      protocolVersion: cc(primary()).protocolVersion,
      query: (cql, values, consistency) => query(primary(), cql, values, consistency),
    }),
    logger,
  );
  for (const c of [control.origin, control.target]) c.on('schema-change', (change) => keys.onSchemaChange(change));
  let comparer: DualReadComparer | undefined;
  const recorder = metrics.enableComparison({
    pending: () => comparer?.pendingCount ?? 0,
    confirmations: () => comparer?.confirmationsPending ?? 0,
  });
  const timeout = s.proxy_request_timeout_ms;
  comparer = new DualReadComparer({
    sampleRate: s.dual_read_compare_sample_rate,
    maxPending: s.dual_read_compare_max_pending,
    expireMs: 2 * timeout + 1000,
    logValues: s.dual_read_compare_log_values,
    confirmDelayMs: s.dual_read_compare_confirm_delay_ms < 0 ? 2 * timeout : s.dual_read_compare_confirm_delay_ms,
    confirmQueueSize: s.dual_read_compare_confirm_queue_size,
    confirmRatePerSecond: s.dual_read_compare_confirm_rate,
    tables: keys,
    reader: { query },
    metrics: recorder,
    logger,
  });
  logger.info(
    `Live read comparison on: ${s.dual_read_compare_sample_rate * 100}% of dual reads compared (read_mode ${config.readMode})`,
  );
  return comparer;
}
