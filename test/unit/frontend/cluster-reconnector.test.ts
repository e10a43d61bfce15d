// ClusterReconnector: the up -> down -> reopening -> up state machine of a session's cluster connection, with a
// bounded backoff (node:test mock timers: time is the subject here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterReconnector, FatalReopenError } from '../../../src/frontend/cluster-reconnector';

interface Conn {
  id: number;
  closed?: string;
  close(why: string): void;
}

function setup(results: (() => Promise<Conn>)[]) {
  const attempts: number[] = [];
  const ups: { conn: Conn; attempts: number }[] = [];
  const retries: number[] = [];
  const gaveUp: string[] = [];
  let n = 0;
  const r = new ClusterReconnector<Conn>({
    cluster: 'TARGET',
    policy: { minMs: 100, maxMs: 1_000, factor: 2 },
    random: () => 0.5, // no jitter: 0.8 + 0.4 * 0.5 = 1
    open: () => {
      attempts.push(Date.now());
      const f = results[Math.min(n, results.length - 1)]!;
      n++;
      return f();
    },
    onUp: (conn, a) => ups.push({ conn, attempts: a }),
    onRetry: (_e, _a, delay) => retries.push(delay),
    onGiveUp: (e) => gaveUp.push(e.message),
  });
  return { r, attempts, ups, retries, gaveUp };
}

const conn = (id: number): Conn => ({
  id,
  close(why) {
    this.closed = why;
  },
});
const fail = () => Promise.reject(new Error('connection refused'));
/** let the attempt's promise settle (microtasks only: mock timers do not advance) */
const settle = () => new Promise<void>((r) => setImmediate(r));

test('reconnector: bounded backoff (min, x factor, capped at max) until an attempt succeeds; then up and reset', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const s = setup([fail, fail, fail, fail, fail, () => Promise.resolve(conn(7))]);
  assert.equal(s.r.state, 'up');
  s.r.lost();
  assert.equal(s.r.state, 'down');
  s.r.lost(); // a second loss while down changes nothing
  t.mock.timers.tick(99);
  assert.equal(s.attempts.length, 0, 'no attempt before the minimum backoff');
  for (const step of [1, 200, 400, 800, 1_000, 1_000]) {
    t.mock.timers.tick(step);
    await settle();
  }
  assert.equal(s.attempts.length, 6);
  assert.deepEqual(s.retries, [200, 400, 800, 1_000, 1_000], 'doubling, capped at maxMs');
  assert.equal(s.r.state, 'up');
  assert.deepEqual(
    s.ups.map((u) => [u.conn.id, u.attempts]),
    [[7, 6]],
  );
  // lost again: the backoff starts over from the minimum
  s.r.lost();
  t.mock.timers.tick(100);
  await settle();
  assert.equal(s.attempts.length, 7);
  s.r.stop();
});

test('reconnector: stop() cancels the next attempt and drops (closes) a connection that opens after it', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let release!: (c: Conn) => void;
  const s = setup([() => new Promise<Conn>((r) => (release = r))]);
  s.r.lost();
  t.mock.timers.tick(100);
  assert.equal(s.r.state, 'reopening');
  s.r.stop();
  const late = conn(1);
  release(late);
  await settle();
  assert.equal(s.ups.length, 0, 'a stopped reconnector never reports up');
  assert.equal(late.closed, 'client session gone');
  assert.equal(s.r.state, 'stopped');
  t.mock.timers.tick(10_000);
  assert.equal(s.attempts.length, 1, 'no attempt after stop()');
});

test('reconnector: a FatalReopenError stops retrying and reports the give-up', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const s = setup([() => Promise.reject(new FatalReopenError('TARGET refused the credentials'))]);
  s.r.lost();
  t.mock.timers.tick(100);
  await settle();
  assert.deepEqual(s.gaveUp, ['TARGET refused the credentials']);
  assert.equal(s.r.state, 'stopped');
  t.mock.timers.tick(10_000);
  assert.equal(s.attempts.length, 1);
});

test('reconnector: jitter stays within +-20 % of the backoff', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  for (const rnd of [0, 0.999]) {
    const delays: number[] = [];
    const r = new ClusterReconnector<Conn>({
      cluster: 'ORIGIN',
      policy: { minMs: 100, maxMs: 1_000, factor: 2 },
      random: () => rnd,
      open: fail,
      onUp: () => {},
      onRetry: (_e, _a, d) => delays.push(d),
    });
    r.lost();
    t.mock.timers.tick(200);
    await settle();
    assert.equal(delays.length, 1);
    assert.ok(delays[0]! >= 160 && delays[0]! <= 240, `delay ${delays[0]}`);
    r.stop();
  }
});

test('reconnector: open() throwing synchronously is a failed attempt, retried with backoff', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const s = setup([
    () => {
      throw new Error('no host known for TARGET');
    },
    () => Promise.resolve(conn(3)),
  ]);
  s.r.lost();
  t.mock.timers.tick(100);
  await settle();
  assert.deepEqual(s.retries, [200]);
  assert.equal(s.r.state, 'down');
  t.mock.timers.tick(200);
  await settle();
  assert.equal(s.r.state, 'up');
  assert.deepEqual(
    s.ups.map((u) => u.conn.id),
    [3],
  );
});

test('reconnector: retryNow() attempts at once when down (the cluster is back), and is a no-op in any other state', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let release!: (c: Conn) => void;
  const s = setup([fail, fail, () => new Promise<Conn>((r) => (release = r))]);
  s.r.retryNow(); // up: nothing to do
  assert.equal(s.attempts.length, 0);
  s.r.lost();
  t.mock.timers.tick(100);
  await settle();
  assert.deepEqual(s.retries, [200], 'first attempt failed; the next is 200 ms away');
  s.r.retryNow();
  await settle();
  assert.equal(s.attempts.length, 2, 'attempted without waiting out the backoff');
  assert.deepEqual(s.retries, [200, 400]);
  t.mock.timers.tick(399);
  assert.equal(s.attempts.length, 2, 'the cancelled timer did not fire an extra attempt');
  s.r.retryNow();
  assert.equal(s.attempts.length, 3);
  assert.equal(s.r.state, 'reopening');
  s.r.retryNow(); // an attempt is running: no second one
  t.mock.timers.tick(1_000);
  assert.equal(s.attempts.length, 3);
  release(conn(9));
  await settle();
  assert.equal(s.r.state, 'up');
  assert.deepEqual(
    s.ups.map((u) => [u.conn.id, u.attempts]),
    [[9, 3]],
  );
  s.r.stop();
  s.r.retryNow(); // stopped: nothing
  assert.equal(s.attempts.length, 3);
});
