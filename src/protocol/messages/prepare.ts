/**
 * PREPARE (0x09, request; spec section 4.1.5): <query: [long string]>, then in v5 and DSE_V2
 * <flags: [int]>[<keyspace: [string]>] (flag 0x01 = with keyspace). v2-v4 and DSE_V1 have no
 * flags field.
 */
import { Opcode, type ProtocolVersion } from '../constants';
import type { Reader, Writer } from '../primitives';
import { supportsKeyspace, unsupported } from './query-parameters';

export const PrepareFlag = {
  WITH_KEYSPACE: 0x01,
} as const;

export interface Prepare {
  opcode: Opcode.PREPARE;
  query: string;
  /** v5 and DSE_V2 only. */
  keyspace?: string;
}

export function encodePrepare(msg: Prepare, version: ProtocolVersion, w: Writer): void {
  w.writeLongString(msg.query);
  if (supportsKeyspace(version)) {
    if (msg.keyspace !== undefined) w.writeInt(PrepareFlag.WITH_KEYSPACE).writeString(msg.keyspace);
    else w.writeInt(0);
  } else if (msg.keyspace !== undefined) {
    throw unsupported('PREPARE keyspace', version);
  }
}

export function decodePrepare(r: Reader, version: ProtocolVersion): Prepare {
  const query = r.readLongString('PREPARE query string');
  const msg: Prepare = { opcode: Opcode.PREPARE, query };
  if (supportsKeyspace(version)) {
    const flags = r.readInt('PREPARE flags');
    if (flags & PrepareFlag.WITH_KEYSPACE) msg.keyspace = r.readString('PREPARE keyspace');
  }
  return msg;
}
