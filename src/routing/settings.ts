/**
 * Run-time routing settings (docs/ARCHITECTURE.md "Contract: src/routing/settings.ts").
 *
 * ONE instance per proxy process, shared by every client session. Sessions read
 * `settings.primaryCluster` (etc.) each time a request is routed and never copy the values, so a
 * change made with `set()` applies to the next request of every connection.
 */
import { type ClusterName, otherCluster } from '../cluster';
import { EventEmitter } from 'node:events';
import type { RoutingSettings as RoutingSettingsShape } from '../cql/routing';

export type ReadMode = RoutingSettingsShape['readMode'];

export interface RoutingSettingsValues {
  primaryCluster: ClusterName;
  readMode: ReadMode;
  systemQueriesMode: ClusterName;
}

/** Where the current values came from: the configuration at startup, or a live change through the admin API. */
export type SettingsSource = 'config' | 'api';

const CLUSTERS: readonly string[] = ['ORIGIN', 'TARGET'];
const READ_MODES: readonly string[] = ['PRIMARY_ONLY', 'DUAL_ASYNC_ON_SECONDARY'];

function check(v: Partial<RoutingSettingsValues>): void {
  if (v.primaryCluster !== undefined && !CLUSTERS.includes(v.primaryCluster)) {
    throw new RangeError(`invalid primary cluster ${JSON.stringify(v.primaryCluster)}: expected ORIGIN or TARGET`);
  }
  if (v.systemQueriesMode !== undefined && !CLUSTERS.includes(v.systemQueriesMode)) {
    throw new RangeError(`invalid system queries mode ${JSON.stringify(v.systemQueriesMode)}: expected ORIGIN or TARGET`);
  }
  if (v.readMode !== undefined && !READ_MODES.includes(v.readMode)) {
    throw new RangeError(`invalid read mode ${JSON.stringify(v.readMode)}: expected PRIMARY_ONLY or DUAL_ASYNC_ON_SECONDARY`);
  }
}

/** Emits 'change' (new values, previous values, source) after every effective `set()`. */
export class RoutingSettings extends EventEmitter implements RoutingSettingsShape {
  private values: RoutingSettingsValues;
  private _source: SettingsSource = 'config';
  private _changedAt: Date | undefined;

  constructor(initial: Partial<RoutingSettingsValues> = {}) {
    super();
    check(initial);
    this.values = {
      primaryCluster: initial.primaryCluster ?? 'ORIGIN',
      readMode: initial.readMode ?? 'PRIMARY_ONLY',
      systemQueriesMode: initial.systemQueriesMode ?? 'ORIGIN',
    };
  }

  /** Settings from a loaded ProxyConfig (or anything with the same three fields). */
  static fromConfig(c: { primaryCluster: ClusterName; readMode: ReadMode; systemQueriesMode: ClusterName }): RoutingSettings {
    return new RoutingSettings({
      primaryCluster: c.primaryCluster,
      readMode: c.readMode,
      systemQueriesMode: c.systemQueriesMode,
    });
  }

  get primaryCluster(): ClusterName {
    return this.values.primaryCluster;
  }
  get secondaryCluster(): ClusterName {
    return otherCluster(this.values.primaryCluster);
  }
  get readMode(): ReadMode {
    return this.values.readMode;
  }
  get systemQueriesMode(): ClusterName {
    return this.values.systemQueriesMode;
  }

  /** 'config' until the first effective change made with `set(.., 'api')`. */
  get source(): SettingsSource {
    return this._source;
  }
  /** Time of the last effective change (undefined: never changed since startup). */
  get changedAt(): Date | undefined {
    return this._changedAt;
  }

  /** A copy of the current values (for logs and health output). */
  snapshot(): RoutingSettingsValues {
    return { ...this.values };
  }

  /**
   * Change one or more settings at run time; throws RangeError on an invalid value (nothing is changed then).
   * Returns true when something changed. Requests already routed keep the decision they were routed with.
   */
  set(patch: Partial<RoutingSettingsValues>, source: SettingsSource = 'api'): boolean {
    check(patch);
    const previous = this.values;
    const next: RoutingSettingsValues = {
      primaryCluster: patch.primaryCluster ?? previous.primaryCluster,
      readMode: patch.readMode ?? previous.readMode,
      systemQueriesMode: patch.systemQueriesMode ?? previous.systemQueriesMode,
    };
    if (
      next.primaryCluster === previous.primaryCluster &&
      next.readMode === previous.readMode &&
      next.systemQueriesMode === previous.systemQueriesMode
    ) {
      return false;
    }
    this.values = next;
    this._source = source;
    this._changedAt = new Date();
    this.emit('change', { ...next }, { ...previous }, source);
    return true;
  }
}
