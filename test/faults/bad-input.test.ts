// Bad client input against a live proxy (CLI process, real clusters): random bytes, a wrong version byte, an
// oversized length, a negative stream id, an unknown opcode, a frame cut before close, one byte per second,
// a connection flood over proxy_max_client_connections, more than 2,048 requests in flight on one connection,
// and a fast-check fuzz of random and mutated frames. Each gets a protocol error, OVERLOADED or a close; the
// proxy never exits, its memory stays bounded, and sessions opened before keep working.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import fc from 'fast-check';

import { createKeyspace, dropKeyspace, ensureClusters, uniqueKeyspaceName, withSession } from '../support/clusters';
import { proxyAlive, proxyClient, residentBytes, startTestProxy, type TestProxy } from '../support/proxy';
import { errorOf, exchangeBytes, RawCqlClient, rowsOf, type RawExchange } from '../support/raw-client';
import { waitFor } from '../support/wait';
import { b } from '../support/bytes';
import { WriteLedger } from '../support/ledger';
import { ErrorCode, Opcode, ProtocolVersion, encodeFrame, type Frame } from '../../src/protocol';
import type { Client } from 'cassandra-driver';

const MAX_CLIENTS = 60;
const MiB = 1024 * 1024;

/** A v4 request header (9 bytes) with the given fields; the body follows as given. */
function v4Frame(
  opcode: number,
  streamId: number,
  body: Uint8Array = Buffer.alloc(0),
  lengthOverride?: number,
  version = 0x04,
): Buffer {
  return b()
    .byte(version)
    .byte(0)
    .short(streamId & 0xffff)
    .byte(opcode)
    .int(lengthOverride ?? body.length)
    .raw(body)
    .build();
}
const startupBody = (): Buffer => b().short(1).string('CQL_VERSION').string('3.0.0').build();
const optionsFrame = (stream: number): Buffer => v4Frame(Opcode.OPTIONS, stream);
const queryFrame = (stream: number, cql: string): Buffer =>
  encodeFrame({
    version: ProtocolVersion.V4,
    isResponse: false,
    streamId: stream,
    flags: 0,
    message: { opcode: Opcode.QUERY, query: cql, params: { consistency: 1 } },
  }).bytes;

function protocolErrors(x: RawExchange): Frame[] {
  return x.frames.filter((f) => errorOf(f)?.code === ErrorCode.PROTOCOL_ERROR);
}

describe('faults: bad client input against a live proxy', () => {
  let proxy: TestProxy;
  let ks: string;
  let ledger: WriteLedger;
  let driver: Client;
  let raw: RawCqlClient;
  let rssStart = 0;
  const trickles: net.Socket[] = [];

  /** The sessions opened before the bad input still read and write; the proxy process still runs. */
  async function othersUnharmed(what: string): Promise<void> {
    assert.ok(proxyAlive(proxy), `${what}: the proxy process exited`);
    const w = await ledger.insert((cql, p) => driver.execute(cql, p, { prepare: true }));
    assert.equal(w.outcome, 'acked', `${what}: a write on an older driver session failed: ${String(w.error)}`);
    assert.equal(
      rowsOf(await raw.query(`SELECT k FROM ${ks}.ledger_rows LIMIT 1`)).length,
      1,
      `${what}: a read on an older raw session failed`,
    );
  }

  before(async () => {
    await ensureClusters();
    ks = await createKeyspace(uniqueKeyspaceName('bad_input'));
    ledger = await WriteLedger.create(ks);
    await withSession('origin', (c) => c.execute(`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`));
    await withSession('target', (c) => c.execute(`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`));
    proxy = await startTestProxy({
      mode: 'cli',
      settings: { proxy_max_client_connections: MAX_CLIENTS, proxy_request_timeout_ms: 5_000 },
    });
    driver = await proxyClient({
      proxy,
      extra: { pooling: { coreConnectionsPerHost: { 0: 1, 1: 1, 2: 1 }, heartBeatInterval: 0 } },
    });
    raw = await RawCqlClient.connect({ host: proxy.host, port: proxy.port });
    await othersUnharmed('baseline');
    rssStart = residentBytes(proxy);
  });
  after(async () => {
    for (const s of trickles) s.destroy();
    raw?.close();
    await driver?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    if (ks) await dropKeyspace(ks).catch(() => undefined);
  });

  it('one byte per second on a few connections does not hold anybody else up', async () => {
    // Started first, left running during the other cases, checked at the end of the file.
    const header = v4Frame(Opcode.STARTUP, 1, startupBody());
    for (let i = 0; i < 5; i++) {
      const s = net.connect({ host: proxy.host, port: proxy.port });
      s.on('error', () => undefined);
      let off = 0;
      const t = setInterval(() => {
        if (s.destroyed || off >= header.length) return clearInterval(t);
        s.write(header.subarray(off, ++off));
      }, 1000);
      s.on('close', () => clearInterval(t));
      trickles.push(s);
    }
    await waitFor('the trickling connections are open', () => trickles.every((s) => s.readyState === 'open'));
    await othersUnharmed('trickling clients');
  });

  it('random bytes: protocol error or close', async () => {
    const junk = b().raw('474554202f20485454502f312e310d0a0d0a').build(); // "GET / HTTP/1.1\r\n\r\n"
    const x = await exchangeBytes(proxy.host, proxy.port, junk, { until: (f) => f.length > 0 });
    assert.ok(
      x.closed || protocolErrors(x).length > 0,
      `HTTP on the CQL port: expected a protocol error or a close, got ${JSON.stringify(x)}`,
    );
    const y = await exchangeBytes(
      proxy.host,
      proxy.port,
      Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 37 + 11) & 0xff)),
      { until: (f) => f.length > 0 },
    );
    assert.ok(y.closed || protocolErrors(y).length > 0, 'random bytes: expected a protocol error or a close');
    await othersUnharmed('random bytes');
  });

  it('wrong version byte: a protocol error naming the version', async () => {
    const x = await exchangeBytes(proxy.host, proxy.port, v4Frame(Opcode.OPTIONS, 3, Buffer.alloc(0), undefined, 0x07), {
      until: (f) => f.length > 0,
    });
    const e = protocolErrors(x)[0];
    assert.ok(e, `expected a protocol error, got ${JSON.stringify(x)}`);
    assert.match(errorOf(e)!.message, /version/i);
    await othersUnharmed('wrong version byte');
  });

  it('oversized length: the connection is closed', async () => {
    const x = await exchangeBytes(proxy.host, proxy.port, v4Frame(Opcode.QUERY, 4, Buffer.alloc(16), 0x7fff_ffff), {
      waitMs: 5000,
    });
    assert.ok(x.closed, `a 2 GiB length should close the connection; got ${JSON.stringify(x)}`);
    await othersUnharmed('oversized length');
  });

  it('negative stream id: a protocol error, the connection stays usable', async () => {
    const x = await exchangeBytes(proxy.host, proxy.port, [v4Frame(Opcode.OPTIONS, -5), optionsFrame(7)], {
      until: (f) => f.length >= 2,
    });
    const e = protocolErrors(x)[0];
    assert.ok(e, `expected a protocol error, got ${JSON.stringify(x)}`);
    assert.match(errorOf(e)!.message, /stream/i);
    assert.ok(
      x.frames.some((f) => f.streamId === 7 && f.message.opcode === Opcode.SUPPORTED),
      'OPTIONS after it is still answered',
    );
    await othersUnharmed('negative stream id');
  });

  it('unknown opcode: a protocol error or a close', async () => {
    const x = await exchangeBytes(proxy.host, proxy.port, v4Frame(0x7e, 9, Buffer.from('zz')), { until: (f) => f.length > 0 });
    assert.ok(
      x.closed || protocolErrors(x).length > 0,
      `unknown opcode: expected a protocol error or a close, got ${JSON.stringify(x)}`,
    );
    // after the handshake too
    const c = await RawCqlClient.connect({ host: proxy.host, port: proxy.port });
    try {
      c.socket.write(v4Frame(0x7e, 11, Buffer.from('zz')));
      // the cluster's protocol error comes back (on stream 0 after the handshake, as upstream), or the connection closes
      await waitFor(
        'a protocol error for the unknown opcode, or a close',
        () =>
          c.isClosed ||
          c.orphans.some((f) => errorOf(f)?.code === ErrorCode.PROTOCOL_ERROR && /opcode/i.test(errorOf(f)!.message)),
      );
    } finally {
      c.close();
    }
    await othersUnharmed('unknown opcode');
  });

  it('a frame cut before close: the half frame is dropped with its connection', async () => {
    const full = queryFrame(5, `INSERT INTO ${ks}.kv (k, v) VALUES (424242, 'cut')`);
    const x = await exchangeBytes(
      proxy.host,
      proxy.port,
      [v4Frame(Opcode.STARTUP, 1, startupBody()), full.subarray(0, full.length - 7)],
      { end: true, waitMs: 5000 },
    );
    assert.ok(x.closed, 'the proxy closes its side after the client half-closed');
    const rows = await withSession('origin', (s) => s.execute(`SELECT k FROM ${ks}.kv WHERE k = 424242`));
    assert.equal(rows.rowLength, 0, 'the cut INSERT was not executed');
    await othersUnharmed('frame cut before close');
  });

  it('more than 2,048 requests in flight on one connection: each gets its reply or OVERLOADED, the connection stays usable', async () => {
    const c = await RawCqlClient.connect({ host: proxy.host, port: proxy.port });
    try {
      const n = 3000;
      const frames: Buffer[] = [];
      for (let i = 1; i <= n; i++) frames.push(queryFrame(i, `SELECT v FROM ${ks}.kv WHERE k = ${i}`));
      c.socket.write(Buffer.concat(frames)); // all at once: the proxy sees 3,000 requests in flight
      await waitFor(`${n} replies`, () => c.isClosed || c.orphans.length >= n, { timeoutMs: 60_000 });
      assert.equal(c.isClosed, false, 'the connection was closed');
      const byStream = new Map(c.orphans.map((f) => [f.streamId, f]));
      assert.equal(byStream.size, n, 'one reply per stream id');
      let overloaded = 0;
      for (const f of byStream.values()) {
        const e = errorOf(f);
        if (e) {
          assert.equal(e.code, ErrorCode.OVERLOADED, `unexpected error ${JSON.stringify(e)}`);
          overloaded++;
        } else assert.equal(f.message.opcode, Opcode.RESULT);
      }
      console.log(`# 3000 in flight on one connection: ${n - overloaded} results, ${overloaded} OVERLOADED`);
      assert.equal(rowsOf(await c.query(`SELECT v FROM ${ks}.kv WHERE k = 1`)).length, 0, 'usable afterwards');
    } finally {
      c.close();
    }
    await othersUnharmed('3000 in flight');
  });

  it('a connection flood over proxy_max_client_connections: the excess is closed, the others are unharmed, admission resumes', async () => {
    const flood: net.Socket[] = [];
    let closedByProxy = 0;
    try {
      for (let i = 0; i < MAX_CLIENTS * 3; i++) {
        const s = net.connect({ host: proxy.host, port: proxy.port });
        s.on('error', () => undefined);
        s.on('close', () => {
          closedByProxy++;
        });
        flood.push(s);
      }
      // The open sessions (driver pool, raw, trickles) count too: at least 2 x MAX_CLIENTS flood sockets are refused.
      await waitFor('the excess connections are closed', () => closedByProxy >= MAX_CLIENTS * 2, { timeoutMs: 20_000 });
      await othersUnharmed('connection flood');
    } finally {
      for (const s of flood) s.destroy();
    }
    // Once the flood is gone, a new client is admitted again.
    const again = await waitFor(
      'a new connection is admitted after the flood',
      async () => {
        try {
          return await RawCqlClient.connect({ host: proxy.host, port: proxy.port, timeoutMs: 3_000 });
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.equal(errorOf(await again.options()), undefined);
    again.close();
  });

  it('fuzz: random and mutated frames never crash the proxy', async () => {
    const valid = [
      v4Frame(Opcode.STARTUP, 1, startupBody()),
      optionsFrame(2),
      queryFrame(3, `SELECT v FROM ${ks}.kv WHERE k = 1`),
      queryFrame(4, `INSERT INTO ${ks}.kv (k, v) VALUES (1, 'x')`),
    ];
    const mutated = fc
      .tuple(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.option(fc.nat(), { nil: undefined }),
      )
      .map(([frame, flips, cut]) => {
        const m = Buffer.from(frame);
        for (const [pos, val] of flips) m[pos % m.length] = val;
        return cut === undefined ? m : m.subarray(0, cut % (m.length + 1));
      });
    const random = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a));
    let runs = 0;
    const input = fc.array(fc.oneof(mutated, random, fc.constantFrom(...valid)), { minLength: 1, maxLength: 4 });
    await fc.assert(
      // several connections at once per run: inputs that leave the proxy waiting for more bytes cost one wait, not many
      fc.asyncProperty(fc.array(input, { minLength: 6, maxLength: 6 }), async (inputs) => {
        await Promise.all(
          inputs.map(async (chunks) => {
            runs++;
            // an OPTIONS after the input: its SUPPORTED proves the proxy read everything before it
            await exchangeBytes(proxy.host, proxy.port, [...chunks, optionsFrame(0x1234)], {
              waitMs: 600,
              until: (f) => f.some((x) => x.streamId === 0x1234),
            });
          }),
        );
        return proxyAlive(proxy);
      }),
      {
        numRuns: Number(process.env.ZDM_FUZZ_RUNS ?? 30),
        seed: process.env.ZDM_FUZZ_SEED ? Number(process.env.ZDM_FUZZ_SEED) : undefined,
      },
    );
    console.log(`# fuzz: ${runs} connections with random or mutated frames`);
    assert.ok(runs > 0);
    await othersUnharmed('fuzz');
  });

  it('after all of it: memory bounded, the trickling connections held nobody up, writes all on both clusters', async () => {
    await othersUnharmed('end');
    const rss = residentBytes(proxy);
    console.log(`# bad input: proxy RSS ${(rssStart / MiB).toFixed(0)} MiB before, ${(rss / MiB).toFixed(0)} MiB after`);
    assert.ok(rss - rssStart < 150 * MiB, `proxy RSS grew by ${((rss - rssStart) / MiB).toFixed(0)} MiB`);
    const r = await ledger.verify();
    assert.deepEqual(r.missing, []);
    assert.deepEqual(r.doubled, []);
    assert.ok(r.rows.acked > 5);
  });
});
