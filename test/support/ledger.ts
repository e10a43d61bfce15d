/**
 * A ledger of the writes a scenario sent through the proxy, checked afterwards directly on Origin and Target.
 *
 *   const ledger = await WriteLedger.create(keyspace);            // tables on both clusters (created directly)
 *   await ledger.insert((cql, params) => client.execute(cql, params, { prepare: true }));   // one row, unique key
 *   await ledger.increment(exec);                                  // +1 on a counter of its own
 *   const r = await ledger.verify();                              // read back from Origin and Target directly
 *   assert.deepEqual(r.missing, []); assert.deepEqual(r.doubled, []);
 *
 * Outcomes: `acked` (the client saw success), `not-applied` (an error that tells the client nothing ran:
 * OVERLOADED, UNPREPARED; the ledger retries those once, as drivers and applications do), `failed` (any
 * other error or no reply: the write may or may not be on each side).
 * The promise checked by verify():
 *   - missing: an acknowledged write absent on Origin or Target (must be none);
 *   - doubled: a counter whose value on one side is above what its attempts allow (acked + failed), or a row
 *     written by a `not-applied` attempt only (must be none).
 */
import { type Client, types as driverTypes } from 'cassandra-driver';

import type { ClusterLabel } from '../../src/cluster';
import { withSession, NODE_NAMES } from './clusters';
import { bind, errorOf, type RawCqlClient } from './raw-client';

export type Outcome = 'acked' | 'failed' | 'not-applied';
export interface Attempt {
  outcome: Outcome;
  error?: unknown;
}
/** Runs one statement through the proxy; throws on error (an error with a numeric `code` is a server error). */
export type Exec = (cql: string, params: unknown[]) => Promise<unknown>;

/** Server error codes that mean "not executed": a client (or its driver) may retry. */
export const NOT_APPLIED_CODES: ReadonlySet<number> = new Set([
  0x1000 /* UNAVAILABLE: also the proxy's answer when a cluster the write needs is down */, 0x1001 /* OVERLOADED */,
  0x2500 /* UNPREPARED */,
]);

export function outcomeOf(err: unknown): Outcome {
  if (err === undefined) return 'acked';
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' && NOT_APPLIED_CODES.has(code) ? 'not-applied' : 'failed';
}

export interface LedgerReport {
  rows: { acked: number; failed: number; notApplied: number };
  counters: { attempts: number; acked: number; failed: number; notApplied: number };
  /** acknowledged writes not found on a side: `origin:row:k` / `target:counter:k=0` */
  missing: string[];
  /** counters above their attempts on a side, or rows present though every attempt was `not-applied` */
  doubled: string[];
  /** writes that failed (ambiguous) and are on one side only (allowed: reported for information) */
  oneSided: number;
  /** acknowledged writes gone from a node SIGKILLed within a commit-log sync period after acknowledging them (see noteCrash) */
  lostInCrash: string[];
}

let ledgerSeq = 0;

export class WriteLedger {
  private readonly rows = new Map<string, Outcome[]>();
  /** when each acknowledged key was acknowledged (performance.now()) */
  private readonly ackedAt = new Map<string, number>();
  private readonly crashes: { node: ClusterLabel; at: number }[] = [];
  private readonly counters = new Map<string, Outcome[]>();
  private seq = 0;
  private readonly prefix = `w${process.pid}_${++ledgerSeq}_`;

  private constructor(readonly keyspace: string) {}

  /** Creates the ledger tables in `keyspace` (which must exist) on both clusters, directly. */
  static async create(keyspace: string): Promise<WriteLedger> {
    await Promise.all(
      NODE_NAMES.map((n) =>
        withSession(n, async (c) => {
          await c.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.ledger_rows (k text PRIMARY KEY, v int)`);
          await c.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.ledger_counts (k text PRIMARY KEY, n counter)`);
        }),
      ),
    );
    return new WriteLedger(keyspace);
  }

  get insertCql(): string {
    return `INSERT INTO ${this.keyspace}.ledger_rows (k, v) VALUES (?, ?)`;
  }
  get incrementCql(): string {
    return `UPDATE ${this.keyspace}.ledger_counts SET n = n + 1 WHERE k = ?`;
  }

  /** Inserts one row with a fresh key; records the outcome and returns it with the last error (never throws). */
  async insert(exec: Exec): Promise<Attempt> {
    const k = `${this.prefix}${++this.seq}`;
    const list: Outcome[] = [];
    this.rows.set(k, list);
    return this.attempt(k, list, () => exec(this.insertCql, [k, this.seq]));
  }

  /** Increments a counter of its own by 1; records the final outcome and returns it with the last error (never throws). */
  async increment(exec: Exec): Promise<Attempt> {
    const k = `${this.prefix}${++this.seq}`;
    const list: Outcome[] = [];
    this.counters.set(k, list);
    return this.attempt(k, list, () => exec(this.incrementCql, [k]));
  }

  /** Records an outcome the caller obtained itself (for raw clients). */
  record(kind: 'row' | 'counter', key: string, outcome: Outcome): void {
    const m = kind === 'row' ? this.rows : this.counters;
    const list = m.get(key) ?? [];
    list.push(outcome);
    m.set(key, list);
  }

  /** How many writes were acknowledged so far. */
  get ackedCount(): number {
    let n = 0;
    for (const m of [this.rows, this.counters]) for (const l of m.values()) if (l.includes('acked')) n++;
    return n;
  }

  /**
   * A node is about to be SIGKILLed. Cassandra's periodic commit log (commitlog_sync_period, 10 s on the test
   * nodes) only replays what was synced, so writes the node acknowledged in the last sync period before the kill
   * may be gone from that node after its restart: the node's own durability contract, not the proxy's. verify()
   * reports those as `lostInCrash` (they must still be on the other cluster), not as `missing`.
   */
  noteCrash(node: ClusterLabel, syncPeriodMs = 10_000): void {
    this.crashes.push({ node, at: performance.now() });
    this.syncPeriodMs = syncPeriodMs;
  }
  private syncPeriodMs = 10_000;

  private excusedByCrash(node: ClusterLabel, key: string): boolean {
    const at = this.ackedAt.get(key);
    if (at === undefined) return false;
    // acknowledged before the kill, within one sync period (plus the kill's own latency)
    return this.crashes.some((c) => c.node === node && at >= c.at - this.syncPeriodMs && at <= c.at + 2_000);
  }

  private async attempt(key: string, list: Outcome[], run: () => Promise<unknown>): Promise<Attempt> {
    let error: unknown;
    for (let i = 0; i < 2; i++) {
      let outcome: Outcome;
      error = undefined;
      try {
        await run();
        outcome = 'acked';
      } catch (e) {
        error = e;
        outcome = outcomeOf(e);
      }
      list.push(outcome);
      if (outcome === 'acked') this.ackedAt.set(key, performance.now());
      if (outcome !== 'not-applied') return { outcome, error };
    }
    return { outcome: 'not-applied', error };
  }

  /** Reads every ledger key directly from Origin and Target and checks the promise. */
  async verify(): Promise<LedgerReport> {
    const read = async (name: ClusterLabel): Promise<{ rows: Set<string>; counts: Map<string, number> }> =>
      withSession(
        name,
        async (c: Client) => {
          const rows = new Set<string>();
          const counts = new Map<string, number>();
          const all = async (cql: string, each: (r: Record<string, unknown>) => void): Promise<void> => {
            let pageState: string | undefined;
            do {
              const rs = await c.execute(cql, [], { fetchSize: 5000, pageState, consistency: driverTypes.consistencies.one });
              for (const r of rs.rows) each(r as unknown as Record<string, unknown>);
              pageState = rs.pageState ?? undefined;
            } while (pageState);
          };
          await all(`SELECT k FROM ${this.keyspace}.ledger_rows`, (r) => {
            const k = r['k'] as string;
            if (k.startsWith(this.prefix)) rows.add(k);
          });
          await all(`SELECT k, n FROM ${this.keyspace}.ledger_counts`, (r) => {
            const k = r['k'] as string;
            if (k.startsWith(this.prefix)) counts.set(k, (r['n'] as { toNumber(): number }).toNumber());
          });
          return { rows, counts };
        },
        { timeoutMs: 30_000 },
      );
    const [origin, target] = await Promise.all([read('origin'), read('target')]);
    const sides = { origin, target };
    const report: LedgerReport = {
      rows: { acked: 0, failed: 0, notApplied: 0 },
      counters: { attempts: 0, acked: 0, failed: 0, notApplied: 0 },
      missing: [],
      doubled: [],
      oneSided: 0,
      lostInCrash: [],
    };
    const missingOn = (n: ClusterLabel, k: string, what: string): void => {
      const other = n === 'origin' ? 'target' : 'origin';
      const onOther = what.startsWith('row') ? sides[other].rows.has(k) : (sides[other].counts.get(k) ?? 0) > 0;
      if (this.excusedByCrash(n, k) && onOther) report.lostInCrash.push(`${n}:${what}`);
      else report.missing.push(`${n}:${what}`);
    };
    for (const [k, outcomes] of this.rows) {
      const final = outcomes[outcomes.length - 1];
      if (final === 'acked') report.rows.acked++;
      else if (final === 'failed') report.rows.failed++;
      else report.rows.notApplied++;
      const present = NODE_NAMES.filter((n) => sides[n].rows.has(k));
      if (outcomes.includes('acked')) {
        for (const n of NODE_NAMES) if (!sides[n].rows.has(k)) missingOn(n, k, `row:${k}`);
      } else if (outcomes.every((o) => o === 'not-applied')) {
        for (const n of present) report.doubled.push(`${n}:row:${k} (written though the client was told it was not)`);
      } else if (present.length === 1) report.oneSided++;
    }
    for (const [k, outcomes] of this.counters) {
      report.counters.attempts += outcomes.length;
      const acked = outcomes.filter((o) => o === 'acked').length;
      const failed = outcomes.filter((o) => o === 'failed').length;
      const final = outcomes[outcomes.length - 1];
      if (final === 'acked') report.counters.acked++;
      else if (final === 'failed') report.counters.failed++;
      else report.counters.notApplied++;
      const values = NODE_NAMES.map((n) => sides[n].counts.get(k) ?? 0);
      NODE_NAMES.forEach((n, i) => {
        const v = values[i]!;
        if (v < acked) missingOn(n, k, `counter:${k}=${v} (acked ${acked})`);
        if (v > acked + failed) report.doubled.push(`${n}:counter:${k}=${v} (attempts: ${outcomes.join(',')})`);
      });
      if (values[0] !== values[1] && acked === 0) report.oneSided++;
    }
    return report;
  }
}

/** Statistics of a MixedWorkload run. */
export interface WorkloadStats {
  reads: number;
  readErrors: number;
  writes: number;
  writeErrors: number;
  /** error messages by count (first 200 chars) */
  errors: Map<string, number>;
}

/**
 * A steady mixed workload through a Node driver client: `concurrency` loops, each doing insert (ledger),
 * counter increment (ledger) and a read of a row written beforehand, one after the other, until stop().
 * `onResult` sees every request (kind, ok, ms) for scenario checks.
 */
export class MixedWorkload {
  readonly stats: WorkloadStats = { reads: 0, readErrors: 0, writes: 0, writeErrors: 0, errors: new Map() };
  /** requests sent and not settled yet (startedAt: performance.now()) */
  readonly pending = new Set<{ kind: 'read' | 'write'; startedAt: number }>();
  /** every settled request: kind, ok, when it settled (performance.now()) */
  readonly log: { kind: 'read' | 'write'; ok: boolean; at: number; startedAt: number }[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly client: Client,
    private readonly ledger: WriteLedger,
    private readonly opts: {
      concurrency?: number;
      /** a SELECT the loops run as their read (default: system.local-free read of the ledger table) */
      readCql?: string;
      readParams?: unknown[];
      onResult?: (kind: 'read' | 'write', ok: boolean, ms: number, err?: unknown) => void;
      /** pause between iterations of one loop, ms (default 0) */
      thinkMs?: number;
    } = {},
  ) {}

  start(): this {
    for (let i = 0; i < (this.opts.concurrency ?? 4); i++) this.loops.push(this.loop());
    return this;
  }

  async stop(): Promise<WorkloadStats> {
    this.stopped = true;
    await Promise.all(this.loops);
    return this.stats;
  }

  /** Requests of that kind that succeeded after `since` (performance.now()). */
  okSince(kind: 'read' | 'write', since: number): number {
    let n = 0;
    for (let i = this.log.length - 1; i >= 0 && this.log[i]!.at >= since; i--)
      if (this.log[i]!.kind === kind && this.log[i]!.ok) n++;
    return n;
  }

  private note(kind: 'read' | 'write', t0: number, err?: unknown): void {
    const at = performance.now();
    const ms = at - t0;
    this.log.push({ kind, ok: !err, at, startedAt: t0 });
    if (kind === 'read') {
      this.stats.reads++;
      if (err) this.stats.readErrors++;
    } else {
      this.stats.writes++;
      if (err) this.stats.writeErrors++;
    }
    if (err) {
      const m = String((err as Error).message ?? err).slice(0, 200);
      this.stats.errors.set(m, (this.stats.errors.get(m) ?? 0) + 1);
    }
    this.opts.onResult?.(kind, !err, ms, err);
  }

  private async loop(): Promise<void> {
    const exec: Exec = (cql, params) => this.client.execute(cql, params, { prepare: true });
    const readCql = this.opts.readCql ?? `SELECT k, v FROM ${this.ledger.keyspace}.ledger_rows WHERE k = ?`;
    while (!this.stopped) {
      for (const kind of ['insert', 'increment', 'read'] as const) {
        if (this.stopped) break;
        const t0 = performance.now();
        const p = { kind: kind === 'read' ? ('read' as const) : ('write' as const), startedAt: t0 };
        this.pending.add(p);
        if (kind === 'read') {
          try {
            await this.client.execute(readCql, this.opts.readParams ?? ['none'], { prepare: true });
            this.pending.delete(p);
            this.note('read', t0);
          } catch (e) {
            this.pending.delete(p);
            this.note('read', t0, e);
            await new Promise((r) => setTimeout(r, 50)); // no busy loop while nothing answers
          }
          if (this.opts.thinkMs) await new Promise((r) => setTimeout(r, this.opts.thinkMs));
          continue;
        }
        const a = await (kind === 'insert' ? this.ledger.insert(exec) : this.ledger.increment(exec));
        this.pending.delete(p);
        this.note('write', t0, a.outcome === 'acked' ? undefined : (a.error ?? new Error(`write ${a.outcome}`)));
        if (a.outcome !== 'acked') await new Promise((r) => setTimeout(r, 50)); // no busy loop while nothing answers
      }
    }
  }
}

/** An Exec over a RawCqlClient (values: numbers as int, the rest as text); ERROR replies throw with their code. */
export function rawExec(c: RawCqlClient, timeoutMs = 10_000): Exec {
  return async (cql, params) => {
    const f = await c.query(
      cql,
      params.map((p) => (typeof p === 'number' ? bind.int(p) : bind.text(String(p)))),
      { timeoutMs },
    );
    const e = errorOf(f);
    if (e) throw Object.assign(new Error(`ERROR 0x${e.code.toString(16)}: ${e.message}`), { code: e.code });
  };
}
