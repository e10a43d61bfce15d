/**
 * LZ4 *block* codec (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md), pure TypeScript.
 *
 * - Compression is a simple greedy matcher over a 4-byte hash table. Its output follows the
 *   block format's end-of-block rules (the last 5 bytes are literals, no match starts within the
 *   last 12 bytes), so any conforming decoder (lz4-java in Cassandra, lz4 in drivers) reads it.
 *   An empty input compresses to the single byte 0x00, which Cassandra expects.
 * - Decompression checks every literal run, match offset and match length against the input
 *   and output bounds and throws `ProtocolError('compression')` on any malformed block, and when
 *   the block does not produce exactly the declared number of bytes.
 *
 * Frame-body LZ4 (v2-v4, DSE: 4-byte big-endian length + block) lives in `./index`; v5 segments
 * use these raw block functions directly (the lengths are in the segment header).
 */
import { ProtocolError } from '../errors';

const MIN_MATCH = 4;
/** The last match must start at least 12 bytes before the end of the block. */
const MFLIMIT = 12;
/** The last 5 bytes of a block are always literals. */
const LAST_LITERALS = 5;
const MAX_OFFSET = 65535;
const MAX_HASH_LOG = 16;
/** Each input byte yields at most 255 output bytes (a length-extension byte), so larger claims are impossible. */
export const LZ4_MAX_RATIO = 255;

/** Largest compressed size of `n` input bytes. */
export function lz4CompressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

// Reused across calls (single-threaded): positions + 1, 0 = empty. Cleared per call, only the used part.
const hashTable = new Int32Array(1 << MAX_HASH_LOG);
// Scratch output for small and medium inputs, so a call allocates only its exact-size result.
const SCRATCH_LIMIT = 1 << 20;
let scratch = Buffer.allocUnsafe(lz4CompressBound(64 * 1024));

function compressError(msg: string): ProtocolError {
  return new ProtocolError('compression', `LZ4: ${msg}`);
}

/**
 * Compress `src[start, end)` into `dst` at `dstOffset`; `dst` must have `lz4CompressBound(end - start)`
 * bytes free. Returns the number of bytes written.
 */
export function lz4CompressBlockInto(src: Uint8Array, start: number, end: number, dst: Uint8Array, dstOffset: number): number {
  const n = end - start;
  let op = dstOffset;
  let anchor = start;
  if (n >= MFLIMIT + 1) {
    let hashLog = 8;
    while (hashLog < MAX_HASH_LOG && 1 << hashLog < n) hashLog++;
    const shift = 32 - hashLog;
    hashTable.fill(0, 0, 1 << hashLog);
    const matchLimit = end - LAST_LITERALS;
    const ipLimit = end - MFLIMIT; // a match may start at ip < ipLimit
    let ip = start;
    let searches = 0;
    while (ip < ipLimit) {
      const seq = src[ip]! | (src[ip + 1]! << 8) | (src[ip + 2]! << 16) | (src[ip + 3]! << 24);
      const h = Math.imul(seq, -1640531535) >>> shift;
      let ref = hashTable[h]! - 1;
      hashTable[h] = ip + 1;
      if (
        ref < start ||
        ip - ref > MAX_OFFSET ||
        (src[ref]! | (src[ref + 1]! << 8) | (src[ref + 2]! << 16) | (src[ref + 3]! << 24)) !== seq
      ) {
        // No match: step faster through incompressible data (as the reference encoder does).
        ip += 1 + (searches++ >>> 6);
        continue;
      }
      searches = 0;
      // Extend backwards into pending literals.
      while (ip > anchor && ref > start && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      let len = MIN_MATCH;
      while (ip + len < matchLimit && src[ref + len] === src[ip + len]) len++;
      op = writeSequence(src, anchor, ip - anchor, ip - ref, len - MIN_MATCH, dst, op);
      ip += len;
      anchor = ip;
      // Index a position inside the match so that runs keep matching.
      if (ip - 2 < ipLimit && ip - 2 >= start) {
        const p = ip - 2;
        const s2 = src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24);
        hashTable[Math.imul(s2, -1640531535) >>> shift] = p + 1;
      }
    }
  }
  // Last sequence: literals only.
  return writeLastLiterals(src, anchor, end - anchor, dst, op);
}

function writeLength(dst: Uint8Array, op: number, rest: number): number {
  while (rest >= 255) {
    dst[op++] = 255;
    rest -= 255;
  }
  dst[op++] = rest;
  return op;
}

function copyBytes(src: Uint8Array, from: number, len: number, dst: Uint8Array, to: number): void {
  if (len > 32) dst.set(src.subarray(from, from + len), to);
  else for (let i = 0; i < len; i++) dst[to + i] = src[from + i]!;
}

function writeSequence(
  src: Uint8Array,
  litStart: number,
  litLen: number,
  offset: number,
  ml: number,
  dst: Uint8Array,
  op: number,
): number {
  const tokenPos = op++;
  let token = 0;
  if (litLen >= 15) {
    token = 0xf0;
    op = writeLength(dst, op, litLen - 15);
  } else token = litLen << 4;
  copyBytes(src, litStart, litLen, dst, op);
  op += litLen;
  dst[op++] = offset & 0xff;
  dst[op++] = offset >>> 8;
  if (ml >= 15) {
    token |= 0x0f;
    op = writeLength(dst, op, ml - 15);
  } else token |= ml;
  dst[tokenPos] = token;
  return op;
}

function writeLastLiterals(src: Uint8Array, litStart: number, litLen: number, dst: Uint8Array, op: number): number {
  if (litLen >= 15) {
    dst[op++] = 0xf0;
    op = writeLength(dst, op, litLen - 15);
  } else dst[op++] = litLen << 4;
  copyBytes(src, litStart, litLen, dst, op);
  return op + litLen;
}

/** Compress `src` into a new buffer of exactly the compressed size (at least 1 byte). */
export function lz4CompressBlock(src: Uint8Array): Buffer {
  return lz4CompressWithPrefix(src, 0);
}

/**
 * Compress `src` into a new buffer that starts with `prefix` free bytes (for a length prefix the
 * caller writes), followed by the block.
 */
export function lz4CompressWithPrefix(src: Uint8Array, prefix: number): Buffer {
  const bound = lz4CompressBound(src.length);
  if (bound > SCRATCH_LIMIT) {
    const out = Buffer.allocUnsafe(prefix + bound);
    const n = lz4CompressBlockInto(src, 0, src.length, out, prefix);
    // Give back the unused tail when it is large.
    return n + prefix < out.length - (out.length >>> 3) ? Buffer.from(out.subarray(0, prefix + n)) : out.subarray(0, prefix + n);
  }
  if (scratch.length < bound) scratch = Buffer.allocUnsafe(Math.max(bound, scratch.length * 2));
  const n = lz4CompressBlockInto(src, 0, src.length, scratch, 0);
  const out = Buffer.allocUnsafe(prefix + n);
  scratch.copy(out, prefix, 0, n);
  return out;
}

/**
 * Decode the block `src[srcStart, srcEnd)` into `dst[dstStart, dstEnd)`. Returns the number of bytes
 * written. Throws `ProtocolError('compression')` if the block is malformed or would write past `dstEnd`.
 */
export function lz4DecompressBlockInto(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
): number {
  let ip = srcStart;
  let op = dstStart;
  for (;;) {
    if (ip >= srcEnd) throw compressError(`truncated block (no token at input offset ${ip - srcStart})`);
    const token = src[ip++]!;
    let ll = token >>> 4;
    if (ll === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) throw compressError('truncated block (in a literal length)');
        b = src[ip++]!;
        ll += b;
      } while (b === 255);
    }
    if (ll > srcEnd - ip) {
      throw compressError(`literal run of ${ll} bytes at input offset ${ip - srcStart} passes the end of the input`);
    }
    if (ll > dstEnd - op) {
      throw compressError(`output would exceed the declared length of ${dstEnd - dstStart} bytes`);
    }
    copyBytes(src, ip, ll, dst, op);
    ip += ll;
    op += ll;
    if (ip === srcEnd) break; // the last sequence has literals only
    if (srcEnd - ip < 2) throw compressError('truncated block (in a match offset)');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0) throw compressError(`zero match offset at input offset ${ip - 2 - srcStart}`);
    if (offset > op - dstStart) {
      throw compressError(`match offset ${offset} points before the start of the output (at output offset ${op - dstStart})`);
    }
    let ml = token & 0x0f;
    if (ml === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) throw compressError('truncated block (in a match length)');
        b = src[ip++]!;
        ml += b;
      } while (b === 255);
    }
    ml += MIN_MATCH;
    if (ml > dstEnd - op) {
      throw compressError(`output would exceed the declared length of ${dstEnd - dstStart} bytes`);
    }
    let from = op - offset;
    if (offset >= ml && ml > 32) {
      dst.copyWithin(op, from, from + ml);
      op += ml;
    } else {
      // Overlapping (or short) copy: byte by byte repeats the pattern.
      const stop = op + ml;
      while (op < stop) dst[op++] = dst[from++]!;
    }
  }
  return op - dstStart;
}

/**
 * Decode a whole block that must produce exactly `uncompressedLength` bytes. The caller checks
 * `uncompressedLength` against its own maximum; this function refuses lengths that the block
 * cannot possibly produce (more than 255x its size) before allocating.
 */
export function lz4DecompressBlock(src: Uint8Array, uncompressedLength: number, srcStart = 0, srcEnd = src.length): Buffer {
  if (!Number.isInteger(uncompressedLength) || uncompressedLength < 0) {
    throw compressError(`invalid declared uncompressed length ${uncompressedLength}`);
  }
  const compressedLength = srcEnd - srcStart;
  if (uncompressedLength > compressedLength * LZ4_MAX_RATIO) {
    throw compressError(`declared uncompressed length ${uncompressedLength} is impossible for a ${compressedLength}-byte block`);
  }
  const out = Buffer.allocUnsafe(uncompressedLength);
  const n = lz4DecompressBlockInto(src, srcStart, srcEnd, out, 0, uncompressedLength);
  if (n !== uncompressedLength) {
    throw compressError(`block decompresses to ${n} bytes, but ${uncompressedLength} were declared`);
  }
  return out;
}
