// Every batch kind (LOGGED, UNLOGGED, COUNTER) through the proxy: from the Node driver (simple
// children, prepared children), from a raw client (mixed simple + prepared children) and from the
// Python driver (BatchStatement with prepared and simple statements). Every effect is checked
// directly on both clusters (upstream-spec-notes 4.5: prepared children get Target's ids in Target's copy).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { types, type Client } from 'cassandra-driver';

import { dropKeyspace, ensureClusters, uniqueKeyspaceName } from '../../support/clusters';
import { proxyClient, runPython, startTestProxy, type TestProxy } from '../../support/proxy';
import { BatchType, bind, errorOf, RawCqlClient } from '../../support/raw-client';
import { assertOnBoth, directSessions, type Direct } from './helpers';

const PY = String.raw`
import json, sys, logging
logging.basicConfig(level=logging.ERROR)
from cassandra.cluster import Cluster
from cassandra.auth import PlainTextAuthProvider
from cassandra.policies import DCAwareRoundRobinPolicy
from cassandra.query import BatchStatement, BatchType, SimpleStatement

host, port, ks = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cluster = Cluster(contact_points=[host], port=port,
                  auth_provider=PlainTextAuthProvider(username='cassandra', password='cassandra'),
                  load_balancing_policy=DCAwareRoundRobinPolicy(local_dc='datacenter1'),
                  connect_timeout=10, control_connection_timeout=10)
session = cluster.connect()
session.default_timeout = 20
ins = session.prepare("INSERT INTO %s.kv (k, v) VALUES (?, ?)" % ks)
upd = session.prepare("UPDATE %s.counters SET n = n + ? WHERE k = ?" % ks)
for kind, name, base in ((BatchType.LOGGED, 'logged', 700), (BatchType.UNLOGGED, 'unlogged', 710)):
    b = BatchStatement(batch_type=kind)
    b.add(ins, (base, 'py-%s-prepared' % name))
    b.add(SimpleStatement("INSERT INTO " + ks + ".kv (k, v) VALUES (%s, %s)"), (base + 1, 'py-%s-simple' % name))
    b.add(ins, (base + 2, 'py-%s-prepared2' % name))
    session.execute(b)
c = BatchStatement(batch_type=BatchType.COUNTER)
c.add(upd, (5, 700))
c.add(SimpleStatement("UPDATE " + ks + ".counters SET n = n + %s WHERE k = %s"), (7, 701))
c.add(upd, (2, 700))
session.execute(c)
cluster.shutdown()
print('RESULT ok')
`;

describe('lifecycle: batches (logged, unlogged, counter; simple, prepared, mixed)', () => {
  const ks = uniqueKeyspaceName('lc_batches');
  let d: Direct | undefined;
  let proxy: TestProxy | undefined;
  let client: Client | undefined;
  let raw: RawCqlClient | undefined;

  before(async () => {
    await ensureClusters();
    d = await directSessions(ks, [
      `CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`,
      `CREATE TABLE ${ks}.counters (k int PRIMARY KEY, n counter)`,
    ]);
    proxy = await startTestProxy();
    client = await proxyClient({ proxy });
  });
  after(async () => {
    raw?.close();
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await d?.shutdown();
    await dropKeyspace(ks).catch(() => undefined);
  });

  const kv = (k: number) => [`SELECT v FROM ${ks}.kv WHERE k = ?`, [k]] as const;
  const counter = (k: number) => [`SELECT n FROM ${ks}.counters WHERE k = ?`, [k]] as const;
  const ins = `INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`;

  for (const prepare of [false, true]) {
    for (const logged of [true, false]) {
      const label = `${logged ? 'LOGGED' : 'UNLOGGED'} batch, ${prepare ? 'prepared' : 'simple'} children`;
      it(`Node driver: ${label}`, async () => {
        const base = (prepare ? 100 : 0) + (logged ? 0 : 50);
        await client!.batch(
          [
            { query: ins, params: [base, `${label} a`] },
            { query: ins, params: [base + 1, `${label} b`] },
            { query: `UPDATE ${ks}.kv SET v = ? WHERE k = ?`, params: [`${label} c`, base + 2] },
          ],
          {
            prepare,
            logged,
            ...(prepare
              ? {}
              : {
                  hints: [
                    ['int', 'text'],
                    ['int', 'text'],
                    ['text', 'int'],
                  ],
                }),
          },
        );
        await assertOnBoth(d!, ...kv(base), { v: `${label} a` });
        await assertOnBoth(d!, ...kv(base + 1), { v: `${label} b` });
        await assertOnBoth(d!, ...kv(base + 2), { v: `${label} c` });
        await client!.batch([{ query: `DELETE FROM ${ks}.kv WHERE k = ?`, params: [base + 1] }], {
          prepare,
          logged,
          ...(prepare ? {} : { hints: [['int']] }),
        });
        await assertOnBoth(d!, ...kv(base + 1), undefined, `${label}: DELETE in a batch`);
      });
    }
    it(`Node driver: COUNTER batch, ${prepare ? 'prepared' : 'simple'} children`, async () => {
      const k = prepare ? 11 : 10;
      const upd = `UPDATE ${ks}.counters SET n = n + ? WHERE k = ?`;
      const longs = (n: number) => types.Long.fromNumber(n);
      await client!.batch(
        [
          { query: upd, params: [longs(3), k] },
          { query: upd, params: [longs(4), k] },
        ],
        {
          prepare,
          counter: true,
          logged: false,
          ...(prepare
            ? {}
            : {
                hints: [
                  ['counter', 'int'],
                  ['counter', 'int'],
                ],
              }),
        },
      );
      await client!.batch([{ query: upd, params: [longs(10), k] }], {
        prepare,
        counter: true,
        logged: false,
        ...(prepare ? {} : { hints: [['counter', 'int']] }),
      });
      await assertOnBoth(d!, ...counter(k), { n: 17 }, 'counter applied once on each cluster');
    });
  }

  it('raw client: mixed simple + prepared children in LOGGED, UNLOGGED and COUNTER batches', async () => {
    raw = await RawCqlClient.connect({ host: proxy!.host, port: proxy!.port });
    const id = await raw.prepare(ins);
    const cid = await raw.prepare(`UPDATE ${ks}.counters SET n = n + ? WHERE k = ?`);
    for (const [type, base] of [
      [BatchType.LOGGED, 300],
      [BatchType.UNLOGGED, 310],
    ] as const) {
      const r = await raw.batch(type, [
        { kind: 'prepared', id, values: [bind.int(base), bind.text('prepared child')] },
        { kind: 'query', query: `INSERT INTO ${ks}.kv (k, v) VALUES (${base + 1}, 'simple child')`, values: [] },
        {
          kind: 'query',
          query: `INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`,
          values: [bind.int(base + 2), bind.text('simple child with values')],
        },
        { kind: 'prepared', id, values: [bind.int(base + 3), bind.text('prepared child 2')] },
      ]);
      assert.equal(errorOf(r), undefined, `batch type ${type}: ${JSON.stringify(errorOf(r))}`);
      await assertOnBoth(d!, ...kv(base), { v: 'prepared child' });
      await assertOnBoth(d!, ...kv(base + 1), { v: 'simple child' });
      await assertOnBoth(d!, ...kv(base + 2), { v: 'simple child with values' });
      await assertOnBoth(d!, ...kv(base + 3), { v: 'prepared child 2' });
    }
    const r = await raw.batch(BatchType.COUNTER, [
      { kind: 'prepared', id: cid, values: [bind.bigint(6n), bind.int(300)] },
      { kind: 'query', query: `UPDATE ${ks}.counters SET n = n + 1 WHERE k = 300`, values: [] },
    ]);
    assert.equal(errorOf(r), undefined, `counter batch: ${JSON.stringify(errorOf(r))}`);
    await assertOnBoth(d!, ...counter(300), { n: 7 });
  });

  it('Python driver: BatchStatement with prepared + simple statements (LOGGED, UNLOGGED, COUNTER)', async () => {
    const r = await runPython(PY, [proxy!.host, String(proxy!.port), ks], { timeoutMs: 90_000 });
    assert.ok(r.stdout.includes('RESULT ok'), `python exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    for (const [name, base] of [
      ['logged', 700],
      ['unlogged', 710],
    ] as const) {
      await assertOnBoth(d!, ...kv(base), { v: `py-${name}-prepared` });
      await assertOnBoth(d!, ...kv(base + 1), { v: `py-${name}-simple` });
      await assertOnBoth(d!, ...kv(base + 2), { v: `py-${name}-prepared2` });
    }
    await assertOnBoth(d!, ...counter(700), { n: 7 });
    await assertOnBoth(d!, ...counter(701), { n: 7 });
  });
});
