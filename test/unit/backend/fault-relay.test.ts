import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultRelay } from '../../support/fault-relay';
import { FakeServer } from '../../support/fake-server';
import { ClusterConnection, requestFrame } from '../../../src/backend/cluster-connection';
import { Consistency, ProtocolVersion, Opcode } from '../../../src/protocol/constants';

const V = ProtocolVersion.V4;
const optionsFrame = (v: ProtocolVersion) => requestFrame(v, { opcode: Opcode.OPTIONS });
const queryFrame = (v: ProtocolVersion, query: string) => requestFrame(v, { opcode: Opcode.QUERY, query, params: { consistency: Consistency.ONE } });

async function setup() {
  const server = await FakeServer.start();
  const relay = await FaultRelay.start({ target: server.endpoint });
  const conn = await ClusterConnection.connect({ cluster: 'TARGET', endpoint: relay.endpoint, connectTimeoutMs: 1000, maxStreamIds: 8 });
  return { server, relay, conn };
}

test('pass-through, pause/resume, delay', async () => {
  const { server, relay, conn } = await setup();
  try {
    assert.equal((await conn.request(optionsFrame(V), 1000)).opcode, Opcode.SUPPORTED);
    relay.pause();
    const pending = conn.request(optionsFrame(V), 2000);
    await new Promise((r) => setTimeout(r, 50));
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
    const c2 = await ClusterConnection.connect({ cluster: 'TARGET', endpoint: relay.endpoint, connectTimeoutMs: 1000, maxStreamIds: 8 });
    const closed = new Promise((r) => c2.once('close', r));
    relay.resetAll();
    await closed;
    const c3 = await ClusterConnection.connect({ cluster: 'TARGET', endpoint: relay.endpoint, connectTimeoutMs: 1000, maxStreamIds: 8 });
    relay.blackhole();
    await assert.rejects(c3.request(optionsFrame(V), 100), /no response/);
    c3.close();
  } finally {
    conn.close();
    await relay.stop();
    await server.stop();
  }
});
