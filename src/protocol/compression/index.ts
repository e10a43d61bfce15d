/**
 * Frame-body compression (native_protocol_v4.spec section 5), chosen by STARTUP's COMPRESSION option.
 *
 * - `lz4`: body = uncompressed length as a 4-byte big-endian [int], then a raw LZ4 block
 *   (an empty body compresses to 00 00 00 00 00: length 0 plus the one-byte empty block).
 * - `snappy`: body = a raw Snappy stream; protocol v2-v4 and DSE only (v5 has segment-level LZ4 only).
 *
 * v5 connections compress segments, not frame bodies: see `../segment.ts`, which uses the raw block
 * functions re-exported here.
 */
import { ProtocolVersion, versionName } from '../constants';
import { ProtocolError } from '../errors';
import { LZ4_MAX_RATIO, lz4CompressWithPrefix, lz4DecompressBlockInto } from './lz4';
import { snappyCompress, snappyDecompress } from './snappy';

export {
  lz4CompressBlock,
  lz4CompressBlockInto,
  lz4CompressBound,
  lz4CompressWithPrefix,
  lz4DecompressBlock,
  lz4DecompressBlockInto,
} from './lz4';
export { snappyCompress, snappyDecompress } from './snappy';

export type CompressionName = 'lz4' | 'snappy';

export interface BodyCompressor {
  readonly name: CompressionName;
  /** Compress a whole frame body. */
  compress(body: Buffer, version: ProtocolVersion): Buffer;
  /**
   * Decompress a whole frame body whose uncompressed size must be at most `maxLength`; the declared
   * size is checked before anything is allocated. Throws `ProtocolError('compression')`.
   */
  decompress(body: Buffer, version: ProtocolVersion, maxLength: number): Buffer;
}

/**
 * The one compression interface outside src/protocol: a connection's frame-body compression, i.e. the algorithm
 * its STARTUP negotiated bound to the connection's protocol version and largest body (`bodyCodec`). Routing,
 * replies, envelopes, now() rewrites and the journal take this; `BodyCompressor` (the algorithm) stays inside
 * src/protocol (frames, segments).
 */
export interface BodyCodec {
  /** Compress a whole frame body. */
  compress(body: Buffer): Buffer;
  /** Decompress a whole frame body (the connection's size limit applies). Throws `ProtocolError('compression')`. */
  decompress(body: Buffer): Buffer;
}

/** `c` bound to a connection's protocol version and largest decompressed body. */
export function bodyCodec(c: BodyCompressor, version: ProtocolVersion, maxLength: number): BodyCodec {
  return { compress: (b) => c.compress(b, version), decompress: (b) => c.decompress(b, version, maxLength) };
}

function fail(msg: string, version: ProtocolVersion): ProtocolError {
  return new ProtocolError('compression', msg, { version });
}

export const lz4BodyCompressor: BodyCompressor = {
  name: 'lz4',
  compress(body: Buffer): Buffer {
    const out = lz4CompressWithPrefix(body, 4);
    out.writeUInt32BE(body.length, 0);
    return out;
  },
  decompress(body: Buffer, version: ProtocolVersion, maxLength: number): Buffer {
    if (body.length < 4) throw fail(`LZ4: body of ${body.length} bytes has no 4-byte uncompressed length`, version);
    const declared = body.readInt32BE(0);
    if (declared < 0) throw fail(`LZ4: negative uncompressed length ${declared}`, version);
    if (declared > maxLength) {
      throw fail(`LZ4: declared uncompressed length ${declared} exceeds the maximum of ${maxLength} bytes`, version);
    }
    const blockLength = body.length - 4;
    // Some encoders send nothing after a zero length (the go driver ignores what follows it).
    if (declared === 0 && blockLength === 0) return Buffer.alloc(0);
    if (declared > blockLength * LZ4_MAX_RATIO) {
      throw fail(`LZ4: declared uncompressed length ${declared} is impossible for a ${blockLength}-byte block`, version);
    }
    const out = Buffer.allocUnsafe(declared);
    let n: number;
    try {
      n = lz4DecompressBlockInto(body, 4, body.length, out, 0, declared);
    } catch (e) {
      if (e instanceof ProtocolError) throw fail(e.message, version);
      throw e;
    }
    if (n !== declared) throw fail(`LZ4: body decompresses to ${n} bytes, but ${declared} were declared`, version);
    return out;
  },
};

function refuseSegmentVersion(version: ProtocolVersion): void {
  if (version === ProtocolVersion.V5) {
    throw fail(`Snappy compression is not supported with protocol ${versionName(version)} (v5 supports LZ4 only)`, version);
  }
}

export const snappyBodyCompressor: BodyCompressor = {
  name: 'snappy',
  compress(body: Buffer, version: ProtocolVersion): Buffer {
    refuseSegmentVersion(version);
    return snappyCompress(body);
  },
  decompress(body: Buffer, version: ProtocolVersion, maxLength: number): Buffer {
    refuseSegmentVersion(version);
    try {
      return snappyDecompress(body, maxLength);
    } catch (e) {
      if (e instanceof ProtocolError) throw fail(e.message, version);
      throw e;
    }
  },
};

/**
 * The compressor for a STARTUP COMPRESSION value ("lz4", "LZ4", "snappy", ...; case-insensitive).
 * `undefined` for "none", an empty value or an unknown algorithm: the caller decides whether that is an error.
 */
export function getCompressor(name: string): BodyCompressor | undefined {
  switch (name.trim().toLowerCase()) {
    case 'lz4':
      return lz4BodyCompressor;
    case 'snappy':
      return snappyBodyCompressor;
    default:
      return undefined;
  }
}

/** Is the algorithm usable with this protocol version? (v5: LZ4 only.) */
export function supportsVersion(c: BodyCompressor, version: ProtocolVersion): boolean {
  return c.name === 'lz4' || version !== ProtocolVersion.V5;
}
