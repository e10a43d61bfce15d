// Live read comparison building blocks: compareResults (rows matched by key, bytes compared, page
// and column rules), the Confirmer noise model (delay, bounded queue, rate; transient vs confirmed;
// node:test mock timers) and the bounded MismatchList.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode, ResultKind } from '../../../src/protocol/constants';
import type { Result, Row } from '../../../src/protocol/messages/result';
import type { ColumnSpec } from '../../../src/protocol/messages/result-metadata';
import { DataTypes } from '../../../src/protocol/values';
import { compareResults } from '../../../src/compare/result-compare';
import { Confirmer, MismatchList, differingColumns, type Outcome } from '../../../src/compare/confirmer';

const col = (name: string, type: ColumnSpec['type'] = DataTypes.int, table = 't'): ColumnSpec => ({
  keyspace: 'ks',
  table,
  name,
  type,
});
const COLS = [col('k'), col('c'), col('v', DataTypes.text)];
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const row = (k: number, c: number, v: string | null): Row => [i32(k), i32(c), v === null ? null : Buffer.from(v)];
const rows = (r: Row[], opts: { cols?: ColumnSpec[] | null; paging?: Buffer } = {}): Result =>
  ({
    opcode: Opcode.RESULT,
    kind: ResultKind.ROWS,
    metadata: {
      columnCount: 3,
      ...(opts.cols === null ? {} : { columns: opts.cols ?? COLS }),
      ...(opts.paging ? { pagingState: opts.paging } : {}),
    },
    rows: r,
  }) as Result;
const keys = () => ['k', 'c'];
const cmp = (p: Result, s: Result, more: Partial<Parameters<typeof compareResults>[0]> = {}) =>
  compareResults({ primary: p, secondary: s, requestHadPagingState: false, keyColumns: keys, ...more });

test('compareResults: same rows in another order -> match; a differing cell -> differ with the key and the column', () => {
  assert.deepEqual(cmp(rows([row(1, 1, 'a'), row(2, 1, 'b')]), rows([row(2, 1, 'b'), row(1, 1, 'a')])), {
    result: 'match',
    keyspace: 'ks',
    table: 't',
    rows: 2,
  });
  const d = cmp(rows([row(1, 1, 'a'), row(2, 1, 'b')]), rows([row(1, 1, 'a'), row(2, 1, 'X')]));
  assert.equal(d.result, 'differ');
  if (d.result !== 'differ') return;
  assert.equal(d.differences.length, 1);
  assert.deepEqual(d.differences[0]!.key, [i32(2), i32(1)]);
  assert.deepEqual(d.differences[0]!.columns, ['v']);
  const n = cmp(rows([row(1, 1, null)]), rows([row(1, 1, 'a')]));
  assert.equal(n.result, 'differ', 'null vs value');
});

test('compareResults: a row on one side only is a difference when both results are complete, not when a side has more pages', () => {
  const d = cmp(rows([row(1, 1, 'a')]), rows([row(1, 1, 'a'), row(3, 1, 'c')]));
  assert.equal(d.result, 'differ');
  if (d.result === 'differ') assert.equal(d.differences[0]!.missingOn, 'primary');
  assert.equal(cmp(rows([row(1, 1, 'a')], { paging: Buffer.from([1]) }), rows([row(1, 1, 'a'), row(3, 1, 'c')])).result, 'match');
});

test('compareResults: skipped with the reason', () => {
  const voidR = { opcode: Opcode.RESULT, kind: ResultKind.VOID } as Result;
  assert.deepEqual(cmp(voidR, rows([])), { result: 'skipped', reason: 'not-rows' });
  assert.equal((cmp(rows([], { cols: null }), rows([], { cols: null })) as { reason: string }).reason, 'no-metadata');
  assert.equal(
    cmp(rows([row(1, 1, 'a')], { cols: null }), rows([row(1, 1, 'a')], { cols: null }), { knownColumns: COLS }).result,
    'match',
    'skip_metadata: prepared columns',
  );
  assert.equal((cmp(rows([]), rows([]), { keyColumns: () => undefined }) as { reason: string }).reason, 'no-key-columns');
  assert.equal((cmp(rows([]), rows([]), { keyColumns: () => ['k', 'zz'] }) as { reason: string }).reason, 'key-not-selected');
  assert.equal(
    (cmp(rows([]), rows([], { cols: [col('k'), col('c'), col('v', DataTypes.int)] })) as { reason: string }).reason,
    'columns-differ',
  );
  assert.equal(
    (cmp(rows([]), rows([]), { requestHadPagingState: true }) as { result: string }).result,
    'match',
    'later page, same (no) paging state',
  );
  assert.equal(
    (
      cmp(rows([], { paging: Buffer.from([1]) }), rows([], { paging: Buffer.from([2]) }), { requestHadPagingState: true }) as {
        reason: string;
      }
    ).reason,
    'later-page',
  );
  assert.equal(
    (cmp(rows([], { cols: [col('k'), col('c', DataTypes.int, 'u'), col('v')] }), rows([])) as { reason: string }).reason,
    'not-one-table',
  );
});

test('compareResults: column types are aligned before values are compared (int on one side, bigint on the other); a key column of another type or a column missing on one side is a schema difference, skipped', () => {
  const reason = (r: ReturnType<typeof compareResults>) => (r as { reason?: string }).reason;
  const i64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(n));
    return b;
  };
  // v is int on the primary, bigint on the secondary: compared by value, not by bytes
  const intV = [col('k'), col('c'), col('v', DataTypes.int)];
  const bigintV = [col('k'), col('c'), col('v', DataTypes.bigint)];
  const p = rows(
    [
      [i32(1), i32(1), i32(7)],
      [i32(2), i32(1), i32(8)],
    ],
    { cols: intV },
  );
  const same = cmp(
    p,
    rows(
      [
        [i32(2), i32(1), i64(8)],
        [i32(1), i32(1), i64(7)],
      ],
      { cols: bigintV },
    ),
  );
  assert.equal(same.result, 'match', 'int 7 = bigint 7');
  const d = cmp(
    p,
    rows(
      [
        [i32(1), i32(1), i64(7)],
        [i32(2), i32(1), i64(9)],
      ],
      { cols: bigintV },
    ),
  );
  assert.equal(d.result, 'differ');
  if (d.result === 'differ') {
    assert.deepEqual(
      d.differences.map((x) => [x.key, x.columns]),
      [[[i32(2), i32(1)], ['v']]],
    );
  }
  assert.equal(
    cmp(
      p,
      rows(
        [
          [i32(1), i32(1), null],
          [i32(2), i32(1), i64(8)],
        ],
        { cols: bigintV },
      ),
    ).result,
    'differ',
    'null vs 7',
  );
  // a key column of another type: rows cannot be matched by their key bytes
  const bigintK = [col('k', DataTypes.bigint), col('c'), col('v', DataTypes.text)];
  assert.equal(
    reason(cmp(rows([row(1, 1, 'a')]), rows([[i64(1), i32(1), Buffer.from('a')]], { cols: bigintK }))),
    'columns-differ',
  );
  // SELECT * where the secondary lacks column v
  const noV = [col('k'), col('c')];
  assert.equal(reason(cmp(rows([row(1, 1, 'a')]), rows([[i32(1), i32(1)]], { cols: noV }))), 'columns-differ');
  assert.equal(reason(cmp(rows([[i32(1), i32(1)]], { cols: noV }), rows([row(1, 1, 'a')]))), 'columns-differ');
});

test('differingColumns: a re-read column of another type on each side is compared by value', () => {
  const b8 = Buffer.alloc(8);
  b8.writeBigInt64BE(7n);
  const aligned = [undefined, { primary: DataTypes.int, secondary: DataTypes.bigint }];
  const r = (secondary: Buffer) => ({ primary: [i32(1), i32(7)], secondary: [i32(1), secondary], columns: ['k', 'v'] });
  assert.deepEqual(differingColumns({ ...r(b8), aligned }), []);
  assert.deepEqual(differingColumns(r(b8)), ['v'], 'without the alignment the bytes differ');
  const nine = Buffer.alloc(8);
  nine.writeBigInt64BE(9n);
  assert.deepEqual(differingColumns({ ...r(nine), aligned }), ['v']);
});

test('differingColumns', () => {
  const columns = ['k', 'c', 'v'];
  assert.deepEqual(differingColumns({ primary: row(1, 1, 'a'), secondary: row(1, 1, 'a'), columns }), []);
  assert.deepEqual(differingColumns({ primary: row(1, 1, 'a'), secondary: row(1, 1, 'b'), columns }), ['v']);
  assert.deepEqual(differingColumns({ primary: undefined, secondary: row(1, 1, 'b'), columns }), columns);
  assert.deepEqual(differingColumns({ primary: undefined, secondary: undefined, columns }), []);
});

test('Confirmer: re-reads after the delay; agree -> transient, differ -> confirmed; bounded queue; rate', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const outcomes: Outcome[] = [];
  const rereads: number[] = [];
  const dropped: number[] = [];
  const c = new Confirmer({
    delayMs: 1000,
    maxQueued: 3,
    ratePerSecond: 2,
    now: () => Date.now(),
    reread: async (req) => {
      rereads.push(Date.now());
      const k = req.key[0]!.readInt32BE(0);
      return { columns: ['k', 'v'], primary: [i32(k), Buffer.from('a')], secondary: [i32(k), Buffer.from(k === 1 ? 'a' : 'b')] };
    },
    onOutcome: (o) => outcomes.push(o),
    onDropped: (r) => dropped.push(r.key[0]!.readInt32BE(0)),
  });
  const req = (k: number) => ({ keyspace: 'ks', table: 't', key: [i32(k)], consistency: 1 });
  assert.equal(c.submit(req(1)), true);
  assert.equal(c.submit(req(2)), true);
  assert.equal(c.submit(req(3)), true);
  assert.equal(c.submit(req(4)), false, 'queue full');
  assert.deepEqual(dropped, [4]);
  t.mock.timers.tick(999);
  assert.equal(rereads.length, 0, 'nothing before the delay');
  t.mock.timers.tick(1);
  await new Promise<void>((r) => setImmediate(r));
  assert.equal(rereads.length, 2, 'two tokens: two re-reads at once');
  t.mock.timers.tick(500);
  await new Promise<void>((r) => setImmediate(r));
  assert.equal(rereads.length, 3, 'the third after a token is back');
  assert.deepEqual(
    outcomes.map((o) => o.result),
    ['transient', 'confirmed', 'confirmed'],
  );
  const conf = outcomes[1]!;
  assert.ok(conf.result === 'confirmed' && conf.columns.join() === 'v');
  c.close();
});

test('MismatchList: latest per table, bounded, each new one reported once', () => {
  const l = new MismatchList(2, 10);
  const e = (k: string, cols = ['v']) => ({ keyspace: 'ks', table: 't', key: [k], columns: cols, at: '2026-12-03T00:00:00Z' });
  assert.equal(l.add(e('01')), true);
  assert.equal(l.add(e('01')), false, 'logged once');
  assert.equal(l.add(e('02')), true);
  assert.equal(l.add(e('03')), true);
  assert.deepEqual(
    l.toJSON().tables[0]!.mismatches.map((m) => m.key[0]),
    ['02', '03'],
  );
});
