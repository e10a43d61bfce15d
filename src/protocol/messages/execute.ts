/**
 * EXECUTE (0x0A, request; spec section 4.1.6): <id: [short bytes]>, then in v5 and DSE_V2
 * <result_metadata_id: [short bytes]>, then <query_parameters>.
 */
import { Opcode, type ProtocolVersion } from '../constants';
import type { Reader, Writer } from '../primitives';
import {
  decodeQueryParameters,
  encodeQueryParameters,
  supportsKeyspace,
  unsupported,
  type QueryParameters,
} from './query-parameters';

export interface Execute {
  opcode: Opcode.EXECUTE;
  /** Prepared statement id (a view into the frame on decode). */
  id: Buffer;
  /** v5 and DSE_V2: required there, absent before. */
  resultMetadataId?: Buffer;
  params: QueryParameters;
}

/** Versions whose EXECUTE carries a result metadata id (v5, DSE_V2). */
function hasResultMetadataId(version: ProtocolVersion): boolean {
  return supportsKeyspace(version);
}

export function encodeExecute(msg: Execute, version: ProtocolVersion, w: Writer): void {
  w.writeShortBytes(msg.id);
  if (hasResultMetadataId(version)) {
    if (msg.resultMetadataId === undefined) throw new RangeError('EXECUTE needs a result metadata id in v5 and DSE_V2');
    w.writeShortBytes(msg.resultMetadataId);
  } else if (msg.resultMetadataId !== undefined) {
    throw unsupported('EXECUTE result metadata id', version);
  }
  encodeQueryParameters(msg.params, version, w);
}

export function decodeExecute(r: Reader, version: ProtocolVersion): Execute {
  const id = r.readShortBytes('EXECUTE prepared id');
  if (hasResultMetadataId(version)) {
    const resultMetadataId = r.readShortBytes('EXECUTE result metadata id');
    return { opcode: Opcode.EXECUTE, id, resultMetadataId, params: decodeQueryParameters(r, version) };
  }
  return { opcode: Opcode.EXECUTE, id, params: decodeQueryParameters(r, version) };
}
