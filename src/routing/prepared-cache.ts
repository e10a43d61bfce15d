/**
 * Process-wide prepared statement cache (upstream-spec-notes 4.5, 5.5), shared by every client session.
 *
 *  - main entries: ORIGIN prepared id (the id the client sees) -> { TARGET id, statement info, symbolic
 *    forward decision, query text, keyspace }, plus an index TARGET id -> ORIGIN id used to translate a
 *    TARGET `UNPREPARED` into the id the client knows;
 *  - intercepted entries: ids the proxy made up for PREPAREs of system.local/peers (upstream-spec-notes 4.3), kept
 *    apart so a real cluster id can never shadow them.
 *
 * Bounded LRU (upstream is unbounded): a `Map` keeps insertion order, a hit re-inserts the entry, the
 * oldest entry is evicted when `capacity` is reached. An evicted statement costs one round trip: the
 * client gets UNPREPARED with its own id and re-prepares. `capacity` 0 = unbounded (upstream behaviour).
 */
import { type ClusterName, pickCluster } from '../cluster';
import type { ForwardDecision } from '../cql/routing';
import type { StatementInfo } from '../cql/inspector';
import type { PreparedNowState } from './now-replacement';

export const DEFAULT_PREPARED_CACHE_CAPACITY = 10000;

export interface PreparedEntry {
  /** Id returned to the client (ORIGIN's id). */
  originId: Buffer;
  /** TARGET's id for the same statement; EXECUTE/BATCH copies sent to TARGET carry this one. */
  targetId: Buffer;
  /** v5/DSE_V2: the result metadata ids of the two PREPARED results (EXECUTE copies to TARGET carry TARGET's). */
  originResultMetadataId?: Buffer;
  targetResultMetadataId?: Buffer;
  query: string;
  /** Keyspace the statement was prepared in ('' when none). */
  keyspace: string;
  info: StatementInfo;
  /** Symbolic decision for EXECUTE, resolved against the routing settings at send time. */
  decision: ForwardDecision;
  /** Set when `now()` calls were replaced by bind markers at PREPARE (EXECUTE adds generated values). */
  now?: PreparedNowState;
}

/** The statement's prepared id on cluster `c`. */
export function preparedIdOn(e: PreparedEntry, c: ClusterName): Buffer {
  return pickCluster(c, e.originId, e.targetId);
}

export interface InterceptedEntry {
  id: Buffer;
  query: string;
  keyspace: string;
  /** Always `kind: 'intercept'`. */
  decision: Extract<ForwardDecision, { kind: 'intercept' }>;
}

/**
 * Map key of a prepared id: its bytes as a latin1 string (one char per byte: half the length of hex, and cheaper
 * to make than a hex string on every EXECUTE).
 */
export function preparedIdKey(id: Uint8Array): string {
  return (Buffer.isBuffer(id) ? id : Buffer.from(id.buffer, id.byteOffset, id.byteLength)).toString('latin1');
}
const key = preparedIdKey;

export class PreparedCache {
  private readonly main = new Map<string, PreparedEntry>();
  private readonly byTarget = new Map<string, string>();
  private readonly intercepted = new Map<string, InterceptedEntry>();
  private evictions = 0;
  /** key of the most recently used main entry (last in `main`'s order), '' when unknown */
  private newest = '';

  /** @param capacity max entries of each of the two maps; 0 (or Infinity) = unbounded. */
  constructor(readonly capacity: number = DEFAULT_PREPARED_CACHE_CAPACITY) {
    if (!(capacity === Infinity || (Number.isInteger(capacity) && capacity >= 0))) {
      throw new RangeError(`prepared cache capacity must be a non-negative integer, got ${capacity}`);
    }
  }

  private get bounded(): boolean {
    return this.capacity !== 0 && this.capacity !== Infinity;
  }

  /** Record a PREPARED pair (both clusters succeeded). Re-preparing overwrites. */
  store(entry: PreparedEntry): void {
    const k = key(entry.originId);
    const old = this.main.get(k);
    if (old) {
      this.main.delete(k);
      this.dropTargetIndex(old);
    }
    this.main.set(k, { ...entry, originId: Buffer.from(entry.originId), targetId: Buffer.from(entry.targetId) });
    this.byTarget.set(key(entry.targetId), k);
    this.newest = k;
    if (this.bounded) {
      while (this.main.size > this.capacity) {
        const oldest = this.main.keys().next().value as string;
        const e = this.main.get(oldest)!;
        this.main.delete(oldest);
        this.dropTargetIndex(e);
        this.evictions++;
      }
    }
  }

  private dropTargetIndex(e: PreparedEntry): void {
    const tk = key(e.targetId);
    if (this.byTarget.get(tk) === key(e.originId)) this.byTarget.delete(tk);
  }

  /** Look up by the id the client sent (ORIGIN id); a hit becomes the most recently used entry. */
  get(originId: Uint8Array): PreparedEntry | undefined {
    const k = key(originId);
    const e = this.main.get(k);
    // a hit becomes the newest entry; the newest stays where it is (no delete + set on every EXECUTE of a hot statement)
    if (e && this.bounded && k !== this.newest) {
      this.main.delete(k);
      this.main.set(k, e);
      this.newest = k;
    }
    return e;
  }

  /** ORIGIN id for a TARGET id (UNPREPARED translation), or undefined. */
  originIdForTarget(targetId: Uint8Array): Buffer | undefined {
    const ok = this.byTarget.get(key(targetId));
    if (ok === undefined) return undefined;
    const e = this.main.get(ok);
    return e ? e.originId : undefined;
  }

  storeIntercepted(entry: InterceptedEntry): void {
    const k = key(entry.id);
    this.intercepted.delete(k);
    this.intercepted.set(k, { ...entry, id: Buffer.from(entry.id) });
    if (this.bounded) {
      while (this.intercepted.size > this.capacity) {
        this.intercepted.delete(this.intercepted.keys().next().value as string);
        this.evictions++;
      }
    }
  }

  getIntercepted(id: Uint8Array): InterceptedEntry | undefined {
    return this.intercepted.get(key(id));
  }

  delete(originId: Uint8Array): boolean {
    const k = key(originId);
    const e = this.main.get(k);
    if (!e) return this.intercepted.delete(k);
    this.main.delete(k);
    if (k === this.newest) this.newest = '';
    this.dropTargetIndex(e);
    return true;
  }

  clear(): void {
    this.newest = '';
    this.main.clear();
    this.byTarget.clear();
    this.intercepted.clear();
  }

  /** Main + intercepted entries (upstream `pscache_entries_total`). */
  get size(): number {
    return this.main.size + this.intercepted.size;
  }
  get mainSize(): number {
    return this.main.size;
  }
  get evicted(): number {
    return this.evictions;
  }
}
