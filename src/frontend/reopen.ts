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
import { ErrorCode, Opcode, type RawFrame } from '../protocol/codec';
import type { ClusterConnection, ClusterConnectionOptions } from '../backend/cluster-connection';
import { AuthFailedError, type Credentials } from '../backend/authenticator';
import { FatalReopenError } from './cluster-reconnector';
import { NoCredentialsError, UseKeyspaceError, openSession, replyText } from './open-session';

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
  try {
    try {
      await openSession(conn, {
        cluster,
        startup: o.startup,
        credentials: o.credentials,
        keyspace: o.keyspace,
        timeoutMs: o.timeoutMs,
        body: o.body,
      });
    } catch (e) {
      if (e instanceof NoCredentialsError) throw new FatalReopenError(e.message);
      if (e instanceof AuthFailedError) throw new FatalReopenError(`${cluster} refused the credentials: ${e.serverMessage}`);
      // the keyspace is gone there: this connection can never resolve unqualified names like the other one
      if (e instanceof UseKeyspaceError && e.code === ErrorCode.INVALID) throw new FatalReopenError(e.message);
      throw e;
    }
    if (o.register) {
      const g = await conn.request(o.register.withStreamId(o.register.streamId), o.timeoutMs);
      if (g.opcode !== Opcode.READY) throw new Error(`${cluster}: unexpected reply to REGISTER: ${replyText(g, o.body)}`);
    }
    return conn;
  } catch (e) {
    conn.close('reopen failed');
    throw e;
  }
}
