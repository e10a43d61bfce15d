import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlConnection, type ControlConnectionOptions } from '../../../src/backend/control-connection';
import { FakeServer, peerRow, hostIdFor, SYSTEM_COLUMN_TYPES } from '../../support/fake-server';
import { Opcode, ProtocolVersion, ResultKind } from '../../../src/protocol/constants';
import { RawFrame } from '../../../src/protocol/frame';
import { encodeFrame } from '../../../src/protocol/frame-codec';
import type { RowsResult } from '../../../src/protocol/messages';
import { DataTypes, encodeValue } from '../../../src/protocol/values';
import { DSE_AUTHENTICATOR } from '../../../src/backend/authenticator';
import type { Host } from '../../../src/backend/topology';
import { waitFor } from '../../support/wait';

function options(server: FakeServer, extra: Partial<ControlConnectionOptions> = {}): ControlConnectionOptions {
  return {
    cluster: 'ORIGIN',
    contactPoints: [server.host],
    port: server.port,
    connectTimeoutMs: 1000,
    heartbeatIntervalMs: 0,
    retryIntervalMinMs: 20,
    retryIntervalMaxMs: 200,
    retryBackoffFactor: 2,
    topologyIndex: 0,
    topologyCount: 1,
    requestTimeoutMs: 1000,
    ...extra,
  };
}

test('negotiates down from DSE_V2 to v4, reopening the TCP connection for each version', async () => {
  const server = await FakeServer.start({ maxVersion: ProtocolVersion.V4 });
  const cc = new ControlConnection(options(server));
  try {
    await cc.start();
    assert.equal(cc.protocolVersion, ProtocolVersion.V4);
    const optionVersions = server.requests(Opcode.OPTIONS).map((r) => r.version);
    assert.deepEqual(optionVersions, [ProtocolVersion.DSE_V2, ProtocolVersion.DSE_V1, ProtocolVersion.V5, ProtocolVersion.V4]);
    const connIds = server.requests(Opcode.OPTIONS).map((r) => r.connId);
    assert.equal(new Set(connIds).size, 4, 'a new TCP connection per version');
    assert.equal(cc.authEnabled, false);
    assert.deepEqual(cc.supportedOptions['COMPRESSION'], ['lz4', 'snappy']);
    const startup = server.requests(Opcode.STARTUP);
    assert.equal(startup.length, 1);
    assert.deepEqual((startup[0]!.decoded as { options: Record<string, string> }).options, { CQL_VERSION: '3.0.0' });
    const reg = server.requests(Opcode.REGISTER);
    assert.equal(reg.length, 1);
    assert.deepEqual((reg[0]!.decoded as { eventTypes: string[] }).eventTypes, ['TOPOLOGY_CHANGE', 'SCHEMA_CHANGE']);
  } finally {
    await cc.stop();
    await server.stop();
  }
});

test('max protocol version caps negotiation; v5 works with segments', async () => {
  const server = await FakeServer.start({ maxVersion: ProtocolVersion.V5 });
  const cc = new ControlConnection(options(server, { maxProtocolVersion: ProtocolVersion.V5 }));
  try {
    await cc.start();
    assert.equal(cc.protocolVersion, ProtocolVersion.V5);
    assert.equal(server.requests(Opcode.OPTIONS)[0]!.version, ProtocolVersion.V5);
    assert.equal(cc.hosts.length, 1);
  } finally {
    await cc.stop();
    await server.stop();
  }
});

test('authenticates with the configured credentials (PasswordAuthenticator and DseAuthenticator)', async () => {
  for (const authenticator of [undefined, DSE_AUTHENTICATOR]) {
    const server = await FakeServer.start({ auth: { username: 'u1', password: 'p1', authenticator } });
    const cc = new ControlConnection(options(server, { username: 'u1', password: 'p1' }));
    try {
      await cc.start();
      assert.equal(cc.authEnabled, true);
      const tokens = server.requests(Opcode.AUTH_RESPONSE).map((r) => (r.decoded as { token: Buffer }).token.toString());
      assert.deepEqual(tokens, authenticator ? ['PLAIN', '\0u1\0p1'] : ['\0u1\0p1']);
    } finally {
      await cc.stop();
      await server.stop();
    }
  }
});

test('wrong password: start() rejects naming the cluster and the auth error', async () => {
  const server = await FakeServer.start({ auth: { username: 'u1', password: 'p1' } });
  const cc = new ControlConnection(options(server, { username: 'u1', password: 'nope' }));
  try {
    await assert.rejects(
      cc.start(),
      /could not open control connection to ORIGIN.*authentication failed: Provided username u1 and\/or password are incorrect/,
    );
    const none = new ControlConnection(options(server));
    await assert.rejects(none.start(), /requires authentication .* no username\/password is configured/);
  } finally {
    await cc.stop();
    await server.stop();
  }
});

test('topology: peers over several pages, local DC rule, sorting by (rack, host_id), kept columns', async () => {
  const server = await FakeServer.start({
    peersPageSize: 2,
    local: { cluster_name: 'c1', data_center: 'dc1', rack: 'r2' },
    peers: [
      peerRow('127.0.1.1', { rack: 'r1', host_id: '00000000-0000-0000-0000-000000000009' }),
      peerRow('127.0.1.2', { rack: 'r1', host_id: '00000000-0000-0000-0000-000000000001' }),
      peerRow('127.0.1.3', { data_center: 'dc2' }),
      peerRow('127.0.1.4', { rack: 'r3', rpc_address: '0.0.0.0', dse_version: '6.8.0' }),
      { peer: '127.0.1.5', rpc_address: '127.0.1.5', data_center: 'dc1', rack: 'r1' }, // no host_id: skipped
    ],
  });
  const cc = new ControlConnection(options(server));
  try {
    await cc.start();
    assert.equal(cc.clusterName, 'c1');
    assert.equal(cc.localDatacenter, 'dc1');
    assert.deepEqual(
      cc.hosts.map((h) => [h.address, h.rack]),
      [
        ['127.0.1.2', 'r1'],
        ['127.0.1.1', 'r1'],
        ['127.0.0.1', 'r2'],
        ['127.0.1.4', 'r3'],
      ],
    );
    assert.equal(cc.hosts[3]!.columns['dse_version'], '6.8.0');
    assert.equal(cc.hosts[2]!.hostId, hostIdFor('127.0.0.1'));
    assert.deepEqual(cc.hosts[2]!.tokens, ['-9223372036854775808']);
    assert.equal(cc.hosts[0]!.port, server.port);
    assert.equal(cc.localRow['cluster_name'], 'c1');
    assert.equal(cc.localRow['partitioner'], 'org.apache.cassandra.dht.Murmur3Partitioner');
    assert.equal('thrift_version' in cc.localRow, false, 'absent columns are absent');
    assert.ok(cc.peerColumns?.has('peer'));
    const peerQueries = server.queries().filter((q) => q.includes('system.peers'));
    assert.equal(peerQueries.length, 3, 'five peer rows in pages of two');
    // round robin over all 4 hosts (one proxy instance)
    const seen = Array.from({ length: 8 }, () => cc.nextAssignedHost().address);
    assert.equal(new Set(seen).size, 4);
    assert.deepEqual(seen.slice(0, 4), seen.slice(4));
  } finally {
    await cc.stop();
    await server.stop();
  }
});

test('configured local DC wins when it has hosts; otherwise falls back to the control node DC', async () => {
  const server = await FakeServer.start({
    peers: [peerRow('127.0.1.1', { data_center: 'dc2' }), peerRow('127.0.1.2', { data_center: 'dc2' })],
  });
  const a = new ControlConnection(options(server, { localDatacenter: 'dc2' }));
  const b = new ControlConnection(options(server, { localDatacenter: 'nope' }));
  try {
    await a.start();
    assert.equal(a.localDatacenter, 'dc2');
    assert.deepEqual(a.hosts.map((h) => h.address).sort(), ['127.0.1.1', '127.0.1.2']);
    await b.start();
    assert.equal(b.localDatacenter, 'dc1');
    assert.deepEqual(
      b.hosts.map((h) => h.address),
      ['127.0.0.1'],
    );
  } finally {
    await a.stop();
    await b.stop();
    await server.stop();
  }
});

test('host assignment with 2 proxies; assignment disabled gives the control endpoint', async () => {
  const server = await FakeServer.start({ peers: [peerRow('127.0.1.1'), peerRow('127.0.1.2')] });
  const p0 = new ControlConnection(options(server, { topologyIndex: 0, topologyCount: 2 }));
  const p1 = new ControlConnection(options(server, { topologyIndex: 1, topologyCount: 2 }));
  const off = new ControlConnection(options(server, { enableHostAssignment: false }));
  try {
    await Promise.all([p0.start(), p1.start(), off.start()]);
    const sorted = p0.hosts.map((h) => h.address);
    assert.deepEqual(p0.assignedHosts.map((h) => h.address).sort(), [sorted[0], sorted[2]].sort());
    assert.deepEqual(
      p1.assignedHosts.map((h) => h.address),
      [sorted[1]],
    );
    assert.equal(p1.nextAssignedHost().address, sorted[1]);
    for (let i = 0; i < 3; i++) assert.equal(off.nextAssignedHost().address, '127.0.0.1');
  } finally {
    await Promise.all([p0.stop(), p1.stop(), off.stop()]);
    await server.stop();
  }
});

test('partitioner other than Murmur3/Random fails with the upstream text', async () => {
  const server = await FakeServer.start({ local: { partitioner: 'org.apache.cassandra.dht.ByteOrderedPartitioner' } });
  const cc = new ControlConnection(options(server));
  try {
    await assert.rejects(
      cc.start(),
      /virtualization is enabled and partitioner is not Murmur3 or Random but instead org\.apache\.cassandra\.dht\.ByteOrderedPartitioner/,
    );
    server.setLocal({ partitioner: 'org.apache.cassandra.dht.RandomPartitioner' });
    await cc.start();
    assert.equal(cc.partitioner, 'org.apache.cassandra.dht.RandomPartitioner');
  } finally {
    await cc.stop();
    await server.stop();
  }
});

test('TOPOLOGY_CHANGE triggers a refresh; removed hosts are reported', async () => {
  const server = await FakeServer.start({ peers: [peerRow('127.0.1.1'), peerRow('127.0.1.2')] });
  const cc = new ControlConnection(options(server));
  try {
    await cc.start();
    assert.equal(cc.hosts.length, 3);
    const changed = new Promise<Host[]>((resolve) => cc.once('hosts-changed', (removed: Host[]) => resolve(removed)));
    server.setPeers([peerRow('127.0.1.1'), peerRow('127.0.1.3', { data_center: 'dc9' })]);
    assert.equal(server.pushEvent(server.topologyChange('REMOVED_NODE', '127.0.1.2')), 1);
    const removed = await changed;
    assert.deepEqual(
      removed.map((h) => h.address),
      ['127.0.1.2'],
    );
    assert.deepEqual(cc.hosts.map((h) => h.address).sort(), ['127.0.0.1', '127.0.1.1'], 'remote-DC peer ignored');
    assert.equal(server.requests(Opcode.REGISTER).length, 1);
  } finally {
    await cc.stop();
    await server.stop();
  }
});

test('heartbeat failure: counter +1, reconnect with backoff, counter reset on success', async () => {
  const server = await FakeServer.start({ peers: [] });
  const cc = new ControlConnection(options(server, { heartbeatIntervalMs: 30, requestTimeoutMs: 60 }));
  try {
    await cc.start();
    const downs: Error[] = [];
    cc.on('down', (e: Error) => downs.push(e));
    let ups = 0;
    cc.on('up', () => ups++);
    // Heartbeats succeed.
    await waitFor('server.requests(Opcode.OPTIONS).length >= 3', () => server.requests(Opcode.OPTIONS).length >= 3, {
      timeoutMs: 3000,
    });
    assert.equal(cc.consecutiveFailures, 0);
    // Stall the server: the heartbeat times out, the connection is closed and reopening fails (no replies).
    server.stall = true;
    await waitFor('cc.consecutiveFailures >= 3', () => cc.consecutiveFailures >= 3, { timeoutMs: 3000 });
    assert.ok(downs.length >= 1);
    assert.match(downs[0]!.message, /no response to OPTIONS/);
    assert.equal(cc.isConnected, false);
    const connsBefore = new Set(server.received.map((r) => r.connId)).size;
    assert.ok(connsBefore >= 3, 'reconnect attempts opened new TCP connections');
    // Recover.
    server.stall = false;
    await waitFor('ups >= 1 && cc.isConnected', () => ups >= 1 && cc.isConnected, { timeoutMs: 3000 });
    assert.equal(cc.consecutiveFailures, 0);
    assert.equal(cc.protocolVersion, ProtocolVersion.V4);
  } finally {
    await cc.stop();
    await server.stop();
  }
});

test('a dropped connection is detected and reopened', async () => {
  const server = await FakeServer.start();
  const cc = new ControlConnection(options(server));
  try {
    await cc.start();
    const down = new Promise((r) => cc.once('down', r));
    const up = new Promise((r) => cc.once('up', r));
    server.dropConnections();
    await down;
    await up;
    assert.equal(cc.isConnected, true);
    assert.equal(server.requests(Opcode.REGISTER).length, 2);
  } finally {
    await cc.stop();
    await server.stop();
  }
});

test('no endpoint works: start() lists the endpoints tried', async () => {
  const server = await FakeServer.start();
  const port = server.port;
  await server.stop();
  const cc = new ControlConnection({ ...options(server), contactPoints: ['127.0.0.1', '127.0.0.3'], port });
  await assert.rejects(
    cc.start(),
    (e: Error) =>
      /could not open control connection to ORIGIN, tried endpoints: \[/.test(e.message) &&
      e.message.includes(`127.0.0.3:${port}`),
  );
  await cc.stop();
});

test('system.local reply with a warnings envelope and trailing bytes is read (spec: extra bytes are ignored)', async () => {
  const server = await FakeServer.start({ peers: [] });
  const local: [string, unknown][] = [
    ['key', 'local'],
    ['cluster_name', 'warned'],
    ['data_center', 'dc1'],
    ['rack', 'rack1'],
    ['host_id', hostIdFor('127.0.0.1')],
    ['rpc_address', '127.0.0.1'],
    ['partitioner', 'org.apache.cassandra.dht.Murmur3Partitioner'],
    ['tokens', ['1', '2']],
    ['workloads', ['Cassandra', 'Graph']],
    ['graph', true],
  ];
  const decimal = Buffer.from([0, 0, 0, 2, 0x30, 0x39]); // 123.45: a type values.ts does not decode
  const specs = [
    ...local.map(([name]) => ({ name, type: SYSTEM_COLUMN_TYPES[name]! })),
    { name: 'jmx_port', type: DataTypes.decimal },
  ].map((c) => ({
    keyspace: 'system',
    table: 'local',
    ...c,
  }));
  server.onRequest((f, d) => {
    if (d?.opcode !== Opcode.QUERY || !d.query.includes('system.local')) return undefined;
    const row = [...local.map(([name, v]) => encodeValue(SYSTEM_COLUMN_TYPES[name]!, v, f.version)), decimal];
    const message: RowsResult = {
      opcode: Opcode.RESULT,
      kind: ResultKind.ROWS,
      metadata: { columnCount: specs.length, columns: specs },
      rows: [row],
    };
    const warned = encodeFrame({
      version: f.version,
      isResponse: true,
      streamId: 0,
      flags: 0,
      warnings: ['Aggregation query used without partition key'],
      message,
    });
    return RawFrame.fromParts(warned.header, Buffer.concat([warned.body, Buffer.from([0xde, 0xad])]));
  });
  const cc = new ControlConnection(options(server));
  try {
    await cc.start();
    assert.equal(cc.clusterName, 'warned');
    assert.equal(cc.hosts.length, 1);
    const h = cc.hosts[0]!;
    assert.deepEqual(h.tokens, ['1', '2']);
    assert.deepEqual(h.columns['workloads'], ['Cassandra', 'Graph']);
    assert.equal(h.columns['graph'], true);
    assert.deepEqual(h.columns['jmx_port'], decimal, 'undecoded type: raw bytes');
  } finally {
    await cc.stop();
    await server.stop();
  }
});

test('protocol v2: collections in system tables use [short] counts', async () => {
  const server = await FakeServer.start({
    maxVersion: ProtocolVersion.V2,
    minVersion: ProtocolVersion.V2,
    peers: [peerRow('127.0.1.1', { tokens: ['5', '6'] })],
  });
  const cc = new ControlConnection(options(server));
  try {
    await cc.start();
    assert.equal(cc.protocolVersion, ProtocolVersion.V2);
    const peer = cc.hosts.find((h) => h.address === '127.0.1.1');
    assert.deepEqual(peer?.tokens, ['5', '6'], 'set<text> read with the v2 layout');
  } finally {
    await cc.stop();
    await server.stop();
  }
});

test("a SCHEMA_CHANGE event is emitted as 'schema-change' (the live read comparison forgets that table's key columns)", async () => {
  const server = await FakeServer.start({ maxVersion: ProtocolVersion.V4 });
  const cc = new ControlConnection(options(server));
  try {
    await cc.start();
    const seen: unknown[] = [];
    cc.on('schema-change', (c: unknown) => seen.push(c));
    const change = { changeType: 'UPDATED', target: 'TABLE', keyspace: 'ks', name: 't' } as const;
    assert.equal(server.pushEvent({ opcode: Opcode.EVENT, type: 'SCHEMA_CHANGE', schemaChange: change }), 1);
    await waitFor('the schema-change event', () => seen.length === 1);
    assert.deepEqual(seen, [change]);
  } finally {
    await cc.stop();
    await server.stop();
  }
});
