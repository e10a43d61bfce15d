/**
 * Typed errors for bad wire input. Every decoding failure in `src/protocol` is a
 * `ProtocolError`: callers (the proxy's client sessions) turn it into a protocol
 * ERROR reply or a closed connection, never a process crash.
 */
export type ProtocolErrorCode =
  | 'truncated' // fewer bytes than a field declares
  | 'unsupported-version' // version byte we do not speak
  | 'unknown-opcode'
  | 'frame-too-large' // body length above the configured maximum
  | 'invalid-value' // a field holds a value the spec forbids (negative length, bad flag, ...)
  | 'compression' // compressed data that does not decompress as declared
  | 'checksum'; // v5 segment CRC mismatch

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    /** Version and stream of the offending frame when known, so a reply can be addressed. */
    readonly context: { version?: number; streamId?: number; opcode?: number } = {},
  ) {
    super(message);
  }
}

export function isProtocolError(e: unknown): e is ProtocolError {
  return e instanceof ProtocolError;
}
