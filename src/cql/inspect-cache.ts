/**
 * Bounded LRU cache in front of `inspect()`: applications send the same statement texts over and over, so
 * a repeated QUERY/PREPARE skips lexing and parsing.
 *
 * Key: the query text alone. `inspect()` is a pure function of its argument (the session / request
 * keyspace is applied later by `routing.ts`'s `forwardDecision`), so nothing else belongs in the key.
 *
 * Results are shared between requests: they are deep-frozen before they are cached and callers must treat
 * a StatementInfo as immutable (none of them writes to one; a write would throw in strict mode).
 * Texts longer than `maxKeyLength` are inspected but not cached (bounds the memory held by the keys:
 * long texts are mostly one-off statements with inline literals anyway).
 */
import { inspect, type StatementInfo } from './inspector';

export const DEFAULT_INSPECT_CACHE_ENTRIES = 1024;
export const DEFAULT_INSPECT_CACHE_MAX_KEY_LENGTH = 4096;

/** Freeze an inspector result and everything it references (plain objects and arrays only). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const k of Object.keys(value as object)) deepFreeze((value as Record<string, unknown>)[k]);
  }
  return value;
}

export class InspectCache {
  private readonly map = new Map<string, StatementInfo>();
  hits = 0;
  misses = 0;

  constructor(
    readonly capacity = DEFAULT_INSPECT_CACHE_ENTRIES,
    readonly maxKeyLength = DEFAULT_INSPECT_CACHE_MAX_KEY_LENGTH,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`inspect cache capacity must be a positive integer: ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** `inspect(cql)`, from the cache when this text was seen recently. The result is frozen: do not modify it. */
  inspect(cql: string): StatementInfo {
    const map = this.map;
    const hit = map.get(cql);
    if (hit !== undefined) {
      this.hits++;
      // most recently used goes last (Map iteration order = insertion order)
      map.delete(cql);
      map.set(cql, hit);
      return hit;
    }
    this.misses++;
    const info = deepFreeze(inspect(cql));
    if (cql.length <= this.maxKeyLength) {
      if (map.size >= this.capacity) map.delete(map.keys().next().value as string);
      map.set(cql, info);
    }
    return info;
  }

  clear(): void {
    this.map.clear();
  }
}

/** The process-wide cache used by request routing (statement info depends on the text only). */
export const sharedInspectCache = new InspectCache();

/** `inspect()` through the shared cache. The result is frozen: do not modify it. */
export function inspectCached(cql: string): StatementInfo {
  return sharedInspectCache.inspect(cql);
}
