/**
 * The framing of one connection, as it changes during the handshake (native_protocol_v5.spec
 * section 2; Cassandra's InitialConnectionHandler / PipelineConfigurator):
 *
 * - legacy: frames back to back (protocol v2-v4, DSE, and every v5 connection until its handshake);
 * - segments: protocol v5 after the STARTUP reply: frames are carried in checksummed segments
 *   (CRC24 header, CRC32 payload), LZ4-compressed segments when STARTUP asked for LZ4.
 *
 * The switch happens where Cassandra makes it: the server side (the proxy towards its clients) right
 * after it has written the READY or AUTHENTICATE answering a v5 STARTUP (`afterWrite`); the client side
 * (the proxy towards a cluster) right after it has read that READY or AUTHENTICATE (`afterRead`).
 * Bytes the legacy decoder already held are re-read as the start of the segment stream.
 *
 * Reading: `push(chunk)` returns whole frames in both modes (a v5 frame is never compressed itself: a
 * COMPRESSION flag found on one inside a segment is cleared, as upstream does for gocql, CASSGO-98); corrupt input throws `ProtocolError`
 * ('checksum' for a CRC mismatch, 'frame-too-large', 'invalid-value', 'compression') and the
 * connection must be closed. Writing: `encode(frameBytes)` returns what to put on the socket now
 * (legacy: the frame itself; segments: the segments it completes); `flush()` returns the pending
 * self-contained segment (call it once per write batch, e.g. when uncorking). Uncompressed segments of large
 * frames come as their chunks (header, the frames themselves, trailer: `SegmentFramer` with gather), so those
 * frames are not copied: write every returned buffer, in order, and leave the frames unchanged until written.
 */
import { HeaderFlag, Opcode, ProtocolVersion } from './constants';
import type { BodyCompressor } from './compression';
import { FrameDecoder, type FrameDecoderOptions } from './decoder';
import { ProtocolError } from './errors';
import type { RawFrame } from './frame';
import { NO_CHUNKS, SegmentFramer, V5FrameDecoder } from './segment';

/** Is `f` the v5 READY or AUTHENTICATE after which a connection switches to segments? */
export function switchesToSegments(f: RawFrame): boolean {
  return f.version === ProtocolVersion.V5 && f.isResponse && (f.opcode === Opcode.READY || f.opcode === Opcode.AUTHENTICATE);
}

export class ConnectionFraming {
  private legacy: FrameDecoder | undefined;
  private v5: V5FrameDecoder | undefined;
  private framer: SegmentFramer | undefined;
  private compressor: BodyCompressor | undefined;
  /** Bytes the legacy decoder held at the switch: the start of the segment stream, read with the next chunk. */
  private readBeforeSwitch: Buffer | undefined;

  constructor(private readonly opts: FrameDecoderOptions) {
    this.legacy = new FrameDecoder(opts);
  }

  /** True once segment framing is on. */
  get segments(): boolean {
    return this.framer !== undefined;
  }

  /** Compression of the segments, once switched (only LZ4 exists for v5). */
  get segmentCompression(): 'lz4' | undefined {
    return this.framer && this.compressor ? 'lz4' : undefined;
  }

  /**
   * The compression the STARTUP of this connection asked for (undefined: none). Only LZ4 is possible
   * on v5 segments; anything else is refused when the switch happens.
   */
  setSegmentCompressor(c: BodyCompressor | undefined): void {
    this.compressor = c;
  }

  /** Bytes read but not yet part of a whole frame (an incomplete frame or segment). */
  get bufferedBytes(): number {
    return (this.readBeforeSwitch?.length ?? 0) + (this.v5 ? this.v5.bufferedBytes : this.legacy!.bufferedBytes);
  }

  push(chunk: Buffer): RawFrame[] {
    if (this.v5) {
      const rest = this.readBeforeSwitch;
      this.readBeforeSwitch = undefined;
      const frames = this.v5.push(rest === undefined ? chunk : Buffer.concat([rest, chunk]));
      for (const f of frames) if (f.isCompressed) f.clearFlag(HeaderFlag.COMPRESSION);
      return frames;
    }
    return this.legacy!.push(chunk);
  }

  encode(frame: Buffer): readonly Buffer[] {
    if (!this.framer) return [frame];
    return this.framer.add(frame);
  }

  flush(): readonly Buffer[] {
    return this.framer ? this.framer.flush() : NO_CHUNKS;
  }

  /** The server side wrote `f`: switch after a v5 READY/AUTHENTICATE. Returns true when it switched. */
  afterWrite(f: RawFrame): boolean {
    if (this.framer || !switchesToSegments(f)) return false;
    this.switchToSegments();
    return true;
  }

  /** The client side read `f`: switch after a v5 READY/AUTHENTICATE. Returns true when it switched. */
  afterRead(f: RawFrame): boolean {
    if (this.framer || !switchesToSegments(f)) return false;
    this.switchToSegments();
    return true;
  }

  /** Switch to segment framing now (idempotent). Throws ProtocolError('compression') for a non-LZ4 compressor. */
  switchToSegments(): void {
    if (this.framer) return;
    const c = this.compressor;
    if (c && c.name !== 'lz4') {
      throw new ProtocolError('compression', `${c.name} compression cannot be used with protocol v5 segments (LZ4 only)`);
    }
    const rest = this.legacy!.takeBuffered();
    this.legacy = undefined;
    this.v5 = new V5FrameDecoder({ ...this.opts, compressor: c });
    this.framer = new SegmentFramer(c, undefined, true);
    if (rest.length > 0) this.readBeforeSwitch = rest;
  }
}
