// Client admission (upstream-spec-notes 2.3, upstream TestMaxClientsThreshold): with proxy_max_client_connections=10,
// ten client connections complete their handshake; the 11th TCP connection is accepted and closed at
// once; after one of the ten closes, a new connection is admitted again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { ensureClusters } from '../../support/clusters';
import { startTestProxy, type TestProxy } from '../../support/proxy';
import { errorOf, RawCqlClient, rowsOf } from '../../support/raw-client';
import { waitFor } from '../../support/wait';

describe('lifecycle: proxy_max_client_connections', () => {
  let proxy: TestProxy | undefined;
  const clients: RawCqlClient[] = [];

  before(async () => {
    await ensureClusters();
    proxy = await startTestProxy({ logLevel: 'info', settings: { proxy_max_client_connections: 10 } });
  });
  after(async () => {
    for (const c of clients) c.close();
    await proxy?.stop().catch(() => undefined);
  });

  const connect = async (): Promise<RawCqlClient> => {
    const c = await RawCqlClient.connect({ host: proxy!.host, port: proxy!.port });
    clients.push(c);
    return c;
  };

  it('10 connections are admitted, the 11th is closed at once, a new one is admitted after one closes', async () => {
    for (let i = 0; i < 10; i++) {
      const c = await connect();
      assert.equal(rowsOf(await c.query('SELECT release_version FROM system.local')).length, 1, `client ${i + 1} should work`);
    }
    // 11th: TCP accept, then closed by the proxy without any reply.
    const extra = await RawCqlClient.connect({ host: proxy!.host, port: proxy!.port, noHandshake: true });
    clients.push(extra);
    const closed = await extra.closesWithin(2_000);
    assert.ok(closed, 'the 11th connection should be closed by the proxy at once');
    await assert.rejects(extra.options(2_000), /closed/);
    assert.ok(
      proxy!.logs.some((l) => /Refusing client connection from .* because max clients threshold has been hit \(10\)/.test(l)),
      `expected the refusal warning; logs:\n${proxy!.logs.slice(-10).join('\n')}`,
    );
    // A handshake attempt on another extra connection fails too.
    await assert.rejects(RawCqlClient.connect({ host: proxy!.host, port: proxy!.port, timeoutMs: 3_000 }));

    // The first ten still work.
    for (const c of clients.slice(0, 10)) assert.equal(errorOf(await c.options()), undefined);

    // Close one: a new connection is admitted once the proxy noticed.
    clients[0]!.close();
    let admitted: RawCqlClient | undefined;
    await waitFor(
      'a new connection admitted after one of the ten closed',
      async () => {
        admitted = await RawCqlClient.connect({ host: proxy!.host, port: proxy!.port, timeoutMs: 3_000 });
        return true;
      },
      { timeoutMs: 5_000, intervalMs: 100 },
    );
    assert.ok(admitted, 'a new connection should be admitted after one of the ten closed');
    clients.push(admitted);
    assert.equal(rowsOf(await admitted.query('SELECT release_version FROM system.local')).length, 1);
    // And we are at the limit again.
    const again = await RawCqlClient.connect({ host: proxy!.host, port: proxy!.port, noHandshake: true });
    clients.push(again);
    assert.ok(await again.closesWithin(2_000), 'at the limit again: the next connection is closed at once');
  });
});
