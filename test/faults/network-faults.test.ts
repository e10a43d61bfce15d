// Network faults between the proxy and Target (a fault relay in between; real clusters behind it):
// - 200 ms of added round-trip latency towards Target: writes (sent to both) slow by about that, reads (Origin) do not;
// - Target blackholed: a write times out at proxy_request_timeout_ms, the connection keeps serving reads and
//   writes again once the path is back;
// - one session's Target connection reset mid-frame: the write in flight fails, that client connection stays open,
//   reopens its Target connection by itself and writes to both again; the others are unharmed.
// Every write goes through the ledger; at the end each is read back directly from Origin and Target.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';

import { TARGET, createKeyspace, dropKeyspace, ensureClusters, uniqueKeyspaceName } from '../support/clusters';
import { FaultRelay } from '../support/fault-relay';
import { WriteLedger, rawExec, type Exec } from '../support/ledger';
import { proxyClient, startTestProxy, type TestProxy } from '../support/proxy';
import { RawCqlClient, rowsOf } from '../support/raw-client';
import { waitFor } from '../support/wait';

const REQUEST_TIMEOUT_MS = 2_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describe('faults: latency, blackhole and a mid-frame reset towards Target', () => {
  let relay: FaultRelay;
  let proxy: TestProxy;
  let ks: string;
  let ledger: WriteLedger;
  let driver: Client;
  const raws: RawCqlClient[] = [];

  const connectRaw = async (): Promise<RawCqlClient> => {
    const c = await RawCqlClient.connect({ host: proxy.host, port: proxy.port });
    raws.push(c);
    return c;
  };

  before(async () => {
    await ensureClusters();
    ks = await createKeyspace(uniqueKeyspaceName('net_faults'));
    ledger = await WriteLedger.create(ks);
    relay = await FaultRelay.start({ target: { host: TARGET.host, port: TARGET.port } });
    proxy = await startTestProxy({
      logLevel: 'warn',
      settings: {
        target_contact_points: relay.host,
        target_port: relay.port,
        target_enable_host_assignment: false,
        proxy_request_timeout_ms: REQUEST_TIMEOUT_MS,
      },
    });
    driver = await proxyClient({
      proxy,
      extra: { pooling: { coreConnectionsPerHost: { 0: 1, 1: 1, 2: 1 }, heartBeatInterval: 0 } },
    });
  });
  after(async () => {
    for (const c of raws) c.close();
    await driver?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await relay?.stop().catch(() => undefined);
    if (ks) await dropKeyspace(ks).catch(() => undefined);
  });

  it('200 ms more round trip towards Target: writes slow by about that, reads from Origin do not', async () => {
    const exec: Exec = (cql, p) => driver.execute(cql, p, { prepare: true });
    const read = (): Promise<unknown> =>
      driver.execute(`SELECT v FROM ${ks}.ledger_rows WHERE k = ?`, ['none'], { prepare: true });
    const measure = async (n: number): Promise<{ write: number; read: number }> => {
      const w: number[] = [];
      const r: number[] = [];
      for (let i = 0; i < n; i++) {
        let t0 = performance.now();
        const a = await ledger.insert(exec);
        assert.equal(a.outcome, 'acked', String(a.error));
        w.push(performance.now() - t0);
        t0 = performance.now();
        await read();
        r.push(performance.now() - t0);
      }
      return { write: median(w), read: median(r) };
    };
    await measure(5); // warm-up (prepares)
    const base = await measure(20);
    relay.set({ latencyMs: 100, jitterMs: 10 }); // each direction: +200 ms round trip
    const slow = await measure(20);
    relay.clearFaults();
    console.log(
      `# latency: write median ${base.write.toFixed(1)} -> ${slow.write.toFixed(1)} ms, read median ${base.read.toFixed(1)} -> ${slow.read.toFixed(1)} ms`,
    );
    const writeDelta = slow.write - base.write;
    assert.ok(writeDelta > 150 && writeDelta < 700, `writes should slow by about 200 ms, slowed by ${writeDelta.toFixed(0)} ms`);
    assert.ok(
      slow.read - base.read < 100,
      `reads from Origin should not slow down, slowed by ${(slow.read - base.read).toFixed(0)} ms`,
    );
  });

  it('Target blackholed: a write times out at proxy_request_timeout_ms, the connection stays usable', async () => {
    const c = await connectRaw();
    const exec = rawExec(c, REQUEST_TIMEOUT_MS * 3);
    assert.equal((await ledger.insert(exec)).outcome, 'acked');
    relay.blackhole();
    const t0 = performance.now();
    const logsBefore = proxy.logs.length;
    const pending = ledger.insert(exec);
    const line = await waitFor(
      'the proxy gives up on the write',
      () => proxy.logs.slice(logsBefore).find((l) => /did not receive response from TARGET within/.test(l)),
      { timeoutMs: REQUEST_TIMEOUT_MS * 3 },
    );
    const gaveUpMs = performance.now() - t0;
    console.log(
      `# blackhole: the proxy gave up after ${gaveUpMs.toFixed(0)} ms (proxy_request_timeout_ms ${REQUEST_TIMEOUT_MS})`,
    );
    assert.match(line, new RegExp(`within ${REQUEST_TIMEOUT_MS} ms`));
    assert.ok(gaveUpMs >= REQUEST_TIMEOUT_MS - 50 && gaveUpMs < REQUEST_TIMEOUT_MS + 1500, `gave up after ${gaveUpMs} ms`);
    // reads (Origin only) keep working on the same connection meanwhile
    assert.equal(rowsOf(await c.query(`SELECT k FROM ${ks}.ledger_rows LIMIT 1`)).length, 1);
    // no reply to the client (as upstream): the client's own timeout fires
    const a = await pending;
    assert.equal(a.outcome, 'failed');
    relay.resume();
    assert.equal((await ledger.insert(exec)).outcome, 'acked', 'writes again once the path is back, on the same connection');
  });

  it("a reset mid-frame on one session's Target connection: that session survives and reopens it, others unharmed", async () => {
    const before = new Set(relay.connections);
    const victim = await connectRaw();
    const victimPair = relay.connections.find((p) => !before.has(p));
    assert.ok(victimPair, 'the victim session has its own relayed Target connection');
    const bystander = await connectRaw();
    const exec = rawExec(victim);
    assert.equal((await ledger.insert(exec)).outcome, 'acked');
    const acceptedBeforeCut = relay.connectionsAccepted;
    victimPair.cutAfterBytes(5); // the next reply from Target: 5 bytes of its header, then RST
    const a = await ledger.insert(exec);
    assert.equal(a.outcome, 'failed', 'the write whose reply was cut fails (outcome on Target unknown)');
    assert.match(String(a.error), /ERROR 0x0: .*TARGET was lost with this request in flight/);
    const reopened = await waitFor('the victim writes to both again (Target connection reopened)', async () => {
      const w = await ledger.insert(exec);
      return w.outcome === 'acked' ? w : undefined;
    });
    assert.equal(reopened.outcome, 'acked');
    assert.equal(victim.isClosed, false, 'the victim client connection was never closed');
    assert.ok(relay.connectionsAccepted > acceptedBeforeCut, 'the victim dialled a new Target connection');
    // others: the bystander raw session, the driver's session, a new session; the control connection (readiness)
    assert.equal((await ledger.insert(rawExec(bystander))).outcome, 'acked', 'the bystander still writes');
    assert.equal(
      (await ledger.insert((cql, p) => driver.execute(cql, p, { prepare: true }))).outcome,
      'acked',
      'the driver still writes',
    );
    const fresh = await connectRaw();
    assert.equal((await ledger.insert(rawExec(fresh))).outcome, 'acked', 'a new session writes');
  });

  it('ledger: every acknowledged write is on both clusters, nothing doubled', async () => {
    const r = await ledger.verify();
    console.log(`# network faults ledger: ${JSON.stringify({ rows: r.rows, counters: r.counters, oneSided: r.oneSided })}`);
    assert.deepEqual(r.missing, []);
    assert.deepEqual(r.doubled, []);
  });
});
