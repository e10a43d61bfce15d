// Reads through the proxy come from the primary cluster only (upstream-spec-notes 4.1, read_mode PRIMARY_ONLY):
// a key holding different values on Origin and on Target reads Origin's value by default and
// Target's with primary_cluster=TARGET. A 5,000-row table paged 100 rows at a time reads back complete.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { concurrent, type Client } from 'cassandra-driver';

import {
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  originSession,
  targetSession,
  uniqueKeyspaceName,
} from '../../support/clusters';
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';

const ROWS = 5_000;
const PAGE = 100;

describe('proxy: reads from the primary cluster', () => {
  const ks = uniqueKeyspaceName('proxy_reads');
  let origin: Client | undefined;
  let target: Client | undefined;
  let originPrimary: TestProxy | undefined;
  let targetPrimary: TestProxy | undefined;
  let viaOrigin: Client | undefined;
  let viaTarget: Client | undefined;

  before(async () => {
    await ensureClusters();
    await createKeyspace(ks);
    [origin, target] = await Promise.all([originSession(), targetSession()]);
    for (const c of [origin, target]) {
      await c.execute(`CREATE TABLE ${ks}.kv (k text PRIMARY KEY, v text)`);
      await c.execute(`CREATE TABLE ${ks}.big (p int, c int, v text, PRIMARY KEY (p, c))`);
    }
    // Different values for the same keys, written directly on each cluster.
    await origin.execute(`INSERT INTO ${ks}.kv (k, v) VALUES ('both', 'from-origin')`);
    await target.execute(`INSERT INTO ${ks}.kv (k, v) VALUES ('both', 'from-target')`);
    await origin.execute(`INSERT INTO ${ks}.kv (k, v) VALUES ('origin-only', 'o')`);
    await target.execute(`INSERT INTO ${ks}.kv (k, v) VALUES ('target-only', 't')`);
    // 5,000 rows in 50 partitions, on Origin only (the primary): reads must not need Target.
    const params: [number, number, string][] = [];
    for (let i = 0; i < ROWS; i++) params.push([i % 50, i, `row-${i}`]);
    await concurrent.executeConcurrent(origin, `INSERT INTO ${ks}.big (p, c, v) VALUES (?, ?, ?)`, params, {
      concurrencyLevel: 64,
    });

    [originPrimary, targetPrimary] = await Promise.all([
      startTestProxy(),
      startTestProxy({ settings: { primary_cluster: 'TARGET' } }),
    ]);
    [viaOrigin, viaTarget] = await Promise.all([proxyClient({ proxy: originPrimary }), proxyClient({ proxy: targetPrimary })]);
  });
  after(async () => {
    await viaOrigin?.shutdown().catch(() => undefined);
    await viaTarget?.shutdown().catch(() => undefined);
    await originPrimary?.stop().catch(() => undefined);
    await targetPrimary?.stop().catch(() => undefined);
    await origin?.shutdown().catch(() => undefined);
    await target?.shutdown().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
  });

  const value = async (c: Client, k: string) => {
    const rs = await c.execute(`SELECT v FROM ${ks}.kv WHERE k = '${k}'`);
    return rs.rows.map((r) => r['v'] as string);
  };

  it("primary_cluster=ORIGIN (default): a SELECT returns Origin's value", async () => {
    assert.deepEqual(await value(viaOrigin!, 'both'), ['from-origin']);
    assert.deepEqual(await value(viaOrigin!, 'origin-only'), ['o']);
    assert.deepEqual(await value(viaOrigin!, 'target-only'), [], 'a row that exists only on Target is not visible');
    const all = await viaOrigin!.execute(`SELECT k, v FROM ${ks}.kv`);
    assert.deepEqual(all.rows.map((r) => `${r['k']}=${r['v']}`).sort(), ['both=from-origin', 'origin-only=o']);
  });

  it("primary_cluster=TARGET: a SELECT returns Target's value", async () => {
    assert.deepEqual(await value(viaTarget!, 'both'), ['from-target']);
    assert.deepEqual(await value(viaTarget!, 'target-only'), ['t']);
    assert.deepEqual(await value(viaTarget!, 'origin-only'), [], 'a row that exists only on Origin is not visible');
  });

  it('a SELECT with bound values (simple statement) also reads the primary', async () => {
    const rs = await viaOrigin!.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, ['both'], { prepare: false });
    assert.deepEqual(
      rs.rows.map((r) => r['v']),
      ['from-origin'],
    );
    const rt = await viaTarget!.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, ['both'], { prepare: false });
    assert.deepEqual(
      rt.rows.map((r) => r['v']),
      ['from-target'],
    );
  });

  it(`a ${ROWS}-row table paged ${PAGE} rows at a time reads back complete (automatic paging)`, async () => {
    const seen = new Set<number>();
    let rows = 0;
    await new Promise<void>((resolve, reject) => {
      viaOrigin!.eachRow(
        `SELECT p, c, v FROM ${ks}.big`,
        [],
        { fetchSize: PAGE, autoPage: true, prepare: false },
        (_n, row) => {
          rows++;
          seen.add(row['c'] as number);
          if (row['v'] !== `row-${row['c']}`) reject(new Error(`bad row ${JSON.stringify(row)}`));
        },
        (err) => (err ? reject(err) : resolve()),
      );
    });
    assert.equal(rows, ROWS, 'row count');
    assert.equal(seen.size, ROWS, 'distinct rows');
  });

  it(`a ${ROWS}-row table paged ${PAGE} rows at a time reads back complete (explicit pageState)`, async () => {
    const seen = new Set<number>();
    let pageState: string | undefined;
    let pages = 0;
    do {
      const rs = await viaOrigin!.execute(`SELECT c FROM ${ks}.big`, [], { fetchSize: PAGE, pageState, prepare: false });
      pages++;
      assert.ok(rs.rowLength <= PAGE, `page ${pages} has ${rs.rowLength} rows (> ${PAGE})`);
      for (const r of rs.rows) seen.add(r['c'] as number);
      pageState = rs.pageState ?? undefined;
      assert.ok(pages <= ROWS / PAGE + 2, 'too many pages: paging state not honoured?');
    } while (pageState);
    assert.equal(seen.size, ROWS, 'distinct rows');
    assert.ok(pages >= ROWS / PAGE, `expected at least ${ROWS / PAGE} pages, got ${pages}`);
  });
});
