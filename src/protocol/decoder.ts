/**
 * Streaming frame decoder: socket chunks of any size in, complete `RawFrame`s out.
 *
 * - Frames wholly inside one chunk are views of that chunk (no copy); a frame that spans
 *   chunks is copied once, into a buffer of exactly its size, when its last byte arrives.
 *   Emitted frames never share memory that the decoder later reuses.
 * - The body length is checked against `maxBodyLength` as soon as the header is complete,
 *   before any of the body is buffered.
 * - Bad input throws a `ProtocolError`; after an error the decoder must not be used again
 *   (the connection is closed), since the byte stream can no longer be framed.
 */
import { ChunkDecoder } from './chunk-decoder';
import { DEFAULT_MAX_BODY_LENGTH, headerLength, opcodeName } from './constants';
import { ProtocolError } from './errors';
import { RawFrame, checkedVersion } from './frame';

export interface FrameDecoderOptions {
  /** Largest accepted body length in bytes (default 256 MiB). */
  maxBodyLength?: number;
  /** Expect responses (true) or requests (false); a frame with the wrong direction bit is an error. Unset: either. */
  expectResponses?: boolean;
}

export class FrameDecoder extends ChunkDecoder<RawFrame> {
  private readonly maxBodyLength: number;
  private readonly expectResponses: boolean | undefined;

  constructor(opts: FrameDecoderOptions = {}) {
    super();
    this.maxBodyLength = opts.maxBodyLength ?? DEFAULT_MAX_BODY_LENGTH;
    this.expectResponses = opts.expectResponses;
  }

  protected pushInto(chunk: Buffer, out: RawFrame[]): void {
    let off = 0;
    if (this.pendingLength > 0) {
      // Complete the pending frame first.
      off = this.fillPending(chunk, out);
      if (this.pendingLength > 0) return; // chunk consumed, frame still incomplete
    }
    // Fast path: frames inside this chunk.
    while (off < chunk.length) {
      const avail = chunk.length - off;
      const total = this.frameLength(chunk, off, avail);
      if (total < 0 || total > avail) {
        this.pending.push(chunk.subarray(off));
        this.pendingLength = avail;
        this.needed = total;
        return;
      }
      const bytes = chunk.subarray(off, off + total);
      out.push(new RawFrame(null, bytes));
      off += total;
    }
  }

  /** Returns the offset in `chunk` after what was used to complete pending data. */
  private fillPending(chunk: Buffer, out: RawFrame[]): number {
    let off = 0;
    if (this.needed < 0) {
      // Header still incomplete: take just enough bytes to learn the frame length.
      const head = Buffer.concat([...this.pending, chunk.subarray(0, Math.min(chunk.length, 9))]);
      const total = this.frameLength(head, 0, head.length);
      if (total < 0) {
        this.pending.push(chunk);
        this.pendingLength += chunk.length;
        return chunk.length;
      }
      this.needed = total;
    }
    const missing = this.needed - this.pendingLength;
    if (chunk.length < missing) {
      this.pending.push(chunk);
      this.pendingLength += chunk.length;
      return chunk.length;
    }
    const bytes = Buffer.allocUnsafe(this.needed);
    let pos = 0;
    for (const p of this.pending) {
      p.copy(bytes, pos);
      pos += p.length;
    }
    chunk.copy(bytes, pos, 0, missing);
    off = missing;
    this.pending = [];
    this.pendingLength = 0;
    this.needed = -1;
    out.push(new RawFrame(null, bytes));
    return off;
  }

  /** Total frame length (header + body) if the header is complete in buf[off, off+avail), else -1. */
  private frameLength(buf: Buffer, off: number, avail: number): number {
    if (avail < 2) return -1; // the version byte, and the flags for the beta check (USE_BETA)
    const version = checkedVersion(buf, off);
    const isResponse = (buf[off]! & 0x80) !== 0;
    const hl = headerLength(version);
    if (avail < hl) return -1;
    if (this.expectResponses !== undefined && isResponse !== this.expectResponses) {
      throw new ProtocolError(
        'invalid-value',
        `unexpected ${isResponse ? 'response' : 'request'} frame (direction bit ${isResponse ? 'set' : 'clear'})`,
        { version },
      );
    }
    const bodyLength = buf.readInt32BE(off + hl - 4);
    if (bodyLength < 0 || bodyLength > this.maxBodyLength) {
      const streamId = hl === 8 ? buf.readInt8(off + 2) : buf.readInt16BE(off + 2);
      const opcode = buf[off + hl - 5]!;
      throw new ProtocolError(
        bodyLength < 0 ? 'invalid-value' : 'frame-too-large',
        bodyLength < 0
          ? `frame body length ${bodyLength} is negative`
          : `frame body length ${bodyLength} (${opcodeName(opcode)}, stream ${streamId}) exceeds the maximum of ${this.maxBodyLength} bytes`,
        { version, streamId, opcode },
      );
    }
    return hl + bodyLength;
  }
}
