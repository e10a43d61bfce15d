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
// Aliases (`export import`), not `export { } from`: CommonJS output then holds plain values, where a re-export
// is a getter run on every use (`Opcode.EXECUTE` in a switch on the request path).
import * as constants from './constants';
export import atLeastV4 = constants.atLeastV4;
export import atLeastV5 = constants.atLeastV5;
export import Consistency = constants.Consistency;
export import ErrorCode = constants.ErrorCode;
export import HeaderFlag = constants.HeaderFlag;
export import Opcode = constants.Opcode;
export import opcodeName = constants.opcodeName;
export import ProtocolVersion = constants.ProtocolVersion;
export import ResultKind = constants.ResultKind;
export import versionName = constants.versionName;
import * as errors_ from './errors';
export import ProtocolError = errors_.ProtocolError;
import * as frame_ from './frame';
export import RawFrame = frame_.RawFrame;
import * as framing_ from './framing';
export import ConnectionFraming = framing_.ConnectionFraming;
import * as frame_codec_ from './frame-codec';
export import decodeFrame = frame_codec_.decodeFrame;
export import decodeFrameWith = frame_codec_.decodeFrameWith;
export import encodeFrame = frame_codec_.encodeFrame;
export import encodeFrameLike = frame_codec_.encodeFrameLike;
export import messageOf = frame_codec_.messageOf;
export import peekResultKindInPlace = frame_codec_.peekResultKindInPlace;
export type { Frame } from './frame-codec';
import * as compression_ from './compression';
export import bodyCodec = compression_.bodyCodec;
export import getCompressor = compression_.getCompressor;
export type { BodyCodec, BodyCompressor } from './compression';
import * as envelope_ from './envelope';
export import requestCustomPayload = envelope_.requestCustomPayload;
export import withRequestCustomPayload = envelope_.withRequestCustomPayload;
import * as messages_startup_ from './messages/startup';
export import startupCompression = messages_startup_.startupCompression;
/** live read comparison: the async copy of a compared EXECUTE/QUERY without Skip_metadata */
import * as messages_default_timestamp_ from './messages/default-timestamp';
export import withoutSkipMetadata = messages_default_timestamp_.withoutSkipMetadata;
import * as request_codec_ from './request-codec';
export import openRequestBody = request_codec_.openRequestBody;
export import peekBatch = request_codec_.peekBatch;
export import peekExecuteId = request_codec_.peekExecuteId;
export import peekExecuteInPlace = request_codec_.peekExecuteInPlace;
export import peekPrepare = request_codec_.peekPrepare;
export import peekQuery = request_codec_.peekQuery;
export import rebuildFrame = request_codec_.rebuildFrame;
export import replaceBatchIds = request_codec_.replaceBatchIds;
export import requestLayout = request_codec_.requestLayout;
export import spliceRequest = request_codec_.spliceRequest;
export import takesTimestamp = request_codec_.takesTimestamp;
export import withAuthToken = request_codec_.withAuthToken;
export import withDefaultTimestampFrame = request_codec_.withDefaultTimestampFrame;
export import withEnvelope = request_codec_.withEnvelope;
export type { BatchChildRef, ExecutePeek, OpenedBody, RequestEdits, RequestLayout } from './request-codec';
import * as replies_ from './replies';
export import clusterDownFrame = replies_.clusterDownFrame;
export import connectionLostFrame = replies_.connectionLostFrame;
export import errorFrame = replies_.errorFrame;
export import overloadedFrame = replies_.overloadedFrame;
export import preparedBody = replies_.preparedBody;
export import protocolErrorFrame = replies_.protocolErrorFrame;
export import readAuthenticatorClass = replies_.readAuthenticatorClass;
export import readAuthToken = replies_.readAuthToken;
export import readError = replies_.readError;
export import readErrorCode = replies_.readErrorCode;
export import readErrorMessage = replies_.readErrorMessage;
export import readEventType = replies_.readEventType;
export import readPreparedIds = replies_.readPreparedIds;
export import readResultKind = replies_.readResultKind;
export import readSetKeyspace = replies_.readSetKeyspace;
export import readStartupOptions = replies_.readStartupOptions;
export import readUnpreparedId = replies_.readUnpreparedId;
export import responseFrame = replies_.responseFrame;
export import rowsBody = replies_.rowsBody;
export import supportedFrame = replies_.supportedFrame;
export import unpreparedFrame = replies_.unpreparedFrame;
export import unsupportedVersionMessage = replies_.unsupportedVersionMessage;
import * as values_ from './values';
export import DataTypeCode = values_.DataTypeCode;
export import dataTypeName = values_.dataTypeName;
export import DataTypes = values_.DataTypes;
export import encodeValue = values_.encodeValue;
export import mapOf = values_.mapOf;
export import newTimeUuid = values_.newTimeUuid;
export import setOf = values_.setOf;
export import uuidFromString = values_.uuidFromString;
export import uuidToString = values_.uuidToString;
export type { DataType } from './values';
export type { StringMultimap, Value } from './primitives';
export type { Batch, BatchChild } from './messages/batch';
export type { Execute } from './messages/execute';
export type { Prepare } from './messages/prepare';
export type { NamedValue } from './messages/query-parameters';
export type { Query } from './messages/query';
export type { PreparedResult } from './messages/result';
export type { ColumnSpec, PreparedMetadata } from './messages/result-metadata';
