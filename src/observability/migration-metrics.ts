// Metrics of the migration-insight extensions (not upstream): live routing changes, the one-sided write journal.
// Registered on the proxy's own registry (`ProxyMetrics.registry`); with metrics_enabled=false every call is a no-op.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SettingsSource } from '../routing/settings';

export const MigrationMetricNames = Object.freeze({
  routingChanges: 'routing_changes_total',
  journalRecords: 'journal_records_total',
  journalBytes: 'journal_bytes',
  journalDropped: 'journal_dropped_records_total',
  journalFull: 'journal_full',
  journalReplayed: 'journal_replayed_total',
});

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

  journalCommitted(failedOn: 'ORIGIN' | 'TARGET'): void {
    this.journalRecords?.inc({ failed_on: failedOn === 'ORIGIN' ? 'origin' : 'target' });
  }

  journalDroppedRecord(reason: 'full' | 'queue' | 'io'): void {
    this.journalDropped?.inc({ reason });
  }
}
