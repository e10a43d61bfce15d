/**
 * Fixed-size pool of synthetic stream ids `0..size-1` (spec 2.5).
 *
 * A free-list stack over an Int16Array: `take()` and `release()` are O(1) and allocate nothing.
 * A parallel Uint8Array marks which ids are in use so a double release (or releasing an id that
 * was never taken) is harmless, as upstream's `streamidmapper` test requires.
 */
export class StreamIdPool {
  private readonly free: Int16Array;
  private readonly inUse: Uint8Array;
  /** Number of ids currently on the free stack. */
  private top: number;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1 || size > 32768) {
      throw new RangeError(`stream id pool size must be an integer in 1..32768, got ${size}`);
    }
    this.free = new Int16Array(size);
    this.inUse = new Uint8Array(size);
    // Lowest ids on top so the first ids handed out are 0, 1, 2, ...
    for (let i = 0; i < size; i++) this.free[i] = size - 1 - i;
    this.top = size;
  }

  /** A free id, or -1 when the pool is exhausted. */
  take(): number {
    if (this.top === 0) return -1;
    const id = this.free[--this.top]!;
    this.inUse[id] = 1;
    return id;
  }

  /** Return an id to the pool. Ids out of range or already free are ignored (returns false). */
  release(id: number): boolean {
    if (id < 0 || id >= this.size || this.inUse[id] === 0) return false;
    this.inUse[id] = 0;
    this.free[this.top++] = id;
    return true;
  }

  isInUse(id: number): boolean {
    return id >= 0 && id < this.size && this.inUse[id] === 1;
  }

  get used(): number {
    return this.size - this.top;
  }

  get available(): number {
    return this.top;
  }
}
