/**
 * Live read comparison, step 2 (the noise model, decisions and bounds only): a row that differed is
 * read again on both clusters after a delay (default twice the request timeout), with the same
 * consistency. If the two now agree the difference was `transient` (an in-flight write, a repair);
 * if they still differ it is `confirmed`. Confirmation reads are bounded: at most `maxQueued` wait
 * (the rest are dropped and counted), and at most `ratePerSecond` start per second (token bucket).
 * The re-read itself is a callback (`reread`): no sockets here. It never delays a client's reply:
 * `submit()` only queues.
 *
 * `MismatchList` keeps the latest confirmed mismatches per table (bounded) and says which are new
 * (to log each once).
 *
 * Wired by `DualReadComparer` (dual-read-comparer.ts).
 */
import type { Row } from '../protocol/messages/result';
import { ProtocolVersion } from '../protocol/constants';
import type { DataType } from '../protocol/values';
import { sameCell } from './cell';

export interface ConfirmationRequest {
  keyspace: string;
  table: string;
  /** raw key cells, in key column order */
  key: readonly Buffer[];
  /** consistency level of the client's request (the re-reads use the same) */
  consistency: number;
}

/** The row as each cluster returns it now (undefined: no such row). */
export interface RereadResult {
  primary: Row | undefined;
  secondary: Row | undefined;
  /** column names of the rows */
  columns: readonly string[];
  /** per column: undefined = the same type on both sides (bytes compared), else each side's (compared by value) */
  aligned?: readonly ({ primary: DataType; secondary: DataType } | undefined)[];
  /** protocol version of the rows (decoding aligned cells); default v4 */
  version?: ProtocolVersion;
}

export type Outcome<R extends ConfirmationRequest = ConfirmationRequest> =
  | { result: 'transient'; request: R }
  | { result: 'confirmed'; request: R; columns: readonly string[]; primary?: Row; secondary?: Row }
  | { result: 'error'; request: R; error: Error };

export interface ConfirmerOptions<R extends ConfirmationRequest = ConfirmationRequest> {
  /** wait before re-reading (ms); default 2 x the request timeout */
  delayMs: number;
  maxQueued: number;
  ratePerSecond: number;
  reread(req: R): Promise<RereadResult>;
  onOutcome(o: Outcome<R>): void;
  /** a request dropped because the queue was full */
  onDropped?(req: R): void;
  /** clock (ms), for tests */
  now?: () => number;
}

/** The columns whose bytes differ between the two re-read rows ([] when they agree). */
export function differingColumns(r: RereadResult): string[] {
  const a = r.primary;
  const b = r.secondary;
  if (a === undefined && b === undefined) return [];
  if (a === undefined || b === undefined) return [...r.columns];
  const out: string[] = [];
  const version = r.version ?? ProtocolVersion.V4;
  for (let i = 0; i < r.columns.length; i++) {
    if (!sameCell(a[i], b[i], r.aligned?.[i], version)) out.push(r.columns[i]!);
  }
  return out;
}

interface Queued<R> {
  req: R;
  due: number;
}

export class Confirmer<R extends ConfirmationRequest = ConfirmationRequest> {
  private readonly queue: Queued<R>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private tokens: number;
  private lastRefill: number;
  private readonly now: () => number;
  dropped = 0;
  inFlight = 0;

  constructor(private readonly opts: ConfirmerOptions<R>) {
    this.now = opts.now ?? Date.now;
    this.tokens = opts.ratePerSecond;
    this.lastRefill = this.now();
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queue a differing row for confirmation; false (and counted) when the queue is full. */
  submit(req: R): boolean {
    if (this.queue.length >= this.opts.maxQueued) {
      this.dropped++;
      this.opts.onDropped?.(req);
      return false;
    }
    this.queue.push({ req, due: this.now() + this.opts.delayMs });
    this.schedule();
    return true;
  }

  /** Forget everything queued (shutdown). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.opts.ratePerSecond, this.tokens + ((t - this.lastRefill) / 1000) * this.opts.ratePerSecond);
    this.lastRefill = t;
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    this.refill();
    const head = this.queue[0]!;
    let wait = Math.max(0, head.due - this.now());
    if (this.tokens < 1) wait = Math.max(wait, Math.ceil(((1 - this.tokens) / this.opts.ratePerSecond) * 1000));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, wait);
    this.timer.unref?.();
  }

  private run(): void {
    this.refill();
    const t = this.now();
    while (this.queue.length > 0 && this.queue[0]!.due <= t && this.tokens >= 1) {
      this.tokens -= 1;
      const { req } = this.queue.shift()!;
      this.inFlight++;
      this.opts.reread(req).then(
        (r) => {
          this.inFlight--;
          const cols = differingColumns(r);
          this.opts.onOutcome(
            cols.length === 0
              ? { result: 'transient', request: req }
              : { result: 'confirmed', request: req, columns: cols, primary: r.primary, secondary: r.secondary },
          );
        },
        (e: unknown) => {
          this.inFlight--;
          this.opts.onOutcome({ result: 'error', request: req, error: e instanceof Error ? e : new Error(String(e)) });
        },
      );
    }
    this.schedule();
  }
}

export interface MismatchEntry {
  keyspace: string;
  table: string;
  /** the key values, rendered readably (text as is, numbers, uuids, blobs as 0x hex), in key column order */
  key: string[];
  /** the names of the key columns (partition key, then clustering columns) */
  keyColumns?: string[];
  columns: string[];
  /** ISO time of the confirmation */
  at: string;
  /** only with `dual_read_compare_log_values`: the differing cells as hex, per side */
  values?: { primary: Record<string, string | null>; secondary: Record<string, string | null> };
}

/** The latest confirmed mismatches, at most `perTable` per table and `maxTables` tables. */
export class MismatchList {
  private readonly tables = new Map<string, MismatchEntry[]>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly perTable = 100,
    private readonly maxTables = 1000,
  ) {}

  /** Record a confirmed mismatch; true when it was not recorded before (log it then). */
  add(e: MismatchEntry): boolean {
    const id = `${e.keyspace}.${e.table}|${e.key.join(',')}|${e.columns.join(',')}`;
    const fresh = !this.seen.has(id);
    const t = `${e.keyspace}.${e.table}`;
    let list = this.tables.get(t);
    if (!list) {
      if (this.tables.size >= this.maxTables) return fresh && this.remember(id);
      list = [];
      this.tables.set(t, list);
    }
    const same = list.findIndex((x) => x.key.join(',') === e.key.join(','));
    if (same >= 0) list.splice(same, 1);
    list.push(e);
    if (list.length > this.perTable) list.shift();
    return fresh && this.remember(id);
  }

  private remember(id: string): boolean {
    if (this.seen.size >= this.perTable * this.maxTables) this.seen.clear();
    this.seen.add(id);
    return true;
  }

  /** JSON for GET /api/v1/mismatches: `{ tables: [{ keyspace, table, mismatches: [...] }] }`, newest last. */
  toJSON(): { tables: { keyspace: string; table: string; mismatches: MismatchEntry[] }[] } {
    return {
      tables: [...this.tables.entries()].map(([, list]) => ({
        keyspace: list[0]!.keyspace,
        table: list[0]!.table,
        mismatches: [...list],
      })),
    };
  }
}
