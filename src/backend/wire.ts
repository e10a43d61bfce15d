/**
 * @deprecated Compatibility shim, no codec of its own: the backend uses `src/protocol` directly
 * (`requestFrame` / `decodeResponse` in `./cluster-connection`). Only test/unit/frontend/proxy-e2e.test.ts
 * still imports these four names; delete this file once it imports `requestFrame` / `decodeResponse` instead.
 */
import { Consistency, Opcode, ProtocolVersion } from '../protocol/constants';
import { RawFrame } from '../protocol/frame';
import { decodeMessage, type ErrorMessage } from '../protocol/messages';
import type { StringMap } from '../protocol/primitives';
import { requestFrame } from './cluster-connection';

/** @deprecated use `requestFrame(version, { opcode: Opcode.OPTIONS }, streamId)`. */
export function optionsFrame(version: ProtocolVersion, streamId = 0): RawFrame {
  return requestFrame(version, { opcode: Opcode.OPTIONS }, streamId);
}
/** @deprecated use `requestFrame(version, { opcode: Opcode.STARTUP, options }, streamId)`. */
export function startupFrame(version: ProtocolVersion, options: StringMap, streamId = 0): RawFrame {
  return requestFrame(version, { opcode: Opcode.STARTUP, options }, streamId);
}
/** @deprecated use `requestFrame(version, { opcode: Opcode.QUERY, query, params }, streamId)`. */
export function queryFrame(
  version: ProtocolVersion,
  query: string,
  opts: { consistency?: Consistency; pageSize?: number; pagingState?: Buffer | null } = {},
  streamId = 0,
): RawFrame {
  const params = {
    consistency: opts.consistency ?? Consistency.ONE,
    ...(opts.pageSize !== undefined ? { pageSize: opts.pageSize } : {}),
    ...(opts.pagingState ? { pagingState: opts.pagingState } : {}),
  };
  return requestFrame(version, { opcode: Opcode.QUERY, query, params }, streamId);
}
/** @deprecated use `decodeResponse(frame)` (an `ErrorMessage`). */
export function readError(body: Buffer): { code: number; message: string } {
  const e = decodeMessage(Opcode.ERROR, true, body, ProtocolVersion.V4, { allowTrailingBytes: true }) as ErrorMessage;
  return { code: e.code, message: e.message };
}
