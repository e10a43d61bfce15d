/**
 * Reopen a client session's lost ORIGIN or TARGET connection (issue 12) so that it is equivalent to the one it
 * replaces: one dial (the `ClusterReconnector` owns the backoff), the client's own STARTUP (same protocol
 * version and compression), auth with the credentials that cluster's connection used (`Handshake.asyncCredentials`:
 * the client's when they belong to it, else the configured ones), `USE <session keyspace>`, and the client's
 * REGISTER when it sent one (ORIGIN's events reach the client, upstream-spec-notes 5.6). Each step is bounded by `timeoutMs`.
 * Prepared statements are not re-prepared here: the first EXECUTE that meets UNPREPARED on the reopened side
 * is healed by `OneSidedUnprepared` (writes), or the client re-prepares on both (reads to one cluster).
 *
 * The connection is handed over only once every step succeeded; on any failure it is closed and the promise
 * rejects (FatalReopenError when retrying cannot help: credentials refused, keyspace gone).
 */
import {
  Consistency,
  ErrorCode,
  Opcode,
  opcodeName,
  type RawFrame,
  readAuthenticatorClass,
  readErrorCode,
  readErrorMessage,
} from '../protocol/codec';
import { requestFrame, type ClusterConnection, type ClusterConnectionOptions } from '../backend/cluster-connection';
import { AuthFailedError, runAuthRounds, type Credentials } from '../backend/authenticator';
import { FatalReopenError } from './cluster-reconnector';
import { useStatement } from './one-sided-unprepared';

export interface ReopenOptions {
  /** dial options (`retry` is forced off: one dial per attempt) */
  dial: ClusterConnectionOptions;
  connect: (opts: ClusterConnectionOptions) => Promise<ClusterConnection>;
  /** the client's STARTUP (copied before sending) */
  startup: RawFrame;
  credentials: () => Credentials | undefined;
  /** the session's keyspace ('' = none) */
  keyspace: string;
  /** the client's REGISTER (copied before sending) */
  register?: RawFrame;
  timeoutMs: number;
  /** message bytes of a reply (decompressed with the client's codec, envelope skipped) */
  body: (f: RawFrame) => Buffer;
}

export async function reopenClusterConnection(o: ReopenOptions): Promise<ClusterConnection> {
  const conn = await o.connect({ ...o.dial, retry: false });
  const cluster = o.dial.cluster;
  const fail = (step: string, r: RawFrame): Error => {
    const what = r.opcode === Opcode.ERROR ? readErrorMessage(o.body(r)) : opcodeName(r.opcode);
    return new Error(`${cluster}: unexpected reply to ${step}: ${what}`);
  };
  try {
    const version = o.startup.version;
    const r = await conn.request(o.startup.withStreamId(o.startup.streamId), o.timeoutMs);
    if (r.opcode === Opcode.AUTHENTICATE) {
      const creds = o.credentials();
      if (!creds) throw new FatalReopenError(`${cluster} requested authentication but no credentials are known for it`);
      try {
        await runAuthRounds(conn, {
          version,
          authenticatorClass: readAuthenticatorClass(o.body(r)),
          credentials: creds,
          timeoutMs: o.timeoutMs,
          bodyOf: o.body,
        });
      } catch (e) {
        if (e instanceof AuthFailedError) throw new FatalReopenError(`${cluster} refused the credentials: ${e.serverMessage}`);
        throw e;
      }
    } else if (r.opcode !== Opcode.READY) throw fail('STARTUP', r);
    if (o.keyspace !== '') {
      const use = requestFrame(version, {
        opcode: Opcode.QUERY,
        query: useStatement(o.keyspace),
        params: { consistency: Consistency.ONE },
      });
      const u = await conn.request(use, o.timeoutMs);
      if (u.opcode !== Opcode.RESULT) {
        const code = u.opcode === Opcode.ERROR ? readErrorCode(o.body(u)) : -1;
        const e = fail(`USE ${o.keyspace}`, u);
        // the keyspace is gone there: this connection can never resolve unqualified names like the other one
        throw code === ErrorCode.INVALID ? new FatalReopenError(e.message) : e;
      }
    }
    if (o.register) {
      const g = await conn.request(o.register.withStreamId(o.register.streamId), o.timeoutMs);
      if (g.opcode !== Opcode.READY) throw fail('REGISTER', g);
    }
    return conn;
  } catch (e) {
    conn.close('reopen failed');
    throw e;
  }
}
