// Graceful shutdown (upstream-spec-notes 2.9, upstream shutdown_test TestShutdownInFlightRequests): while a read is in
// flight (Origin's replies are slowed down by a relay between the proxy and Origin), proxy close() is
// called. The in-flight read still gets its RESULT, a new request on the same connection gets
// OVERLOADED (or the connection closes), new connections are not admitted, and close() resolves only
// after the in-flight request finished.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';

import { dropKeyspace, ensureClusters, ORIGIN, uniqueKeyspaceName } from '../../support/clusters';
import { FaultRelay } from '../../support/fault-relay';
import { startTestProxy, type TestProxy } from '../../support/proxy';
import { ErrorCode, errorOf, RawClosedError, RawCqlClient, rowsOf } from '../../support/raw-client';
import { waitFor } from '../../support/wait';
import { directSessions, type Direct } from './helpers';

/** True when a TCP connection to host:port is refused (a connection that opens is closed at once). */
function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('lifecycle: graceful shutdown', { timeout: 120_000 }, () => {
  const ks = uniqueKeyspaceName('lc_shutdown');
  let d: Direct | undefined;
  let relay: FaultRelay | undefined;
  let proxy: TestProxy | undefined;
  const clients: RawCqlClient[] = [];

  before(async () => {
    await ensureClusters();
    d = await directSessions(ks, [`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`]);
    await d.origin.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (1, 'slow-read')`);
    // Listen on Origin's address: host assignment keeps the node's address and the configured port.
    relay = await FaultRelay.start({ target: { host: ORIGIN.host, port: ORIGIN.port }, host: ORIGIN.host });
    proxy = await startTestProxy({ logLevel: 'info', settings: { origin_port: relay.port, shutdown_grace_period_ms: 10_000 } });
  });
  after(async () => {
    for (const c of clients) c.close();
    relay?.delay(0);
    await proxy?.stop().catch(() => undefined);
    await relay?.stop().catch(() => undefined);
    await d?.shutdown();
    await dropKeyspace(ks).catch(() => undefined);
  });

  it('in-flight requests finish, new ones get OVERLOADED or a closed connection, close() resolves', async (t) => {
    const a = await RawCqlClient.connect({ host: proxy!.host, port: proxy!.port });
    clients.push(a);
    assert.deepEqual(rowsOf(await a.query(`SELECT v FROM ${ks}.kv WHERE k = 1`)), [{ v: 'slow-read' }]);

    relay!.delay(1_000); // every chunk between the proxy and Origin now waits 1 s (each way)
    const originBytesBefore = relay!.bytesToClient;
    const toOriginBefore = relay!.bytesToServer;
    let originBytesAtClose = -1;
    const order: string[] = [];
    const inFlight = a.query(`SELECT v FROM ${ks}.kv WHERE k = 1`, undefined, { timeoutMs: 15_000 }).then((f) => {
      order.push('in-flight reply');
      return f;
    });
    // the read has reached Origin (its reply is still 1 s away): it is in flight when close() is called
    await waitFor('the read to reach Origin through the relay', () => relay!.bytesToServer > toOriginBefore);
    const closing = Promise.resolve(proxy!.stop()).then(() => {
      originBytesAtClose = relay!.bytesToClient;
      order.push('close resolved');
    });
    // close() stops the listener, then (a microtask later, before any socket event) marks the sessions draining:
    // once a new connection is refused, the request below is read by a draining session.
    await waitFor('the proxy to refuse new connections', () => refused(proxy!.host, proxy!.port));

    // A new request on the draining connection: OVERLOADED, or the connection is already closed.
    let newRequest: string;
    try {
      const f = await a.query('SELECT release_version FROM system.local', undefined, { timeoutMs: 5_000 });
      const e = errorOf(f);
      newRequest = e
        ? e.code === ErrorCode.OVERLOADED
          ? 'OVERLOADED'
          : `error 0x${e.code.toString(16)} ${e.message}`
        : 'answered';
    } catch (e) {
      newRequest = e instanceof RawClosedError ? 'closed' : `failed: ${(e as Error).message}`;
    }
    t.diagnostic(`request sent during shutdown: ${newRequest}`);
    assert.ok(
      ['OVERLOADED', 'closed'].includes(newRequest),
      `a request sent during shutdown should get OVERLOADED or a closed connection, got: ${newRequest}`,
    );

    // New connections are not admitted any more.
    await assert.rejects(RawCqlClient.connect({ host: proxy!.host, port: proxy!.port, timeoutMs: 3_000 }));

    const f = await inFlight;
    assert.equal(errorOf(f), undefined, `in-flight request: ${JSON.stringify(errorOf(f))}`);
    assert.deepEqual(rowsOf(f), [{ v: 'slow-read' }], 'the in-flight read completes with its RESULT');
    await closing;
    // The client (in this process) may see its reply a tick after close() resolves; what matters is that
    // Origin's reply had reached the proxy (through the relay) before close() resolved.
    assert.ok(
      originBytesAtClose > originBytesBefore,
      `close() resolved before Origin's reply reached the proxy (order: ${order.join(', ')})`,
    );
    // And the client connection is closed at the end.
    assert.ok(await a.closesWithin(3_000), 'the drained client connection is closed');
  });
});
