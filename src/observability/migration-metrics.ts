// Metrics of the migration-insight extensions (not upstream): live routing changes, the one-sided write journal,
// the live read comparison.
// Registered on the proxy's own registry (`ProxyMetrics.registry`); with metrics_enabled=false every call is a no-op.
import { type ClusterName, clusterLabel } from '../cluster';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SettingsSource } from '../routing/settings';
import {
  SKIP_REASONS,
  type ComparerSkipReason,
  type ComparisonMetrics,
  type ComparisonResult,
} from '../compare/dual-read-comparer';

export const MigrationMetricNames = Object.freeze({
  routingChanges: 'routing_changes_total',
  journalRecords: 'journal_records_total',
  journalBytes: 'journal_bytes',
  journalDropped: 'journal_dropped_records_total',
  journalFull: 'journal_full',
  journalReplayed: 'journal_replayed_total',
  dualReadComparisons: 'dual_read_comparisons_total',
  dualReadComparisonSkips: 'dual_read_comparison_skips_total',
  dualReadCompareOverflows: 'dual_read_compare_overflows_total',
  dualReadComparePending: 'dual_read_compare_pending',
  journalHoldCapped: 'journal_hold_capped_total',
  clientSessionsClusterDown: 'client_sessions_cluster_down',
  clusterConnectionsLost: 'cluster_connections_lost_total',
  clusterConnectionsReopened: 'cluster_connections_reopened_total',
});

/** What the session-link metrics read at scrape time (issue 12: sessions survive losing one cluster). */
export interface SessionLinksSource {
  /** open client sessions whose connection to `cluster` is down or being reopened */
  down(cluster: ClusterName): number;
  /** connections of ready sessions lost while the other cluster's was up (the session survived) */
  lost(): number;
  /** ... reopened in the background */
  reopened(): number;
}

/** What the comparison gauges read at scrape time. */
export interface ComparisonMetricsSource {
  /** comparisons held (waiting for a reply or being compared) */
  pending(): number;
  /** rows waiting for (or in) their confirmation read */
  confirmations(): number;
}

/** What the journal metrics read at scrape time. */
export interface JournalMetricsSource {
  bytes(): number;
  full(): boolean;
  /** replay results so far (from the done-marker file), by result */
  replayed(): Record<string, number>;
}

export class MigrationMetrics {
  private readonly routingChanges: Counter<'source'> | undefined;
  private journalRecords: Counter<'failed_on'> | undefined;
  private journalDropped: Counter<'reason'> | undefined;
  private journalHoldCapped: Counter | undefined;

  constructor(
    private readonly registry: Registry | undefined,
    private readonly prefix = 'zdm',
  ) {
    if (!registry) return;
    this.routingChanges = new Counter({
      name: this.p(MigrationMetricNames.routingChanges),
      help: 'Effective run-time changes of primary_cluster / read_mode (extension), by source',
      labelNames: ['source'] as const,
      registers: [registry],
    });
    this.routingChanges.inc({ source: 'api' }, 0);
  }

  private p(n: string): string {
    return `${this.prefix}_${n}`;
  }

  routingChanged(source: SettingsSource): void {
    this.routingChanges?.inc({ source });
  }

  /** Register the journal families (journal_dir set). */
  enableJournal(src: JournalMetricsSource): void {
    const registry = this.registry;
    if (!registry) return;
    const registers = [registry];
    this.journalRecords = new Counter({
      name: this.p(MigrationMetricNames.journalRecords),
      help: 'One-sided writes made durable in the write journal, by the cluster that missed them',
      labelNames: ['failed_on'] as const,
      registers,
    });
    for (const failed_on of ['origin', 'target']) this.journalRecords.inc({ failed_on }, 0);
    this.journalDropped = new Counter({
      name: this.p(MigrationMetricNames.journalDropped),
      help: 'One-sided writes that could NOT be journaled, by reason (full: journal_max_bytes reached; queue; io)',
      labelNames: ['reason'] as const,
      registers,
    });
    for (const reason of ['full', 'queue', 'io']) this.journalDropped.inc({ reason }, 0);
    this.journalHoldCapped = new Counter({
      name: this.p(MigrationMetricNames.journalHoldCapped),
      help: 'Client replies of one-sided writes sent before their journal record was durable: the hold hit its cap (proxy_request_timeout_ms)',
      registers,
    });
    new Gauge({
      name: this.p(MigrationMetricNames.journalBytes),
      help: 'Size of the write journal file (bytes)',
      registers,
      collect() {
        this.set(src.bytes());
      },
    });
    new Gauge({
      name: this.p(MigrationMetricNames.journalFull),
      help: '1 when the write journal is full (journal_max_bytes) or failing: one-sided writes are not journaled',
      registers,
      collect() {
        this.set(src.full() ? 1 : 0);
      },
    });
    const seen: Record<string, number> = {};
    const replayed = new Counter({
      name: this.p(MigrationMetricNames.journalReplayed),
      help: 'Journal records replayed by `zdm-proxy journal replay`, by result (applied, failed, skipped)',
      labelNames: ['result'] as const,
      registers,
      collect() {
        // the replay tool is another process: its done markers are the source
        const now = src.replayed();
        for (const [result, n] of Object.entries(now)) {
          const d = n - (seen[result] ?? 0);
          if (d > 0) this.inc({ result }, d);
          seen[result] = Math.max(n, seen[result] ?? 0);
        }
      },
    });
    for (const result of ['applied', 'failed', 'skipped']) replayed.inc({ result }, 0);
  }

  /** Register the session-link families: how many sessions run without one cluster, losses and reopens. */
  enableSessionLinks(src: SessionLinksSource): void {
    const registry = this.registry;
    if (!registry) return;
    const registers = [registry];
    new Gauge({
      name: this.p(MigrationMetricNames.clientSessionsClusterDown),
      help: 'Open client connections whose ORIGIN or TARGET connection is down and being reopened (requests that need that cluster get UNAVAILABLE meanwhile), by cluster',
      labelNames: ['cluster'] as const,
      registers,
      collect() {
        for (const c of ['ORIGIN', 'TARGET'] as const) this.set({ cluster: clusterLabel(c) }, src.down(c));
      },
    });
    // the totals are the proxy's own counters (ProxyCounters): published as they are at scrape time
    const fromTotal = (name: string, help: string, total: () => number): void => {
      new Counter({
        name: this.p(name),
        help,
        registers,
        collect() {
          this.reset();
          this.inc(total());
        },
      });
    };
    fromTotal(
      MigrationMetricNames.clusterConnectionsLost,
      "Client sessions' ORIGIN/TARGET connections lost while the other cluster's was up: the client connection stayed open",
      src.lost,
    );
    fromTotal(
      MigrationMetricNames.clusterConnectionsReopened,
      "Client sessions' lost ORIGIN/TARGET connections reopened in the background",
      src.reopened,
    );
  }

  journalCommitted(failedOn: ClusterName): void {
    this.journalRecords?.inc({ failed_on: clusterLabel(failedOn) });
  }

  journalHoldCappedReply(): void {
    this.journalHoldCapped?.inc();
  }

  journalDroppedRecord(reason: 'full' | 'queue' | 'io'): void {
    this.journalDropped?.inc({ reason });
  }

  /**
   * Register the live read comparison families (dual_read_compare_enabled) and return what the comparer records
   * into (no-op calls when metrics are disabled).
   */
  enableComparison(src: ComparisonMetricsSource): ComparisonMetrics {
    const registry = this.registry;
    if (!registry) return { comparison: () => undefined, skipped: () => undefined, overflow: () => undefined };
    const registers = [registry];
    const comparisons = new Counter({
      name: this.p(MigrationMetricNames.dualReadComparisons),
      help: 'Dual reads compared (live read comparison), by table and result: match, transient (differed, then agreed when read again), confirmed (still differ), skipped (not comparable), error',
      labelNames: ['keyspace', 'table', 'result'] as const,
      registers,
    });
    const skips = new Counter({
      name: this.p(MigrationMetricNames.dualReadComparisonSkips),
      help: 'Dual reads not compared, by reason',
      labelNames: ['reason'] as const,
      registers,
    });
    for (const reason of SKIP_REASONS) skips.inc({ reason }, 0);
    const overflows = new Counter({
      name: this.p(MigrationMetricNames.dualReadCompareOverflows),
      help: 'Live read comparison bounds reached: pending (dual_read_compare_max_pending: a read not compared), confirm (dual_read_compare_confirm_queue_size: a row not confirmed)',
      labelNames: ['queue'] as const,
      registers,
    });
    for (const queue of ['pending', 'confirm']) overflows.inc({ queue }, 0);
    new Gauge({
      name: this.p(MigrationMetricNames.dualReadComparePending),
      help: 'Live read comparison work held now: comparisons (waiting for a reply or being compared), confirmations (rows waiting for or in their confirmation read)',
      labelNames: ['queue'] as const,
      registers,
      collect() {
        this.set({ queue: 'comparisons' }, src.pending());
        this.set({ queue: 'confirmations' }, src.confirmations());
      },
    });
    return {
      comparison: (keyspace: string, table: string, result: ComparisonResult) => comparisons.inc({ keyspace, table, result }),
      skipped: (reason: ComparerSkipReason) => skips.inc({ reason }),
      overflow: (queue: 'pending' | 'confirm') => overflows.inc({ queue }),
    };
  }
}
