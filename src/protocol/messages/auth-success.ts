/** AUTH_SUCCESS (spec section 4.2.8): a single [bytes] token with final SASL information (may be null). */
import { Opcode, type ProtocolVersion } from '../constants';
import type { Reader, Writer } from '../primitives';

export interface AuthSuccess {
  opcode: Opcode.AUTH_SUCCESS;
  token: Buffer | null;
}

export function encodeAuthSuccess(msg: AuthSuccess, _version: ProtocolVersion, w: Writer): void {
  w.writeBytes(msg.token);
}

export function decodeAuthSuccess(r: Reader, _version: ProtocolVersion): AuthSuccess {
  return { opcode: Opcode.AUTH_SUCCESS, token: r.readBytes('auth success token') };
}
