/**
 * Protocol v5 segment framing (native_protocol_v5.spec section 2; Cassandra's FrameEncoderCrc /
 * FrameEncoderLZ4 and their decoders). Used on v5 connections after the STARTUP handshake.
 *
 * Uncompressed segment:  header(3, LE) = payloadLength(17) | selfContained(1) << 17
 *                        CRC24(header)(3, LE) | payload | CRC32(payload)(4, LE)
 * LZ4 segment:           header(5, LE) = compressedLength(17) | uncompressedLength(17) << 17
 *                                        | selfContained(1) << 34
 *                        CRC24(header)(3, LE) | payload | CRC32(payload as sent)(4, LE)
 *   An uncompressed length of 0 means the payload was sent uncompressed (its length is then
 *   the "compressed length" field), which is what Cassandra does when compression does not help.
 *
 * A self-contained segment carries one or more whole frames; a frame larger than the payload limit
 * (128 KiB - 1) is split over consecutive non-self-contained segments.
 */
import { ChunkDecoder } from './chunk-decoder';
import { MAX_SEGMENT_PAYLOAD } from './constants';
import { CRC32_SEED, crc24, crc32, crc32Update } from './crc';
import { ProtocolError } from './errors';
import { type BodyCompressor, lz4CompressBlockInto, lz4CompressBound, lz4DecompressBlock } from './compression';
import { FrameDecoder, type FrameDecoderOptions } from './decoder';
import type { RawFrame } from './frame';

export const UNCOMPRESSED_SEGMENT_HEADER_LENGTH = 6;
export const COMPRESSED_SEGMENT_HEADER_LENGTH = 8;
export const SEGMENT_TRAILER_LENGTH = 4;

export interface Segment {
  /** The (uncompressed) payload. */
  payload: Buffer;
  selfContained: boolean;
}

function checkSegmentCompressor(compressor: BodyCompressor | undefined): boolean {
  if (compressor === undefined) return false;
  if (compressor.name !== 'lz4') {
    throw new ProtocolError('compression', `${compressor.name} cannot compress v5 segments (v5 supports LZ4 only)`);
  }
  return true;
}

function write3LE(out: Buffer, off: number, v: number): void {
  out[off] = v & 0xff;
  out[off + 1] = (v >>> 8) & 0xff;
  out[off + 2] = (v >>> 16) & 0xff;
}

/** The 6-byte header of an uncompressed segment at the start of `out`: payload length, self-contained bit, CRC24. */
function writeUncompressedHeader(out: Buffer, length: number, selfContained: boolean): void {
  write3LE(out, 0, length | ((selfContained ? 1 : 0) << 17));
  write3LE(out, 3, crc24(out, 0, 3));
}

// Reused scratch for compressing one segment payload (at most MAX_SEGMENT_PAYLOAD bytes in).
const compressScratch = Buffer.allocUnsafe(lz4CompressBound(MAX_SEGMENT_PAYLOAD));

/**
 * Encode one segment. `payload` (or the concatenation of `payload` parts) must be at most
 * MAX_SEGMENT_PAYLOAD bytes. With an LZ4 `compressor` the 8-byte header format is used, and the
 * payload is sent compressed only when that makes it smaller.
 */
export function encodeSegment(payload: Buffer | readonly Buffer[], selfContained: boolean, compressor?: BodyCompressor): Buffer {
  const parts: readonly Buffer[] = Buffer.isBuffer(payload) ? [payload] : payload;
  let length = 0;
  for (const p of parts) length += p.length;
  if (length > MAX_SEGMENT_PAYLOAD) {
    throw new ProtocolError('invalid-value', `segment payload of ${length} bytes exceeds the maximum of ${MAX_SEGMENT_PAYLOAD}`);
  }
  const compressed = checkSegmentCompressor(compressor);
  const sc = selfContained ? 1 : 0;
  if (!compressed) {
    const out = Buffer.allocUnsafe(UNCOMPRESSED_SEGMENT_HEADER_LENGTH + length + SEGMENT_TRAILER_LENGTH);
    writeUncompressedHeader(out, length, selfContained);
    let pos = UNCOMPRESSED_SEGMENT_HEADER_LENGTH;
    for (const p of parts) pos += p.copy(out, pos);
    out.writeUInt32LE(crc32(out, UNCOMPRESSED_SEGMENT_HEADER_LENGTH, pos), pos);
    return out;
  }
  const flat = parts.length === 1 ? parts[0]! : Buffer.concat(parts as Buffer[], length);
  const clen = lz4CompressBlockInto(flat, 0, length, compressScratch, 0);
  const useCompressed = clen < length;
  const wireLength = useCompressed ? clen : length;
  const out = Buffer.allocUnsafe(COMPRESSED_SEGMENT_HEADER_LENGTH + wireLength + SEGMENT_TRAILER_LENGTH);
  // 5-byte header value: compressed(17) | uncompressed(17) << 17 | selfContained << 34 (written LE).
  const uncompressedField = useCompressed ? length : 0;
  const lo = (wireLength | (uncompressedField << 17)) >>> 0; // bits 0..31
  const hi = (uncompressedField >>> 15) | (sc << 2); // bits 32..39
  out.writeUInt32LE(lo, 0);
  out[4] = hi;
  write3LE(out, 5, crc24(out, 0, 5));
  if (useCompressed) compressScratch.copy(out, COMPRESSED_SEGMENT_HEADER_LENGTH, 0, clen);
  else flat.copy(out, COMPRESSED_SEGMENT_HEADER_LENGTH);
  const end = COMPRESSED_SEGMENT_HEADER_LENGTH + wireLength;
  out.writeUInt32LE(crc32(out, COMPRESSED_SEGMENT_HEADER_LENGTH, end), end);
  return out;
}

/**
 * One uncompressed segment as the chunks to write, in order, without copying the payload: a 6-byte header,
 * the `parts` themselves (views, e.g. frames read from another socket) and the 4-byte CRC32 trailer (computed
 * over the parts in turn). Writing the chunks back to back (one `writev`) puts the same bytes on the wire as
 * `encodeSegment(parts, selfContained)`. `length` is the parts' total, at most MAX_SEGMENT_PAYLOAD.
 */
export function gatherSegment(parts: readonly Buffer[], length: number, selfContained: boolean, out: Buffer[]): void {
  const head = Buffer.allocUnsafe(UNCOMPRESSED_SEGMENT_HEADER_LENGTH);
  writeUncompressedHeader(head, length, selfContained);
  let crc = CRC32_SEED;
  for (const p of parts) crc = crc32Update(crc, p);
  const tail = Buffer.allocUnsafe(SEGMENT_TRAILER_LENGTH);
  tail.writeUInt32LE(crc, 0);
  out.push(head);
  for (const p of parts) out.push(p);
  out.push(tail);
}

export interface SegmentDecoderOptions {
  /** LZ4 when compression was negotiated at STARTUP (selects the 8-byte header format). */
  compressor?: BodyCompressor;
}

interface ParsedHeader {
  /** Total bytes of the segment on the wire: header + payload + CRC32. */
  total: number;
  headerLength: number;
  wireLength: number;
  /** 0: payload not compressed. */
  uncompressedLength: number;
  selfContained: boolean;
}

/**
 * Streaming segment decoder: byte chunks of any size in, segments out. Checks the header CRC24
 * before trusting any length and the payload CRC32 before decompressing. Errors are
 * `ProtocolError('checksum')` (naming the header or the payload) or `('compression')`; after an
 * error the decoder keeps throwing it (the stream cannot be re-synchronised).
 */
export class SegmentDecoder extends ChunkDecoder<Segment> {
  private readonly compressed: boolean;
  private readonly headerLength: number;

  constructor(opts: SegmentDecoderOptions = {}) {
    super();
    this.compressed = checkSegmentCompressor(opts.compressor);
    this.headerLength = this.compressed ? COMPRESSED_SEGMENT_HEADER_LENGTH : UNCOMPRESSED_SEGMENT_HEADER_LENGTH;
  }

  protected pushInto(chunk: Buffer, out: Segment[]): void {
    let off = 0;
    if (this.pendingLength > 0) {
      off = this.completePending(chunk, out);
      if (off < 0) return; // the chunk was all taken, the segment is still incomplete
    }
    while (off < chunk.length) {
      const avail = chunk.length - off;
      if (avail < this.headerLength) {
        this.stash(chunk.subarray(off), -1);
        return;
      }
      const h = this.parseHeader(chunk, off);
      if (avail < h.total) {
        this.stash(chunk.subarray(off), h.total);
        return;
      }
      out.push(this.readSegment(chunk, off, h));
      off += h.total;
    }
  }

  /**
   * Completes the held segment with the start of `chunk`, copying only its own bytes (the rest of the chunk is
   * read in place). Returns where the rest starts in `chunk`, or -1 when the chunk did not complete it.
   */
  private completePending(chunk: Buffer, out: Segment[]): number {
    if (this.needed < 0) {
      const take = Math.min(chunk.length, this.headerLength - this.pendingLength);
      const head = Buffer.concat([...this.pending, chunk.subarray(0, take)]);
      if (head.length < this.headerLength) {
        this.pending = [head];
        this.pendingLength = head.length;
        return -1;
      }
      this.needed = this.parseHeader(head, 0).total;
    }
    const missing = this.needed - this.pendingLength;
    if (chunk.length < missing) {
      this.pending.push(chunk);
      this.pendingLength += chunk.length;
      return -1;
    }
    const whole = Buffer.allocUnsafe(this.needed);
    let pos = 0;
    for (const p of this.pending) pos += p.copy(whole, pos);
    chunk.copy(whole, pos, 0, missing);
    this.pending = [];
    this.pendingLength = 0;
    this.needed = -1;
    out.push(this.readSegment(whole, 0, this.parseHeader(whole, 0)));
    return missing;
  }

  private stash(rest: Buffer, needed: number): void {
    this.pending = [rest];
    this.pendingLength = rest.length;
    this.needed = needed;
  }

  private parseHeader(buf: Buffer, off: number): ParsedHeader {
    if (!this.compressed) {
      const v = buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16);
      const expected = buf[off + 3]! | (buf[off + 4]! << 8) | (buf[off + 5]! << 16);
      const actual = crc24(buf, off, 3);
      if (expected !== actual) {
        throw new ProtocolError(
          'checksum',
          `segment header CRC24 mismatch: received 0x${hex(expected, 6)}, computed 0x${hex(actual, 6)} (header 0x${hex(v, 6)})`,
        );
      }
      const wireLength = v & 0x1ffff;
      return {
        total: UNCOMPRESSED_SEGMENT_HEADER_LENGTH + wireLength + SEGMENT_TRAILER_LENGTH,
        headerLength: UNCOMPRESSED_SEGMENT_HEADER_LENGTH,
        wireLength,
        uncompressedLength: 0,
        selfContained: ((v >>> 17) & 1) === 1,
      };
    }
    const lo = buf.readUInt32LE(off);
    const hi = buf[off + 4]!;
    const expected = buf[off + 5]! | (buf[off + 6]! << 8) | (buf[off + 7]! << 16);
    const actual = crc24(buf, off, 5);
    if (expected !== actual) {
      throw new ProtocolError(
        'checksum',
        `segment header CRC24 mismatch: received 0x${hex(expected, 6)}, computed 0x${hex(actual, 6)} (header 0x${hex(hi, 2)}${hex(lo, 8)})`,
      );
    }
    const wireLength = lo & 0x1ffff;
    const uncompressedLength = ((lo >>> 17) | (hi << 15)) & 0x1ffff;
    return {
      total: COMPRESSED_SEGMENT_HEADER_LENGTH + wireLength + SEGMENT_TRAILER_LENGTH,
      headerLength: COMPRESSED_SEGMENT_HEADER_LENGTH,
      wireLength,
      uncompressedLength,
      selfContained: ((hi >>> 2) & 1) === 1,
    };
  }

  private readSegment(buf: Buffer, off: number, h: ParsedHeader): Segment {
    const start = off + h.headerLength;
    const end = start + h.wireLength;
    const expected = buf.readUInt32LE(end);
    const actual = crc32(buf, start, end);
    if (expected !== actual) {
      throw new ProtocolError(
        'checksum',
        `segment payload CRC32 mismatch: received 0x${hex(expected, 8)}, computed 0x${hex(actual, 8)} (${h.wireLength}-byte payload)`,
      );
    }
    if (h.uncompressedLength === 0) return { payload: buf.subarray(start, end), selfContained: h.selfContained };
    // Length at most 2^17 - 1 by construction; lz4DecompressBlock also refuses impossible ratios before allocating.
    const payload = lz4DecompressBlock(buf, h.uncompressedLength, start, end);
    return { payload, selfContained: h.selfContained };
  }
}

function hex(v: number, digits: number): string {
  return v.toString(16).padStart(digits, '0');
}

/** Nothing to write (shared, frozen). */
export const NO_CHUNKS: readonly Buffer[] = Object.freeze([]);

/**
 * With `gather`, a segment whose frames average at least this many bytes is written as its chunks; smaller frames
 * are copied into one segment buffer, which costs less than one more iovec and one more CRC32 call per frame
 * (bench:proxy, v5: user CPU per 10 KiB read -13 % gathered; per 100 B read +60 % gathered).
 */
const GATHER_MIN_AVERAGE_FRAME = 2048;

/**
 * Packs whole frames into segments: consecutive frames share a self-contained segment while the
 * payload stays within MAX_SEGMENT_PAYLOAD; a frame larger than that is split over
 * non-self-contained segments of at most MAX_SEGMENT_PAYLOAD bytes each.
 *
 * `add` and `flush` return what to write, in order. By default each element is one whole segment. With
 * `gather` (and no compression) a segment of large frames comes as its chunks instead (`gatherSegment`: header,
 * the frames as given, trailer), so those frames are not copied: for a socket, where the chunks of one
 * `writev` are written back to back. The frames must then stay unchanged until written.
 */
export class SegmentFramer {
  private parts: Buffer[] = [];
  private partsLength = 0;
  private readonly gather: boolean;

  constructor(
    private readonly compressor?: BodyCompressor,
    private readonly maxPayload = MAX_SEGMENT_PAYLOAD,
    gather = false,
  ) {
    checkSegmentCompressor(compressor);
    if (!(maxPayload >= 1 && maxPayload <= MAX_SEGMENT_PAYLOAD)) {
      throw new RangeError(`maxPayload must be in [1, ${MAX_SEGMENT_PAYLOAD}]`);
    }
    this.gather = gather && compressor === undefined;
  }

  /** Frame bytes waiting for `flush()`. */
  get bufferedBytes(): number {
    return this.partsLength;
  }

  /** Add one whole frame (header + body); returns the segments (or chunks) this completes. */
  add(frame: Buffer): readonly Buffer[] {
    if (frame.length > this.maxPayload) {
      const out: Buffer[] = [];
      this.flushInto(out);
      for (let off = 0; off < frame.length; off += this.maxPayload) {
        const piece = frame.subarray(off, Math.min(frame.length, off + this.maxPayload));
        this.emit([piece], piece.length, false, out);
      }
      return out;
    }
    let out = NO_CHUNKS;
    if (this.partsLength + frame.length > this.maxPayload) {
      const done: Buffer[] = [];
      this.flushInto(done);
      out = done;
    }
    this.parts.push(frame);
    this.partsLength += frame.length;
    return out;
  }

  /** Emit the pending self-contained segment, if any. */
  flush(): readonly Buffer[] {
    if (this.parts.length === 0) return NO_CHUNKS;
    const out: Buffer[] = [];
    this.flushInto(out);
    return out;
  }

  private flushInto(out: Buffer[]): void {
    if (this.parts.length === 0) return;
    this.emit(this.parts, this.partsLength, true, out);
    this.parts = [];
    this.partsLength = 0;
  }

  private emit(parts: readonly Buffer[], length: number, selfContained: boolean, out: Buffer[]): void {
    if (this.gather && length >= GATHER_MIN_AVERAGE_FRAME * parts.length) gatherSegment(parts, length, selfContained, out);
    else out.push(encodeSegment(parts, selfContained, this.compressor));
  }
}

/** Encode whole frames as a sequence of segments (see `SegmentFramer`). */
export function framesToSegments(frames: readonly Buffer[], compressor?: BodyCompressor): Buffer[] {
  const framer = new SegmentFramer(compressor);
  const out: Buffer[] = [];
  for (const f of frames) for (const s of framer.add(f)) out.push(s);
  for (const s of framer.flush()) out.push(s);
  return out;
}

/**
 * Turns decoded segment payloads back into frames: a self-contained segment must hold whole
 * frames only; non-self-contained segments are accumulated until the frame they carry is complete.
 */
export class SegmentFrameAssembler {
  private readonly frames: FrameDecoder;

  constructor(opts: FrameDecoderOptions = {}) {
    this.frames = new FrameDecoder(opts);
  }

  /** Bytes of a multi-segment frame received so far. */
  get bufferedBytes(): number {
    return this.frames.bufferedBytes;
  }

  push(segment: Segment): RawFrame[] {
    if (segment.selfContained) {
      if (this.frames.bufferedBytes > 0) {
        throw new ProtocolError(
          'invalid-value',
          `self-contained segment received while a multi-segment frame is incomplete (${this.frames.bufferedBytes} bytes buffered)`,
        );
      }
      const frames = this.frames.push(segment.payload);
      if (this.frames.bufferedBytes > 0) {
        throw new ProtocolError('invalid-value', 'self-contained segment ends with an incomplete frame');
      }
      return frames;
    }
    const frames = this.frames.push(segment.payload);
    if (frames.length > 1 || (frames.length === 1 && this.frames.bufferedBytes > 0)) {
      throw new ProtocolError('invalid-value', 'non-self-contained segments carry more than one frame');
    }
    return frames;
  }
}

export interface V5FrameDecoderOptions extends FrameDecoderOptions, SegmentDecoderOptions {}

/** A v5 byte stream (after the handshake) in, `RawFrame`s out: `SegmentDecoder` + `SegmentFrameAssembler`. */
export class V5FrameDecoder {
  private readonly segments: SegmentDecoder;
  private readonly assembler: SegmentFrameAssembler;

  constructor(opts: V5FrameDecoderOptions = {}) {
    this.segments = new SegmentDecoder({ compressor: opts.compressor });
    this.assembler = new SegmentFrameAssembler({ maxBodyLength: opts.maxBodyLength, expectResponses: opts.expectResponses });
  }

  /** Bytes held: of an incomplete segment, and of a frame whose segments have not all arrived. */
  get bufferedBytes(): number {
    return this.segments.bufferedBytes + this.assembler.bufferedBytes;
  }

  push(chunk: Buffer): RawFrame[] {
    const out: RawFrame[] = [];
    for (const s of this.segments.push(chunk)) for (const f of this.assembler.push(s)) out.push(f);
    return out;
  }
}
