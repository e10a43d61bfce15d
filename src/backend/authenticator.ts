/**
 * The proxy's own authenticator (upstream-spec-notes 3.5.5, upstream `DsePlainTextAuthenticator`): used by control
 * connections, and by the frontend for the secondary and async handshakes.
 *
 * - `com.datastax.bdp.cassandra.auth.DseAuthenticator`: answer `PLAIN`, then on the challenge `PLAIN-START`
 *   answer the credentials token; any other challenge is an error.
 * - Any other authenticator class: answer the credentials token `\0user\0password` directly.
 *
 * `runAuthRounds(conn, opts)` drives the AUTH_RESPONSE / AUTH_CHALLENGE exchange over anything with a
 * `request(frame, timeoutMs)` method (a `ClusterConnection`), at most 6 rounds, and resolves with the
 * AUTH_SUCCESS frame. Failures reject with `AuthFailedError` (the cluster answered with an ERROR: its code
 * and message are kept, so the frontend can relay an AUTHENTICATION_ERROR) or a plain `Error`.
 */
import { ErrorCode, Opcode, type ProtocolVersion, opcodeName } from '../protocol/constants';
import type { RawFrame } from '../protocol/frame';
import { messageOf } from '../protocol/frame-codec';
import type { AuthChallenge } from '../protocol/messages';
import { decodeResponse, requestFrame } from './cluster-connection';

export const DSE_AUTHENTICATOR = 'com.datastax.bdp.cassandra.auth.DseAuthenticator';
export const PASSWORD_AUTHENTICATOR = 'org.apache.cassandra.auth.PasswordAuthenticator';
/** Upstream `maxAuthRetries = 5`: at most 6 AUTH_RESPONSE rounds. */
export const MAX_AUTH_ROUNDS = 6;

export interface Credentials {
  username: string;
  password: string;
}

/** SASL PLAIN `authzid \0 username \0 password`. */
export function buildPlainToken(username: string, password: string, authzid = ''): Buffer {
  return Buffer.concat([
    Buffer.from(authzid, 'utf8'),
    Buffer.from([0]),
    Buffer.from(username, 'utf8'),
    Buffer.from([0]),
    Buffer.from(password, 'utf8'),
  ]);
}

/**
 * Parse a SASL PLAIN token. Returns undefined when it has fewer than two `\0` separators. A password may
 * itself contain `\0` (everything after the second separator is the password).
 */
export function parsePlainToken(token: Uint8Array): { authzid: string; username: string; password: string } | undefined {
  const b = Buffer.from(token.buffer, token.byteOffset, token.byteLength);
  const first = b.indexOf(0);
  if (first < 0) return undefined;
  const second = b.indexOf(0, first + 1);
  if (second < 0) return undefined;
  return {
    authzid: b.toString('utf8', 0, first),
    username: b.toString('utf8', first + 1, second),
    password: b.toString('utf8', second + 1),
  };
}

/** True for tokens that are not credentials and are passed through unchanged (null, or `PLAIN` mechanism selection). */
export function isMechanismSelectionToken(token: Uint8Array | null): boolean {
  return token === null || Buffer.from(token.buffer, token.byteOffset, token.byteLength).equals(PLAIN);
}

const PLAIN = Buffer.from('PLAIN', 'ascii');
const PLAIN_START = Buffer.from('PLAIN-START', 'ascii');

export class DsePlainTextAuthenticator {
  constructor(private readonly creds: Credentials) {}

  /** First AUTH_RESPONSE token for an AUTHENTICATE naming `authenticatorClass`. */
  initialResponse(authenticatorClass: string): Buffer {
    if (authenticatorClass === DSE_AUTHENTICATOR) return Buffer.from(PLAIN);
    return buildPlainToken(this.creds.username, this.creds.password);
  }

  /** Answer to an AUTH_CHALLENGE token. Throws on anything but `PLAIN-START`. */
  evaluateChallenge(token: Buffer | null): Buffer {
    if (token === null || !token.equals(PLAIN_START)) {
      throw new Error(
        `incorrect SASL challenge from server, expecting PLAIN-START, got: ${token === null ? 'null' : token.toString('utf8')}`,
      );
    }
    return buildPlainToken(this.creds.username, this.creds.password);
  }
}

/** The cluster answered the auth exchange with an ERROR (normally AUTH_ERROR, code 0x0100). */
export class AuthFailedError extends Error {
  override readonly name = 'AuthFailedError';
  constructor(
    readonly code: number,
    readonly serverMessage: string,
    /** The ERROR frame as received (its stream id is whatever the connection left in it). */
    readonly frame: RawFrame,
  ) {
    super(
      code === ErrorCode.AUTH_ERROR
        ? `authentication failed: ${serverMessage}`
        : `error during authentication (code 0x${code.toString(16)}): ${serverMessage}`,
    );
  }
}

export interface RequestCapable {
  request(frame: RawFrame, timeoutMs: number): Promise<RawFrame>;
}

export interface AuthRoundsOptions {
  version: ProtocolVersion;
  /** The class named by the AUTHENTICATE message. */
  authenticatorClass: string;
  credentials: Credentials;
  timeoutMs: number;
  /** Stream id written in the AUTH_RESPONSE frames (the connection remaps it anyway). Default 0. */
  streamId?: number;
  /** The message bytes of a response frame: decompressed if needed, after the envelope (tracing id, warnings,
   *  custom payload). Default: `messageOf(frame)`, compressed frames rejected. */
  bodyOf?: (frame: RawFrame) => Buffer;
  maxRounds?: number;
}

/** Run the auth rounds after an AUTHENTICATE; resolves with the AUTH_SUCCESS frame. */
export async function runAuthRounds(conn: RequestCapable, opts: AuthRoundsOptions): Promise<RawFrame> {
  const auth = new DsePlainTextAuthenticator(opts.credentials);
  const bodyOf =
    opts.bodyOf ??
    ((f: RawFrame) => {
      if (f.isCompressed) throw new Error(`cannot read compressed ${opcodeName(f.opcode)} frame during authentication`);
      return messageOf(f);
    });
  const maxRounds = opts.maxRounds ?? MAX_AUTH_ROUNDS;
  let token: Buffer = auth.initialResponse(opts.authenticatorClass);
  for (let round = 1; round <= maxRounds; round++) {
    const reply = await conn.request(
      requestFrame(opts.version, { opcode: Opcode.AUTH_RESPONSE, token }, opts.streamId ?? 0),
      opts.timeoutMs,
    );
    if (reply.opcode === Opcode.AUTH_SUCCESS) return reply;
    if (reply.opcode !== Opcode.AUTH_CHALLENGE && reply.opcode !== Opcode.ERROR) {
      throw new Error(`unexpected ${opcodeName(reply.opcode)} response during authentication`);
    }
    const msg = decodeResponse(reply, bodyOf(reply));
    if (msg.opcode === Opcode.ERROR) throw new AuthFailedError(msg.code, msg.message, reply);
    token = auth.evaluateChallenge((msg as AuthChallenge).token);
  }
  throw new Error(`authentication did not complete after ${maxRounds} rounds`);
}
