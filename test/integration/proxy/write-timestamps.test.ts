// Pinned write timestamps (pin_write_timestamps, default on) against the real clusters: rows written
// through the proxy by cqlsh, by the Python driver with client timestamps off and by a raw client
// (QUERY, EXECUTE, BATCH) have the SAME WRITETIME() on Origin and Target; client timestamps (query
// parameters or USING TIMESTAMP) are kept as sent.
//
// What Cassandra 5.0 does with a parameters timestamp (checked here, through the proxy):
//  - conditional statements (IF NOT EXISTS / IF EXISTS / IF col = ...): accepted but IGNORED (the
//    Paxos ballot is the write time), so the proxy leaves them alone (only `USING TIMESTAMP` is refused);
//  - counter updates: accepted; they are pinned like any other write.
// With the setting off each coordinator picks its own write time: they MAY differ (not asserted).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';

import { type BothClusters, bothClusters, runCqlsh, uniqueKeyspaceName } from '../../support/clusters';
import { PY_PROXY_SESSION, runPython, startTestProxy, type TestProxy } from '../../support/proxy';
import { BatchType, Consistency, Opcode, RawCqlClient, bind, expectResult, rowsOf } from '../../support/raw-client';

const PY_SCRIPT =
  PY_PROXY_SESSION +
  String.raw`
session.use_client_timestamp = False   # the driver sends no timestamp: the coordinator (or the proxy) picks it
session.execute("INSERT INTO t (k, v) VALUES (100, 'py-simple')")
p = session.prepare("INSERT INTO t (k, v) VALUES (?, ?)")
session.execute(p, (101, 'py-prepared'))
b = BatchStatement()
b.add(p, (102, 'py-batch-a'))
b.add(p, (103, 'py-batch-b'))
session.execute(b)
cluster.shutdown()
print('DONE')
`;

describe('pinned write timestamps with the real clusters', () => {
  const ks = uniqueKeyspaceName('wts');
  let both: BothClusters | undefined;
  let origin: Client | undefined;
  let target: Client | undefined;
  let on: TestProxy | undefined;
  let off: TestProxy | undefined;
  let raw: RawCqlClient | undefined;

  async function writetimes(k: number, table = 't', col = 'v'): Promise<{ o: bigint | undefined; t: bigint | undefined }> {
    const get = async (c: Client): Promise<bigint | undefined> => {
      const r = (
        await c.execute(`SELECT writetime(${col}) AS w FROM ${ks}.${table} WHERE k = ?`, [k], { prepare: true })
      ).first();
      const w = r?.['w'];
      return w === null || w === undefined ? undefined : BigInt(String(w));
    };
    const [o, t] = await Promise.all([get(origin!), get(target!)]);
    return { o, t };
  }
  async function assertSameWritetime(k: number, what: string): Promise<bigint> {
    const { o, t } = await writetimes(k);
    assert.ok(o !== undefined, `${what}: row ${k} missing on Origin`);
    assert.ok(t !== undefined, `${what}: row ${k} missing on Target`);
    assert.equal(t, o, `${what}: WRITETIME differs (Origin ${o}, Target ${t})`);
    return o;
  }

  before(async () => {
    both = await bothClusters(ks, [
      `CREATE TABLE ${ks}.t (k int PRIMARY KEY, v text)`,
      `CREATE TABLE ${ks}.c (k int PRIMARY KEY, n counter)`,
    ]);
    ({ origin, target } = both);
    [on, off] = await Promise.all([startTestProxy(), startTestProxy({ settings: { pin_write_timestamps: false } })]);
    raw = await RawCqlClient.connect({ host: on.host, port: on.port });
    expectResult(await raw.query(`USE ${ks}`), 'USE');
  });
  after(async () => {
    raw?.close();
    await on?.stop().catch(() => undefined);
    await off?.stop().catch(() => undefined);
    await both?.close();
  });

  it('raw client QUERY, EXECUTE and BATCH without a timestamp: the same WRITETIME on both, increasing in request order', async () => {
    expectResult(await raw!.query(`INSERT INTO t (k, v) VALUES (1, 'q')`), 'QUERY');
    const id = await raw!.prepare(`INSERT INTO t (k, v) VALUES (?, ?)`);
    expectResult(await raw!.execute(id, [bind.int(2), bind.text('e')]), 'EXECUTE');
    expectResult(
      await raw!.batch(BatchType.LOGGED, [
        { kind: 'query', query: `INSERT INTO t (k, v) VALUES (3, 'b')`, values: [] },
        { kind: 'prepared', id, values: [bind.int(4), bind.text('b')] },
      ]),
      'BATCH',
    );
    expectResult(await raw!.query(`UPDATE t SET v = 'u' WHERE k = 5`), 'UPDATE');
    const w1 = await assertSameWritetime(1, 'QUERY');
    const w2 = await assertSameWritetime(2, 'EXECUTE');
    const w3 = await assertSameWritetime(3, 'BATCH text child');
    const w4 = await assertSameWritetime(4, 'BATCH prepared child');
    const w5 = await assertSameWritetime(5, 'UPDATE');
    assert.equal(w3, w4, 'one timestamp for the whole batch');
    assert.ok(w1 < w2 && w2 < w3 && w3 < w5, `strictly increasing in request order: ${w1} ${w2} ${w3} ${w5}`);
    const nowMicros = BigInt(Date.now()) * 1000n;
    assert.ok(nowMicros - w5 < 60_000_000n && w5 - nowMicros < 60_000_000n, `a wall-clock time in microseconds (${w5})`);
  });

  it('client-supplied timestamps are never changed (query parameters, USING TIMESTAMP)', async () => {
    expectResult(
      await raw!.request({
        opcode: Opcode.QUERY,
        query: `INSERT INTO t (k, v) VALUES (10, 'own')`,
        params: { consistency: Consistency.ONE, defaultTimestamp: 1234567n },
      }),
    );
    assert.deepEqual(await writetimes(10), { o: 1234567n, t: 1234567n });
    expectResult(await raw!.query(`INSERT INTO t (k, v) VALUES (11, 'using') USING TIMESTAMP 7654321`));
    assert.deepEqual(await writetimes(11), { o: 7654321n, t: 7654321n });
    expectResult(
      await raw!.request({
        opcode: Opcode.BATCH,
        type: BatchType.UNLOGGED,
        children: [{ kind: 'query', query: `INSERT INTO t (k, v) VALUES (12, 'own-batch')`, values: [] }],
        consistency: Consistency.ONE,
        defaultTimestamp: 2222222n,
      }),
    );
    assert.deepEqual(await writetimes(12), { o: 2222222n, t: 2222222n });
  });

  it('the Node driver (client timestamps on by default): its timestamp is what both clusters store', async () => {
    const { proxyClient } = await import('../../support/proxy');
    const c = await proxyClient({ proxy: on!, keyspace: ks, extra: { isMetadataSyncEnabled: false } });
    try {
      const before = BigInt(Date.now()) * 1000n;
      await c.execute(`INSERT INTO t (k, v) VALUES (20, 'node')`, [], { prepare: false });
      const w = await assertSameWritetime(20, 'Node driver');
      assert.ok(w >= before - 5_000_000n, 'a current timestamp');
    } finally {
      await c.shutdown();
    }
  });

  it('cqlsh through the proxy: the same WRITETIME on both', async () => {
    const saved = [process.env.ZDM_PROXY_HOST, process.env.ZDM_PROXY_PORT];
    process.env.ZDM_PROXY_HOST = on!.host;
    process.env.ZDM_PROXY_PORT = String(on!.port);
    try {
      const r = await runCqlsh(
        'proxy',
        [
          '--connect-timeout=20',
          '--request-timeout=30',
          '-e',
          `INSERT INTO ${ks}.t (k, v) VALUES (30, 'cqlsh'); UPDATE ${ks}.t SET v = 'cqlsh-u' WHERE k = 31;`,
        ],
        { timeoutMs: 90_000 },
      );
      assert.equal(r.code, 0, `cqlsh failed:\n${r.stdout}\n${r.stderr}`);
    } finally {
      if (saved[0] === undefined) delete process.env.ZDM_PROXY_HOST;
      else process.env.ZDM_PROXY_HOST = saved[0];
      if (saved[1] === undefined) delete process.env.ZDM_PROXY_PORT;
      else process.env.ZDM_PROXY_PORT = saved[1];
    }
    await assertSameWritetime(30, 'cqlsh INSERT');
    await assertSameWritetime(31, 'cqlsh UPDATE');
  });

  it('the Python driver with client timestamps off: the same WRITETIME on both (simple, prepared, batch)', async () => {
    const r = await runPython(PY_SCRIPT, [on!.host, String(on!.port), ks], { timeoutMs: 90_000 });
    assert.match(r.stdout, /DONE/, `python failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    for (const k of [100, 101, 102, 103]) await assertSameWritetime(k, `python row ${k}`);
    assert.equal((await writetimes(102)).o, (await writetimes(103)).o, 'one timestamp per batch');
  });

  it('conditional statements are left alone (Cassandra ignores a parameters timestamp there); they still apply on both', async () => {
    const f = rowsOf(await raw!.query(`INSERT INTO t (k, v) VALUES (40, 'lwt') IF NOT EXISTS`));
    assert.equal(f[0]?.['[applied]'], true);
    expectResult(await raw!.query(`UPDATE t SET v = 'lwt2' WHERE k = 40 IF v = 'lwt'`));
    const { o, t } = await writetimes(40);
    assert.ok(o !== undefined && t !== undefined, 'written on both');
    for (const c of [origin!, target!])
      assert.equal((await c.execute(`SELECT v FROM ${ks}.t WHERE k = 40`)).first()?.['v'], 'lwt2');
  });

  it('counter updates are pinned and accepted by both clusters', async () => {
    expectResult(await raw!.query(`UPDATE c SET n = n + 3 WHERE k = 1`), 'counter');
    expectResult(await raw!.query(`UPDATE c SET n = n + 4 WHERE k = 1`), 'counter');
    for (const c of [origin!, target!])
      assert.equal(String((await c.execute(`SELECT n FROM ${ks}.c WHERE k = 1`)).first()?.['n']), '7');
  });

  it("pin_write_timestamps=false: writes without a timestamp still reach both clusters (write times are each coordinator's own)", async (t) => {
    const c = await RawCqlClient.connect({ host: off!.host, port: off!.port });
    try {
      let differ = 0;
      for (let k = 50; k < 60; k++) {
        expectResult(await c.query(`INSERT INTO ${ks}.t (k, v) VALUES (${k}, 'off')`));
        const w = await writetimes(k);
        assert.ok(w.o !== undefined && w.t !== undefined, `row ${k} on both`);
        if (w.o !== w.t) differ++;
      }
      t.diagnostic(`setting off: ${differ}/10 rows have a different WRITETIME on Origin and Target`);
    } finally {
      c.close();
    }
  });
});
