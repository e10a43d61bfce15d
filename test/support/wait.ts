// The one shared wait of the test suites: tests wait on a condition (an event, a counter, a row), never on a
// bare sleep. Where time itself is the subject, use node:test's mock timers instead.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';

export interface WaitOptions {
  /** give up after this long (default 10 s) */
  timeoutMs?: number;
  /** poll interval (default 50 ms) */
  intervalMs?: number;
}

/**
 * Polls `probe` until it returns a truthy value, which is returned; a probe that throws counts as "not yet".
 * When the time is up the test fails with `what` and the last value or error seen.
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 50 } = opts;
  // performance.now(), not Date.now(): the deadline holds while a test mocks Date (node:test mock timers)
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (performance.now() > deadline) {
      assert.fail(
        `${what}: not reached within ${timeoutMs} ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Resolves with the first `event` emitted by `emitter` (its first argument), or fails after `timeoutMs`.
 */
export function nextEvent<T = unknown>(
  emitter: { once(event: string, fn: (v: T) => void): unknown; removeListener(event: string, fn: (v: T) => void): unknown },
  event: string,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onEvent = (v: T): void => {
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => {
      emitter.removeListener(event, onEvent);
      reject(new Error(`event '${event}' not emitted within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.once(event, onEvent);
  });
}
