// Request-id tracing (upstream-spec-notes 4.8): the rules (add / keep / remove, rate limit, versions) on frames, the byte
// edit of the custom payload (compressed bodies too), and the proxy end to end with fake clusters: both
// clusters receive the same id, an application id is kept or removed, the rate limit holds over a burst,
// and the log lines let an operator follow one id.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Consistency, HeaderFlag, Opcode, ProtocolVersion } from '../../../src/protocol/constants';
import { decodeFrame, encodeFrame } from '../../../src/protocol/frame-codec';
import { getCompressor } from '../../../src/protocol/compression';
import { requestCustomPayload, withRequestCustomPayload } from '../../../src/protocol/envelope';
import type { RawFrame } from '../../../src/protocol/frame';
import type { BytesMap } from '../../../src/protocol/primitives';
import { RequestIdTracer, TokenBucket } from '../../../src/routing/request-id';
import { TestClient, startHarness, type Harness } from '../frontend/harness';

const query = (text: string, payload?: BytesMap, version = ProtocolVersion.V4, stream = 1): RawFrame =>
  encodeFrame({
    version,
    isResponse: false,
    streamId: stream,
    flags: 0,
    message: { opcode: Opcode.QUERY, query: text, params: { consistency: Consistency.ONE } },
    ...(payload ? { customPayload: payload } : {}),
  } as Parameters<typeof encodeFrame>[0]);

const APP_ID = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

describe('request ids: rules', () => {
  it('enabled: adds a 16-byte id (UUID v4) next to other entries; keeps an application id', () => {
    const t = new RequestIdTracer({ enabled: true, rateLimit: 0, key: 'request-id' });
    const r = t.apply(query('SELECT 1', { other: Buffer.from('x') }), ProtocolVersion.V4, undefined);
    assert.equal(r.action, 'added');
    const p = requestCustomPayload(r.frame, undefined)!;
    assert.equal(p['request-id']!.length, 16);
    assert.equal(p['request-id']![6]! >> 4, 4, 'UUID version 4');
    assert.equal(r.id, p['request-id']!.toString('hex'));
    assert.deepEqual(p['other'], Buffer.from('x'));
    assert.equal((decodeFrame(r.frame).message as { query: string }).query, 'SELECT 1', 'the message is intact');
    const kept = t.apply(query('SELECT 1', { 'request-id': APP_ID }), ProtocolVersion.V4, undefined);
    assert.equal(kept.action, 'kept');
    assert.equal(kept.id, APP_ID.toString('hex'));
  });

  it('disabled: an application id is removed (flag cleared when nothing is left), other entries kept', () => {
    const t = new RequestIdTracer({ enabled: false, rateLimit: 0, key: 'request-id' });
    const only = t.apply(query('SELECT 1', { 'request-id': APP_ID }), ProtocolVersion.V4, undefined);
    assert.equal(only.action, 'removed');
    assert.equal(only.frame.flags & HeaderFlag.CUSTOM_PAYLOAD, 0);
    assert.equal((decodeFrame(only.frame).message as { query: string }).query, 'SELECT 1');
    const mixed = t.apply(query('SELECT 1', { 'request-id': APP_ID, keep: Buffer.from('k') }), ProtocolVersion.V4, undefined);
    assert.deepEqual(Object.keys(requestCustomPayload(mixed.frame, undefined)!), ['keep']);
    const plain = query('SELECT 1');
    assert.equal(t.apply(plain, ProtocolVersion.V4, undefined).frame, plain, 'nothing to remove: the same frame');
  });

  it('v3 frames, v3 clusters and other opcodes are left alone', () => {
    const t = new RequestIdTracer({ enabled: true, rateLimit: 0, key: 'request-id' });
    const v3 = query('SELECT 1', undefined, ProtocolVersion.V3);
    assert.equal(t.apply(v3, ProtocolVersion.V4, undefined).action, 'none');
    assert.equal(t.apply(query('SELECT 1'), ProtocolVersion.V3, undefined).action, 'none', 'a v3 control connection');
    const options = encodeFrame({
      version: ProtocolVersion.V4,
      isResponse: false,
      streamId: 1,
      flags: 0,
      message: { opcode: Opcode.OPTIONS },
    });
    assert.equal(t.apply(options, ProtocolVersion.V4, undefined).action, 'none');
  });

  it('rate limit: rate = burst tokens per second; an application id is removed while the bucket is empty', () => {
    let now = 0;
    const t = new RequestIdTracer({ enabled: true, rateLimit: 3, key: 'request-id' }, { now: () => now });
    const actions = Array.from(
      { length: 5 },
      () => t.apply(query('SELECT 1', { 'request-id': APP_ID }), ProtocolVersion.V4, undefined).action,
    );
    assert.deepEqual(actions, ['kept', 'kept', 'kept', 'removed', 'removed']);
    assert.equal(t.rateLimited, 2);
    now += 1000 / 3; // one token back
    assert.equal(t.apply(query('SELECT 1'), ProtocolVersion.V4, undefined).action, 'added');
    assert.equal(t.apply(query('SELECT 1'), ProtocolVersion.V4, undefined).action, 'none');
    const b = new TokenBucket(2, () => now);
    now += 10_000; // idle: never more than the burst
    assert.deepEqual([b.take(), b.take(), b.take()], [true, true, false]);
  });

  it('a compressed (lz4) body is decompressed, edited and compressed again', () => {
    const lz4 = getCompressor('lz4')!;
    const codec = {
      compress: (b: Buffer) => lz4.compress(b, ProtocolVersion.V4),
      decompress: (b: Buffer) => lz4.decompress(b, ProtocolVersion.V4, 1 << 20),
    };
    const f = encodeFrame(
      {
        version: ProtocolVersion.V4,
        isResponse: false,
        streamId: 3,
        flags: 0,
        message: { opcode: Opcode.QUERY, query: 'SELECT * FROM ks.t', params: { consistency: Consistency.ONE } },
      } as Parameters<typeof encodeFrame>[0],
      lz4,
    );
    assert.ok(f.isCompressed);
    const out = withRequestCustomPayload(f, { 'request-id': APP_ID }, codec);
    assert.ok(out.isCompressed);
    const d = decodeFrame(out, lz4);
    assert.deepEqual(d.customPayload, { 'request-id': APP_ID });
    assert.equal((d.message as { query: string }).query, 'SELECT * FROM ks.t');
    assert.equal(out.streamId, 3);
  });
});

describe('request ids through the proxy (fake clusters)', () => {
  let h: Harness;
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  before(async () => {
    h = await startHarness(
      { ZDM_TRACING_ENABLED: 'true', ZDM_TRACING_RATE_LIMIT: '5', ZDM_TRACING_REQUEST_ID_KEY: 'zdm-id' },
      {},
      { logger },
    );
  });
  after(async () => h?.close());

  const idsOn = (s: Harness['origin'], text: string): (string | undefined)[] =>
    s.received.filter((r) => r.query === text).map((r) => decodeFrame(r.frame).customPayload?.['zdm-id']?.toString('hex'));

  it('a write reaches both clusters with the same id; the log follows it; an application id is kept', async () => {
    const c = await TestClient.ready(h.proxy.port);
    const r = await c.send(query('INSERT INTO ks.t (k) VALUES (1)', undefined, ProtocolVersion.V4, 7));
    assert.equal(r.opcode, Opcode.RESULT);
    const [o] = idsOn(h.origin, 'INSERT INTO ks.t (k) VALUES (1)');
    const [t] = idsOn(h.target, 'INSERT INTO ks.t (k) VALUES (1)');
    assert.ok(o && o.length === 32, 'ORIGIN got a 16-byte id');
    assert.equal(t, o, 'TARGET got the same id');
    const log = lines.join('');
    assert.ok(log.includes(`Request id ${o} (hex) for query with stream id 7 and QUERY`));
    assert.ok(log.includes(`Received response from ORIGIN-CONNECTOR for query with stream id 7 and request id ${o} (hex)`));
    assert.ok(log.includes(`Received response from TARGET-CONNECTOR for query with stream id 7 and request id ${o} (hex)`));
    await c.send(query('INSERT INTO ks.t (k) VALUES (2)', { 'zdm-id': APP_ID }, ProtocolVersion.V4, 8));
    assert.deepEqual(idsOn(h.target, 'INSERT INTO ks.t (k) VALUES (2)'), [APP_ID.toString('hex')]);
    c.close();
  });

  it('the rate limit (5/s) holds over a burst of 40 requests; rate-limited application ids are removed', async () => {
    const c = await TestClient.ready(h.proxy.port);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        c.send(query('SELECT * FROM ks.burst', { 'zdm-id': APP_ID }, ProtocolVersion.V4, 100 + i)),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const ids = idsOn(h.origin, 'SELECT * FROM ks.burst');
    assert.equal(ids.length, 40);
    const withId = ids.filter((x) => x !== undefined).length;
    assert.ok(withId <= 5 + Math.ceil(seconds * 5), `${withId} ids in ${seconds.toFixed(2)} s`);
    assert.ok(
      withId < 40 && ids.filter((x) => x === undefined).length >= 40 - 5 - Math.ceil(seconds * 5),
      'the rest lost the application id',
    );
    c.close();
  });
});
