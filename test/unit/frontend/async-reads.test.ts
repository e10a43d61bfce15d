// Async dual reads (read_mode=DUAL_ASYNC_ON_SECONDARY, upstream-spec-notes 5.4) with fake servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, Opcode } from '../../../src/protocol/constants';
import { Writer } from '../../../src/protocol/primitives';
import type { Execute } from '../../../src/protocol/messages';
import { ClusterConnection, type ClusterConnectionOptions } from '../../../src/backend/cluster-connection';
import { buildPlainToken } from '../../../src/backend/authenticator';
import { TestClient, errorOf, int, startHarness, until, type Harness } from './harness';

const DUAL = { ZDM_READ_MODE: 'DUAL_ASYNC_ON_SECONDARY' };

/** Connection id (on TARGET) of the async connection of the newest session: the last STARTUP after the client's. */
async function asyncConnId(h: Harness, startupsBefore: number): Promise<number> {
  await until(() => h.target.requests(Opcode.STARTUP).length >= startupsBefore + 2, 'the async STARTUP');
  return h.target.requests(Opcode.STARTUP).at(-1)!.connId;
}
const queriesOn = (h: Harness['target'], connId: number, from = 0): string[] =>
  h.received
    .slice(from)
    .filter((r) => r.connId === connId && r.query !== undefined)
    .map((r) => r.query!);

test('reads, USE and PREPAREs of reads also go to the async connection; writes and system reads never do', async () => {
  const h = await startHarness(DUAL);
  try {
    const s0 = h.target.requests(Opcode.STARTUP).length;
    const c = await TestClient.ready(h.proxy.port);
    const syncConn = h.target.requests(Opcode.STARTUP)[s0]!.connId;
    const asyncConn = await asyncConnId(h, s0);
    assert.notEqual(asyncConn, syncConn);
    await until(() => h.proxy.counters.asyncConnectionsOpened === 1, 'the async connector to be ready');
    const from = h.target.received.length;
    await c.query('USE ks');
    await c.query('SELECT * FROM ks.t WHERE k = 1');
    await c.query("INSERT INTO ks.t (k, v) VALUES (1, 'a')");
    await c.query('SELECT * FROM system_schema.tables');
    const sel = await c.prepare('SELECT v FROM ks.t WHERE k = ?');
    const ins = await c.prepare('INSERT INTO ks.t (k, v) VALUES (?, ?)');
    await c.execute(sel, [int(1)]);
    await c.execute(ins, [int(1), Buffer.from('b')]);
    await until(() => h.proxy.counters.asyncCompleted >= 4, 'the async replies');
    assert.deepEqual(queriesOn(h.target, asyncConn, from), [
      'USE ks',
      'SELECT * FROM ks.t WHERE k = 1',
      'SELECT v FROM ks.t WHERE k = ?',
    ]);
    assert.deepEqual(queriesOn(h.target, syncConn, from), [
      'USE ks',
      "INSERT INTO ks.t (k, v) VALUES (1, 'a')",
      'SELECT v FROM ks.t WHERE k = ?',
      'INSERT INTO ks.t (k, v) VALUES (?, ?)',
    ]);
    const asyncExec = h.target.received.slice(from).filter((r) => r.connId === asyncConn && r.opcode === Opcode.EXECUTE);
    assert.equal(asyncExec.length, 1, 'only the prepared read');
    assert.deepEqual(
      (asyncExec[0]!.decoded as Execute).id,
      h.target.preparedId('SELECT v FROM ks.t WHERE k = ?'),
      'with TARGET id',
    );
    const syncExec = h.target.received.slice(from).filter((r) => r.connId === syncConn && r.opcode === Opcode.EXECUTE);
    assert.deepEqual((syncExec[0]!.decoded as Execute).id, h.target.preparedId('INSERT INTO ks.t (k, v) VALUES (?, ?)'));
    assert.equal(h.proxy.counters.asyncSent, 4);
    c.close();
  } finally {
    await h.close();
  }
});

test('a stalled secondary never delays the client; once the async queue is full, async reads are dropped and counted', async () => {
  const h = await startHarness({
    ...DUAL,
    ZDM_ASYNC_CONNECTOR_WRITE_QUEUE_SIZE_FRAMES: '3',
    ZDM_PROXY_REQUEST_TIMEOUT_MS: '60000',
  });
  try {
    const s0 = h.target.requests(Opcode.STARTUP).length;
    const c = await TestClient.ready(h.proxy.port);
    const asyncConn = await asyncConnId(h, s0);
    await until(() => h.proxy.counters.asyncConnectionsOpened === 1, 'the async connector to be ready');
    h.target.onRequest((_f, d, conn) => (conn.id === asyncConn && d?.opcode === Opcode.QUERY ? 'drop' : undefined));
    for (let i = 0; i < 8; i++) {
      const r = await c.query(`SELECT * FROM ks.t WHERE k = ${i}`);
      assert.equal(r.opcode, Opcode.RESULT, 'the client got ORIGIN reply while TARGET async never answers');
    }
    assert.equal(h.proxy.counters.asyncSent, 3);
    assert.equal(h.proxy.counters.asyncDropped, 5);
    const text = await h.proxy.metrics.metricsText();
    assert.match(text, /^zdm_async_requests_dropped_total\{node="[^"]+"\} 5$/m, 'the Prometheus drop counter');
    await until(() => queriesOn(h.target, asyncConn).length === 3, 'three async reads on TARGET');
    c.close();
  } finally {
    await h.close();
  }
});

test('async timeouts are counted and do not affect the client', async () => {
  const h = await startHarness({ ...DUAL, ZDM_PROXY_REQUEST_TIMEOUT_MS: '100' });
  try {
    const s0 = h.target.requests(Opcode.STARTUP).length;
    const c = await TestClient.ready(h.proxy.port);
    const asyncConn = await asyncConnId(h, s0);
    await until(() => h.proxy.counters.asyncConnectionsOpened === 1, 'the async connector to be ready');
    h.target.onRequest((_f, d, conn) => (conn.id === asyncConn && d?.opcode === Opcode.QUERY ? 'drop' : undefined));
    assert.equal((await c.query('SELECT * FROM ks.t')).opcode, Opcode.RESULT);
    await until(() => h.proxy.counters.asyncTimeouts === 1, 'the async timeout');
    assert.equal(h.proxy.counters.requestTimeouts, 0);
    assert.equal((await c.query('SELECT * FROM ks.t')).opcode, Opcode.RESULT);
    assert.equal(c.closed, false);
    c.close();
  } finally {
    await h.close();
  }
});

test('UNPREPARED on the async side triggers a PREPARE there (query text from the cache)', async () => {
  const h = await startHarness(DUAL);
  try {
    const s0 = h.target.requests(Opcode.STARTUP).length;
    const c = await TestClient.ready(h.proxy.port);
    const asyncConn = await asyncConnId(h, s0);
    await until(() => h.proxy.counters.asyncConnectionsOpened === 1, 'the async connector to be ready');
    const q = 'SELECT v FROM ks.u WHERE k = ?';
    const id = await c.prepare(q);
    const targetId = h.target.preparedId(q);
    let forgot = 0;
    h.target.onRequest((_f, d, conn) => {
      if (conn.id !== asyncConn || d?.opcode !== Opcode.EXECUTE || forgot > 0) return undefined;
      forgot++;
      const w = new Writer(64).writeInt(ErrorCode.UNPREPARED).writeString('async forgot').writeShortBytes(targetId);
      return { opcode: Opcode.ERROR, body: Buffer.from(w.finish()) };
    });
    const from = h.target.received.length;
    assert.equal((await c.execute(id, [int(1)])).opcode, Opcode.RESULT, 'the client is not affected');
    await until(() => h.proxy.counters.asyncReprepares === 1, 'the async re-PREPARE');
    await until(
      () => h.target.received.slice(from).some((r) => r.connId === asyncConn && r.opcode === Opcode.PREPARE),
      'PREPARE on the async connection',
    );
    const prep = h.target.received.slice(from).find((r) => r.connId === asyncConn && r.opcode === Opcode.PREPARE)!;
    assert.equal(prep.query, q);
    assert.equal(h.proxy.counters.asyncFailed, 1);
    c.close();
  } finally {
    await h.close();
  }
});

test('async credentials (upstream-spec-notes 3.5.1): primary TARGET, async ORIGIN with TARGET client credentials -> configured ORIGIN credentials', async () => {
  const h = await startHarness(
    {
      ...DUAL,
      ZDM_PRIMARY_CLUSTER: 'TARGET',
      ZDM_ORIGIN_USERNAME: 'ou',
      ZDM_ORIGIN_PASSWORD: 'op',
      ZDM_TARGET_USERNAME: 'tu',
      ZDM_TARGET_PASSWORD: 'tp',
    },
    { origin: { auth: { username: 'ou', password: 'op' } }, target: { auth: { username: 'tu', password: 'tp' } } },
  );
  try {
    const authed = () => h.origin.requests(Opcode.AUTH_RESPONSE).length;
    const a0 = authed();
    const c = await TestClient.connect(h.proxy.port);
    const a = await c.request({ opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0' } });
    assert.equal(a.opcode, Opcode.AUTHENTICATE);
    const ok = await c.request({ opcode: Opcode.AUTH_RESPONSE, token: buildPlainToken('tu', 'tp') });
    assert.equal(ok.opcode, Opcode.AUTH_SUCCESS);
    await until(() => h.proxy.counters.asyncConnectionsOpened === 1, 'the async connector to authenticate on ORIGIN');
    assert.equal(authed() - a0, 2, 'ORIGIN got the proxy auth of the sync and of the async connection');
    const from = h.origin.received.length;
    assert.equal((await c.query('SELECT * FROM ks.t')).opcode, Opcode.RESULT);
    await until(() => h.origin.received.slice(from).some((r) => r.query === 'SELECT * FROM ks.t'), 'the async read on ORIGIN');
    c.close();
  } finally {
    await h.close();
  }
});

test('when the async connection cannot be opened, the session works normally without it', async () => {
  let targetDials = 0;
  const h = await startHarness(
    DUAL,
    {},
    {
      connect: (o: ClusterConnectionOptions) => {
        if (o.cluster === 'TARGET' && ++targetDials === 2) return Promise.reject(new Error('refused for the test'));
        return ClusterConnection.connect(o);
      },
    },
  );
  try {
    const c = await TestClient.ready(h.proxy.port);
    await until(() => h.proxy.counters.asyncConnectionsFailed === 1, 'the failed async dial');
    assert.equal((await c.query('SELECT * FROM ks.t')).opcode, Opcode.RESULT);
    assert.equal((await c.query('INSERT INTO ks.t (k) VALUES (1)')).opcode, Opcode.RESULT);
    // the replies prove both requests were dispatched (an async copy is counted when dispatched): none was sent
    assert.equal(h.proxy.counters.asyncSent, 0);
    assert.equal(errorOf(await c.execute(Buffer.alloc(16, 1))).code, ErrorCode.UNPREPARED);
    c.close();
  } finally {
    await h.close();
  }
});

test('reads sent while the async connection is still handshaking are mirrored once it is ready, in order', async () => {
  const h = await startHarness(DUAL);
  try {
    const s0 = h.target.requests(Opcode.STARTUP).length;
    // hold the async connection's STARTUP (the second STARTUP on TARGET of this session) until released
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let startups = 0;
    h.target.onRequest(async (_f, d) => {
      if (d?.opcode !== Opcode.STARTUP || ++startups !== 2) return undefined;
      await gate;
      return undefined;
    });
    const c = await TestClient.ready(h.proxy.port);
    const asyncConn = await asyncConnId(h, s0);
    await c.query('USE ks');
    assert.equal((await c.query('SELECT * FROM ks.t WHERE k = 7')).opcode, Opcode.RESULT, 'the client is served at once');
    assert.equal(h.proxy.counters.asyncConnectionsOpened, 0, 'the async handshake is still held');
    assert.deepEqual(queriesOn(h.target, asyncConn), [], 'nothing sent on the async connection yet');
    release();
    await until(() => queriesOn(h.target, asyncConn).length === 2, 'the waiting requests on the async connection');
    assert.deepEqual(queriesOn(h.target, asyncConn), ['USE ks', 'SELECT * FROM ks.t WHERE k = 7']);
    assert.equal(h.proxy.counters.asyncDropped, 0);
    c.close();
  } finally {
    await h.close();
  }
});
