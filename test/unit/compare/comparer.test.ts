// DualReadComparer (the wiring of the live read comparison): sampling, skip reasons, the pending bound and its
// expiry, confirmations (transient / confirmed / error when the confirmation queue is full), the mismatch list
// and the key columns read from system_schema (SchemaKeys, forgotten on SCHEMA_CHANGE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Consistency, Opcode, ProtocolVersion, ResultKind } from '../../../src/protocol/constants';
import { encodeFrame } from '../../../src/protocol/frame-codec';
import { RawFrame } from '../../../src/protocol/frame';
import type { Message } from '../../../src/protocol/messages';
import { rowsResult, type RowsResult } from '../../../src/protocol/messages/result';
import { DataTypes } from '../../../src/protocol/values';
import {
  DualReadComparer,
  type ComparerSkipReason,
  type ComparisonResult,
  type DualReadComparerOptions,
  type TableInfo,
} from '../../../src/compare/dual-read-comparer';
import { SchemaKeys, SCHEMA_COLUMNS_QUERY } from '../../../src/backend/schema-keys';
import { waitFor } from '../../support/wait';
import type { ClusterName } from '../../../src/cluster';

const V = ProtocolVersion.V4;
const frame = (message: Message, isResponse: boolean): RawFrame =>
  encodeFrame({ version: V, isResponse, streamId: 1, flags: 0, message });
const query = (paging?: Buffer): RawFrame =>
  frame(
    {
      opcode: Opcode.QUERY,
      query: 'SELECT * FROM ks.t',
      params: { consistency: Consistency.LOCAL_QUORUM, ...(paging ? { pagingState: paging } : {}) },
    },
    false,
  );
const COLS = [
  { name: 'k', type: DataTypes.int },
  { name: 'v', type: DataTypes.varchar },
];
const rows = (r: [number, string][], paging?: Buffer): RawFrame =>
  frame(rowsResult('ks', 't', COLS, r, V, paging ? { pagingState: paging } : {}), true);
const voidReply = (): RawFrame => frame({ opcode: Opcode.RESULT, kind: ResultKind.VOID }, true);
const errorReply = (): RawFrame => frame({ opcode: Opcode.ERROR, code: 0x2200, message: 'invalid' } as Message, true);

const TABLE: TableInfo = { keyColumns: ['k'], columns: new Set(['k', 'v']) };

function setup(over: Partial<DualReadComparerOptions> = {}, reread?: Map<string, [[number, string][], [number, string][]]>) {
  const results: string[] = [];
  const skips: ComparerSkipReason[] = [];
  const overflows: string[] = [];
  const queries: { cluster: string; cql: string; consistency: number }[] = [];
  const c = new DualReadComparer({
    sampleRate: 1,
    maxPending: 10,
    expireMs: 1000,
    logValues: false,
    confirmDelayMs: 0,
    confirmQueueSize: 10,
    confirmRatePerSecond: 1000,
    tables: { table: async (ks, t) => (ks === 'ks' && t === 't' ? TABLE : undefined) },
    reader: {
      query: async (cluster, cql, values, consistency) => {
        queries.push({ cluster, cql, consistency });
        const k = values[0]!.readInt32BE(0);
        const [o, t] = reread?.get(String(k)) ?? [[], []];
        const r = rowsResult('ks', 't', COLS, cluster === 'ORIGIN' ? o : t, V) as RowsResult;
        return r;
      },
    },
    metrics: {
      comparison: (ks: string, t: string, r: ComparisonResult) => results.push(`${ks}.${t}:${r}`),
      skipped: (r) => skips.push(r),
      overflow: (q) => overflows.push(q),
    },
    logger: pino({ level: 'silent' }),
    ...over,
  });
  return { c, results, skips, overflows, queries };
}

function run(
  c: DualReadComparer,
  req: RawFrame,
  p: RawFrame | undefined,
  s: RawFrame | undefined,
  primary: ClusterName = 'ORIGIN',
) {
  const pc = c.begin(req, undefined, primary);
  assert.ok(pc, 'sampled');
  pc.primaryReply(p);
  pc.secondaryReply(s);
}

test('identical rows in another order -> match; nothing is decoded before both replies are in', async () => {
  const { c, results } = setup();
  const pc = c.begin(query(), undefined, 'ORIGIN')!;
  pc.primaryReply(
    rows([
      [1, 'a'],
      [2, 'b'],
    ]),
  );
  assert.equal(c.pendingCount, 1);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(results, [], 'waits for the secondary');
  pc.secondaryReply(
    rows([
      [2, 'b'],
      [1, 'a'],
    ]),
  );
  assert.deepEqual(results, [], 'compared on a later turn, not in the reply callback');
  await waitFor('compared', () => results.length === 1);
  assert.deepEqual(results, ['ks.t:match']);
  assert.equal(c.pendingCount, 0);
  c.close();
});

test('sampling: rate 0 compares nothing, 0.5 compares the draws under it', () => {
  assert.equal(setup({ sampleRate: 0 }).c.begin(query(), undefined, 'ORIGIN'), undefined);
  const draws = [0.1, 0.7, 0.49, 0.5];
  const { c } = setup({ sampleRate: 0.5, random: () => draws.shift()! });
  const taken = [0, 1, 2, 3].map(() => c.begin(query(), undefined, 'ORIGIN') !== undefined);
  assert.deepEqual(taken, [true, false, true, false]);
  c.close();
});

test('skip reasons: error reply, no reply, not rows, later page with other paging states, unknown table', async () => {
  const { c, results, skips } = setup();
  run(c, query(), rows([[1, 'a']]), errorReply());
  run(c, query(), rows([[1, 'a']]), undefined);
  run(c, query(), voidReply(), voidReply());
  run(c, query(Buffer.from([1])), rows([[1, 'a']], Buffer.from([2])), rows([[1, 'a']], Buffer.from([3])));
  const other = frame(rowsResult('ks', 'other', COLS, [[1, 'a']], V), true);
  run(c, query(), other, other);
  run(c, frame({ opcode: Opcode.OPTIONS } as Message, false), voidReply(), voidReply());
  await waitFor('six results', () => results.length === 6);
  assert.deepEqual([...skips].sort(), ['error-reply', 'later-page', 'no-key-columns', 'no-reply', 'not-a-query', 'not-rows']);
  assert.ok(results.every((r) => r.endsWith(':skipped')));
  assert.ok(results.includes('ks.t:skipped'), 'later-page is counted for its table');
  // a later page whose paging states agree is compared
  run(c, query(Buffer.from([1])), rows([[1, 'a']], Buffer.from([2])), rows([[1, 'a']], Buffer.from([2])));
  await waitFor('a match', () => results.includes('ks.t:match'));
  c.close();
});

test('bounded: at most maxPending held; the overflow is counted, not compared', () => {
  const { c, overflows, skips } = setup({ maxPending: 2, expireMs: 60_000 });
  assert.ok(c.begin(query(), undefined, 'ORIGIN'));
  assert.ok(c.begin(query(), undefined, 'ORIGIN'));
  assert.equal(c.begin(query(), undefined, 'ORIGIN'), undefined, 'third one over the bound');
  assert.deepEqual(overflows, ['pending']);
  assert.equal(c.pendingCount, 2);
  assert.deepEqual(skips, []);
  c.close();
  assert.equal(c.pendingCount, 0);
});

test('expiry: a comparison whose replies never all come is released as no-reply', async () => {
  const { c, skips } = setup({ expireMs: 20 });
  const pc = c.begin(query(), undefined, 'ORIGIN')!;
  pc.primaryReply(rows([[1, 'a']]));
  await waitFor('expired', () => c.pendingCount === 0);
  assert.deepEqual(skips, ['no-reply']);
  pc.secondaryReply(rows([[1, 'a']])); // late: ignored
  c.close();
});

test('a differing row is read again on both clusters with the client consistency: agree -> transient, differ -> confirmed', async () => {
  const reread = new Map<string, [[number, string][], [number, string][]]>([
    ['1', [[[1, 'new']], [[1, 'new']]]],
    ['2', [[[2, 'x']], [[2, 'y']]]],
  ]);
  const { c, results, queries } = setup({}, reread);
  run(c, query(), rows([[1, 'old']]), rows([[1, 'new']]));
  await waitFor('transient', () => results.includes('ks.t:transient'));
  assert.equal(queries.length, 2);
  assert.deepEqual(queries.map((q) => q.cluster).sort(), ['ORIGIN', 'TARGET']);
  assert.equal(queries[0]!.cql, 'SELECT "k", "v" FROM "ks"."t" WHERE "k" = ?');
  assert.equal(queries[0]!.consistency, Consistency.LOCAL_QUORUM);
  run(c, query(), rows([[2, 'x']]), rows([[2, 'y']]));
  await waitFor('confirmed', () => results.includes('ks.t:confirmed'));
  const list = c.mismatches.toJSON().tables;
  assert.equal(list.length, 1);
  assert.deepEqual(
    list[0]!.mismatches.map((m) => [m.keyColumns, m.key, m.columns, m.values]),
    [[['k'], ['2'], ['v'], undefined]],
  );
  c.close();
});

test('log values: confirmed mismatches carry the differing cells (hex) only with dual_read_compare_log_values', async () => {
  const reread = new Map<string, [[number, string][], [number, string][]]>([['2', [[[2, 'x']], [[2, 'y']]]]]);
  const { c, results } = setup({ logValues: true }, reread);
  run(c, query(), rows([[2, 'x']]), rows([[2, 'y']]));
  await waitFor('confirmed', () => results.includes('ks.t:confirmed'));
  const m = c.mismatches.toJSON().tables[0]!.mismatches[0]!;
  assert.deepEqual(m.values, { primary: { v: '0x78' }, secondary: { v: '0x79' } });
  c.close();
});

test('confirmation queue full: the row is not confirmed, the comparison is an error, the overflow is counted', async () => {
  const reread = new Map<string, [[number, string][], [number, string][]]>([['1', [[[1, 'a']], [[1, 'a']]]]]);
  const { c, results, overflows } = setup({ confirmQueueSize: 1, confirmDelayMs: 50 }, reread);
  run(c, query(), rows([[1, 'a']]), rows([[1, 'b']]));
  run(c, query(), rows([[1, 'a']]), rows([[1, 'c']]));
  await waitFor('both resolved', () => results.length === 2);
  assert.deepEqual(overflows, ['confirm']);
  assert.deepEqual([...results].sort(), ['ks.t:error', 'ks.t:transient']);
  c.close();
});

test('SchemaKeys: partition then clustering columns by position; one read per table; forgotten on SCHEMA_CHANGE', async () => {
  const reads: unknown[][] = [];
  const schemaRows: [string, string, number][] = [
    ['v', 'regular', -1],
    ['c2', 'clustering', 1],
    ['k2', 'partition_key', 1],
    ['c1', 'clustering', 0],
    ['k1', 'partition_key', 0],
  ];
  const keys = new SchemaKeys(() => ({
    protocolVersion: V,
    query: async (cql, values) => {
      assert.equal(cql, SCHEMA_COLUMNS_QUERY);
      reads.push(values.map((b) => b!.toString()));
      const r = rowsResult(
        'system_schema',
        'columns',
        [
          { name: 'column_name', type: DataTypes.varchar },
          { name: 'kind', type: DataTypes.varchar },
          { name: 'position', type: DataTypes.int },
        ],
        values[1]!.toString() === 'gone' ? [] : schemaRows,
        V,
      );
      return r as RowsResult;
    },
  }));
  const [a, b] = await Promise.all([keys.table('ks', 't'), keys.table('ks', 't')]);
  assert.deepEqual(a?.keyColumns, ['k1', 'k2', 'c1', 'c2']);
  assert.equal(a, b);
  assert.deepEqual([...a!.columns].sort(), ['c1', 'c2', 'k1', 'k2', 'v']);
  assert.deepEqual(reads, [['ks', 't']], 'one read for concurrent lookups');
  assert.equal(await keys.table('ks', 'gone'), undefined, 'a table the schema does not list');
  keys.onSchemaChange({ changeType: 'UPDATED', target: 'TABLE', keyspace: 'ks', name: 't' });
  await keys.table('ks', 't');
  assert.equal(reads.length, 3, 'read again after the schema change');
  keys.onSchemaChange({ changeType: 'DROPPED', target: 'KEYSPACE', keyspace: 'ks' });
  assert.equal(keys.size, 0);
});

test('a read that cannot be compared is skipped before its rows are decoded: the key not selected, rows cut short', async () => {
  const { c, results, skips } = setup();
  /** the frame without its last `n` bytes (its rows cut short), the body length fixed */
  const cut = (f: RawFrame, n: number): RawFrame => {
    const b = Buffer.from(f.bytes.subarray(0, f.bytes.length - n));
    b.writeInt32BE(b.length - 9, 5);
    return new RawFrame({ ...f.header, bodyLength: b.length - 9 }, b);
  };
  const onlyV = (v: string): RawFrame => frame(rowsResult('ks', 't', [{ name: 'v', type: DataTypes.varchar }], [[v]], V), true);
  // SELECT v FROM ks.t WHERE k = ?: rows cannot be matched by key; with their rows cut short, not an error
  run(c, query(), cut(onlyV('a'), 3), cut(onlyV('b'), 3));
  await waitFor('skipped', () => results.length === 1);
  assert.deepEqual(skips, ['key-not-selected']);
  assert.deepEqual(results, ['ks.t:skipped']);
  // positive control: the same cut rows of a comparable read (key selected) are decoded, hence an error
  run(c, query(), cut(rows([[1, 'a']]), 3), cut(rows([[1, 'a']]), 3));
  await waitFor('an error', () => results.length === 2);
  assert.deepEqual(results, ['ks.t:skipped', '.:error']);
  c.close();
});
