/**
 * Pinned write timestamps (`pin_write_timestamps`, extension, default on).
 *
 * A QUERY, EXECUTE or BATCH written to both clusters without a client timestamp would get a write
 * time from each cluster's coordinator clock: the same row then has a different WRITETIME() on
 * Origin and Target, and a later comparison or last-write-wins reconciliation sees a difference the
 * client never made. The proxy gives such a request ONE timestamp (microseconds, strictly increasing
 * per proxy process) in the request parameters, the same for both clusters.
 *
 * Left alone:
 *  - requests carrying a client timestamp (query flag 0x20): never changed;
 *  - `USING TIMESTAMP` in the text: Cassandra prefers it over the parameters' timestamp anyway;
 *  - conditional statements (LWT: `IF ...`, also in a batch): Cassandra 5.0 accepts a parameters
 *    timestamp there but ignores it (the Paxos ballot's time is the write time; checked against the
 *    real clusters in test/integration/proxy/write-timestamps.test.ts), so pinning would be a no-op;
 *  - protocol v2 (no default timestamp), reads, DDL, anything not sent to both clusters.
 * Counter updates ARE pinned: Cassandra 5.0 accepts a parameters timestamp on them (only the text's
 * `USING TIMESTAMP` is refused for counters) and it does no harm.
 *
 * Decisions only: the byte splice is `withDefaultTimestamp` in src/protocol.
 */
import type { StatementInfo } from '../cql/inspector';

/** Source of pinned write timestamps: microseconds since the epoch, strictly increasing. */
export interface WriteTimestampSource {
  next(): bigint;
}

/**
 * Wall clock (ms) in microseconds, strictly increasing: when two requests fall in the same
 * millisecond (or the clock steps back), the next value is the previous one + 1 (as the drivers'
 * monotonic timestamp generators do). Wall clock, not a monotonic clock: the values must stay
 * comparable with timestamps that clients and coordinators make.
 */
export class WriteTimestampClock implements WriteTimestampSource {
  private last = 0;

  constructor(private readonly nowMs: () => number = Date.now) {}

  next(): bigint {
    let t = Math.floor(this.nowMs() * 1000);
    if (t <= this.last) t = this.last + 1;
    this.last = t;
    return BigInt(t);
  }
}

/** The one clock of this proxy process (every session shares it). */
export const PROCESS_WRITE_CLOCK: WriteTimestampSource = new WriteTimestampClock();

const WRITES: ReadonlySet<StatementInfo['kind']> = new Set(['insert', 'update', 'delete', 'batch']);

/** True for an INSERT/UPDATE/DELETE/text BATCH that is not conditional: its write time can be pinned. */
export function canPinTimestamp(info: StatementInfo): boolean {
  return WRITES.has(info.kind) && !info.isLwt;
}
