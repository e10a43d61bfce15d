/** REGISTER (0x0B, request; spec section 4.1.8): a [string list] of event types. */
import { Opcode, type ProtocolVersion } from '../constants';
import type { Reader, Writer } from '../primitives';

export const RegisterEventType = {
  TOPOLOGY_CHANGE: 'TOPOLOGY_CHANGE',
  STATUS_CHANGE: 'STATUS_CHANGE',
  SCHEMA_CHANGE: 'SCHEMA_CHANGE',
} as const;

export interface Register {
  opcode: Opcode.REGISTER;
  eventTypes: string[];
}

export function encodeRegister(msg: Register, _version: ProtocolVersion, w: Writer): void {
  w.writeStringList(msg.eventTypes);
}

export function decodeRegister(r: Reader, _version: ProtocolVersion): Register {
  return { opcode: Opcode.REGISTER, eventTypes: r.readStringList('REGISTER event types') };
}
