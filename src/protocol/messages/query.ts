/** QUERY (0x07, request; spec section 4.1.4): <query: [long string]><query_parameters>. */
import { Opcode, type ProtocolVersion } from '../constants';
import type { Reader, Writer } from '../primitives';
import { decodeQueryParameters, encodeQueryParameters, type QueryParameters } from './query-parameters';

export interface Query {
  opcode: Opcode.QUERY;
  query: string;
  params: QueryParameters;
}

export function encodeQuery(msg: Query, version: ProtocolVersion, w: Writer): void {
  w.writeLongString(msg.query);
  encodeQueryParameters(msg.params, version, w);
}

export function decodeQuery(r: Reader, version: ProtocolVersion): Query {
  const query = r.readLongString('QUERY query string');
  return { opcode: Opcode.QUERY, query, params: decodeQueryParameters(r, version) };
}
