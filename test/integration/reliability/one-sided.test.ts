// Issue 12, "paths to fix", against the real clusters: a write the client saw fail is never applied twice on one
// side by the proxy, and a request either reaches both clusters or neither. Counters show it by value.
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
  TARGET,
} from '../../support/clusters';
import { FaultRelay } from '../../support/fault-relay';
import { startTestProxy, type TestProxy } from '../../support/proxy';
import { ErrorCode, RawCqlClient, errorOf, expectResult } from '../../support/raw-client';
import { waitFor } from '../../support/wait';

describe('one-sided writes (real clusters)', () => {
  const ks = uniqueKeyspaceName('one_sided');
  let origin: Client | undefined;
  let target: Client | undefined;

  before(async () => {
    await ensureClusters();
    await createKeyspace(ks);
    [origin, target] = await Promise.all([originSession({ timeoutMs: 20_000 }), targetSession({ timeoutMs: 20_000 })]);
    for (const c of [origin, target]) await c.execute(`CREATE TABLE ${ks}.c (k int PRIMARY KEY, n counter)`);
  });
  after(async () => {
    await origin?.shutdown().catch(() => undefined);
    await target?.shutdown().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
  });

  const counter = async (c: Client, k: number): Promise<number> => {
    const rs = await c.execute(`SELECT n FROM ${ks}.c WHERE k = ?`, [k], { prepare: true });
    return rs.rows.length ? Number(rs.rows[0]!['n']) : 0;
  };

  it('Target out of stream ids: the increment gets OVERLOADED and is applied on neither side; the others once on each', async () => {
    const IDS = 4;
    // Target reached through a relay only, which the test can hold: Target's stream ids stay taken meanwhile.
    const relay = await FaultRelay.start({ target: { host: TARGET.host, port: TARGET.port } });
    let proxy: TestProxy | undefined;
    let c: RawCqlClient | undefined;
    try {
      proxy = await startTestProxy({
        settings: {
          target_contact_points: relay.host,
          target_port: relay.port,
          target_enable_host_assignment: false,
          proxy_max_stream_ids: IDS,
          proxy_request_timeout_ms: 30_000,
        },
      });
      c = await RawCqlClient.connect({ host: proxy.host, port: proxy.port });
      const inc = `UPDATE ${ks}.c SET n = n + 1 WHERE k = 1`;
      expectResult(await c.query(inc), 'first increment');
      relay.pause();
      const held = Array.from({ length: IDS }, () => c!.query(inc, undefined, { timeoutMs: 30_000 }));
      // every held increment has reached Origin (it answers at once): Origin's count shows it
      await waitFor('the held increments applied on Origin', async () => (await counter(origin!, 1)) === 1 + IDS);
      const refused = await c.query(inc);
      assert.equal(errorOf(refused)?.code, ErrorCode.OVERLOADED, 'no stream id left towards Target');
      relay.resume();
      for (const r of await Promise.all(held)) expectResult(r, 'held increment');
      // a request after the refused one on the same connections: once it is answered, the refused one would be applied
      expectResult(await c.query(`UPDATE ${ks}.c SET n = n + 0 WHERE k = 1`), 'marker');
      assert.equal(await counter(origin!, 1), 1 + IDS, 'Origin: the refused increment was not applied');
      assert.equal(await counter(target!, 1), 1 + IDS, 'Target: the refused increment was not applied');
    } finally {
      c?.close();
      await proxy?.stop().catch(() => undefined);
      await relay.stop();
    }
  });

  it('USE of a keyspace that exists on Origin only: the error, both sides stay on the previous keyspace', async () => {
    const only = uniqueKeyspaceName('origin_only');
    await createKeyspace(only, ['origin']);
    let proxy: TestProxy | undefined;
    let c: RawCqlClient | undefined;
    try {
      await origin!.execute(`CREATE TABLE ${only}.kv (k int PRIMARY KEY, v text)`);
      for (const x of [origin!, target!]) await x.execute(`CREATE TABLE IF NOT EXISTS ${ks}.kv (k int PRIMARY KEY, v text)`);
      proxy = await startTestProxy({ logLevel: 'info' });
      c = await RawCqlClient.connect({ host: proxy.host, port: proxy.port });
      expectResult(await c.query(`USE ${ks}`), 'USE of a keyspace on both');
      const e = errorOf(await c.query(`USE ${only}`));
      assert.equal(e?.code, ErrorCode.INVALID, `USE of a keyspace Target lacks: ${JSON.stringify(e)}`);
      // an unqualified write after the failed USE: in the previous keyspace on BOTH clusters
      expectResult(await c.query(`INSERT INTO kv (k, v) VALUES (1, 'after-failed-use')`), 'unqualified INSERT');
      for (const [name, x] of [
        ['Origin', origin!],
        ['Target', target!],
      ] as const) {
        const rs = await x.execute(`SELECT v FROM ${ks}.kv WHERE k = 1`);
        assert.deepEqual(
          rs.rows.map((r) => r['v']),
          ['after-failed-use'],
          `${name}: the write is in ${ks}`,
        );
      }
      const stray = await origin!.execute(`SELECT v FROM ${only}.kv WHERE k = 1`);
      assert.equal(stray.rows.length, 0, `Origin: nothing written to ${only}`);
      assert.ok(
        proxy.logs.some((l) => /USE succeeded on ORIGIN only: ORIGIN put back on keyspace/.test(l)),
        'logged',
      );
    } finally {
      c?.close();
      await proxy?.stop().catch(() => undefined);
      await dropKeyspace(only, ['origin']).catch(() => undefined);
    }
  });
});
