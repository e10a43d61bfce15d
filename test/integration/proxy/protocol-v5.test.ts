// Protocol v5 end to end through the proxy, against the two real clusters:
// - our raw client at v5 (segments after READY/AUTHENTICATE), with and without LZ4 segments: a 300 KiB blob
//   (several segments each way) written and read back byte-identical, and identical directly on Origin and Target;
// - the Python cassandra-driver at its default v5, with LZ4 (the lz4 package in .venv) and without compression;
// - what drivers never send, from the raw client: a segment with a bad header CRC24, a bad payload CRC32, a
//   truncated segment, a frame length beyond the maximum, a v5 frame and a segment before STARTUP. Each closes
//   (or answers) that one connection with a clear log line; a healthy v5 session on the same proxy is unharmed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Client } from 'cassandra-driver';

import {
  ErrorCode,
  MAX_SEGMENT_PAYLOAD,
  Opcode,
  ProtocolVersion,
  encodeFrame,
  encodeSegment,
  lz4BodyCompressor,
} from '../../../src/protocol';
import {
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  originSession,
  targetSession,
  uniqueKeyspaceName,
} from '../../support/clusters';
import { runPython, startTestProxy, type TestProxy } from '../../support/proxy';
import { RawCqlClient, bind, errorOf, expectResult, rowsOf } from '../../support/raw-client';
import { waitFor } from '../../support/wait';

const BLOB_BYTES = 300 * 1024;

/** Half compressible text, half random bytes: LZ4 shrinks the segments, and a byte slip would show. */
function testBlob(seed: number): Buffer {
  const text = Buffer.from(`row ${seed}: the quick brown fox jumps over the lazy dog. `.repeat(4000)).subarray(0, BLOB_BYTES / 2);
  return Buffer.concat([text, randomBytes(BLOB_BYTES / 2)]);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const PY_SCRIPT = String.raw`
import json, sys, logging, hashlib, os
logging.basicConfig(level=logging.ERROR)
from cassandra.cluster import Cluster
from cassandra.auth import PlainTextAuthProvider
from cassandra.policies import DCAwareRoundRobinPolicy

host, port, ks, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
cluster = Cluster(contact_points=[host], port=port, compression=(mode == 'lz4'),
                  auth_provider=PlainTextAuthProvider(username='cassandra', password='cassandra'),
                  load_balancing_policy=DCAwareRoundRobinPolicy(local_dc='datacenter1'),
                  connect_timeout=10, control_connection_timeout=10)
session = cluster.connect()
session.default_timeout = 30
conn = cluster.control_connection._connection
out = {'protocol_version': cluster.protocol_version, 'checksumming': bool(conn._is_checksumming_enabled),
       'compression': conn._compression_type if conn.compressor else None}
k = 100 if mode == 'lz4' else 101
blob = (b'python %d ' % k) * 20000
blob = (blob[:150 * 1024] + os.urandom(150 * 1024))
ins = session.prepare("INSERT INTO " + ks + ".blobs (k, v) VALUES (?, ?)")
session.execute(ins, (k, blob))
got = session.execute("SELECT v FROM " + ks + ".blobs WHERE k = %s", (k,)).one().v
out['k'] = k
out['written_sha'] = hashlib.sha256(blob).hexdigest()
out['read_sha'] = hashlib.sha256(got).hexdigest()
out['length'] = len(got)
cluster.shutdown()
print('RESULT ' + json.dumps(out))
`;

describe('protocol v5 through the proxy', () => {
  const ks = uniqueKeyspaceName('proxy_v5');
  let origin: Client | undefined;
  let target: Client | undefined;
  let proxy: TestProxy | undefined;
  /** opened first, used after every fault: must never notice the other connections' corruption */
  let healthy: RawCqlClient | undefined;

  before(async () => {
    await ensureClusters();
    await createKeyspace(ks);
    [origin, target] = await Promise.all([originSession(), targetSession()]);
    for (const c of [origin, target]) await c.execute(`CREATE TABLE ${ks}.blobs (k int PRIMARY KEY, v blob)`);
    proxy = await startTestProxy();
    healthy = await v5Client();
  });
  after(async () => {
    healthy?.close();
    await proxy?.stop().catch(() => undefined);
    await origin?.shutdown().catch(() => undefined);
    await target?.shutdown().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
  });

  function v5Client(opts: { compression?: 'lz4'; noHandshake?: boolean } = {}): Promise<RawCqlClient> {
    return RawCqlClient.connect({ host: proxy!.host, port: proxy!.port, version: ProtocolVersion.V5, ...opts });
  }

  async function directBlob(c: Client, k: number): Promise<Buffer> {
    const rs = await c.execute(`SELECT v FROM ${ks}.blobs WHERE k = ?`, [k], { prepare: true });
    assert.equal(rs.rows.length, 1, `row ${k}`);
    return rs.rows[0]!['v'] as Buffer;
  }

  async function assertHealthy(): Promise<void> {
    const rows = rowsOf(await healthy!.query(`SELECT k FROM ${ks}.blobs WHERE k = -1`));
    assert.deepEqual(rows, []);
    assert.equal(healthy!.isClosed, false, 'the healthy session is still open');
  }

  for (const compression of [undefined, 'lz4'] as const) {
    it(`raw client v5${compression ? ' with LZ4 segments' : ''}: a 300 KiB blob is written and read back byte-identical, identical on Origin and Target`, async () => {
      const c = await v5Client({ compression });
      try {
        assert.equal(c.segments, true, 'segment framing after the handshake');
        assert.equal(c.framing.segmentCompression, compression);
        const k = compression ? 1 : 2;
        const blob = testBlob(k);
        assert.ok(blob.length > 2 * MAX_SEGMENT_PAYLOAD, 'the frame spans several segments');
        expectResult(await c.query(`INSERT INTO ${ks}.blobs (k, v) VALUES (?, ?)`, [bind.int(k), blob]), 'INSERT');
        const rows = rowsOf(await c.query(`SELECT v FROM ${ks}.blobs WHERE k = ?`, [bind.int(k)]));
        assert.equal(rows.length, 1);
        const read = rows[0]!['v'] as Buffer;
        assert.equal(read.length, blob.length);
        assert.equal(sha(read), sha(blob), 'read back through the proxy');
        assert.equal(sha(await directBlob(origin!, k)), sha(blob), 'directly on Origin');
        assert.equal(sha(await directBlob(target!, k)), sha(blob), 'directly on Target');
        // prepared statements and their v5 result metadata ids go through as well
        const id = await c.prepare(`SELECT v FROM ${ks}.blobs WHERE k = ?`);
        const viaExecute = rowsOf(await c.execute(id, [bind.int(k)]));
        assert.equal(sha(viaExecute[0]!['v'] as Buffer), sha(blob), 'read with EXECUTE');
      } finally {
        c.close();
      }
    });
  }

  for (const mode of ['lz4', 'none'] as const) {
    it(`the Python driver at its default v5 (${mode === 'lz4' ? 'LZ4, lz4 package installed' : 'no compression'}): 300 KiB blob byte-identical, on both clusters`, async () => {
      const r = await runPython(PY_SCRIPT, [proxy!.host, String(proxy!.port), ks, mode], { timeoutMs: 90_000 });
      const output = `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
      const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      assert.ok(line, `the Python script did not complete:\n${output}`);
      const res = JSON.parse(line.slice(7)) as {
        protocol_version: number;
        checksumming: boolean;
        compression: string | null;
        k: number;
        written_sha: string;
        read_sha: string;
        length: number;
      };
      assert.equal(res.protocol_version, 5, output);
      assert.equal(res.checksumming, true, 'segments (checksumming) on');
      assert.equal(res.compression, mode === 'lz4' ? 'lz4' : null, output);
      assert.equal(res.length, BLOB_BYTES);
      assert.equal(res.read_sha, res.written_sha, 'read back through the proxy');
      assert.equal(sha(await directBlob(origin!, res.k)), res.written_sha, 'directly on Origin');
      assert.equal(sha(await directBlob(target!, res.k)), res.written_sha, 'directly on Target');
    });
  }

  it('v5 query flags: the keyspace of the request and now_in_seconds reach both clusters', async () => {
    const c = await v5Client();
    try {
      const now = Math.floor(Date.now() / 1000);
      // unqualified table + the request's keyspace; TTL counted from a now_in_seconds 500 s in the past
      expectResult(
        await c.request({
          opcode: Opcode.QUERY,
          query: 'INSERT INTO blobs (k, v) VALUES (7, 0x07) USING TTL 1000',
          params: { consistency: 1, keyspace: ks, nowInSeconds: now - 500 },
        }),
        'INSERT with keyspace and now_in_seconds',
      );
      for (const [cl, name] of [
        [origin!, 'Origin'],
        [target!, 'Target'],
      ] as const) {
        const rs = await cl.execute(`SELECT TTL(v) AS t FROM ${ks}.blobs WHERE k = 7`);
        const ttl = Number(rs.rows[0]?.['t']);
        assert.ok(ttl > 400 && ttl <= 500, `TTL on ${name} counts from now_in_seconds: ${ttl}`);
      }
      const rows = rowsOf(
        await c.request({
          opcode: Opcode.QUERY,
          query: 'SELECT k FROM blobs WHERE k = 7',
          params: { consistency: 1, keyspace: ks },
        }),
      );
      assert.deepEqual(
        rows.map((r) => r['k']),
        [7],
        'read with the request keyspace',
      );
    } finally {
      c.close();
    }
  });

  /** A v5 QUERY frame, as bytes. */
  function queryFrame(c: RawCqlClient, stream: number, cql: string): Buffer {
    return encodeFrame({
      version: c.version,
      isResponse: false,
      streamId: stream,
      flags: 0,
      message: { opcode: Opcode.QUERY, query: cql, params: { consistency: 1 } },
    }).bytes;
  }

  async function expectClosedWithLog(c: RawCqlClient, logPattern: RegExp): Promise<void> {
    await c.closed;
    const line = await waitFor(`proxy log line ${logPattern}`, () => proxy!.logs.find((l) => logPattern.test(l)));
    assert.match(line, /Closing client connection/);
  }

  it('a segment with a bad header CRC24 closes that connection only, with a log line', async () => {
    const c = await v5Client();
    const seg = encodeSegment(queryFrame(c, 9, `SELECT k FROM ${ks}.blobs`), true);
    seg[3] ^= 0x5a; // the CRC24 of the header
    c.writeRaw(seg);
    await expectClosedWithLog(c, /corrupt v5 segment from client: segment header CRC24 mismatch/);
    await assertHealthy();
  });

  it('a segment with a bad payload CRC32 (LZ4 connection) closes that connection only, with a log line', async () => {
    const c = await v5Client({ compression: 'lz4' });
    const seg = encodeSegment(queryFrame(c, 9, `SELECT k FROM ${ks}.blobs`), true, lz4BodyCompressor);
    seg[seg.length - 1] ^= 0x01;
    c.writeRaw(seg);
    await expectClosedWithLog(c, /corrupt v5 segment from client \(lz4\): segment payload CRC32 mismatch/);
    await assertHealthy();
  });

  it('a truncated segment: cut short then closed is logged; cut short then followed by another segment fails its CRC32', async () => {
    const a = await v5Client();
    const seg = encodeSegment(queryFrame(a, 9, `SELECT k FROM ${ks}.blobs`), true);
    a.writeRaw(seg.subarray(0, seg.length - 7));
    a.socket.end();
    await waitFor('truncation log line', () =>
      proxy!.logs.find((l) => /in the middle of a v5 segment or multi-segment frame \(truncated\): \d+ bytes unread/.test(l)),
    );

    const b = await v5Client();
    const s1 = encodeSegment(queryFrame(b, 9, `SELECT k FROM ${ks}.blobs`), true);
    const s2 = encodeSegment(queryFrame(b, 10, `SELECT k FROM ${ks}.blobs`), true);
    b.writeRaw(Buffer.concat([s1.subarray(0, s1.length - 7), s2]));
    await expectClosedWithLog(b, /segment payload CRC32 mismatch/);
    await assertHealthy();
  });

  it('a frame whose length is beyond the maximum (in a multi-segment start) closes that connection only', async () => {
    const c = await v5Client();
    // A QUERY header declaring a 2 GiB - 1 body, alone in a first non-self-contained segment.
    const header = Buffer.from([0x05, 0x00, 0x00, 0x09, Opcode.QUERY, 0x7f, 0xff, 0xff, 0xff]);
    c.writeRaw(encodeSegment(header, false));
    await expectClosedWithLog(
      c,
      /invalid v5 segment from client: frame body length 2147483647 \(QUERY, stream 9\) exceeds the maximum/,
    );
    await assertHealthy();
  });

  it('a v5 frame before STARTUP is answered as Cassandra answers it (PROTOCOL_ERROR on stream 0); the connection can still start', async () => {
    const c = await v5Client({ noHandshake: true });
    try {
      c.writeRaw(queryFrame(c, 9, `SELECT k FROM ${ks}.blobs`));
      const err = await waitFor('PROTOCOL_ERROR on stream 0', () => c.orphans.find((f) => f.streamId === 0));
      assert.equal(err.version, ProtocolVersion.V5);
      assert.deepEqual(errorOf(err), {
        code: ErrorCode.PROTOCOL_ERROR,
        message: 'Unexpected message QUERY, expecting STARTUP or OPTIONS',
      });
      assert.ok(
        proxy!.logs.some((l) => /Protocol error detected \(Unexpected message QUERY/.test(l)),
        'logged (upstream-spec-notes 3.2)',
      );
      await c.handshake({ username: 'cassandra', password: 'cassandra' });
      assert.equal(c.segments, true);
      assert.deepEqual(rowsOf(await c.query(`SELECT k FROM ${ks}.blobs WHERE k = -1`)), []);
    } finally {
      c.close();
    }
  });

  it('a segment before STARTUP is not a frame: PROTOCOL_ERROR (unsupported version) on stream 0', async () => {
    const c = await v5Client({ noHandshake: true });
    try {
      const startup = encodeFrame({
        version: ProtocolVersion.V5,
        isResponse: false,
        streamId: 1,
        flags: 0,
        message: { opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0' } },
      });
      const seg = encodeSegment(startup.bytes, true);
      c.writeRaw(seg);
      const e = errorOf(await waitFor('PROTOCOL_ERROR on stream 0', () => c.orphans.find((f) => f.streamId === 0)));
      assert.equal(e?.code, ErrorCode.PROTOCOL_ERROR);
      assert.equal(e?.message, `Invalid or unsupported protocol version (${seg[0]! & 0x7f})`);
    } finally {
      c.close();
    }
    await assertHealthy();
  });
});
