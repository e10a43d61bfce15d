/**
 * The message registry: every request and response message by opcode and direction, with
 * `encodeMessage` / `decodeMessage` dispatching to the per-message codecs.
 */
import { Opcode, ProtocolVersion, opcodeName, versionName } from '../constants';
import { ProtocolError } from '../errors';
import { Reader, Writer } from '../primitives';
import { decodeAuthResponse, encodeAuthResponse, type AuthResponse } from './auth-response';
import { decodeBatch, encodeBatch, type Batch } from './batch';
import { decodeExecute, encodeExecute, type Execute } from './execute';
import { decodeOptions, encodeOptions, type Options } from './options';
import { decodePrepare, encodePrepare, type Prepare } from './prepare';
import { decodeQuery, encodeQuery, type Query } from './query';
import { decodeRegister, encodeRegister, type Register } from './register';
import { decodeReviseRequest, encodeReviseRequest, type ReviseRequest } from './revise-request';
import { decodeStartup, encodeStartup, type Startup } from './startup';
import { decodeAuthChallenge, encodeAuthChallenge, type AuthChallenge } from './auth-challenge';
import { decodeAuthSuccess, encodeAuthSuccess, type AuthSuccess } from './auth-success';
import { decodeAuthenticate, encodeAuthenticate, type Authenticate } from './authenticate';
import { decodeError, encodeError, type ErrorMessage } from './error';
import { decodeEvent, encodeEvent, type EventMessage } from './event';
import { decodeReady, encodeReady, type Ready } from './ready';
import { decodeResult, encodeResult, type Result } from './result';
import { decodeSupported, encodeSupported, type Supported } from './supported';

export * from './auth-response';
export * from './batch';
export * from './default-timestamp';
export * from './execute';
export * from './options';
export * from './prepare';
export * from './query';
export * from './query-parameters';
export * from './register';
export * from './revise-request';
export * from './startup';
export * from './auth-challenge';
export * from './auth-success';
export * from './authenticate';
export * from './error';
export * from './event';
export * from './ready';
export * from './result';
export * from './result-metadata';
export * from './supported';

export type RequestMessage = Startup | AuthResponse | Options | Query | Prepare | Execute | Batch | Register | ReviseRequest;
export type ResponseMessage =
  | ErrorMessage
  | Ready
  | Authenticate
  | Supported
  | Result
  | EventMessage
  | AuthChallenge
  | AuthSuccess;

export type Message = RequestMessage | ResponseMessage;

interface MessageCodec {
  readonly name: string;
  encode(msg: Message, version: ProtocolVersion, w: Writer): void;
  decode(r: Reader, version: ProtocolVersion): Message;
  /** Versions the message exists in (default: all). */
  readonly versions?: readonly ProtocolVersion[];
}

function codec<M extends Message>(
  name: string,
  encode: (msg: M, version: ProtocolVersion, w: Writer) => void,
  decode: (r: Reader, version: ProtocolVersion) => M,
  versions?: readonly ProtocolVersion[],
): MessageCodec {
  return { name, encode: encode as MessageCodec['encode'], decode, versions };
}

const REQUESTS = new Map<number, MessageCodec>([
  [Opcode.STARTUP, codec('STARTUP', encodeStartup, decodeStartup)],
  [Opcode.AUTH_RESPONSE, codec('AUTH_RESPONSE', encodeAuthResponse, decodeAuthResponse)],
  [Opcode.OPTIONS, codec('OPTIONS', encodeOptions, decodeOptions)],
  [Opcode.QUERY, codec('QUERY', encodeQuery, decodeQuery)],
  [Opcode.PREPARE, codec('PREPARE', encodePrepare, decodePrepare)],
  [Opcode.EXECUTE, codec('EXECUTE', encodeExecute, decodeExecute)],
  [Opcode.BATCH, codec('BATCH', encodeBatch, decodeBatch)],
  [Opcode.REGISTER, codec('REGISTER', encodeRegister, decodeRegister)],
  [
    Opcode.REVISE_REQUEST,
    codec('REVISE_REQUEST', encodeReviseRequest, decodeReviseRequest, [ProtocolVersion.DSE_V1, ProtocolVersion.DSE_V2]),
  ],
]);

const RESPONSES = new Map<number, MessageCodec>([
  [Opcode.ERROR, codec('ERROR', encodeError, decodeError)],
  [Opcode.READY, codec('READY', encodeReady, decodeReady)],
  [Opcode.AUTHENTICATE, codec('AUTHENTICATE', encodeAuthenticate, decodeAuthenticate)],
  [Opcode.SUPPORTED, codec('SUPPORTED', encodeSupported, decodeSupported)],
  [Opcode.RESULT, codec('RESULT', encodeResult, decodeResult)],
  [Opcode.EVENT, codec('EVENT', encodeEvent, decodeEvent)],
  [Opcode.AUTH_CHALLENGE, codec('AUTH_CHALLENGE', encodeAuthChallenge, decodeAuthChallenge)],
  [Opcode.AUTH_SUCCESS, codec('AUTH_SUCCESS', encodeAuthSuccess, decodeAuthSuccess)],
]);

/** Opcodes of request messages (client to server). */
export const REQUEST_OPCODES: readonly Opcode[] = [...REQUESTS.keys()];
/** Opcodes of response messages (server to client). */
export const RESPONSE_OPCODES: readonly Opcode[] = [...RESPONSES.keys()];

export function isRequestOpcode(opcode: number): boolean {
  return REQUESTS.has(opcode);
}
export function isResponseOpcode(opcode: number): boolean {
  return RESPONSES.has(opcode);
}
export function isRequestMessage(msg: Message): msg is RequestMessage {
  return REQUESTS.has(msg.opcode);
}

function lookup(opcode: number, isResponse: boolean, version: ProtocolVersion): MessageCodec {
  const c = (isResponse ? RESPONSES : REQUESTS).get(opcode);
  const dir = isResponse ? 'response' : 'request';
  if (c === undefined) {
    throw new ProtocolError(
      'unknown-opcode',
      `unknown ${dir} opcode ${opcodeName(opcode)} (0x${opcode.toString(16).padStart(2, '0')})`,
      {
        version,
        opcode,
      },
    );
  }
  if (c.versions !== undefined && !c.versions.includes(version)) {
    throw new ProtocolError('unknown-opcode', `${dir} opcode ${c.name} does not exist in protocol ${versionName(version)}`, {
      version,
      opcode,
    });
  }
  return c;
}

/** Encode a message body into `w` (after any envelope already written there). */
export function encodeMessageInto(msg: Message, version: ProtocolVersion, w: Writer): void {
  const c = REQUESTS.get(msg.opcode) ?? RESPONSES.get(msg.opcode);
  if (c === undefined) throw new RangeError(`no codec for opcode ${opcodeName(msg.opcode)}`);
  if (c.versions !== undefined && !c.versions.includes(version)) {
    throw new RangeError(`${c.name} does not exist in protocol ${versionName(version)}`);
  }
  c.encode(msg, version, w);
}

/** Encode a message body; returns a Buffer owned by the caller. */
export function encodeMessage(msg: Message, version: ProtocolVersion): Buffer {
  const w = new Writer(64);
  encodeMessageInto(msg, version, w);
  return w.finish();
}

export interface DecodeMessageOptions {
  /**
   * Accept bytes after the message (the spec lets servers append fields in future revisions).
   * Default false: trailing bytes are a ProtocolError('invalid-value') naming the message.
   */
  allowTrailingBytes?: boolean;
}

/**
 * Decode a message body (without envelope, already decompressed). Throws ProtocolError:
 * 'unknown-opcode' for an opcode that is not a message in that direction and version,
 * 'truncated' / 'invalid-value' for a malformed body (the message names the opcode).
 */
export function decodeMessage(
  opcode: number,
  isResponse: boolean,
  body: Buffer,
  version: ProtocolVersion,
  opts: DecodeMessageOptions = {},
): Message {
  const c = lookup(opcode, isResponse, version);
  const r = new Reader(body);
  let msg: Message;
  try {
    msg = c.decode(r, version);
  } catch (e) {
    if (e instanceof ProtocolError) throw new ProtocolError(e.code, `${c.name}: ${e.message}`, { ...e.context, version, opcode });
    throw e;
  }
  if (r.remaining > 0 && !opts.allowTrailingBytes) {
    throw new ProtocolError('invalid-value', `${c.name}: ${r.remaining} unexpected trailing byte(s) after the message`, {
      version,
      opcode,
    });
  }
  return msg;
}
