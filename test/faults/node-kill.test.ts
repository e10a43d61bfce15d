// A cluster node SIGKILLed under a steady mixed workload (Node driver through a proxy CLI process), then
// restarted: in-flight writes settle within the request timeout, readiness goes DOWN, the proxy stays up, the
// client sessions stay open: with Target down reads from Origin (primary) continue and writes fail fast with
// UNAVAILABLE (sent to neither cluster); with Origin down reads fail fast too. Once the node is back, the sessions
// reopen their lost connection by themselves: readiness is UP and the same driver writes to both clusters again
// (checked directly on both) without a proxy restart and without new client connections.
// Target first, then Origin, on the same proxy. Every write goes through the ledger and is checked on both
// clusters at the end. The killed node is always restarted (after() too), so later test files find it running.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { policies, type Client } from 'cassandra-driver';

import {
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  killNode,
  nodePid,
  restartNode,
  uniqueKeyspaceName,
  withSession,
} from '../support/clusters';
import type { ClusterLabel } from '../../src/cluster';
import { MixedWorkload, WriteLedger } from '../support/ledger';
import { proxyAlive, proxyClient, startTestProxy, type TestProxy } from '../support/proxy';
import { waitFor } from '../support/wait';
import { httpGet, scrape } from '../integration/observability/http-helpers';

const REQUEST_TIMEOUT_MS = 3_000;

/**
 * The proxy's UNAVAILABLE behind a driver error (the Node driver retries it once on the next host, then wraps it
 * in NoHostAvailableError; it words the message itself from the fields: "1 required but only 0 alive").
 */
function unavailableCode(e: unknown): number | undefined {
  const all = [e, ...Object.values((e as { innerErrors?: Record<string, unknown> }).innerErrors ?? {})];
  return all.map((x) => (x as { code?: number }).code).find((c) => c === 0x1000);
}

describe('faults: a node SIGKILLed under a steady mixed workload, then restarted', () => {
  let proxy: TestProxy;
  let ks: string;
  let ledger: WriteLedger;
  let driver: Client;
  let workload: MixedWorkload | undefined;
  const killed = new Set<ClusterLabel>();

  const readiness = async (): Promise<{ status: number; body: Record<string, { Status?: string } | string | null> }> => {
    const r = await httpGet(proxy, '/health/readiness');
    return { status: r.status, body: JSON.parse(r.body) as Record<string, { Status?: string } | string | null> };
  };

  before(async () => {
    await ensureClusters();
    ks = await createKeyspace(uniqueKeyspaceName('node_kill'));
    ledger = await WriteLedger.create(ks);
    proxy = await startTestProxy({
      mode: 'cli',
      settings: {
        proxy_request_timeout_ms: REQUEST_TIMEOUT_MS,
        heartbeat_interval_ms: 1_000,
        origin_connection_timeout_ms: 2_000,
        target_connection_timeout_ms: 2_000,
        heartbeat_retry_interval_max_ms: 2_000,
      },
    });
    driver = await proxyClient({
      proxy,
      timeoutMs: REQUEST_TIMEOUT_MS * 3,
      extra: {
        pooling: { coreConnectionsPerHost: { 0: 2, 1: 1, 2: 1 }, heartBeatInterval: 0 },
        policies: { reconnection: new policies.reconnection.ConstantReconnectionPolicy(250) },
      },
    });
  });
  after(async () => {
    await workload?.stop().catch(() => undefined);
    await driver?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    for (const n of killed) if (!(await nodePid(n))) await restartNode(n);
    if (ks) await dropKeyspace(ks).catch(() => undefined);
  });

  for (const name of ['target', 'origin'] as const) {
    describe(`${name} SIGKILLed`, () => {
      let tKill = 0;
      let proxyPid: number | undefined;

      it('steady workload before the kill', async () => {
        workload = new MixedWorkload(driver, ledger, { concurrency: 6 }).start();
        const t0 = performance.now();
        await waitFor(
          'the workload writes and reads',
          () => workload!.okSince('write', t0) >= 30 && workload!.okSince('read', t0) >= 10,
          { timeoutMs: 30_000 },
        );
        assert.equal((await readiness()).status, 200);
        proxyPid = proxy.child?.pid;
      });

      it('in-flight writes settle within the request timeout, readiness goes DOWN, the proxy stays up', async () => {
        const inFlight = [...workload!.pending];
        assert.ok(inFlight.length > 0, 'requests were in flight at the kill');
        killed.add(name);
        tKill = performance.now();
        ledger.noteCrash(name);
        await killNode(name);
        await waitFor('every request in flight at the kill settles', () => inFlight.every((p) => !workload!.pending.has(p)), {
          timeoutMs: REQUEST_TIMEOUT_MS * 2,
        });
        const settledMs = performance.now() - tKill;
        console.log(`# ${name} killed: ${inFlight.length} requests in flight settled within ${settledMs.toFixed(0)} ms`);
        assert.ok(settledMs < REQUEST_TIMEOUT_MS + 1_000, `settled after ${settledMs} ms`);
        const down = await waitFor(
          'readiness DOWN',
          async () => {
            const r = await readiness();
            const side = r.body[name === 'target' ? 'TargetStatus' : 'OriginStatus'] as { Status?: string } | null;
            return r.status === 503 && side?.Status === 'DOWN' ? r : undefined;
          },
          { timeoutMs: 15_000 },
        );
        assert.equal(down.status, 503);
        // the gauge the restart step waits to see at 0 does count these sessions
        const sessionsDown = (await scrape(proxy)).value('zdm_client_sessions_cluster_down', { cluster: name });
        assert.ok(sessionsDown >= 1, `client sessions without ${name}: ${sessionsDown}`);
        assert.ok(proxyAlive(proxy), 'the proxy process is still running');
        assert.equal((await httpGet(proxy, '/health/liveness')).status, 200);
      });

      if (name === 'target') {
        it('reads from Origin continue while Target is down; writes fail fast, sent to neither cluster', async () => {
          const since = performance.now();
          await waitFor('reads succeed while Target is down', () => workload!.okSince('read', since) >= 20, {
            timeoutMs: 10_000,
          });
          const t0 = performance.now();
          const e = await driver.execute(ledger.insertCql, [`down_${Date.now()}`, 1], { prepare: true }).then(
            () => undefined,
            (x: unknown) => x as Error,
          );
          const ms = performance.now() - t0;
          assert.ok(e, 'a write while Target is down fails');
          assert.equal(unavailableCode(e), 0x1000, `UNAVAILABLE: ${String(e)}`);
          assert.ok(ms < 1_000, `the write failed after ${ms.toFixed(0)} ms (fast, not at a timeout)`);
          assert.equal((await readiness()).status, 503, 'Target is still down');
        });
      } else {
        it('reads fail fast while Origin (the primary) is down', async () => {
          const t0 = performance.now();
          const e = await driver.execute(`SELECT k, v FROM ${ks}.ledger_rows WHERE k = ?`, ['none'], { prepare: true }).then(
            () => undefined,
            (x: unknown) => x as Error,
          );
          const ms = performance.now() - t0;
          assert.ok(e, 'a read while Origin is down fails');
          assert.equal(unavailableCode(e), 0x1000, `UNAVAILABLE: ${String(e)}`);
          assert.ok(ms < 1_000, `the read failed after ${ms.toFixed(0)} ms`);
        });
      }

      it('restarted: readiness UP, the same driver writes to both clusters again, no proxy restart', async () => {
        await restartNode(name);
        killed.delete(name);
        await waitFor('readiness UP', async () => (await readiness()).status === 200, { timeoutMs: 60_000, intervalMs: 250 });
        // readiness follows the control connections; each client session reopens its own connection (at once
        // when the control connection is back, not after its backoff): wait until none is left without `name`
        const reopened = await waitFor(
          `every client session reopened its ${name} connection`,
          async () => {
            const m = await scrape(proxy);
            return m.value('zdm_client_sessions_cluster_down', { cluster: name }) === 0 ? m : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 100 },
        );
        assert.ok(reopened.value('zdm_cluster_connections_reopened_total') >= 1, 'counted as reopened');
        const since = performance.now();
        await waitFor(
          'acknowledged writes again',
          () => workload!.okSince('write', since) >= 20 && workload!.okSince('read', since) >= 5,
          { timeoutMs: 60_000 },
        );
        const stats = await workload!.stop();
        workload = undefined;
        console.log(
          `# ${name} back after ${((performance.now() - tKill) / 1000).toFixed(1)} s; workload: ${stats.writes} writes (${stats.writeErrors} failed), ${stats.reads} reads (${stats.readErrors} failed); errors: ${JSON.stringify([...stats.errors].slice(0, 4))}`,
        );
        assert.equal(proxy.child?.pid, proxyPid, 'the same proxy process');
        assert.ok(proxyAlive(proxy));
        // a write through the same driver is on both clusters, read directly from each
        const key = `after_${name}_restart_${Date.now()}`;
        await driver.execute(ledger.insertCql, [key, 7], { prepare: true });
        for (const n of ['origin', 'target'] as const) {
          const rs = await withSession(n, (c) =>
            c.execute(`SELECT v FROM ${ks}.ledger_rows WHERE k = ?`, [key], { prepare: true }),
          );
          assert.equal(rs.rows[0]?.['v'], 7, `the write after the restart is on ${n}`);
        }
      });

      it('ledger: every acknowledged write is on both clusters, nothing doubled', async () => {
        const r = await ledger.verify();
        console.log(
          `# after ${name} kill, ledger: ${JSON.stringify({ rows: r.rows, counters: r.counters, oneSided: r.oneSided, missing: r.missing.length, doubled: r.doubled.length, lostInCrash: r.lostInCrash })}`,
        );
        assert.deepEqual(r.missing, []);
        assert.deepEqual(r.doubled, []);
        assert.ok(r.rows.acked > 0 && r.counters.acked > 0);
      });
    });
  }
});
