/**
 * The state of one cluster connection of a client session once the session is ready (issue 12: a session
 * survives losing its ORIGIN or TARGET connection):
 *
 *   up --lost()--> down --(backoff)--> reopening --success--> up
 *                    ^                     |
 *                    +------failure--------+          any state --stop()--> stopped
 *
 * - `up`: the session's connection to the cluster is usable.
 * - `down`: lost; the next attempt is scheduled after the current backoff (bounded: min -> max, times factor,
 *   with +-20 % jitter so the sessions of one proxy do not all dial at the same instant).
 *   `retryNow()` (the proxy saw the cluster come back: its control connection reopened) skips the wait.
 * - `reopening`: an attempt runs (`open()`: dial, handshake, auth, USE, REGISTER, done by the session); on
 *   success `onUp(conn)` installs the new connection and the backoff resets; on failure the backoff grows.
 *   `open()` rejecting with `fatal: true` (e.g. the cluster refused the credentials) stops the reconnector and
 *   calls `onGiveUp`.
 *
 * Decisions only: no sockets, no frames. Timers are node timers (tests use node:test mock timers).
 */
import type { ClusterName } from '../cluster';

export type LinkState = 'up' | 'down' | 'reopening' | 'stopped';

export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
  factor: number;
}

/** A reopen attempt that must not be retried (the session gives up on this cluster and closes). */
export class FatalReopenError extends Error {
  override readonly name = 'FatalReopenError';
}

export interface ReconnectorOptions<C> {
  cluster: ClusterName;
  policy: BackoffPolicy;
  /** one attempt: resolves with a ready connection, rejects when it failed (FatalReopenError: do not retry) */
  open: () => Promise<C>;
  /** the new connection is ready (the reconnector is `up` again) */
  onUp: (conn: C, attempts: number) => void;
  /** an attempt failed; the next one runs after `delayMs` */
  onRetry?: (err: Error, attempt: number, delayMs: number) => void;
  /** a FatalReopenError: the reconnector stopped */
  onGiveUp?: (err: Error) => void;
  /** [0, 1) source of the jitter (tests pass a constant) */
  random?: () => number;
}

export class ClusterReconnector<C> {
  private _state: LinkState = 'up';
  private timer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private attempts = 0;
  /** increments on every lost()/stop(): a late attempt result of an older generation is dropped */
  private generation = 0;

  constructor(private readonly opts: ReconnectorOptions<C>) {
    this.delayMs = opts.policy.minMs;
  }

  get state(): LinkState {
    return this._state;
  }
  get cluster(): ClusterName {
    return this.opts.cluster;
  }
  /** attempts since the connection was lost */
  get attemptCount(): number {
    return this.attempts;
  }
  get isUp(): boolean {
    return this._state === 'up';
  }

  /** The connection was lost: schedule the first attempt after the minimum backoff. No-op unless up. */
  lost(): void {
    if (this._state !== 'up') return;
    this.generation++;
    this._state = 'down';
    this.attempts = 0;
    this.delayMs = this.opts.policy.minMs;
    this.schedule(this.jittered(this.delayMs));
  }

  /**
   * The cluster is known to be back (its control connection reopened): when `down`, attempt now instead of at
   * the end of the current backoff. No-op in any other state (an attempt running, up, stopped).
   */
  retryNow(): void {
    if (this._state !== 'down') return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.attempt();
  }

  stop(): void {
    this.generation++;
    this._state = 'stopped';
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private jittered(ms: number): number {
    const r = (this.opts.random ?? Math.random)();
    return Math.max(1, Math.round(ms * (0.8 + 0.4 * r)));
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt();
    }, ms);
    this.timer.unref?.();
  }

  private attempt(): void {
    if (this._state !== 'down') return;
    const gen = this.generation;
    this._state = 'reopening';
    this.attempts++;
    // open() throwing synchronously counts as a failed attempt (never an exception out of a timer)
    new Promise<C>((resolve) => resolve(this.opts.open())).then(
      (conn) => {
        if (gen !== this.generation || this._state !== 'reopening') {
          // stopped meanwhile: the new connection is not wanted
          (conn as { close?: (why: string) => void }).close?.('client session gone');
          return;
        }
        this._state = 'up';
        this.delayMs = this.opts.policy.minMs;
        this.opts.onUp(conn, this.attempts);
      },
      (e: unknown) => {
        if (gen !== this.generation || this._state !== 'reopening') return;
        const err = e instanceof Error ? e : new Error(String(e));
        if (err instanceof FatalReopenError) {
          this.stop();
          this.opts.onGiveUp?.(err);
          return;
        }
        this._state = 'down';
        const p = this.opts.policy;
        this.delayMs = Math.min(p.maxMs, Math.max(p.minMs, this.delayMs * p.factor));
        const delay = this.jittered(this.delayMs);
        this.opts.onRetry?.(err, this.attempts, delay);
        this.schedule(delay);
      },
    );
  }
}
