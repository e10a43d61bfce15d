import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterConnection } from '../../../src/backend/cluster-connection';
import { FakeServer } from '../../support/fake-server';
import { Opcode, ProtocolVersion, ResultKind } from '../../../src/protocol/constants';
import { RawFrame } from '../../../src/protocol/frame';
import { optionsFrame, queryFrame, startupFrame, readResult } from '../../../src/backend/wire';

const V = ProtocolVersion.V4;

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
    for (let i = 0; i < 16; i++) results.push(sendP(conn, queryFrame(V, `q${i}`, {}, 1000 + i)));
    assert.equal(conn.usedStreamIds, 16);
    assert.equal(conn.send(queryFrame(V, 'overflow'), () => {}, () => {}), undefined, 'pool exhausted -> undefined');
    const frames = await Promise.all(results);
    frames.forEach((f, i) => {
      const r = readResult(f.body, V);
      assert.equal(r.kind, ResultKind.SET_KEYSPACE);
      assert.equal((r as { body: Buffer }).body.toString('utf8', 6), `q${i}`);
      assert.ok(f.streamId >= 0 && f.streamId < 16);
    });
    const ids = server.requests(Opcode.QUERY).map((r) => r.streamId);
    assert.equal(new Set(ids).size, 16, 'distinct synthetic ids on the wire');
    assert.ok(ids.every((id) => id < 16));
    assert.equal(conn.usedStreamIds, 0);
    assert.equal(conn.inFlight, 0);
    // 200 more, sequentially in batches, reuse the pool
    for (let b = 0; b < 10; b++) await Promise.all(Array.from({ length: 16 }, (_, i) => sendP(conn, queryFrame(V, `b${b}-${i}`))));
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
    const p = conn.send(queryFrame(V, 'slow'), () => (called = true), () => (called = true));
    assert.ok(p);
    conn.abandon(p);
    assert.equal(conn.inFlight, 0);
    assert.equal(conn.usedStreamIds, 1, 'id stays reserved');
    assert.equal(conn.send(queryFrame(V, 'x'), () => {}, () => {}), undefined);
    release();
    await waitFor(() => conn.lateReplies === 1);
    assert.equal(called, false);
    assert.equal(conn.usedStreamIds, 0);
    const r = await sendP(conn, queryFrame(V, 'after'));
    assert.equal(r.opcode, Opcode.RESULT);
  } finally {
    conn.close();
    await server.stop();
  }
});

test('EVENT frames are emitted as events', async () => {
  const { server, conn } = await setup();
  try {
    const reg = await conn.request(RawFrame.fromParts({ version: V, isResponse: false, flags: 0, streamId: 0, opcode: Opcode.REGISTER }, Buffer.from([0, 1, 0, 15, ...Buffer.from('TOPOLOGY_CHANGE')])), 1000);
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
    for (let i = 0; i < 5; i++) conn.send(queryFrame(V, `q${i}`), () => assert.fail('no reply expected'), (e) => errors.push(e));
    let closes = 0;
    conn.on('close', () => closes++);
    await waitFor(() => server.requests(Opcode.QUERY).length === 5);
    server.dropConnections();
    await waitFor(() => closes === 1);
    assert.equal(errors.length, 5);
    assert.match(errors[0]!.message, /ORIGIN connection to 127\.0\.0\.1:\d+/);
    assert.equal(conn.usedStreamIds, 0);
    assert.equal(conn.send(queryFrame(V, 'late'), () => {}, () => {}), undefined);
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

test('maybeHeartbeat sends OPTIONS once per interval and drops the reply', async () => {
  const { server, conn } = await setup({ heartbeatIntervalMs: 30 });
  try {
    assert.equal(conn.maybeHeartbeat(V), false, 'interval counted from open');
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(conn.maybeHeartbeat(V), true);
    assert.equal(conn.maybeHeartbeat(V), false);
    await waitFor(() => server.requests(Opcode.OPTIONS).length === 1 && conn.usedStreamIds === 0);
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
    const ready = await conn.request(startupFrame(ProtocolVersion.V5, { CQL_VERSION: '3.0.0' }), 1000);
    assert.equal(ready.opcode, Opcode.READY);
    assert.equal(conn.segments, true);
    const rs = await Promise.all([1, 2, 3].map(() => conn.request(queryFrame(ProtocolVersion.V5, 'SELECT * FROM system.local'), 1000)));
    for (const r of rs) assert.equal(readResult(r.body, ProtocolVersion.V5).kind, ResultKind.ROWS);
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
    ClusterConnection.connect({ cluster: 'TARGET', endpoint: { host: '127.0.0.1', port }, connectTimeoutMs: 350, maxStreamIds: 4 }),
    /could not connect to 127\.0\.0\.1/,
  );
  assert.ok(Date.now() - t0 >= 300, 'kept retrying until the deadline');
});

async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
