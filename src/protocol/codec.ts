/**
 * The codec interface of the proxy: everything outside src/protocol that touches the wire goes through this
 * module (routing and frontend import nothing else from src/protocol; a unit test checks it). What is here:
 *
 *  - frames: `RawFrame` (header + untouched body bytes, stream id rewritten in place), connection framing
 *    (legacy frames / v5 segments), full decode/encode where a message must be rebuilt (now() rewrites);
 *  - compression: `BodyCodec`, the one interface for a connection's body compression (`bodyCodec` binds the
 *    negotiated algorithm to the connection's version and size limit);
 *  - envelope handling: the message of a body after its tracing id / warnings / custom payload (`messageOf`,
 *    `openRequestBody`), the request custom payload;
 *  - request peeks (query text, keyspace, prepared id, BATCH children, flags/timestamp slot) and splices
 *    (TARGET's ids, pinned timestamps: `spliceRequest`, one copy for all edits);
 *  - replies: builders (ERROR, UNPREPARED, SUPPORTED, RESULT rows/prepared) and readers (error code and message,
 *    result kind, SET_KEYSPACE, PREPARED ids, STARTUP options, auth tokens, EVENT type).
 */
export {
  atLeastV4,
  atLeastV5,
  Consistency,
  ErrorCode,
  HeaderFlag,
  Opcode,
  opcodeName,
  ProtocolVersion,
  ResultKind,
  versionName,
} from './constants';
export { ProtocolError } from './errors';
export { RawFrame } from './frame';
export { ConnectionFraming } from './framing';
export { decodeFrame, decodeFrameWith, encodeFrame, encodeFrameLike, messageOf, peekResultKindInPlace } from './frame-codec';
export type { Frame } from './frame-codec';
export { bodyCodec, getCompressor } from './compression';
export type { BodyCodec, BodyCompressor } from './compression';
export { requestCustomPayload, withRequestCustomPayload } from './envelope';
export { startupCompression } from './messages/startup';
/** live read comparison: the async copy of a compared EXECUTE/QUERY without Skip_metadata */
export { withoutSkipMetadata } from './messages/default-timestamp';
export {
  openRequestBody,
  peekBatch,
  peekExecuteId,
  peekExecuteInPlace,
  peekPrepare,
  peekQuery,
  rebuildFrame,
  replaceBatchIds,
  requestLayout,
  spliceRequest,
  takesTimestamp,
  withAuthToken,
  withDefaultTimestampFrame,
  withEnvelope,
} from './request-codec';
export type { BatchChildRef, ExecutePeek, OpenedBody, RequestEdits, RequestLayout } from './request-codec';
export {
  clusterDownFrame,
  connectionLostFrame,
  errorFrame,
  overloadedFrame,
  preparedBody,
  protocolErrorFrame,
  readAuthenticatorClass,
  readAuthToken,
  readError,
  readErrorCode,
  readErrorMessage,
  readEventType,
  readPreparedIds,
  readResultKind,
  readSetKeyspace,
  readStartupOptions,
  readUnpreparedId,
  responseFrame,
  rowsBody,
  supportedFrame,
  unpreparedFrame,
  unsupportedVersionMessage,
} from './replies';
export {
  DataTypeCode,
  dataTypeName,
  DataTypes,
  encodeValue,
  mapOf,
  newTimeUuid,
  setOf,
  uuidFromString,
  uuidToString,
} from './values';
export type { DataType } from './values';
export type { StringMultimap, Value } from './primitives';
export type { Batch, BatchChild } from './messages/batch';
export type { Execute } from './messages/execute';
export type { Prepare } from './messages/prepare';
export type { NamedValue } from './messages/query-parameters';
export type { Query } from './messages/query';
export type { PreparedResult } from './messages/result';
export type { ColumnSpec, PreparedMetadata } from './messages/result-metadata';
