// In-process end to end: the proxy between a raw CQL client and two fake servers (Origin, Target).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Consistency, ErrorCode, Opcode, ProtocolVersion, ResultKind } from '../../../src/protocol/constants';
import { RawFrame } from '../../../src/protocol/frame';
import { Writer } from '../../../src/protocol/primitives';
import type { RunningProxy } from '../../../src/proxy';
import { requestFrame } from '../../../src/backend/cluster-connection';
import type { FakeServer } from '../../support/fake-server';
import { TestClient, errorOf as errorMessageOf, startHarness, until, type Harness } from './harness';

const startupFrame = (v: ProtocolVersion, options: Record<string, string>, stream: number): RawFrame =>
  requestFrame(v, { opcode: Opcode.STARTUP, options }, stream);
const optionsFrame = (v: ProtocolVersion, stream: number): RawFrame => requestFrame(v, { opcode: Opcode.OPTIONS }, stream);
const q = (query: string, stream: number): RawFrame =>
  requestFrame(ProtocolVersion.V4, { opcode: Opcode.QUERY, query, params: { consistency: Consistency.ONE } }, stream);
/** code and message of an ERROR reply */
function errorOf(f: RawFrame): { code: number; message: string } {
  const { code, message } = errorMessageOf(f);
  return { code, message };
}

let h: Harness;
let origin: FakeServer;
let target: FakeServer;
let proxy: RunningProxy;

before(async () => {
  h = await startHarness(
    // long enough for 200 concurrent requests on a loaded shared machine; the timeout test waits past it
    { ZDM_PROXY_REQUEST_TIMEOUT_MS: '2000' },
    {
      origin: { supported: { COMPRESSION: ['snappy'], CQL_VERSION: ['3.4.7'], FROM: ['origin'] } },
      target: { supported: { COMPRESSION: ['snappy', 'lz4'], CQL_VERSION: ['3.4.7'], FROM: ['target'] } },
    },
  );
  ({ origin, target, proxy } = h);
});

after(async () => {
  await h?.close();
});

test('writes reach both clusters, reads only the primary (which can change at run time)', async () => {
  const c = await TestClient.ready(proxy.port);
  const o0 = origin.queries().length;
  const t0 = target.queries().length;
  const w = await c.send(q("INSERT INTO ks.t (k, v) VALUES (1, 'a')", 3));
  assert.equal(w.opcode, Opcode.RESULT);
  assert.equal(w.streamId, 3);
  assert.deepEqual(origin.queries().slice(o0), ["INSERT INTO ks.t (k, v) VALUES (1, 'a')"]);
  assert.deepEqual(target.queries().slice(t0), ["INSERT INTO ks.t (k, v) VALUES (1, 'a')"]);
  await c.send(q('SELECT * FROM ks.t', 4));
  assert.equal(origin.queries().at(-1), 'SELECT * FROM ks.t');
  assert.equal(target.queries().length, t0 + 1, 'the read did not reach TARGET');
  proxy.settings.set({ primaryCluster: 'TARGET' });
  try {
    await c.send(q('SELECT v FROM ks.t', 5));
    assert.equal(target.queries().at(-1), 'SELECT v FROM ks.t');
    assert.notEqual(origin.queries().at(-1), 'SELECT v FROM ks.t');
  } finally {
    proxy.settings.set({ primaryCluster: 'ORIGIN' });
  }
  c.close();
});

test('OPTIONS: SUPPORTED built from both control connections', async () => {
  const c = await TestClient.connect(proxy.port);
  const r = await c.send(optionsFrame(ProtocolVersion.V4, 9));
  assert.equal(r.opcode, Opcode.SUPPORTED);
  const opts = new (await import('../../../src/protocol/primitives')).Reader(r.body).readStringMultimap();
  assert.deepEqual(opts.COMPRESSION, ['snappy']);
  assert.deepEqual(opts.FROM, ['target']);
  c.close();
});

test('200 concurrent requests: stream ids remapped and restored', async () => {
  const c = await TestClient.ready(proxy.port);
  origin.delayMs = 5;
  try {
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => c.send(q(`INSERT INTO ks.t (k) VALUES (${i})`, i + 1), 10_000)),
    );
    replies.forEach((r, i) => {
      assert.equal(r.streamId, i + 1);
      assert.equal(r.opcode, Opcode.RESULT);
    });
  } finally {
    origin.delayMs = 0;
  }
  c.close();
});

test("negative stream id gets a protocol error; v5 STARTUP is steered down by the (v4-only) clusters' error on stream 0", async () => {
  const c = await TestClient.connect(proxy.port);
  const neg = RawFrame.fromParts(
    { version: ProtocolVersion.V4, isResponse: false, flags: 0, streamId: -1, opcode: Opcode.OPTIONS },
    Buffer.alloc(0),
  );
  c.socket.write(neg.bytes);
  await until(() => c.unmatched.length > 0, 'the reply to the frame on stream -1');
  const e = c.unmatched.shift();
  assert.equal(e!.opcode, Opcode.ERROR);
  assert.deepEqual(errorOf(e!), { code: ErrorCode.PROTOCOL_ERROR, message: 'negative stream id: -1' });
  c.close();

  const v5 = await TestClient.connect(proxy.port);
  // sent unchanged to both clusters (upstream-spec-notes 3.2); their PROTOCOL_ERROR reaches the client on stream 0
  const r = await v5.send(startupFrame(ProtocolVersion.V5, { CQL_VERSION: '3.0.0' }, 0));
  assert.equal(r.version, ProtocolVersion.V4);
  assert.equal(r.streamId, 0);
  assert.equal(errorOf(r)?.code, ErrorCode.PROTOCOL_ERROR);
  assert.match(errorOf(r)!.message, /^Invalid or unsupported protocol version \(5\)/);
  v5.close();
  const v4 = await TestClient.ready(proxy.port); // the driver then settles on v4
  v4.close();
});

test('timeout: no reply, and the connection stays usable', async () => {
  const c = await TestClient.ready(proxy.port);
  target.onRequest((_f, d) => (d && 'query' in d && (d as { query: string }).query.includes('stall_me') ? 'drop' : undefined));
  await assert.rejects(c.send(q("INSERT INTO ks.t (k) VALUES ('stall_me')", 11), 4000), /no reply/);
  const ok = await c.send(q("INSERT INTO ks.t (k) VALUES ('fine')", 12));
  assert.equal(ok.opcode, Opcode.RESULT);
  assert.equal(c.closed, false);
  target.clearHandlers();
  c.close();
});

test("one client's garbage closes only that client", async () => {
  const good = await TestClient.ready(proxy.port);
  const bad = await TestClient.ready(proxy.port);
  // a QUERY whose body is truncated (declares a 1000-byte string)
  const garbage = RawFrame.fromParts(
    { version: ProtocolVersion.V4, isResponse: false, flags: 0, streamId: 2, opcode: Opcode.QUERY },
    new Writer().writeInt(1000).writeRaw(Buffer.from('SEL')).finish(),
  );
  bad.socket.write(garbage.bytes);
  await until(() => bad.closed, 'the bad client to be closed');
  const r = await good.send(q('SELECT * FROM ks.t', 6));
  assert.equal(r.opcode, Opcode.RESULT);
  good.close();
});

test('virtual system.local / peers_v2 are answered by the proxy, unknown EXECUTE gets UNPREPARED', async () => {
  const c = await TestClient.ready(proxy.port);
  const before = origin.queries().length;
  const local = await c.send(q('SELECT rpc_address FROM system.local', 1));
  assert.equal(local.body.readInt32BE(0), ResultKind.ROWS);
  const pv2 = await c.send(q('SELECT * FROM system.peers_v2', 2));
  assert.deepEqual(errorOf(pv2), { code: ErrorCode.INVALID, message: 'unconfigured table peers_v2' });
  assert.equal(origin.queries().length, before, 'not forwarded');
  const ex = RawFrame.fromParts(
    { version: ProtocolVersion.V4, isResponse: false, flags: 0, streamId: 3, opcode: Opcode.EXECUTE },
    new Writer().writeShortBytes(Buffer.alloc(16, 0xab)).writeShort(1).writeByte(0).finish(),
  );
  const u = await c.send(ex);
  assert.equal(errorOf(u).code, ErrorCode.UNPREPARED);
  assert.match(errorOf(u).message, /^Prepared query with ID abababab/);
  c.close();
});
