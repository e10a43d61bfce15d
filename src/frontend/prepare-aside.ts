/**
 * PREPARE in a given keyspace on a short-lived separate connection to one node (issue 12, one-sided UNPREPARED).
 *
 * Cassandra's prepared id is a digest of the keyspace the PREPARE ran in and the query text, and its prepared
 * statements are node-wide (any connection to the node may EXECUTE them). Before protocol v5 a PREPARE cannot name
 * a keyspace: it runs in its connection's keyspace. When the session's keyspace changed since the statement was
 * prepared, re-preparing on the session's own connection would prepare another statement (another id, or another
 * table). Switching that connection's keyspace back and forth is not safe: the node runs the requests pipelined
 * on one connection concurrently, so a client request in flight there could resolve in the wrong keyspace.
 * Instead a fresh connection to the same node does `STARTUP` (the client's, so the same options), auth with the
 * credentials the async connector would use, `USE <keyspace>` (none when the statement was prepared with no
 * keyspace), `PREPARE`, and is closed. Nothing is executed on it.
 */
import type { Logger } from 'pino';
import { Opcode, type ProtocolVersion, type RawFrame } from '../protocol/codec';
import type { Credentials } from '../backend/authenticator';
import { requestFrame, type ClusterConnection, type ClusterConnectionOptions } from '../backend/cluster-connection';
import { openSession } from './open-session';

export interface PrepareAsideOptions {
  connect: (opts: ClusterConnectionOptions) => Promise<ClusterConnection>;
  /** where and how to dial (the node of the session's connection to that cluster) */
  dial: Omit<ClusterConnectionOptions, 'maxStreamIds' | 'retry'>;
  /** the client's STARTUP (a copy is sent) */
  startup: RawFrame;
  credentials: () => Credentials | undefined;
  version: ProtocolVersion;
  /** the keyspace the statement was prepared in ('' = none) */
  keyspace: string;
  query: string;
  timeoutMs: number;
  /** the message of a reply (decompressed, after its envelope) */
  body: (f: RawFrame) => Buffer;
  log: Logger;
}

/** Resolves with the node's reply to the PREPARE (a RESULT or an ERROR); rejects when the connection, handshake or USE failed. */
export async function prepareAside(o: PrepareAsideOptions): Promise<RawFrame> {
  const conn = await o.connect({ ...o.dial, maxStreamIds: 4, retry: false });
  try {
    await openSession(conn, {
      cluster: o.dial.cluster,
      startup: o.startup,
      credentials: o.credentials,
      keyspace: o.keyspace,
      timeoutMs: o.timeoutMs,
      body: o.body,
    });
    o.log.debug(`re-preparing on a separate connection to ${o.dial.cluster} in keyspace '${o.keyspace}'`);
    return await conn.request(requestFrame(o.version, { opcode: Opcode.PREPARE, query: o.query }), o.timeoutMs);
  } finally {
    conn.close('re-prepare done');
  }
}
