// Asynchronous dual reads (read_mode=DUAL_ASYNC_ON_SECONDARY, upstream-spec-notes 5.4; upstream asyncreads_test.go)
// against the real clusters: reads are answered by Origin (primary) and ALSO sent, fire and forget,
// to Target on the async connection; what happens there never reaches the client but shows in the
// zdm_async_* metrics. Writes are never sent on the async connection.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';

import {
  bothClusters,
  type BothClusters,
  nodePid,
  pauseNode,
  resumeNode,
  uniqueKeyspaceName,
  TARGET,
} from '../../support/clusters';
import { FaultRelay } from '../../support/fault-relay';
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';
import { httpGet, scrape, waitFor } from '../observability/http-helpers';

const TARGET_NODE = `${TARGET.host}:${TARGET.port}`;
const ASYNC_FAILED = 'zdm_async_requests_failed_total';
const ASYNC_DURATION = 'zdm_async_request_duration_seconds_count';
/** Proxy timeout: short, so that async requests stuck on a paused Target time out quickly. */
const PROXY_TIMEOUT_MS = 1500;

describe('dual reads: read_mode=DUAL_ASYNC_ON_SECONDARY (real clusters)', () => {
  const ks = uniqueKeyspaceName('dual_reads');
  let origin: Client | undefined;
  let target: Client | undefined;
  let both: BothClusters | undefined;
  let proxy: TestProxy | undefined;
  let client: Client | undefined;

  before(async () => {
    both = await bothClusters(ks, [
      `CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`,
      `CREATE TABLE ${ks}.c (k int PRIMARY KEY, n counter)`,
    ]);
    ({ origin, target } = both);
    await origin.execute(`CREATE TABLE ${ks}.origin_only (k int PRIMARY KEY, v text)`);
    for (let k = 0; k < 3; k++) await origin.execute(`INSERT INTO ${ks}.origin_only (k, v) VALUES (${k}, 'origin-${k}')`);
    // Same key, different values per cluster: shows which cluster answered.
    await origin.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (1, 'from-origin')`);
    await target.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (1, 'from-target')`);
    proxy = await startTestProxy({
      settings: { read_mode: 'DUAL_ASYNC_ON_SECONDARY', proxy_request_timeout_ms: PROXY_TIMEOUT_MS },
    });
    client = await proxyClient({ proxy, timeoutMs: 5000, extra: { isMetadataSyncEnabled: false } });
  });
  after(async () => {
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await both?.close();
  });

  it("reads return Origin's rows (the primary), never Target's", async () => {
    const simple = await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = 1`, [], { prepare: false });
    assert.deepEqual(
      simple.rows.map((r) => r['v']),
      ['from-origin'],
      'simple statement',
    );
    const prepared = await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [1], { prepare: true });
    assert.deepEqual(
      prepared.rows.map((r) => r['v']),
      ['from-origin'],
      'prepared statement',
    );
  });

  /**
   * Bytes the proxy sent to Target (through a relay) for `reads` simple SELECTs, then for `reads` simple INSERTs,
   * each carrying a 2000-character comment.
   */
  async function bytesToTargetForReads(
    readMode: string,
    reads: number,
  ): Promise<{ sent: number; sentWrites: number; padLength: number }> {
    // A proxy whose Target is reached through a relay only (no host assignment: every connection uses the relay).
    const relay = await FaultRelay.start({ target: { host: TARGET.host, port: TARGET.port } });
    let rp: TestProxy | undefined;
    let rc: Client | undefined;
    try {
      const p = await startTestProxy({
        settings: {
          read_mode: readMode,
          target_contact_points: relay.host,
          target_port: relay.port,
          target_enable_host_assignment: false,
        },
      });
      rp = p;
      const c: Client = await proxyClient({ proxy: p, extra: { isMetadataSyncEnabled: false } });
      rc = c;
      const pad = 'x'.repeat(2000);
      const cql = `SELECT v FROM ${ks}.kv WHERE k = 1 /* ${pad} */`;
      const dual = readMode === 'DUAL_ASYNC_ON_SECONDARY';
      /** async copies of reads that Target answered (0 without dual reads: no zdm_async_* family) */
      const asyncReads = async (): Promise<number> => (await scrape(p)).value(ASYNC_DURATION, { type: 'reads' });
      // Fences, each ordered after everything the proxy sent Target before it:
      // - a small write (under the pad's length) goes to Target on the synchronous connection, and its reply comes
      //   after Target read everything sent before it on that connection;
      // - with dual reads, a small read's async copy (recorded once Target answered it) does the same on the async
      //   connection.
      let fenceKey = 2000;
      const fence = async (): Promise<void> => {
        const n = dual ? await asyncReads() : 0;
        await c.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (${fenceKey++}, 'f')`, [], { prepare: false });
        if (dual) {
          await c.execute(`SELECT v FROM ${ks}.kv WHERE k = 0`, [], { prepare: false });
          await waitFor('the async copy of the fence read', async () => (await asyncReads()) > n, { timeoutMs: 10_000 });
        }
      };
      // Warm-up: the async connection's handshake runs after the client's; until it is ready, reads are not copied.
      if (dual) {
        await waitFor(
          'a read copied to Target on the async connection',
          async () => {
            await c.execute(cql, [], { prepare: false });
            return (await asyncReads()) >= 1;
          },
          { timeoutMs: 10_000, intervalMs: 100 },
        );
      } else await c.execute(cql, [], { prepare: false });
      await fence();
      const before = relay.bytesToServer;
      for (let i = 0; i < reads; i++) {
        const rs = await c.execute(cql, [], { prepare: false });
        assert.deepEqual(
          rs.rows.map((r) => r['v']),
          ['from-origin'],
        );
      }
      await fence();
      const sent = relay.bytesToServer - before;
      const beforeWrites = relay.bytesToServer;
      for (let i = 0; i < reads; i++)
        await c.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (${1000 + i}, 'w') /* ${pad} */`, [], { prepare: false });
      await fence();
      return { sent, sentWrites: relay.bytesToServer - beforeWrites, padLength: pad.length };
    } finally {
      await rc?.shutdown().catch(() => undefined);
      await rp?.stop().catch(() => undefined);
      await relay.stop();
    }
  }

  it('SELECTs are also sent to Target, INSERTs only once (bytes through a relay in front of Target; PRIMARY_ONLY as the control)', async () => {
    const READS = 10;
    const [dual, primaryOnly] = await Promise.all([
      bytesToTargetForReads('DUAL_ASYNC_ON_SECONDARY', READS),
      bytesToTargetForReads('PRIMARY_ONLY', READS),
    ]);
    assert.ok(
      primaryOnly.sent < primaryOnly.padLength,
      `control: with PRIMARY_ONLY ${primaryOnly.sent} bytes went to Target for ${READS} reads (expected none of the reads)`,
    );
    assert.ok(
      dual.sent >= READS * dual.padLength,
      `only ${dual.sent} bytes went to Target for ${READS} reads of > ${dual.padLength} characters: reads are not sent on the async connection`,
    );
    // Writes go to Target once (the synchronous connection), never a second time on the async one.
    for (const [mode, r] of [
      ['DUAL_ASYNC_ON_SECONDARY', dual],
      ['PRIMARY_ONLY', primaryOnly],
    ] as const) {
      assert.ok(
        r.sentWrites >= READS * r.padLength && r.sentWrites < 2 * READS * r.padLength,
        `${mode}: ${r.sentWrites} bytes went to Target for ${READS} writes of > ${r.padLength} characters (expected each write once)`,
      );
    }
  });

  it("a table on Origin only: the client gets Origin's rows (Target's error on the async side is not visible)", async () => {
    for (let i = 0; i < 3; i++) {
      const rs = await client!.execute(`SELECT k, v FROM ${ks}.origin_only`, [], { prepare: false });
      assert.deepEqual(rs.rows.map((r) => r['v'] as string).sort(), ['origin-0', 'origin-1', 'origin-2'], `read ${i}`);
    }
  });

  it('metrics: async read latency per read, one async failure per read of a table on Origin only, not client-visible', async () => {
    const READS = 5;
    const b = await scrape(proxy!);
    await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = 1`, [], { prepare: false });
    await waitFor(
      'async read duration count +1',
      async () =>
        (await scrape(proxy!)).value(ASYNC_DURATION, { type: 'reads' }) >= b.value(ASYNC_DURATION, { type: 'reads' }) + 1,
      { timeoutMs: 5000 },
    );
    const mid = await scrape(proxy!);
    assert.ok(
      mid.value('zdm_async_connections_total', { node: TARGET_NODE }) >= 1,
      'an async connection to the Target node is open',
    );
    assert.equal(mid.value(ASYNC_FAILED) - b.value(ASYNC_FAILED), 0, 'a read that Target can answer is no async failure');
    for (let i = 0; i < READS; i++) {
      const rs = await client!.execute(`SELECT k, v FROM ${ks}.origin_only`, [], { prepare: false });
      assert.equal(rs.rowLength, 3, `read ${i}: Origin's rows`);
    }
    // A fence read that Target can answer, after them: once the async copies of all READS + 1 reads are recorded
    // (each async reply is), no async failure can still be on its way.
    await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = 1`, [], { prepare: false });
    await waitFor(
      `async replies +${READS + 1}`,
      async () =>
        (await scrape(proxy!)).value(ASYNC_DURATION, { type: 'reads' }) - mid.value(ASYNC_DURATION, { type: 'reads' }) >=
        READS + 1,
      { timeoutMs: 5000 },
    ).catch(() => undefined); // the exact comparisons below report it
    const s = await scrape(proxy!);
    assert.equal(
      s.value(ASYNC_FAILED) - mid.value(ASYNC_FAILED),
      READS,
      'one async failure (Target: unconfigured table) per read',
    );
    assert.equal(
      s.value(ASYNC_FAILED, { node: TARGET_NODE, error: 'other' }) -
        mid.value(ASYNC_FAILED, { node: TARGET_NODE, error: 'other' }),
      READS,
      'counted as error="other" on the Target node',
    );
    assert.equal(
      s.value('zdm_proxy_failed_reads_total') - b.value('zdm_proxy_failed_reads_total'),
      0,
      'async failures are not client-visible read failures',
    );
  });

  it('writes are never sent on the async connection: a counter increment through the proxy lands once on Target', async () => {
    const asyncWritesBefore = (await scrape(proxy!)).value(ASYNC_DURATION, { type: 'writes' });
    await client!.execute(`UPDATE ${ks}.c SET n = n + 1 WHERE k = 1`, [], { prepare: false });
    await client!.execute(`UPDATE ${ks}.c SET n = n + 1 WHERE k = 2`, [], { prepare: true });
    await client!.execute(`UPDATE ${ks}.c SET n = n + 1 WHERE k = 2`, [], { prepare: true });
    await client!.batch([{ query: `UPDATE ${ks}.c SET n = n + 1 WHERE k = 3` }], { prepare: false, counter: true });
    // Proof that an (erroneous) async copy of the writes would have reached Target by now: a read sent after them
    // has made its async round trip to Target on the same (in-order) async connection.
    const asyncReadsBefore = (await scrape(proxy!)).value(ASYNC_DURATION, { type: 'reads' });
    await client!.execute(`SELECT n FROM ${ks}.c WHERE k = 1`, [], { prepare: false });
    await waitFor(
      'the async copy of a read sent after the writes',
      async () => (await scrape(proxy!)).value(ASYNC_DURATION, { type: 'reads' }) > asyncReadsBefore,
      { timeoutMs: 5000 },
    );
    const read = async (c: Client): Promise<Record<number, number>> => {
      const rs = await c.execute(`SELECT k, n FROM ${ks}.c`);
      return Object.fromEntries(rs.rows.map((r) => [r['k'] as number, Number(r['n'])]));
    };
    assert.deepEqual(await read(target!), { 1: 1, 2: 2, 3: 1 }, 'Target: each increment applied exactly once');
    assert.deepEqual(await read(origin!), { 1: 1, 2: 2, 3: 1 }, 'Origin: each increment applied exactly once');
    assert.equal(
      (await scrape(proxy!)).value(ASYNC_DURATION, { type: 'writes' }) - asyncWritesBefore,
      0,
      'no async write was recorded',
    );
  });

  it("with Target paused, reads keep being answered from Origin within the driver's read timeout; async timeouts show in the metrics", async () => {
    const READS = 20;
    // Warm up the prepared statement before the pause (PREPARE goes to both clusters).
    await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [1], { prepare: true });
    const metricsUp = await httpGet(proxy!, '/metrics').then(
      (r) => r.status === 200,
      () => false,
    );
    const timeoutsBefore = metricsUp ? (await scrape(proxy!)).value(ASYNC_FAILED, { error: 'client_timeout' }) : 0;
    let timeoutsAfter: number | undefined;
    const pid = await nodePid('target');
    let pidAfter: number | undefined;
    await pauseNode('target');
    try {
      const results = await Promise.allSettled(
        Array.from({ length: READS }, () =>
          client!
            .execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, [1], { prepare: true, readTimeout: 2000 })
            .then((rs) => rs.rows[0]?.['v']),
        ),
      );
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`#${i}: ${(r.reason as Error).message}`] : []));
      assert.deepEqual(failed, [], "every read succeeds within the driver's 2 s read timeout while Target is paused");
      assert.deepEqual(
        new Set(results.map((r) => (r.status === 'fulfilled' ? r.value : undefined))),
        new Set(['from-origin']),
        "every read returns Origin's row",
      );
      if (metricsUp) {
        // The async copies get no answer: they time out after proxy_request_timeout_ms.
        timeoutsAfter = await waitFor(
          'async client_timeout failures',
          async () => {
            const v = (await scrape(proxy!)).value(ASYNC_FAILED, { error: 'client_timeout' });
            return v > timeoutsBefore ? v : undefined;
          },
          { timeoutMs: PROXY_TIMEOUT_MS + 8000, intervalMs: 250 },
        ).catch(() => undefined);
      }
    } finally {
      pidAfter = await nodePid('target').catch(() => undefined);
      await resumeNode('target');
    }
    // After the resume the client connection keeps working.
    const rs = await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = 1`, [], { prepare: false });
    assert.deepEqual(
      rs.rows.map((r) => r['v']),
      ['from-origin'],
    );
    assert.ok(metricsUp, '/metrics is not reachable: the async timeout counter could not be checked');
    assert.ok(
      timeoutsAfter !== undefined && timeoutsAfter > timeoutsBefore,
      `zdm_async_requests_failed_total{error="client_timeout"} did not rise while Target was paused (before ${timeoutsBefore})` +
        (pidAfter !== pid ? ` (the Target node was restarted meanwhile by someone else: pid ${pid} -> ${pidAfter})` : ''),
    );
    const s = await scrape(proxy!);
    assert.equal(s.value('zdm_proxy_failed_reads_total'), 0, 'no client-visible read failure');
  });

  it('with Target paused and a small async queue, async reads are dropped and counted; the client is still served from Origin', async () => {
    const QUEUE = 4;
    const READS = 20;
    const small = await startTestProxy({
      settings: {
        read_mode: 'DUAL_ASYNC_ON_SECONDARY',
        proxy_request_timeout_ms: 10_000, // async copies stuck on the paused Target keep their queue slots
        async_connector_write_queue_size_frames: QUEUE,
      },
    });
    const c = await proxyClient({ proxy: small, timeoutMs: 5000, extra: { isMetadataSyncEnabled: false } });
    try {
      // The async connection's handshake runs after the client's: read until an async read is recorded.
      await waitFor(
        'an async read to complete',
        async () => {
          await c.execute(`SELECT v FROM ${ks}.kv WHERE k = 1`, [], { prepare: false });
          const v = (await scrape(small)).value(ASYNC_DURATION, { node: TARGET_NODE, type: 'reads' });
          return v >= 1 ? v : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      const before = (await scrape(small)).value('zdm_async_requests_dropped_total', { node: TARGET_NODE });
      await pauseNode('target');
      let values: unknown[];
      try {
        values = await Promise.all(
          Array.from({ length: READS }, (_, i) =>
            c
              .execute(`SELECT v FROM ${ks}.kv WHERE k = 1 /* ${i} */`, [], { prepare: false, readTimeout: 2000 })
              .then((rs) => rs.rows[0]?.['v']),
          ),
        );
      } finally {
        await resumeNode('target');
      }
      assert.deepEqual(new Set(values), new Set(['from-origin']), 'every read answered by Origin while Target is paused');
      const after = await scrape(small);
      const dropped = after.value('zdm_async_requests_dropped_total', { node: TARGET_NODE }) - before;
      assert.ok(dropped >= READS - QUEUE - 1, `async reads dropped while the ${QUEUE}-slot async queue was full: ${dropped}`);
    } finally {
      await c.shutdown().catch(() => undefined);
      await small.stop().catch(() => undefined);
    }
  });
});
