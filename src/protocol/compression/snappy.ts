/**
 * Raw (unframed) Snappy for frame bodies (protocol v2-v4 and DSE; never v5 segments), on top of
 * the `snappy` package (napi-rs binding of the Rust snap crate, prebuilt binaries). A proxy cannot
 * let a client choose how much memory a decompression allocates, so before handing a body to the
 * library we parse the varint preamble, check it against the caller's maximum, and walk the element
 * stream once (no allocation) to verify every length and offset and that the total output is
 * exactly the declared length. Anything wrong is a `ProtocolError('compression')`.
 */
import { compressSync, uncompressSync } from 'snappy';
import { ProtocolError } from '../errors';

function snappyError(msg: string): ProtocolError {
  return new ProtocolError('compression', `Snappy: ${msg}`);
}

/** Reads the preamble: the uncompressed length as a little-endian base-128 varint (at most 32 bits). */
export function snappyUncompressedLength(src: Uint8Array): { length: number; headerBytes: number } {
  let result = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= src.length) throw snappyError('truncated length preamble');
    const b = src[i]!;
    if (i === 4 && b > 0x0f) throw snappyError('length preamble does not fit 32 bits');
    result += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return { length: result, headerBytes: i + 1 };
  }
  throw snappyError('length preamble does not fit 32 bits');
}

/** Walks the element stream from `pos`; throws unless it is well formed and produces exactly `expected` bytes. */
function validateElements(src: Uint8Array, pos: number, expected: number): void {
  const end = src.length;
  let out = 0;
  while (pos < end) {
    const tag = src[pos++]!;
    let len: number;
    let offset: number;
    switch (tag & 3) {
      case 0: {
        len = (tag >>> 2) + 1;
        if (len > 60) {
          const extra = len - 60;
          if (end - pos < extra) throw snappyError('truncated literal length');
          len = 0;
          for (let i = extra - 1; i >= 0; i--) len = len * 256 + src[pos + i]!;
          len += 1;
          pos += extra;
        }
        if (len > end - pos) throw snappyError(`literal of ${len} bytes passes the end of the input`);
        if (len > expected - out) throw snappyError(`output exceeds the declared length of ${expected} bytes`);
        pos += len;
        out += len;
        continue;
      }
      case 1:
        if (end - pos < 1) throw snappyError('truncated copy offset');
        len = ((tag >>> 2) & 7) + 4;
        offset = ((tag >>> 5) << 8) | src[pos]!;
        pos += 1;
        break;
      case 2:
        if (end - pos < 2) throw snappyError('truncated copy offset');
        len = (tag >>> 2) + 1;
        offset = src[pos]! | (src[pos + 1]! << 8);
        pos += 2;
        break;
      default:
        if (end - pos < 4) throw snappyError('truncated copy offset');
        len = (tag >>> 2) + 1;
        offset = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16)) + src[pos + 3]! * 0x1000000;
        pos += 4;
        break;
    }
    if (offset === 0 || offset > out)
      throw snappyError(`copy offset ${offset} points outside the output (at output offset ${out})`);
    if (len > expected - out) throw snappyError(`output exceeds the declared length of ${expected} bytes`);
    out += len;
  }
  if (out !== expected) throw snappyError(`stream decompresses to ${out} bytes, but ${expected} were declared`);
}

export function snappyCompress(src: Buffer): Buffer {
  return compressSync(src);
}

/** Decompress a raw Snappy stream whose declared length must be at most `maxLength`. */
export function snappyDecompress(src: Buffer, maxLength: number): Buffer {
  const { length, headerBytes } = snappyUncompressedLength(src);
  if (length > maxLength) {
    throw snappyError(`declared uncompressed length ${length} exceeds the maximum of ${maxLength} bytes`);
  }
  validateElements(src, headerBytes, length);
  try {
    return uncompressSync(src, { asBuffer: true }) as Buffer;
  } catch (e) {
    throw snappyError(e instanceof Error ? e.message : String(e));
  }
}
