/**
 * Golden bytes for every request message in every protocol version it exists in, assembled by
 * hand from the spec text (native_protocol_v3/v4/v5.spec, dse_protocol_v1/v2.spec) with the
 * independent builder of test/support/bytes.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALL_PROTOCOL_VERSIONS,
  BatchType,
  Consistency,
  Opcode,
  ProtocolError,
  ProtocolVersion,
  UNSET,
  decodeMessage,
  encodeMessage,
  versionName,
  type Message,
} from '../../../src/protocol';
import { b, hex, type Bytes } from '../../support/bytes';

const { V2, V3, V4, V5, DSE_V1, DSE_V2 } = ProtocolVersion;

function check(msg: Message, version: ProtocolVersion, expected: Bytes | Buffer): void {
  const bytes = Buffer.isBuffer(expected) ? expected : expected.build();
  const encoded = encodeMessage(msg, version);
  assert.equal(hex(encoded), hex(bytes), `encode ${Opcode[msg.opcode]} ${versionName(version)}`);
  const decoded = decodeMessage(msg.opcode, false, bytes, version);
  assert.deepStrictEqual(decoded, msg, `decode ${Opcode[msg.opcode]} ${versionName(version)}`);
}

/** <flags> as the version spells it: [byte] in v2-v4, [int] in v5 and DSE. */
function flags(bb: Bytes, version: ProtocolVersion, f: number): Bytes {
  return version === V5 || version === DSE_V1 || version === DSE_V2 ? bb.int(f) : bb.byte(f);
}

const isV5Like = (v: ProtocolVersion) => v === V5 || v === DSE_V2;

describe('request messages: golden bytes', () => {
  for (const v of ALL_PROTOCOL_VERSIONS) {
    describe(versionName(v), () => {
      it('STARTUP: [string map] of options', () => {
        check(
          { opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0', COMPRESSION: 'lz4', DRIVER_NAME: 'zdm' } },
          v,
          b()
            .short(3)
            .string('CQL_VERSION')
            .string('3.0.0')
            .string('COMPRESSION')
            .string('lz4')
            .string('DRIVER_NAME')
            .string('zdm'),
        );
        check({ opcode: Opcode.STARTUP, options: {} }, v, b().short(0));
      });

      it('AUTH_RESPONSE: [bytes] token, possibly null or empty', () => {
        const token = Buffer.from('\0cassandra\0cassandra');
        check({ opcode: Opcode.AUTH_RESPONSE, token }, v, b().int(20).raw(token));
        check({ opcode: Opcode.AUTH_RESPONSE, token: null }, v, b().raw('ff ff ff ff'));
        check({ opcode: Opcode.AUTH_RESPONSE, token: Buffer.alloc(0) }, v, b().int(0));
      });

      it('OPTIONS: empty body', () => {
        check({ opcode: Opcode.OPTIONS }, v, b());
      });

      it('REGISTER: [string list] of event types', () => {
        check(
          { opcode: Opcode.REGISTER, eventTypes: ['TOPOLOGY_CHANGE', 'STATUS_CHANGE', 'SCHEMA_CHANGE'] },
          v,
          b().short(3).string('TOPOLOGY_CHANGE').string('STATUS_CHANGE').string('SCHEMA_CHANGE'),
        );
      });

      it('QUERY: [long string] + consistency + no flags', () => {
        check(
          { opcode: Opcode.QUERY, query: 'SELECT * FROM ks.t', params: { consistency: Consistency.LOCAL_QUORUM } },
          v,
          flags(b().longString('SELECT * FROM ks.t').short(0x0006), v, 0x00),
        );
      });

      it('QUERY: positional values, skip metadata, page size, paging state, serial consistency', () => {
        const msg: Message = {
          opcode: Opcode.QUERY,
          query: 'SELECT v FROM t WHERE k = ? AND c = ?',
          params: {
            consistency: Consistency.ONE,
            values: [Buffer.from([0, 0, 0, 42]), null],
            skipMetadata: true,
            pageSize: 5000,
            pagingState: Buffer.from('cafe', 'hex'),
            serialConsistency: Consistency.LOCAL_SERIAL,
          },
        };
        const expected = flags(
          b().longString('SELECT v FROM t WHERE k = ? AND c = ?').short(0x0001),
          v,
          0x01 | 0x02 | 0x04 | 0x08 | 0x10,
        )
          .short(2)
          .value([0, 0, 0, 42])
          .value(null)
          .int(5000)
          .bytes('cafe')
          .short(0x0009);
        check(msg, v, expected);
      });

      if (v >= V3) {
        it('QUERY: named values and default timestamp (v3+)', () => {
          const msg: Message = {
            opcode: Opcode.QUERY,
            query: 'INSERT INTO t (k, v) VALUES (:k, :v)',
            params: {
              consistency: Consistency.QUORUM,
              namedValues: [
                { name: 'k', value: Buffer.from('01', 'hex') },
                { name: 'v', value: Buffer.alloc(0) },
              ],
              defaultTimestamp: 1_700_000_000_000_000n,
            },
          };
          const expected = flags(b().longString('INSERT INTO t (k, v) VALUES (:k, :v)').short(0x0004), v, 0x01 | 0x20 | 0x40)
            .short(2)
            .string('k')
            .value('01')
            .string('v')
            .value([])
            .long(1_700_000_000_000_000n);
          check(msg, v, expected);
        });
      }

      if (v >= V4) {
        it('QUERY: unset value (v4+)', () => {
          check(
            { opcode: Opcode.QUERY, query: 'U', params: { consistency: Consistency.ANY, values: [UNSET, null] } },
            v,
            flags(b().longString('U').short(0), v, 0x01).short(2).value('unset').value(null),
          );
        });
      } else {
        it('QUERY: an unset value cannot be encoded before v4; a negative length decodes as null', () => {
          assert.throws(
            () => encodeMessage({ opcode: Opcode.QUERY, query: 'U', params: { consistency: 0, values: [UNSET] } }, v),
            RangeError,
          );
          const decoded = decodeMessage(
            Opcode.QUERY,
            false,
            flags(b().longString('U').short(0), v, 0x01).short(1).int(-2).build(),
            v,
          );
          assert.deepStrictEqual(decoded, { opcode: Opcode.QUERY, query: 'U', params: { consistency: 0, values: [null] } });
        });
      }

      if (v === V5) {
        it('QUERY: keyspace and now_in_seconds (v5)', () => {
          check(
            {
              opcode: Opcode.QUERY,
              query: 'SELECT 1',
              params: { consistency: Consistency.ONE, defaultTimestamp: 5n, keyspace: 'ks1', nowInSeconds: 1234 },
            },
            v,
            b()
              .longString('SELECT 1')
              .short(1)
              .int(0x20 | 0x80 | 0x100)
              .long(5n)
              .string('ks1')
              .int(1234),
          );
        });
      }

      if (v === DSE_V1) {
        it('QUERY: DSE_V1 continuous paging (max_num_pages, pages_per_second) and page size in bytes', () => {
          check(
            {
              opcode: Opcode.QUERY,
              query: 'SELECT * FROM big',
              params: {
                consistency: Consistency.LOCAL_ONE,
                pageSize: 65536,
                pageSizeInBytes: true,
                continuousPaging: { maxNumPages: 0, pagesPerSecond: 10 },
              },
            },
            v,
            b().longString('SELECT * FROM big').short(0x000a).raw('c0 00 00 04').int(65536).int(0).int(10),
          );
        });
      }

      if (v === DSE_V2) {
        it('QUERY: DSE_V2 keyspace then continuous paging with next_pages', () => {
          check(
            {
              opcode: Opcode.QUERY,
              query: 'SELECT * FROM big',
              params: {
                consistency: Consistency.LOCAL_ONE,
                pageSize: 100,
                keyspace: 'ks',
                continuousPaging: { maxNumPages: 50, pagesPerSecond: 0, nextPages: 4 },
              },
            },
            v,
            b().longString('SELECT * FROM big').short(0x000a).raw('80 00 00 84').int(100).string('ks').int(50).int(0).int(4),
          );
        });
      }

      it('PREPARE: [long string] (+ [int] flags [+ keyspace] in v5 and DSE_V2)', () => {
        const base = b().longString('SELECT * FROM t WHERE k = ?');
        check({ opcode: Opcode.PREPARE, query: 'SELECT * FROM t WHERE k = ?' }, v, isV5Like(v) ? base.int(0) : base);
        if (isV5Like(v)) {
          check(
            { opcode: Opcode.PREPARE, query: 'SELECT 1', keyspace: 'system' },
            v,
            b().longString('SELECT 1').int(0x01).string('system'),
          );
        } else {
          assert.throws(() => encodeMessage({ opcode: Opcode.PREPARE, query: 'x', keyspace: 'ks' }, v), RangeError);
        }
      });

      it('EXECUTE: [short bytes] id (+ result metadata id in v5 and DSE_V2) + query parameters', () => {
        const id = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
        const rmid = Buffer.from('feedface', 'hex');
        const params = { consistency: Consistency.TWO, values: [Buffer.from('ff', 'hex')], pageSize: 10 };
        if (isV5Like(v)) {
          check(
            { opcode: Opcode.EXECUTE, id, resultMetadataId: rmid, params },
            v,
            b().shortBytes(id).shortBytes(rmid).short(2).int(0x05).short(1).value('ff').int(10),
          );
          assert.throws(() => encodeMessage({ opcode: Opcode.EXECUTE, id, params }, v), RangeError);
        } else {
          check(
            { opcode: Opcode.EXECUTE, id, params },
            v,
            flags(b().shortBytes(id).short(2), v, 0x05).short(1).value('ff').int(10),
          );
          assert.throws(() => encodeMessage({ opcode: Opcode.EXECUTE, id, resultMetadataId: rmid, params }, v), RangeError);
        }
      });

      it('BATCH: query and prepared children, consistency (+ flags from v3)', () => {
        const id = Buffer.from('aabb', 'hex');
        const msg: Message = {
          opcode: Opcode.BATCH,
          type: BatchType.UNLOGGED,
          children: [
            { kind: 'query', query: 'INSERT INTO t (k) VALUES (1)', values: [] },
            { kind: 'prepared', id, values: [Buffer.from('02', 'hex'), null] },
          ],
          consistency: Consistency.QUORUM,
        };
        const body = b()
          .byte(1)
          .short(2)
          .byte(0)
          .longString('INSERT INTO t (k) VALUES (1)')
          .short(0)
          .byte(1)
          .shortBytes('aabb')
          .short(2)
          .value('02')
          .value(null)
          .short(0x0004);
        check(msg, v, v === V2 ? body : flags(body, v, 0));
      });

      if (v >= V3) {
        it('BATCH: serial consistency and default timestamp (v3+)', () => {
          check(
            {
              opcode: Opcode.BATCH,
              type: BatchType.LOGGED,
              children: [{ kind: 'query', query: 'Q', values: [] }],
              consistency: Consistency.ONE,
              serialConsistency: Consistency.SERIAL,
              defaultTimestamp: -1n,
            },
            v,
            flags(b().byte(0).short(1).byte(0).longString('Q').short(0).short(1), v, 0x30).short(0x0008).long(-1n),
          );
        });
      } else {
        it('BATCH: v2 has no flags, so no serial consistency or timestamp', () => {
          assert.throws(
            () =>
              encodeMessage(
                { opcode: Opcode.BATCH, type: 0, children: [], consistency: 1, serialConsistency: Consistency.SERIAL },
                v,
              ),
            RangeError,
          );
        });
      }

      if (isV5Like(v)) {
        it('BATCH: keyspace (v5, DSE_V2)', () => {
          check(
            { opcode: Opcode.BATCH, type: BatchType.COUNTER, children: [], consistency: Consistency.ALL, keyspace: 'ks' },
            v,
            b().byte(2).short(0).short(5).int(0x80).string('ks'),
          );
        });
      }
      if (v === V5) {
        it('BATCH: now_in_seconds (v5)', () => {
          check(
            { opcode: Opcode.BATCH, type: BatchType.LOGGED, children: [], consistency: Consistency.ONE, nowInSeconds: 77 },
            v,
            b().byte(0).short(0).short(1).int(0x100).int(77),
          );
        });
      }

      if (v === DSE_V1 || v === DSE_V2) {
        it('REVISE_REQUEST (DSE): raw body plus the decoded fields', () => {
          const cancel = b().int(1).int(42).build();
          assert.deepStrictEqual(decodeMessage(Opcode.REVISE_REQUEST, false, cancel, v), {
            opcode: Opcode.REVISE_REQUEST,
            body: cancel,
            revisionType: 1,
            targetStreamId: 42,
          });
          assert.equal(
            hex(encodeMessage({ opcode: Opcode.REVISE_REQUEST, revisionType: 1, targetStreamId: 42 }, v)),
            hex(cancel),
          );
          const more = b().int(2).int(7).int(3).build();
          check({ opcode: Opcode.REVISE_REQUEST, body: more, revisionType: 2, targetStreamId: 7, nextPages: 3 }, v, more);
        });
      } else {
        it('REVISE_REQUEST does not exist outside DSE: unknown-opcode', () => {
          assert.throws(
            () => decodeMessage(Opcode.REVISE_REQUEST, false, b().int(1).int(1).build(), v),
            (e: unknown) => e instanceof ProtocolError && e.code === 'unknown-opcode' && /REVISE_REQUEST/.test(e.message),
          );
        });
      }

      it('rejects unknown opcodes, wrong directions and trailing bytes with a named ProtocolError', () => {
        assert.throws(
          () => decodeMessage(0x04, false, Buffer.alloc(0), v),
          (e: unknown) => e instanceof ProtocolError && e.code === 'unknown-opcode' && /0x04/.test(e.message),
        );
        assert.throws(
          () => decodeMessage(0x42, true, Buffer.alloc(0), v),
          (e: unknown) => e instanceof ProtocolError && e.code === 'unknown-opcode' && /0x42/.test(e.message),
        );
        assert.throws(
          () => decodeMessage(Opcode.QUERY, true, Buffer.alloc(0), v),
          (e: unknown) => e instanceof ProtocolError && e.code === 'unknown-opcode',
        );
        assert.throws(
          () => decodeMessage(Opcode.OPTIONS, false, Buffer.from([0]), v),
          (e: unknown) =>
            e instanceof ProtocolError && e.code === 'invalid-value' && /OPTIONS/.test(e.message) && /trailing/.test(e.message),
        );
        assert.deepStrictEqual(decodeMessage(Opcode.OPTIONS, false, Buffer.from([0]), v, { allowTrailingBytes: true }), {
          opcode: Opcode.OPTIONS,
        });
      });

      it('truncated bodies fail as truncated, naming the message and field', () => {
        const full = encodeMessage({ opcode: Opcode.QUERY, query: 'SELECT 1', params: { consistency: 1, pageSize: 10 } }, v);
        for (let cut = 0; cut < full.length; cut++) {
          assert.throws(
            () => decodeMessage(Opcode.QUERY, false, full.subarray(0, cut), v),
            (e: unknown) => e instanceof ProtocolError && e.code === 'truncated' && e.message.startsWith('QUERY: '),
            `cut at ${cut}`,
          );
        }
      });

      it('BATCH: prepared children with empty ids (5 bytes each) are read, not refused as truncated', () => {
        // fast-check found it: two such children and the consistency are 12 bytes (v2), which a 7-bytes-per-child
        // minimum refused ("2 statements need at least 14 bytes, only 12 left").
        const empty = Buffer.alloc(0);
        const msg: Message = {
          opcode: Opcode.BATCH,
          type: BatchType.LOGGED,
          children: [
            { kind: 'prepared', id: empty, values: [] },
            { kind: 'prepared', id: empty, values: [] },
          ],
          consistency: Consistency.ONE,
        };
        const body = b().byte(0).short(2).byte(1).short(0).short(0).byte(1).short(0).short(0).short(0x0001);
        check(msg, v, v === V2 ? body : flags(body, v, 0));
        // still refused before allocating when the count cannot fit: 3 such children need 15 bytes
        assert.throws(
          () => decodeMessage(Opcode.BATCH, false, b().byte(0).short(3).byte(1).short(0).short(0).short(1).build(), v),
          (e: unknown) =>
            e instanceof ProtocolError && e.code === 'truncated' && /3 statements need at least 15 bytes/.test(e.message),
        );
      });

      it('BATCH: unknown statement kind and names-for-values are invalid', () => {
        assert.throws(
          () => decodeMessage(Opcode.BATCH, false, b().byte(0).short(1).byte(2).int(0).short(0).short(1).build(), v),
          (e: unknown) => e instanceof ProtocolError && e.code === 'invalid-value' && /kind 2/.test(e.message),
        );
        if (v >= V3) {
          assert.throws(
            () => decodeMessage(Opcode.BATCH, false, flags(b().byte(0).short(0).short(1), v, 0x40).build(), v),
            (e: unknown) => e instanceof ProtocolError && e.code === 'invalid-value' && /0x40/.test(e.message),
          );
        }
      });
    });
  }
});
