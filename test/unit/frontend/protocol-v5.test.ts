// Protocol v5 on client connections, against fake servers (what real clusters will not do on cue: a
// PROTOCOL_ERROR after the handshake, a cluster that stops at v4). The normal path is covered against the real
// clusters in test/integration/proxy/protocol-v5.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { ErrorCode, Opcode, ProtocolVersion, encodeSegment } from '../../../src/protocol';
import { errorBody } from '../../../src/protocol/replies';
import { RawCqlClient, errorOf, expectResult } from '../../support/raw-client';
import { waitFor } from '../../support/wait';
import { startHarness, type Harness } from './harness';
import pino from 'pino';

/** A logger into `lines` (level number, message), for assertions on log levels. */
function captured(lines: { level: number; msg: string }[]): pino.Logger {
  return pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
}
const protocolErrorLines = (lines: { level: number; msg: string }[]): { level: number; msg: string }[] =>
  lines.filter((l) => /Protocol error detected/.test(l.msg));

const V5 = ProtocolVersion.V5;

describe('protocol v5 client connections (fake clusters)', () => {
  let h: Harness;
  const lines: { level: number; msg: string }[] = [];
  before(async () => {
    h = await startHarness({}, { origin: { maxVersion: V5 }, target: { maxVersion: V5 } }, { logger: captured(lines) });
  });
  after(async () => h.close());

  const connect = (opts: { compression?: 'lz4'; version?: ProtocolVersion } = {}): Promise<RawCqlClient> =>
    RawCqlClient.connect({
      host: '127.0.0.1',
      port: h.proxy.port,
      version: opts.version ?? V5,
      credentials: null,
      ...(opts.compression ? { compression: opts.compression } : {}),
    });

  it('a v5 client is carried end to end: segments towards the client and towards both clusters, LZ4 as asked', async () => {
    for (const compression of [undefined, 'lz4'] as const) {
      const c = await connect({ compression });
      assert.equal(c.segments, true);
      expectResult(await c.query("INSERT INTO ks.t (k) VALUES ('v5')"), 'INSERT');
      for (const s of [h.origin, h.target]) {
        const q = s.received.filter((r) => r.query === "INSERT INTO ks.t (k) VALUES ('v5')").at(-1);
        assert.equal(q?.version, V5, "the cluster got the client's version");
        const startup = s.received.filter((r) => r.opcode === Opcode.STARTUP).at(-1);
        assert.equal(
          (startup?.decoded as { options: Record<string, string> }).options['COMPRESSION'],
          compression,
          'STARTUP unchanged',
        );
      }
      c.close();
    }
  });

  it("a cluster's PROTOCOL_ERROR after the handshake reaches the client on stream 0, once; the session goes on", async () => {
    const c = await connect();
    h.target.onRequest((_f, d) =>
      d && 'query' in d && d.query.includes('proto_err')
        ? { opcode: Opcode.ERROR, body: errorBody(ErrorCode.PROTOCOL_ERROR, 'bad frame, says TARGET') }
        : undefined,
    );
    try {
      const first = c.query("INSERT INTO ks.t (k) VALUES ('proto_err')", undefined, { timeoutMs: 0 });
      void first.catch(() => undefined);
      const e = await waitFor('PROTOCOL_ERROR on stream 0', () => c.orphans.find((f) => f.streamId === 0));
      assert.deepEqual(errorOf(e), { code: ErrorCode.PROTOCOL_ERROR, message: 'bad frame, says TARGET' });
      const logged = await waitFor('the forwarding logged', () => protocolErrorLines(lines)[0]);
      assert.equal(logged.level, 50, `a real protocol error stays at error level: ${logged.msg}`);
      // a second one is dropped (once per connection); the next normal request is answered
      void c.query("INSERT INTO ks.t (k) VALUES ('proto_err 2')", undefined, { timeoutMs: 0 }).catch(() => undefined);
      await waitFor('TARGET got the second one', () => h.target.received.some((r) => r.query?.includes('proto_err 2')));
      expectResult(await c.query("INSERT INTO ks.t (k) VALUES ('after')"), 'INSERT after');
      assert.equal(c.orphans.filter((f) => f.streamId === 0).length, 1, 'only the first PROTOCOL_ERROR');
      assert.equal(c.isClosed, false);
    } finally {
      h.target.clearHandlers();
      c.close();
    }
  });

  it('a corrupt segment closes that client only', async () => {
    const good = await connect({ compression: 'lz4' });
    const bad = await connect();
    const seg = encodeSegment(Buffer.from('not even a frame'), true);
    seg[seg.length - 2] ^= 0xff; // payload CRC32
    bad.writeRaw(seg);
    assert.match(await bad.closed, /end of stream|closed/);
    expectResult(await good.query("INSERT INTO ks.t (k) VALUES ('still fine')"), 'the other client');
    good.close();
  });
});

describe('protocol v5 when one cluster stops at v4 (fake clusters)', () => {
  let h: Harness;
  const lines: { level: number; msg: string }[] = [];
  before(async () => {
    h = await startHarness(
      {},
      { origin: { maxVersion: V5 }, target: { maxVersion: ProtocolVersion.V4 } },
      { logger: captured(lines) },
    );
  });
  after(async () => h.close());

  it('the client is steered down on stream 0 by that cluster, then settles on v4 with both', async () => {
    const v5 = await RawCqlClient.connect({ host: '127.0.0.1', port: h.proxy.port, version: V5, noHandshake: true });
    void v5.request({ opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0' } }, 0).catch(() => undefined);
    const e = await waitFor('PROTOCOL_ERROR on stream 0', () => v5.orphans.find((f) => f.streamId === 0));
    assert.equal(errorOf(e)?.code, ErrorCode.PROTOCOL_ERROR);
    assert.match(errorOf(e)!.message, /^Invalid or unsupported protocol version \(5\)/);
    assert.equal(v5.segments, false);
    const logged = await waitFor('the forwarding logged', () => protocolErrorLines(lines)[0]);
    assert.equal(logged.level, 30, `normal version negotiation is logged at info, not error: ${logged.msg}`);
    v5.close();
    const v4 = await RawCqlClient.connect({
      host: '127.0.0.1',
      port: h.proxy.port,
      version: ProtocolVersion.V4,
      credentials: null,
    });
    expectResult(await v4.query("INSERT INTO ks.t (k) VALUES ('v4')"), 'INSERT on v4');
    v4.close();
  });
});

describe('blocked_protocol_versions=v5 (fake clusters speaking v5)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ ZDM_BLOCKED_PROTOCOL_VERSIONS: 'v5' }, { origin: { maxVersion: V5 }, target: { maxVersion: V5 } });
  });
  after(async () => h.close());

  it('a v5 client gets the version error on stream 0 (and for every later frame); v4 works', async () => {
    const v5Startups = (): number => h.origin.received.filter((r) => r.version === V5 && r.opcode === Opcode.STARTUP).length;
    const before = v5Startups(); // the control connection's
    const v5 = await RawCqlClient.connect({ host: '127.0.0.1', port: h.proxy.port, version: V5, noHandshake: true });
    void v5.request({ opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0' } }, 0).catch(() => undefined);
    const e = await waitFor('PROTOCOL_ERROR on stream 0', () => v5.orphans.find((f) => f.streamId === 0));
    assert.deepEqual(errorOf(e), { code: ErrorCode.PROTOCOL_ERROR, message: 'Invalid or unsupported protocol version (5)' });
    void v5.options(0).catch(() => undefined);
    await waitFor('the same error again', () => v5.orphans.filter((f) => f.streamId === 0).length === 2);
    assert.equal(v5Startups(), before, 'nothing forwarded');
    v5.close();
    const v4 = await RawCqlClient.connect({
      host: '127.0.0.1',
      port: h.proxy.port,
      version: ProtocolVersion.V4,
      credentials: null,
    });
    expectResult(await v4.query("INSERT INTO ks.t (k) VALUES ('v4')"), 'INSERT on v4');
    v4.close();
  });
});
