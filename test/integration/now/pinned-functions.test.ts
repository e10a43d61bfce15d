// Every non-deterministic CQL function pinned (replace_cql_functions=true) against the real clusters:
// now(), currentTimeUUID(), uuid(), currentTimestamp(), currentDate(), currentTime() and compositions
// (toTimestamp(now()), toUnixTimestamp(now()), toDate(now())), as whole terms and inside list, set,
// map and UDT literals, in QUERY, PREPARE/EXECUTE (positional and named markers) and batches: each
// row read back DIRECTLY from Origin and from Target is the same (SELECT JSON * compares every column).
// Without the setting each cluster evaluates the functions itself: uuid() differs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';

import { type BothClusters, bothClusters, uniqueKeyspaceName } from '../../support/clusters';
import { type ReplaceFunctionsPair, replaceFunctionsPair } from '../../support/proxy';

const COLUMNS = 'k, tu, tu2, id, ts, d, ti, ts2, bi, d2';
const VALUES =
  'now(), currentTimeUUID(), uuid(), currentTimestamp(), currentDate(), currentTime(), toTimestamp(now()), toUnixTimestamp(now()), toDate(now())';
const COLLECTIONS =
  'l = l + [now(), currentTimeUUID()], m = {now(): currentTimestamp()}, s = {currentDate()}, ud = {a: now(), b: currentTimestamp(), c: uuid()}';

describe('replace_cql_functions: every non-deterministic function pinned', () => {
  const ks = uniqueKeyspaceName('pinfn');
  let both: BothClusters | undefined;
  let origin: Client | undefined;
  let target: Client | undefined;
  let proxies: ReplaceFunctionsPair | undefined;
  let client: Client | undefined;
  let offClient: Client | undefined;

  /** Row k as JSON on each cluster. */
  async function rowJson(k: number): Promise<{ o: Record<string, unknown>; t: Record<string, unknown> }> {
    const get = async (c: Client): Promise<Record<string, unknown>> => {
      const r = (await c.execute(`SELECT JSON * FROM ${ks}.t WHERE k = ?`, [k], { prepare: true })).first();
      assert.ok(r, `row ${k} missing`);
      return JSON.parse(String(r['[json]'])) as Record<string, unknown>;
    };
    const [o, t] = await Promise.all([get(origin!), get(target!)]);
    return { o, t };
  }
  /** Asserts the given columns are set and identical on both clusters. */
  async function assertSame(k: number, cols: readonly string[], what: string): Promise<Record<string, unknown>> {
    const { o, t } = await rowJson(k);
    for (const c of cols) {
      assert.ok(o[c] !== null && o[c] !== undefined, `${what}: ${c} is null on Origin (${JSON.stringify(o)})`);
      assert.deepEqual(t[c], o[c], `${what}: ${c} differs: Origin ${JSON.stringify(o[c])}, Target ${JSON.stringify(t[c])}`);
    }
    return o;
  }
  const SCALARS = ['tu', 'tu2', 'id', 'ts', 'd', 'ti', 'ts2', 'bi', 'd2'];
  const COLLECTION_COLS = ['l', 'm', 's', 'ud'];

  before(async () => {
    both = await bothClusters(ks, [
      `CREATE TYPE ${ks}.u (a timeuuid, b timestamp, c uuid)`,
      `CREATE TABLE ${ks}.t (k int PRIMARY KEY, tu timeuuid, tu2 timeuuid, id uuid, ts timestamp, d date, ti time,
        ts2 timestamp, bi bigint, d2 date, l list<timeuuid>, m map<timeuuid, timestamp>, s set<date>, ud frozen<u>)`,
    ]);
    ({ origin, target } = both);
    proxies = await replaceFunctionsPair(ks);
    ({ client, offClient } = proxies);
  });
  after(async () => {
    await proxies?.close();
    await both?.close();
  });

  it('QUERY: each function and composition as a whole term gets the same value on both', async () => {
    await client!.execute(`INSERT INTO t (${COLUMNS}) VALUES (1, ${VALUES})`, [], { prepare: false });
    const o = await assertSame(1, SCALARS, 'QUERY');
    assert.match(String(o['id']), /^[0-9a-f]{8}-[0-9a-f]{4}-4/, 'uuid() is a random (v4) uuid');
    assert.match(String(o['tu']), /^[0-9a-f]{8}-[0-9a-f]{4}-1/, 'now() is a time (v1) uuid');
    assert.match(String(o['d']), /^\d{4}-\d{2}-\d{2}$/);
    assert.match(String(o['ti']), /^\d{2}:\d{2}:\d{2}\.\d{9}$/);
    const today = new Date().toISOString().slice(0, 10);
    assert.ok(
      [today, new Date(Date.now() - 60_000).toISOString().slice(0, 10)].includes(String(o['d'])),
      `currentDate() is today (${o['d']})`,
    );
  });

  it('QUERY: inside list, set, map and UDT literals', async () => {
    await client!.execute(`UPDATE t SET ${COLLECTIONS} WHERE k = 2`, [], { prepare: false });
    const o = await assertSame(2, COLLECTION_COLS, 'collections');
    assert.equal((o['l'] as unknown[]).length, 2);
  });

  it('PREPARE/EXECUTE (positional): the client binds only its own markers; every function the same on both, new values per EXECUTE', async () => {
    const q = `INSERT INTO t (${COLUMNS}) VALUES (?, ${VALUES})`;
    await client!.execute(q, [3], { prepare: true });
    const first = await assertSame(3, SCALARS, 'EXECUTE');
    await client!.execute(q, [4], { prepare: true });
    const second = await assertSame(4, SCALARS, 'EXECUTE again');
    assert.notEqual(second['tu'], first['tu'], 'a new now() per execution');
    assert.notEqual(second['id'], first['id'], 'a new uuid() per execution');
    await client!
      .execute(`UPDATE t SET ud = {a: now(), b: currentTimestamp(), c: uuid()}, tu = toTimestamp(now()) WHERE k = ?`, [5], {
        prepare: true,
      })
      .then(
        () => assert.fail('tu is a timeuuid: toTimestamp(now()) is refused as Cassandra refuses it'),
        (e: Error) => assert.match(e.message, /timeuuid|timestamp/i),
      );
    await client!.execute(
      `UPDATE t SET ud = {a: now(), b: currentTimestamp(), c: uuid()}, m[now()] = currentTimestamp() WHERE k = ?`,
      [5],
      { prepare: true },
    );
    await assertSame(5, ['ud', 'm'], 'EXECUTE: UDT literal and map subscript');
  });

  it('PREPARE with a function inside a list/set/map literal: a clear error (Cassandra allows no marker there), nothing diverges', async () => {
    for (const set of ['l = l + [now()]', 's = {currentDate()}', 'm = {uuid(): currentTimestamp()}']) {
      const e = await client!.execute(`UPDATE t SET ${set} WHERE k = ?`, [11], { prepare: true }).then(
        () => undefined,
        (err: Error) => err,
      );
      assert.ok(e, `${set}: refused`);
      assert.match(
        e.message,
        /replace_cql_functions: .*inside a list, set or map literal cannot be pinned in a prepared statement/,
      );
    }
    for (const c of [origin!, target!])
      assert.equal((await c.execute(`SELECT k FROM ${ks}.t WHERE k = 11`)).rowLength, 0, 'nothing written');
  });

  it('PREPARE/EXECUTE with named markers', async () => {
    await client!.execute(
      `INSERT INTO t (k, id, ts, d, ti, ts2) VALUES (:k, uuid(), currentTimestamp(), currentDate(), currentTime(), toTimestamp(now()))`,
      { k: 6 },
      { prepare: true },
    );
    await assertSame(6, ['id', 'ts', 'd', 'ti', 'ts2'], 'named');
  });

  it('BATCH: text and prepared children', async () => {
    await client!.batch(
      [
        { query: `INSERT INTO t (${COLUMNS}) VALUES (7, ${VALUES})` },
        { query: `INSERT INTO t (${COLUMNS}) VALUES (?, ${VALUES})`, params: [8] },
        { query: `UPDATE t SET ud = {a: now(), b: currentTimestamp(), c: uuid()} WHERE k = ?`, params: [9] },
      ],
      { prepare: true },
    );
    await assertSame(7, SCALARS, 'batch child 0');
    await assertSame(8, SCALARS, 'batch child 1');
    await assertSame(9, ['ud'], 'batch child 2');
    await client!.batch(
      [{ query: `INSERT INTO t (${COLUMNS}) VALUES (10, ${VALUES})` }, { query: `UPDATE t SET ${COLLECTIONS} WHERE k = 10` }],
      { prepare: false },
    );
    await assertSame(10, [...SCALARS, ...COLLECTION_COLS], 'text batch');
  });

  it('replace_cql_functions=false: each cluster evaluates the functions itself (uuid() differs)', async () => {
    await offClient!.execute(`INSERT INTO t (k, id, tu) VALUES (20, uuid(), now())`, [], { prepare: false });
    const { o, t } = await rowJson(20);
    assert.notEqual(o['id'], t['id']);
  });
});
