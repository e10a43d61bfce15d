/**
 * READY, AUTHENTICATE, SUPPORTED, AUTH_CHALLENGE, AUTH_SUCCESS and EVENT: golden bodies assembled by
 * hand from the specs (sections 4.2.2-4.2.8), round trips and mutations, in every version.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Opcode, type ProtocolVersion, versionName } from '../../../src/protocol/constants';
import { decodeReady, encodeReady, type Ready } from '../../../src/protocol/messages/ready';
import { type Authenticate, decodeAuthenticate, encodeAuthenticate } from '../../../src/protocol/messages/authenticate';
import { type Supported, decodeSupported, encodeSupported } from '../../../src/protocol/messages/supported';
import { type AuthChallenge, decodeAuthChallenge, encodeAuthChallenge } from '../../../src/protocol/messages/auth-challenge';
import { type AuthSuccess, decodeAuthSuccess, encodeAuthSuccess } from '../../../src/protocol/messages/auth-success';
import { type EventMessage, decodeEvent, encodeEvent } from '../../../src/protocol/messages/event';
import { b } from '../../support/bytes';
import {
  ALL,
  V,
  V3_UP,
  V4_UP,
  buf,
  checkMutations,
  encode,
  golden,
  ip,
  rec,
  roundTrip,
  schemaChangeArb,
  str,
  throwsProtocolError,
  decode,
} from './response-support';

describe('READY', () => {
  for (const v of ALL) {
    it(`${versionName(v)}: empty body`, () => {
      golden(encodeReady, decodeReady, { opcode: Opcode.READY } satisfies Ready, b().build(), v);
    });
  }
});

describe('AUTHENTICATE', () => {
  for (const v of ALL) {
    it(`${versionName(v)}: <authenticator [string]>`, () => {
      const cls = 'org.apache.cassandra.auth.PasswordAuthenticator';
      golden(
        encodeAuthenticate,
        decodeAuthenticate,
        { opcode: Opcode.AUTHENTICATE, authenticator: cls } satisfies Authenticate,
        b().short(47).raw(Buffer.from(cls, 'ascii')).build(),
        v,
      );
    });
  }
});

describe('SUPPORTED', () => {
  for (const v of ALL) {
    it(`${versionName(v)}: [string multimap]`, () => {
      const msg: Supported = {
        opcode: Opcode.SUPPORTED,
        options: { CQL_VERSION: ['3.4.7'], COMPRESSION: ['snappy', 'lz4'], PROTOCOL_VERSIONS: ['3/v3', '4/v4', '5/v5'] },
      };
      const bytes = b()
        .short(3)
        .string('CQL_VERSION')
        .short(1)
        .string('3.4.7')
        .string('COMPRESSION')
        .short(2)
        .string('snappy')
        .string('lz4')
        .string('PROTOCOL_VERSIONS')
        .short(3)
        .string('3/v3')
        .string('4/v4')
        .string('5/v5')
        .build();
      golden(encodeSupported, decodeSupported, msg, bytes, v);
    });
    it(`${versionName(v)}: empty multimap`, () => {
      golden(encodeSupported, decodeSupported, { opcode: Opcode.SUPPORTED, options: {} }, b().raw('0000').build(), v);
    });
  }
});

describe('AUTH_CHALLENGE / AUTH_SUCCESS', () => {
  for (const v of ALL) {
    it(`${versionName(v)}: <token [bytes]>, also null and empty`, () => {
      const token = Buffer.from('0102030405', 'hex');
      golden(
        encodeAuthChallenge,
        decodeAuthChallenge,
        { opcode: Opcode.AUTH_CHALLENGE, token } satisfies AuthChallenge,
        b().int(5).raw('0102030405').build(),
        v,
      );
      golden(
        encodeAuthChallenge,
        decodeAuthChallenge,
        { opcode: Opcode.AUTH_CHALLENGE, token: null },
        b().raw('ffffffff').build(),
        v,
      );
      golden(
        encodeAuthSuccess,
        decodeAuthSuccess,
        { opcode: Opcode.AUTH_SUCCESS, token } satisfies AuthSuccess,
        b().int(5).raw('0102030405').build(),
        v,
      );
      golden(encodeAuthSuccess, decodeAuthSuccess, { opcode: Opcode.AUTH_SUCCESS, token: null }, b().raw('ffffffff').build(), v);
      golden(
        encodeAuthSuccess,
        decodeAuthSuccess,
        { opcode: Opcode.AUTH_SUCCESS, token: Buffer.alloc(0) },
        b().raw('00000000').build(),
        v,
      );
    });
  }
});

describe('EVENT golden bodies', () => {
  const E = Opcode.EVENT as const;
  for (const v of ALL) {
    it(`${versionName(v)}: TOPOLOGY_CHANGE <change><inet> (IPv4)`, () => {
      const bytes = b().string('TOPOLOGY_CHANGE').string('NEW_NODE').byte(4).raw(127, 0, 0, 1).int(9042).build();
      golden(
        encodeEvent,
        decodeEvent,
        { opcode: E, type: 'TOPOLOGY_CHANGE', change: 'NEW_NODE', address: { address: '127.0.0.1', port: 9042 } },
        bytes,
        v,
      );
    });
    it(`${versionName(v)}: STATUS_CHANGE <change><inet> (IPv6)`, () => {
      const bytes = b()
        .string('STATUS_CHANGE')
        .string('DOWN')
        .byte(16)
        .raw('fe80 0000 0000 0000 0000 0000 0000 0001')
        .int(9042)
        .build();
      golden(
        encodeEvent,
        decodeEvent,
        { opcode: E, type: 'STATUS_CHANGE', change: 'DOWN', address: { address: 'fe80::1', port: 9042 } },
        bytes,
        v,
      );
    });
  }

  it('v2: SCHEMA_CHANGE <change><keyspace><table>, table empty for a keyspace change', () => {
    const ks = b().string('SCHEMA_CHANGE').string('CREATED').string('ks').string('').build();
    golden(
      encodeEvent,
      decodeEvent,
      { opcode: E, type: 'SCHEMA_CHANGE', schemaChange: { changeType: 'CREATED', target: 'KEYSPACE', keyspace: 'ks' } },
      ks,
      V.V2,
    );
    const t = b().string('SCHEMA_CHANGE').string('DROPPED').string('ks').string('t').build();
    golden(
      encodeEvent,
      decodeEvent,
      { opcode: E, type: 'SCHEMA_CHANGE', schemaChange: { changeType: 'DROPPED', target: 'TABLE', keyspace: 'ks', name: 't' } },
      t,
      V.V2,
    );
    assert.throws(
      () =>
        encode(
          encodeEvent,
          {
            opcode: E,
            type: 'SCHEMA_CHANGE',
            schemaChange: { changeType: 'CREATED', target: 'TYPE', keyspace: 'ks', name: 'u' },
          },
          V.V2,
        ),
      RangeError,
    );
  });

  for (const v of V3_UP) {
    it(`${versionName(v)}: SCHEMA_CHANGE KEYSPACE <change_type><target><keyspace>`, () => {
      const bytes = b().string('SCHEMA_CHANGE').string('UPDATED').string('KEYSPACE').string('ks').build();
      golden(
        encodeEvent,
        decodeEvent,
        { opcode: E, type: 'SCHEMA_CHANGE', schemaChange: { changeType: 'UPDATED', target: 'KEYSPACE', keyspace: 'ks' } },
        bytes,
        v,
      );
    });
    it(`${versionName(v)}: SCHEMA_CHANGE TABLE and TYPE <change_type><target><keyspace><name>`, () => {
      const table = b().string('SCHEMA_CHANGE').string('CREATED').string('TABLE').string('ks').string('t').build();
      golden(
        encodeEvent,
        decodeEvent,
        { opcode: E, type: 'SCHEMA_CHANGE', schemaChange: { changeType: 'CREATED', target: 'TABLE', keyspace: 'ks', name: 't' } },
        table,
        v,
      );
      const type = b().string('SCHEMA_CHANGE').string('DROPPED').string('TYPE').string('ks').string('addr').build();
      golden(
        encodeEvent,
        decodeEvent,
        {
          opcode: E,
          type: 'SCHEMA_CHANGE',
          schemaChange: { changeType: 'DROPPED', target: 'TYPE', keyspace: 'ks', name: 'addr' },
        },
        type,
        v,
      );
    });
  }
  for (const v of V4_UP) {
    it(`${versionName(v)}: SCHEMA_CHANGE FUNCTION and AGGREGATE <change_type><target><keyspace><name><arg types>`, () => {
      const fn = b()
        .string('SCHEMA_CHANGE')
        .string('CREATED')
        .string('FUNCTION')
        .string('ks')
        .string('f')
        .stringList(['int', 'text'])
        .build();
      golden(
        encodeEvent,
        decodeEvent,
        {
          opcode: E,
          type: 'SCHEMA_CHANGE',
          schemaChange: { changeType: 'CREATED', target: 'FUNCTION', keyspace: 'ks', name: 'f', argTypes: ['int', 'text'] },
        },
        fn,
        v,
      );
      const agg = b()
        .string('SCHEMA_CHANGE')
        .string('DROPPED')
        .string('AGGREGATE')
        .string('ks')
        .string('a')
        .stringList([])
        .build();
      golden(
        encodeEvent,
        decodeEvent,
        {
          opcode: E,
          type: 'SCHEMA_CHANGE',
          schemaChange: { changeType: 'DROPPED', target: 'AGGREGATE', keyspace: 'ks', name: 'a', argTypes: [] },
        },
        agg,
        v,
      );
    });
  }
  it('v3/v4 accept MOVED_NODE; unknown event types, changes and targets are ProtocolErrors', () => {
    const moved = b().string('TOPOLOGY_CHANGE').string('MOVED_NODE').byte(4).raw(10, 0, 0, 2).int(9042).build();
    assert.equal((decode(decodeEvent, moved, V.V3) as { change: string }).change, 'MOVED_NODE');
    throwsProtocolError(() => decode(decodeEvent, b().string('NOPE').build(), V.V4), 'event type');
    throwsProtocolError(
      () => decode(decodeEvent, b().string('STATUS_CHANGE').string('SIDEWAYS').byte(4).raw(1, 2, 3, 4).int(1).build(), V.V4),
      'status',
    );
    throwsProtocolError(
      () => decode(decodeEvent, b().string('SCHEMA_CHANGE').string('CREATED').string('INDEX').string('ks').build(), V.V4),
      'target',
    );
    throwsProtocolError(
      () => decode(decodeEvent, b().string('SCHEMA_CHANGE').string('MADE').string('KEYSPACE').string('ks').build(), V.V4),
      'change',
    );
  });
});

// ---- properties -----------------------------------------------------------------------------

function eventArb(version: ProtocolVersion): fc.Arbitrary<EventMessage> {
  const address = rec({ address: ip, port: fc.integer({ min: 0, max: 0x7fffffff }) });
  return fc.oneof(
    rec({
      opcode: fc.constant(Opcode.EVENT as const),
      type: fc.constant('TOPOLOGY_CHANGE' as const),
      change: fc.constantFrom('NEW_NODE' as const, 'REMOVED_NODE' as const, 'MOVED_NODE' as const),
      address,
    }),
    rec({
      opcode: fc.constant(Opcode.EVENT as const),
      type: fc.constant('STATUS_CHANGE' as const),
      change: fc.constantFrom('UP' as const, 'DOWN' as const),
      address,
    }),
    rec({
      opcode: fc.constant(Opcode.EVENT as const),
      type: fc.constant('SCHEMA_CHANGE' as const),
      schemaChange: schemaChangeArb(version),
    }),
  );
}

const supportedArb: fc.Arbitrary<Supported> = rec({
  opcode: fc.constant(Opcode.SUPPORTED as const),
  options: fc.dictionary(str(), fc.array(str(), { maxLength: 3 }), { maxKeys: 4, noNullPrototype: true }),
});
const authenticateArb: fc.Arbitrary<Authenticate> = rec({
  opcode: fc.constant(Opcode.AUTHENTICATE as const),
  authenticator: str(60),
});
const challengeArb: fc.Arbitrary<AuthChallenge> = rec({
  opcode: fc.constant(Opcode.AUTH_CHALLENGE as const),
  token: fc.option(buf(32), { nil: null }),
});
const successArb: fc.Arbitrary<AuthSuccess> = rec({
  opcode: fc.constant(Opcode.AUTH_SUCCESS as const),
  token: fc.option(buf(32), { nil: null }),
});

describe('simple responses and EVENT: properties', () => {
  for (const v of ALL) {
    it(`decode(encode(x)) == x, ${versionName(v)}`, () => {
      roundTrip(supportedArb, encodeSupported, decodeSupported, v, 100);
      roundTrip(authenticateArb, encodeAuthenticate, decodeAuthenticate, v, 100);
      roundTrip(challengeArb, encodeAuthChallenge, decodeAuthChallenge, v, 100);
      roundTrip(successArb, encodeAuthSuccess, decodeAuthSuccess, v, 100);
      roundTrip(eventArb(v), encodeEvent, decodeEvent, v);
    });
    it(`truncations and corruptions throw ProtocolError only, ${versionName(v)}`, () => {
      checkMutations(supportedArb, encodeSupported, decodeSupported, [v], 60);
      checkMutations(authenticateArb, encodeAuthenticate, decodeAuthenticate, [v], 60);
      checkMutations(challengeArb, encodeAuthChallenge, decodeAuthChallenge, [v], 60);
      checkMutations(successArb, encodeAuthSuccess, decodeAuthSuccess, [v], 60);
      checkMutations(eventArb(v), encodeEvent, decodeEvent, [v], 100);
    });
  }
});
