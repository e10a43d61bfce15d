// Soak: ZDM_SOAK_CONNECTIONS client connections through one proxy (CLI process, real clusters), mixed traffic
// (inserts and counter increments through the ledger, reads, prepared and simple statements) for ZDM_SOAK_SECONDS
// (`npm test`: 1,000 connections for 60 s; `npm run test:soak`: 1,000 for 600 s). Connections open OPEN_PARALLEL at a
// time (each is a STARTUP + PLAIN login relayed to both clusters). No unexpected errors, no connection lost,
// resident memory flat after warm-up, every acknowledged write on both clusters, nothing doubled.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { createKeyspace, dropKeyspace, ensureClusters, uniqueKeyspaceName } from '../support/clusters';
import { WriteLedger, rawExec, type Exec } from '../support/ledger';
import { waitFor } from '../support/wait';
import { proxyAlive, residentBytes, startTestProxy, type TestProxy } from '../support/proxy';
import { RawCqlClient, bind, errorOf } from '../support/raw-client';

const SECONDS = Number(process.env.ZDM_SOAK_SECONDS ?? 60);
const CONNECTIONS = Number(process.env.ZDM_SOAK_CONNECTIONS ?? 1000);
/** connections being opened at once */
const OPEN_PARALLEL = 50;
/** requests started per second over all connections */
const RATE = Number(process.env.ZDM_SOAK_RATE ?? 400);
const MiB = 1024 * 1024;

describe(`faults: soak, ${CONNECTIONS} connections, ${SECONDS} s`, () => {
  let proxy: TestProxy;
  let ks: string;
  let ledger: WriteLedger;
  const clients: RawCqlClient[] = [];

  before(async () => {
    await ensureClusters();
    ks = await createKeyspace(uniqueKeyspaceName('soak'));
    ledger = await WriteLedger.create(ks);
    proxy = await startTestProxy({
      mode: 'cli',
      settings: { proxy_max_client_connections: CONNECTIONS + 100, proxy_request_timeout_ms: 10_000 },
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await proxy?.stop().catch(() => undefined);
    if (ks) await dropKeyspace(ks).catch(() => undefined);
  });

  it('mixed traffic: no unexpected errors, no connection lost, memory flat after warm-up, ledger clean', async () => {
    const t0 = performance.now();
    try {
      // OPEN_PARALLEL openers, each opening its next connection as soon as the previous one is READY
      let started = 0;
      await Promise.all(
        Array.from({ length: Math.min(OPEN_PARALLEL, CONNECTIONS) }, async () => {
          while (started < CONNECTIONS) {
            started++;
            clients.push(await RawCqlClient.connect({ host: proxy.host, port: proxy.port, timeoutMs: 30_000 }));
          }
        }),
      );
    } catch (e) {
      throw new Error(
        `opening connection ${clients.length + 1}: ${(e as Error).message}; proxy log:\n${proxy.logs
          .filter((l) => /"level":(40|50|60)/.test(l))
          .slice(-8)
          .join('\n')}`,
      );
    }
    const openMs = performance.now() - t0;
    const readId = await clients[0]!.prepare(`SELECT k, v FROM ${ks}.ledger_rows WHERE k = ?`);
    const incId = await clients[0]!.prepare(ledger.incrementCql);
    // prepared on one connection, executed on all: the proxy's prepared cache is shared
    const preparedInc =
      (c: RawCqlClient): Exec =>
      async (_cql, params) => {
        const f = await c.execute(incId, [bind.text(String(params[0]))], { timeoutMs: 15_000 });
        const e = errorOf(f);
        if (e) throw Object.assign(new Error(`ERROR 0x${e.code.toString(16)}: ${e.message}`), { code: e.code });
      };

    const errors = new Map<string, number>();
    const noteError = (what: string, e: unknown): void => {
      const m = `${what}: ${String((e as Error).message ?? e).slice(0, 160)}`;
      errors.set(m, (errors.get(m) ?? 0) + 1);
    };
    let ops = 0;
    let outstanding = 0;
    const one = async (c: RawCqlClient): Promise<void> => {
      const r = Math.random();
      if (r < 0.3) {
        const a = await ledger.insert(rawExec(c, 15_000));
        if (a.outcome !== 'acked') noteError('insert', a.error);
      } else if (r < 0.5) {
        const a = await ledger.increment(preparedInc(c));
        if (a.outcome !== 'acked') noteError('increment', a.error);
      } else {
        try {
          const f = await c.execute(readId, [bind.text(`k${Math.floor(Math.random() * 1000)}`)], { timeoutMs: 15_000 });
          const e = errorOf(f);
          if (e) noteError('read', new Error(e.message));
        } catch (e) {
          noteError('read', e);
        }
      }
    };

    const samples: { s: number; rss: number }[] = [];
    const end = performance.now() + SECONDS * 1000;
    const start = performance.now();
    let nextSample = start;
    // pacing loop: RATE requests per second, spread over random connections, at most 500 outstanding
    while (performance.now() < end) {
      const now = performance.now();
      if (now >= nextSample) {
        samples.push({ s: (now - start) / 1000, rss: residentBytes(proxy) });
        nextSample += Math.max(1000, (SECONDS * 1000) / 30);
      }
      const due = Math.floor(((now - start) / 1000) * RATE) - ops;
      for (let i = 0; i < due && outstanding < 500; i++) {
        ops++;
        outstanding++;
        const c = clients[Math.floor(Math.random() * clients.length)]!;
        void one(c).finally(() => {
          outstanding--;
        });
      }
      await new Promise((r) => setTimeout(r, 10)); // load pacing, not a wait for a condition
    }
    await waitFor('the last requests settle', () => outstanding === 0, { timeoutMs: 30_000 });
    samples.push({ s: (performance.now() - start) / 1000, rss: residentBytes(proxy) });

    const lost = clients.filter((c) => c.isClosed).length;
    const warm = samples.filter((x) => x.s >= SECONDS * 0.25);
    const warmRss = warm[0]!.rss;
    const endRss = samples[samples.length - 1]!.rss;
    const maxRss = Math.max(...warm.map((x) => x.rss));
    const r = await ledger.verify();
    console.log(
      `# soak: ${CONNECTIONS} connections opened in ${(openMs / 1000).toFixed(1)} s; ${ops} requests in ${SECONDS} s (${(ops / SECONDS).toFixed(0)}/s); errors ${[...errors.values()].reduce((a, b) => a + b, 0)}; connections lost ${lost}`,
    );
    console.log(
      `# soak: proxy RSS ${(samples[0]!.rss / MiB).toFixed(0)} MiB at start, ${(warmRss / MiB).toFixed(0)} MiB after warm-up, max ${(maxRss / MiB).toFixed(0)} MiB, ${(endRss / MiB).toFixed(0)} MiB at the end`,
    );
    console.log(`# soak: RSS samples (s:MiB) ${samples.map((x) => `${x.s.toFixed(0)}:${(x.rss / MiB).toFixed(0)}`).join(' ')}`);
    console.log(
      `# soak ledger: ${JSON.stringify({ rows: r.rows, counters: r.counters, missing: r.missing.length, doubled: r.doubled.length })}`,
    );
    assert.ok(proxyAlive(proxy), 'the proxy process exited');
    assert.deepEqual([...errors], [], 'no unexpected errors');
    assert.equal(lost, 0, 'no connection lost');
    assert.ok(ops >= RATE * SECONDS * 0.5, `only ${ops} requests were sent`);
    assert.ok(
      endRss - warmRss < Math.max(48 * MiB, warmRss * 0.25),
      `RSS grew after warm-up: ${(warmRss / MiB).toFixed(0)} -> ${(endRss / MiB).toFixed(0)} MiB`,
    );
    assert.deepEqual(r.missing, []);
    assert.deepEqual(r.doubled, []);
  });
});
