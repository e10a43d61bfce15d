/**
 * How many client sessions may reopen their connection to one cluster at the same time (issue 12). When a node
 * comes back, every session that lost its connection to it tries again at once (`ClusterReconnector.retryNow`):
 * a proxy with 1,000 sessions would open 1,000 connections and run 1,000 logins (bcrypt on the node, tens of ms
 * of CPU each) in the same instant, on a node that has just started. The gate lets `max` attempts run and queues
 * the others in arrival order; a finished attempt (success or failure) starts the next.
 *
 * The queue holds at most one attempt per session and cluster (a reconnector runs one attempt at a time), so it
 * is bounded by the number of client connections (`proxy_max_client_connections`). A queued attempt whose
 * session closed meanwhile is skipped by its caller (`run`'s function checks and rejects at once).
 */
export class ReopenGate {
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`ReopenGate: max must be a positive integer, got ${max}`);
  }

  /** attempts running now */
  get active(): number {
    return this.running;
  }
  /** attempts waiting for a slot */
  get waiting(): number {
    return this.queue.length;
  }

  /** Run `attempt` when a slot is free; resolves or rejects as it does. */
  run<T>(attempt: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.running++;
        let p: Promise<T>;
        try {
          p = attempt();
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(resolve, reject).finally(() => {
          this.running--;
          this.queue.shift()?.();
        });
      };
      if (this.running < this.max) start();
      else this.queue.push(start);
    });
  }
}

/** Reopen attempts per cluster that may run at once in one proxy process. */
export const REOPEN_CONCURRENCY = 16;
