// Virtual topology (upstream-spec-notes 2.2.5, 4.3): system.local/system.peers are answered by the proxy with its own
// address, host id (UUID v5 of the raw IP bytes, nil namespace) and virtual tokens; system.peers_v2
// is an "unconfigured table" error; drivers see only proxies. With three instances sharing one
// proxy_topology_addresses list, a driver given one contact point finds all three, and token-aware
// routing sends each key to the instance whose virtual tokens own the key's Murmur3 token.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Client } from 'cassandra-driver';

import { createKeyspace, dropKeyspace, ensureClusters, originSession, uniqueKeyspaceName } from '../../support/clusters';
import { freePort, proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';
import { waitFor } from '../../support/wait';

// ---- expected values, computed here from the spec (independently of src/) ----------------------

/** UUID v5 (SHA-1) of `name` with the nil UUID as namespace. */
function uuidV5(name: Buffer): string {
  const b = createHash('sha1').update(Buffer.alloc(16)).update(name).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
const ipv4Bytes = (ip: string) => Buffer.from(ip.split('.').map(Number));
/** Go's net.ParseIP form of an IPv4 address: 16 bytes, IPv4-mapped. */
const ipv4Mapped = (ip: string) => Buffer.concat([Buffer.alloc(10), Buffer.from([0xff, 0xff]), ipv4Bytes(ip)]);

/** Token t of proxy i of n with T tokens each: floor(2^64/(T*n))*(t*n+i) - 2^63. */
function virtualTokens(i: number, n: number, T: number): bigint[] {
  const a = (1n << 64n) / BigInt(T * n);
  return Array.from({ length: T }, (_, t) => a * BigInt(t * n + i) - (1n << 63n));
}

/** The owner (index) of a token in a ring of (token, owner) pairs: the first token >= it, wrapping around. */
function ownerOf(token: bigint, ring: { token: bigint; owner: number }[]): number {
  const sorted = [...ring].sort((x, y) => (x.token < y.token ? -1 : x.token > y.token ? 1 : 0));
  return (sorted.find((e) => e.token >= token) ?? sorted[0]!).owner;
}

const str = (v: unknown) => (v === null || v === undefined ? null : String(v));

describe('virtual topology: spec vectors used by these tests', () => {
  it('host ids and tokens match the spec test vectors', () => {
    assert.equal(uuidV5(ipv4Mapped('127.0.0.1')), '70ce2f37-9d6d-5010-98d8-80fe51a498ed');
    assert.equal(uuidV5(ipv4Bytes('127.0.0.1')), 'c9308a60-f574-524c-a3f7-02b92ce2a574');
    assert.deepEqual(virtualTokens(0, 1, 8).map(String), [
      '-9223372036854775808',
      '-6917529027641081856',
      '-4611686018427387904',
      '-2305843009213693952',
      '0',
      '2305843009213693952',
      '4611686018427387904',
      '6917529027641081856',
    ]);
    assert.deepEqual(virtualTokens(1, 3, 8).slice(0, 2).map(String), ['-8454757700450211158', '-6148914691236517208']);
  });
});

describe('virtual topology: one proxy instance', () => {
  let proxy: TestProxy | undefined;
  let client: Client | undefined;
  let originRow: Record<string, unknown> | undefined;

  before(async () => {
    await ensureClusters();
    const origin = await originSession();
    try {
      originRow = {
        ...(await origin.execute('SELECT cluster_name, data_center, release_version, rpc_port FROM system.local')).first(),
      };
    } finally {
      await origin.shutdown();
    }
    proxy = await startTestProxy({ host: '127.0.0.1' });
    client = await proxyClient({ proxy });
  });
  after(async () => {
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
  });

  it("SELECT * FROM system.local returns the proxy's address, host id and tokens", async () => {
    const rs = await client!.execute('SELECT * FROM system.local');
    assert.equal(rs.rowLength, 1);
    const row = rs.first();
    for (const c of ['broadcast_address', 'listen_address', 'rpc_address']) assert.equal(str(row[c]), '127.0.0.1', c);
    // No proxy_topology_addresses: the address comes from the resolved listen address (4-byte IP input, upstream-spec-notes 1.5/2.2.5, quirk 9.10).
    assert.equal(str(row['host_id']), uuidV5(ipv4Bytes('127.0.0.1')), 'host_id');
    assert.deepEqual([...(row['tokens'] as string[])].sort(), virtualTokens(0, 1, 8).map(String).sort(), 'tokens');
    assert.equal(row['rack'], 'rack0');
    assert.equal(row['partitioner'], 'org.apache.cassandra.dht.Murmur3Partitioner');
    assert.equal(row['cluster_name'], originRow!['cluster_name'], 'cluster_name comes from Origin');
    assert.equal(row['data_center'], originRow!['data_center']);
    assert.equal(row['release_version'], originRow!['release_version']);
    assert.notEqual(row['schema_version'], null, 'schema_version');
    if (rs.columns.some((c) => c.name === 'native_transport_port')) assert.equal(row['native_transport_port'], proxy!.port);
    // Cassandra 4+ has rpc_port in system.local (drivers read the node's native port there): the proxy's port
    assert.equal(typeof originRow!['rpc_port'], 'number', "Origin's system.local has rpc_port");
    assert.equal(row['rpc_port'], proxy!.port, 'rpc_port is the proxy listen port');
    const cols = rs.columns.map((c) => c.name);
    for (const c of [
      'key',
      'bootstrapped',
      'cluster_name',
      'cql_version',
      'data_center',
      'host_id',
      'partitioner',
      'rack',
      'tokens',
      'truncated_at',
    ]) {
      assert.ok(cols.includes(c), `system.local should have column ${c} (got ${cols.join(', ')})`);
    }
  });

  it("schema_version follows Origin's after a DDL through the proxy (driver schema agreement)", async () => {
    const ks = uniqueKeyspaceName('vt_schema');
    const origin = await originSession();
    const version = async (c: Client): Promise<string | null> =>
      str((await c.execute('SELECT schema_version FROM system.local')).first()['schema_version']);
    try {
      const before = await version(client!);
      assert.equal(before, await version(origin), "schema_version is Origin's");
      await client!.execute(`CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
      const after = await version(origin);
      assert.notEqual(after, before, 'the DDL changed the schema version on Origin');
      // (other tests may change the shared clusters' schema meanwhile: compared with Origin's current one)
      await waitFor("the proxy's system.local schema_version is Origin's new one", async () => {
        const v = await version(client!);
        return v !== before && v === (await version(origin));
      });
    } finally {
      await client!.execute(`DROP KEYSPACE IF EXISTS ${ks}`).catch(() => undefined);
      await origin.shutdown();
    }
  });

  it('system.peers is empty with one instance, with its columns', async () => {
    const rs = await client!.execute('SELECT * FROM system.peers');
    assert.equal(rs.rowLength, 0);
    const cols = rs.columns.map((c) => c.name);
    for (const c of ['peer', 'data_center', 'host_id', 'rack', 'rpc_address', 'tokens'])
      assert.ok(cols.includes(c), `peers column ${c}`);
  });

  it('system.peers_v2 is an "unconfigured table peers_v2" error', async () => {
    await assert.rejects(client!.execute('SELECT * FROM system.peers_v2'), (e: Error & { code?: number }) => {
      assert.match(e.message, /unconfigured table peers_v2/);
      assert.equal(e.code, 0x2200);
      return true;
    });
  });

  it('the driver sees only the proxy', () => {
    assert.deepEqual(client!.hosts.keys(), [`127.0.0.1:${proxy!.port}`]);
  });
});

describe('virtual topology: three proxy instances (127.0.0.1-3), token-aware routing', () => {
  const ADDRS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
  const ks = uniqueKeyspaceName('proxy_vtopo');
  const proxies: TestProxy[] = [];
  let port = 0;
  let client: Client | undefined;

  before(async () => {
    await ensureClusters();
    await createKeyspace(ks);
    // Same port on every address (drivers use one port for all hosts); 127.0.0.2:9042 is Target itself.
    port = await freePort(ADDRS);
    for (let i = 0; i < ADDRS.length; i++) {
      proxies.push(
        await startTestProxy({
          host: ADDRS[i],
          port,
          settings: { proxy_topology_addresses: ADDRS.join(','), proxy_topology_index: i },
        }),
      );
    }
    client = await proxyClient({ host: ADDRS[0], port, keyspace: ks });
  });
  after(async () => {
    await client?.shutdown().catch(() => undefined);
    await Promise.all(proxies.map((p) => p.stop().catch(() => undefined)));
    await dropKeyspace(ks).catch(() => undefined);
  });

  it('each instance reports its own address, host id and tokens in system.local, and the others in system.peers', async () => {
    for (let i = 0; i < ADDRS.length; i++) {
      const single = await proxyClient({ host: ADDRS[i], port });
      try {
        const host = single.hosts.get(`${ADDRS[i]}:${port}`);
        assert.ok(host, `driver host ${ADDRS[i]}:${port}`);
        const local = (await single.execute('SELECT * FROM system.local', [], { host })).first();
        assert.equal(str(local['rpc_address']), ADDRS[i]);
        assert.equal(str(local['host_id']), uuidV5(ipv4Mapped(ADDRS[i]!)), `host_id of instance ${i}`);
        assert.deepEqual(
          [...(local['tokens'] as string[])].sort(),
          virtualTokens(i, 3, 8).map(String).sort(),
          `tokens of instance ${i}`,
        );
        const peers = (await single.execute('SELECT peer, rpc_address, host_id, tokens FROM system.peers', [], { host })).rows;
        const others = ADDRS.map((a, j) => ({ a, j })).filter(({ j }) => j !== i);
        assert.deepEqual(
          peers.map((p) => str(p['peer'])).sort(),
          others.map(({ a }) => a),
        );
        for (const p of peers) {
          const j = ADDRS.indexOf(str(p['peer'])!);
          assert.equal(str(p['rpc_address']), ADDRS[j]);
          assert.equal(str(p['host_id']), uuidV5(ipv4Mapped(ADDRS[j]!)));
          assert.deepEqual([...(p['tokens'] as string[])].sort(), virtualTokens(j, 3, 8).map(String).sort());
        }
      } finally {
        await single.shutdown();
      }
    }
  });

  it('a driver given one contact point finds the three instances (and nothing else)', () => {
    assert.deepEqual(
      client!.hosts.keys().sort(),
      ADDRS.map((a) => `${a}:${port}`),
    );
  });

  it('token-aware routing sends each key to the instance that owns its token', async () => {
    await client!.execute(`CREATE TABLE IF NOT EXISTS ${ks}.kv (k text PRIMARY KEY, v int)`);
    const keys = Array.from({ length: 30 }, (_, n) => `key-${n}`);
    for (const k of keys) {
      await client!.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, [k, 1], {
        prepare: false,
        hints: ['text', 'int'],
        routingKey: Buffer.from(k),
      });
    }
    // The key's Murmur3 token, as the real cluster computes it.
    const origin = await originSession();
    const tokens = new Map<string, bigint>();
    try {
      for (const k of keys) {
        const row = (await origin.execute(`SELECT token(k) AS t FROM ${ks}.kv WHERE k = ?`, [k], { prepare: true })).first();
        tokens.set(k, BigInt(String(row['t'])));
      }
    } finally {
      await origin.shutdown();
    }
    const ring = ADDRS.flatMap((_, i) => virtualTokens(i, 3, 8).map((token) => ({ token, owner: i })));
    const owners = new Set<number>();
    for (const k of keys) {
      const expected = `${ADDRS[ownerOf(tokens.get(k)!, ring)]}:${port}`;
      const replicas = client!.getReplicas(ks, Buffer.from(k)).map((h) => h.address);
      assert.deepEqual(replicas, [expected], `driver replicas for ${k} (token ${tokens.get(k)})`);
      for (let rep = 0; rep < 2; rep++) {
        const rs = await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [k], {
          prepare: false,
          routingKey: Buffer.from(k),
        });
        assert.equal(rs.info.queriedHost, expected, `key ${k} (token ${tokens.get(k)}) should go to its owner`);
        assert.equal(rs.rowLength, 1);
      }
      owners.add(ADDRS.indexOf(expected.split(':')[0]!));
    }
    assert.ok(owners.size >= 2, 'the keys should spread over several instances for this test to mean something');
  });
});
