import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildPlainToken,
  parsePlainToken,
  isMechanismSelectionToken,
  DsePlainTextAuthenticator,
  DSE_AUTHENTICATOR,
  PASSWORD_AUTHENTICATOR,
  runAuthRounds,
  AuthFailedError,
} from '../../../src/backend/authenticator';
import { RawFrame } from '../../../src/protocol/frame';
import { ErrorCode, HeaderFlag, Opcode, ProtocolVersion } from '../../../src/protocol/constants';
import { messageOf } from '../../../src/protocol/frame-codec';
import { Reader, Writer } from '../../../src/protocol/primitives';
import { encodeMessage, simpleError } from '../../../src/protocol/messages';

const responseFrame = (version: ProtocolVersion, opcode: Opcode, body: Buffer, streamId: number) =>
  RawFrame.fromParts({ version, isResponse: true, flags: 0, streamId, opcode }, body);
const errorBody = (code: ErrorCode.AUTH_ERROR, message: string) => encodeMessage(simpleError(code, message), ProtocolVersion.V4);

test('PLAIN token build and parse', () => {
  const t = buildPlainToken('cassandra', 'pa\0ss');
  assert.equal(t.toString('hex'), Buffer.from('\0cassandra\0pa\0ss').toString('hex'));
  assert.deepEqual(parsePlainToken(t), { authzid: '', username: 'cassandra', password: 'pa\0ss' });
  assert.deepEqual(parsePlainToken(Buffer.from('z\0u\0')), { authzid: 'z', username: 'u', password: '' });
  assert.equal(parsePlainToken(Buffer.from('user\0pass')), undefined);
  assert.equal(parsePlainToken(Buffer.from('PLAIN')), undefined);
  assert.equal(isMechanismSelectionToken(null), true);
  assert.equal(isMechanismSelectionToken(Buffer.from('PLAIN')), true);
  assert.equal(isMechanismSelectionToken(t), false);
});

test('DseAuthenticator: PLAIN, then PLAIN-START; other classes: credentials at once', () => {
  const a = new DsePlainTextAuthenticator({ username: 'u', password: 'p' });
  assert.equal(a.initialResponse(DSE_AUTHENTICATOR).toString(), 'PLAIN');
  assert.equal(a.initialResponse(PASSWORD_AUTHENTICATOR).toString(), '\0u\0p');
  assert.equal(a.initialResponse('com.example.CustomAuthenticator').toString(), '\0u\0p');
  assert.equal(a.evaluateChallenge(Buffer.from('PLAIN-START')).toString(), '\0u\0p');
  assert.throws(() => a.evaluateChallenge(Buffer.from('GSSAPI')), /expecting PLAIN-START, got: GSSAPI/);
});

/** A fake request()-capable connection answering each AUTH_RESPONSE with the next scripted reply. */
function scripted(replies: ((token: Buffer | null) => RawFrame)[]) {
  const seen: (string | null)[] = [];
  return {
    seen,
    async request(frame: RawFrame): Promise<RawFrame> {
      assert.equal(frame.opcode, Opcode.AUTH_RESPONSE);
      const token = new Reader(frame.body).readBytes();
      seen.push(token === null ? null : token.toString());
      const next = replies.shift();
      if (!next) throw new Error('no more replies');
      return next(token);
    },
  };
}
const V = ProtocolVersion.V4;
const tokenBody = (s: string) => Buffer.from(new Writer().writeBytes(Buffer.from(s)).finish());

test('runAuthRounds: DSE flow ends in AUTH_SUCCESS', async () => {
  const conn = scripted([
    () => responseFrame(V, Opcode.AUTH_CHALLENGE, tokenBody('PLAIN-START'), 0),
    () => responseFrame(V, Opcode.AUTH_SUCCESS, Buffer.from(new Writer().writeBytes(null).finish()), 0),
  ]);
  const r = await runAuthRounds(conn, {
    version: V,
    authenticatorClass: DSE_AUTHENTICATOR,
    credentials: { username: 'a', password: 'b' },
    timeoutMs: 1000,
  });
  assert.equal(r.opcode, Opcode.AUTH_SUCCESS);
  assert.deepEqual(conn.seen, ['PLAIN', '\0a\0b']);
});

test('runAuthRounds: server error becomes AuthFailedError with the server text', async () => {
  const conn = scripted([
    () => responseFrame(V, Opcode.ERROR, errorBody(ErrorCode.AUTH_ERROR, 'Provided username a and/or password are incorrect'), 0),
  ]);
  await assert.rejects(
    runAuthRounds(conn, {
      version: V,
      authenticatorClass: PASSWORD_AUTHENTICATOR,
      credentials: { username: 'a', password: 'b' },
      timeoutMs: 1000,
    }),
    (e: unknown) => e instanceof AuthFailedError && e.code === ErrorCode.AUTH_ERROR && /incorrect/.test(e.serverMessage),
  );
});

test('runAuthRounds: gives up after 6 rounds', async () => {
  const conn = scripted(
    Array.from({ length: 10 }, () => () => responseFrame(V, Opcode.AUTH_CHALLENGE, tokenBody('PLAIN-START'), 0)),
  );
  await assert.rejects(
    runAuthRounds(conn, {
      version: V,
      authenticatorClass: DSE_AUTHENTICATOR,
      credentials: { username: 'a', password: 'b' },
      timeoutMs: 1000,
    }),
    /after 6 rounds/,
  );
  assert.equal(conn.seen.length, 6);
});

test('runAuthRounds: a challenge carrying warnings is read after its envelope (default and message-returning bodyOf)', async () => {
  // AUTH_CHALLENGE with the WARNING flag: [string list] warnings, then the token.
  const warned = () => {
    const body = Buffer.from(new Writer().writeStringList(['a server warning']).writeBytes(Buffer.from('PLAIN-START')).finish());
    return RawFrame.fromParts(
      { version: V, isResponse: true, flags: HeaderFlag.WARNING, streamId: 0, opcode: Opcode.AUTH_CHALLENGE },
      body,
    );
  };
  const success = () => responseFrame(V, Opcode.AUTH_SUCCESS, Buffer.from(new Writer().writeBytes(null).finish()), 0);
  for (const bodyOf of [undefined, (f: RawFrame) => messageOf(f)]) {
    const conn = scripted([warned, success]);
    const r = await runAuthRounds(conn, {
      version: V,
      authenticatorClass: DSE_AUTHENTICATOR,
      credentials: { username: 'a', password: 'b' },
      timeoutMs: 1000,
      ...(bodyOf ? { bodyOf } : {}),
    });
    assert.equal(r.opcode, Opcode.AUTH_SUCCESS);
    assert.deepEqual(conn.seen, ['PLAIN', '\0a\0b'], 'the PLAIN-START challenge was read despite the warnings');
  }
});
