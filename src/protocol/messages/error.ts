/**
 * ERROR (spec section 4.2.1, error codes in v3/v4 section 9, v5 section 8, DSE section 9):
 *   <code [int]><message [string]> then, depending on the code:
 *   UNAVAILABLE        <cl [consistency]><required [int]><alive [int]>
 *   WRITE_TIMEOUT      <cl><received [int]><blockfor [int]><writeType [string]>
 *                      [<contentions [short]>]  v5 only, and only when writeType is "CAS"
 *   READ_TIMEOUT       <cl><received><blockfor><data_present [byte]>
 *   READ_FAILURE       <cl><received><blockfor><numfailures [int]><data_present [byte]>       (v4)
 *                      <cl><received><blockfor><reasonmap><data_present [byte]>               (v5, DSE_V1, DSE_V2)
 *   WRITE_FAILURE      <cl><received><blockfor><numfailures [int]><writeType [string]>        (v4)
 *                      <cl><received><blockfor><reasonmap><writeType [string]>                (v5, DSE_V1, DSE_V2)
 *                        where <reasonmap> is [int] n then n * <endpoint [inetaddr]><failurecode [short]>
 *   FUNCTION_FAILURE   <keyspace [string]><function [string]><arg_types [string list]>       (v4+)
 *   CAS_WRITE_UNKNOWN  <cl><received><blockfor>                                              (v5)
 *   ALREADY_EXISTS     <keyspace [string]><table [string]>
 *   UNPREPARED         <id [short bytes]>
 *   anything else (SERVER_ERROR, PROTOCOL_ERROR, AUTH_ERROR, OVERLOADED, IS_BOOTSTRAPPING, TRUNCATE_ERROR,
 *   CDC_WRITE_FAILURE, SYNTAX_ERROR, UNAUTHORIZED, INVALID, CONFIG_ERROR, DSE's CLIENT_WRITE_FAILURE 0x8000
 *   and unknown codes): the message only.
 *
 * The codec does not refuse an error code in a version that predates it (READ_FAILURE in v3 uses the v4
 * layout): servers only send what the version allows, and the proxy should relay rather than fail.
 */
import { type Consistency, ErrorCode, Opcode, ProtocolVersion } from '../constants';
import { ProtocolError } from '../errors';
import type { Reader, Writer } from '../primitives';

/** DSE_V1/DSE_V2: error while sending asynchronous (continuous paging) results to the client. Message only. */
export const DSE_CLIENT_WRITE_FAILURE = 0x8000;

/** Codes whose body is the message alone. */
export type MessageOnlyErrorCode =
  | ErrorCode.SERVER_ERROR
  | ErrorCode.PROTOCOL_ERROR
  | ErrorCode.AUTH_ERROR
  | ErrorCode.OVERLOADED
  | ErrorCode.IS_BOOTSTRAPPING
  | ErrorCode.TRUNCATE_ERROR
  | ErrorCode.CDC_WRITE_FAILURE
  | ErrorCode.SYNTAX_ERROR
  | ErrorCode.UNAUTHORIZED
  | ErrorCode.INVALID
  | ErrorCode.CONFIG_ERROR
  | typeof DSE_CLIENT_WRITE_FAILURE;

/** Write types of WRITE_TIMEOUT / WRITE_FAILURE (kept as a string: servers may add new ones). */
export type WriteType = 'SIMPLE' | 'BATCH' | 'UNLOGGED_BATCH' | 'COUNTER' | 'BATCH_LOG' | 'CAS' | 'VIEW' | 'CDC' | (string & {});

/** One entry of a v5/DSE <reasonmap>: replica address and failure reason code. */
export interface FailureReason {
  endpoint: string;
  failureCode: number;
}

interface ErrorBase {
  opcode: Opcode.ERROR;
  message: string;
}

/**
 * A message-only error. Codes this codec does not know (from a newer server) are also decoded as a
 * MessageOnlyError carrying the real number, so they re-encode unchanged: the type names the known
 * codes only, because a `number` member would stop `switch (err.code)` from narrowing `ErrorMessage`.
 */
export interface MessageOnlyError extends ErrorBase {
  code: MessageOnlyErrorCode;
}
export interface UnavailableError extends ErrorBase {
  code: ErrorCode.UNAVAILABLE;
  consistency: Consistency;
  required: number;
  alive: number;
}
export interface WriteTimeoutError extends ErrorBase {
  code: ErrorCode.WRITE_TIMEOUT;
  consistency: Consistency;
  received: number;
  blockFor: number;
  writeType: WriteType;
  /** v5 with writeType "CAS" only (required there: the encoder writes 0 when absent). */
  contentions?: number;
}
export interface ReadTimeoutError extends ErrorBase {
  code: ErrorCode.READ_TIMEOUT;
  consistency: Consistency;
  received: number;
  blockFor: number;
  dataPresent: boolean;
}
export interface ReadFailureError extends ErrorBase {
  code: ErrorCode.READ_FAILURE;
  consistency: Consistency;
  received: number;
  blockFor: number;
  /** v3/v4 <numfailures>; after decoding v5/DSE, the number of reasonmap entries. */
  numFailures: number;
  /** v5/DSE_V1/DSE_V2 <reasonmap> (the encoder writes an empty map when absent). Ignored in v3/v4. */
  reasonMap?: FailureReason[];
  dataPresent: boolean;
}
export interface WriteFailureError extends ErrorBase {
  code: ErrorCode.WRITE_FAILURE;
  consistency: Consistency;
  received: number;
  blockFor: number;
  /** v3/v4 <numfailures>; after decoding v5/DSE, the number of reasonmap entries. */
  numFailures: number;
  /** v5/DSE_V1/DSE_V2 <reasonmap> (the encoder writes an empty map when absent). Ignored in v3/v4. */
  reasonMap?: FailureReason[];
  writeType: WriteType;
}
export interface FunctionFailureError extends ErrorBase {
  code: ErrorCode.FUNCTION_FAILURE;
  keyspace: string;
  functionName: string;
  argTypes: string[];
}
export interface CasWriteUnknownError extends ErrorBase {
  code: ErrorCode.CAS_WRITE_UNKNOWN;
  consistency: Consistency;
  received: number;
  blockFor: number;
}
export interface AlreadyExistsError extends ErrorBase {
  code: ErrorCode.ALREADY_EXISTS;
  keyspace: string;
  /** Empty when a keyspace already exists. */
  table: string;
}
export interface UnpreparedError extends ErrorBase {
  code: ErrorCode.UNPREPARED;
  id: Buffer;
}

export type ErrorMessage =
  | MessageOnlyError
  | UnavailableError
  | WriteTimeoutError
  | ReadTimeoutError
  | ReadFailureError
  | WriteFailureError
  | FunctionFailureError
  | CasWriteUnknownError
  | AlreadyExistsError
  | UnpreparedError;

/** READ_FAILURE / WRITE_FAILURE carry a <reasonmap> instead of <numfailures>: v5, DSE_V1 and DSE_V2. */
export function hasReasonMap(version: ProtocolVersion): boolean {
  return version >= ProtocolVersion.V5;
}
/** WRITE_TIMEOUT of type CAS carries <contentions>: v5 only (the DSE specs do not define it). */
export function hasCasContentions(version: ProtocolVersion): boolean {
  return version === ProtocolVersion.V5;
}

const MESSAGE_ONLY: ReadonlySet<number> = new Set<number>([
  ErrorCode.SERVER_ERROR,
  ErrorCode.PROTOCOL_ERROR,
  ErrorCode.AUTH_ERROR,
  ErrorCode.OVERLOADED,
  ErrorCode.IS_BOOTSTRAPPING,
  ErrorCode.TRUNCATE_ERROR,
  ErrorCode.CDC_WRITE_FAILURE,
  ErrorCode.SYNTAX_ERROR,
  ErrorCode.UNAUTHORIZED,
  ErrorCode.INVALID,
  ErrorCode.CONFIG_ERROR,
  DSE_CLIENT_WRITE_FAILURE,
]);

export function isMessageOnlyErrorCode(code: number): code is MessageOnlyErrorCode {
  return MESSAGE_ONLY.has(code);
}

// ---------------------------------------------------------------------------------------------
// Constructors for the replies the proxy sends itself
// ---------------------------------------------------------------------------------------------

/** An error with a message-only body (SERVER_ERROR, PROTOCOL_ERROR, AUTH_ERROR, OVERLOADED, INVALID, ...). */
export function simpleError(code: MessageOnlyErrorCode, message: string): MessageOnlyError {
  return { opcode: Opcode.ERROR, code, message };
}
export function serverError(message: string): MessageOnlyError {
  return simpleError(ErrorCode.SERVER_ERROR, message);
}
export function protocolError(message: string): MessageOnlyError {
  return simpleError(ErrorCode.PROTOCOL_ERROR, message);
}
export function authError(message: string): MessageOnlyError {
  return simpleError(ErrorCode.AUTH_ERROR, message);
}
export function overloadedError(message: string): MessageOnlyError {
  return simpleError(ErrorCode.OVERLOADED, message);
}
export function invalidError(message: string): MessageOnlyError {
  return simpleError(ErrorCode.INVALID, message);
}
export function syntaxError(message: string): MessageOnlyError {
  return simpleError(ErrorCode.SYNTAX_ERROR, message);
}
export function unauthorizedError(message: string): MessageOnlyError {
  return simpleError(ErrorCode.UNAUTHORIZED, message);
}
export function unpreparedError(id: Buffer, message = `Prepared query with ID ${id.toString('hex')} not found`): UnpreparedError {
  return { opcode: Opcode.ERROR, code: ErrorCode.UNPREPARED, message, id };
}
export function unavailableError(consistency: Consistency, required: number, alive: number, message: string): UnavailableError {
  return { opcode: Opcode.ERROR, code: ErrorCode.UNAVAILABLE, message, consistency, required, alive };
}
export function readTimeoutError(
  consistency: Consistency,
  received: number,
  blockFor: number,
  dataPresent: boolean,
  message: string,
): ReadTimeoutError {
  return { opcode: Opcode.ERROR, code: ErrorCode.READ_TIMEOUT, message, consistency, received, blockFor, dataPresent };
}
export function writeTimeoutError(
  consistency: Consistency,
  received: number,
  blockFor: number,
  writeType: WriteType,
  message: string,
): WriteTimeoutError {
  return { opcode: Opcode.ERROR, code: ErrorCode.WRITE_TIMEOUT, message, consistency, received, blockFor, writeType };
}
/** An error with a code this codec does not model (re-encodes as code + message). */
export function unknownError(code: number, message: string): MessageOnlyError {
  return { opcode: Opcode.ERROR, code: code as MessageOnlyErrorCode, message };
}

/** A readable name for an error code (`WRITE_TIMEOUT`, `CLIENT_WRITE_FAILURE`, `0x1234`). */
export function errorCodeName(code: number): string {
  if (code === DSE_CLIENT_WRITE_FAILURE) return 'CLIENT_WRITE_FAILURE';
  return ErrorCode[code] ?? `0x${code.toString(16).padStart(4, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Codec
// ---------------------------------------------------------------------------------------------

function writeReasonMap(reasons: readonly FailureReason[], w: Writer): void {
  w.writeInt(reasons.length);
  for (const r of reasons) w.writeInetAddr(r.endpoint).writeShort(r.failureCode);
}

function readReasonMap(r: Reader): FailureReason[] {
  const n = r.readInt('reasonmap size');
  if (n < 0) throw new ProtocolError('invalid-value', `reasonmap size ${n} is negative`);
  // each entry is at least 1 + 4 + 2 bytes
  if (n * 7 > r.remaining)
    throw new ProtocolError('truncated', `reasonmap declares ${n} entries but only ${r.remaining} bytes follow`);
  const out: FailureReason[] = [];
  for (let i = 0; i < n; i++) {
    const endpoint = r.readInetAddr('reasonmap endpoint');
    out.push({ endpoint, failureCode: r.readShort('reasonmap failure code') });
  }
  return out;
}

export function encodeError(msg: ErrorMessage, version: ProtocolVersion, w: Writer): void {
  w.writeInt(msg.code);
  w.writeString(msg.message);
  switch (msg.code) {
    case ErrorCode.UNAVAILABLE:
      w.writeShort(msg.consistency).writeInt(msg.required).writeInt(msg.alive);
      return;
    case ErrorCode.WRITE_TIMEOUT:
      w.writeShort(msg.consistency).writeInt(msg.received).writeInt(msg.blockFor).writeString(msg.writeType);
      if (msg.writeType === 'CAS' && hasCasContentions(version)) w.writeShort(msg.contentions ?? 0);
      return;
    case ErrorCode.READ_TIMEOUT:
      w.writeShort(msg.consistency)
        .writeInt(msg.received)
        .writeInt(msg.blockFor)
        .writeByte(msg.dataPresent ? 1 : 0);
      return;
    case ErrorCode.READ_FAILURE:
      w.writeShort(msg.consistency).writeInt(msg.received).writeInt(msg.blockFor);
      if (hasReasonMap(version)) writeReasonMap(msg.reasonMap ?? [], w);
      else w.writeInt(msg.numFailures);
      w.writeByte(msg.dataPresent ? 1 : 0);
      return;
    case ErrorCode.WRITE_FAILURE:
      w.writeShort(msg.consistency).writeInt(msg.received).writeInt(msg.blockFor);
      if (hasReasonMap(version)) writeReasonMap(msg.reasonMap ?? [], w);
      else w.writeInt(msg.numFailures);
      w.writeString(msg.writeType);
      return;
    case ErrorCode.FUNCTION_FAILURE:
      w.writeString(msg.keyspace).writeString(msg.functionName).writeStringList(msg.argTypes);
      return;
    case ErrorCode.CAS_WRITE_UNKNOWN:
      w.writeShort(msg.consistency).writeInt(msg.received).writeInt(msg.blockFor);
      return;
    case ErrorCode.ALREADY_EXISTS:
      w.writeString(msg.keyspace).writeString(msg.table);
      return;
    case ErrorCode.UNPREPARED:
      w.writeShortBytes(msg.id);
      return;
    default:
      return; // message only
  }
}

export function decodeError(r: Reader, version: ProtocolVersion): ErrorMessage {
  const code = r.readInt('error code');
  const message = r.readString('error message');
  const opcode = Opcode.ERROR as const;
  switch (code) {
    case ErrorCode.UNAVAILABLE: {
      const consistency = r.readShort('UNAVAILABLE consistency') as Consistency;
      const required = r.readInt('UNAVAILABLE required');
      return { opcode, code, message, consistency, required, alive: r.readInt('UNAVAILABLE alive') };
    }
    case ErrorCode.WRITE_TIMEOUT: {
      const consistency = r.readShort('WRITE_TIMEOUT consistency') as Consistency;
      const received = r.readInt('WRITE_TIMEOUT received');
      const blockFor = r.readInt('WRITE_TIMEOUT blockfor');
      const writeType = r.readString('WRITE_TIMEOUT write type');
      const e: WriteTimeoutError = { opcode, code, message, consistency, received, blockFor, writeType };
      if (writeType === 'CAS' && hasCasContentions(version)) e.contentions = r.readShort('WRITE_TIMEOUT contentions');
      return e;
    }
    case ErrorCode.READ_TIMEOUT: {
      const consistency = r.readShort('READ_TIMEOUT consistency') as Consistency;
      const received = r.readInt('READ_TIMEOUT received');
      const blockFor = r.readInt('READ_TIMEOUT blockfor');
      return {
        opcode,
        code,
        message,
        consistency,
        received,
        blockFor,
        dataPresent: r.readByte('READ_TIMEOUT data_present') !== 0,
      };
    }
    case ErrorCode.READ_FAILURE: {
      const consistency = r.readShort('READ_FAILURE consistency') as Consistency;
      const received = r.readInt('READ_FAILURE received');
      const blockFor = r.readInt('READ_FAILURE blockfor');
      if (hasReasonMap(version)) {
        const reasonMap = readReasonMap(r);
        const dataPresent = r.readByte('READ_FAILURE data_present') !== 0;
        return { opcode, code, message, consistency, received, blockFor, numFailures: reasonMap.length, reasonMap, dataPresent };
      }
      const numFailures = r.readInt('READ_FAILURE numfailures');
      return {
        opcode,
        code,
        message,
        consistency,
        received,
        blockFor,
        numFailures,
        dataPresent: r.readByte('READ_FAILURE data_present') !== 0,
      };
    }
    case ErrorCode.WRITE_FAILURE: {
      const consistency = r.readShort('WRITE_FAILURE consistency') as Consistency;
      const received = r.readInt('WRITE_FAILURE received');
      const blockFor = r.readInt('WRITE_FAILURE blockfor');
      if (hasReasonMap(version)) {
        const reasonMap = readReasonMap(r);
        const writeType = r.readString('WRITE_FAILURE write type');
        return { opcode, code, message, consistency, received, blockFor, numFailures: reasonMap.length, reasonMap, writeType };
      }
      const numFailures = r.readInt('WRITE_FAILURE numfailures');
      return {
        opcode,
        code,
        message,
        consistency,
        received,
        blockFor,
        numFailures,
        writeType: r.readString('WRITE_FAILURE write type'),
      };
    }
    case ErrorCode.FUNCTION_FAILURE: {
      const keyspace = r.readString('FUNCTION_FAILURE keyspace');
      const functionName = r.readString('FUNCTION_FAILURE function');
      return { opcode, code, message, keyspace, functionName, argTypes: r.readStringList('FUNCTION_FAILURE arg types') };
    }
    case ErrorCode.CAS_WRITE_UNKNOWN: {
      const consistency = r.readShort('CAS_WRITE_UNKNOWN consistency') as Consistency;
      const received = r.readInt('CAS_WRITE_UNKNOWN received');
      return { opcode, code, message, consistency, received, blockFor: r.readInt('CAS_WRITE_UNKNOWN blockfor') };
    }
    case ErrorCode.ALREADY_EXISTS: {
      const keyspace = r.readString('ALREADY_EXISTS keyspace');
      return { opcode, code, message, keyspace, table: r.readString('ALREADY_EXISTS table') };
    }
    case ErrorCode.UNPREPARED:
      return { opcode, code, message, id: r.readShortBytes('UNPREPARED id') };
    default:
      // known message-only codes, and unknown codes kept as they are (see MessageOnlyError)
      return { opcode, code: code as MessageOnlyErrorCode, message };
  }
}
