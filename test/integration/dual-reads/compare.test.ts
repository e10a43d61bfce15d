// Live read comparison (dual_read_compare_enabled, issue 13) against the real clusters: dual reads whose Target
// rows differ (written to Target directly) are confirmed for that table with the right key (metric, GET
// /api/v1/mismatches, one log line); identical tables report only matches; a write through the proxy racing a
// read (the async read held back by a relay until the write has landed) is transient, not confirmed; a column
// widened on Target (int -> bigint) is compared by value; the client's results are the same with comparison on
// and off.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';

import { bothClusters, type BothClusters, uniqueKeyspaceName, TARGET } from '../../support/clusters';
import { FaultRelay } from '../../support/fault-relay';
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';
import { bind, Consistency, Opcode, RawCqlClient, ResultKind, rowsOf } from '../../support/raw-client';
import { waitFor } from '../../support/wait';
import { httpGet, scrape } from '../observability/http-helpers';

const CMP = 'zdm_dual_read_comparisons_total';
const COMPARE_SETTINGS = {
  read_mode: 'DUAL_ASYNC_ON_SECONDARY',
  dual_read_compare_enabled: true,
  // a tiny confirmation delay: the re-read is the subject, not the wait
  dual_read_compare_confirm_delay_ms: 100,
  proxy_request_timeout_ms: 5000,
};

interface MismatchJson {
  enabled: boolean;
  tables: {
    keyspace: string;
    table: string;
    mismatches: { key: string[]; keyColumns: string[]; columns: string[]; values?: unknown }[];
  }[];
}

async function mismatches(proxy: TestProxy): Promise<MismatchJson> {
  const r = await httpGet(proxy, '/api/v1/mismatches');
  assert.equal(r.status, 200);
  assert.match(r.contentType ?? '', /application\/json/);
  return JSON.parse(r.body) as MismatchJson;
}

async function results(proxy: TestProxy, ks: string, table: string): Promise<Record<string, number>> {
  const s = await scrape(proxy);
  const out: Record<string, number> = {};
  for (const result of ['match', 'transient', 'confirmed', 'skipped', 'error'])
    out[result] = s.value(CMP, { keyspace: ks, table, result });
  return out;
}

describe('live read comparison (real clusters)', () => {
  const ks = uniqueKeyspaceName('compare');
  let both: BothClusters | undefined;
  let proxy: TestProxy | undefined;
  let client: Client | undefined;

  before(async () => {
    both = await bothClusters(ks, [
      `CREATE TABLE ${ks}.same (k int, c int, v text, PRIMARY KEY (k, c))`,
      `CREATE TABLE ${ks}.diff (k int, c text, v text, n int, PRIMARY KEY (k, c))`,
      `CREATE TABLE ${ks}.race (k int PRIMARY KEY, v text)`,
    ]);
    const { origin, target } = both;
    for (const c of [origin, target]) {
      for (let k = 0; k < 4; k++)
        for (let c2 = 0; c2 < 3; c2++)
          await c.execute(`INSERT INTO ${ks}.same (k, c, v) VALUES (?, ?, ?) USING TIMESTAMP 1000`, [k, c2, `v${k}.${c2}`], {
            prepare: true,
          });
      for (let k = 0; k < 3; k++)
        await c.execute(`INSERT INTO ${ks}.diff (k, c, v, n) VALUES (?, 'a', 'same', 1) USING TIMESTAMP 1000`, [k], {
          prepare: true,
        });
      await c.execute(`INSERT INTO ${ks}.race (k, v) VALUES (1, 'old')`);
    }
    // Target only: one row's value, and a row Origin does not have
    await target.execute(`UPDATE ${ks}.diff USING TIMESTAMP 2000 SET v = 'target-only' WHERE k = 2 AND c = 'a'`);
    await target.execute(`INSERT INTO ${ks}.diff (k, c, v, n) VALUES (1, 'extra', 'x', 9) USING TIMESTAMP 2000`);
    proxy = await startTestProxy({ settings: COMPARE_SETTINGS });
    client = await proxyClient({ proxy, timeoutMs: 10_000, extra: { isMetadataSyncEnabled: false } });
  });
  after(async () => {
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await both?.close();
  });

  it('identical tables: only matches (simple and prepared statements, one partition and a whole-table scan)', async () => {
    const reads = [
      () => client!.execute(`SELECT * FROM ${ks}.same WHERE k = 1`, [], { prepare: false }),
      () => client!.execute(`SELECT k, c, v FROM ${ks}.same WHERE k = ?`, [2], { prepare: true }),
      () => client!.execute(`SELECT * FROM ${ks}.same`, [], { prepare: false }),
      () => client!.execute(`SELECT * FROM ${ks}.same WHERE k = 3 AND c = 1`, [], { prepare: true }),
    ];
    for (const r of reads) await r();
    const got = await waitFor(
      'four comparisons of the identical table',
      async () => {
        const r = await results(proxy!, ks, 'same');
        return r['match']! + r['skipped']! + r['error']! >= reads.length ? r : undefined;
      },
      { timeoutMs: 20_000 },
    );
    assert.deepEqual(got, { match: reads.length, transient: 0, confirmed: 0, skipped: 0, error: 0 });
    assert.ok(!(await mismatches(proxy!)).tables.some((t) => t.table === 'same'));
  });

  it('rows differing on Target only: confirmed for that table with the right key (metric, /api/v1/mismatches, one log line)', async () => {
    const before = await results(proxy!, ks, 'diff');
    const r = await client!.execute(`SELECT k, c, v, n FROM ${ks}.diff WHERE k = 2`, [], { prepare: false });
    assert.deepEqual(
      r.rows.map((x) => x['v']),
      ['same'],
      "the client gets Origin's row",
    );
    await client!.execute(`SELECT * FROM ${ks}.diff WHERE k = 1`, [], { prepare: true });
    const list = await waitFor(
      'the confirmed mismatches of the diff table',
      async () => {
        const m = await mismatches(proxy!);
        const t = m.tables.find((x) => x.keyspace === ks && x.table === 'diff');
        return t && t.mismatches.length >= 2 ? t : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const byKey = new Map(list.mismatches.map((m) => [m.key.join(','), m]));
    assert.deepEqual(byKey.get('2,a')?.columns, ['v'], 'k=2, c=a: v differs');
    assert.deepEqual(byKey.get('2,a')?.keyColumns, ['k', 'c']);
    assert.equal(byKey.get('2,a')?.values, undefined, 'no values without dual_read_compare_log_values');
    assert.ok(byKey.get('1,extra'), 'k=1, c=extra: a row on Target only');
    const after = await results(proxy!, ks, 'diff');
    assert.equal(after['confirmed']! - before['confirmed']!, 2, 'both reads confirmed');
    assert.equal(after['transient'], before['transient']);
    const logged = proxy!.logs.filter((l) => l.includes('Confirmed dual-read mismatch') && l.includes(`${ks}.diff`));
    assert.equal(logged.length, 2, 'each confirmed mismatch logged once');
    assert.match(logged.join('\n'), /k=2, c=a/);
    // the same mismatch again: counted, not logged again
    await client!.execute(`SELECT k, c, v, n FROM ${ks}.diff WHERE k = 2`, [], { prepare: false });
    await waitFor(
      'a third confirmation',
      async () => (await results(proxy!, ks, 'diff'))['confirmed']! - before['confirmed']! >= 3,
      {
        timeoutMs: 20_000,
      },
    );
    assert.equal(proxy!.logs.filter((l) => l.includes('Confirmed dual-read mismatch') && l.includes(`${ks}.diff`)).length, 2);
  });

  it('prepared reads with Skip_metadata (as the Java and Python drivers send them) are compared too', async () => {
    const raw = await RawCqlClient.connect({ host: proxy!.host, port: proxy!.port });
    try {
      const before = await results(proxy!, ks, 'same');
      const id = await raw.prepare(`SELECT k, c, v FROM ${ks}.same WHERE k = ?`);
      const reply = await raw.request({
        opcode: Opcode.EXECUTE,
        id,
        params: { consistency: Consistency.LOCAL_ONE, values: [bind.int(0)], skipMetadata: true },
      });
      const m = reply.message as { kind: number; metadata: { columns?: unknown[]; columnCount: number } };
      assert.equal(m.kind, ResultKind.ROWS);
      assert.equal(m.metadata.columns, undefined, 'the client still gets no metadata, as it asked');
      assert.equal(m.metadata.columnCount, 3);
      const after = await waitFor('the Skip_metadata read compared', async () => {
        const r = await results(proxy!, ks, 'same');
        return r['match']! + r['skipped']! > before['match']! + before['skipped']! ? r : undefined;
      });
      assert.equal(after['match']! - before['match']!, 1, 'a match, not skipped (no-metadata)');
      assert.equal(after['skipped'], before['skipped']);
    } finally {
      raw.close();
    }
  });

  it('a column widened on Target (int on Origin, bigint on Target): values compared after the types are aligned', async () => {
    const { origin, target } = both!;
    await origin.execute(`CREATE TABLE ${ks}.widened (k int PRIMARY KEY, v int)`);
    await target.execute(`CREATE TABLE ${ks}.widened (k int PRIMARY KEY, v bigint)`);
    for (const [k, o, t] of [
      [1, 7, 7],
      [2, 8, 8],
      [3, 9, 10],
    ] as const) {
      await origin.execute(`INSERT INTO ${ks}.widened (k, v) VALUES (${k}, ${o}) USING TIMESTAMP 1000`);
      await target.execute(`INSERT INTO ${ks}.widened (k, v) VALUES (${k}, ${t}) USING TIMESTAMP 1000`);
    }
    // the same values in other types: a match, not a schema skip and not a difference
    const r = await client!.execute(`SELECT k, v FROM ${ks}.widened WHERE k IN (1, 2)`, [], { prepare: false });
    assert.deepEqual(
      r.rows.map((x) => x['v']),
      [7, 8],
      "the client gets Origin's int values",
    );
    await waitFor('the widened read compared', async () => (await results(proxy!, ks, 'widened'))['match']! >= 1, {
      timeoutMs: 20_000,
    });
    // 9 on Origin, 10 on Target: confirmed, column v
    await client!.execute(`SELECT k, v FROM ${ks}.widened WHERE k = 3`, [], { prepare: false });
    const t = await waitFor(
      'the confirmed mismatch of the widened table',
      async () => (await mismatches(proxy!)).tables.find((x) => x.keyspace === ks && x.table === 'widened'),
      { timeoutMs: 20_000 },
    );
    assert.deepEqual(
      t.mismatches.map((m) => [m.key, m.columns]),
      [[['3'], ['v']]],
    );
    assert.deepEqual(await results(proxy!, ks, 'widened'), { match: 1, transient: 0, confirmed: 1, skipped: 0, error: 0 });
  });

  it("the client's results are the same with comparison on and off", async () => {
    const off = await startTestProxy({ settings: { ...COMPARE_SETTINGS, dual_read_compare_enabled: false } });
    const [a, b] = await Promise.all([
      RawCqlClient.connect({ host: proxy!.host, port: proxy!.port }),
      RawCqlClient.connect({ host: off.host, port: off.port }),
    ]);
    try {
      for (const q of [
        `SELECT * FROM ${ks}.diff`,
        `SELECT * FROM ${ks}.diff WHERE k = 2`,
        `SELECT v, n FROM ${ks}.diff WHERE k = 1`,
        `SELECT * FROM ${ks}.same`,
        `SELECT count(*) FROM ${ks}.same`,
      ]) {
        const [x, y] = await Promise.all([a.query(q), b.query(q)]);
        assert.deepEqual(rowsOf(x), rowsOf(y), q);
        assert.deepEqual(x.message, y.message, `${q}: the same RESULT message`);
      }
      assert.equal((await mismatches(off)).enabled, false, '/api/v1/mismatches says the comparison is off');
    } finally {
      a.close();
      b.close();
      await off.stop();
    }
  });

  it('a write through the proxy racing a read is transient, not confirmed', async () => {
    // Target behind a relay, every Target connection through it: [control, session, async] for one raw client
    const relay = await FaultRelay.start({ target: { host: TARGET.host, port: TARGET.port } });
    const p2 = await startTestProxy({
      settings: {
        ...COMPARE_SETTINGS,
        target_contact_points: relay.host,
        target_port: relay.port,
        target_enable_host_assignment: false,
      },
    });
    const raw = await RawCqlClient.connect({ host: p2.host, port: p2.port });
    try {
      // a first read: the async connection is open and ready once it is compared
      await raw.query(`SELECT k, v FROM ${ks}.race WHERE k = 1`);
      await waitFor('a first comparison on the race table', async () => (await results(p2, ks, 'race'))['match']! >= 1);
      assert.equal(relay.connectionCount, 3, 'control, session and async connections to Target');
      const asyncConn = relay.connections[2]!;
      asyncConn.hold();
      const read = rowsOf(await raw.query(`SELECT k, v FROM ${ks}.race WHERE k = 1`));
      assert.deepEqual(
        read.map((r) => r['v']),
        ['old'],
        'the client read Origin before the write',
      );
      await raw.query(`UPDATE ${ks}.race SET v = 'new' WHERE k = 1`);
      asyncConn.release(); // Target now answers the held read with the written row
      const r = await waitFor(
        'the racing read resolved',
        async () => {
          const x = await results(p2, ks, 'race');
          return x['transient']! + x['confirmed']! + x['error']! >= 1 ? x : undefined;
        },
        { timeoutMs: 20_000 },
      );
      assert.deepEqual(r, { match: 1, transient: 1, confirmed: 0, skipped: 0, error: 0 });
      assert.ok(!(await mismatches(p2)).tables.some((t) => t.table === 'race'), 'not in the mismatch list');
    } finally {
      raw.close();
      await p2.stop();
      await relay.stop();
    }
  });
});
