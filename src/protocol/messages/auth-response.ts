/** AUTH_RESPONSE (0x0F, request; spec section 4.1.2): a single [bytes] SASL token (may be null). */
import { Opcode, type ProtocolVersion } from '../constants';
import type { Reader, Writer } from '../primitives';

export interface AuthResponse {
  opcode: Opcode.AUTH_RESPONSE;
  /** Opaque token (a view into the frame on decode); null when the length is negative. */
  token: Buffer | null;
}

export function encodeAuthResponse(msg: AuthResponse, _version: ProtocolVersion, w: Writer): void {
  w.writeBytes(msg.token);
}

export function decodeAuthResponse(r: Reader, _version: ProtocolVersion): AuthResponse {
  return { opcode: Opcode.AUTH_RESPONSE, token: r.readBytes('AUTH_RESPONSE token') };
}
