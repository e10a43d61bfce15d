/**
 * Frames the proxy builds itself (upstream-spec-notes 5.7): errors, SUPPORTED, RESULT Rows/Prepared bodies.
 * Always uncompressed (upstream-spec-notes 3.3), except where the caller decides otherwise.
 */
import type { ClusterName } from '../cluster';
import { Consistency, ErrorCode, Opcode, ProtocolVersion, ResultKind, atLeastV5 } from './constants';
import { RawFrame } from './frame';
import { Reader, Writer, type StringMultimap } from './primitives';
import { ProtocolError } from './errors';
import { decodeError } from './messages/error';
import { decodeResult, peekPreparedIds, peekResultKind, type PreparedIds } from './messages/result';
import { encodePreparedMetadata, encodeRowsMetadata, type ColumnSpec } from './messages/result-metadata';

export const OVERLOADED_MESSAGE = 'Shutting down, please retry on next host.';

export function unsupportedVersionMessage(v: number): string {
  return `Invalid or unsupported protocol version (${v})`;
}

export function unpreparedMessage(id: Uint8Array): string {
  return (
    `Prepared query with ID ${Buffer.from(id).toString('hex')} not found (either the query was not prepared on this host ` +
    '(maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)'
  );
}

export function responseFrame(version: ProtocolVersion, streamId: number, opcode: Opcode, body: Uint8Array, flags = 0): RawFrame {
  return RawFrame.fromParts({ version, isResponse: true, flags, streamId, opcode }, body);
}

export function errorBody(code: ErrorCode, message: string, extra?: (w: Writer) => void): Buffer {
  const w = new Writer(32 + message.length);
  w.writeInt(code).writeString(message);
  if (extra) extra(w);
  return Buffer.from(w.finish());
}

export function errorFrame(version: ProtocolVersion, streamId: number, code: ErrorCode, message: string): RawFrame {
  return responseFrame(version, streamId, Opcode.ERROR, errorBody(code, message));
}

/** PROTOCOL_ERROR on stream 0 (upstream-spec-notes 3.1). */
export function protocolErrorFrame(version: ProtocolVersion, message: string, streamId = 0): RawFrame {
  return errorFrame(version, streamId, ErrorCode.PROTOCOL_ERROR, message);
}

export function overloadedFrame(version: ProtocolVersion, streamId: number): RawFrame {
  return errorFrame(version, streamId, ErrorCode.OVERLOADED, OVERLOADED_MESSAGE);
}

/**
 * A request that needs `cluster` while the session's connection to it is down (issue 12). Nothing was sent to
 * any cluster. UNAVAILABLE (consistency ONE, required 1, alive 0) is the error that means "not executed" to
 * every driver: their default retry policies retry it at most once, on the next host, whatever the statement's
 * idempotence (Java 4, Node, Python, gocql), which is safe because no cluster saw it. OVERLOADED would be
 * retried only for idempotent statements; a timeout or SERVER_ERROR would tell the driver it may have been applied.
 */
export function clusterDownFrame(version: ProtocolVersion, streamId: number, cluster: ClusterName): RawFrame {
  return responseFrame(
    version,
    streamId,
    Opcode.ERROR,
    errorBody(
      ErrorCode.UNAVAILABLE,
      `ZDM proxy: the connection to ${cluster} is down (being reopened): the request was not sent to any cluster`,
      (w) => w.writeShort(Consistency.ONE).writeInt(1).writeInt(0),
    ),
  );
}

/**
 * The reply of `cluster` to a request in flight on a connection that was lost (issue 12): the outcome there is
 * unknown. SERVER_ERROR: drivers retry it only for idempotent statements (Java 4, Python), or never (Node), as
 * they do when a connection closes under a request.
 */
export function connectionLostFrame(version: ProtocolVersion, streamId: number, cluster: ClusterName): RawFrame {
  return errorFrame(
    version,
    streamId,
    ErrorCode.SERVER_ERROR,
    `ZDM proxy: the connection to ${cluster} was lost with this request in flight: it may or may not have been applied on ${cluster}`,
  );
}

export function unpreparedFrame(version: ProtocolVersion, streamId: number, id: Uint8Array): RawFrame {
  return responseFrame(
    version,
    streamId,
    Opcode.ERROR,
    errorBody(ErrorCode.UNPREPARED, unpreparedMessage(id), (w) => w.writeShortBytes(id)),
  );
}

export function supportedFrame(version: ProtocolVersion, streamId: number, options: StringMultimap, flags = 0): RawFrame {
  return responseFrame(version, streamId, Opcode.SUPPORTED, new Writer(128).writeStringMultimap(options).finish(), flags);
}

export function rowsBody(version: ProtocolVersion, columns: ColumnSpec[], rows: (Buffer | null)[][]): Buffer {
  const w = new Writer(256);
  w.writeInt(ResultKind.ROWS);
  encodeRowsMetadata({ columnCount: columns.length, columns }, version, w);
  w.writeInt(rows.length);
  for (const row of rows) for (const cell of row) w.writeBytes(cell);
  return Buffer.from(w.finish());
}

/** RESULT Prepared without bind variables; v5/DSE_V2 carry the result metadata id (= `id` here). */
export function preparedBody(version: ProtocolVersion, id: Buffer, resultColumns: ColumnSpec[]): Buffer {
  const w = new Writer(256);
  w.writeInt(ResultKind.PREPARED).writeShortBytes(id);
  if (atLeastV5(version)) w.writeShortBytes(id);
  encodePreparedMetadata({ pkIndices: [], columns: [] }, version, w);
  encodeRowsMetadata({ columnCount: resultColumns.length, columns: resultColumns }, version, w);
  return Buffer.from(w.finish());
}

// ---- reading replies -------------------------------------------------------------------------
// Bodies here are messages (after the envelope: see `messageOf` in protocol/frame-codec). The wire
// reading is src/protocol's; these wrappers add only the leniency or copying their callers rely on.

/** The code of an ERROR body; -1 when the body is too short to hold one. */
export function readErrorCode(body: Buffer): number {
  return body.length >= 4 ? body.readInt32BE(0) : -1;
}

/** The message of an ERROR body without decoding its code-specific fields; '' when unreadable. */
export function readErrorMessage(body: Buffer): string {
  try {
    const r = new Reader(body);
    r.readInt('error code');
    return r.readString('error message');
  } catch {
    return '';
  }
}

/** The code and message of an ERROR body (code-specific fields not decoded). Throws ProtocolError when cut short. */
export function readError(body: Buffer): { code: number; message: string } {
  const r = new Reader(body);
  const code = r.readInt('error code');
  return { code, message: r.readString('error message') };
}

/** ERROR Unprepared: the id after code and message (a view). */
export function readUnpreparedId(body: Buffer): Buffer {
  // UNPREPARED's layout is the same in every protocol version
  const e = decodeError(new Reader(body), ProtocolVersion.V4);
  if (e.code !== ErrorCode.UNPREPARED)
    throw new ProtocolError('invalid-value', `not an UNPREPARED error: code 0x${e.code.toString(16)}`);
  return e.id;
}

/** The kind of a RESULT body; -1 when the body is too short to hold one. */
export function readResultKind(body: Buffer): number {
  return body.length >= 4 ? peekResultKind(body) : -1;
}

/** RESULT SetKeyspace: the keyspace. */
export function readSetKeyspace(body: Buffer, version: ProtocolVersion): string {
  const res = decodeResult(new Reader(body), version);
  if (res.kind !== ResultKind.SET_KEYSPACE)
    throw new ProtocolError('invalid-value', `not a SET_KEYSPACE result: kind ${res.kind}`);
  return res.keyspace;
}

/** RESULT Prepared: the prepared id and, for v5/DSE_V2, the result metadata id, copied (they outlive the reply). */
export function readPreparedIds(body: Buffer, version: ProtocolVersion): PreparedIds {
  const ids = peekPreparedIds(body, version);
  if (!ids) throw new ProtocolError('invalid-value', `not a PREPARED result: kind ${readResultKind(body)}`);
  const id = Buffer.from(ids.id);
  if (ids.resultMetadataId === undefined) return { id };
  return { id, resultMetadataId: Buffer.from(ids.resultMetadataId) };
}

export function readSupported(body: Buffer): StringMultimap {
  return new Reader(body).readStringMultimap('SUPPORTED options');
}

// ---- small reads of requests and replies the session handles itself ------------------------------

/** STARTUP: the options ([string map]). */
export function readStartupOptions(body: Buffer): Record<string, string> {
  return new Reader(body).readStringMap('STARTUP options');
}

/** AUTH_RESPONSE / AUTH_CHALLENGE / AUTH_SUCCESS: the token ([bytes], null when absent). */
export function readAuthToken(body: Buffer): Buffer | null {
  return new Reader(body).readBytes('auth token');
}

/** AUTHENTICATE: the authenticator class ([string]). */
export function readAuthenticatorClass(body: Buffer): string {
  return new Reader(body).readString('authenticator class');
}

/** EVENT: its type ([string]: TOPOLOGY_CHANGE, STATUS_CHANGE, SCHEMA_CHANGE). */
export function readEventType(body: Buffer): string {
  return new Reader(body).readString('event type');
}
