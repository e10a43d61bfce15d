/**
 * CQL values (spec section 5; v2 collections from native_protocol_v2 section 6), type [option]s,
 * uuid helpers and time UUIDs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type ProtocolVersion, versionName } from '../../../src/protocol/constants';
import { Reader, Writer } from '../../../src/protocol/primitives';
import {
  type DataType,
  DataTypeCode,
  DataTypes,
  compareTimeUuids,
  dataTypeName,
  decodeDataType,
  decodeValue,
  encodeDataType,
  encodeValue,
  encodeVarint,
  decodeVarint,
  listOf,
  makeTimeUuid,
  mapOf,
  newTimeUuid,
  newTimeUuidString,
  setOf,
  timeUuidTicks,
  timeUuidTimestamp,
  uuidFromString,
  uuidToString,
} from '../../../src/protocol/values';
import { b } from '../../support/bytes';
import { ALL, V, V3_UP, dataTypeArb, decodesOrProtocolError, int32, ip, str, throwsProtocolError } from './response-support';

function enc(type: DataType, value: unknown, v: ProtocolVersion = V.V4): string {
  const out = encodeValue(type, value, v);
  return out === null ? 'null' : out.toString('hex');
}
const hex = (buf: Buffer) => buf.toString('hex');

describe('value golden bytes', () => {
  it('text, varchar, ascii', () => {
    assert.equal(enc(DataTypes.varchar, 'héllo'), '68c3a96c6c6f');
    assert.equal(enc(DataTypes.text, ''), '');
    assert.equal(enc(DataTypes.ascii, 'AZ'), '415a');
    assert.throws(() => encodeValue(DataTypes.ascii, 'é', V.V4), RangeError);
    throwsProtocolError(() => decodeValue(DataTypes.ascii, Buffer.from('80', 'hex'), V.V4), 'ascii 0x80');
  });
  it('int, bigint, smallint, tinyint, counter, varint', () => {
    assert.equal(enc(DataTypes.int, 42), '0000002a');
    assert.equal(enc(DataTypes.int, -1), 'ffffffff');
    assert.equal(enc(DataTypes.bigint, -2n), 'fffffffffffffffe');
    assert.equal(enc(DataTypes.bigint, 1), '0000000000000001');
    assert.equal(enc(DataTypes.counter, 256n), '0000000000000100');
    assert.equal(enc(DataTypes.smallint, -2), 'fffe');
    assert.equal(enc(DataTypes.tinyint, 127), '7f');
    assert.throws(() => encodeValue(DataTypes.int, 2 ** 31, V.V4), RangeError);
    assert.throws(() => encodeValue(DataTypes.int, 1.5, V.V4), RangeError);
    // spec section 5.24 examples
    const varints: [bigint, string][] = [
      [0n, '00'],
      [1n, '01'],
      [127n, '7f'],
      [128n, '0080'],
      [129n, '0081'],
      [-1n, 'ff'],
      [-128n, '80'],
      [-129n, 'ff7f'],
    ];
    for (const [n, h] of varints) {
      assert.equal(hex(encodeVarint(n)), h, `varint ${n}`);
      assert.equal(decodeVarint(Buffer.from(h, 'hex')), n);
      assert.equal(enc(DataTypes.varint, n), h);
    }
  });
  it('boolean, blob, double, float, timestamp', () => {
    assert.equal(enc(DataTypes.boolean, true), '01');
    assert.equal(enc(DataTypes.boolean, false), '00');
    assert.equal(decodeValue(DataTypes.boolean, Buffer.from('02', 'hex'), V.V4), true);
    assert.equal(enc(DataTypes.blob, Buffer.from('cafe', 'hex')), 'cafe');
    assert.equal(enc(DataTypes.double, 1), '3ff0000000000000');
    assert.equal(enc(DataTypes.float, 1), '3f800000');
    assert.equal(enc(DataTypes.timestamp, new Date(1000)), '00000000000003e8');
    assert.deepEqual(decodeValue(DataTypes.timestamp, Buffer.from('00000000000003e8', 'hex'), V.V4), new Date(1000));
  });
  it('uuid, timeuuid, inet', () => {
    assert.equal(enc(DataTypes.uuid, '01234567-89AB-cdef-0123-456789abcdef'), '0123456789abcdef0123456789abcdef');
    assert.equal(
      decodeValue(DataTypes.timeuuid, Buffer.from('0123456789abcdef0123456789abcdef', 'hex'), V.V4),
      '01234567-89ab-cdef-0123-456789abcdef',
    );
    assert.throws(() => encodeValue(DataTypes.uuid, 'not-a-uuid', V.V4), RangeError);
    assert.equal(enc(DataTypes.inet, '192.168.1.2'), 'c0a80102');
    assert.equal(enc(DataTypes.inet, '::1'), '00000000000000000000000000000001');
    assert.equal(decodeValue(DataTypes.inet, Buffer.from('c0a80102', 'hex'), V.V4), '192.168.1.2');
    throwsProtocolError(() => decodeValue(DataTypes.inet, Buffer.from('c0a801', 'hex'), V.V4), 'inet 3 bytes');
  });
  it('null and empty cells', () => {
    assert.equal(encodeValue(DataTypes.int, null, V.V4), null);
    assert.equal(decodeValue(DataTypes.int, null, V.V4), null);
    assert.equal(decodeValue(DataTypes.int, Buffer.alloc(0), V.V4), null, 'empty int');
    assert.equal(decodeValue(DataTypes.varchar, Buffer.alloc(0), V.V4), '', 'empty text is the empty string');
    throwsProtocolError(() => decodeValue(DataTypes.int, Buffer.from('000001', 'hex'), V.V4), 'int of 3 bytes');
  });

  for (const v of V3_UP) {
    it(`${versionName(v)}: list, set and map use an [int] count and [int]-length elements`, () => {
      assert.equal(enc(listOf(DataTypes.int), [1, 2], v), hex(b().int(2).int(4).int(1).int(4).int(2).build()));
      assert.equal(enc(setOf(DataTypes.varchar), ['a'], v), hex(b().int(1).int(1).raw(0x61).build()));
      assert.equal(
        enc(mapOf(DataTypes.varchar, DataTypes.bigint), new Map([['k', 7n]]), v),
        hex(b().int(1).int(1).raw(0x6b).int(8).long(7n).build()),
      );
      assert.equal(enc(listOf(DataTypes.int), [], v), '00000000');
      assert.deepEqual(
        decodeValue(mapOf(DataTypes.varchar, DataTypes.int), b().int(1).int(1).raw(0x6b).int(4).int(9).build(), v),
        new Map([['k', 9]]),
      );
      throwsProtocolError(() => decodeValue(listOf(DataTypes.int), b().int(1).int(-1).build(), v), 'null element');
      throwsProtocolError(() => decodeValue(listOf(DataTypes.int), b().int(1).int(4).int(1).raw(0).build(), v), 'trailing byte');
      throwsProtocolError(() => decodeValue(listOf(DataTypes.int), b().int(0x7fffffff).build(), v), 'huge count');
    });
  }
  it('v2: list, set and map use a [short] count and [short]-length elements', () => {
    assert.equal(enc(listOf(DataTypes.int), [1, 2], V.V2), hex(b().short(2).short(4).int(1).short(4).int(2).build()));
    assert.equal(enc(setOf(DataTypes.varchar), ['ab'], V.V2), hex(b().short(1).short(2).raw(0x61, 0x62).build()));
    assert.equal(
      enc(mapOf(DataTypes.varchar, DataTypes.boolean), [['k', true]], V.V2),
      hex(b().short(1).short(1).raw(0x6b).short(1).raw(1).build()),
    );
    assert.deepEqual(decodeValue(listOf(DataTypes.int), b().short(1).short(4).int(5).build(), V.V2), [5]);
  });
  it('unsupported types throw (RangeError encoding, ProtocolError decoding)', () => {
    assert.throws(() => encodeValue(DataTypes.decimal, 1, V.V4), RangeError);
    throwsProtocolError(() => decodeValue(DataTypes.duration, Buffer.from('00', 'hex'), V.V4), 'duration');
  });
});

describe('type [option]s', () => {
  it('golden: map<varchar, frozen<list<int>>> and a custom type', () => {
    const w = new Writer();
    encodeDataType(mapOf(DataTypes.varchar, listOf(DataTypes.int)), w);
    assert.equal(hex(w.finish()), hex(b().short(0x21).short(0x0d).short(0x20).short(0x09).build()));
    const custom = b().short(0).string('a.B').build();
    assert.deepEqual(decodeDataType(new Reader(custom)), { code: DataTypeCode.CUSTOM, className: 'a.B' });
    assert.deepEqual(decodeDataType(new Reader(b().short(0x0a).build())), { code: DataTypeCode.TEXT }, 'v2 text');
    assert.equal(dataTypeName(mapOf(DataTypes.varchar, listOf(DataTypes.int))), 'map<varchar, list<int>>');
  });
  it('decode(encode(t)) == t; garbage decodes or throws ProtocolError', () => {
    fc.assert(
      fc.property(dataTypeArb, (t) => {
        const w = new Writer();
        encodeDataType(t, w);
        const r = new Reader(Buffer.from(w.finish()));
        assert.deepEqual(decodeDataType(r), t);
        assert.equal(r.remaining, 0);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (g) =>
        decodesOrProtocolError(() => decodeDataType(new Reader(Buffer.from(g))), 'garbage'),
      ),
      { numRuns: 300 },
    );
  });
});

// ---- value round trips ------------------------------------------------------------------------

const uuidArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((u) => uuidToString(u));
type Case = [DataType, fc.Arbitrary<unknown>];
const scalarCases: Case[] = [
  [DataTypes.varchar, str(20)],
  [DataTypes.ascii, fc.string({ unit: 'binary-ascii', maxLength: 20 })],
  [DataTypes.int, int32],
  [DataTypes.bigint, fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })],
  [DataTypes.varint, fc.bigInt({ min: -(1n << 100n), max: 1n << 100n })],
  [DataTypes.boolean, fc.boolean()],
  [DataTypes.blob, fc.uint8Array({ maxLength: 20 }).map((u) => Buffer.from(u))],
  [DataTypes.uuid, uuidArb],
  [DataTypes.timeuuid, uuidArb],
  [DataTypes.inet, ip],
  [DataTypes.double, fc.double({ noNaN: true })],
  [DataTypes.smallint, fc.integer({ min: -0x8000, max: 0x7fff })],
  [DataTypes.tinyint, fc.integer({ min: -0x80, max: 0x7f })],
];

describe('value properties', () => {
  for (const v of ALL) {
    it(`decodeValue(encodeValue(x)) == x for scalars and collections of them, ${versionName(v)}`, () => {
      for (const [type, arb] of scalarCases) {
        fc.assert(
          fc.property(arb, (x) => {
            assert.deepEqual(decodeValue(type, encodeValue(type, x, v), v), x, dataTypeName(type));
          }),
          { numRuns: 50 },
        );
        fc.assert(
          fc.property(fc.array(arb, { maxLength: 5 }), (xs) => {
            assert.deepEqual(decodeValue(listOf(type), encodeValue(listOf(type), xs, v), v), xs);
            assert.deepEqual(decodeValue(setOf(type), encodeValue(setOf(type), xs, v), v), xs);
          }),
          { numRuns: 30 },
        );
      }
      fc.assert(
        fc.property(fc.array(fc.tuple(str(8), int32), { maxLength: 5 }), (pairs) => {
          const m = new Map(pairs);
          const type = mapOf(DataTypes.varchar, DataTypes.int);
          assert.deepEqual(decodeValue(type, encodeValue(type, m, v), v), m);
        }),
        { numRuns: 50 },
      );
    });
    it(`malformed collection bytes throw ProtocolError only, ${versionName(v)}`, () => {
      const types = [listOf(DataTypes.int), setOf(DataTypes.varchar), mapOf(DataTypes.uuid, listOf(DataTypes.inet))];
      fc.assert(
        fc.property(fc.constantFrom(...types), fc.uint8Array({ maxLength: 48 }), (t, g) => {
          decodesOrProtocolError(() => decodeValue(t, Buffer.from(g), v), dataTypeName(t));
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('uuids and time uuids', () => {
  it('uuid string <-> bytes', () => {
    const s = '123e4567-e89b-12d3-a456-426614174000';
    assert.equal(hex(uuidFromString(s)), '123e4567e89b12d3a456426614174000');
    assert.equal(uuidToString(uuidFromString(s.toUpperCase())), s);
    assert.throws(() => uuidFromString('123e4567e89b12d3a456426614174000'), RangeError);
  });
  it('makeTimeUuid lays out time_low, time_mid, version|time_hi, variant|clock_seq, node (RFC 4122)', () => {
    const u = makeTimeUuid(0x0123456789abcdefn & ((1n << 60n) - 1n), 0x1234, Buffer.from('0a0b0c0d0e0f', 'hex'));
    // ticks 0x123456789abcdef: time_low 89abcdef, time_mid 4567, time_hi 123 (+ version 1)
    assert.equal(hex(u), '89abcdef' + '4567' + '1123' + '9234' + '0a0b0c0d0e0f');
    assert.equal(timeUuidTicks(u), 0x123456789abcdefn);
  });
  it('timeUuidTimestamp reads back the creation time; the well-known epoch uuid', () => {
    const before = Date.now();
    const u = newTimeUuid();
    const after = Date.now();
    const ts = timeUuidTimestamp(u);
    assert.ok(ts >= before && ts <= after, `${ts} within [${before}, ${after}]`);
    assert.equal(u[6]! >> 4, 1, 'version 1');
    assert.equal(u[8]! >> 6, 2, 'RFC 4122 variant');
    assert.equal(u[10]! & 1, 1, 'random node has the multicast bit');
    // 1970-01-01T00:00:00Z is 0x01b21dd213814000 ticks after 1582-10-15
    assert.equal(timeUuidTimestamp('13814000-1dd2-11b2-8000-000000000000'), 0);
    assert.equal(timeUuidTimestamp(uuidToString(makeTimeUuid(0x01b21dd213814000n + 12_340_000n))), 1234);
    assert.throws(() => timeUuidTicks('123e4567-e89b-42d3-a456-426614174000'), RangeError, 'version 4');
  });
  it('successive time uuids are strictly ordered and share clock sequence and node', () => {
    const us = Array.from({ length: 5000 }, () => newTimeUuid());
    for (let i = 1; i < us.length; i++) {
      assert.ok(timeUuidTicks(us[i]!) > timeUuidTicks(us[i - 1]!), `tick ${i} increases`);
      assert.equal(compareTimeUuids(us[i - 1]!, us[i]!), -1);
      assert.equal(hex(us[i]!.subarray(8)), hex(us[0]!.subarray(8)));
    }
    assert.match(newTimeUuidString(), /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
  it('compareTimeUuids orders by timestamp before bytes', () => {
    const early = makeTimeUuid(1000n, 0x3fff, Buffer.from('ffffffffffff', 'hex'));
    const late = makeTimeUuid(1001n, 0, Buffer.from('000000000000', 'hex'));
    assert.equal(compareTimeUuids(early, late), -1);
    assert.equal(compareTimeUuids(late, early), 1);
    assert.equal(compareTimeUuids(early, Buffer.from(early)), 0);
  });
});
