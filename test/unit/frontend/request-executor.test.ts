// RequestExecutor: completions, timeouts through the executor's single shared timer, clear(), metrics.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { Opcode, ProtocolVersion } from '../../../src/protocol/constants';
import { RawFrame } from '../../../src/protocol/frame';
import type { ClusterConnection, PendingRequest } from '../../../src/backend/cluster-connection';
import { RequestExecutor, type ExecutorHooks, type ForwardRoute, type InFlight } from '../../../src/frontend/request-executor';
import { PrometheusProxyMetrics } from '../../../src/observability/metrics';

class FakeConn {
  used = 0;
  pending: { frame: RawFrame; onResponse: (r: RawFrame) => void; p: PendingRequest }[] = [];
  abandoned: PendingRequest[] = [];
  /** stream ids of this connection (reserve() fails beyond) */
  capacity = Infinity;
  reserved = 0;
  isClosed = false;
  get usedStreamIds(): number {
    return this.used + this.reserved;
  }
  reserve(): number {
    if (this.used + this.reserved >= this.capacity) return -1;
    this.reserved++;
    return 0;
  }
  unreserve(id: number): void {
    if (id >= 0) this.reserved--;
  }
  send<C>(
    frame: RawFrame,
    onResponse: (r: RawFrame, ctx: C) => void,
    _onError: unknown,
    reserved = -1,
    ctx?: C,
  ): PendingRequest | undefined {
    const p = {} as PendingRequest;
    if (reserved >= 0) this.reserved--;
    else if (this.used + this.reserved >= this.capacity) return undefined;
    this.used++;
    this.pending.push({ frame, onResponse: (r) => onResponse(r, ctx as C), p });
    return p;
  }
  abandon(p: PendingRequest): void {
    this.abandoned.push(p);
  }
  maybeHeartbeat(): boolean {
    return false;
  }
  /** reply to the request sent with this client stream id */
  reply(stream: number, opcode = Opcode.RESULT): void {
    const i = this.pending.findIndex((x) => x.frame.streamId === stream);
    const [e] = this.pending.splice(i, 1);
    this.used--;
    e!.onResponse(
      RawFrame.fromParts({ version: ProtocolVersion.V4, isResponse: true, flags: 0, streamId: stream, opcode }, Buffer.alloc(4)),
    );
  }
}

const frame = (stream: number) =>
  RawFrame.fromParts(
    { version: ProtocolVersion.V4, isResponse: false, flags: 0, streamId: stream, opcode: Opcode.QUERY },
    Buffer.alloc(8),
  );
/**
 * Time is the subject of these tests: node:test mock timers for the executor's setTimeout, and a mocked
 * performance.now() (which the executor reads for deadlines) moved with them. `advance(ms)` moves both one
 * millisecond at a time, so every timer runs at the time it was due.
 */
function mockClock(t: TestContext): (ms: number) => void {
  let now = 1_000;
  t.mock.method(performance, 'now', () => now);
  t.mock.timers.enable({ apis: ['setTimeout'] });
  return (ms: number) => {
    for (let i = 0; i < ms; i++) {
      now += 1;
      t.mock.timers.tick(1);
    }
  };
}

const read: ForwardRoute = { type: 'forward', to: 'origin', tracking: 'read', async: false };
const write: ForwardRoute = { type: 'forward', to: 'both', tracking: 'write', async: false };

function setup(timeoutMs: number, metrics?: PrometheusProxyMetrics) {
  const origin = new FakeConn();
  const target = new FakeConn();
  const timedOut: number[] = [];
  const overloaded: string[] = [];
  const down: string[] = [];
  const completed: number[] = [];
  let settled = 0;
  let onTimedOut: () => void = () => {};
  const hooks: ExecutorHooks = {
    onSendError: () => {},
    onClusterDown: (fl, cluster) => down.push(`${fl.clientStream}:${cluster}`),
    onOverloaded: (fl, cluster) => overloaded.push(`${fl.clientStream}:${cluster}`),
    onTimedOut: (fl) => {
      timedOut.push(fl.clientStream);
      onTimedOut();
    },
    onCompleteError: () => {},
    onSettled: () => settled++,
    heartbeatVersion: (v) => v,
    errorCode: () => 0x1200,
  };
  const m = metrics
    ? { proxy: metrics, origin: metrics.node('ORIGIN', 'o:1'), target: metrics.node('TARGET', 't:1') }
    : undefined;
  const ex = new RequestExecutor(
    origin as unknown as ClusterConnection,
    target as unknown as ClusterConnection,
    timeoutMs,
    pino({ level: 'silent' }),
    hooks,
    { requestTimeouts: 0 },
    m,
  );
  const complete = (fl: InFlight) => completed.push(fl.clientStream);
  const waitTimeouts = (n: number) =>
    new Promise<void>((resolve) => {
      if (timedOut.length >= n) return resolve();
      onTimedOut = () => {
        if (timedOut.length >= n) resolve();
      };
    });
  return { ex, origin, target, timedOut, overloaded, down, completed, complete, waitTimeouts, settled: () => settled };
}

test('executor: replies complete requests; the others time out in dispatch order through one shared timer', (t) => {
  const advance = mockClock(t);
  const s = setup(40);
  for (const id of [1, 2, 3]) assert.ok(s.ex.forward(frame(id), id === 2 ? write : read, s.complete));
  s.origin.reply(2);
  assert.deepEqual(s.completed, [], 'both replies expected for a write');
  s.target.reply(2);
  assert.deepEqual(s.completed, [2]);
  advance(39);
  assert.deepEqual(s.timedOut, [], 'nothing times out before the 40 ms timeout');
  advance(1);
  assert.deepEqual(s.timedOut, [1, 3]);
  assert.equal(s.origin.abandoned.length, 2);
  assert.equal(s.ex.size, 0);
  assert.equal(s.settled(), 3);
  // the timer is re-armed for requests sent after the earlier ones timed out
  s.ex.forward(frame(4), read, s.complete);
  advance(5);
  s.ex.forward(frame(5), read, s.complete);
  s.origin.reply(4);
  advance(35); // 4's deadline: 4 was answered, the timer is re-armed for 5's
  assert.deepEqual(s.timedOut, [1, 3], '5 is not due before its own deadline');
  advance(5);
  assert.deepEqual(s.timedOut, [1, 3, 5]);
  assert.deepEqual(s.completed, [2, 4]);
  s.ex.clear();
});

test('executor: a late reply after the timeout is ignored; clear() cancels every pending timeout', (t) => {
  const advance = mockClock(t);
  const s = setup(20);
  s.ex.forward(frame(1), read, s.complete);
  advance(20);
  assert.deepEqual(s.timedOut, [1], 'the clock reaches the executor: the 20 ms timeout fires');
  s.origin.reply(1); // late
  assert.deepEqual(s.completed, []);
  s.ex.forward(frame(2), read, s.complete);
  s.ex.forward(frame(3), write, s.complete);
  s.ex.clear();
  assert.equal(s.ex.size, 0);
  advance(80); // four times past every deadline
  assert.deepEqual(s.timedOut, [1], 'nothing times out after clear()');
  s.origin.reply(2);
  assert.deepEqual(s.completed, [], 'no completion after clear()');
});

test('executor metrics: in-flight, durations, timeouts and used stream ids', async () => {
  const metrics = new PrometheusProxyMetrics({ defaultCollectors: false });
  const s = setup(30, metrics);
  s.ex.forward(frame(1), read, s.complete);
  s.ex.forward(frame(2), write, s.complete);
  s.ex.forward(frame(3), read, s.complete);
  let text = await metrics.metricsText();
  assert.ok(text.includes('zdm_proxy_inflight_requests_total{type="reads_origin"} 2'), text);
  assert.ok(text.includes('zdm_proxy_inflight_requests_total{type="writes"} 1'), text);
  assert.ok(text.includes('zdm_origin_used_stream_ids_total{node="o:1"} 3'), text);
  assert.ok(text.includes('zdm_target_used_stream_ids_total{node="t:1"} 1'), text);
  s.origin.reply(2, Opcode.ERROR);
  s.target.reply(2);
  s.origin.reply(1);
  await s.waitTimeouts(1);
  text = await metrics.metricsText();
  assert.ok(text.includes('zdm_proxy_inflight_requests_total{type="reads_origin"} 0'), text);
  assert.ok(text.includes('zdm_proxy_inflight_requests_total{type="writes"} 0'), text);
  assert.ok(text.includes('zdm_proxy_request_duration_seconds_count{type="reads_origin"} 2'), text);
  assert.ok(text.includes('zdm_proxy_request_duration_seconds_count{type="writes"} 1'), text);
  assert.ok(text.includes('zdm_origin_request_duration_seconds_count{node="o:1",type="writes"} 1'), text);
  assert.ok(text.includes('zdm_origin_request_duration_seconds_count{node="o:1",type="reads"} 1'), text);
  assert.ok(text.includes('zdm_origin_requests_failed_total{error="client_timeout",node="o:1"} 1'), text);
  assert.ok(text.includes('zdm_origin_requests_failed_total{error="read_timeout",node="o:1"} 1'), text);
  assert.ok(text.includes('zdm_proxy_failed_writes_total{failed_on="origin"} 1'), text);
  assert.ok(text.includes('zdm_origin_used_stream_ids_total{node="o:1"} 1'), text); // the timed-out id stays reserved
  s.ex.clear();
  text = await metrics.metricsText();
  assert.ok(text.includes('zdm_origin_used_stream_ids_total{node="o:1"} 0'), text);
  metrics.close();
});

test('executor: a write finds TARGET out of stream ids: OVERLOADED, nothing sent to ORIGIN, its reserved id given back (issue 12)', () => {
  const s = setup(1000);
  s.target.capacity = 1;
  assert.ok(s.ex.forward(frame(1), write, s.complete), 'the first write fits');
  assert.equal(s.ex.forward(frame(2), write, s.complete), undefined, 'the second does not');
  assert.deepEqual(s.overloaded, ['2:TARGET']);
  assert.deepEqual(
    s.origin.pending.map((x) => x.frame.streamId),
    [1],
    'ORIGIN never received the refused write',
  );
  assert.equal(s.origin.usedStreamIds, 1, "ORIGIN's reservation for the refused write was given back");
  // ORIGIN full: refused before anything is reserved on TARGET
  s.origin.capacity = 1;
  s.target.capacity = Infinity;
  assert.equal(s.ex.forward(frame(3), write, s.complete), undefined);
  assert.deepEqual(s.overloaded, ['2:TARGET', '3:ORIGIN']);
  assert.equal(s.target.pending.length, 1);
  assert.equal(s.target.usedStreamIds, 1);
  s.ex.clear();
});

test('executor: a request that needs a cluster whose connection is down is refused before anything is sent', () => {
  const s = setup(1_000);
  s.target.isClosed = true;
  assert.equal(s.ex.forward(frame(1), write, s.complete), undefined, 'a write (both) is refused');
  assert.deepEqual(s.down, ['1:TARGET']);
  assert.equal(s.origin.pending.length, 0, 'nothing was sent to ORIGIN either (both or neither)');
  assert.equal(s.origin.reserved + s.target.reserved, 0, 'no stream id left reserved');
  assert.ok(s.ex.forward(frame(2), read, s.complete), 'a read for the live ORIGIN goes on');
  s.origin.reply(2);
  assert.deepEqual(s.completed, [2]);
  const refused: string[] = [];
  assert.equal(
    s.ex.forward(frame(3), { ...read, to: 'target' }, s.complete, 3, (c) => refused.push(c)),
    undefined,
  );
  assert.deepEqual(refused, ['TARGET'], 'with a refused callback, it runs instead of onClusterDown');
  assert.deepEqual(s.down, ['1:TARGET']);
  s.ex.clear();
});

test('executor: connectionLost answers the requests waiting on that cluster at once; a write still waits for the other side', () => {
  const s = setup(60_000);
  s.ex.forward(frame(1), write, s.complete);
  s.ex.forward(frame(2), { ...read, to: 'target' }, s.complete);
  s.ex.forward(frame(3), read, s.complete);
  s.ex.forward(frame(4), write, s.complete);
  s.target.reply(4); // TARGET answered this one before it was lost
  const lostReply = (fl: InFlight) =>
    RawFrame.fromParts(
      { version: ProtocolVersion.V4, isResponse: true, flags: 0, streamId: fl.clientStream, opcode: Opcode.ERROR },
      Buffer.alloc(4),
    );
  const seen: InFlight[] = [];
  const keep = (fl: InFlight) => {
    seen.push(fl);
    s.complete(fl);
  };
  s.ex.forward(frame(5), write, keep);
  s.target.isClosed = true;
  s.ex.connectionLost('TARGET', lostReply);
  assert.deepEqual(s.completed, [2], 'the TARGET-only read completes at once');
  assert.equal(s.ex.size, 4);
  s.origin.reply(1);
  s.origin.reply(4);
  s.origin.reply(5);
  assert.deepEqual(s.completed, [2, 1, 4, 5], 'writes complete with ORIGIN reply + the lost-connection error');
  assert.equal(seen[0]!.target!.opcode, Opcode.ERROR);
  assert.equal(seen[0]!.origin!.opcode, Opcode.RESULT);
  // a new TARGET connection replaces the lost one: requests for TARGET are sent again
  const fresh = new FakeConn();
  s.ex.replace('TARGET', fresh as unknown as ClusterConnection);
  assert.ok(s.ex.forward(frame(6), write, s.complete));
  assert.equal(fresh.pending.length, 1);
  assert.equal(
    s.target.pending.some((p) => p.frame.streamId === 6),
    false,
    'nothing more goes to the lost connection',
  );
  s.ex.clear();
});
