// Request timeout at the proxy (upstream-spec-notes 5.3, upstream noresponsefromcluster_test): a write that a paused
// Target (SIGSTOP) never answers is closed by the proxy after proxy_request_timeout_ms=1000 and the
// client gets NO reply (its own 3 s wait expires); reads (Origin only) keep working meanwhile, and the
// same client connection serves the next write once Target resumes. Target is always resumed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { dropKeyspace, ensureClusters, pauseNode, resumeNode, uniqueKeyspaceName } from '../../support/clusters';
import { startTestProxy, type TestProxy } from '../../support/proxy';
import { errorOf, RawCqlClient, RawTimeoutError, rowsOf } from '../../support/raw-client';
import { waitFor } from '../../support/wait';
import { assertOnBoth, directSessions, type Direct } from './helpers';

describe('lifecycle: proxy request timeout with a paused Target', { timeout: 120_000 }, () => {
  const ks = uniqueKeyspaceName('lc_timeouts');
  let d: Direct | undefined;
  let proxy: TestProxy | undefined;
  let client: RawCqlClient | undefined;
  let paused = false;

  before(async () => {
    await ensureClusters();
    d = await directSessions(ks, [`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`]);
    await d.origin.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (0, 'origin-row')`);
    proxy = await startTestProxy({ logLevel: 'info', settings: { proxy_request_timeout_ms: 1_000 } });
    client = await RawCqlClient.connect({ host: proxy.host, port: proxy.port });
  });
  after(async () => {
    if (paused) await resumeNode('target').catch(() => undefined);
    client?.close();
    await proxy?.stop().catch(() => undefined);
    await d?.shutdown();
    await dropKeyspace(ks).catch(() => undefined);
  });

  it('no reply for a write Target never answers; the connection serves the next write after Target resumes', async () => {
    assert.equal(errorOf(await client!.query(`INSERT INTO ${ks}.kv (k, v) VALUES (1, 'before')`)), undefined);
    let lateOrphans = 0;
    try {
      await pauseNode('target');
      paused = true;
      // A dual write: Origin answers, Target does not. The proxy gives up after 1 s and sends nothing.
      await assert.rejects(
        client!.query(`INSERT INTO ${ks}.kv (k, v) VALUES (2, 'while-paused')`, undefined, { timeoutMs: 3_000 }),
        RawTimeoutError,
      );
      assert.ok(
        proxy!.logs.some((l) => /did not receive response from TARGET/.test(l)),
        `the proxy should log the timeout; logs:\n${proxy!.logs.slice(-10).join('\n')}`,
      );
      // Reads only need Origin: they keep working on the same connection while Target is paused.
      assert.deepEqual(rowsOf(await client!.query(`SELECT v FROM ${ks}.kv WHERE k = 0`, undefined, { timeoutMs: 3_000 })), [
        { v: 'origin-row' },
      ]);
    } finally {
      if (paused) {
        await resumeNode('target');
        paused = false;
      }
    }
    // Target's late reply to the timed-out write is dropped by the proxy, not passed to the client: wait until the
    // proxy has received (and counted) it, then for the reply to a later request on the same client connection, which
    // comes after anything the proxy passed on before it.
    const counters = (proxy!.handle as unknown as { counters: { lateReplies(): number } }).counters;
    await waitFor("the proxy to receive Target's late reply", () => counters.lateReplies() >= 1, { timeoutMs: 30_000 });
    const r = await client!.query(`INSERT INTO ${ks}.kv (k, v) VALUES (3, 'after-resume')`, undefined, { timeoutMs: 10_000 });
    assert.equal(errorOf(r), undefined, `write after resume: ${JSON.stringify(errorOf(r))}`);
    lateOrphans = client!.orphans.length;
    assert.equal(lateOrphans, 0, 'no late reply should reach the client for the timed-out request');
    assert.equal(client!.isClosed, false, 'the client connection should still be open');
    await assertOnBoth(d!, `SELECT v FROM ${ks}.kv WHERE k = ?`, [3], { v: 'after-resume' });
    // The paused write reached Origin (and Target once it resumed): the usual dual-write caveat.
    const [o] = await d!.read(`SELECT v FROM ${ks}.kv WHERE k = ?`, [2]);
    assert.deepEqual(
      o.map((x) => x['v']),
      ['while-paused'],
    );
  });
});
