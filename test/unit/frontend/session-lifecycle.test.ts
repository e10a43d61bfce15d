// USE, events, heartbeats, timeouts, limits, connection loss, shutdown and host removal (upstream-spec-notes 2.3, 2.4, 2.7-2.9, 4.4, 5.3, 5.6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consistency, ErrorCode, Opcode, ProtocolVersion, ResultKind } from '../../../src/protocol/constants';
import { Writer } from '../../../src/protocol/primitives';
import { ControlConnection } from '../../../src/backend/control-connection';
import type { Host } from '../../../src/backend/topology';
import { OVERLOADED_MESSAGE } from '../../../src/protocol/replies';
import { TestClient, decode, errorOf, sample, startHarness, until } from './harness';
import { errorReply } from '../../support/fake-server';
import { waitFor } from '../../support/wait';

const voidBody = (): Buffer => Buffer.from(new Writer(4).writeInt(ResultKind.VOID).finish());

test('USE goes to both; the session keyspace resolves unqualified names (ks.peers is a user table, system.local is virtual)', async () => {
  const h = await startHarness();
  try {
    const c = await TestClient.ready(h.proxy.port);
    const o0 = h.origin.queries().length;
    const t0 = h.target.queries().length;
    const r = decode(await c.query('USE ks'));
    assert.deepEqual([r.opcode, (r as { keyspace?: string }).keyspace], [Opcode.RESULT, 'ks']);
    assert.deepEqual(h.origin.queries().slice(o0), ['USE ks']);
    assert.deepEqual(h.target.queries().slice(t0), ['USE ks']);
    await c.query('SELECT * FROM peers');
    assert.equal(h.origin.queries().at(-1), 'SELECT * FROM peers', 'ks.peers is the user table: forwarded');
    await c.query('USE system');
    const n = h.origin.queries().length;
    const local = decode(await c.query('SELECT * FROM local'));
    assert.equal((local as { kind: number }).kind, ResultKind.ROWS);
    assert.equal(h.origin.queries().length, n, 'system.local answered by the proxy, not forwarded');
    await c.query('SELECT * FROM peers');
    assert.equal(h.origin.queries().length, n, 'system.peers answered by the proxy');
    c.close();
  } finally {
    await h.close();
  }
});

test('DSE_V2: the keyspace field of the request wins over the session keyspace', async () => {
  const v = ProtocolVersion.DSE_V2;
  const h = await startHarness({}, { origin: { maxVersion: v }, target: { maxVersion: v } });
  try {
    const c = await TestClient.ready(h.proxy.port, v);
    await c.query('USE ks');
    const n = h.origin.queries().length;
    const r = decode(
      await c.request({
        opcode: Opcode.QUERY,
        query: 'SELECT * FROM local',
        params: { consistency: Consistency.ONE, keyspace: 'system' },
      }),
    );
    assert.equal((r as { kind: number }).kind, ResultKind.ROWS);
    assert.equal(h.origin.queries().length, n, 'virtual: not forwarded');
    await c.request({
      opcode: Opcode.QUERY,
      query: 'SELECT * FROM local',
      params: { consistency: Consistency.ONE, keyspace: 'other' },
    });
    assert.equal(h.origin.queries().length, n + 1, 'other.local is a user table');
    c.close();
  } finally {
    await h.close();
  }
});

test('REGISTER goes to both; only ORIGIN schema changes reach the client, once; topology/status events dropped', async () => {
  const h = await startHarness();
  try {
    const c = await TestClient.ready(h.proxy.port);
    const r = await c.request({ opcode: Opcode.REGISTER, eventTypes: ['SCHEMA_CHANGE', 'TOPOLOGY_CHANGE', 'STATUS_CHANGE'] });
    assert.equal(r.opcode, Opcode.READY);
    const schema = {
      opcode: Opcode.EVENT,
      type: 'SCHEMA_CHANGE',
      schemaChange: { changeType: 'CREATED', target: 'TABLE', keyspace: 'ks', name: 't1' },
    } as const;
    const fromTarget = { ...schema, schemaChange: { ...schema.schemaChange, name: 'from_target' } } as const;
    h.target.pushEvent(fromTarget as never);
    h.target.pushEvent(h.target.topologyChange('NEW_NODE', '127.0.0.9'));
    h.origin.pushEvent(h.origin.topologyChange('REMOVED_NODE', '127.0.0.8'));
    h.origin.pushEvent({
      opcode: Opcode.EVENT,
      type: 'STATUS_CHANGE',
      change: 'DOWN',
      address: { address: '127.0.0.8', port: 9042 },
    });
    h.origin.pushEvent(schema as never);
    await until(() => c.events.length >= 1, 'the schema event');
    // A write goes to both: each server sent its events before its reply, and the proxy passes on (or drops) what a
    // connection delivers in order, so every event either server pushed above has been dealt with by this reply.
    assert.equal((await c.query("INSERT INTO ks.t (k) VALUES ('after_events')")).opcode, Opcode.RESULT);
    assert.equal(c.events.length, 1);
    const ev = decode(c.events[0]!) as { type: string; schemaChange: { name: string } };
    assert.equal(ev.type, 'SCHEMA_CHANGE');
    assert.equal(ev.schemaChange.name, 't1');
    c.close();
  } finally {
    await h.close();
  }
});

test('heartbeats: a read-only workload sends proxy OPTIONS to the idle TARGET connection (upstream-spec-notes 2.7)', async (t) => {
  const h = await startHarness({ ZDM_HEARTBEAT_INTERVAL_MS: '100' });
  try {
    const c = await TestClient.ready(h.proxy.port);
    const startup = h.target.requests(Opcode.STARTUP).at(-1)!;
    const sessionConn = startup.connId;
    const options = () => h.target.requests(Opcode.OPTIONS, sessionConn).length;
    const before = options();
    // Time is the subject: the interval is measured with Date.now(), which the mock clock moves 120 ms before each read.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    for (let i = 0; i < 4; i++) {
      t.mock.timers.tick(120);
      await c.query(`SELECT * FROM ks.t WHERE k = ${i}`);
    }
    await until(() => options() >= before + 3, 'proxy heartbeats on the TARGET connection');
    assert.equal(h.target.queries().filter((q) => q.startsWith('SELECT * FROM ks.t')).length, 0, 'reads never reached TARGET');
    c.close();
  } finally {
    await h.close();
  }
});

test('proxy_request_timeout_ms: no reply, ids freed on the late reply, late reply dropped and counted, connection usable', async () => {
  const h = await startHarness({ ZDM_PROXY_REQUEST_TIMEOUT_MS: '150' });
  try {
    const c = await TestClient.ready(h.proxy.port);
    // TARGET answers 'late_one' only when the test says so (after the proxy gave up on it)
    let sendLateReply: (() => void) | undefined;
    h.target.onRequest((_f, d) =>
      d?.opcode === Opcode.QUERY && d.query.includes('late_one')
        ? new Promise((r) => (sendLateReply = () => r({ opcode: Opcode.RESULT, body: voidBody() })))
        : undefined,
    );
    // Requests sent without a waiter: any reply to them lands in c.unmatched. Positive control first: one that is
    // answered shows up there.
    const sendUnwaited = (query: string): void => {
      c.socket.write(c.frame({ opcode: Opcode.QUERY, query, params: { consistency: Consistency.ONE } }).bytes);
    };
    sendUnwaited('SELECT * FROM ks.t');
    await until(() => c.unmatched.length === 1, 'the reply to a request sent without a waiter');
    c.unmatched.length = 0;
    sendUnwaited("INSERT INTO ks.t (k) VALUES ('late_one')");
    await until(() => h.proxy.counters.requestTimeouts === 1, 'the proxy to time the request out');
    // The client connection delivers in order: a later request's reply comes after anything sent at the timeout.
    assert.equal((await c.query('SELECT * FROM ks.t')).opcode, Opcode.RESULT);
    assert.equal(c.unmatched.length, 0, 'no reply for the timed-out request');
    assert.ok(sendLateReply, "TARGET holds 'late_one'");
    sendLateReply();
    await until(() => h.proxy.counters.lateReplies() === 1, 'the late reply to be counted');
    const ok = await c.query("INSERT INTO ks.t (k) VALUES ('fine')");
    assert.equal(ok.opcode, Opcode.RESULT);
    assert.equal(c.unmatched.length, 0, 'the late reply never reached the client');
    assert.equal(c.closed, false);
    c.close();
  } finally {
    await h.close();
  }
});

test('proxy_max_client_connections: refused above the limit, admitted again after others leave', async () => {
  const h = await startHarness({ ZDM_PROXY_MAX_CLIENT_CONNECTIONS: '2' });
  try {
    const a = await TestClient.ready(h.proxy.port);
    const b = await TestClient.ready(h.proxy.port);
    const refused = await TestClient.connect(h.proxy.port);
    await until(() => refused.closed, 'the third connection to be closed');
    a.close();
    await until(() => h.proxy.clientConnections === 1, 'the first client to be released');
    const d = await TestClient.ready(h.proxy.port);
    assert.equal((await d.query('SELECT * FROM ks.t')).opcode, Opcode.RESULT);
    b.close();
    d.close();
  } finally {
    await h.close();
  }
});

const RECONNECT_ENV = { ZDM_HEARTBEAT_RETRY_INTERVAL_MIN_MS: '20', ZDM_HEARTBEAT_RETRY_INTERVAL_MAX_MS: '100' };

test('losing the TARGET connection of a ready session: in-flight write SERVER_ERROR, ORIGIN reads go on, writes UNAVAILABLE (sent nowhere), then TARGET is reopened (STARTUP, USE) and writes reach both again', async () => {
  const h = await startHarness(RECONNECT_ENV);
  try {
    const a = await TestClient.ready(h.proxy.port);
    const b = await TestClient.ready(h.proxy.port);
    assert.equal(decode(await a.query('USE ks')).opcode, Opcode.RESULT);
    let targetUp = true;
    h.target.onRequest((_f, d, conn) => {
      if (d?.opcode === Opcode.QUERY && d.query.includes('cut_me')) {
        targetUp = false;
        conn.socket.destroy();
        return 'drop';
      }
      // while "down", the reopened connection's STARTUP is refused: the session retries with backoff
      if (d?.opcode === Opcode.STARTUP && !targetUp) return errorReply.serverError('node is starting');
      return undefined;
    });
    const lost = errorOf(await a.query("INSERT INTO t (k) VALUES ('cut_me')"));
    assert.equal(lost.code, ErrorCode.SERVER_ERROR, 'outcome on TARGET unknown: SERVER_ERROR (retried only if idempotent)');
    assert.match(lost.message, /TARGET was lost with this request in flight/);
    assert.ok(h.origin.queries().includes("INSERT INTO t (k) VALUES ('cut_me')"), 'ORIGIN had it (sent before the loss)');
    assert.equal(a.closed, false, 'the client connection stays open');
    assert.equal(h.proxy.counters.clusterConnectionsLost, 1);
    assert.equal(h.proxy.counters.sessionsClosedByClusterLoss, 0);
    // reads for the live primary (ORIGIN) go on
    assert.equal(decode(await a.query('SELECT * FROM t')).opcode, Opcode.RESULT);
    // writes need TARGET: refused at once, sent to neither cluster
    const originBefore = h.origin.queries().length;
    const down = errorOf(await a.query("INSERT INTO t (k) VALUES ('while_down')"));
    assert.equal(down.code, ErrorCode.UNAVAILABLE);
    assert.match(down.message, /connection to TARGET is down.*not sent to any cluster/);
    assert.deepEqual([(down as { required?: number }).required, (down as { alive?: number }).alive], [1, 0]);
    assert.equal(h.origin.queries().length, originBefore, 'ORIGIN did not get the refused write');
    assert.ok(!h.target.queries().includes("INSERT INTO t (k) VALUES ('while_down')"));
    assert.ok(h.proxy.counters.clusterDownRefusals >= 1);
    const text = await h.proxy.metrics.metricsText();
    assert.equal(
      sample(text, 'zdm_proxy_failed_writes_total', { failed_on: 'target' }),
      2,
      'failed on TARGET: the write lost in flight and the refused one',
    );
    // the other session is unharmed
    assert.equal(decode(await b.query("INSERT INTO ks.t (k) VALUES ('b')")).opcode, Opcode.RESULT);
    await waitFor('a refused reopen attempt', () => h.target.requests(Opcode.STARTUP).length >= 4);
    assert.equal(h.proxy.counters.clusterConnectionsReopened, 0, 'not reopened while STARTUP is refused');
    targetUp = true;
    await waitFor('TARGET reopened', () => h.proxy.counters.clusterConnectionsReopened === 1);
    assert.ok(h.target.queries().includes('USE "ks"'), 'the session keyspace is restored on the new connection');
    assert.equal(decode(await a.query("INSERT INTO t (k) VALUES ('after')")).opcode, Opcode.RESULT);
    assert.ok(h.origin.queries().includes("INSERT INTO t (k) VALUES ('after')"));
    assert.ok(h.target.queries().includes("INSERT INTO t (k) VALUES ('after')"), 'writes reach TARGET again');
    a.close();
    b.close();
  } finally {
    await h.close();
  }
});

test('losing the ORIGIN connection with ORIGIN primary: reads and writes get UNAVAILABLE until it is reopened; losing both closes the session', async () => {
  const h = await startHarness(RECONNECT_ENV);
  try {
    const a = await TestClient.ready(h.proxy.port);
    let originUp = true;
    h.origin.onRequest((_f, d, conn) => {
      if (d?.opcode === Opcode.QUERY && d.query.includes('cut_me')) {
        originUp = false;
        conn.socket.destroy();
        return 'drop';
      }
      if (d?.opcode === Opcode.STARTUP && !originUp) return errorReply.serverError('node is starting');
      return undefined;
    });
    const lost = errorOf(await a.query('SELECT * FROM ks.cut_me'));
    assert.equal(lost.code, ErrorCode.SERVER_ERROR);
    assert.match(lost.message, /ORIGIN was lost/);
    assert.equal(errorOf(await a.query('SELECT * FROM ks.t')).code, ErrorCode.UNAVAILABLE, 'a read for the dead primary');
    assert.equal(errorOf(await a.query("INSERT INTO ks.t (k) VALUES ('x')")).code, ErrorCode.UNAVAILABLE);
    originUp = true;
    await waitFor('ORIGIN reopened', () => h.proxy.counters.clusterConnectionsReopened === 1);
    assert.equal(decode(await a.query('SELECT * FROM ks.t')).opcode, Opcode.RESULT);
    // both lost: nothing left to serve from, the session closes (as upstream)
    h.origin.onRequest((_f, d) => (d?.opcode === Opcode.STARTUP ? 'drop' : undefined));
    for (const c of [...h.origin.connections]) if (!c.registered) c.socket.destroy(); // not the control connection
    await waitFor('ORIGIN down again', () => h.proxy.counters.clusterConnectionsLost === 2);
    for (const c of [...h.target.connections]) if (!c.registered) c.socket.destroy();
    await waitFor('the client connection closed', () => a.closed);
    assert.equal(h.proxy.counters.sessionsClosedByClusterLoss, 1);
  } finally {
    await h.close();
  }
});

test("a reopened ORIGIN connection gets the client's REGISTER again (schema events flow); a reopen that cannot authenticate closes the client", async () => {
  const h = await startHarness(RECONNECT_ENV);
  try {
    const c = await TestClient.ready(h.proxy.port);
    assert.equal((await c.request({ opcode: Opcode.REGISTER, eventTypes: ['SCHEMA_CHANGE'] })).opcode, Opcode.READY);
    const registers = h.origin.requests(Opcode.REGISTER).length;
    // the session's ORIGIN connection: the newest registered one (the control connection opened first)
    [...h.origin.connections]
      .filter((x) => x.registered)
      .at(-1)!
      .socket.destroy();
    await waitFor('ORIGIN reopened', () => h.proxy.counters.clusterConnectionsReopened === 1);
    assert.equal(h.origin.requests(Opcode.REGISTER).length, registers + 1, 'REGISTER sent again on the new connection');
    h.origin.pushEvent({
      opcode: Opcode.EVENT,
      type: 'SCHEMA_CHANGE',
      schemaChange: { changeType: 'CREATED', target: 'TABLE', keyspace: 'ks', name: 'after_reopen' },
    } as never);
    await waitFor('the schema event through the reopened connection', () => c.events.length >= 1);
    assert.equal((decode(c.events[0]!) as { schemaChange: { name: string } }).schemaChange.name, 'after_reopen');
    // TARGET now asks for credentials the session does not have: the reopen cannot succeed, the client is closed
    h.target.auth = { username: 'u', password: 'p' };
    [...h.target.connections]
      .filter((x) => x.registered)
      .at(-1)!
      .socket.destroy(); // REGISTER went to both
    await waitFor('the client connection closed', () => c.closed);
    assert.equal(h.proxy.counters.sessionsClosedByClusterLoss, 1);
  } finally {
    await h.close();
  }
});

test('graceful shutdown: in-flight requests finish, new ones get OVERLOADED', async () => {
  const h = await startHarness({ ZDM_SHUTDOWN_GRACE_PERIOD_MS: '5000' });
  let closed: Promise<void> | undefined;
  try {
    const c = await TestClient.ready(h.proxy.port);
    // ORIGIN answers 'slow' only once the test has seen the drain at work
    let answerSlow: (() => void) | undefined;
    h.origin.onRequest((_f, d) =>
      d?.opcode === Opcode.QUERY && d.query.includes('slow')
        ? new Promise((r) => (answerSlow = () => r({ opcode: Opcode.RESULT, body: voidBody() })))
        : undefined,
    );
    const slow = c.query("INSERT INTO ks.t (k) VALUES ('slow')");
    await until(() => answerSlow !== undefined, 'the slow request to reach ORIGIN');
    closed = h.proxy.close();
    // close() stops the listener, then (a microtask later, before any socket event) marks the sessions draining:
    // once a new connection is refused, the request below is read by a draining session.
    await waitFor('the listener to refuse connections', () =>
      TestClient.connect(h.proxy.port).then(
        (x) => {
          x.close();
          return false;
        },
        () => true,
      ),
    );
    const e = errorOf(await c.query('SELECT * FROM ks.t'));
    assert.equal(e.code, ErrorCode.OVERLOADED);
    assert.equal(e.message, OVERLOADED_MESSAGE);
    answerSlow!();
    assert.equal((await slow).opcode, Opcode.RESULT, 'the in-flight request completed');
    await closed;
    await until(() => c.closed, 'the client connection to be closed after the drain');
  } finally {
    await (closed ?? h.proxy.close());
    await h.origin.stop();
    await h.target.stop();
  }
});

test('upstream-spec-notes 2.8: a session whose ORIGIN host leaves the topology drains and closes; others stay', async () => {
  const controls: ControlConnection[] = [];
  const h = await startHarness(
    {},
    {},
    {
      controlConnectionFactory: (cluster, config, logger) => {
        const c = cluster === 'ORIGIN' ? config.origin : config.target;
        const cc = new ControlConnection({
          cluster,
          contactPoints: c.contactPoints,
          port: c.port,
          connectTimeoutMs: 2000,
          heartbeatIntervalMs: 30000,
          retryIntervalMinMs: 100,
          retryIntervalMaxMs: 1000,
          retryBackoffFactor: 2,
          topologyIndex: 0,
          topologyCount: 1,
          logger,
        });
        controls.push(cc);
        return cc;
      },
    },
  );
  try {
    const c = await TestClient.ready(h.proxy.port);
    const origin = controls.find((x) => x.cluster === 'ORIGIN')!;
    const other: Host = { ...origin.hosts[0]!, address: '10.9.9.9' };
    origin.emit('hosts-changed', [other], origin.hosts); // handled at once (listeners run synchronously)
    // a draining session would answer OVERLOADED and then close: it answers normally and stays open
    assert.equal((await c.query('SELECT * FROM ks.t')).opcode, Opcode.RESULT);
    assert.equal(h.proxy.counters.sessionsDrainedByHostRemoval, 0);
    assert.equal(c.closed, false, 'a removed host this session does not use changes nothing');
    origin.emit('hosts-changed', [origin.hosts[0]!], []);
    await until(() => c.closed, 'the client connection to drain and close');
    assert.equal(h.proxy.counters.sessionsDrainedByHostRemoval, 1);
    // a new client connected while the host is gone is drained right after its connections open
    const late = await TestClient.connect(h.proxy.port);
    await until(() => late.closed, 'the new client to be drained');
  } finally {
    await h.close();
  }
});
