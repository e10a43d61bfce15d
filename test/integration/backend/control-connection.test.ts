// Control connections against the real Cassandra 5.0 Origin and Target nodes (scripts/clusters.mjs).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { ensureClusters, pauseNode, resumeNode, ORIGIN, TARGET, type ClusterNode } from '../../support/clusters';
import { ControlConnection, type ControlConnectionOptions } from '../../../src/backend/control-connection';
import { ClusterConnection, decodeResponse, requestFrame } from '../../../src/backend/cluster-connection';
import { runAuthRounds } from '../../../src/backend/authenticator';
import { Consistency, Opcode, ProtocolVersion, ResultKind } from '../../../src/protocol/constants';
import type { Authenticate, Result } from '../../../src/protocol/messages';
import { waitFor } from '../../support/wait';

before(async () => {
  await ensureClusters();
});

function options(node: ClusterNode, extra: Partial<ControlConnectionOptions> = {}): ControlConnectionOptions {
  return {
    cluster: node === ORIGIN ? 'ORIGIN' : 'TARGET',
    contactPoints: [node.host],
    port: node.port,
    username: node.username,
    password: node.password,
    connectTimeoutMs: 5000,
    heartbeatIntervalMs: 0,
    retryIntervalMinMs: 250,
    retryIntervalMaxMs: 30000,
    retryBackoffFactor: 2,
    topologyIndex: 0,
    topologyCount: 1,
    ...extra,
  };
}

for (const node of [ORIGIN, TARGET]) {
  test(`${node.name}: negotiates v5 down from DSE_V2, authenticates, reads the topology`, async () => {
    const cc = new ControlConnection(options(node));
    try {
      await cc.start();
      assert.equal(cc.protocolVersion, ProtocolVersion.V5, 'Cassandra 5.0 rejects DSE_V2/DSE_V1, accepts v5');
      assert.equal(cc.authEnabled, true);
      assert.equal(cc.clusterName, node.clusterName);
      assert.equal(cc.localDatacenter, node.datacenter);
      assert.equal(cc.hosts.length, 1);
      const h = cc.hosts[0]!;
      assert.equal(h.address, node.host);
      assert.equal(h.port, node.port);
      assert.equal(h.datacenter, node.datacenter);
      assert.match(h.hostId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.ok(h.tokens.length >= 1 && h.tokens.every((t) => /^-?\d+$/.test(t)));
      assert.match(h.releaseVersion ?? '', /^5\.0/);
      assert.equal(cc.localRow['cluster_name'], node.clusterName);
      assert.equal(cc.localRow['partitioner'], 'org.apache.cassandra.dht.Murmur3Partitioner');
      assert.ok(cc.supportedOptions['PROTOCOL_VERSIONS']?.includes('5/v5'));
      assert.equal(cc.peerColumns, undefined, 'single node: no peers');
      assert.equal(cc.nextAssignedHost().address, node.host);
    } finally {
      await cc.stop();
    }
  });
}

test('capped at v4 when configured', async () => {
  const cc = new ControlConnection(options(ORIGIN, { maxProtocolVersion: ProtocolVersion.V4 }));
  try {
    await cc.start();
    assert.equal(cc.protocolVersion, ProtocolVersion.V4);
    assert.equal(cc.clusterName, 'origin');
  } finally {
    await cc.stop();
  }
});

test('wrong password: start() rejects with a clear error', async () => {
  const cc = new ControlConnection(options(TARGET, { password: 'definitely-wrong' }));
  try {
    await assert.rejects(cc.start(), /could not open control connection to TARGET.*authentication failed: .*incorrect/);
    assert.equal(cc.isConnected, false);
  } finally {
    await cc.stop();
  }
});

test('heartbeat OPTIONS keep the failure counter at 0', async () => {
  const cc = new ControlConnection(options(ORIGIN, { heartbeatIntervalMs: 50 }));
  try {
    const beats: boolean[] = [];
    cc.on('heartbeat', (ok: boolean) => beats.push(ok));
    await cc.start();
    await waitFor('three heartbeats', () => beats.length >= 3);
    assert.deepEqual(beats.slice(0, 3), [true, true, true]);
    assert.equal(cc.consecutiveFailures, 0);
    assert.equal(cc.isConnected, true);
  } finally {
    await cc.stop();
  }
});

test('TARGET paused: heartbeats fail and consecutiveFailures rises; after resume it reconnects and resets to 0', async () => {
  const cc = new ControlConnection(
    options(TARGET, {
      heartbeatIntervalMs: 500,
      requestTimeoutMs: 500,
      connectTimeoutMs: 1000,
      retryIntervalMinMs: 200,
      retryIntervalMaxMs: 1000,
    }),
  );
  const downs: Error[] = [];
  cc.on('down', (e: Error) => downs.push(e));
  let ups = 0;
  await cc.start();
  cc.on('up', () => ups++);
  let paused = false;
  try {
    assert.equal(cc.consecutiveFailures, 0);
    await pauseNode('target');
    paused = true;
    await waitFor('cc.consecutiveFailures >= 2', () => cc.consecutiveFailures >= 2, { timeoutMs: 15_000 });
    assert.ok(downs.length >= 1);
    assert.match(downs[0]!.message, /no response to OPTIONS after 500 ms/);
    assert.equal(cc.isConnected, false);
    await resumeNode('target');
    paused = false;
    await waitFor(
      'ups >= 1 && cc.isConnected && cc.consecutiveFailures === 0',
      () => ups >= 1 && cc.isConnected && cc.consecutiveFailures === 0,
      { timeoutMs: 20_000 },
    );
    assert.equal(cc.clusterName, 'target');
    assert.equal(cc.protocolVersion, ProtocolVersion.V5);
  } finally {
    if (paused) await resumeNode('target');
    await cc.stop();
  }
});

test('cluster connection: many concurrent v5 queries over segments on a real node', async () => {
  const cc = new ControlConnection(options(ORIGIN, { enableHostAssignment: true }));
  await cc.start();
  const host = cc.nextAssignedHost();
  await cc.stop();
  const conn = await ClusterConnection.connect({
    cluster: 'ORIGIN',
    endpoint: { host: host.address, port: host.port },
    connectTimeoutMs: 5000,
    maxStreamIds: 64,
  });
  try {
    const auth = await conn.request(
      requestFrame(ProtocolVersion.V5, { opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0' } }),
      5000,
    );
    assert.equal(auth.opcode, Opcode.AUTHENTICATE);
    assert.equal(conn.segments, true);
    const authenticatorClass = (decodeResponse(auth) as Authenticate).authenticator;
    await runAuthRounds(conn, {
      version: ProtocolVersion.V5,
      authenticatorClass,
      credentials: { username: ORIGIN.username, password: ORIGIN.password },
      timeoutMs: 5000,
    });
    const query = () =>
      requestFrame(ProtocolVersion.V5, {
        opcode: Opcode.QUERY,
        query: 'SELECT cluster_name FROM system.local',
        params: { consistency: Consistency.ONE },
      });
    const replies = await Promise.all(Array.from({ length: 50 }, () => conn.request(query(), 5000)));
    for (const r of replies) {
      const res = decodeResponse(r) as Result;
      assert.equal(res.kind, ResultKind.ROWS);
    }
    assert.equal(conn.usedStreamIds, 0);
  } finally {
    conn.close();
  }
});
