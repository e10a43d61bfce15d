import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterConnection, decodeResponse, requestFrame } from '../../../src/backend/cluster-connection';
import { FakeServer } from '../../support/fake-server';
import { Consistency, Opcode, ProtocolVersion, ResultKind } from '../../../src/protocol/constants';
import type { RawFrame } from '../../../src/protocol/frame';
import type { Result } from '../../../src/protocol/messages';
import { waitFor } from '../../support/wait';

const V = ProtocolVersion.V4;

const optionsFrame = (v: ProtocolVersion) => requestFrame(v, { opcode: Opcode.OPTIONS });
const startupFrame = (v: ProtocolVersion) => requestFrame(v, { opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0' } });
const queryFrame = (v: ProtocolVersion, query: string, streamId = 0) =>
  requestFrame(v, { opcode: Opcode.QUERY, query, params: { consistency: Consistency.ONE } }, streamId);
const result = (f: RawFrame) => decodeResponse(f) as Result;

async function setup(opts: { maxStreamIds?: number; heartbeatIntervalMs?: number; maxVersion?: ProtocolVersion } = {}) {
  const server = await FakeServer.start({ maxVersion: opts.maxVersion ?? V });
  const conn = await ClusterConnection.connect({
    cluster: 'ORIGIN',
    endpoint: server.endpoint,
    connectTimeoutMs: 2000,
    maxStreamIds: opts.maxStreamIds ?? 64,
    heartbeatIntervalMs: opts.heartbeatIntervalMs,
  });
  return { server, conn };
}

function sendP(conn: ClusterConnection, f: RawFrame): Promise<RawFrame> {
  return new Promise((resolve, reject) => {
    const p = conn.send(f, resolve, reject);
    if (!p) reject(new Error('no stream id'));
  });
}

test('many concurrent requests are remapped onto synthetic ids and matched to their replies', async () => {
  const { server, conn } = await setup({ maxStreamIds: 16 });
  try {
    // The server echoes the query text back as a SET_KEYSPACE so each reply identifies its request.
    server.onRequest((_f, d) => (d?.opcode === Opcode.QUERY ? { opcode: Opcode.RESULT, body: ksBody(d.query) } : undefined));
    const results: Promise<RawFrame>[] = [];
    for (let i = 0; i < 16; i++) results.push(sendP(conn, queryFrame(V, `q${i}`, 1000 + i)));
    assert.equal(conn.usedStreamIds, 16);
    assert.equal(
      conn.send(
        queryFrame(V, 'overflow'),
        () => {},
        () => {},
      ),
      undefined,
      'pool exhausted -> undefined',
    );
    const frames = await Promise.all(results);
    frames.forEach((f, i) => {
      const r = result(f);
      assert.equal(r.kind, ResultKind.SET_KEYSPACE);
      assert.equal(r.keyspace, `q${i}`);
      assert.ok(f.streamId >= 0 && f.streamId < 16);
    });
    const ids = server.requests(Opcode.QUERY).map((r) => r.streamId);
    assert.equal(new Set(ids).size, 16, 'distinct synthetic ids on the wire');
    assert.ok(ids.every((id) => id < 16));
    assert.equal(conn.usedStreamIds, 0);
    assert.equal(conn.inFlight, 0);
    // 200 more, sequentially in batches, reuse the pool
    for (let b = 0; b < 10; b++)
      await Promise.all(Array.from({ length: 16 }, (_, i) => sendP(conn, queryFrame(V, `b${b}-${i}`))));
    assert.equal(conn.usedStreamIds, 0);
  } finally {
    conn.close();
    await server.stop();
  }
});

function ksBody(s: string): Buffer {
  const b = Buffer.alloc(4 + 2 + Buffer.byteLength(s));
  b.writeInt32BE(ResultKind.SET_KEYSPACE, 0);
  b.writeUInt16BE(Buffer.byteLength(s), 4);
  b.write(s, 6);
  return b;
}

test('abandon keeps the id until the late reply arrives, then frees it and drops the reply', async () => {
  const { server, conn } = await setup({ maxStreamIds: 1 });
  try {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    server.onRequest(async (_f, d) => {
      if (d?.opcode === Opcode.QUERY && d.query === 'slow') {
        await gate;
        return { opcode: Opcode.RESULT, body: ksBody('late') };
      }
      return undefined;
    });
    let called = false;
    const p = conn.send(
      queryFrame(V, 'slow'),
      () => (called = true),
      () => (called = true),
    );
    assert.ok(p);
    conn.abandon(p);
    assert.equal(conn.inFlight, 0);
    assert.equal(conn.usedStreamIds, 1, 'id stays reserved');
    assert.equal(
      conn.send(
        queryFrame(V, 'x'),
        () => {},
        () => {},
      ),
      undefined,
    );
    release();
    await waitFor('conn.lateReplies === 1', () => conn.lateReplies === 1, { timeoutMs: 2000 });
    assert.equal(called, false);
    assert.equal(conn.usedStreamIds, 0);
    const r = await sendP(conn, queryFrame(V, 'after'));
    assert.equal(r.opcode, Opcode.RESULT);
  } finally {
    conn.close();
    await server.stop();
  }
});

test('abandon() is a no-op after the reply, when repeated, and for a request of a closed connection', async () => {
  const { server, conn } = await setup({ maxStreamIds: 2 });
  try {
    let replies = 0;
    const done = conn.send(
      queryFrame(V, 'a'),
      () => replies++,
      () => assert.fail('no error expected'),
    );
    assert.ok(done);
    await waitFor('replies === 1', () => replies === 1, { timeoutMs: 2000 });
    conn.abandon(done); // already answered
    assert.equal(conn.inFlight, 0);
    assert.equal(conn.usedStreamIds, 0);
    assert.equal(conn.lateReplies, 0);

    server.onRequest((_f, d) => (d?.opcode === Opcode.QUERY && d.query === 'b' ? 'drop' : undefined));
    const p = conn.send(
      queryFrame(V, 'b'),
      () => assert.fail('abandoned'),
      () => assert.fail('abandoned'),
    );
    assert.ok(p);
    conn.abandon(p);
    conn.abandon(p);
    assert.equal(conn.inFlight, 0, 'counted once');
    assert.equal(conn.usedStreamIds, 1, 'id kept until the late reply');
    // the other id still works while one is held by the abandoned request
    const other = await sendP(conn, queryFrame(V, 'c'));
    assert.equal(other.opcode, Opcode.RESULT);
    assert.notEqual(other.streamId, p.streamId);
    assert.equal(conn.usedStreamIds, 1);
    conn.close('test');
    assert.equal(conn.usedStreamIds, 0, 'close frees the abandoned id without calling back');
    conn.abandon(p);
    assert.equal(conn.inFlight, 0);
  } finally {
    conn.close();
    await server.stop();
  }
});

test('idle heartbeat: OPTIONS in the connection version, reply dropped, stream id freed, callers unaffected', async (t) => {
  const { server, conn } = await setup({ heartbeatIntervalMs: 20, maxStreamIds: 2 });
  try {
    // the heartbeat interval is measured with Date.now(): time is the subject, so it is mocked
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    // hold the heartbeat reply and the caller's reply, so both are in flight at the same time
    let releaseHeartbeat!: () => void;
    let releaseQuery!: () => void;
    const heartbeatGate = new Promise<void>((r) => (releaseHeartbeat = r));
    const queryGate = new Promise<void>((r) => (releaseQuery = r));
    server.onRequest(async (_f, d) => {
      if (d?.opcode === Opcode.OPTIONS) await heartbeatGate;
      else if (d?.opcode === Opcode.QUERY && d.query === 'USE ks1') await queryGate;
      return undefined;
    });
    t.mock.timers.tick(20);
    assert.equal(conn.maybeHeartbeat(V), true);
    await waitFor('server.requests(Opcode.OPTIONS).length === 1', () => server.requests(Opcode.OPTIONS).length === 1, {
      timeoutMs: 2000,
    });
    const hb = server.requests(Opcode.OPTIONS)[0]!;
    assert.equal(hb.version, V);
    assert.equal(conn.usedStreamIds, 1, 'the heartbeat holds an id until its reply');
    assert.equal(conn.inFlight, 0, 'heartbeats are not caller requests');
    const q = sendP(conn, queryFrame(V, 'USE ks1'));
    await waitFor('server.requests(Opcode.QUERY).length === 1', () => server.requests(Opcode.QUERY).length === 1, {
      timeoutMs: 2000,
    });
    assert.equal(conn.usedStreamIds, 2);
    // pool exhausted: no heartbeat, and none counted
    t.mock.timers.tick(20); // an interval has passed: only the exhausted pool stops the heartbeat
    assert.equal(conn.maybeHeartbeat(V), false);
    assert.equal(conn.heartbeatsSent, 1);
    releaseQuery();
    const reply = await q;
    assert.equal((decodeResponse(reply) as Result).kind, ResultKind.SET_KEYSPACE, 'the caller gets its own reply');
    assert.equal(conn.usedStreamIds, 1, 'the heartbeat reply is still due');
    releaseHeartbeat();
    await waitFor('conn.usedStreamIds === 0', () => conn.usedStreamIds === 0, { timeoutMs: 2000 });
    assert.equal(conn.unknownReplies, 0);
    assert.equal(conn.lateReplies, 0);
    // the freed id is reusable
    assert.equal((await sendP(conn, queryFrame(V, 'x'))).opcode, Opcode.RESULT);
  } finally {
    conn.close();
    await server.stop();
  }
});

test('maybeHeartbeat does nothing without an interval or once closed', async (t) => {
  const { server, conn } = await setup();
  try {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    t.mock.timers.tick(60_000);
    assert.equal(conn.maybeHeartbeat(V), false);
    conn.close();
    assert.equal(conn.maybeHeartbeat(V), false);
    assert.equal(server.requests(Opcode.OPTIONS).length, 0);
    assert.equal(conn.heartbeatsSent, 0);
  } finally {
    await server.stop();
  }
});

test('EVENT frames are emitted as events', async () => {
  const { server, conn } = await setup();
  try {
    const reg = await conn.request(requestFrame(V, { opcode: Opcode.REGISTER, eventTypes: ['TOPOLOGY_CHANGE'] }), 1000);
    assert.equal(reg.opcode, Opcode.READY);
    const got = new Promise<RawFrame>((resolve) => conn.once('event', resolve));
    assert.equal(server.pushEvent(server.topologyChange('NEW_NODE', '127.0.0.9')), 1);
    const ev = await got;
    assert.equal(ev.opcode, Opcode.EVENT);
    assert.equal(ev.streamId, -1);
  } finally {
    conn.close();
    await server.stop();
  }
});

test('socket close fails every pending request and emits close once', async () => {
  const { server, conn } = await setup();
  try {
    server.stall = true;
    const errors: Error[] = [];
    for (let i = 0; i < 5; i++)
      conn.send(
        queryFrame(V, `q${i}`),
        () => assert.fail('no reply expected'),
        (e) => errors.push(e),
      );
    let closes = 0;
    conn.on('close', () => closes++);
    await waitFor('server.requests(Opcode.QUERY).length === 5', () => server.requests(Opcode.QUERY).length === 5, {
      timeoutMs: 2000,
    });
    server.dropConnections();
    await waitFor('closes === 1', () => closes === 1, { timeoutMs: 2000 });
    assert.equal(errors.length, 5);
    assert.match(errors[0]!.message, /ORIGIN connection to 127\.0\.0\.1:\d+/);
    assert.equal(conn.usedStreamIds, 0);
    assert.equal(
      conn.send(
        queryFrame(V, 'late'),
        () => {},
        () => {},
      ),
      undefined,
    );
    await assert.rejects(conn.request(optionsFrame(V), 100), /closed/);
    conn.close();
    assert.equal(closes, 1);
  } finally {
    await server.stop();
  }
});

test('a response cut mid-frame followed by reset fails the pending request', async () => {
  const { server, conn } = await setup();
  try {
    server.cutNextResponse();
    await assert.rejects(sendP(conn, queryFrame(V, 'x')), /closed|failed/);
    assert.equal(conn.isClosed, true);
  } finally {
    await server.stop();
  }
});

test('request() times out and abandons', async () => {
  const { server, conn } = await setup();
  try {
    server.stall = true;
    await assert.rejects(conn.request(optionsFrame(V), 50), /no response to OPTIONS after 50 ms/);
    assert.equal(conn.inFlight, 0);
    assert.equal(conn.usedStreamIds, 1);
  } finally {
    conn.close();
    await server.stop();
  }
});

test('maybeHeartbeat sends OPTIONS once per interval and drops the reply', async (t) => {
  const { server, conn } = await setup({ heartbeatIntervalMs: 30 });
  try {
    // the heartbeat interval is measured with Date.now(): time is the subject, so it is mocked
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    assert.equal(conn.maybeHeartbeat(V), false, 'interval counted from open');
    t.mock.timers.tick(30);
    assert.equal(conn.maybeHeartbeat(V), true);
    assert.equal(conn.maybeHeartbeat(V), false);
    await waitFor(
      'server.requests(Opcode.OPTIONS).length === 1 && conn.usedStreamIds === 0',
      () => server.requests(Opcode.OPTIONS).length === 1 && conn.usedStreamIds === 0,
      { timeoutMs: 2000 },
    );
    assert.equal(conn.heartbeatsSent, 1);
    assert.equal(conn.unknownReplies, 0);
    assert.equal(conn.lateReplies, 0);
    assert.equal(conn.inFlight, 0);
  } finally {
    conn.close();
    await server.stop();
  }
});

test('v5: switches to segment framing after READY', async () => {
  const { server, conn } = await setup({ maxVersion: ProtocolVersion.V5 });
  try {
    const ready = await conn.request(startupFrame(ProtocolVersion.V5), 1000);
    assert.equal(ready.opcode, Opcode.READY);
    assert.equal(conn.segments, true);
    const rs = await Promise.all(
      [1, 2, 3].map(() => conn.request(queryFrame(ProtocolVersion.V5, 'SELECT * FROM system.local'), 1000)),
    );
    for (const r of rs) assert.equal(result(r).kind, ResultKind.ROWS);
  } finally {
    conn.close();
    await server.stop();
  }
});

test('connect retries until the deadline, then rejects', async () => {
  const server = await FakeServer.start();
  const port = server.port;
  await server.stop();
  const t0 = Date.now();
  await assert.rejects(
    ClusterConnection.connect({
      cluster: 'TARGET',
      endpoint: { host: '127.0.0.1', port },
      connectTimeoutMs: 350,
      maxStreamIds: 4,
    }),
    /could not connect to 127\.0\.0\.1/,
  );
  assert.ok(Date.now() - t0 >= 300, 'kept retrying until the deadline');
});
