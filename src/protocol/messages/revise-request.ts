/**
 * REVISE_REQUEST (0xFF, request, DSE_V1/DSE_V2 only; dse_protocol_v2 section 4.1.9, called
 * CANCEL in DSE_V1): <revision_type: [int]><target stream id: [int]>[<next_pages: [int]>].
 *   revision type 1: cancel a continuous paging session;
 *   revision type 2 (DSE_V2): more pages, followed by <next_pages>.
 *
 * The body is kept as raw bytes (`body`, what the proxy forwards); the simple fields are
 * decoded alongside when present. Encoding writes `body` verbatim when given, else the fields.
 */
import { Opcode, type ProtocolVersion } from '../constants';
import type { Reader, Writer } from '../primitives';

export const RevisionType = {
  CANCEL_CONTINUOUS_PAGING: 1,
  MORE_CONTINUOUS_PAGES: 2,
} as const;

export interface ReviseRequest {
  opcode: Opcode.REVISE_REQUEST;
  /** The raw body (a view into the frame on decode). Wins over the fields on encode. */
  body?: Buffer;
  revisionType?: number;
  /** Stream id of the request being revised. */
  targetStreamId?: number;
  /** For revision type 2. */
  nextPages?: number;
}

export function encodeReviseRequest(msg: ReviseRequest, _version: ProtocolVersion, w: Writer): void {
  if (msg.body !== undefined) {
    w.writeRaw(msg.body);
    return;
  }
  if (msg.revisionType === undefined || msg.targetStreamId === undefined) {
    throw new RangeError('REVISE_REQUEST needs either a raw body or a revision type and a target stream id');
  }
  w.writeInt(msg.revisionType).writeInt(msg.targetStreamId);
  if (msg.nextPages !== undefined) w.writeInt(msg.nextPages);
}

export function decodeReviseRequest(r: Reader, _version: ProtocolVersion): ReviseRequest {
  const body = r.readRaw(r.remaining, 'REVISE_REQUEST body');
  const msg: ReviseRequest = { opcode: Opcode.REVISE_REQUEST, body };
  if (body.length >= 8) {
    msg.revisionType = body.readInt32BE(0);
    msg.targetStreamId = body.readInt32BE(4);
    if (msg.revisionType === RevisionType.MORE_CONTINUOUS_PAGES && body.length >= 12) msg.nextPages = body.readInt32BE(8);
  }
  return msg;
}
