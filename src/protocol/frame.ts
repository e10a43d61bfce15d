/**
 * Frame header and raw frames.
 *
 * A `RawFrame` is a header plus the untouched body bytes: what the proxy forwards. The body
 * is only decoded (see `messages/`) when routing needs to look inside. The stream id can be
 * rewritten in place in the frame's bytes (`setStreamId`) without re-encoding anything.
 *
 * Layout (v3+): version(1) flags(1) stream(2, signed) opcode(1) length(4) = 9 bytes.
 * Layout (v2):  version(1) flags(1) stream(1, signed) opcode(1) length(4) = 8 bytes.
 */
import { HeaderFlag, ProtocolVersion, headerLength, isSupportedVersion, versionName, opcodeName } from './constants';
import { ProtocolError } from './errors';

export interface FrameHeader {
  version: ProtocolVersion;
  /** Direction bit of the version byte: true for a response (server to client). */
  isResponse: boolean;
  flags: number;
  streamId: number;
  opcode: number;
  bodyLength: number;
}

export class RawFrame implements FrameHeader {
  // The header's fields are the frame's own (no header object per frame on the request path).
  version!: ProtocolVersion;
  /** Direction bit of the version byte: true for a response (server to client). */
  isResponse!: boolean;
  flags!: number;
  streamId!: number;
  opcode!: number;
  bodyLength!: number;
  /** The whole frame: header followed by the body. Owned by this frame (safe to mutate). */
  readonly bytes: Buffer;

  /**
   * @param header the frame's header; null: read from `bytes` (a whole frame; its header is checked as
   *   `decodeHeader` checks it)
   */
  constructor(header: FrameHeader | null, bytes: Buffer) {
    if (header === null) readHeaderInto(this, bytes, 0);
    else {
      // the same field order as readHeaderInto: one object shape for every frame
      this.version = header.version;
      this.isResponse = header.isResponse;
      this.flags = header.flags;
      this.streamId = header.streamId;
      this.opcode = header.opcode;
      this.bodyLength = header.bodyLength;
    }
    this.bytes = bytes;
  }

  /** A plain copy of the header's fields. */
  get header(): FrameHeader {
    return {
      version: this.version,
      isResponse: this.isResponse,
      flags: this.flags,
      streamId: this.streamId,
      opcode: this.opcode,
      bodyLength: this.bodyLength,
    };
  }
  get isCompressed(): boolean {
    return (this.flags & HeaderFlag.COMPRESSION) !== 0;
  }
  /** The body bytes (a view into `bytes`, no copy). */
  get body(): Buffer {
    return this.bytes.subarray(headerLength(this.version));
  }

  /** Rewrite the stream id in the frame's own bytes, in place. */
  setStreamId(id: number): void {
    writeStreamId(this.bytes, this.version, id);
    this.streamId = id;
  }

  /** Clear header flag bits in the frame's own bytes, in place. */
  clearFlag(flag: number): void {
    this.flags &= ~flag;
    this.bytes[1] = this.flags;
  }

  /** A copy of this frame with another stream id (for sending one request to two clusters). */
  withStreamId(id: number): RawFrame {
    const copy = Buffer.allocUnsafe(this.bytes.length);
    this.bytes.copy(copy);
    writeStreamId(copy, this.version, id);
    const f = new RawFrame(this, copy);
    f.streamId = id;
    return f;
  }

  static fromParts(header: Omit<FrameHeader, 'bodyLength'>, body: Uint8Array): RawFrame {
    const h: FrameHeader = {
      version: header.version,
      isResponse: header.isResponse,
      flags: header.flags,
      streamId: header.streamId,
      opcode: header.opcode,
      bodyLength: body.length,
    };
    const hl = headerLength(h.version);
    const bytes = Buffer.allocUnsafe(hl + body.length);
    encodeHeaderInto(h, bytes, 0);
    bytes.set(body, hl);
    return new RawFrame(h, bytes);
  }
}

export function writeStreamId(frame: Buffer, version: ProtocolVersion, id: number): void {
  if (version === ProtocolVersion.V2) frame.writeInt8(id, 2);
  else frame.writeInt16BE(id, 2);
}

export function encodeHeaderInto(h: FrameHeader, out: Buffer, offset: number): number {
  out[offset] = (h.isResponse ? 0x80 : 0) | h.version;
  out[offset + 1] = h.flags & 0xff;
  if (h.version === ProtocolVersion.V2) {
    out.writeInt8(h.streamId, offset + 2);
    out[offset + 3] = h.opcode;
    out.writeInt32BE(h.bodyLength, offset + 4);
    return offset + 8;
  }
  out.writeInt16BE(h.streamId, offset + 2);
  out[offset + 4] = h.opcode;
  out.writeInt32BE(h.bodyLength, offset + 5);
  return offset + 9;
}

export function encodeHeader(h: FrameHeader): Buffer {
  const out = Buffer.allocUnsafe(headerLength(h.version));
  encodeHeaderInto(h, out, 0);
  return out;
}

/** The beta protocol version of Cassandra 5.0 (v6): clients must set USE_BETA to use it. */
export const BETA_VERSION = 6;

/**
 * The PROTOCOL_ERROR text for a version the proxy does not carry: Cassandra 5.0's own text for its beta
 * version sent without the USE_BETA flag, else upstream's (upstream-spec-notes 3.1).
 */
export function unsupportedVersionText(version: number, flags: number): string {
  if (version === BETA_VERSION && (flags & HeaderFlag.USE_BETA) === 0) {
    return `Beta version of the protocol used (${version}/v${version}-beta), but USE_BETA flag is unset`;
  }
  return `Invalid or unsupported protocol version (${version})`;
}

/**
 * Read the version byte of a frame starting at `offset` and check it. Throws
 * 'unsupported-version' with the raw version in the context so the caller can answer.
 */
export function peekVersion(buf: Buffer, offset: number): { version: ProtocolVersion; isResponse: boolean } {
  return { version: checkedVersion(buf, offset), isResponse: (buf[offset]! & 0x80) !== 0 };
}

/**
 * The version of the frame starting at `offset` (direction bit masked off), without allocating.
 * Throws 'unsupported-version' with the raw version in the context so the caller can answer.
 */
export function checkedVersion(buf: Buffer, offset: number): ProtocolVersion {
  const v = buf[offset]! & 0x7f;
  if (!isSupportedVersion(v)) {
    // Best effort: read the stream id as a v3+ header would have it, for the error reply.
    const streamId = buf.length >= offset + 4 ? buf.readInt16BE(offset + 2) : 0;
    throw new ProtocolError('unsupported-version', unsupportedVersionText(v, buf.length > offset + 1 ? buf[offset + 1]! : 0), {
      version: v,
      streamId,
    });
  }
  return v;
}

/** Decode a header at `offset`; the caller guarantees `headerLength(version)` bytes are there. */
export function decodeHeader(buf: Buffer, offset = 0): FrameHeader {
  const h: FrameHeader = { version: ProtocolVersion.V4, isResponse: false, flags: 0, streamId: 0, opcode: 0, bodyLength: 0 };
  readHeaderInto(h, buf, offset);
  return h;
}

/** `decodeHeader` into `out`'s fields (in the order RawFrame's constructor sets them). */
function readHeaderInto(out: FrameHeader, buf: Buffer, offset: number): void {
  const version = checkedVersion(buf, offset);
  out.version = version;
  out.isResponse = (buf[offset]! & 0x80) !== 0;
  out.flags = buf[offset + 1]!;
  if (version === ProtocolVersion.V2) {
    out.streamId = buf.readInt8(offset + 2);
    out.opcode = buf[offset + 3]!;
    out.bodyLength = buf.readInt32BE(offset + 4);
  } else {
    out.streamId = buf.readInt16BE(offset + 2);
    out.opcode = buf[offset + 4]!;
    out.bodyLength = buf.readInt32BE(offset + 5);
  }
  if (out.bodyLength < 0) {
    throw new ProtocolError('invalid-value', `frame body length ${out.bodyLength} is negative`, {
      version,
      streamId: out.streamId,
      opcode: out.opcode,
    });
  }
  // An unknown opcode is not thrown here: the decoder decides. Routing layers reject unknown opcodes with a named error.
}

export function describeHeader(h: FrameHeader): string {
  return `${h.isResponse ? 'response' : 'request'} ${versionName(h.version)} ${opcodeName(h.opcode)} stream=${h.streamId} flags=0x${h.flags.toString(16)} length=${h.bodyLength}`;
}
