// ReopenGate: at most `max` reopen attempts per cluster at once, the others queued in arrival order; a finished
// attempt (resolved, rejected or thrown) frees its slot for the next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReopenGate } from '../../../src/frontend/reopen-gate';

/** an attempt the test settles by hand */
function deferred() {
  let resolve!: (v: string) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
const settle = () => new Promise<void>((r) => setImmediate(r));

test('reopen gate: max attempts run, the rest wait in order; each end (success, failure, throw) starts the next', async () => {
  const gate = new ReopenGate(2);
  const started: number[] = [];
  const d = [deferred(), deferred(), deferred(), deferred()];
  const results = d.map((x, i) =>
    gate
      .run(() => {
        started.push(i);
        if (i === 2) throw new Error('dial failed synchronously');
        return x.promise;
      })
      .then(
        (v) => `ok ${v}`,
        (e: Error) => `failed ${e.message}`,
      ),
  );
  assert.deepEqual(started, [0, 1], 'only max attempts started');
  assert.equal(gate.active, 2);
  assert.equal(gate.waiting, 2);
  d[1]!.reject(new Error('refused'));
  await settle();
  // attempt 2 took the slot and threw at once: its slot went to attempt 3
  assert.deepEqual(started, [0, 1, 2, 3]);
  assert.equal(gate.active, 2);
  assert.equal(gate.waiting, 0);
  d[0]!.resolve('a');
  d[3]!.resolve('d');
  assert.deepEqual(await Promise.all(results), ['ok a', 'failed refused', 'failed dial failed synchronously', 'ok d']);
  await settle();
  assert.equal(gate.active, 0);
});

test('reopen gate: max must be a positive integer', () => {
  assert.throws(() => new ReopenGate(0), /max must be a positive integer, got 0/);
});
