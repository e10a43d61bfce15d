/** Wire primitives: golden bytes from the spec text, round trips, bounds. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError, Reader, UNSET, Writer } from '../../../src/protocol';
import { b, hex } from '../../support/bytes';

const write = (f: (w: Writer) => void) => {
  const w = new Writer(4);
  f(w);
  return Buffer.from(w.finish());
};
const isCode = (code: string) => (e: unknown) => e instanceof ProtocolError && e.code === code;

describe('primitives', () => {
  it('[unsigned vint]: the spec example 256000 = [110]00011 11101000 00000000', () => {
    assert.equal(hex(write((w) => w.writeUnsignedVint(256000))), 'c3 e8 00');
    assert.equal(new Reader(Buffer.from('c3e800', 'hex')).readUnsignedVint(), 256000);
  });

  it('[unsigned vint]: boundaries of each length', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [0x7f, '7f'],
      [0x80, '80 80'],
      [0x3fff, 'bf ff'],
      [0x4000, 'c0 40 00'],
      [2 ** 21 - 1, 'df ff ff'],
      [2 ** 21, 'e0 20 00 00'],
      [Number.MAX_SAFE_INTEGER, 'fe 1f ff ff ff ff ff ff'],
    ];
    for (const [n, h] of cases) {
      assert.equal(hex(write((w) => w.writeUnsignedVint(n))), h, `${n}`);
      const r = new Reader(Buffer.from(h.replace(/ /g, ''), 'hex'));
      assert.equal(r.readUnsignedVint(), n);
      assert.equal(r.remaining, 0);
    }
  });

  it('[vint]: zig-zag as the spec lists it (0 = 0, -1 = 1, 1 = 2, -2 = 3, 2 = 4, -3 = 5, 3 = 6)', () => {
    const table: [number, number][] = [
      [0, 0],
      [-1, 1],
      [1, 2],
      [-2, 3],
      [2, 4],
      [-3, 5],
      [3, 6],
    ];
    for (const [n, z] of table) {
      assert.equal(hex(write((w) => w.writeVint(n))), hex(Buffer.from([z])), `${n}`);
      assert.equal(new Reader(Buffer.from([z])).readVint(), n);
    }
    assert.equal(hex(write((w) => w.writeVint(-2147483648))), hex(write((w) => w.writeUnsignedVint(4294967295))));
  });

  it('[vint] and [unsigned vint] round trip (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 52), max: 2 ** 52 - 1 }), (n) => {
        assert.equal(new Reader(write((w) => w.writeVint(n))).readVint(), n);
        assert.equal(new Reader(write((w) => w.writeUnsignedVint(Math.abs(n)))).readUnsignedVint(), Math.abs(n));
      }),
    );
  });

  it('[unsigned vint]: truncated and too large', () => {
    assert.throws(() => new Reader(Buffer.from('c3e8', 'hex')).readUnsignedVint(), isCode('truncated'));
    assert.throws(() => new Reader(Buffer.from('ffffffffffffffffff', 'hex')).readUnsignedVint(), isCode('invalid-value'));
  });

  it('[inet]: IPv4 and IPv6 address + port', () => {
    const v4 = b().byte(4).raw('7f 00 00 01').int(9042).build();
    assert.equal(hex(write((w) => w.writeInet({ address: '127.0.0.1', port: 9042 }))), hex(v4));
    assert.deepStrictEqual(new Reader(v4).readInet(), { address: '127.0.0.1', port: 9042 });
    const v6 = b().byte(16).raw('20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01').int(9042).build();
    assert.equal(hex(write((w) => w.writeInet({ address: '2001:db8::1', port: 9042 }))), hex(v6));
    assert.deepStrictEqual(new Reader(v6).readInet(), { address: '2001:db8::1', port: 9042 });
    const loop6 = b()
      .byte(16)
      .raw(`${'00'.repeat(15)}01`)
      .build();
    assert.equal(new Reader(loop6).readInetAddr(), '::1');
    assert.throws(() => new Reader(b().byte(5).raw('0102030405').build()).readInetAddr(), isCode('invalid-value'));
  });

  it('[string map], [string multimap], [bytes map]: golden bytes and round trip, "__proto__" kept as a key', () => {
    const sm = b().short(2).string('CQL_VERSION').string('3.0.0').string('COMPRESSION').string('snappy').build();
    assert.equal(hex(write((w) => w.writeStringMap({ CQL_VERSION: '3.0.0', COMPRESSION: 'snappy' }))), hex(sm));
    assert.deepStrictEqual(new Reader(sm).readStringMap(), { CQL_VERSION: '3.0.0', COMPRESSION: 'snappy' });

    const mm = b().short(1).string('COMPRESSION').stringList(['lz4', 'snappy']).build();
    assert.deepStrictEqual(new Reader(mm).readStringMultimap(), { COMPRESSION: ['lz4', 'snappy'] });
    assert.equal(hex(write((w) => w.writeStringMultimap({ COMPRESSION: ['lz4', 'snappy'] }))), hex(mm));

    const bm = b()
      .bytesMap([
        ['a', '01 02'],
        ['n', null],
      ])
      .build();
    assert.deepStrictEqual(new Reader(bm).readBytesMap(), { a: Buffer.from([1, 2]), n: null });

    const proto = b().short(1).string('__proto__').string('x').build();
    const m = new Reader(proto).readStringMap();
    assert.equal(Object.getPrototypeOf(m), Object.prototype, 'prototype untouched');
    assert.deepStrictEqual(Object.keys(m), ['__proto__']);
    assert.equal(hex(write((w) => w.writeStringMap(m))), hex(proto));
  });

  it('[value]: null, not set, and invalid negative lengths', () => {
    assert.equal(new Reader(b().int(-1).build()).readValue(), null);
    assert.equal(new Reader(b().int(-2).build()).readValue(), UNSET);
    assert.throws(() => new Reader(b().int(-3).build()).readValue(), isCode('invalid-value'));
    assert.equal(hex(write((w) => w.writeValue(UNSET))), 'ff ff ff fe');
  });

  it('[bytes] declaring 2^31-1 bytes in a short body fails as truncated', () => {
    assert.throws(() => new Reader(b().int(0x7fffffff).raw('00').build()).readBytes(), isCode('truncated'));
    assert.throws(() => new Reader(b().short(3).build()).readStringList(), isCode('truncated'));
  });

  it('a [short] length out of range is a RangeError, never silently truncated', () => {
    assert.throws(() => write((w) => w.writeString('x'.repeat(65536))), RangeError);
    assert.throws(() => write((w) => w.writeShort(-1)), RangeError);
    assert.equal(write((w) => w.writeString('x'.repeat(65535))).length, 65537);
  });

  it('[long]: 64-bit signed, big-endian', () => {
    assert.equal(hex(write((w) => w.writeLong(-2n))), 'ff ff ff ff ff ff ff fe');
    assert.equal(
      new Reader(
        b()
          .long(2n ** 63n - 1n)
          .build(),
      ).readLong(),
      2n ** 63n - 1n,
    );
  });
});
