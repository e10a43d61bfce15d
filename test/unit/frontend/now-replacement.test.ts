// now() replacement wired into the request path (replace_cql_functions, upstream-spec-notes 4.6): both clusters get the same timeuuid.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BatchType, Consistency, ErrorCode, Opcode, ProtocolVersion, ResultKind } from '../../../src/protocol/constants';
import { encodeMessage, type Batch, type Execute, type PreparedResult } from '../../../src/protocol/messages';
import { DataTypes } from '../../../src/protocol/values';
import type { FakeServer } from '../../support/fake-server';
import { TestClient, decode, errorOf, int, startHarness, type Harness } from './harness';

const UUID_LITERAL = /[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** PREPARE of `text` answers with typed variables (k int, ts timeuuid, ...) and EXECUTE of that id answers VOID. */
function typedPrepare(s: FakeServer, text: string, vars: { name: string; type: 'int' | 'timeuuid' }[], pk: number[]): void {
  const id = s.preparedId(text);
  s.onRequest((_f, d) => {
    if (d?.opcode === Opcode.PREPARE && d.query === text) {
      const msg: PreparedResult = {
        opcode: Opcode.RESULT,
        kind: ResultKind.PREPARED,
        id,
        variables: {
          pkIndices: pk,
          columns: vars.map((v) => ({ keyspace: 'ks', table: 't', name: v.name, type: DataTypes[v.type] })),
        },
        resultMetadata: { columnCount: 0 },
      };
      return { opcode: Opcode.RESULT, body: encodeMessage(msg, ProtocolVersion.V4) };
    }
    if ((d?.opcode === Opcode.EXECUTE && d.id.equals(id)) || d?.opcode === Opcode.BATCH) {
      return { opcode: Opcode.RESULT, body: encodeMessage({ opcode: Opcode.RESULT, kind: ResultKind.VOID }, ProtocolVersion.V4) };
    }
    return undefined;
  });
}

let h: Harness;
before(async () => {
  h = await startHarness({ ZDM_REPLACE_CQL_FUNCTIONS: 'true' });
});
after(async () => h?.close());

test('QUERY: now() becomes the same timeuuid literal on ORIGIN and TARGET', async () => {
  const c = await TestClient.ready(h.proxy.port);
  assert.equal((await c.query('INSERT INTO ks.t (k, ts) VALUES (1, now())')).opcode, Opcode.RESULT);
  const o = h.origin.queries().at(-1)!;
  const t = h.target.queries().at(-1)!;
  assert.equal(o, t);
  assert.doesNotMatch(o, /now\(\)/);
  assert.match(o, UUID_LITERAL);
  // SELECT is never rewritten
  await c.query('SELECT now() FROM ks.t');
  assert.equal(h.origin.queries().at(-1), 'SELECT now() FROM ks.t');
  c.close();
});

test('PREPARE: now() prepared as a marker, hidden from the client; EXECUTE adds the same generated value for both', async () => {
  const c = await TestClient.ready(h.proxy.port);
  const sent = 'INSERT INTO ks.t (k, ts) VALUES (?, ?)';
  const vars = [
    { name: 'k', type: 'int' as const },
    { name: 'ts', type: 'timeuuid' as const },
  ];
  typedPrepare(h.origin, sent, vars, [0]);
  typedPrepare(h.target, sent, vars, [0]);
  try {
    const r = decode(
      await c.request({ opcode: Opcode.PREPARE, query: 'INSERT INTO ks.t (k, ts) VALUES (?, now())' }),
    ) as PreparedResult;
    assert.deepEqual(r.id, h.origin.preparedId(sent));
    assert.deepEqual(
      r.variables.columns.map((x) => x.name),
      ['k'],
      'the generated variable is hidden',
    );
    assert.deepEqual(r.variables.pkIndices, [0]);
    assert.equal(h.origin.queries().at(-1), sent);
    assert.equal(h.target.queries().at(-1), sent);
    const o0 = h.origin.received.length;
    const t0 = h.target.received.length;
    assert.equal((await c.execute(r.id, [int(7)])).opcode, Opcode.RESULT);
    const oe = h.origin.received.slice(o0).find((x) => x.opcode === Opcode.EXECUTE)!.decoded as Execute;
    const te = h.target.received.slice(t0).find((x) => x.opcode === Opcode.EXECUTE)!.decoded as Execute;
    assert.deepEqual(oe.id, h.origin.preparedId(sent));
    assert.deepEqual(te.id, h.target.preparedId(sent));
    assert.equal(oe.params.values!.length, 2);
    assert.deepEqual(oe.params.values![0], int(7));
    assert.equal((oe.params.values![1] as Buffer).length, 16);
    assert.deepEqual(te.params.values, oe.params.values, 'the same timeuuid on both clusters');
    assert.equal((oe.params.values![1] as Buffer)[6]! >> 4, 1, 'a version 1 (time) uuid');
    // a wrong value count is answered with an error, nothing sent
    assert.equal(errorOf(await c.execute(r.id, [int(1), int(2)])).code, ErrorCode.INVALID);

    // BATCH: a text child and the prepared child get generated values, the same on both clusters
    const b0 = h.origin.received.length;
    const bt0 = h.target.received.length;
    const batch: Batch = {
      opcode: Opcode.BATCH,
      type: BatchType.LOGGED,
      consistency: Consistency.ONE,
      children: [
        { kind: 'query', query: 'INSERT INTO ks.t (k, ts) VALUES (2, now())', values: [] },
        { kind: 'prepared', id: r.id, values: [int(3)] },
      ],
    };
    assert.equal((await c.request(batch)).opcode, Opcode.RESULT);
    const ob = h.origin.received.slice(b0).find((x) => x.opcode === Opcode.BATCH)!.decoded as Batch;
    const tb = h.target.received.slice(bt0).find((x) => x.opcode === Opcode.BATCH)!.decoded as Batch;
    const oq = ob.children[0] as { query: string };
    assert.match(oq.query, UUID_LITERAL);
    assert.equal((tb.children[0] as { query: string }).query, oq.query);
    assert.deepEqual((tb.children[1] as { values: unknown[] }).values, (ob.children[1] as { values: unknown[] }).values);
    assert.equal((ob.children[1] as { values: unknown[] }).values.length, 2);
    assert.deepEqual((tb.children[1] as { id: Buffer }).id, h.target.preparedId(sent));
  } finally {
    h.origin.clearHandlers();
    h.target.clearHandlers();
  }
  c.close();
});

test('replace_cql_functions=false (default): now() is forwarded as written', async () => {
  const off = await startHarness();
  try {
    const c = await TestClient.ready(off.proxy.port);
    await c.query('INSERT INTO ks.t (k, ts) VALUES (1, now())');
    assert.equal(off.origin.queries().at(-1), 'INSERT INTO ks.t (k, ts) VALUES (1, now())');
    assert.equal(off.target.queries().at(-1), 'INSERT INTO ks.t (k, ts) VALUES (1, now())');
    c.close();
  } finally {
    await off.close();
  }
});
