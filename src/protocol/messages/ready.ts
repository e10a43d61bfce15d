/** READY (spec section 4.2.2): the server is ready to process queries. The body is empty. */
import { Opcode, type ProtocolVersion } from '../constants';
import type { Reader, Writer } from '../primitives';

export interface Ready {
  opcode: Opcode.READY;
}

export function encodeReady(_msg: Ready, _version: ProtocolVersion, _w: Writer): void {
  // empty body
}

export function decodeReady(_r: Reader, _version: ProtocolVersion): Ready {
  return { opcode: Opcode.READY };
}
