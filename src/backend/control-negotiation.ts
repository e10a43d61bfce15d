/**
 * Opening a control connection's session on one node (upstream-spec-notes 2.2.1): the protocol version negotiation order,
 * OPTIONS/STARTUP and authentication with the configured credentials, REGISTER for topology and schema events.
 * Used by ControlConnection (control-connection.ts). Upstream: `proxy/pkg/zdmproxy/controlconn.go`
 * `connAndNegotiateProtoVer`, `downgradeProtocol`; `cqlconn.go` `PerformHandshake`, `SubscribeToProtocolEvents`.
 */
import type { Logger } from 'pino';
import { ErrorCode, Opcode, ProtocolVersion, opcodeName } from '../protocol/constants';
import type { RawFrame } from '../protocol/frame';
import type { Authenticate, ErrorMessage, Supported } from '../protocol/messages';
import { runAuthRounds } from './authenticator';
import type { ClusterName } from '../cluster';
import { type ClusterConnection, decodeResponse, requestFrame } from './cluster-connection';

/** Negotiation order (upstream-spec-notes 2.2.1). */
export const NEGOTIATION_ORDER: readonly ProtocolVersion[] = [
  ProtocolVersion.DSE_V2,
  ProtocolVersion.DSE_V1,
  ProtocolVersion.V5,
  ProtocolVersion.V4,
  ProtocolVersion.V3,
  ProtocolVersion.V2,
];

/** The cluster answered the handshake with a protocol error for this version: try a lower one. */
export class VersionRejectedError extends Error {}

export interface HandshakeOptions {
  cluster: ClusterName;
  username?: string;
  password?: string;
  /** Response timeout of each request. */
  timeoutMs: number;
  logger: Logger;
}

export interface HandshakeResult {
  /** The SUPPORTED options of the node. */
  supported: Record<string, string[]>;
  authEnabled: boolean;
}

/**
 * OPTIONS, STARTUP and, when the node asks, the authentication rounds, at protocol `version`.
 * Throws VersionRejectedError when the node rejects that version.
 */
export async function handshake(
  conn: ClusterConnection,
  version: ProtocolVersion,
  o: HandshakeOptions,
): Promise<HandshakeResult> {
  const supported = await conn.request(requestFrame(version, { opcode: Opcode.OPTIONS }), o.timeoutMs);
  checkVersionRejection(supported, version);
  if (supported.opcode !== Opcode.SUPPORTED) throw new Error(`expected SUPPORTED, got ${describe(supported)}`);
  const options = (decodeResponse(supported) as Supported).options;

  const reply = await conn.request(
    requestFrame(version, { opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0' } }),
    o.timeoutMs,
  );
  checkVersionRejection(reply, version);
  let authEnabled: boolean;
  if (reply.opcode === Opcode.READY) {
    authEnabled = false;
    o.logger.warn(`${o.cluster} ControlConn: authentication is NOT enabled.`);
  } else if (reply.opcode === Opcode.AUTHENTICATE) {
    authEnabled = true;
    const authenticatorClass = (decodeResponse(reply) as Authenticate).authenticator;
    if (o.username === undefined || o.username === '') {
      throw new Error(`${o.cluster} requires authentication (${authenticatorClass}) but no username/password is configured`);
    }
    await runAuthRounds(conn, {
      version,
      authenticatorClass,
      credentials: { username: o.username, password: o.password ?? '' },
      timeoutMs: o.timeoutMs,
    });
  } else {
    throw new Error(`expected READY or AUTHENTICATE in reply to STARTUP, got ${describe(reply)}`);
  }
  return { supported: options, authEnabled };
}

function checkVersionRejection(f: RawFrame, version: ProtocolVersion): void {
  if (f.opcode !== Opcode.ERROR) return;
  const e = decodeResponse(f) as ErrorMessage;
  if (e.code === ErrorCode.PROTOCOL_ERROR || f.version !== version) throw new VersionRejectedError(e.message);
}

/** REGISTER for TOPOLOGY_CHANGE events (topology refresh) and SCHEMA_CHANGE events (the live read comparison's key columns). */
export async function registerForTopologyEvents(
  conn: ClusterConnection,
  version: ProtocolVersion,
  timeoutMs: number,
): Promise<void> {
  const r = await conn.request(
    requestFrame(version, { opcode: Opcode.REGISTER, eventTypes: ['TOPOLOGY_CHANGE', 'SCHEMA_CHANGE'] }),
    timeoutMs,
  );
  if (r.opcode !== Opcode.READY) throw new Error(`expected READY in reply to REGISTER, got ${describe(r)}`);
}

/** A reply for an error message: the opcode, or for an ERROR its code and message. */
export function describe(f: RawFrame): string {
  if (f.opcode === Opcode.ERROR) {
    try {
      const e = decodeResponse(f) as ErrorMessage;
      return `ERROR 0x${e.code.toString(16)}: ${e.message}`;
    } catch {
      /* fall through */
    }
  }
  return opcodeName(f.opcode);
}
