/**
 * One-pass edits of a request frame for the forward path: the bytes the proxy changes in a client's
 * QUERY / EXECUTE (TARGET's prepared id and result metadata id, a pinned default timestamp) are
 * spliced into ONE new frame buffer (header, envelope and the untouched runs copied once), instead of
 * a rebuild per edit. A compressed body is decompressed once, edited, and compressed once.
 *
 *   EXECUTE <id: [short bytes]>[<result_metadata_id: [short bytes]> v5/DSE_V2]<query_parameters>
 *   QUERY   <query: [long string]><query_parameters>
 *
 * The pinned timestamp: query flag 0x20 set in the flags field (a [byte] in v3/v4, an [int] in
 * v5/DSE) and the 8-byte `<timestamp>` inserted where the parameters put it (`timestampSlot`).
 */
import { isAscii } from 'node:buffer';
import { HeaderFlag, Opcode, type ProtocolVersion, QueryFlag, atLeastV5, hasIntQueryFlags, headerLength } from './constants';
import type { BodyCodec } from './compression';
import { hasEnvelope, skipEnvelope } from './envelope';
import { ProtocolError } from './errors';
import { RawFrame, encodeHeaderInto, type FrameHeader } from './frame';
import { timestampSlot, withDefaultTimestamp, type TimestampSlot } from './messages/default-timestamp';
import { supportsKeyspace } from './messages/query-parameters';
import { Reader, Writer } from './primitives';

export type { BodyCodec } from './compression';

/** The plain (decompressed) body of a frame, and where its message starts after the envelope. */
export interface OpenedBody {
  /** the whole plain body (envelope + message); a view into the frame when it is not compressed */
  full: Buffer;
  /** offset of the message in `full` */
  offset: number;
  /** the message (a view) */
  msg: Buffer;
}

/** The frame body, decompressed if the frame says it is compressed. Throws ProtocolError('compression'). */
export function plainBody(frame: RawFrame, codec: BodyCodec | undefined): Buffer {
  if (!frame.isCompressed) return frame.body;
  if (!codec) {
    throw new ProtocolError('compression', 'compressed frame received but no compression was negotiated at STARTUP', {
      version: frame.version,
      streamId: frame.streamId,
      opcode: frame.opcode,
    });
  }
  try {
    return codec.decompress(frame.body);
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new ProtocolError('compression', `cannot decompress the request body: ${(e as Error).message}`, {
      version: frame.version,
      streamId: frame.streamId,
      opcode: frame.opcode,
    });
  }
}

/** The message part of a body: after the (decompressed) body's envelope (a v4+ custom payload, flag 0x04). */
export function openRequestBody(frame: RawFrame, codec: BodyCodec | undefined): OpenedBody {
  const full = plainBody(frame, codec);
  const offset = skipEnvelope(frame, full);
  return { full, offset, msg: offset === 0 ? full : full.subarray(offset) };
}

/** A whole plain body: the envelope of `m` (kept byte for byte) followed by a new message. */
export function withEnvelope(m: { full: Buffer; offset: number }, msg: Buffer): Buffer {
  return m.offset === 0 ? msg : Buffer.concat([m.full.subarray(0, m.offset), msg]);
}

/** A frame with the same header (flags kept) and a new plain body, compressed again if the original was. */
export function rebuildFrame(frame: RawFrame, body: Buffer, codec: BodyCodec | undefined): RawFrame {
  const out = frame.isCompressed && codec ? codec.compress(body) : body;
  return frameWithBody(frame, out);
}

/** A new frame: `h` (version, direction, flags, stream id, opcode) and `body`, in one buffer. */
function frameWithBody(h: FrameHeader, body: Uint8Array): RawFrame {
  const header: FrameHeader = {
    version: h.version,
    isResponse: h.isResponse,
    flags: h.flags,
    streamId: h.streamId,
    opcode: h.opcode,
    bodyLength: body.length,
  };
  const hl = headerLength(h.version);
  const bytes = Buffer.allocUnsafe(hl + body.length);
  encodeHeaderInto(header, bytes, 0);
  bytes.set(body, hl);
  return new RawFrame(header, bytes);
}

/** What to change in a QUERY / EXECUTE request (all optional; several at once cost one copy). */
export interface RequestEdits {
  /** EXECUTE: the prepared id to send instead of the client's */
  preparedId?: Buffer;
  /** EXECUTE v5/DSE_V2: the result metadata id to send instead of the client's when the client's equals `from` */
  resultMetadataId?: { from: Buffer; to: Buffer };
  /** QUERY / EXECUTE: the default timestamp (µs) to set when the request carries none (a client's is kept) */
  timestamp?: bigint;
}

/** Where the edits of one request go, read once from its message (offsets relative to the message). */
export interface RequestLayout {
  /** EXECUTE: end of the prepared id ([short bytes]), 0 for QUERY */
  idEnd: number;
  /** EXECUTE v5/DSE_V2: the result metadata id (a view) and its end */
  resultMetadataId?: Buffer;
  rmEnd: number;
  /** the timestamp slot of the query parameters (undefined: v2, or not asked for) */
  slot: TimestampSlot | undefined;
}

/**
 * Read the layout of a QUERY / EXECUTE message: the ids (EXECUTE), and with `withSlot` the query parameters up to
 * the timestamp's place (only then are they read). Throws ProtocolError on a truncated body.
 */
export function requestLayout(opcode: Opcode, msg: Buffer, version: ProtocolVersion, withSlot: boolean): RequestLayout {
  let idEnd = 0;
  let rmEnd = 0;
  let resultMetadataId: Buffer | undefined;
  if (opcode === Opcode.EXECUTE) {
    const r = new Reader(msg);
    r.skipShortBytes('prepared id');
    idEnd = rmEnd = r.offset;
    if (supportsKeyspace(version)) {
      resultMetadataId = r.readShortBytes('result metadata id');
      rmEnd = r.offset;
    }
  }
  const slot = withSlot ? timestampSlot(opcode, msg, version) : undefined;
  return { idEnd, rmEnd, resultMetadataId, slot };
}

/** Can a default timestamp be set (slot read, not v2, and the client set none)? */
export function takesTimestamp(l: RequestLayout): boolean {
  return l.slot !== undefined && (l.slot.flags & QueryFlag.DEFAULT_TIMESTAMP) === 0;
}

/**
 * The frame with a default timestamp (`micros`, called only when needed) spliced into its QUERY / EXECUTE / BATCH
 * message, or undefined when it carries one already, for v2 and for other opcodes.
 */
export function withDefaultTimestampFrame(
  frame: RawFrame,
  micros: () => bigint,
  codec: BodyCodec | undefined,
): RawFrame | undefined {
  const m = openRequestBody(frame, codec);
  const body = withDefaultTimestamp(frame.opcode, m.msg, frame.version, micros);
  return body ? rebuildFrame(frame, withEnvelope(m, body), codec) : undefined;
}

/**
 * The request with `edits` applied, in one new frame (same header fields, stream id included), or
 * undefined when nothing changes. `m` and `l` are the request's opened body and layout.
 */
export function spliceRequest(
  frame: RawFrame,
  m: OpenedBody,
  l: RequestLayout,
  edits: RequestEdits,
  codec: BodyCodec | undefined,
): RawFrame | undefined {
  const msg = m.msg;
  const id = edits.preparedId;
  const rm =
    edits.resultMetadataId && l.resultMetadataId?.equals(edits.resultMetadataId.from) ? edits.resultMetadataId.to : undefined;
  const ts = edits.timestamp !== undefined && takesTimestamp(l) ? edits.timestamp : undefined;
  if (id === undefined && rm === undefined && ts === undefined) return undefined;
  const version = frame.version;
  const idStart = 0;
  const idEnd = id !== undefined ? l.idEnd : 0;
  const newIdLen = id !== undefined ? 2 + id.length : 0;
  const rmStart = l.idEnd;
  const rmEnd = rm !== undefined ? l.rmEnd : rmStart;
  const newRmLen = rm !== undefined ? 2 + rm.length : 0;
  const slotAt = ts !== undefined ? l.slot!.at : msg.length;
  const delta = newIdLen - (idEnd - idStart) + newRmLen - (rmEnd - rmStart) + (ts !== undefined ? 8 : 0);
  const plainLen = m.offset + msg.length + delta;
  const compressed = frame.isCompressed && codec !== undefined;
  const hl = compressed ? 0 : headerLength(version);
  const out = Buffer.allocUnsafe(hl + plainLen);
  let o = hl;
  if (m.offset > 0) o += m.full.copy(out, o, 0, m.offset);
  const base = o;
  if (id !== undefined) {
    out.writeUInt16BE(id.length, o);
    o += 2 + id.copy(out, o + 2);
  }
  o += msg.copy(out, o, idEnd, rmStart);
  if (rm !== undefined) {
    out.writeUInt16BE(rm.length, o);
    o += 2 + rm.copy(out, o + 2);
  }
  o += msg.copy(out, o, rmEnd, slotAt);
  if (ts !== undefined) {
    const s = l.slot!;
    out.writeBigInt64BE(ts, o);
    o += 8;
    o += msg.copy(out, o, slotAt);
    const shift = base - (idEnd - newIdLen) - (rmEnd - rmStart - newRmLen);
    // the flags field lies after the ids: shifted by the id edits only
    const flagsAt = s.flagsAt + shift;
    const flags = (s.flags | QueryFlag.DEFAULT_TIMESTAMP) >>> 0;
    if (s.flagsSize === 4) out.writeUInt32BE(flags, flagsAt);
    else out[flagsAt] = flags;
  } else o += msg.copy(out, o, slotAt);
  const h = frame;
  if (compressed) return frameWithBody(h, codec.compress(out));
  const header: FrameHeader = {
    version,
    isResponse: h.isResponse,
    flags: h.flags,
    streamId: h.streamId,
    opcode: h.opcode,
    bodyLength: plainLen,
  };
  encodeHeaderInto(header, out, 0);
  return new RawFrame(header, out);
}

// ---- peeks: what routing reads --------------------------------------------------------------

/** Skip `<consistency><flags>` and the optional fields of query parameters up to the keyspace; returns it if present. */
function readQueryParamsKeyspace(r: Reader, version: ProtocolVersion): string | undefined {
  r.readShort('consistency');
  const flags = hasIntQueryFlags(version) ? r.readUInt('query flags') : r.readByte('query flags');
  if (!atLeastV5(version) || (flags & QueryFlag.WITH_KEYSPACE) === 0) return undefined;
  if (flags & QueryFlag.VALUES) {
    const n = r.readShort('value count');
    const named = (flags & QueryFlag.NAMES_FOR_VALUES) !== 0;
    for (let i = 0; i < n; i++) {
      if (named) r.readString('value name');
      r.readValue('bound value');
    }
  }
  if (flags & QueryFlag.PAGE_SIZE) r.readInt('page size');
  if (flags & QueryFlag.PAGING_STATE) r.readBytes('paging state');
  if (flags & QueryFlag.SERIAL_CONSISTENCY) r.readShort('serial consistency');
  if (flags & QueryFlag.DEFAULT_TIMESTAMP) r.readLong('timestamp');
  return r.readString('keyspace');
}

/**
 * The [long string] at the reader's offset. ASCII text (the usual case) is sliced as latin1, which gives the
 * same string as UTF-8 decoding for bytes < 0x80 and is cheaper; anything else goes through the Reader.
 */
function readText(r: Reader, what: string): string {
  const buf = r.buf;
  const at = r.offset;
  if (r.end - at >= 4) {
    const n = buf.readInt32BE(at);
    const start = at + 4;
    if (n >= 0 && n <= r.end - start) {
      if (isAscii(buf.subarray(start, start + n))) {
        r.offset = start + n;
        return buf.toString('latin1', start, start + n);
      }
    }
  }
  return r.readLongString(what);
}

/** QUERY: the text and the request keyspace field (v5/DSE_V2 only). */
export function peekQuery(body: Buffer, version: ProtocolVersion): { query: string; keyspace?: string } {
  const r = new Reader(body);
  const query = readText(r, 'query string');
  let keyspace: string | undefined;
  if (atLeastV5(version)) {
    try {
      keyspace = readQueryParamsKeyspace(r, version);
    } catch {
      keyspace = undefined; // malformed parameters: the cluster will reject the request itself
    }
  }
  return { query, keyspace };
}

/** PREPARE: the text and the keyspace field (v5/DSE_V2: `<flags>[<keyspace>]`). */
export function peekPrepare(body: Buffer, version: ProtocolVersion): { query: string; keyspace?: string } {
  const r = new Reader(body);
  const query = readText(r, 'query string');
  let keyspace: string | undefined;
  if (atLeastV5(version) && r.remaining >= 4) {
    const flags = r.readUInt('prepare flags');
    if (flags & 0x01) keyspace = r.readString('keyspace');
  }
  return { query, keyspace };
}

/** An EXECUTE read in place (`peekExecuteInPlace`): where its prepared id is in the frame's bytes, and its query flags. */
export interface ExecutePeek {
  /** [idStart, idEnd) of the prepared id in `frame.bytes` */
  idStart: number;
  idEnd: number;
  /** its query parameters carry the client's default timestamp (flag 0x20) */
  hasTimestamp: boolean;
}

/**
 * Fill `out` from an EXECUTE frame's own bytes, with no view, copy or decompression made. True when the body can
 * be read in place (not compressed, no custom payload before the message) and holds the prepared id, the v5/DSE_V2
 * result metadata id, the consistency and the flags; false: open the body (`openRequestBody`) instead.
 */
export function peekExecuteInPlace(raw: RawFrame, out: ExecutePeek): boolean {
  if (raw.isCompressed || hasEnvelope(raw)) return false;
  const b = raw.bytes;
  const end = b.length;
  let o = headerLength(raw.version);
  if (o + 2 > end) return false;
  const idStart = o + 2;
  const idEnd = idStart + b.readUInt16BE(o);
  o = idEnd;
  if (supportsKeyspace(raw.version)) {
    if (o + 2 > end) return false;
    o += 2 + b.readUInt16BE(o);
  }
  o += 2; // <consistency>
  const flagsSize = hasIntQueryFlags(raw.version) ? 4 : 1;
  if (o + flagsSize > end) return false;
  out.idStart = idStart;
  out.idEnd = idEnd;
  const flags = flagsSize === 4 ? b.readUInt32BE(o) : b[o]!;
  out.hasTimestamp = (flags & QueryFlag.DEFAULT_TIMESTAMP) !== 0;
  return true;
}

/** EXECUTE: the prepared id (a view into `body`). */
export function peekExecuteId(body: Buffer): Buffer {
  return new Reader(body).readShortBytes('prepared id');
}

export interface BatchChildRef {
  kind: 'query' | 'prepared';
  /** query: the text */
  query?: string;
  /** prepared: offset of the [short bytes] id in the body, and the id */
  offset: number;
  id?: Buffer;
}

/** BATCH children, and the offset where the parameters after the children start. */
export function peekBatch(body: Buffer, version: ProtocolVersion): { children: BatchChildRef[]; end: number } {
  const r = new Reader(body);
  r.readByte('batch type');
  const n = r.readShort('batch statement count');
  // Names for values in batches: the flags come after the children, so peek ahead is impossible;
  // v3+ batches never carry names in practice (Cassandra rejects them), as in upstream's codec.
  const children: BatchChildRef[] = [];
  for (let i = 0; i < n; i++) {
    const kind = r.readByte('batch child kind');
    const offset = r.offset;
    if (kind === 0) {
      children.push({ kind: 'query', offset, query: readText(r, 'batch child query') });
    } else if (kind === 1) {
      const id = r.readShortBytes('batch child prepared id');
      children.push({ kind: 'prepared', offset, id });
    } else {
      throw new ProtocolError('invalid-value', `invalid BATCH child kind ${kind} (expected 0 or 1)`, { version });
    }
    const values = r.readShort('batch child value count');
    for (let v = 0; v < values; v++) r.readValue('batch child value');
  }
  return { children, end: r.offset };
}

/** BATCH body with the prepared children ids replaced by `map(id)`. */
export function replaceBatchIds(body: Buffer, children: readonly BatchChildRef[], map: (id: Buffer) => Buffer): Buffer {
  const w = new Writer(body.length + 64);
  let pos = 0;
  for (const c of children) {
    if (c.kind !== 'prepared' || !c.id) continue;
    w.writeRaw(body.subarray(pos, c.offset));
    w.writeShortBytes(map(c.id));
    pos = c.offset + 2 + c.id.length;
  }
  w.writeRaw(body.subarray(pos));
  return Buffer.from(w.finish());
}

/**
 * AUTH_RESPONSE `request` with another token ([bytes]; null = absent): the header kept minus CUSTOM_PAYLOAD (the
 * rebuilt body carries none), compressed again when the original was.
 */
export function withAuthToken(request: RawFrame, token: Buffer | null, codec: BodyCodec | undefined): RawFrame {
  const body = Buffer.alloc(4 + (token ? token.length : 0));
  if (token) {
    body.writeInt32BE(token.length, 0);
    token.copy(body, 4);
  } else body.writeInt32BE(-1, 0);
  const h = request.header;
  return frameWithBody(
    { ...h, flags: h.flags & ~HeaderFlag.CUSTOM_PAYLOAD },
    request.isCompressed && codec ? codec.compress(body) : body,
  );
}
