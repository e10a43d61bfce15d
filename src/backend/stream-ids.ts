/**
 * Pool of synthetic stream ids `0..size-1` (upstream-spec-notes 2.5).
 *
 * Ids never handed out are `next..size-1`; released ids wait on a stack and are handed out again first (the
 * most recently released on top), so a connection uses the lowest ids it can. `take()` and `release()` are O(1).
 * A Uint8Array marks which ids are in use so a double release (or releasing an id that was never taken) is
 * harmless, as upstream's `streamidmapper` test requires. Memory follows the highest id used, not `size`: an
 * idle connection costs a few dozen bytes, not 6 KiB for 2048 ids (1,000 client sessions have 2,000 pools).
 */
export class StreamIdPool {
  /** released ids, most recent on top */
  private readonly free: number[] = [];
  /** ids >= next were never handed out */
  private next = 0;
  private inUse: Uint8Array;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1 || size > 32768) {
      throw new RangeError(`stream id pool size must be an integer in 1..32768, got ${size}`);
    }
    this.inUse = new Uint8Array(Math.min(size, 16));
  }

  /** A free id, or -1 when the pool is exhausted. */
  take(): number {
    let id: number;
    if (this.free.length > 0) id = this.free.pop()!;
    else if (this.next < this.size) {
      id = this.next++;
      if (id >= this.inUse.length) {
        const grown = new Uint8Array(Math.min(this.size, this.inUse.length * 2));
        grown.set(this.inUse);
        this.inUse = grown;
      }
    } else return -1;
    this.inUse[id] = 1;
    return id;
  }

  /** Return an id to the pool. Ids out of range or already free are ignored (returns false). */
  release(id: number): boolean {
    if (id < 0 || id >= this.next || this.inUse[id] === 0) return false;
    this.inUse[id] = 0;
    this.free.push(id);
    return true;
  }

  isInUse(id: number): boolean {
    return id >= 0 && id < this.next && this.inUse[id] === 1;
  }

  get used(): number {
    return this.next - this.free.length;
  }

  get available(): number {
    return this.size - this.used;
  }
}
