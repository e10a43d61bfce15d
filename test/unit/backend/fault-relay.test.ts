import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultRelay } from '../../support/fault-relay';
import { waitFor } from '../../support/wait';
import { FakeServer } from '../../support/fake-server';
import { ClusterConnection, requestFrame } from '../../../src/backend/cluster-connection';
import { Consistency, ProtocolVersion, Opcode } from '../../../src/protocol/constants';

const V = ProtocolVersion.V4;
const optionsFrame = (v: ProtocolVersion) => requestFrame(v, { opcode: Opcode.OPTIONS });
const queryFrame = (v: ProtocolVersion, query: string) =>
  requestFrame(v, { opcode: Opcode.QUERY, query, params: { consistency: Consistency.ONE } });

async function setup() {
  const server = await FakeServer.start();
  const relay = await FaultRelay.start({ target: server.endpoint });
  const conn = await ClusterConnection.connect({
    cluster: 'TARGET',
    endpoint: relay.endpoint,
    connectTimeoutMs: 1000,
    maxStreamIds: 8,
  });
  return { server, relay, conn };
}

test('pass-through, pause/resume, delay', async () => {
  const { server, relay, conn } = await setup();
  try {
    assert.equal((await conn.request(optionsFrame(V), 1000)).opcode, Opcode.SUPPORTED);
    relay.pause();
    const pending = conn.request(optionsFrame(V), 2000);
    // the relay has the request (held while paused): had it forwarded it, the server would have it by now
    await waitFor('the relay to hold the request', () => relay.connections[0]!.queued.length > 0, { intervalMs: 5 });
    assert.equal(server.requests(Opcode.OPTIONS).length, 1, 'paused: not forwarded yet');
    relay.resume();
    assert.equal((await pending).opcode, Opcode.SUPPORTED);
    relay.delay(20);
    assert.equal((await conn.request(optionsFrame(V), 1000)).opcode, Opcode.SUPPORTED);
    assert.ok(relay.bytesToServer > 0 && relay.bytesToClient > 0);
  } finally {
    conn.close();
    await relay.stop();
    await server.stop();
  }
});

test('cutAfterBytes resets mid-frame; resetAll and blackhole', async () => {
  const { server, relay, conn } = await setup();
  try {
    relay.cutAfterBytes(12);
    await assert.rejects(conn.request(queryFrame(V, 'SELECT * FROM system.local'), 1000), /closed|failed/);
    const c2 = await ClusterConnection.connect({
      cluster: 'TARGET',
      endpoint: relay.endpoint,
      connectTimeoutMs: 1000,
      maxStreamIds: 8,
    });
    const closed = new Promise((r) => c2.once('close', r));
    relay.resetAll();
    await closed;
    const c3 = await ClusterConnection.connect({
      cluster: 'TARGET',
      endpoint: relay.endpoint,
      connectTimeoutMs: 1000,
      maxStreamIds: 8,
    });
    relay.blackhole();
    await assert.rejects(c3.request(optionsFrame(V), 100), /no response/);
    c3.close();
  } finally {
    conn.close();
    await relay.stop();
    await server.stop();
  }
});

test('latency with jitter keeps the order; rechunking into small writes keeps the bytes', async () => {
  const { server, relay, conn } = await setup();
  try {
    relay.set({ latencyMs: 30, jitterMs: 30 });
    const t0 = performance.now();
    const replies = await Promise.all([1, 2, 3, 4].map((i) => conn.request(queryFrame(V, `SELECT ${i} FROM t`), 2000)));
    assert.ok(performance.now() - t0 >= 55, 'each direction is delayed by at least the latency');
    assert.deepEqual(
      server.queries().slice(-4),
      [1, 2, 3, 4].map((i) => `SELECT ${i} FROM t`),
      'order kept despite jitter',
    );
    assert.equal(replies.length, 4);
    relay.clearFaults();
    relay.set({ rechunkMaxBytes: 3 });
    const before = relay.bytesToClient;
    const r = await conn.request(queryFrame(V, 'SELECT * FROM system.local'), 2000);
    assert.equal(r.opcode, Opcode.RESULT, 'a reply re-chunked into 1..3-byte writes still decodes');
    assert.ok(relay.bytesToClient - before > 100);
  } finally {
    conn.close();
    await relay.stop();
    await server.stop();
  }
});

test('bandwidth limit; per-connection cut leaves the other connections alone; close after N bytes with a FIN', async () => {
  const { server, relay, conn } = await setup();
  try {
    const other = await ClusterConnection.connect({
      cluster: 'TARGET',
      endpoint: relay.endpoint,
      connectTimeoutMs: 1000,
      maxStreamIds: 8,
    });
    assert.equal(relay.connections.length, 2);
    relay.set({ bytesPerSecond: 2000 });
    const t0 = performance.now();
    await conn.request(queryFrame(V, 'SELECT * FROM system.local'), 5000); // a reply of several hundred bytes
    assert.ok(performance.now() - t0 > 100, 'the reply was slowed down by the bandwidth limit');
    relay.clearFaults();
    const closed = new Promise((r) => conn.once('close', r));
    relay.connections[0]!.cutAfterBytes(5);
    await assert.rejects(conn.request(optionsFrame(V), 1000), /closed|failed/);
    await closed;
    assert.equal((await other.request(optionsFrame(V), 1000)).opcode, Opcode.SUPPORTED, 'the other connection is unharmed');
    const otherClosed = new Promise((r) => other.once('close', r));
    relay.connections[0]!.closeAfterBytes(3, 'to-server');
    await assert.rejects(other.request(optionsFrame(V), 1000), /closed|failed|no response/);
    await otherClosed;
  } finally {
    conn.close();
    await relay.stop();
    await server.stop();
  }
});

test('back-pressure: a client that does not read stalls the server side instead of growing the relay', async () => {
  const net = await import('node:net');
  const big = Buffer.alloc(64 * 1024 * 1024, 7);
  const srv = net.createServer((s) => {
    s.on('error', () => undefined);
    s.write(big);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const relay = await FaultRelay.start({
    target: { host: '127.0.0.1', port: (srv.address() as import('node:net').AddressInfo).port },
  });
  const c = net.connect(relay.endpoint);
  try {
    await new Promise((r) => c.once('connect', r));
    c.pause();
    let last = -1;
    await waitFor(
      "the relay stops forwarding (the paused client's buffers are full)",
      () => {
        const stable = relay.bytesToClient === last && last > 0;
        last = relay.bytesToClient;
        return stable;
      },
      { intervalMs: 200 },
    );
    assert.ok(
      relay.bytesToClient < 32 * 1024 * 1024,
      `the relay forwarded ${relay.bytesToClient} bytes to a client that reads nothing`,
    );
  } finally {
    c.destroy();
    await relay.stop();
    await new Promise((r) => srv.close(r));
  }
});
