import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, ProtocolVersion } from '../../../src/protocol/constants';
import { Reader } from '../../../src/protocol/primitives';
import { decodeRowsMetadata } from '../../../src/protocol/messages/result-metadata';
import { inspect } from '../../../src/cql/inspector';
import type { Host } from '../../../src/backend/topology';
import { buildPlainToken, parsePlainToken } from '../../../src/backend/authenticator';
import { VirtualTables, interceptedPreparedId, type SystemTablesSource } from '../../../src/frontend/virtual-tables';
import { planAuth, relayToken, InvalidAuthTokenError } from '../../../src/frontend/auth-relay';

const host = (address: string, extra: Partial<Host> = {}): Host => ({
  address,
  port: 9042,
  datacenter: 'dc1',
  rack: 'r1',
  hostId: '11111111-1111-1111-1111-111111111111',
  tokens: ['0'],
  schemaVersion: '22222222-2222-2222-2222-222222222222',
  releaseVersion: '5.0.8',
  columns: { release_version: '5.0.8' },
  ...extra,
});
const source: SystemTablesSource = {
  localRow: {
    key: 'local',
    bootstrapped: 'COMPLETED',
    cluster_name: 'origin',
    cql_version: '3.4.7',
    gossip_generation: 1700000000,
    native_protocol_version: '5',
    thrift_version: '20.1.0',
  },
  hosts: [host('10.0.0.1')],
  peerColumns: new Set([
    'peer',
    'data_center',
    'host_id',
    'preferred_ip',
    'rack',
    'release_version',
    'rpc_address',
    'schema_version',
    'tokens',
  ]),
};

function decodeRows(body: Buffer, version = ProtocolVersion.V4) {
  const r = new Reader(body);
  assert.equal(r.readInt(), 2, 'ROWS');
  const md = decodeRowsMetadata(r, version);
  const n = r.readInt();
  const rows: (Buffer | null)[][] = [];
  for (let i = 0; i < n; i++) {
    const row: (Buffer | null)[] = [];
    for (let c = 0; c < md.columnCount; c++) row.push(r.readBytes());
    rows.push(row);
  }
  return { names: md.columns!.map((c) => c.name), rows, md };
}

const vt = (addresses = ['127.0.0.1'], index = 0) =>
  new VirtualTables({ addresses, index, numTokens: 8, ipBytes: 16, listenPort: 14002 }, () => source);
const sel = (cql: string) => {
  const i = inspect(cql);
  return { table: i.systemTable!, projection: i.projection, selectJson: i.selectJson, selectDistinct: i.selectDistinct };
};

test('virtual system.local: SELECT * columns, values and token ring', () => {
  const a = vt().select(sel('SELECT * FROM system.local'), ProtocolVersion.V4);
  assert.equal(a.kind, 'rows');
  const { names, rows } = decodeRows((a as { body: Buffer }).body);
  assert.deepEqual(names, [
    'key',
    'bootstrapped',
    'broadcast_address',
    'cluster_name',
    'cql_version',
    'data_center',
    'gossip_generation',
    'host_id',
    'listen_address',
    'native_protocol_version',
    'partitioner',
    'rack',
    'release_version',
    'rpc_address',
    'schema_version',
    'thrift_version',
    'tokens',
    'truncated_at',
  ]);
  const row = rows[0]!;
  const col = (n: string) => row[names.indexOf(n)]!;
  assert.deepEqual([...col('rpc_address')], [127, 0, 0, 1]);
  assert.equal(col('data_center').toString(), 'dc1');
  assert.equal(col('rack').toString(), 'rack0');
  assert.equal(col('partitioner').toString(), 'org.apache.cassandra.dht.Murmur3Partitioner');
  assert.equal(col('host_id').toString('hex'), '70ce2f379d6d501098d880fe51a498ed');
  assert.equal(col('cluster_name').toString(), 'origin');
  const tokens = new Reader(col('tokens'));
  const n = tokens.readInt();
  const list: string[] = [];
  for (let i = 0; i < n; i++) list.push(tokens.readBytes()!.toString());
  assert.deepEqual(list, [
    '-9223372036854775808',
    '-6917529027641081856',
    '-4611686018427387904',
    '-2305843009213693952',
    '0',
    '2305843009213693952',
    '4611686018427387904',
    '6917529027641081856',
  ]);
  assert.equal(row[names.indexOf('truncated_at')], null);
});

test('virtual tables: projections, aliases, count(*) as int, errors', () => {
  const t = vt();
  const a = t.select(sel('SELECT rack AS r, count(*) AS c, rack FROM system.peers'), ProtocolVersion.V4);
  const { names, rows, md } = decodeRows((a as { body: Buffer }).body);
  assert.deepEqual(names, ['r', 'c', 'rack']);
  assert.equal(md.columns![1]!.type.code, 0x0009, 'count is int');
  assert.equal(rows.length, 1, 'one proxy: a single aggregate row');
  assert.deepEqual(rows[0], [null, Buffer.from([0, 0, 0, 0]), null]);
  const cnt = decodeRows((t.select(sel('SELECT count(*) FROM system.local'), ProtocolVersion.V4) as { body: Buffer }).body);
  assert.deepEqual(cnt.names, ['count']);
  assert.deepEqual(cnt.rows[0], [Buffer.from([0, 0, 0, 1])]);
  assert.deepEqual(t.select(sel('SELECT nope FROM system.local'), ProtocolVersion.V4), {
    kind: 'error',
    code: ErrorCode.INVALID,
    message: 'Undefined column name nope',
  });
  assert.deepEqual(t.select(sel('SELECT dse_version FROM system.local'), ProtocolVersion.V4), {
    kind: 'error',
    code: ErrorCode.INVALID,
    message: 'Undefined column name dse_version',
  });
  assert.deepEqual(t.select(sel('SELECT * FROM system.peers_v2'), ProtocolVersion.V4), {
    kind: 'error',
    code: ErrorCode.INVALID,
    message: 'unconfigured table peers_v2',
  });
});

test('virtual system.peers lists the other proxy instances', () => {
  const t = vt(['10.1.0.1', '10.1.0.2', '10.1.0.3'], 1);
  const { names, rows } = decodeRows(
    (t.select(sel('SELECT * FROM system.peers'), ProtocolVersion.V3) as { body: Buffer }).body,
    ProtocolVersion.V3,
  );
  assert.deepEqual(names, [
    'peer',
    'data_center',
    'host_id',
    'preferred_ip',
    'rack',
    'release_version',
    'rpc_address',
    'schema_version',
    'tokens',
  ]);
  assert.deepEqual(
    rows.map((r) => [...r[0]!].join('.')),
    ['10.1.0.1', '10.1.0.3'],
  );
  const local = decodeRows(
    (t.select(sel('SELECT rpc_address FROM system.local'), ProtocolVersion.V3) as { body: Buffer }).body,
    ProtocolVersion.V3,
  );
  assert.deepEqual([...local.rows[0]![0]!], [10, 1, 0, 2]);
});

test('virtual tables: PREPARE gives MD5(query + keyspace) and the result metadata', () => {
  const q = 'SELECT rpc_address FROM system.local';
  const a = vt().prepare(sel(q), q, 'ks', ProtocolVersion.V4);
  assert.equal(a.kind, 'prepared');
  assert.deepEqual((a as { id: Buffer }).id, interceptedPreparedId(q, 'ks'));
  assert.equal((a as { id: Buffer }).id.length, 16);
  const r = new Reader((a as { body: Buffer }).body);
  assert.equal(r.readInt(), 4);
  assert.deepEqual(r.readShortBytes(), (a as { id: Buffer }).id);
});

test('credentials table (upstream-spec-notes 3.5.1)', () => {
  const conf = { origin: { username: 'ou', password: 'op' }, target: { username: 'tu', password: 'tp' } };
  const both = planAuth(true, true, false, conf);
  assert.deepEqual(
    [both.authPrimary, both.clientCredsAre, both.replaceClientToken, both.secondaryCredentials],
    ['ORIGIN', 'TARGET', true, 'client'],
  );
  const fwd = planAuth(true, true, true, conf);
  assert.deepEqual(
    [fwd.authPrimary, fwd.clientCredsAre, fwd.replaceClientToken, fwd.secondaryCredentials],
    ['ORIGIN', 'ORIGIN', false, conf.target],
  );
  const tOnly = planAuth(false, true, false, conf);
  assert.deepEqual([tOnly.authPrimary, tOnly.replaceClientToken, tOnly.secondaryCredentials], ['TARGET', false, conf.origin]);
  const oOnly = planAuth(true, false, true, conf);
  assert.deepEqual([oOnly.authPrimary, oOnly.replaceClientToken], ['ORIGIN', false]);
  assert.equal(planAuth(false, false, false, conf).authPrimary, 'ORIGIN');

  const relayed = relayToken(buildPlainToken('client', 'secret'), both);
  assert.deepEqual(parsePlainToken(relayed.token!), { authzid: '', username: 'ou', password: 'op' });
  assert.deepEqual(relayed.clientCredentials, { username: 'client', password: 'secret' });
  const same = buildPlainToken('client', 'secret');
  assert.equal(relayToken(same, fwd).token, same, 'unchanged when not replaced');
  assert.equal(relayToken(Buffer.from('PLAIN'), both).token!.toString(), 'PLAIN', 'mechanism selection passes through');
  assert.equal(relayToken(null, both).token, null);
  assert.throws(() => relayToken(Buffer.from('garbage'), both), InvalidAuthTokenError);
});
