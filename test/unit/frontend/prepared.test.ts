// Prepared statements and batches through the proxy (upstream-spec-notes 4.5, 5.5), with fake servers handing out
// different prepared ids (ORIGIN and TARGET salts differ).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BatchType, Consistency, ErrorCode, Opcode, ProtocolVersion, ResultKind } from '../../../src/protocol/constants';
import { Writer } from '../../../src/protocol/primitives';
import type { Batch, Execute } from '../../../src/protocol/messages';
import { unpreparedMessage } from '../../../src/protocol/replies';
import { TestClient, decode, errorOf, int, startHarness, type Harness } from './harness';
import { decodeFrame, encodeFrame } from '../../../src/protocol/frame-codec';
import type { PreparedResult } from '../../../src/protocol/messages';
import type { RawFrame } from '../../../src/protocol/frame';
import { DataTypes } from '../../../src/protocol/values';

const voidBody = (): Buffer => Buffer.from(new Writer(4).writeInt(ResultKind.VOID).finish());

let h: Harness;
before(async () => {
  // Byte-for-byte forwarding is checked here: no pinned write timestamps (test/unit/routing/write-timestamps.test.ts).
  h = await startHarness({ ZDM_PROXY_REQUEST_TIMEOUT_MS: '1000', ZDM_PIN_WRITE_TIMESTAMPS: 'false' });
});
after(async () => h?.close());

const executes = (s: Harness['origin'], from: number) => s.received.slice(from).filter((r) => r.opcode === Opcode.EXECUTE);

test('PREPARE goes to both; the client sees ORIGIN id; EXECUTE carries each cluster its own id; SELECT -> primary only', async () => {
  const c = await TestClient.ready(h.proxy.port);
  const o0 = h.origin.received.length;
  const t0 = h.target.received.length;
  const ins = await c.prepare('INSERT INTO ks.t (k, v) VALUES (?, ?)');
  const sel = await c.prepare('SELECT v FROM ks.t WHERE k = ?');
  assert.deepEqual(ins, h.origin.preparedId('INSERT INTO ks.t (k, v) VALUES (?, ?)'));
  assert.notDeepEqual(ins, h.target.preparedId('INSERT INTO ks.t (k, v) VALUES (?, ?)'));
  assert.equal(h.origin.requests(Opcode.PREPARE).length >= 2 && h.target.requests(Opcode.PREPARE).length >= 2, true);

  assert.equal((await c.execute(ins, [int(1), Buffer.from('a')])).opcode, Opcode.RESULT);
  assert.equal((await c.execute(sel, [int(1)])).opcode, Opcode.RESULT);
  const oe = executes(h.origin, o0).map((r) => (r.decoded as Execute).id.toString('hex'));
  const te = executes(h.target, t0).map((r) => (r.decoded as Execute).id.toString('hex'));
  assert.deepEqual(oe, [ins.toString('hex'), sel.toString('hex')], 'ORIGIN: both EXECUTEs with ORIGIN ids');
  assert.deepEqual(
    te,
    [h.target.preparedId('INSERT INTO ks.t (k, v) VALUES (?, ?)').toString('hex')],
    'TARGET: only the write, with its id',
  );
  // values, consistency: the same bytes after the id
  const ob = executes(h.origin, o0)[0]!.frame.body;
  const tb = executes(h.target, t0)[0]!.frame.body;
  assert.deepEqual(ob.subarray(18), tb.subarray(18));
  c.close();
});

test('EXECUTE of an unknown id: UNPREPARED with that id and upstream text, counted as a cache miss', async () => {
  const c = await TestClient.ready(h.proxy.port);
  const misses = h.proxy.counters.preparedCacheMisses;
  const id = Buffer.alloc(16, 0xcd);
  const e = errorOf(await c.execute(id));
  assert.equal(e.code, ErrorCode.UNPREPARED);
  assert.equal(e.message, unpreparedMessage(id));
  assert.deepEqual((e as { id: Buffer }).id, id);
  assert.equal(h.proxy.counters.preparedCacheMisses, misses + 1);
  c.close();
});

test('UNPREPARED from both clusters reaches the client with the ORIGIN id and upstream text; re-prepare heals', async () => {
  // (UNPREPARED from one cluster only: one-sided.test.ts)
  const c = await TestClient.ready(h.proxy.port);
  const q = "INSERT INTO ks.t (k, v) VALUES (?, 'x')";
  const id = await c.prepare(q);
  let forget = true;
  const forgetting = (s: Harness['origin']) =>
    s.onRequest((_f, d) => {
      const mine = s.preparedId(q);
      if (!forget || d?.opcode !== Opcode.EXECUTE || !d.id.equals(mine)) return undefined;
      const w = new Writer(64).writeInt(ErrorCode.UNPREPARED).writeString('forgot').writeShortBytes(mine);
      return { opcode: Opcode.ERROR, body: Buffer.from(w.finish()) };
    });
  forgetting(h.origin);
  forgetting(h.target);
  try {
    const e = errorOf(await c.execute(id, [int(1)]));
    assert.equal(e.code, ErrorCode.UNPREPARED);
    assert.deepEqual((e as { id: Buffer }).id, id, 'the id the client knows');
    forget = false;
    assert.deepEqual(await c.prepare(q), id);
    assert.equal((await c.execute(id, [int(1)])).opcode, Opcode.RESULT);
  } finally {
    h.origin.clearHandlers();
    h.target.clearHandlers();
  }
  c.close();
});

test('a bounded cache (2 entries, 3 statements) evicts the least recently used: UNPREPARED, never a wrong id', async () => {
  const small = await startHarness({ ZDM_PROXY_MAX_PREPARED_STATEMENTS: '2' });
  try {
    const c = await TestClient.ready(small.proxy.port);
    const qs = ['INSERT INTO ks.a (k) VALUES (?)', 'INSERT INTO ks.b (k) VALUES (?)', 'INSERT INTO ks.c (k) VALUES (?)'];
    const ids: Buffer[] = [];
    for (const q of qs) ids.push(await c.prepare(q));
    assert.equal(small.proxy.cache.mainSize, 2);
    const t0 = small.target.received.length;
    // statement 0 was evicted: the proxy answers UNPREPARED itself, nothing is sent
    const e = errorOf(await c.execute(ids[0]!, [int(1)]));
    assert.equal(e.code, ErrorCode.UNPREPARED);
    assert.deepEqual((e as { id: Buffer }).id, ids[0]);
    assert.equal(small.proxy.counters.preparedCacheMisses, 1);
    assert.equal(executes(small.target, t0).length, 0);
    // the two others still map to their own TARGET ids
    for (const i of [1, 2]) assert.equal((await c.execute(ids[i]!, [int(i)])).opcode, Opcode.RESULT);
    assert.deepEqual(
      executes(small.target, t0).map((r) => (r.decoded as Execute).id.toString('hex')),
      [small.target.preparedId(qs[1]!).toString('hex'), small.target.preparedId(qs[2]!).toString('hex')],
    );
    // re-prepare 0 (evicts 1, the least recently used), then 0 works with its TARGET id
    assert.deepEqual(await c.prepare(qs[0]!), ids[0]);
    assert.equal((await c.execute(ids[0]!, [int(0)])).opcode, Opcode.RESULT);
    assert.deepEqual((executes(small.target, t0).at(-1)!.decoded as Execute).id, small.target.preparedId(qs[0]!));
    assert.equal(errorOf(await c.execute(ids[1]!, [int(1)])).code, ErrorCode.UNPREPARED);
    // every EXECUTE TARGET ever saw carried a TARGET id
    const targetIds = new Set(qs.map((q) => small.target.preparedId(q).toString('hex')));
    for (const r of small.target.requests(Opcode.EXECUTE)) assert.ok(targetIds.has((r.decoded as Execute).id.toString('hex')));
    c.close();
  } finally {
    await small.close();
  }
});

test('BATCH (logged, unlogged, counter) with simple, prepared and mixed children: only ids rewritten for TARGET', async () => {
  const c = await TestClient.ready(h.proxy.port);
  const p1q = 'INSERT INTO ks.t (k, v) VALUES (?, ?)';
  const p2q = 'UPDATE ks.c SET n = n + ? WHERE k = ?';
  const p1 = await c.prepare(p1q);
  const p2 = await c.prepare(p2q);
  const cases: Batch[] = [
    {
      opcode: Opcode.BATCH,
      type: BatchType.LOGGED,
      consistency: Consistency.QUORUM,
      children: [
        { kind: 'query', query: "INSERT INTO ks.t (k, v) VALUES (1, 'a')", values: [] },
        { kind: 'prepared', id: p1, values: [int(2), Buffer.from('b')] },
        { kind: 'query', query: 'INSERT INTO ks.t (k, v) VALUES (?, ?)', values: [int(3), null] },
        { kind: 'prepared', id: p1, values: [int(4), Buffer.from('d')] },
      ],
      serialConsistency: Consistency.LOCAL_SERIAL,
      defaultTimestamp: 1234567890123456n,
    },
    {
      opcode: Opcode.BATCH,
      type: BatchType.UNLOGGED,
      consistency: Consistency.ONE,
      children: [{ kind: 'query', query: "INSERT INTO ks.t (k, v) VALUES (5, 'e')", values: [] }],
    },
    {
      opcode: Opcode.BATCH,
      type: BatchType.COUNTER,
      consistency: Consistency.ALL,
      children: [
        { kind: 'prepared', id: p2, values: [Buffer.from('0000000000000001', 'hex'), int(1)] },
        { kind: 'prepared', id: p2, values: [Buffer.from('0000000000000002', 'hex'), int(2)] },
      ],
      defaultTimestamp: 42n,
    },
    { opcode: Opcode.BATCH, type: BatchType.LOGGED, consistency: Consistency.ONE, children: [] },
  ];
  for (const b of cases) {
    const o0 = h.origin.received.length;
    const t0 = h.target.received.length;
    const r = await c.request(b);
    assert.equal(r.opcode, Opcode.RESULT);
    const ob = h.origin.received.slice(o0).find((x) => x.opcode === Opcode.BATCH)!.frame.body;
    const tb = h.target.received.slice(t0).find((x) => x.opcode === Opcode.BATCH)!.frame.body;
    // ORIGIN gets the client's bytes, TARGET the same bytes with TARGET ids in place of ORIGIN ids
    const expected = Buffer.from(ob);
    for (const [oid, tid] of [
      [p1, h.target.preparedId(p1q)],
      [p2, h.target.preparedId(p2q)],
    ] as const) {
      for (let i = expected.indexOf(oid); i >= 0; i = expected.indexOf(oid, i + 1)) tid.copy(expected, i);
    }
    assert.deepEqual(tb, expected);
    assert.deepEqual(ob, c.frame(b, 99).body, 'ORIGIN gets the client bytes');
  }
  // a BATCH naming an unknown prepared child: UNPREPARED for that id, nothing sent
  const unknown = Buffer.alloc(16, 7);
  const e = errorOf(
    await c.request({
      opcode: Opcode.BATCH,
      type: BatchType.LOGGED,
      consistency: Consistency.ONE,
      children: [
        { kind: 'prepared', id: p1, values: [int(1), null] },
        { kind: 'prepared', id: unknown, values: [] },
      ],
    }),
  );
  assert.equal(e.code, ErrorCode.UNPREPARED);
  assert.deepEqual((e as { id: Buffer }).id, unknown);
  c.close();
});

test('paging state and result metadata of the primary pass through unchanged', async () => {
  const c = await TestClient.ready(h.proxy.port);
  const rows = Buffer.from(
    new Writer(64)
      .writeInt(ResultKind.ROWS)
      .writeInt(0x0002 | 0x0004)
      .writeInt(1)
      .writeBytes(Buffer.from('PAGE-STATE-1'))
      .writeInt(0)
      .finish(),
  );
  h.origin.onRequest((_f, d) =>
    d?.opcode === Opcode.QUERY && d.query.includes('paged_tbl') ? { opcode: Opcode.RESULT, body: rows } : undefined,
  );
  try {
    const o0 = h.origin.received.length;
    const req = c.frame({
      opcode: Opcode.QUERY,
      query: 'SELECT * FROM ks.paged_tbl',
      params: { consistency: Consistency.ONE, pageSize: 1, pagingState: Buffer.from('CLIENT-STATE') },
    });
    const r = await c.send(req);
    assert.deepEqual(r.body, rows, 'RESULT body as ORIGIN sent it');
    assert.deepEqual(h.origin.received[o0]!.frame.body, req.body, 'request bytes (paging state) as the client sent them');
  } finally {
    h.origin.clearHandlers();
  }
  c.close();
});

test('DSE_V2: EXECUTE to TARGET carries TARGET prepared id and result metadata id; the client sees ORIGIN ids', async () => {
  const v = ProtocolVersion.DSE_V2;
  const d = await startHarness({}, { origin: { maxVersion: v }, target: { maxVersion: v } });
  try {
    const c = await TestClient.ready(d.proxy.port, v);
    const q = 'SELECT * FROM ks.t WHERE k = ?';
    const prep = decode(await c.request({ opcode: Opcode.PREPARE, query: q })) as { id: Buffer; resultMetadataId?: Buffer };
    assert.deepEqual(prep.id, d.origin.preparedId(q));
    assert.deepEqual(prep.resultMetadataId, d.origin.preparedId(q));
    d.proxy.settings.set({ primaryCluster: 'TARGET' });
    const t0 = d.target.received.length;
    const r = await c.request({
      opcode: Opcode.EXECUTE,
      id: prep.id,
      resultMetadataId: prep.resultMetadataId,
      params: { consistency: Consistency.ONE, values: [int(1)] },
    });
    assert.equal(r.opcode, Opcode.RESULT);
    const ex = d.target.received.slice(t0).find((x) => x.opcode === Opcode.EXECUTE)!.decoded as Execute;
    assert.deepEqual(ex.id, d.target.preparedId(q));
    assert.deepEqual(ex.resultMetadataId, d.target.preparedId(q));
    assert.deepEqual(ex.params.values, [int(1)]);
    c.close();
  } finally {
    await d.close();
  }
});

test('envelopes: a PREPARED reply with warnings is cached; an EXECUTE with a custom payload keeps it, TARGET id rewritten', async () => {
  const c = await TestClient.ready(h.proxy.port);
  const q = 'INSERT INTO kv (k) VALUES (?)';
  // Cassandra warns on PREPARE of an unqualified statement after USE: the reply carries the WARNING flag
  h.origin.onRequest((_f, d) => {
    if (d?.opcode !== Opcode.PREPARE || d.query !== q) return undefined;
    const prepared: PreparedResult = {
      opcode: Opcode.RESULT,
      kind: ResultKind.PREPARED,
      id: h.origin.preparedId(q),
      variables: { pkIndices: [0], columns: [{ keyspace: 'ks', table: 'kv', name: 'k', type: DataTypes.int }] },
      resultMetadata: { columnCount: 0 },
    };
    return encodeFrame({
      version: ProtocolVersion.V4,
      isResponse: true,
      streamId: 0,
      flags: 0,
      warnings: ['USE <keyspace> with prepared statements is considered to be an anti-pattern'],
      message: prepared,
    });
  });
  // the fake server's own decoding ignores request envelopes: decode the frame here
  const executes = (s: Harness['origin']) => (f: RawFrame) => {
    if (f.opcode !== Opcode.EXECUTE) return undefined;
    return (decodeFrame(f).message as Execute).id.equals(s.preparedId(q))
      ? { opcode: Opcode.RESULT, body: voidBody() }
      : undefined;
  };
  h.target.onRequest(executes(h.target));
  h.origin.onRequest(executes(h.origin));
  try {
    const before = h.proxy.cache.mainSize;
    const id = await c.prepare(q);
    assert.equal(h.proxy.cache.mainSize, before + 1, 'cached despite the warnings');
    const t0 = h.target.received.length;
    const payload = { 'zdm-test': Buffer.from('kept') };
    const ex = encodeFrame({
      version: ProtocolVersion.V4,
      isResponse: false,
      streamId: 77,
      flags: 0,
      customPayload: payload,
      message: { opcode: Opcode.EXECUTE, id, params: { consistency: Consistency.ONE, values: [int(5)] } },
    });
    const exr = await c.send(ex);
    assert.equal(exr.opcode, Opcode.RESULT, JSON.stringify(exr.opcode === Opcode.ERROR ? decode(exr) : exr.opcode));
    const got = decodeFrame(h.target.received.slice(t0).find((r) => r.opcode === Opcode.EXECUTE)!.frame);
    assert.deepEqual((got.message as Execute).id, h.target.preparedId(q));
    assert.deepEqual(got.customPayload, payload);
  } finally {
    h.origin.clearHandlers();
    h.target.clearHandlers();
  }
  c.close();
});
