// Proxy heartbeats on client-side cluster connections (upstream-spec-notes 2.7, upstream TestHandlingOfInternalHeartbeat):
// with heartbeat_interval_ms=500, a read-only workload (reads go to Origin only) leaves the client's
// Target connection idle; the proxy sends OPTIONS on it about once per interval, the workload keeps
// working across several intervals and the Target connection stays open. A counting relay between the
// proxy and Target (listening on Target's address, 127.0.0.2) sees the OPTIONS frames.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { dropKeyspace, ensureClusters, TARGET, uniqueKeyspaceName } from '../../support/clusters';
import { startTestProxy, type TestProxy } from '../../support/proxy';
import { errorOf, Opcode, RawCqlClient, rowsOf } from '../../support/raw-client';
import { waitFor } from '../../support/wait';
import { assertOnBoth, CountingRelay, directSessions, type Direct } from './helpers';

describe('lifecycle: proxy heartbeats on an idle Target connection', () => {
  const ks = uniqueKeyspaceName('lc_heartbeat');
  let d: Direct | undefined;
  let relay: CountingRelay | undefined;
  let proxy: TestProxy | undefined;
  let client: RawCqlClient | undefined;

  before(async () => {
    await ensureClusters();
    d = await directSessions(ks, [`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`]);
    await d.origin.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (1, 'from-origin')`);
    relay = await CountingRelay.start(TARGET.host, { host: TARGET.host, port: TARGET.port });
    proxy = await startTestProxy({
      logLevel: 'debug',
      settings: { target_contact_points: TARGET.host, target_port: relay.port, heartbeat_interval_ms: 500 },
    });
  });
  after(async () => {
    client?.close();
    await proxy?.stop().catch(() => undefined);
    await relay?.stop().catch(() => undefined);
    await d?.shutdown();
    await dropKeyspace(ks).catch(() => undefined);
  });

  it('a read-only workload keeps working across several heartbeat intervals; Target receives OPTIONS', async () => {
    const since = Date.now();
    client = await RawCqlClient.connect({ host: proxy!.host, port: proxy!.port });
    // The client's own Target connection: opened through the relay after `since`.
    const clientConns = (): CountingRelay['connections'] => relay!.connections.filter((c) => c.acceptedAt >= since);
    assert.ok(clientConns().length >= 1, 'the proxy should have opened a Target connection for the client through the relay');
    const startedAt = Date.now();
    let reads = 0;
    const optionsSeen = (): number => clientConns().reduce((n, c) => n + c.requests.filter((o) => o === 'OPTIONS').length, 0);
    // The read-only workload (one read per poll) runs until the relay has seen 4 heartbeats on the client's Target
    // connection: a proxy heartbeat goes out with a read once the interval has passed, so 4 take ~2 s (4 s at most:
    // at least one per second, as before).
    await waitFor(
      '4 heartbeats (OPTIONS) on the idle Target connection',
      async () => {
        const rows = rowsOf(await client!.query(`SELECT v FROM ${ks}.kv WHERE k = 1`));
        assert.deepEqual(rows, [{ v: 'from-origin' }]);
        reads++;
        return optionsSeen() >= 4;
      },
      { timeoutMs: 4_000, intervalMs: 50 },
    );
    const elapsed = Date.now() - startedAt;
    const conns = clientConns();
    const options = optionsSeen();
    const queries = conns.reduce((n, c) => n + c.requests.filter((o) => o === 'QUERY').length, 0);
    // several heartbeats, at most one per 500 ms interval (+ 2, as before: <= 8 in 3 s)
    assert.ok(
      options >= 3,
      `expected >= 3 OPTIONS to Target with a 500 ms interval, saw ${options} (requests: ${JSON.stringify(conns.map((c) => c.requests))})`,
    );
    const most = Math.floor(elapsed / 500) + 2;
    assert.ok(options <= most, `too many heartbeats: ${options} in ${elapsed} ms (at most ${most})`);
    assert.equal(queries, 0, 'reads must not go to Target');
    assert.ok(
      conns.every((c) => !c.closed),
      'the Target connection should stay open',
    );
    assert.ok(reads > 20);
    // The connection still does dual writes.
    const w = await client.query(`INSERT INTO ${ks}.kv (k, v) VALUES (2, 'after-heartbeats')`);
    assert.equal(errorOf(w), undefined);
    await assertOnBoth(d!, `SELECT v FROM ${ks}.kv WHERE k = ?`, [2], { v: 'after-heartbeats' });
    // Heartbeat replies are consumed by the proxy: no stray-reply warnings.
    const stray = proxy!.logs.filter((l) => /Could not find request context|negative stream id|unknown stream/i.test(l));
    assert.deepEqual(stray, []);
    assert.equal(relay!.count(Opcode.OPTIONS, since), options);
  });
});
