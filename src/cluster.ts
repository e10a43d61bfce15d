/**
 * One name per concept: the two clusters of a migration, and a per-cluster container.
 *
 * - `ClusterName` ('ORIGIN' | 'TARGET') names a cluster everywhere: settings, connections, logs, journal.
 * - `ForwardTarget` ('origin' | 'target' | 'both') is the routing decision of a request; the same lower-case
 *   words are the metrics labels (`cluster="origin"`, `failed_on="both"`): `clusterLabel(name)` maps one to
 *   the other, `FailedOn` is a ForwardTarget naming where a write failed.
 * - `PerCluster<T>` holds one T per cluster, read with `get(name)` instead of `name === 'ORIGIN' ? a : b`;
 *   `forCluster(name, pair)` reads any `{ origin, target }` object, `pickCluster(name, a, b)` two separate values.
 */

export type ClusterName = 'ORIGIN' | 'TARGET';
export const CLUSTER_NAMES: readonly ClusterName[] = Object.freeze(['ORIGIN', 'TARGET'] as const);

/** The lower-case word of a cluster: metrics label values and configuration key prefixes (`origin_port`). */
export type ClusterLabel = 'origin' | 'target';
/** Where a request is sent: one cluster or both. */
export type ForwardTarget = ClusterLabel | 'both';
/** `failed_on` of a write: the cluster(s) where it failed. */
export type FailedOn = ForwardTarget;

export function clusterLabel(c: ClusterName): ClusterLabel {
  return c === 'ORIGIN' ? 'origin' : 'target';
}

export function clusterOfLabel(l: ClusterLabel): ClusterName {
  return l === 'origin' ? 'ORIGIN' : 'TARGET';
}

/** 'Origin' / 'Target', as upstream's messages name the clusters. */
export function clusterTitle(c: ClusterName | ClusterLabel): 'Origin' | 'Target' {
  return c === 'ORIGIN' || c === 'origin' ? 'Origin' : 'Target';
}

/** The other cluster. */
export function otherCluster(c: ClusterName): ClusterName {
  return c === 'ORIGIN' ? 'TARGET' : 'ORIGIN';
}

/**
 * Cluster `c`'s value of two held apart (fields `originId` / `targetId`, private `origin` / `target` members): the
 * accessor where no `{ origin, target }` pair exists, without building one (no allocation on the request path).
 */
export function pickCluster<T>(c: ClusterName, origin: T, target: T): T {
  return c === 'ORIGIN' ? origin : target;
}

/** Cluster `c`'s value in anything holding one per cluster as `{ origin, target }` (the config, a PerCluster, ...). */
export function forCluster<T>(c: ClusterName, both: { readonly origin: T; readonly target: T }): T;
export function forCluster<T>(c: ClusterName, both: { readonly origin?: T; readonly target?: T }): T | undefined;
export function forCluster<T>(c: ClusterName, both: { readonly origin?: T; readonly target?: T }): T | undefined {
  return c === 'ORIGIN' ? both.origin : both.target;
}

/** One value per cluster. */
export class PerCluster<T> {
  constructor(
    readonly origin: T,
    readonly target: T,
  ) {}

  /** A value per cluster, made by `make(name)` (Origin first). */
  static of<T>(make: (c: ClusterName) => T): PerCluster<T> {
    return new PerCluster(make('ORIGIN'), make('TARGET'));
  }

  get(c: ClusterName): T {
    return forCluster(c, this);
  }

  map<U>(fn: (value: T, c: ClusterName) => U): PerCluster<U> {
    return new PerCluster(fn(this.origin, 'ORIGIN'), fn(this.target, 'TARGET'));
  }

  /** Origin first, then Target. */
  forEach(fn: (value: T, c: ClusterName) => void): void {
    fn(this.origin, 'ORIGIN');
    fn(this.target, 'TARGET');
  }

  /** [name, value] pairs, Origin first. */
  entries(): Array<[ClusterName, T]> {
    return [
      ['ORIGIN', this.origin],
      ['TARGET', this.target],
    ];
  }
}
