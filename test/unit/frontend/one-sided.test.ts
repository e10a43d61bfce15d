// Issue 12, "paths to fix": a request sent to both clusters must not end up applied on one side behind the
// client's back. Fake servers script what real clusters cannot do on cue (a full stream id pool on one side,
// UNPREPARED from one side only, USE failing on one side).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { BatchType, Consistency, ErrorCode, Opcode, ProtocolVersion, ResultKind } from '../../../src/protocol/constants';
import { Writer } from '../../../src/protocol/primitives';
import type { FakeServer } from '../../support/fake-server';
import { TestClient, errorOf, int, startHarness, type Harness } from './harness';
import { waitFor } from '../../support/wait';
import { RawCqlClient, bind, expectResult } from '../../support/raw-client';

let h: Harness;
before(async () => {
  h = await startHarness({ ZDM_PROXY_REQUEST_TIMEOUT_MS: '3000' });
});
after(async () => h?.close());

test('TARGET out of stream ids: the write gets OVERLOADED and ORIGIN never receives it', async () => {
  const outer = h;
  h = await startHarness({ ZDM_PROXY_MAX_STREAM_IDS: '2', ZDM_PROXY_REQUEST_TIMEOUT_MS: '5000' });
  const c = await TestClient.ready(h.proxy.port);
  try {
    // TARGET holds on to every write: its two stream ids stay taken
    h.target.onRequest((_f, d) => (d?.opcode === Opcode.QUERY && d.query.startsWith('UPDATE') ? 'drop' : undefined));
    const q = (n: number): string => `UPDATE ks.c SET n = n + 1 WHERE k = ${n}`;
    const pending = [c.query(q(1), undefined, 6000), c.query(q(2), undefined, 6000)];
    const sent = (s: Harness['origin']): string[] =>
      s
        .requests(Opcode.QUERY)
        .map((r) => r.query ?? '')
        .filter((x) => x.startsWith('UPDATE'));
    await waitFor('both writes on both clusters', () => sent(h.target).length === 2 && sent(h.origin).length === 2, {
      intervalMs: 5,
    });
    const e = errorOf(await c.query(q(3)));
    assert.equal(e.code, ErrorCode.OVERLOADED);
    // a read sent after it on the same ORIGIN connection: once ORIGIN has it, the refused write would be there too
    assert.equal((await c.query('SELECT n FROM ks.c WHERE k = 0')).opcode, Opcode.RESULT);
    assert.deepEqual(sent(h.origin), [q(1), q(2)], 'ORIGIN did not get the refused write');
    assert.deepEqual(sent(h.target), [q(1), q(2)]);
    void Promise.allSettled(pending);
  } finally {
    c.close();
    await h.close();
    h = outer;
  }
});

/**
 * `server` has lost the prepared statement `query`: EXECUTEs and BATCHes naming its id get UNPREPARED until a
 * PREPARE of it arrives (`forever`: even after). Returns what it saw.
 */
function forget(server: FakeServer, query: string, forever = false): { unprepared: number; prepares: number } {
  const id = server.preparedId(query);
  const seen = { unprepared: 0, prepares: 0 };
  let lost = true;
  server.onRequest((_f, d) => {
    if (d?.opcode === Opcode.PREPARE && d.query === query) {
      seen.prepares++;
      if (!forever) lost = false;
      return undefined;
    }
    const names =
      d?.opcode === Opcode.EXECUTE
        ? d.id.equals(id)
        : d?.opcode === Opcode.BATCH && d.children.some((ch) => ch.kind === 'prepared' && ch.id.equals(id));
    if (!lost || !names) return undefined;
    seen.unprepared++;
    return {
      opcode: Opcode.ERROR,
      body: Buffer.from(new Writer(64).writeInt(ErrorCode.UNPREPARED).writeString('lost it').writeShortBytes(id).finish()),
    };
  });
  return seen;
}

const bodies = (s: FakeServer, opcode: Opcode, from: number): Buffer[] =>
  s.received
    .slice(from)
    .filter((r) => r.opcode === opcode)
    .map((r) => r.frame.body);

for (const lostOn of ['target', 'origin'] as const) {
  test(`UNPREPARED from ${lostOn.toUpperCase()} only: re-prepared and re-executed there only, the client gets the result`, async () => {
    const c = await TestClient.ready(h.proxy.port);
    const q = `UPDATE ks.c SET n = n + 1 WHERE k = ? /* ${lostOn} */`;
    const other = lostOn === 'target' ? h.origin : h.target;
    try {
      const id = await c.prepare(q);
      const o0 = other.received.length;
      const l0 = h[lostOn].received.length;
      const healed = h.proxy.counters.unpreparedHealed;
      const seen = forget(h[lostOn], q);
      const r = await c.execute(id, [int(7)]);
      assert.equal(
        r.opcode,
        Opcode.RESULT,
        `the client gets the result, not ${r.opcode === Opcode.ERROR ? JSON.stringify(errorOf(r)) : r.opcode}`,
      );
      assert.deepEqual(seen, { unprepared: 1, prepares: 1 }, 'one UNPREPARED, one re-PREPARE on the side that lost it');
      assert.equal(bodies(other, Opcode.EXECUTE, o0).length, 1, 'the other side executed it once');
      assert.equal(bodies(other, Opcode.PREPARE, o0).length, 0, 'nothing re-prepared on the other side');
      const sent = bodies(h[lostOn], Opcode.EXECUTE, l0);
      assert.equal(sent.length, 2, 'the side that lost it: the UNPREPARED EXECUTE, then the re-sent one');
      assert.deepEqual(sent[1], sent[0], 'the very same EXECUTE (id, values, timestamp) re-sent');
      assert.equal(h.proxy.counters.unpreparedHealed, healed + 1);
    } finally {
      h.origin.clearHandlers();
      h.target.clearHandlers();
      c.close();
    }
  });
}

test('BATCH with prepared children, UNPREPARED from TARGET only: every child re-prepared there, the BATCH re-sent there only', async () => {
  const c = await TestClient.ready(h.proxy.port);
  const q1 = 'UPDATE ks.c SET n = n + 1 WHERE k = ? /* batch 1 */';
  const q2 = 'UPDATE ks.c SET n = n + 2 WHERE k = ? /* batch 2 */';
  try {
    const [p1, p2] = [await c.prepare(q1), await c.prepare(q2)];
    const o0 = h.origin.received.length;
    const t0 = h.target.received.length;
    const seen = forget(h.target, q2);
    const r = await c.request({
      opcode: Opcode.BATCH,
      type: BatchType.COUNTER,
      consistency: Consistency.ONE,
      children: [
        { kind: 'prepared', id: p1, values: [int(1)] },
        { kind: 'prepared', id: p2, values: [int(2)] },
      ],
    });
    assert.equal(r.opcode, Opcode.RESULT, JSON.stringify(r.opcode === Opcode.ERROR ? errorOf(r) : r.opcode));
    assert.equal(bodies(h.origin, Opcode.BATCH, o0).length, 1, 'ORIGIN: the BATCH once');
    const tb = bodies(h.target, Opcode.BATCH, t0);
    assert.equal(tb.length, 2, 'TARGET: the BATCH, then the re-sent one');
    assert.deepEqual(tb[1], tb[0]);
    assert.equal(seen.prepares, 1);
    assert.deepEqual(
      h.target.received
        .slice(t0)
        .filter((x) => x.opcode === Opcode.PREPARE)
        .map((x) => x.query)
        .sort(),
      [q1, q2].sort(),
    );
  } finally {
    h.target.clearHandlers();
    c.close();
  }
});

test('UNPREPARED from TARGET only that re-preparing does not cure: SERVER_ERROR naming it, never UNPREPARED, nothing re-sent to ORIGIN', async () => {
  const c = await TestClient.ready(h.proxy.port);
  const q = 'UPDATE ks.c SET n = n + 1 WHERE k = ? /* stubborn */';
  try {
    const id = await c.prepare(q);
    const o0 = h.origin.received.length;
    const notHealed = h.proxy.counters.unpreparedNotHealed;
    const seen = forget(h.target, q, true);
    const e = errorOf(await c.execute(id, [int(1)]));
    assert.equal(e.code, ErrorCode.SERVER_ERROR);
    assert.match(e.message, /applied on ORIGIN but TARGET had lost the prepared statement/);
    assert.equal(seen.unprepared, 2);
    assert.equal(bodies(h.origin, Opcode.EXECUTE, o0).length, 1);
    assert.equal(h.proxy.counters.unpreparedNotHealed, notHealed + 1);
  } finally {
    h.target.clearHandlers();
    c.close();
  }
});

test('UNPREPARED from ORIGIN and a write timeout from TARGET: the client gets the write timeout, not UNPREPARED', async () => {
  const c = await TestClient.ready(h.proxy.port);
  const q = 'UPDATE ks.c SET n = n + 1 WHERE k = ? /* timeout */';
  try {
    const id = await c.prepare(q);
    forget(h.origin, q);
    const tid = h.target.preparedId(q);
    h.target.onRequest((_f, d) => {
      if (d?.opcode !== Opcode.EXECUTE || !d.id.equals(tid)) return undefined;
      const w = new Writer(64)
        .writeInt(ErrorCode.WRITE_TIMEOUT)
        .writeString('timed out')
        .writeShort(Consistency.ONE)
        .writeInt(0)
        .writeInt(1)
        .writeString('COUNTER');
      return { opcode: Opcode.ERROR, body: Buffer.from(w.finish()) };
    });
    const e = errorOf(await c.execute(id, [int(1)]));
    assert.equal(e.code, ErrorCode.WRITE_TIMEOUT);
  } finally {
    h.origin.clearHandlers();
    h.target.clearHandlers();
    c.close();
  }
});

/** TARGET refuses `USE <ks>` (the keyspace exists on ORIGIN only). */
function noKeyspaceOnTarget(ks: string): void {
  h.target.onRequest((_f, d) =>
    d?.opcode === Opcode.QUERY && d.query === `USE ${ks}`
      ? {
          opcode: Opcode.ERROR,
          body: Buffer.from(new Writer(64).writeInt(ErrorCode.INVALID).writeString(`Keyspace '${ks}' does not exist`).finish()),
        }
      : undefined,
  );
}

test('USE that succeeds on ORIGIN only: ORIGIN is put back on the previous keyspace, the client gets the error and keeps its connection', async () => {
  const c = await TestClient.ready(h.proxy.port);
  try {
    assert.equal((await c.query('USE ks1')).opcode, Opcode.RESULT);
    noKeyspaceOnTarget('only_origin');
    const o0 = h.origin.received.length;
    const restored = h.proxy.counters.useRestored;
    const e = errorOf(await c.query('USE only_origin'));
    assert.equal(e.code, ErrorCode.INVALID);
    assert.match(e.message, /only_origin/);
    assert.deepEqual(
      h.origin.received.slice(o0).map((r) => r.query),
      ['USE only_origin', 'USE "ks1"'],
      'ORIGIN went back to ks1 before the answer',
    );
    assert.equal(h.proxy.counters.useRestored, restored + 1);
    assert.equal((await c.query('SELECT * FROM t')).opcode, Opcode.RESULT, 'the connection stays usable');
    assert.equal(c.closed, false);
  } finally {
    h.target.clearHandlers();
    c.close();
  }
});

test('USE that succeeds on ORIGIN only with no previous keyspace: the client gets the error, then the connection is closed', async () => {
  const c = await TestClient.ready(h.proxy.port);
  try {
    noKeyspaceOnTarget('only_origin');
    const e = errorOf(await c.query('USE only_origin'));
    assert.equal(e.code, ErrorCode.INVALID);
    await waitFor('the client connection closed', () => c.closed);
  } finally {
    h.target.clearHandlers();
    c.close();
  }
});

test('v5, UNPREPARED from TARGET only, re-prepared with a new result metadata id: healed, later EXECUTEs to TARGET carry the new one', async () => {
  const v5 = await startHarness(
    { ZDM_PROXY_REQUEST_TIMEOUT_MS: '3000' },
    { origin: { maxVersion: ProtocolVersion.V5 }, target: { maxVersion: ProtocolVersion.V5 } },
  );
  const c = await RawCqlClient.connect({
    host: '127.0.0.1',
    port: v5.proxy.port,
    version: ProtocolVersion.V5,
    credentials: null,
  });
  const q = 'UPDATE ks.c SET n = n + 1 WHERE k = ? /* v5 metadata */';
  const fresh = Buffer.alloc(16, 0xee);
  try {
    const id = await c.prepare(q);
    const tid = v5.target.preparedId(q);
    const seen = forget(v5.target, q);
    // TARGET's table changed: its re-PREPARE answers the same id with another result metadata id
    v5.target.onRequest((_f, d) => {
      if (d?.opcode !== Opcode.PREPARE || d.query !== q) return undefined;
      const w = new Writer(64).writeInt(ResultKind.PREPARED).writeShortBytes(tid).writeShortBytes(fresh);
      w.writeInt(0).writeInt(0).writeInt(0).writeInt(0x4).writeInt(0);
      return { opcode: Opcode.RESULT, body: Buffer.from(w.finish()) };
    });
    const t0 = v5.target.received.length;
    expectResult(await c.execute(id, [bind.int(1)]), 'the EXECUTE TARGET had lost');
    assert.deepEqual(seen, { unprepared: 1, prepares: 1 }, 'one UNPREPARED, one re-PREPARE');
    expectResult(await c.execute(id, [bind.int(2)]), 'the next EXECUTE');
    const rm = v5.target.received
      .slice(t0)
      .filter((r) => r.opcode === Opcode.EXECUTE)
      .map((r) => Buffer.from((r.decoded as { resultMetadataId: Buffer }).resultMetadataId).toString('hex'));
    assert.equal(rm.length, 3, 'TARGET: the UNPREPARED EXECUTE, the re-sent one, the next one');
    assert.equal(rm[2], fresh.toString('hex'), "the next EXECUTE carries TARGET's new result metadata id");
    assert.equal(v5.proxy.counters.unpreparedHealed, 1);
  } finally {
    c.close();
    await v5.close();
  }
});
