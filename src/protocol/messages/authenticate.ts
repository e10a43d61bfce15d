/** AUTHENTICATE (spec section 4.2.3): <authenticator [string]>, the full class name of the server's IAuthenticator. */
import { Opcode, type ProtocolVersion } from '../constants';
import type { Reader, Writer } from '../primitives';

export interface Authenticate {
  opcode: Opcode.AUTHENTICATE;
  authenticator: string;
}

export function encodeAuthenticate(msg: Authenticate, _version: ProtocolVersion, w: Writer): void {
  w.writeString(msg.authenticator);
}

export function decodeAuthenticate(r: Reader, _version: ProtocolVersion): Authenticate {
  return { opcode: Opcode.AUTHENTICATE, authenticator: r.readString('authenticator class') };
}
