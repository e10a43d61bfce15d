/**
 * Open a client session on a fresh cluster connection the way the client opened its own (issue 12): the client's
 * STARTUP (a copy: same protocol version and compression), the authentication rounds when the node asks, with
 * the credentials that cluster's connection used (`Handshake.asyncCredentials`), then `USE <keyspace>` when one is
 * given. One routine for every connection the session opens besides its own two: the async dual-read connection
 * (no keyspace), a reopened ORIGIN/TARGET connection (`reopen.ts`, then REGISTER) and the short-lived PREPARE
 * connection (`prepare-aside.ts`). Each step is bounded by `timeoutMs`; the caller closes the connection on failure.
 *
 * Failures: `NoCredentialsError` (the node asks for auth, none known), `AuthFailedError` (from `runAuthRounds`),
 * `UseKeyspaceError` (with the node's error code, -1 when the reply was not an ERROR), or an Error naming the
 * unexpected reply to STARTUP.
 */
import {
  Consistency,
  Opcode,
  opcodeName,
  type RawFrame,
  readAuthenticatorClass,
  readErrorCode,
  readErrorMessage,
} from '../protocol/codec';
import { runAuthRounds, type Credentials } from '../backend/authenticator';
import { requestFrame, type ClusterConnection } from '../backend/cluster-connection';
import type { ClusterName } from '../cluster';
import { useStatement } from './one-sided-unprepared';

export interface OpenSessionOptions {
  cluster: ClusterName;
  /** the client's STARTUP (copied before sending) */
  startup: RawFrame;
  credentials: () => Credentials | undefined;
  /** the keyspace to switch to ('' = none) */
  keyspace: string;
  timeoutMs: number;
  /** message bytes of a reply (decompressed with the client's codec, envelope skipped) */
  body: (f: RawFrame) => Buffer;
}

export class NoCredentialsError extends Error {}

export class UseKeyspaceError extends Error {
  constructor(
    message: string,
    /** the node's error code (-1: the reply was not an ERROR) */
    readonly code: number,
  ) {
    super(message);
  }
}

/** What a reply that is not the expected one was: the ERROR's message, else the opcode's name. */
export function replyText(r: RawFrame, body: (f: RawFrame) => Buffer): string {
  return r.opcode === Opcode.ERROR ? readErrorMessage(body(r)) : opcodeName(r.opcode);
}

/** STARTUP, auth and USE on `conn` (see the module comment). Resolves when the session is ready there. */
export async function openSession(conn: ClusterConnection, o: OpenSessionOptions): Promise<void> {
  const version = o.startup.version;
  const r = await conn.request(o.startup.withStreamId(o.startup.streamId), o.timeoutMs);
  if (r.opcode === Opcode.AUTHENTICATE) {
    const creds = o.credentials();
    if (!creds) throw new NoCredentialsError(`${o.cluster} requested authentication but no credentials are known for it`);
    await runAuthRounds(conn, {
      version,
      authenticatorClass: readAuthenticatorClass(o.body(r)),
      credentials: creds,
      timeoutMs: o.timeoutMs,
      bodyOf: o.body,
    });
  } else if (r.opcode !== Opcode.READY) {
    throw new Error(`${o.cluster}: unexpected reply to STARTUP: ${replyText(r, o.body)}`);
  }
  if (o.keyspace === '') return;
  const use = requestFrame(version, {
    opcode: Opcode.QUERY,
    query: useStatement(o.keyspace),
    params: { consistency: Consistency.ONE },
  });
  const u = await conn.request(use, o.timeoutMs);
  if (u.opcode !== Opcode.RESULT) {
    throw new UseKeyspaceError(
      `${o.cluster}: unexpected reply to USE ${o.keyspace}: ${replyText(u, o.body)}`,
      u.opcode === Opcode.ERROR ? readErrorCode(o.body(u)) : -1,
    );
  }
}
