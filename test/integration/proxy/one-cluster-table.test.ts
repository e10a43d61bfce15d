// A write that fails on one cluster (upstream-spec-notes 5.1): the client gets the failing cluster's error, and
// ORIGIN's error when both fail (even with primary_cluster=TARGET). The error is compared with
// the one each cluster gives when the same statement is sent to it directly.
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
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';

interface CqlError {
  code: unknown;
  message: string;
}

async function errorOf(c: Client, cql: string): Promise<CqlError> {
  try {
    await c.execute(cql, [], { prepare: false });
  } catch (e) {
    const err = e as Error & { code?: unknown };
    return { code: err.code, message: err.message };
  }
  assert.fail(`expected an error for ${cql}`);
}

describe('proxy: a write to a table that exists on one cluster only', () => {
  const ks = uniqueKeyspaceName('proxy_onecluster');
  /** A keyspace that exists on Target only (so Origin's and Target's errors differ for a table missing on both). */
  const ksTargetOnly = uniqueKeyspaceName('proxy_tgtonly');
  let origin: Client | undefined;
  let target: Client | undefined;
  let proxy: TestProxy | undefined;
  let targetPrimaryProxy: TestProxy | undefined;
  let client: Client | undefined;
  let targetPrimaryClient: Client | undefined;

  before(async () => {
    await ensureClusters();
    await createKeyspace(ks);
    await createKeyspace(ksTargetOnly, ['target']);
    [origin, target] = await Promise.all([originSession(), targetSession()]);
    await origin.execute(`CREATE TABLE ${ks}.on_origin (k int PRIMARY KEY, v text)`);
    await target.execute(`CREATE TABLE ${ks}.on_target (k int PRIMARY KEY, v text)`);
    [proxy, targetPrimaryProxy] = await Promise.all([
      startTestProxy(),
      startTestProxy({ settings: { primary_cluster: 'TARGET' } }),
    ]);
    [client, targetPrimaryClient] = await Promise.all([proxyClient({ proxy }), proxyClient({ proxy: targetPrimaryProxy })]);
  });
  after(async () => {
    await client?.shutdown().catch(() => undefined);
    await targetPrimaryClient?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await targetPrimaryProxy?.stop().catch(() => undefined);
    await origin?.shutdown().catch(() => undefined);
    await target?.shutdown().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
    await dropKeyspace(ksTargetOnly, ['target']).catch(() => undefined);
  });

  it("table on Origin only: the client gets Target's error and the row is on Origin", async () => {
    const cql = `INSERT INTO ${ks}.on_origin (k, v) VALUES (1, 'written')`;
    const direct = await errorOf(target!, cql);
    assert.match(direct.message, /on_origin/, "sanity: Target's own error names the table");
    const viaProxy = await errorOf(client!, cql);
    assert.deepEqual(viaProxy, direct, "the client should get exactly Target's error");
    const rows = await origin!.execute(`SELECT v FROM ${ks}.on_origin WHERE k = 1`);
    assert.deepEqual(
      rows.rows.map((r) => r['v']),
      ['written'],
      'the write was applied on Origin',
    );
  });

  it("table on Target only: the client gets Origin's error and the row is on Target", async () => {
    const cql = `INSERT INTO ${ks}.on_target (k, v) VALUES (2, 'written')`;
    const direct = await errorOf(origin!, cql);
    assert.match(direct.message, /on_target/);
    const viaProxy = await errorOf(client!, cql);
    assert.deepEqual(viaProxy, direct, "the client should get exactly Origin's error");
    const rows = await target!.execute(`SELECT v FROM ${ks}.on_target WHERE k = 2`);
    assert.deepEqual(
      rows.rows.map((r) => r['v']),
      ['written'],
      'the write was applied on Target',
    );
  });

  it("table on Target only, primary_cluster=TARGET: still Origin's (the failing cluster's) error", async () => {
    const cql = `INSERT INTO ${ks}.on_target (k, v) VALUES (3, 'written')`;
    const direct = await errorOf(origin!, cql);
    assert.deepEqual(await errorOf(targetPrimaryClient!, cql), direct);
    const rows = await target!.execute(`SELECT v FROM ${ks}.on_target WHERE k = 3`);
    assert.deepEqual(
      rows.rows.map((r) => r['v']),
      ['written'],
    );
  });

  it("table missing on both: the client gets Origin's error", async () => {
    const cql = `INSERT INTO ${ks}.nowhere (k, v) VALUES (1, 'x')`;
    const o = await errorOf(origin!, cql);
    assert.match(o.message, /nowhere/);
    assert.deepEqual(await errorOf(client!, cql), o);
  });

  it("missing on both with different errors per cluster: Origin's error, also with primary_cluster=TARGET", async () => {
    // Origin lacks the keyspace, Target only the table: the two clusters answer with different texts.
    const cql = `INSERT INTO ${ksTargetOnly}.nowhere (k, v) VALUES (1, 'x')`;
    const o = await errorOf(origin!, cql);
    const t = await errorOf(target!, cql);
    assert.notEqual(o.message, t.message, 'sanity: the clusters give different errors');
    assert.deepEqual(await errorOf(client!, cql), o, "primary ORIGIN: Origin's error");
    assert.deepEqual(
      await errorOf(targetPrimaryClient!, cql),
      o,
      "primary TARGET: still Origin's error (upstream-spec-notes 5.1, quirk 9.5)",
    );
  });
});
