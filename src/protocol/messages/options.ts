/** OPTIONS (0x05, request; spec section 4.1.3): empty body. Never compressed. */
import { Opcode, type ProtocolVersion } from '../constants';
import type { Reader, Writer } from '../primitives';

export interface Options {
  opcode: Opcode.OPTIONS;
}

export function encodeOptions(_msg: Options, _version: ProtocolVersion, _w: Writer): void {
  // empty body
}

export function decodeOptions(_r: Reader, _version: ProtocolVersion): Options {
  return { opcode: Opcode.OPTIONS };
}
