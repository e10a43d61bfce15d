import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  computeAssignedHosts,
  computeVirtualHosts,
  virtualHostId,
  virtualTokens,
  uuidV5,
  rawIpBytes,
  type Host,
} from '../../../src/backend/topology';

function hosts(n: number): Host[] {
  return Array.from({ length: n }, (_, i) => ({
    address: `10.0.0.${i + 1}`,
    port: 9042,
    datacenter: 'dc1',
    rack: 'rack1',
    hostId: `00000000-0000-0000-0000-00000000000${i}`,
    tokens: [],
    columns: {},
  }));
}

test('host ids: UUID v5 of the raw IP bytes with the nil namespace (spec test vectors)', () => {
  assert.equal(virtualHostId('127.0.0.1', 16), '70ce2f37-9d6d-5010-98d8-80fe51a498ed');
  assert.equal(virtualHostId('127.0.0.1', 4), 'c9308a60-f574-524c-a3f7-02b92ce2a574');
  assert.equal(rawIpBytes('127.0.0.1', 16).toString('hex'), '00000000000000000000ffff7f000001');
  assert.equal(rawIpBytes('::1', 4).length, 16);
  assert.match(uuidV5(Buffer.from('x')), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.throws(() => rawIpBytes('not-an-ip'), RangeError);
});

test('tokens N=1, T=8', () => {
  assert.deepEqual(virtualTokens(0, 1, 8), [
    '-9223372036854775808',
    '-6917529027641081856',
    '-4611686018427387904',
    '-2305843009213693952',
    '0',
    '2305843009213693952',
    '4611686018427387904',
    '6917529027641081856',
  ]);
});

test('tokens N=3, T=8, i=1 and interleaving of all proxies', () => {
  const t1 = virtualTokens(1, 3, 8);
  assert.deepEqual(t1.slice(0, 2), ['-8454757700450211158', '-6148914691236517208']);
  const all = [0, 1, 2].flatMap((i) => virtualTokens(i, 3, 8).map((t) => ({ t: BigInt(t), i })));
  all.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
  assert.deepEqual(
    all.slice(0, 6).map((x) => x.i),
    [0, 1, 2, 0, 1, 2],
  );
  assert.equal(new Set(all.map((x) => x.t)).size, 24);
  assert.throws(() => virtualTokens(3, 3, 8), RangeError);
});

test('computeVirtualHosts: one per address, backing host i mod H, local flag', () => {
  const hs = hosts(2);
  const v = computeVirtualHosts(['127.0.0.1', '127.0.0.2', '127.0.0.3'], 1, 4, hs);
  assert.equal(v.length, 3);
  assert.deepEqual(
    v.map((x) => x.isLocal),
    [false, true, false],
  );
  assert.equal(v[2]!.host, hs[0]);
  assert.equal(v[1]!.host, hs[1]);
  assert.equal(v[0]!.rack, 'rack0');
  assert.equal(v[0]!.partitioner, 'org.apache.cassandra.dht.Murmur3Partitioner');
  assert.equal(v[0]!.hostId, '70ce2f37-9d6d-5010-98d8-80fe51a498ed');
  assert.equal(v[1]!.tokens.length, 4);
  assert.equal(computeVirtualHosts(['127.0.0.1'], 0, 1, hs, 4)[0]!.hostId, 'c9308a60-f574-524c-a3f7-02b92ce2a574');
});

test('computeAssignedHosts follows the upstream rule (TestGetAssignedHosts cases)', () => {
  const ids = (index: number, count: number, h: number) =>
    computeAssignedHosts(index, count, hosts(h), false).map((x) => Number(x.hostId.slice(-1)));
  assert.deepEqual(ids(0, 2, 3), [0, 2]);
  assert.deepEqual(ids(1, 2, 3), [1]);
  assert.deepEqual(ids(0, 1, 3), [0, 1, 2]);
  assert.deepEqual(ids(10, 12, 3), [1]);
  assert.deepEqual(ids(2, 3, 3), [2]);
  assert.deepEqual(ids(4, 5, 3), [1]);
  assert.deepEqual(computeAssignedHosts(0, 1, [], false), []);
  const shuffled = computeAssignedHosts(0, 1, hosts(5));
  assert.deepEqual(
    shuffled.map((h) => h.hostId).sort(),
    hosts(5).map((h) => h.hostId),
  );
});
