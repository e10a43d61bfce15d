// The Python cassandra-driver (project venv, scripts/pyenv.sh) through the proxy: a write lands on
// both clusters, a read returns the primary's (Origin's) value, and the driver sees only the proxy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';

import {
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  originSession,
  targetSession,
  uniqueKeyspaceName,
} from '../../support/clusters';
import { runPython, startTestProxy, type TestProxy } from '../../support/proxy';

const SCRIPT = String.raw`
import json, sys, logging
logging.basicConfig(level=logging.ERROR)
from cassandra.cluster import Cluster
from cassandra.auth import PlainTextAuthProvider
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

host, port, ks = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cluster = Cluster(contact_points=[host], port=port,
                  auth_provider=PlainTextAuthProvider(username='cassandra', password='cassandra'),
                  load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc='datacenter1')),
                  connect_timeout=10, control_connection_timeout=10)
session = cluster.connect()
session.default_timeout = 20
out = {}
session.execute("INSERT INTO %s.kv (k, v) VALUES ('py-write', 'written-by-python')" % ks)
session.execute("INSERT INTO " + ks + ".kv (k, v) VALUES (%s, %s)", ('py-params', 'with-params'))
session.execute("UPDATE %s.kv SET v = 'updated-by-python' WHERE k = 'py-update'" % ks)
out['read'] = [r.v for r in session.execute("SELECT v FROM %s.kv WHERE k = 'both'" % ks)]
out['read_params'] = [r.v for r in session.execute("SELECT v FROM " + ks + ".kv WHERE k = %s", ('both',))]
out['hosts'] = sorted('%s:%s' % (h.endpoint.address, h.endpoint.port) for h in cluster.metadata.all_hosts())
out['cluster_name'] = cluster.metadata.cluster_name
out['protocol_version'] = cluster.protocol_version
cluster.shutdown()
print('RESULT ' + json.dumps(out))
`;

describe('proxy: the Python cassandra-driver', () => {
  const ks = uniqueKeyspaceName('proxy_python');
  let origin: Client | undefined;
  let target: Client | undefined;
  let proxy: TestProxy | undefined;
  let result:
    | { read: string[]; read_params: string[]; hosts: string[]; cluster_name: string; protocol_version: number }
    | undefined;
  let output = '';

  before(async () => {
    await ensureClusters();
    await createKeyspace(ks);
    [origin, target] = await Promise.all([originSession(), targetSession()]);
    for (const c of [origin, target]) await c.execute(`CREATE TABLE ${ks}.kv (k text PRIMARY KEY, v text)`);
    await origin.execute(`INSERT INTO ${ks}.kv (k, v) VALUES ('both', 'from-origin')`);
    await target.execute(`INSERT INTO ${ks}.kv (k, v) VALUES ('both', 'from-target')`);
    proxy = await startTestProxy();
    const r = await runPython(SCRIPT, [proxy.host, String(proxy.port), ks], { timeoutMs: 90_000 });
    output = `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (line) result = JSON.parse(line.slice(7));
  });
  after(async () => {
    await proxy?.stop().catch(() => undefined);
    await origin?.shutdown().catch(() => undefined);
    await target?.shutdown().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
  });

  it('the script connects through the proxy and completes', () => {
    assert.ok(result, `the Python script did not complete:\n${output}`);
  });

  it('writes land on both clusters', async () => {
    assert.ok(result, output);
    for (const [c, name] of [
      [origin!, 'origin'],
      [target!, 'target'],
    ] as const) {
      const rs = await c.execute(`SELECT k, v FROM ${ks}.kv WHERE k IN ('py-write', 'py-params', 'py-update')`);
      assert.deepEqual(
        rs.rows.map((r) => `${r['k']}=${r['v']}`).sort(),
        ['py-params=with-params', 'py-update=updated-by-python', 'py-write=written-by-python'],
        `rows on ${name}`,
      );
    }
  });

  it("a read returns the primary's (Origin's) value", () => {
    assert.ok(result, output);
    assert.deepEqual(result.read, ['from-origin']);
    assert.deepEqual(result.read_params, ['from-origin']);
  });

  it('the driver sees only the proxy, in a cluster named as Origin', () => {
    assert.ok(result, output);
    assert.deepEqual(result.hosts, [`${proxy!.host}:${proxy!.port}`]);
    assert.equal(result.cluster_name, 'origin');
    // The driver opens with DSE_V2, is steered down by the clusters' protocol errors (stream 0) and settles
    // on v5, which the proxy carries end to end (segment framing after READY/AUTHENTICATE).
    assert.equal(result.protocol_version, 5, `protocol version ${result.protocol_version}`);
  });
});
