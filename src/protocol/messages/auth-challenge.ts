/** AUTH_CHALLENGE (spec section 4.2.7): a single [bytes] SASL token (may be null, per authenticator). */
import { Opcode, type ProtocolVersion } from '../constants';
import type { Reader, Writer } from '../primitives';

export interface AuthChallenge {
  opcode: Opcode.AUTH_CHALLENGE;
  token: Buffer | null;
}

export function encodeAuthChallenge(msg: AuthChallenge, _version: ProtocolVersion, w: Writer): void {
  w.writeBytes(msg.token);
}

export function decodeAuthChallenge(r: Reader, _version: ProtocolVersion): AuthChallenge {
  return { opcode: Opcode.AUTH_CHALLENGE, token: r.readBytes('auth challenge token') };
}
