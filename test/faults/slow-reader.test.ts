// A slow-reading client pulling large pages: the client sends many large reads and then reads nothing.
// The proxy (a CLI process; Origin reached through a fault relay that counts what the proxy pulls) must stop
// reading Origin instead of buffering the replies: what it pulls and its resident memory stay bounded, and every
// reply arrives complete once the client reads again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { ORIGIN, createKeyspace, dropKeyspace, ensureClusters, uniqueKeyspaceName, withSession } from '../support/clusters';
import { FaultRelay } from '../support/fault-relay';
import { residentBytes, startTestProxy, type TestProxy } from '../support/proxy';
import { RawCqlClient, rowsOf } from '../support/raw-client';
import { waitFor } from '../support/wait';
import { Consistency, Opcode, ProtocolVersion, encodeFrame } from '../../src/protocol';

const MiB = 1024 * 1024;
const ROWS = 20;
const ROW_BYTES = 50 * 1024; // 1 MiB per reply
const REQUESTS = 100; // 100 MiB of replies in all

describe('faults: a slow-reading client pulling large pages', () => {
  let relay: FaultRelay;
  let proxy: TestProxy;
  let ks: string;
  let client: RawCqlClient | undefined;

  before(async () => {
    await ensureClusters();
    ks = await createKeyspace(uniqueKeyspaceName('slow_reader'));
    for (const n of ['origin', 'target'] as const) {
      await withSession(n, (c) => c.execute(`CREATE TABLE ${ks}.big (k int, c int, v blob, PRIMARY KEY (k, c))`));
    }
    await withSession('origin', async (c) => {
      for (let i = 0; i < ROWS; i++) {
        await c.execute(`INSERT INTO ${ks}.big (k, c, v) VALUES (1, ?, ?)`, [i, Buffer.alloc(ROW_BYTES, i)], { prepare: true });
      }
    });
    relay = await FaultRelay.start({ target: { host: ORIGIN.host, port: ORIGIN.port } });
    proxy = await startTestProxy({
      mode: 'cli',
      settings: {
        origin_contact_points: relay.host,
        origin_port: relay.port,
        origin_enable_host_assignment: false,
        proxy_request_timeout_ms: 120_000,
      },
    });
  });
  after(async () => {
    client?.close();
    await proxy?.stop().catch(() => undefined);
    await relay?.stop().catch(() => undefined);
    if (ks) await dropKeyspace(ks).catch(() => undefined);
  });

  it('the proxy stops pulling from Origin while the client reads nothing; memory stays bounded; all replies arrive', async () => {
    client = await RawCqlClient.connect({ host: proxy.host, port: proxy.port });
    const c = client;
    assert.equal(rowsOf(await c.query(`SELECT c FROM ${ks}.big WHERE k = 1`)).length, ROWS);
    const rssBefore = residentBytes(proxy);
    const pulledBefore = relay.bytesToClient;

    const frames: Buffer[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      frames.push(
        encodeFrame({
          version: ProtocolVersion.V4,
          isResponse: false,
          streamId: 1000 + i,
          flags: 0,
          message: {
            opcode: Opcode.QUERY,
            query: `SELECT c, v FROM ${ks}.big WHERE k = 1`,
            params: { consistency: Consistency.ONE, pageSize: 5000 },
          },
        }).bytes,
      );
    }
    c.socket.pause(); // the slow reader: from now on it reads nothing
    c.socket.write(Buffer.concat(frames));

    let last = -1;
    let peakRss = rssBefore;
    await waitFor(
      'the proxy stops pulling replies from Origin',
      () => {
        peakRss = Math.max(peakRss, residentBytes(proxy));
        const stable = relay.bytesToClient === last && last > pulledBefore;
        last = relay.bytesToClient;
        return stable;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const pulled = relay.bytesToClient - pulledBefore;
    const total = REQUESTS * ROWS * ROW_BYTES;
    console.log(
      `# slow reader: proxy pulled ${(pulled / MiB).toFixed(1)} MiB of ${(total / MiB).toFixed(0)} MiB from Origin while the client read nothing; RSS ${(rssBefore / MiB).toFixed(0)} -> peak ${(peakRss / MiB).toFixed(0)} MiB`,
    );
    assert.ok(
      pulled < total * 0.4,
      `the proxy pulled ${(pulled / MiB).toFixed(1)} MiB of ${(total / MiB).toFixed(0)} MiB: it buffers instead of pushing back`,
    );
    assert.ok(
      peakRss - rssBefore < 64 * MiB,
      `proxy RSS grew by ${((peakRss - rssBefore) / MiB).toFixed(0)} MiB while the client read nothing`,
    );

    c.socket.resume();
    await waitFor(`all ${REQUESTS} replies`, () => c.isClosed || c.orphans.length >= REQUESTS, { timeoutMs: 120_000 });
    assert.equal(c.isClosed, false);
    for (const f of c.orphans) assert.equal(rowsOf(f).length, ROWS, `stream ${f.streamId}: a complete page`);
    console.log(
      `# slow reader: all ${REQUESTS} replies complete; proxy RSS after ${(residentBytes(proxy) / MiB).toFixed(0)} MiB`,
    );
  });
});
