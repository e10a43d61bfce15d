// The real Origin and Target clusters (scripts/clusters.mjs) as the rest of the integration tests see
// them: reachable with the Node driver and cqlsh, distinct, authenticated, isolated, and the fault
// levers behave.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { errors } from 'cassandra-driver';
import {
  CLUSTERS,
  NODE_NAMES,
  ORIGIN,
  TARGET,
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  killNode,
  nodePid,
  nodeState,
  pauseNode,
  restartNode,
  resumeNode,
  runCqlsh,
  session,
  targetSession,
  uniqueKeyspaceName,
  withSession,
} from '../../support/clusters';
import type { ClusterLabel } from '../../../src/cluster';

const AUTH_TIMEOUT = { timeout: 60_000 };

async function keyspaceExists(name: ClusterLabel, ks: string): Promise<boolean> {
  return withSession(name, async (c) => {
    const rs = await c.execute('SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?', [ks], {
      prepare: true,
    });
    return rs.rowLength === 1;
  });
}

describe('Origin and Target test clusters', { timeout: 300_000 }, () => {
  before(async () => {
    await ensureClusters();
  });

  for (const name of NODE_NAMES) {
    const node = CLUSTERS[name];

    it(`${name}: the Node driver reaches ${node.contactPoint} as cluster '${node.clusterName}' in ${node.datacenter}`, async () => {
      const row = await withSession(name, async (c) => {
        const rs = await c.execute('SELECT cluster_name, release_version, data_center, listen_address FROM system.local');
        return rs.first();
      });
      assert.equal(row.get('cluster_name'), node.clusterName);
      assert.equal(row.get('data_center'), node.datacenter);
      assert.match(String(row.get('release_version')), /^5\.0\./);
      assert.equal(String(row.get('listen_address')), node.host);
    });

    it(`${name}: cqlsh reaches the node and reads its cluster_name`, AUTH_TIMEOUT, async () => {
      const r = await runCqlsh(name, ['-e', 'SELECT cluster_name FROM system.local']);
      assert.equal(r.code, 0, `cqlsh failed:\n${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^\\s*${node.clusterName}\\s*$`, 'm'));
      assert.match(r.stdout, /\(1 rows\)/);
    });

    it(`${name}: a wrong password is refused (Node driver and cqlsh)`, AUTH_TIMEOUT, async (t) => {
      if (!(await nodeState(name)).options.auth) {
        t.skip(`${name} runs without authentication`);
        return;
      }
      await assert.rejects(session(name, { password: 'not-the-password' }), (e: unknown) => {
        assert.ok(e instanceof errors.NoHostAvailableError, `expected NoHostAvailableError, got ${String(e)}`);
        const inner = Object.values(e.innerErrors as Record<string, Error>);
        assert.ok(
          inner.some((x) => x instanceof errors.AuthenticationError),
          `no AuthenticationError in ${inner.map(String).join('; ')}`,
        );
        return true;
      });
      const r = await runCqlsh(name, [
        '-u',
        'cassandra',
        '-p',
        'not-the-password',
        '-e',
        'SELECT cluster_name FROM system.local',
      ]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /AuthenticationFailed|Bad credentials/);
      assert.doesNotMatch(r.stdout, /\(1 rows\)/);
    });
  }

  it('origin and target are two different clusters', async () => {
    const names = await Promise.all(
      NODE_NAMES.map((n) =>
        withSession(n, async (c) => {
          const rs = await c.execute('SELECT cluster_name, host_id FROM system.local');
          return { cluster: rs.first().get('cluster_name') as string, hostId: String(rs.first().get('host_id')) };
        }),
      ),
    );
    assert.deepEqual(
      names.map((x) => x.cluster),
      [ORIGIN.clusterName, TARGET.clusterName],
    );
    assert.notEqual(names[0].hostId, names[1].hostId);
    // Neither node knows the other one as a peer.
    for (const n of NODE_NAMES) {
      const peers = await withSession(n, async (c) => (await c.execute('SELECT peer FROM system.peers_v2')).rowLength);
      assert.equal(peers, 0, `${n} has peers`);
    }
  });

  it('a keyspace made on one cluster is absent from the other', async () => {
    const ks = uniqueKeyspaceName('iso');
    await createKeyspace(ks, ['origin']);
    try {
      await withSession('origin', async (c) => {
        await c.execute(`CREATE TABLE ${ks}.t (k int PRIMARY KEY, v text)`);
        await c.execute(`INSERT INTO ${ks}.t (k, v) VALUES (1, 'origin-only')`);
      });
      assert.equal(await keyspaceExists('origin', ks), true);
      assert.equal(await keyspaceExists('target', ks), false);
      const r = await runCqlsh('target', ['-e', `SELECT * FROM ${ks}.t`]);
      assert.notEqual(r.code, 0, 'the table should not exist on target');
      assert.match(r.stderr, /does not exist|unconfigured table|Keyspace .* not found/i);
    } finally {
      await dropKeyspace(ks);
    }
    assert.equal(await keyspaceExists('origin', ks), false);
  });

  it('createKeyspace/dropKeyspace act on both clusters', async () => {
    const ks = await createKeyspace();
    assert.match(ks, /^ks_[0-9a-f]{8}$/);
    assert.deepEqual(await Promise.all(NODE_NAMES.map((n) => keyspaceExists(n, ks))), [true, true]);
    await dropKeyspace(ks);
    assert.deepEqual(await Promise.all(NODE_NAMES.map((n) => keyspaceExists(n, ks))), [false, false]);
  });

  it('a paused node times requests out, and answers again once resumed', async () => {
    const client = await targetSession({ timeoutMs: 5000 });
    try {
      await pauseNode('target');
      try {
        await assert.rejects(
          client.execute('SELECT cluster_name FROM system.local', [], { readTimeout: 1000, isIdempotent: false }),
          (e: unknown) =>
            e instanceof errors.OperationTimedOutError ||
            (e instanceof errors.NoHostAvailableError &&
              Object.values(e.innerErrors as Record<string, Error>).some((x) => x instanceof errors.OperationTimedOutError)),
        );
      } finally {
        await resumeNode('target');
      }
    } finally {
      await client.shutdown();
    }
    const row = await withSession('target', async (c) => (await c.execute('SELECT cluster_name FROM system.local')).first());
    assert.equal(row.get('cluster_name'), TARGET.clusterName);
  });

  it('a killed node restarts with its data kept', async () => {
    const ks = await createKeyspace(uniqueKeyspaceName('crash'), ['target']);
    try {
      // Schema changes are flushed to disk at once, so they survive a SIGKILL deterministically
      // (rows written just before the kill may sit after the last commitlog sync marker).
      await withSession('target', (c) => c.execute(`CREATE TABLE ${ks}.t (k int PRIMARY KEY, v text)`));
      const before = await nodePid('target');
      await killNode('target');
      assert.equal(await nodePid('target'), undefined);
      await restartNode('target');
      const after = await nodePid('target');
      assert.ok(after !== undefined && after !== before, `expected a new pid (before ${before}, after ${after})`);
      assert.equal(await keyspaceExists('target', ks), true);
      await withSession('target', async (c) => {
        await c.execute(`INSERT INTO ${ks}.t (k, v) VALUES (7, 'after restart')`);
        assert.equal((await c.execute(`SELECT v FROM ${ks}.t WHERE k = 7`)).first()?.get('v'), 'after restart');
      });
    } finally {
      // do not let a cleanup error (e.g. target down after a failed restart) hide the real failure
      await dropKeyspace(ks, ['target']).catch(() => undefined);
    }
  });
});
