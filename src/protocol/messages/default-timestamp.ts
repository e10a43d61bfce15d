/**
 * Splice of the default timestamp (query flag 0x20, `<timestamp>` [long] in microseconds) into a
 * QUERY, EXECUTE or BATCH message body, without decoding anything else (pinned write timestamps).
 *
 *   QUERY   <query: [long string]><query_parameters>
 *   EXECUTE <id: [short bytes]>[<result_metadata_id: [short bytes]> v5/DSE_V2]<query_parameters>
 *   BATCH   <type><n><query_1>...<query_n><consistency><flags>[<serial_consistency>][<timestamp>]...
 *
 * In <query_parameters> the timestamp follows values, page size, paging state and serial
 * consistency; in a BATCH it follows the serial consistency. The flag is set in place (the flags
 * field is a [byte] in v3/v4, an [int] in v5/DSE) and the 8 bytes are inserted; every other byte is
 * copied. v2 has no default timestamp.
 */
import { Opcode, ProtocolVersion, QueryFlag, hasIntQueryFlags } from '../constants';
import { ProtocolError } from '../errors';
import { Reader } from '../primitives';
import { RawFrame } from '../frame';
import { skipEnvelope } from '../envelope';
import { supportsKeyspace } from './query-parameters';

/** Where a message's flags are and where its `<timestamp>` goes (or is). */
export interface TimestampSlot {
  /** offset of the flags field */
  flagsAt: number;
  flagsSize: 1 | 4;
  flags: number;
  /** offset where the `<timestamp>` is (flag set) or must be inserted (flag not set) */
  at: number;
}

/** The query flags at the reader's offset: a [byte] in v3/v4, an [int] in v5/DSE. */
function readFlags(r: Reader, size: 1 | 4): number {
  return size === 4 ? r.readUInt('<flags>') : r.readByte('<flags>');
}

/** Skips a [long string] without decoding it. */
function skipLongString(r: Reader, what: string): void {
  r.skip(r.readInt(what, ' length'), what);
}

/** Skips `n` [value]s (named: each after its [string] name) without making views of them. */
function skipValues(r: Reader, named: boolean, what: string): void {
  const n = r.readShort(what, ' count');
  for (let i = 0; i < n; i++) {
    if (named) r.skip(r.readShort(what, ' name length'), what, ' name');
    const len = r.readInt(what, ' length');
    if (len > 0) r.skip(len, what);
  }
}

/** Reads `<consistency><flags>...` of query parameters up to the timestamp's place. */
function queryParamsSlot(r: Reader, version: ProtocolVersion): TimestampSlot {
  r.readShort('<consistency>');
  const flagsAt = r.offset;
  const flagsSize = hasIntQueryFlags(version) ? 4 : 1;
  const flags = readFlags(r, flagsSize);
  if (flags & QueryFlag.VALUES) skipValues(r, (flags & QueryFlag.NAMES_FOR_VALUES) !== 0, '<query_parameters> [value]');
  if (flags & QueryFlag.PAGE_SIZE) r.readInt('<result_page_size>');
  if (flags & QueryFlag.PAGING_STATE) {
    const n = r.readInt('<paging_state> length');
    if (n > 0) r.skip(n, '<paging_state>');
  }
  if (flags & QueryFlag.SERIAL_CONSISTENCY) r.readShort('<serial_consistency>');
  return { flagsAt, flagsSize, flags, at: r.offset };
}

/**
 * The timestamp slot of a QUERY / EXECUTE / BATCH message body (envelope already skipped), or
 * undefined for another opcode or protocol v2 (no default timestamp). Throws ProtocolError on a
 * truncated or malformed body.
 */
export function timestampSlot(opcode: Opcode, msg: Buffer, version: ProtocolVersion): TimestampSlot | undefined {
  if (version === ProtocolVersion.V2) return undefined;
  const r = new Reader(msg);
  switch (opcode) {
    case Opcode.QUERY:
      skipLongString(r, 'query string');
      return queryParamsSlot(r, version);
    case Opcode.EXECUTE:
      r.skipShortBytes('prepared id');
      if (supportsKeyspace(version)) r.skipShortBytes('result metadata id');
      return queryParamsSlot(r, version);
    case Opcode.BATCH: {
      r.readByte('batch type');
      const n = r.readShort('batch statement count');
      for (let i = 0; i < n; i++) {
        const kind = r.readByte('batch child kind');
        if (kind === 0) skipLongString(r, 'batch child query');
        else if (kind === 1) r.skipShortBytes('batch child prepared id');
        else throw new ProtocolError('invalid-value', `invalid BATCH child kind ${kind} (expected 0 or 1)`);
        skipValues(r, false, 'batch child value');
      }
      r.readShort('<consistency>');
      const flagsAt = r.offset;
      const flagsSize = hasIntQueryFlags(version) ? 4 : 1;
      const flags = readFlags(r, flagsSize);
      if (flags & QueryFlag.SERIAL_CONSISTENCY) r.readShort('<serial_consistency>');
      return { flagsAt, flagsSize, flags, at: r.offset };
    }
    default:
      return undefined;
  }
}

/** The client's default timestamp of a QUERY / EXECUTE / BATCH body, undefined when it sets none. */
export function peekDefaultTimestamp(opcode: Opcode, msg: Buffer, version: ProtocolVersion): bigint | undefined {
  const s = timestampSlot(opcode, msg, version);
  if (!s || (s.flags & QueryFlag.DEFAULT_TIMESTAMP) === 0) return undefined;
  return new Reader(msg, s.at).readLong('<timestamp>');
}

/**
 * The message body with `micros` (called only when needed) as its default timestamp (flag 0x20 set, 8 bytes inserted), or
 * undefined when the body already carries one (a client timestamp is never changed), for protocol
 * v2 and for opcodes other than QUERY / EXECUTE / BATCH.
 */
export function withDefaultTimestamp(
  opcode: Opcode,
  msg: Buffer,
  version: ProtocolVersion,
  micros: bigint | (() => bigint),
): Buffer | undefined {
  const s = timestampSlot(opcode, msg, version);
  if (!s || (s.flags & QueryFlag.DEFAULT_TIMESTAMP) !== 0) return undefined;
  const out = Buffer.allocUnsafe(msg.length + 8);
  msg.copy(out, 0, 0, s.at);
  out.writeBigInt64BE(typeof micros === 'function' ? micros() : micros, s.at);
  msg.copy(out, s.at + 8, s.at);
  const flags = (s.flags | QueryFlag.DEFAULT_TIMESTAMP) >>> 0;
  if (s.flagsSize === 4) out.writeUInt32BE(flags, s.flagsAt);
  else out.writeUInt8(flags, s.flagsAt);
  return out;
}

/**
 * The live read comparison's copy of an EXECUTE for the secondary: the same request without the Skip_metadata
 * query flag (0x02), so that the secondary's RESULT names its columns (the client's request, sent to the primary,
 * is untouched). `frame` must be a copy the caller owns: an uncompressed body is changed in place; a compressed
 * one (v2-v4 with a body codec) is decompressed, changed and compressed again into a new frame. Returns `frame`
 * as it is when the flag is not set, for another opcode, or when the body cannot be read (not compressible
 * without `codec`, malformed).
 */
export function withoutSkipMetadata(
  frame: RawFrame,
  codec?: { decompress(body: Buffer): Buffer; compress(body: Buffer): Buffer },
): RawFrame {
  if (frame.opcode !== Opcode.EXECUTE && frame.opcode !== Opcode.QUERY) return frame;
  const compressed = frame.isCompressed && frame.version !== ProtocolVersion.V5;
  if (compressed && !codec) return frame;
  try {
    const body = compressed ? Buffer.from(codec!.decompress(frame.body)) : frame.body;
    const off = skipEnvelope(frame, body);
    const slot = timestampSlot(frame.opcode, body.subarray(off), frame.version);
    if (!slot || (slot.flags & QueryFlag.SKIP_METADATA) === 0) return frame;
    // the flag is in the flags field's last (least significant) byte
    const at = off + slot.flagsAt + slot.flagsSize - 1;
    body[at] = body[at]! & ~QueryFlag.SKIP_METADATA;
    if (!compressed) return frame; // changed in place (`body` is a view of the frame's bytes)
    const { bodyLength: _len, ...header } = frame.header;
    return RawFrame.fromParts(header, codec!.compress(body));
  } catch {
    return frame;
  }
}
