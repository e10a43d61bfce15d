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
import type { RequestEdits } from '../protocol/codec';

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
  /**
   * Memos of the request path, filled on first use (re-preparing stores a new entry; an id changed in place goes
   * through `setResultMetadataId`, which clears them): TARGET's EXECUTE edits for protocol v3/v4 and for v5/DSE_V2 (null: none), and `[this entry]`.
   */
  editsBelowV5?: RequestEdits | null;
  editsV5?: RequestEdits | null;
  asList?: readonly PreparedEntry[];
}

/**
 * A statement re-prepared on `c` with a new result metadata id: the entry changes in place, and TARGET's EXECUTE
 * edits memoized from the old id are dropped (worked out again on the next EXECUTE).
 */
export function setResultMetadataId(e: PreparedEntry, c: ClusterName, rm: Buffer): void {
  if (c === 'ORIGIN') e.originResultMetadataId = rm;
  else e.targetResultMetadataId = rm;
  e.editsV5 = undefined;
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

/** A main entry as the cache keeps it: its map key made once, and its neighbours in the recency list. */
type Stored = PreparedEntry & { readonly key: string; older: Stored | undefined; newer: Stored | undefined };

/** Slots of the recent-hit index (a power of two). */
const SLOTS = 1024;
/** The slot of an id: its first two bytes (Cassandra's ids are MD5 digests: uniform). */
function slotOf(id: Uint8Array, start: number, end: number): number {
  return end - start < 2 ? 0 : ((id[start]! << 8) | id[start + 1]!) & (SLOTS - 1);
}
function sameBytes(a: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[start + i]) return false;
  return true;
}

export class PreparedCache {
  private readonly main = new Map<string, Stored>();
  /**
   * Recent-hit index: the last entry looked up or stored per slot of its id, checked byte by byte. An EXECUTE of a
   * statement found here needs no map key (a latin1 string of the id) made from its bytes. Holds only entries
   * that are in `main`: cleared on delete, eviction and clear.
   */
  private readonly slots: (Stored | undefined)[] = new Array<Stored | undefined>(SLOTS).fill(undefined);
  private readonly byTarget = new Map<string, string>();
  private readonly intercepted = new Map<string, InterceptedEntry>();
  private evictions = 0;
  /**
   * Recency of the main entries, least recently used first: a doubly linked list through the entries (moving a hit
   * to the newest end is two pointer updates; no map delete + set on every EXECUTE that alternates statements).
   */
  private oldest: Stored | undefined;
  private newest: Stored | undefined;

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
      this.forget(old);
    }
    const stored: Stored = {
      ...entry,
      originId: Buffer.from(entry.originId),
      targetId: Buffer.from(entry.targetId),
      editsBelowV5: undefined,
      editsV5: undefined,
      asList: undefined,
      key: k,
      older: undefined,
      newer: undefined,
    };
    this.main.set(k, stored);
    this.byTarget.set(key(entry.targetId), k);
    this.append(stored);
    if (this.bounded) {
      while (this.main.size > this.capacity) {
        const e = this.oldest!;
        this.main.delete(e.key);
        this.forget(e);
        this.evictions++;
      }
    }
  }

  /** `e` becomes the newest entry of the recency list. */
  private append(e: Stored): void {
    e.older = this.newest;
    e.newer = undefined;
    if (this.newest) this.newest.newer = e;
    else this.oldest = e;
    this.newest = e;
  }

  private unlink(e: Stored): void {
    if (e.older) e.older.newer = e.newer;
    else this.oldest = e.newer;
    if (e.newer) e.newer.older = e.older;
    else this.newest = e.older;
    e.older = e.newer = undefined;
  }

  /** An entry left `main`: out of the recency list, the target index and the recent-hit index. */
  private forget(e: Stored): void {
    this.unlink(e);
    this.dropTargetIndex(e);
    const i = slotOf(e.originId, 0, e.originId.length);
    if (this.slots[i] === e) this.slots[i] = undefined;
  }

  private dropTargetIndex(e: PreparedEntry): void {
    const tk = key(e.targetId);
    if (this.byTarget.get(tk) === key(e.originId)) this.byTarget.delete(tk);
  }

  /** Look up by the id the client sent (ORIGIN id); a hit becomes the most recently used entry. */
  get(originId: Uint8Array): PreparedEntry | undefined {
    return this.lookup(originId, 0, originId.length);
  }

  /** `get` of the id at [start, end) of `buf` (an EXECUTE's bytes): no view of the id is made. */
  getAt(buf: Buffer, start: number, end: number): PreparedEntry | undefined {
    return this.lookup(buf, start, end);
  }

  private lookup(id: Uint8Array, start: number, end: number): PreparedEntry | undefined {
    const i = slotOf(id, start, end);
    let e = this.slots[i];
    if (e === undefined || !sameBytes(e.originId, id, start, end)) {
      e = this.main.get(Buffer.isBuffer(id) ? id.toString('latin1', start, end) : key(id));
      if (e === undefined) return undefined;
      this.slots[i] = e;
    }
    // a hit becomes the newest entry
    if (this.bounded && e !== this.newest) {
      this.unlink(e);
      this.append(e);
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
    this.forget(e);
    return true;
  }

  clear(): void {
    this.oldest = this.newest = undefined;
    this.slots.fill(undefined);
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
