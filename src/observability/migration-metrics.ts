// Metrics of the migration-insight extensions (not upstream): live routing changes, the one-sided write journal.
// Registered on the proxy's own registry (`ProxyMetrics.registry`); with metrics_enabled=false every call is a no-op.
import { Counter, type Registry } from 'prom-client';
import type { SettingsSource } from '../routing/settings';

export const MigrationMetricNames = Object.freeze({
  routingChanges: 'routing_changes_total',
});

export class MigrationMetrics {
  private readonly routingChanges: Counter<'source'> | undefined;

  constructor(registry: Registry | undefined, prefix = 'zdm') {
    if (!registry) return;
    const p = (n: string) => `${prefix}_${n}`;
    this.routingChanges = new Counter({
      name: p(MigrationMetricNames.routingChanges),
      help: 'Effective run-time changes of primary_cluster / read_mode (extension), by source',
      labelNames: ['source'] as const,
      registers: [registry],
    });
    this.routingChanges.inc({ source: 'api' }, 0);
  }

  routingChanged(source: SettingsSource): void {
    this.routingChanges?.inc({ source });
  }
}
