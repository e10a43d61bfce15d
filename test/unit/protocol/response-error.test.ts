/**
 * ERROR message: golden bodies for every error code in every version it exists in, assembled by hand
 * from native_protocol_v3/v4/v5.spec and dse_protocol_v1/v2.spec; round trips; mutations.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Consistency, ErrorCode, Opcode, type ProtocolVersion, versionName } from '../../../src/protocol/constants';
import {
  DSE_CLIENT_WRITE_FAILURE,
  type ErrorMessage,
  type FailureReason,
  type MessageOnlyErrorCode,
  decodeError,
  encodeError,
  errorCodeName,
  protocolError,
  serverError,
  unknownError,
  unpreparedError,
  overloadedError,
  authError,
  invalidError,
  writeTimeoutError,
} from '../../../src/protocol/messages/error';
import { b } from '../../support/bytes';
import {
  ALL,
  V,
  V4_UP,
  buf,
  checkMutations,
  decode,
  encode,
  golden,
  int32,
  ip,
  short,
  str,
  roundTrip,
  rec,
  throwsProtocolError,
} from './response-support';

const E = Opcode.ERROR as const;
const REASON_MAP_VERSIONS = [V.V5, V.DSE_V1, V.DSE_V2] as const;
const NUMFAILURES_VERSIONS = [V.V4] as const;

/** The common head: <code [int]><message [string]>. */
function head(code: number, message: string) {
  return b().int(code).string(message);
}

describe('ERROR golden bodies', () => {
  const messageOnly: [MessageOnlyErrorCode, string, readonly ProtocolVersion[]][] = [
    [ErrorCode.SERVER_ERROR, 'boom', ALL],
    [ErrorCode.PROTOCOL_ERROR, 'bad frame', ALL],
    [ErrorCode.AUTH_ERROR, 'bad credentials', ALL],
    [ErrorCode.OVERLOADED, 'busy', ALL],
    [ErrorCode.IS_BOOTSTRAPPING, 'bootstrapping', ALL],
    [ErrorCode.TRUNCATE_ERROR, 'truncate failed', ALL],
    [ErrorCode.SYNTAX_ERROR, 'line 1:0 no viable alternative', ALL],
    [ErrorCode.UNAUTHORIZED, 'no SELECT on ks.t', ALL],
    [ErrorCode.INVALID, 'unknown column', ALL],
    [ErrorCode.CONFIG_ERROR, 'config', ALL],
    [ErrorCode.CDC_WRITE_FAILURE, 'cdc full', [V.V5]],
    [DSE_CLIENT_WRITE_FAILURE, 'client too slow', [V.DSE_V1, V.DSE_V2]],
  ];
  for (const [code, message, versions] of messageOnly) {
    for (const v of versions) {
      it(`${errorCodeName(code)} ${versionName(v)}: code and message only`, () => {
        const bytes = b()
          .raw(code >>> 24, (code >>> 16) & 0xff, (code >>> 8) & 0xff, code & 0xff)
          .short(Buffer.byteLength(message))
          .raw(Buffer.from(message, 'utf8'))
          .build();
        golden(encodeError, decodeError, { opcode: E, code, message } as ErrorMessage, bytes, v);
      });
    }
  }

  for (const v of ALL) {
    it(`UNAVAILABLE ${versionName(v)}: <cl><required><alive>`, () => {
      const bytes = head(0x1000, 'not enough replicas').short(0x0004).int(3).int(1).build();
      golden(
        encodeError,
        decodeError,
        {
          opcode: E,
          code: ErrorCode.UNAVAILABLE,
          message: 'not enough replicas',
          consistency: Consistency.QUORUM,
          required: 3,
          alive: 1,
        },
        bytes,
        v,
      );
    });

    it(`READ_TIMEOUT ${versionName(v)}: <cl><received><blockfor><data_present>`, () => {
      const bytes = head(0x1200, 'rt').short(0x0006).int(1).int(2).byte(0).build();
      golden(
        encodeError,
        decodeError,
        {
          opcode: E,
          code: ErrorCode.READ_TIMEOUT,
          message: 'rt',
          consistency: Consistency.LOCAL_QUORUM,
          received: 1,
          blockFor: 2,
          dataPresent: false,
        },
        bytes,
        v,
      );
      const present = head(0x1200, 'rt').short(0x0006).int(2).int(2).byte(1).build();
      assert.equal((decode(decodeError, present, v) as { dataPresent: boolean }).dataPresent, true);
    });

    it(`WRITE_TIMEOUT ${versionName(v)}: <cl><received><blockfor><writeType>`, () => {
      const bytes = head(0x1100, 'wt').short(0x0001).int(0).int(1).string('SIMPLE').build();
      golden(
        encodeError,
        decodeError,
        {
          opcode: E,
          code: ErrorCode.WRITE_TIMEOUT,
          message: 'wt',
          consistency: Consistency.ONE,
          received: 0,
          blockFor: 1,
          writeType: 'SIMPLE',
        },
        bytes,
        v,
      );
    });

    it(`ALREADY_EXISTS ${versionName(v)}: <ks><table>`, () => {
      const bytes = head(0x2400, 'exists').string('ks').string('').build();
      golden(
        encodeError,
        decodeError,
        { opcode: E, code: ErrorCode.ALREADY_EXISTS, message: 'exists', keyspace: 'ks', table: '' },
        bytes,
        v,
      );
    });

    it(`UNPREPARED ${versionName(v)}: <id [short bytes]>`, () => {
      const bytes = head(0x2500, 'unknown id').short(4).raw('cafebabe').build();
      golden(
        encodeError,
        decodeError,
        { opcode: E, code: ErrorCode.UNPREPARED, message: 'unknown id', id: Buffer.from('cafebabe', 'hex') },
        bytes,
        v,
      );
    });
  }

  it('WRITE_TIMEOUT v5 with writeType CAS carries <contentions [short]>', () => {
    const bytes = head(0x1100, 'cas').short(0x0008).int(1).int(2).string('CAS').short(7).build();
    golden(
      encodeError,
      decodeError,
      {
        opcode: E,
        code: ErrorCode.WRITE_TIMEOUT,
        message: 'cas',
        consistency: Consistency.SERIAL,
        received: 1,
        blockFor: 2,
        writeType: 'CAS',
        contentions: 7,
      },
      bytes,
      V.V5,
    );
  });
  for (const v of [V.V3, V.V4, V.DSE_V1, V.DSE_V2]) {
    it(`WRITE_TIMEOUT ${versionName(v)} with writeType CAS has no contentions`, () => {
      const bytes = head(0x1100, 'cas').short(0x0008).int(1).int(2).string('CAS').build();
      golden(
        encodeError,
        decodeError,
        {
          opcode: E,
          code: ErrorCode.WRITE_TIMEOUT,
          message: 'cas',
          consistency: Consistency.SERIAL,
          received: 1,
          blockFor: 2,
          writeType: 'CAS',
        },
        bytes,
        v,
      );
    });
  }

  for (const v of NUMFAILURES_VERSIONS) {
    it(`READ_FAILURE ${versionName(v)}: <cl><received><blockfor><numfailures><data_present>`, () => {
      const bytes = head(0x1300, 'rf').short(0x0004).int(1).int(2).int(1).byte(1).build();
      golden(
        encodeError,
        decodeError,
        {
          opcode: E,
          code: ErrorCode.READ_FAILURE,
          message: 'rf',
          consistency: Consistency.QUORUM,
          received: 1,
          blockFor: 2,
          numFailures: 1,
          dataPresent: true,
        },
        bytes,
        v,
      );
    });
    it(`WRITE_FAILURE ${versionName(v)}: <cl><received><blockfor><numfailures><writeType>`, () => {
      const bytes = head(0x1500, 'wf').short(0x0004).int(1).int(2).int(1).string('BATCH_LOG').build();
      golden(
        encodeError,
        decodeError,
        {
          opcode: E,
          code: ErrorCode.WRITE_FAILURE,
          message: 'wf',
          consistency: Consistency.QUORUM,
          received: 1,
          blockFor: 2,
          numFailures: 1,
          writeType: 'BATCH_LOG',
        },
        bytes,
        v,
      );
    });
  }

  for (const v of REASON_MAP_VERSIONS) {
    const reasons: FailureReason[] = [
      { endpoint: '10.0.0.1', failureCode: 0x0001 },
      { endpoint: '2001:db8::1', failureCode: 0x0002 },
    ];
    /** <reasonmap>: [int] n, then n * <endpoint [inetaddr]><failurecode [short]>. */
    const reasonMap = () =>
      b().int(2).byte(4).raw(10, 0, 0, 1).short(0x0001).byte(16).raw('20010db8 00000000 00000000 00000001').short(0x0002);
    it(`READ_FAILURE ${versionName(v)}: <cl><received><blockfor><reasonmap><data_present>`, () => {
      const bytes = head(0x1300, 'rf').short(0x0004).int(1).int(3).concat(reasonMap()).byte(0).build();
      golden(
        encodeError,
        decodeError,
        {
          opcode: E,
          code: ErrorCode.READ_FAILURE,
          message: 'rf',
          consistency: Consistency.QUORUM,
          received: 1,
          blockFor: 3,
          numFailures: 2,
          reasonMap: reasons,
          dataPresent: false,
        },
        bytes,
        v,
      );
    });
    it(`WRITE_FAILURE ${versionName(v)}: <cl><received><blockfor><reasonmap><writeType>`, () => {
      const bytes = head(0x1500, 'wf').short(0x0004).int(1).int(3).concat(reasonMap()).string('SIMPLE').build();
      golden(
        encodeError,
        decodeError,
        {
          opcode: E,
          code: ErrorCode.WRITE_FAILURE,
          message: 'wf',
          consistency: Consistency.QUORUM,
          received: 1,
          blockFor: 3,
          numFailures: 2,
          reasonMap: reasons,
          writeType: 'SIMPLE',
        },
        bytes,
        v,
      );
    });
    it(`READ_FAILURE ${versionName(v)} with an empty reasonmap`, () => {
      const bytes = head(0x1300, '').short(0x000a).int(0).int(1).int(0).byte(1).build();
      golden(
        encodeError,
        decodeError,
        {
          opcode: E,
          code: ErrorCode.READ_FAILURE,
          message: '',
          consistency: Consistency.LOCAL_ONE,
          received: 0,
          blockFor: 1,
          numFailures: 0,
          reasonMap: [],
          dataPresent: true,
        },
        bytes,
        v,
      );
    });
  }

  for (const v of V4_UP) {
    it(`FUNCTION_FAILURE ${versionName(v)}: <keyspace><function><arg_types>`, () => {
      const bytes = head(0x1400, 'udf failed').string('ks').string('f').stringList(['int', 'text']).build();
      golden(
        encodeError,
        decodeError,
        {
          opcode: E,
          code: ErrorCode.FUNCTION_FAILURE,
          message: 'udf failed',
          keyspace: 'ks',
          functionName: 'f',
          argTypes: ['int', 'text'],
        },
        bytes,
        v,
      );
    });
  }

  it('CAS_WRITE_UNKNOWN v5: <cl><received><blockfor>', () => {
    const bytes = head(0x1700, 'cas unknown').short(0x0009).int(1).int(2).build();
    golden(
      encodeError,
      decodeError,
      {
        opcode: E,
        code: ErrorCode.CAS_WRITE_UNKNOWN,
        message: 'cas unknown',
        consistency: Consistency.LOCAL_SERIAL,
        received: 1,
        blockFor: 2,
      },
      bytes,
      V.V5,
    );
  });

  it('an unknown error code decodes as code + message and re-encodes unchanged', () => {
    const bytes = head(0x7777, 'future').build();
    for (const v of ALL) golden(encodeError, decodeError, unknownError(0x7777, 'future'), bytes, v);
  });

  it('a v4 READ_FAILURE encoder ignores a reasonmap and a v5 one writes an empty map when there is none', () => {
    const msg: ErrorMessage = {
      opcode: E,
      code: ErrorCode.READ_FAILURE,
      message: 'x',
      consistency: Consistency.ONE,
      received: 0,
      blockFor: 1,
      numFailures: 4,
      dataPresent: false,
    };
    assert.equal(
      encode(encodeError, msg, V.V4).toString('hex'),
      head(0x1300, 'x').short(1).int(0).int(1).int(4).byte(0).build().toString('hex'),
    );
    assert.equal(
      encode(encodeError, msg, V.V5).toString('hex'),
      head(0x1300, 'x').short(1).int(0).int(1).int(0).byte(0).build().toString('hex'),
    );
  });
});

describe('ERROR constructors', () => {
  it('build the replies the proxy sends itself', () => {
    assert.deepEqual(protocolError('bad'), { opcode: E, code: ErrorCode.PROTOCOL_ERROR, message: 'bad' });
    assert.deepEqual(serverError('oops'), { opcode: E, code: ErrorCode.SERVER_ERROR, message: 'oops' });
    assert.deepEqual(overloadedError('busy'), { opcode: E, code: ErrorCode.OVERLOADED, message: 'busy' });
    assert.deepEqual(authError('no'), { opcode: E, code: ErrorCode.AUTH_ERROR, message: 'no' });
    assert.deepEqual(invalidError('inv'), { opcode: E, code: ErrorCode.INVALID, message: 'inv' });
    const id = Buffer.from('0102', 'hex');
    assert.deepEqual(unpreparedError(id, 'gone'), { opcode: E, code: ErrorCode.UNPREPARED, message: 'gone', id });
    assert.match(unpreparedError(id).message, /0102/);
    assert.equal(writeTimeoutError(Consistency.ONE, 0, 1, 'SIMPLE', 'wt').code, ErrorCode.WRITE_TIMEOUT);
    for (const v of ALL) {
      assert.equal(
        encode(encodeError, unpreparedError(id, 'gone'), v).toString('hex'),
        head(0x2500, 'gone').shortBytes('0102').build().toString('hex'),
      );
    }
  });
});

// ---- properties -----------------------------------------------------------------------------

const cl = short.map((n) => n as Consistency);
const reasonArb: fc.Arbitrary<FailureReason> = rec({ endpoint: ip, failureCode: short });
const writeType = fc.constantFrom('SIMPLE', 'BATCH', 'UNLOGGED_BATCH', 'COUNTER', 'BATCH_LOG', 'CAS', 'VIEW', 'CDC');

function errorArb(version: ProtocolVersion): fc.Arbitrary<ErrorMessage> {
  const reasonMap = version >= V.V5;
  const message = str(20);
  const messageOnlyCode = fc.constantFrom<MessageOnlyErrorCode>(
    ErrorCode.SERVER_ERROR,
    ErrorCode.PROTOCOL_ERROR,
    ErrorCode.AUTH_ERROR,
    ErrorCode.OVERLOADED,
    ErrorCode.IS_BOOTSTRAPPING,
    ErrorCode.TRUNCATE_ERROR,
    ErrorCode.CDC_WRITE_FAILURE,
    ErrorCode.SYNTAX_ERROR,
    ErrorCode.UNAUTHORIZED,
    ErrorCode.INVALID,
    ErrorCode.CONFIG_ERROR,
    DSE_CLIENT_WRITE_FAILURE,
  );
  const failures = reasonMap
    ? fc.array(reasonArb, { maxLength: 4 }).map((rm) => ({ numFailures: rm.length, reasonMap: rm }))
    : int32.map((n) => ({ numFailures: n }));
  return fc.oneof(
    rec({ opcode: fc.constant(E), code: messageOnlyCode, message }),
    rec({
      opcode: fc.constant(E),
      code: fc.constant(ErrorCode.UNAVAILABLE),
      message,
      consistency: cl,
      required: int32,
      alive: int32,
    }),
    fc
      .record({
        opcode: fc.constant(E),
        code: fc.constant(ErrorCode.WRITE_TIMEOUT),
        message,
        consistency: cl,
        received: int32,
        blockFor: int32,
        writeType,
        c: short,
      })
      .map(({ c, ...e }) => (e.writeType === 'CAS' && version === V.V5 ? { ...e, contentions: c } : e)),
    rec({
      opcode: fc.constant(E),
      code: fc.constant(ErrorCode.READ_TIMEOUT),
      message,
      consistency: cl,
      received: int32,
      blockFor: int32,
      dataPresent: fc.boolean(),
    }),
    fc
      .record({
        opcode: fc.constant(E),
        code: fc.constant(ErrorCode.READ_FAILURE),
        message,
        consistency: cl,
        received: int32,
        blockFor: int32,
        f: failures,
        dataPresent: fc.boolean(),
      })
      .map(({ f, ...e }) => ({ ...e, ...f })),
    fc
      .record({
        opcode: fc.constant(E),
        code: fc.constant(ErrorCode.WRITE_FAILURE),
        message,
        consistency: cl,
        received: int32,
        blockFor: int32,
        f: failures,
        writeType,
      })
      .map(({ f, ...e }) => ({ ...e, ...f })),
    rec({
      opcode: fc.constant(E),
      code: fc.constant(ErrorCode.FUNCTION_FAILURE),
      message,
      keyspace: str(),
      functionName: str(),
      argTypes: fc.array(str(), { maxLength: 3 }),
    }),
    rec({
      opcode: fc.constant(E),
      code: fc.constant(ErrorCode.CAS_WRITE_UNKNOWN),
      message,
      consistency: cl,
      received: int32,
      blockFor: int32,
    }),
    rec({ opcode: fc.constant(E), code: fc.constant(ErrorCode.ALREADY_EXISTS), message, keyspace: str(), table: str() }),
    rec({ opcode: fc.constant(E), code: fc.constant(ErrorCode.UNPREPARED), message, id: buf(20) }),
  ) as fc.Arbitrary<ErrorMessage>;
}

describe('ERROR properties', () => {
  for (const v of ALL) {
    it(`decode(encode(x)) == x for every error code, ${versionName(v)}`, () => {
      roundTrip(errorArb(v), encodeError, decodeError, v);
    });
  }
  it('truncated or corrupted bodies throw ProtocolError only', () => {
    for (const v of ALL) checkMutations(errorArb(v), encodeError, decodeError, [v], 100);
  });
  it('a reasonmap entry with an address size other than 4 or 16 is invalid', () => {
    const bytes = head(0x1300, '').short(1).int(0).int(1).int(1).byte(5).raw(1, 2, 3, 4, 5).short(0).byte(0).build();
    throwsProtocolError(() => decode(decodeError, bytes, V.V5), 'inetaddr size 5');
  });
  it('a negative reasonmap size is invalid', () => {
    const bytes = head(0x1500, '').short(1).int(0).int(1).int(-1).string('SIMPLE').build();
    throwsProtocolError(() => decode(decodeError, bytes, V.DSE_V1), 'negative reasonmap');
  });
});
