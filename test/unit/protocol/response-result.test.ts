/**
 * RESULT: golden bodies of every kind in every version, assembled by hand from the specs
 * (native_protocol_v3/v4/v5 section 4.2.5, dse_protocol_v1/v2 section 4.2.5), round trips,
 * mutations, the peek helpers and the rows builder.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Opcode, type ProtocolVersion, ResultKind, versionName } from '../../../src/protocol/constants';
import {
  type PreparedResult,
  type Result,
  type RowsResult,
  VOID_RESULT,
  decodeResult,
  encodeResult,
  peekPreparedIds,
  peekResultKind,
  rowsResult,
  setKeyspaceResult,
} from '../../../src/protocol/messages/result';
import type { ColumnSpec, PreparedMetadata, RowsMetadata } from '../../../src/protocol/messages/result-metadata';
import { DataTypeCode, DataTypes, listOf, mapOf, setOf } from '../../../src/protocol/values';
import { b } from '../../support/bytes';
import {
  ALL,
  V,
  V3_UP,
  buf,
  checkMutations,
  compact,
  dataTypeArb,
  decode,
  encode,
  golden,
  int32,
  rec,
  roundTrip,
  schemaChangeArb,
  short,
  str,
  throwsProtocolError,
} from './response-support';

const R = Opcode.RESULT as const;
const V5_LIKE = [V.V5, V.DSE_V2] as const; // result metadata id, Metadata_changed
const DSE = [V.DSE_V1, V.DSE_V2] as const; // continuous paging

const col = (name: string, type: ColumnSpec['type'], keyspace = 'ks', table = 't'): ColumnSpec => ({
  keyspace,
  table,
  name,
  type,
});

describe('RESULT golden bodies', () => {
  for (const v of ALL) {
    it(`${versionName(v)}: VOID is the kind alone`, () => {
      golden(encodeResult, decodeResult, VOID_RESULT, b().int(0x0001).build(), v);
    });
    it(`${versionName(v)}: SET_KEYSPACE <keyspace [string]>`, () => {
      golden(encodeResult, decodeResult, setKeyspaceResult('my_ks'), b().int(0x0003).string('my_ks').build(), v);
    });

    it(`${versionName(v)}: ROWS with a global table spec, a null cell and an empty cell`, () => {
      const msg: RowsResult = {
        opcode: R,
        kind: ResultKind.ROWS,
        metadata: { columnCount: 2, columns: [col('k', DataTypes.varchar), col('v', DataTypes.int)] },
        rows: [
          [Buffer.from('a'), Buffer.from('0000002a', 'hex')],
          [Buffer.alloc(0), null],
        ],
      };
      const bytes = b()
        .int(0x0002) // kind
        .int(0x0001) // flags: Global_tables_spec
        .int(2) // columns_count
        .string('ks')
        .string('t') // global table spec
        .string('k')
        .short(0x000d) // varchar
        .string('v')
        .short(0x0009) // int
        .int(2) // rows_count
        .bytes('61')
        .bytes('0000002a')
        .bytes('')
        .bytes(null)
        .build();
      golden(encodeResult, decodeResult, msg, bytes, v);
    });

    it(`${versionName(v)}: ROWS with per-column table specs`, () => {
      const msg: RowsResult = {
        opcode: R,
        kind: ResultKind.ROWS,
        metadata: { columnCount: 2, columns: [col('a', DataTypes.bigint, 'k1', 't1'), col('b', DataTypes.boolean, 'k1', 't2')] },
        rows: [],
      };
      const bytes = b()
        .int(0x0002)
        .int(0x0000)
        .int(2)
        .string('k1')
        .string('t1')
        .string('a')
        .short(0x0002)
        .string('k1')
        .string('t2')
        .string('b')
        .short(0x0004)
        .int(0)
        .build();
      golden(encodeResult, decodeResult, msg, bytes, v);
    });

    it(`${versionName(v)}: ROWS with No_metadata and Has_more_pages <paging_state>`, () => {
      const msg: RowsResult = {
        opcode: R,
        kind: ResultKind.ROWS,
        metadata: { columnCount: 1, pagingState: Buffer.from('abcdef', 'hex') },
        rows: [[Buffer.from('01', 'hex')]],
      };
      const bytes = b()
        .int(0x0002)
        .int(0x0002 | 0x0004)
        .int(1)
        .bytes('abcdef')
        .int(1)
        .bytes('01')
        .build();
      golden(encodeResult, decodeResult, msg, bytes, v);
    });
  }

  for (const v of V3_UP) {
    it(`${versionName(v)}: ROWS column types: custom, list, set, map, udt, tuple`, () => {
      const udt = {
        code: DataTypeCode.UDT as const,
        keyspace: 'ks',
        name: 'address',
        fields: [
          { name: 'street', type: DataTypes.varchar },
          { name: 'zip', type: DataTypes.int },
        ],
      };
      const tuple = { code: DataTypeCode.TUPLE as const, elements: [DataTypes.uuid, DataTypes.inet] };
      const custom = { code: DataTypeCode.CUSTOM as const, className: 'org.apache.cassandra.db.marshal.DateType' };
      const msg: RowsResult = {
        opcode: R,
        kind: ResultKind.ROWS,
        metadata: {
          columnCount: 6,
          columns: [
            col('c', custom),
            col('l', listOf(DataTypes.int)),
            col('s', setOf(DataTypes.varchar)),
            col('m', mapOf(DataTypes.varchar, listOf(DataTypes.bigint))),
            col('u', udt),
            col('tu', tuple),
          ],
        },
        rows: [],
      };
      const bytes = b()
        .int(0x0002)
        .int(0x0001)
        .int(6)
        .string('ks')
        .string('t')
        .string('c')
        .short(0x0000)
        .string('org.apache.cassandra.db.marshal.DateType')
        .string('l')
        .short(0x0020)
        .short(0x0009)
        .string('s')
        .short(0x0022)
        .short(0x000d)
        .string('m')
        .short(0x0021)
        .short(0x000d)
        .short(0x0020)
        .short(0x0002)
        .string('u')
        .short(0x0030)
        .string('ks')
        .string('address')
        .short(2)
        .string('street')
        .short(0x000d)
        .string('zip')
        .short(0x0009)
        .string('tu')
        .short(0x0031)
        .short(2)
        .short(0x000c)
        .short(0x0010)
        .int(0)
        .build();
      golden(encodeResult, decodeResult, msg, bytes, v);
    });
  }

  for (const v of [V.V4, V.V5, V.DSE_V1, V.DSE_V2]) {
    it(`${versionName(v)}: ROWS v4 native types date, time, smallint, tinyint${v === V.V4 ? '' : ', duration'}`, () => {
      const types = [
        DataTypes.date,
        DataTypes.time,
        DataTypes.smallint,
        DataTypes.tinyint,
        ...(v === V.V4 ? [] : [DataTypes.duration]),
      ];
      const msg: RowsResult = {
        opcode: R,
        kind: ResultKind.ROWS,
        metadata: { columnCount: types.length, columns: types.map((t, i) => col(`c${i}`, t)) },
        rows: [],
      };
      const bld = b().int(0x0002).int(0x0001).int(types.length).string('ks').string('t');
      [0x0011, 0x0012, 0x0013, 0x0014, 0x0015].slice(0, types.length).forEach((id, i) => bld.string(`c${i}`).short(id));
      golden(encodeResult, decodeResult, msg, bld.int(0).build(), v);
    });
  }

  for (const v of V5_LIKE) {
    it(`${versionName(v)}: ROWS with Metadata_changed <new_metadata_id>`, () => {
      const msg: RowsResult = {
        opcode: R,
        kind: ResultKind.ROWS,
        metadata: { columnCount: 1, columns: [col('k', DataTypes.int)], newMetadataId: Buffer.from('beef', 'hex') },
        rows: [],
      };
      const bytes = b()
        .int(0x0002)
        .int(0x0001 | 0x0008)
        .int(1)
        .shortBytes('beef')
        .string('ks')
        .string('t')
        .string('k')
        .short(0x0009)
        .int(0)
        .build();
      golden(encodeResult, decodeResult, msg, bytes, v);
    });
  }
  for (const v of [V.V3, V.V4, V.DSE_V1]) {
    it(`${versionName(v)}: ROWS has no <new_metadata_id>: the encoder leaves it out`, () => {
      const meta: RowsMetadata = { columnCount: 0, newMetadataId: Buffer.from('beef', 'hex') };
      const bytes = encode(encodeResult, { opcode: R, kind: ResultKind.ROWS, metadata: meta, rows: [] }, v);
      assert.equal(bytes.toString('hex'), b().int(2).int(0x0004).int(0).int(0).build().toString('hex'));
    });
  }

  for (const v of DSE) {
    it(`${versionName(v)}: ROWS of a continuous paging session <continuous_page_no>, last page flag`, () => {
      const msg: RowsResult = {
        opcode: R,
        kind: ResultKind.ROWS,
        metadata: { columnCount: 1, continuousPageNumber: 3, lastContinuousPage: true },
        rows: [[null]],
      };
      // flags: No_metadata | continuous paging | last continuous page
      const bytes = b().int(0x0002).raw('c0000004').int(1).int(3).int(1).bytes(null).build();
      golden(encodeResult, decodeResult, msg, bytes, v);
      const notLast: RowsResult = {
        ...msg,
        metadata: { ...msg.metadata, lastContinuousPage: false, pagingState: Buffer.from('01', 'hex') },
      };
      const bytes2 = b().int(0x0002).raw('40000006').int(1).bytes('01').int(3).int(1).bytes(null).build();
      golden(encodeResult, decodeResult, notLast, bytes2, v);
    });
  }
  it('DSE_V2: ROWS field order <paging_state><new_metadata_id><continuous_page_no><global_table_spec>', () => {
    const msg: RowsResult = {
      opcode: R,
      kind: ResultKind.ROWS,
      metadata: {
        columnCount: 1,
        columns: [col('k', DataTypes.int)],
        pagingState: Buffer.from('aa', 'hex'),
        newMetadataId: Buffer.from('bb', 'hex'),
        continuousPageNumber: 7,
        lastContinuousPage: false,
      },
      rows: [],
    };
    const bytes = b()
      .int(0x0002)
      .raw('4000000b') // continuous | Metadata_changed | Has_more_pages | Global_tables_spec
      .int(1)
      .bytes('aa')
      .shortBytes('bb')
      .int(7)
      .string('ks')
      .string('t')
      .string('k')
      .short(0x0009)
      .int(0)
      .build();
    golden(encodeResult, decodeResult, msg, bytes, V.DSE_V2);
  });
  it('v4/v5: the DSE continuous paging flags mean nothing and are ignored', () => {
    const bytes = b().int(0x0002).raw('c0000004').int(0).int(0).build();
    for (const v of [V.V4, V.V5]) {
      assert.deepEqual(decode(decodeResult, bytes, v), {
        opcode: R,
        kind: ResultKind.ROWS,
        metadata: { columnCount: 0 },
        rows: [],
      });
    }
  });

  // ---- PREPARED ----
  const variables: PreparedMetadata = { pkIndices: [0], columns: [col('k', DataTypes.varchar), col('v', DataTypes.int)] };
  const resultMetadata: RowsMetadata = { columnCount: 1, columns: [col('v', DataTypes.int)] };
  for (const v of [V.V2, V.V3]) {
    it(`${versionName(v)}: PREPARED <id><metadata><result_metadata> without pk indexes`, () => {
      const msg: PreparedResult = {
        opcode: R,
        kind: ResultKind.PREPARED,
        id: Buffer.from('0102030405060708', 'hex'),
        variables: { pkIndices: [], columns: variables.columns },
        resultMetadata,
      };
      const bytes = b()
        .int(0x0004)
        .shortBytes('0102030405060708')
        .int(0x0001)
        .int(2)
        .string('ks')
        .string('t')
        .string('k')
        .short(0x000d)
        .string('v')
        .short(0x0009)
        .int(0x0001)
        .int(1)
        .string('ks')
        .string('t')
        .string('v')
        .short(0x0009)
        .build();
      golden(encodeResult, decodeResult, msg, bytes, v);
    });
  }
  for (const v of [V.V4, V.DSE_V1]) {
    it(`${versionName(v)}: PREPARED <id><metadata with pk_count and pk indexes><result_metadata>`, () => {
      const msg: PreparedResult = {
        opcode: R,
        kind: ResultKind.PREPARED,
        id: Buffer.from('0102', 'hex'),
        variables,
        resultMetadata,
      };
      const bytes = b()
        .int(0x0004)
        .shortBytes('0102')
        .int(0x0001)
        .int(2)
        .int(1)
        .short(0)
        .string('ks')
        .string('t')
        .string('k')
        .short(0x000d)
        .string('v')
        .short(0x0009)
        .int(0x0001)
        .int(1)
        .string('ks')
        .string('t')
        .string('v')
        .short(0x0009)
        .build();
      golden(encodeResult, decodeResult, msg, bytes, v);
    });
  }
  for (const v of V5_LIKE) {
    it(`${versionName(v)}: PREPARED <id><result_metadata_id><metadata><result_metadata>`, () => {
      const msg: PreparedResult = {
        opcode: R,
        kind: ResultKind.PREPARED,
        id: Buffer.from('0102', 'hex'),
        resultMetadataId: Buffer.from('0a0b0c', 'hex'),
        variables: { pkIndices: [1, 0], columns: [col('a', DataTypes.int), col('b', DataTypes.int)] },
        resultMetadata: { columnCount: 0 },
      };
      const bytes = b()
        .int(0x0004)
        .shortBytes('0102')
        .shortBytes('0a0b0c')
        .int(0x0001)
        .int(2)
        .int(2)
        .short(1)
        .short(0)
        .string('ks')
        .string('t')
        .string('a')
        .short(0x0009)
        .string('b')
        .short(0x0009)
        .int(0x0004)
        .int(0) // empty result metadata: No_metadata, 0 columns
        .build();
      golden(encodeResult, decodeResult, msg, bytes, v);
    });
  }
  it('PREPARED with no bind markers writes no global table spec', () => {
    const msg: PreparedResult = {
      opcode: R,
      kind: ResultKind.PREPARED,
      id: Buffer.from('01', 'hex'),
      variables: { pkIndices: [], columns: [] },
      resultMetadata: { columnCount: 0 },
    };
    golden(encodeResult, decodeResult, msg, b().int(4).shortBytes('01').int(0).int(0).int(0).int(4).int(0).build(), V.V4);
  });

  // ---- SCHEMA_CHANGE ----
  it('v2: SCHEMA_CHANGE result <change><keyspace><table>', () => {
    const bytes = b().int(0x0005).string('CREATED').string('ks').string('t').build();
    golden(
      encodeResult,
      decodeResult,
      {
        opcode: R,
        kind: ResultKind.SCHEMA_CHANGE,
        schemaChange: { changeType: 'CREATED', target: 'TABLE', keyspace: 'ks', name: 't' },
      },
      bytes,
      V.V2,
    );
  });
  for (const v of V3_UP) {
    it(`${versionName(v)}: SCHEMA_CHANGE result <change_type><target><options>`, () => {
      const bytes = b().int(0x0005).string('CREATED').string('TABLE').string('ks').string('t').build();
      golden(
        encodeResult,
        decodeResult,
        {
          opcode: R,
          kind: ResultKind.SCHEMA_CHANGE,
          schemaChange: { changeType: 'CREATED', target: 'TABLE', keyspace: 'ks', name: 't' },
        },
        bytes,
        v,
      );
    });
  }

  it('an unknown kind, a negative column count and an unknown type option are ProtocolErrors', () => {
    throwsProtocolError(() => decode(decodeResult, b().int(9).build(), V.V4), 'kind 9');
    throwsProtocolError(() => decode(decodeResult, b().int(2).int(4).int(-1).int(0).build(), V.V4), 'negative columns');
    throwsProtocolError(
      () => decode(decodeResult, b().int(2).int(1).int(1).string('k').string('t').string('c').short(0x0099).int(0).build(), V.V4),
      'type 0x99',
    );
    throwsProtocolError(() => decode(decodeResult, b().int(2).int(4).int(2).int(0x7fffffff).build(), V.V4), 'huge rows count');
    throwsProtocolError(
      () => decode(decodeResult, b().int(2).int(4).int(0).int(0x7fffffff).build(), V.V4),
      'huge zero-column rows count',
    );
  });
  it('deeply nested type options are refused with a ProtocolError, not a stack overflow', () => {
    const bld = b().int(2).int(1).int(1).string('k').string('t').string('c');
    for (let i = 0; i < 10000; i++) bld.short(0x0020);
    bld.short(0x0009).int(0);
    throwsProtocolError(() => decode(decodeResult, bld.build(), V.V4), 'nesting');
  });
});

describe('peekResultKind / peekPreparedIds', () => {
  it('read the kind at an offset', () => {
    const body = b().raw('ffff').int(0x0002).int(4).int(0).int(0).build();
    assert.equal(peekResultKind(body, 2), ResultKind.ROWS);
    assert.equal(peekResultKind(b().int(4).build()), ResultKind.PREPARED);
    throwsProtocolError(() => peekResultKind(Buffer.from('000000', 'hex')), 'short body');
  });
  for (const v of ALL) {
    it(`${versionName(v)}: read the prepared id${v === V.V5 || v === V.DSE_V2 ? ' and result metadata id' : ''} only`, () => {
      // the rest of the body is garbage: peek must not look at it
      const withMeta = v === V.V5 || v === V.DSE_V2;
      const bld = b().int(0x0004).shortBytes('aabbcc');
      if (withMeta) bld.shortBytes('dd');
      const body = bld.raw('ff ff ff').build();
      const ids = peekPreparedIds(body, v);
      assert.deepEqual(
        ids,
        withMeta
          ? { id: Buffer.from('aabbcc', 'hex'), resultMetadataId: Buffer.from('dd', 'hex') }
          : { id: Buffer.from('aabbcc', 'hex') },
      );
      assert.equal(peekPreparedIds(b().int(0x0001).build(), v), undefined);
      throwsProtocolError(() => peekPreparedIds(b().int(0x0004).short(5).raw('01').build(), v), 'truncated id');
    });
  }
});

describe('rowsResult builder', () => {
  it('builds a system.local-like ROWS result from JS values', () => {
    for (const v of ALL) {
      const res = rowsResult(
        'system',
        'local',
        [
          { name: 'key', type: DataTypes.varchar },
          { name: 'rpc_address', type: DataTypes.inet },
          { name: 'host_id', type: DataTypes.uuid },
          { name: 'tokens', type: setOf(DataTypes.varchar) },
        ],
        [['local', '10.0.0.1', '01234567-89ab-cdef-0123-456789abcdef', ['-9', '42']]],
        v,
      );
      const tokens =
        v === V.V2
          ? b().short(2).short(2).raw(Buffer.from('-9')).short(2).raw(Buffer.from('42')).build()
          : b().int(2).int(2).raw(Buffer.from('-9')).int(2).raw(Buffer.from('42')).build();
      const bytes = b()
        .int(0x0002)
        .int(0x0001)
        .int(4)
        .string('system')
        .string('local')
        .string('key')
        .short(0x000d)
        .string('rpc_address')
        .short(0x0010)
        .string('host_id')
        .short(0x000c)
        .string('tokens')
        .short(0x0022)
        .short(0x000d)
        .int(1)
        .bytes(Buffer.from('local'))
        .bytes('0a000001')
        .bytes('0123456789abcdef0123456789abcdef')
        .bytes(tokens)
        .build();
      assert.equal(encode(encodeResult, res, v).toString('hex'), bytes.toString('hex'), versionName(v));
    }
  });
  it('honours noMetadata and refuses rows of the wrong width', () => {
    const res = rowsResult('system', 'peers', [{ name: 'peer', type: DataTypes.inet }], [], V.V4, { noMetadata: true });
    assert.equal(encode(encodeResult, res, V.V4).toString('hex'), b().int(2).int(4).int(1).int(0).build().toString('hex'));
    assert.throws(() => rowsResult('s', 't', [{ name: 'a', type: DataTypes.int }], [[1, 2]], V.V4), RangeError);
  });
});

// ---- properties -----------------------------------------------------------------------------

const columnArb: fc.Arbitrary<ColumnSpec> = rec({
  keyspace: fc.constantFrom('ks1', 'ks2'),
  table: fc.constantFrom('t1', 't2'),
  name: str(),
  type: dataTypeArb,
});
const columnsArb = fc.oneof(
  fc.array(columnArb, { maxLength: 4 }),
  // all in one table: the global table spec path
  fc
    .tuple(str(), str(), fc.array(rec({ name: str(), type: dataTypeArb }), { minLength: 1, maxLength: 4 }))
    .map(([keyspace, table, cs]) => cs.map((c) => ({ keyspace, table, ...c }))),
);

function rowsMetadataArb(version: ProtocolVersion): fc.Arbitrary<RowsMetadata> {
  const v5 = version === V.V5 || version === V.DSE_V2;
  const dse = version === V.DSE_V1 || version === V.DSE_V2;
  return fc
    .record({
      columns: fc.option(columnsArb, { nil: undefined }),
      count: fc.nat(5),
      pagingState: fc.option(fc.option(buf(), { nil: null }), { nil: undefined }),
      newMetadataId: v5 ? fc.option(buf(), { nil: undefined }) : fc.constant(undefined),
      continuousPageNumber: dse ? fc.option(int32, { nil: undefined }) : fc.constant(undefined),
      last: fc.boolean(),
    })
    .map(({ columns, count, pagingState, newMetadataId, continuousPageNumber, last }) =>
      compact({
        columnCount: columns ? columns.length : count,
        columns,
        pagingState,
        newMetadataId,
        continuousPageNumber,
        lastContinuousPage: continuousPageNumber === undefined ? undefined : last,
      }),
    );
}

function resultArb(version: ProtocolVersion): fc.Arbitrary<Result> {
  const rows = rowsMetadataArb(version).chain((metadata) =>
    fc
      .array(fc.array(fc.option(buf(8), { nil: null }), { minLength: metadata.columnCount, maxLength: metadata.columnCount }), {
        maxLength: 4,
      })
      .map((rs): Result => ({ opcode: R, kind: ResultKind.ROWS, metadata, rows: rs })),
  );
  const prepared = fc
    .record({
      id: buf(16),
      resultMetadataId: version === V.V5 || version === V.DSE_V2 ? buf(16) : fc.constant(undefined),
      pkIndices: version >= V.V4 ? fc.array(short, { maxLength: 3 }) : fc.constant<number[]>([]),
      columns: columnsArb,
      resultMetadata: rowsMetadataArb(version),
    })
    .map(
      ({ id, resultMetadataId, pkIndices, columns, resultMetadata }): Result =>
        compact({
          opcode: R,
          kind: ResultKind.PREPARED as const,
          id,
          resultMetadataId,
          variables: { pkIndices, columns },
          resultMetadata,
        }),
    );
  return fc.oneof(
    fc.constant<Result>({ opcode: R, kind: ResultKind.VOID }),
    str().map((keyspace): Result => ({ opcode: R, kind: ResultKind.SET_KEYSPACE, keyspace })),
    schemaChangeArb(version).map((schemaChange): Result => ({ opcode: R, kind: ResultKind.SCHEMA_CHANGE, schemaChange })),
    rows,
    prepared,
  );
}

describe('RESULT properties', () => {
  for (const v of ALL) {
    it(`decode(encode(x)) == x for every kind, ${versionName(v)}`, () => {
      roundTrip(resultArb(v), encodeResult, decodeResult, v, 300);
    });
    it(`truncations and corruptions throw ProtocolError only, ${versionName(v)}`, () => {
      // VOID is the kind alone: its strict prefixes are covered; prefixes of other kinds too
      checkMutations(resultArb(v), encodeResult, decodeResult, [v], 150);
    });
    it(`peekPreparedIds agrees with decodeResult, ${versionName(v)}`, () => {
      fc.assert(
        fc.property(resultArb(v), (res) => {
          const body = encode(encodeResult, res, v);
          assert.equal(peekResultKind(body), res.kind);
          const ids = peekPreparedIds(body, v);
          if (res.kind !== ResultKind.PREPARED) assert.equal(ids, undefined);
          else assert.deepEqual(ids, compact({ id: res.id, resultMetadataId: res.resultMetadataId }));
        }),
        { numRuns: 100 },
      );
    });
  }
});
