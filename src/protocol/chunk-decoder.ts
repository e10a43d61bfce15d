/**
 * What the streaming decoders (FrameDecoder, SegmentDecoder) share: the bytes held for an
 * incomplete unit, and the rule that after a ProtocolError the decoder keeps throwing it (the byte
 * stream can no longer be framed). How the pending bytes are completed is each decoder's own.
 */
import { ProtocolError } from './errors';

export abstract class ChunkDecoder<T> {
  /** Unconsumed bytes that do not yet form a complete unit. */
  protected pending: Buffer[] = [];
  protected pendingLength = 0;
  /** Total length of the unit at the head of `pending`, once its header is known. */
  protected needed = -1;
  private failed: ProtocolError | undefined;

  /** Bytes held waiting for the rest of a unit. */
  get bufferedBytes(): number {
    return this.pendingLength;
  }

  /** Hand over the bytes held for an incomplete unit (the decoder is left empty), e.g. to another framing. */
  takeBuffered(): Buffer {
    const rest = this.pendingLength === 0 ? Buffer.alloc(0) : Buffer.concat(this.pending, this.pendingLength);
    this.pending = [];
    this.pendingLength = 0;
    this.needed = -1;
    return rest;
  }

  /** Feed a chunk; returns the units it completes, in order. */
  push(chunk: Buffer): T[] {
    if (this.failed) throw this.failed;
    const out: T[] = [];
    try {
      this.pushInto(chunk, out);
    } catch (e) {
      if (e instanceof ProtocolError) this.failed = e;
      throw e;
    }
    return out;
  }

  protected abstract pushInto(chunk: Buffer, out: T[]): void;
}
