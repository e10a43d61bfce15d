/**
 * The timing collaborators of a control connection (upstream-spec-notes 2.2.2): the heartbeat interval, the jittered
 * exponential backoff, and the reconnect loop that retries an open until it succeeds or is cancelled.
 * ControlConnection (control-connection.ts) decides what a heartbeat sends and what an attempt opens.
 * Upstream: `proxy/pkg/zdmproxy/controlconn.go` `ControlConn.Start` (its heartbeat/reconnect goroutine).
 */

/** Jittered exponential backoff between `minMs` and `maxMs`. */
export class Backoff {
  private currentMs: number;
  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly factor: number,
  ) {
    this.currentMs = minMs;
  }

  /** Back to the minimum (after a successful open). */
  reset(): void {
    this.currentMs = this.minMs;
  }

  /** The next delay: the current base +-20 %, within [min, max]; the base grows by the factor. */
  next(): number {
    const base = this.currentMs;
    this.currentMs = Math.min(this.maxMs, Math.max(1, base * this.factor));
    const jitter = base * 0.2 * (Math.random() * 2 - 1);
    return Math.max(this.minMs, Math.min(this.maxMs, Math.round(base + jitter)));
  }
}

/** Calls `beat` every `intervalMs` (unref'd) from start() until stop(); an interval <= 0 never beats. */
export class HeartbeatTimer {
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly intervalMs: number,
    private readonly beat: () => Promise<void>,
  ) {}

  start(): void {
    if (this.timer || this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Runs an attempt until it succeeds, waiting a Backoff delay after each failure; cancel() ends the wait at
 * once (the loop then ends when `stopped()` says so).
 */
export class ReconnectLoop {
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private _running = false;

  constructor(private readonly backoff: Backoff) {}

  get running(): boolean {
    return this._running;
  }

  /**
   * `attempt` until it resolves or `stopped()`; after each failure (when not stopped) `onFailure(err, delay)`
   * and a wait of `delay` ms.
   */
  async run(
    attempt: () => Promise<void>,
    stopped: () => boolean,
    onFailure: (err: Error, delayMs: number) => void,
  ): Promise<void> {
    this._running = true;
    try {
      while (!stopped()) {
        try {
          await attempt();
          return;
        } catch (e) {
          if (stopped()) return;
          const delay = this.backoff.next();
          onFailure(e as Error, delay);
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            this.timer = setTimeout(resolve, delay);
          });
          this.wake = undefined;
          this.timer = undefined;
        }
      }
    } finally {
      this._running = false;
    }
  }

  /** Ends the current wait now. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wake?.();
  }
}
