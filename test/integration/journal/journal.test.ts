// The one-sided write journal against the real clusters: Target paused while writes flow through the proxy
// (Node driver); every write the client saw fail (Origin applied it) is in the journal; after the resume,
// `zdm-proxy journal replay --to target` makes both clusters identical for those rows (read directly), a second
// replay changes nothing, a row updated on both after the failure keeps its newer value, counters and list
// appends are listed and skipped; a proxy killed (SIGKILL) while appending loses no committed record and leaves
// a readable journal. Pauses Target: run on a private pair in development (ZDM_TEST_ORIGIN_HOST/TARGET_HOST);
// Target is always resumed before the test ends.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'cassandra-driver';

import {
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  originSession,
  pauseNode,
  resumeNode,
  targetSession,
  uniqueKeyspaceName,
} from '../../support/clusters';
import { proxyClient, runCli, startTestProxy, type TestProxy } from '../../support/proxy';
import { waitFor } from '../../support/wait';
import { httpGet, scrape } from '../observability/http-helpers';

const PROXY_TIMEOUT_MS = 1500;

describe('one-sided write journal (real clusters, Target paused)', () => {
  const ks = uniqueKeyspaceName('journal');
  const dirs: string[] = [];
  let origin: Client | undefined;
  let target: Client | undefined;
  let proxy: TestProxy | undefined;
  let client: Client | undefined;
  let journalDir = '';

  before(async () => {
    await ensureClusters();
    await createKeyspace(ks);
    [origin, target] = await Promise.all([originSession({ timeoutMs: 20_000 }), targetSession({ timeoutMs: 20_000 })]);
    for (const c of [origin, target]) {
      await c.execute(`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`);
      await c.execute(`CREATE TABLE ${ks}.c (k int PRIMARY KEY, n counter)`);
      await c.execute(`CREATE TABLE ${ks}.l (k int PRIMARY KEY, items list<text>)`);
    }
    journalDir = mkdtempSync(join(tmpdir(), 'zdm-journal-'));
    dirs.push(journalDir);
    proxy = await startTestProxy({ settings: { journal_dir: journalDir, proxy_request_timeout_ms: PROXY_TIMEOUT_MS } });
    client = await proxyClient({ proxy, timeoutMs: 5000, extra: { isMetadataSyncEnabled: false } });
  });
  after(async () => {
    await resumeNode('target').catch(() => undefined);
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await origin?.shutdown().catch(() => undefined);
    await target?.shutdown().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const rows = async (c: Client, from: number, to: number): Promise<Map<number, { v: string; wt: string }>> => {
    const rs = await c.execute(`SELECT k, v, WRITETIME(v) AS wt FROM ${ks}.kv`);
    const m = new Map<number, { v: string; wt: string }>();
    for (const r of rs.rows) {
      const k = r['k'] as number;
      if (k >= from && k <= to) m.set(k, { v: r['v'] as string, wt: String(r['wt']) });
    }
    return m;
  };

  it('paused Target: failed writes are journaled; replay makes both identical, twice changes nothing, newer values win', async (t) => {
    const p = proxy!;
    const c = client!;
    const ins = `INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`;
    await c.execute(ins, [1, 'before'], { prepare: true }); // prepared on both before the pause
    await c.execute(`UPDATE ${ks}.c SET n = n + 1 WHERE k = 1`);
    const base = await scrape(p);
    assert.equal(base.value('zdm_journal_records_total'), 0, 'nothing journaled while both clusters answer');

    const writes: Array<() => Promise<unknown>> = [];
    for (let k = 100; k < 110; k++)
      writes.push(() => c.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (${k}, 'simple-${k}')`, [], { readTimeout: 5000 }));
    for (let k = 110; k < 120; k++) writes.push(() => c.execute(ins, [k, `prepared-${k}`], { prepare: true, readTimeout: 5000 }));
    writes.push(() =>
      c.batch(
        [
          { query: ins, params: [120, 'batch-120'] },
          { query: ins, params: [121, 'batch-121'] },
        ],
        { prepare: true, readTimeout: 5000 },
      ),
    );
    writes.push(() => c.execute(`UPDATE ${ks}.c SET n = n + 1 WHERE k = 1`, [], { readTimeout: 5000 }));
    writes.push(() => c.execute(`UPDATE ${ks}.l SET items = items + ['x'] WHERE k = 1`, [], { readTimeout: 5000 }));

    let results: PromiseSettledResult<unknown>[];
    await pauseNode('target');
    try {
      results = await Promise.allSettled(writes.map((w) => w()));
      await waitFor(
        `${writes.length} records journaled`,
        async () => (await scrape(p)).value('zdm_journal_records_total', { failed_on: 'target' }) >= writes.length,
        { timeoutMs: 10_000 },
      );
    } finally {
      await resumeNode('target');
    }
    const failed = results.filter((r) => r.status === 'rejected').length;
    assert.equal(
      failed,
      writes.length,
      `every write sent while Target was paused failed for the client (${failed} of ${writes.length})`,
    );

    // Origin applied them all: every failed write is in the journal, with failed_on TARGET
    const onOrigin = await rows(origin!, 100, 121);
    assert.equal(onOrigin.size, 22, 'Origin applied the 22 rows');
    const list = await runCli(['journal', 'list'], p.env);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.split('\n').filter((l) => l.startsWith('@'));
    assert.equal(lines.length, writes.length, list.stdout);
    assert.ok(
      lines.every((l) => l.includes('failed_on=TARGET') && l.includes('PENDING')),
      list.stdout,
    );
    for (let k = 100; k < 110; k++)
      assert.ok(
        lines.some((l) => l.includes(`VALUES (${k}, 'simple-${k}')`)),
        `simple insert ${k} journaled`,
      );
    assert.equal(
      lines.filter((l) => l.includes(`"INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)"`)).length,
      10,
      'the 10 prepared inserts journaled with their query text',
    );
    assert.equal(lines.filter((l) => l.includes('NON-IDEMPOTENT')).length, 2, 'counter and list append flagged');
    assert.ok(
      lines.every((l) => /error="no reply within 1500 ms/.test(l)),
      'timeouts recorded as the error',
    );
    const readiness = JSON.parse((await httpGet(p, '/health/readiness')).body) as Record<string, Record<string, unknown>>;
    assert.equal(readiness['Journal']!['Status'], 'OK');
    assert.equal(readiness['Journal']!['Records'], writes.length);

    // A paused (SIGSTOPped) node still holds the requests in its socket buffer and may apply them once resumed:
    // to make Target really miss the journaled writes, its table is truncated here (as if it had lost them).
    const appliedLate = (await rows(target!, 100, 121)).size;
    await target!.execute(`TRUNCATE ${ks}.kv`);
    // After the failure, row 100 is updated on both: its newer value must survive the replay.
    await c.execute(`UPDATE ${ks}.kv SET v = 'newer' WHERE k = 100`);
    const counterBefore = (await target!.execute(`SELECT n FROM ${ks}.c WHERE k = 1`)).rows[0]?.['n'];
    const targetBefore = await rows(target!, 100, 121);
    const notOnTarget = [...onOrigin.keys()].filter((k) => k !== 100 && targetBefore.get(k) === undefined).length;
    assert.equal(notOnTarget, 21, 'before the replay Target misses the 21 rows (all but the one updated since)');

    const dry = await runCli(['journal', 'replay', '--to', 'target', '--dry-run'], p.env);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, /dry run: nothing sent.*21 would be applied/s);

    const r1 = await runCli(['journal', 'replay', '--to', 'target'], p.env);
    assert.equal(r1.code, 0, r1.stdout + r1.stderr);
    assert.match(
      r1.stdout,
      /23 record\(s\) missed by TARGET: 21 applied, 0 already done, 2 skipped \(not idempotent\), 0 failed/,
      r1.stdout,
    );
    assert.match(r1.stdout, /SKIPPED: .*UPDATE .*\.c SET n = n \+ 1/);
    assert.match(r1.stdout, /SKIPPED: .*items = items \+ \['x'\]/);

    const o1 = await rows(origin!, 100, 121);
    const t1 = await rows(target!, 100, 121);
    assert.deepEqual(
      t1,
      o1,
      `Target equals Origin for the journaled rows, values and write times (${notOnTarget} rows differed before the replay)`,
    );
    assert.equal(t1.get(100)!.v, 'newer', 'the row updated after the failure keeps its newer value');
    assert.equal(
      (await target!.execute(`SELECT n FROM ${ks}.c WHERE k = 1`)).rows[0]?.['n']?.toString(),
      counterBefore?.toString(),
      'the counter was not replayed',
    );

    t.diagnostic(
      `${writes.length} writes failed while Target was paused, ${writes.length} journaled; ${appliedLate} of 22 rows applied late by the resumed Target (then truncated); ${notOnTarget} rows missing on Target before the replay, 0 after`,
    );
    const r2 = await runCli(['journal', 'replay', '--to', 'target'], p.env);
    assert.equal(r2.code, 0, r2.stdout + r2.stderr);
    assert.match(r2.stdout, /0 applied, 21 already done, 2 skipped/);
    assert.deepEqual(await rows(target!, 100, 121), t1, 'a second replay changes nothing');

    const stats = await runCli(['journal', 'stats'], p.env);
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, /failed_on=TARGET: 23 record\(s\), 21 replayed, 2 pending \(2 not idempotent\)/);
    assert.match(stats.stdout, /tail: clean/);
    const s = await scrape(p);
    assert.equal(s.value('zdm_journal_replayed_total', { result: 'applied' }), 21);
    assert.equal(s.value('zdm_journal_replayed_total', { result: 'skipped' }), 4, 'skipped twice each');
    assert.ok(s.value('zdm_journal_bytes') > 0);
  });

  it('a proxy killed (SIGKILL) while appending loses no committed record and leaves a readable journal', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'zdm-journal-kill-'));
    dirs.push(dir);
    const cli = await startTestProxy({ mode: 'cli', settings: { journal_dir: dir, proxy_request_timeout_ms: 1000 } });
    const c = await proxyClient({ proxy: cli, timeoutMs: 5000, extra: { isMetadataSyncEnabled: false } });
    let committed = 0;
    let running = true;
    let sent = 0;
    const loops: Promise<void>[] = [];
    try {
      // both clusters answering again (Target may still be busy after the first test's resume and truncation)
      await waitFor(
        'a write through the new proxy',
        () => c.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (1000, 'warm')`).then(() => true),
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      await pauseNode('target');
      try {
        for (let w = 0; w < 16; w++) {
          loops.push(
            (async () => {
              while (running && sent < 2000) {
                const k = 2000 + sent++;
                await c
                  .execute(`INSERT INTO ${ks}.kv (k, v) VALUES (${k}, 'kill-${k}')`, [], { readTimeout: 5000 })
                  .catch(() => undefined);
                await new Promise((r) => setImmediate(r)); // a driver that fails at once must not starve the event loop
              }
            })(),
          );
        }
        committed = await waitFor(
          '20 records committed',
          async () => {
            const v = (await scrape(cli)).value('zdm_journal_records_total', { failed_on: 'target' });
            return v >= 20 ? v : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 100 },
        );
        cli.child!.kill('SIGKILL'); // writes still flowing: appends in progress
        await new Promise((r) => cli.child!.once('exit', r));
      } finally {
        running = false;
        await resumeNode('target');
      }
      await Promise.all(loops);
    } finally {
      await c.shutdown().catch(() => undefined);
      await cli.stop().catch(() => undefined);
    }
    const env = { ...cli.env };
    const stats = await runCli(['journal', 'stats'], env);
    assert.equal(stats.code, 0, stats.stderr);
    const n = Number(/(\d+) record\(s\)\n/.exec(stats.stdout)?.[1]);
    assert.ok(n >= committed, `the journal holds ${n} records, at least the ${committed} committed before the kill`);
    t.diagnostic(`${committed} records committed (metric) before SIGKILL; ${n} readable records after; ${sent} writes sent`);
    const list = await runCli(['journal', 'list'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout.split('\n').filter((l) => l.startsWith('@')).length, n, 'every record is readable');

    // a new proxy on the same journal cuts a torn tail, and appends after the last complete record
    const again = await startTestProxy({ settings: { journal_dir: dir } });
    try {
      const after = await runCli(['journal', 'stats'], env);
      assert.match(after.stdout, /tail: clean/, after.stdout);
      assert.equal(Number(/(\d+) record\(s\)\n/.exec(after.stdout)?.[1]), n);
    } finally {
      await again.stop();
    }
  });
});
