/**
 * SUPPORTED (spec section 4.2.4): a [string multimap] of the supported STARTUP options and their
 * values (CQL_VERSION, COMPRESSION, PROTOCOL_VERSIONS, ...).
 */
import { Opcode, type ProtocolVersion } from '../constants';
import type { Reader, StringMultimap, Writer } from '../primitives';

export interface Supported {
  opcode: Opcode.SUPPORTED;
  options: StringMultimap;
}

export function encodeSupported(msg: Supported, _version: ProtocolVersion, w: Writer): void {
  w.writeStringMultimap(msg.options);
}

export function decodeSupported(r: Reader, _version: ProtocolVersion): Supported {
  return { opcode: Opcode.SUPPORTED, options: r.readStringMultimap('supported options') };
}
