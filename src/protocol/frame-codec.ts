/**
 * Decoded frames: a `RawFrame` (header + body bytes, what the proxy forwards) turned into a
 * `Frame` (header fields, envelope and message) and back.
 *
 * Compression: when the COMPRESSION header flag is set the whole body (envelope included) is
 * compressed with the connection's `BodyCompressor`. That applies to v2-v4, DSE_V1 and DSE_V2;
 * in v5 compression happens at the segment layer and the frame flag is deprecated and ignored
 * (spec v5 2.4.1.2). STARTUP and OPTIONS request bodies are never compressed on encode.
 *
 * Cheap peeks (`peekQueryString`, `peekPreparedId`) read only what routing needs, without
 * decoding the query parameters.
 */
import { DEFAULT_MAX_BODY_LENGTH, HeaderFlag, Opcode, ProtocolVersion, headerLength, opcodeName } from './constants';
import type { BodyCodec, BodyCompressor } from './compression';
import { decodeEnvelope, encodeEnvelope, envelopeFlags, hasEnvelope, skipEnvelope, type Envelope } from './envelope';
import { ProtocolError } from './errors';
import { RawFrame, encodeHeaderInto, type FrameHeader } from './frame';
import { decodeMessage, encodeMessageInto, type DecodeMessageOptions, type Message } from './messages';
import { Reader, Writer } from './primitives';

export interface Frame<M extends Message = Message> extends Envelope {
  version: ProtocolVersion;
  /** Direction bit of the version byte: true for server-to-client frames. */
  isResponse: boolean;
  streamId: number;
  /**
   * Header flags. On decode: as on the wire. On encode: TRACING (requests) and USE_BETA are
   * taken from here; COMPRESSION, CUSTOM_PAYLOAD, WARNING and (responses) TRACING are derived
   * from the compressor and the envelope fields.
   */
  flags: number;
  message: M;
}

/** Is a frame body with this opcode compressed when compression is on? */
export function isCompressible(version: ProtocolVersion, isResponse: boolean, opcode: number): boolean {
  if (version === ProtocolVersion.V5) return false;
  return isResponse || (opcode !== Opcode.STARTUP && opcode !== Opcode.OPTIONS);
}

const DERIVED_FLAGS = HeaderFlag.COMPRESSION | HeaderFlag.CUSTOM_PAYLOAD | HeaderFlag.WARNING;

/** The header flags `encodeFrame` writes for this frame. */
export function encodedFlags(frame: Frame, compressor?: BodyCompressor): number {
  let flags = frame.flags & ~DERIVED_FLAGS & 0xff;
  if (frame.isResponse) flags &= ~HeaderFlag.TRACING;
  flags |= envelopeFlags(frame.isResponse, frame);
  if (compressor !== undefined && isCompressible(frame.version, frame.isResponse, frame.message.opcode))
    flags |= HeaderFlag.COMPRESSION;
  return flags;
}

/** Encode a frame: header, envelope and message, the body compressed when a compressor is given. */
export function encodeFrame(frame: Frame, compressor?: BodyCompressor): RawFrame {
  const { version, isResponse } = frame;
  const opcode = frame.message.opcode;
  const flags = encodedFlags(frame, compressor);
  const hl = headerLength(version);
  const w = new Writer(128);
  w.writeRaw(HEADER_PLACEHOLDER.subarray(0, hl));
  encodeEnvelope(version, isResponse, frame, w);
  encodeMessageInto(frame.message, version, w);
  let bytes = w.finish();
  if ((flags & HeaderFlag.COMPRESSION) !== 0) {
    const compressed = compressor!.compress(bytes.subarray(hl), version);
    bytes = Buffer.allocUnsafe(hl + compressed.length);
    compressed.copy(bytes, hl);
  }
  const header: FrameHeader = { version, isResponse, flags, streamId: frame.streamId, opcode, bodyLength: bytes.length - hl };
  encodeHeaderInto(header, bytes, 0);
  return new RawFrame(header, bytes);
}

const HEADER_PLACEHOLDER = Buffer.alloc(9);

function withContext(e: unknown, h: FrameHeader, prefix = ''): unknown {
  if (!(e instanceof ProtocolError)) return e;
  return new ProtocolError(e.code, prefix + e.message, {
    ...e.context,
    version: h.version,
    streamId: h.streamId,
    opcode: h.opcode,
  });
}

/**
 * The frame body, decompressed when the COMPRESSION flag is set (v2-v4, DSE), and the offset
 * where the message starts after the envelope.
 */
export function openBody(
  raw: RawFrame,
  compressor?: BodyCompressor,
  maxBodyLength = DEFAULT_MAX_BODY_LENGTH,
): { body: Buffer; messageOffset: number } {
  let body = raw.body;
  if ((raw.flags & HeaderFlag.COMPRESSION) !== 0 && raw.version !== ProtocolVersion.V5) {
    if (compressor === undefined) {
      throw new ProtocolError(
        'compression',
        `${opcodeName(raw.opcode)} frame on stream ${raw.streamId} is compressed but no compression was negotiated`,
        { version: raw.version, streamId: raw.streamId, opcode: raw.opcode },
      );
    }
    try {
      body = compressor.decompress(body, raw.version, maxBodyLength);
    } catch (e) {
      throw withContext(e, raw);
    }
  }
  try {
    return { body, messageOffset: skipEnvelope(raw, body) };
  } catch (e) {
    throw withContext(e, raw, `${opcodeName(raw.opcode)} envelope: `);
  }
}

/**
 * The message of a frame: its body, decompressed by `codec` when the COMPRESSION flag is set and a
 * codec is given (otherwise taken as is), after its envelope (tracing id, warnings, custom payload).
 * A view when nothing is decompressed. Throws ProtocolError('truncated') when the envelope is cut short.
 */
export function messageOf(raw: RawFrame, codec?: { decompress(body: Buffer): Buffer }): Buffer {
  const body = raw.isCompressed && codec ? codec.decompress(raw.body) : raw.body;
  const off = skipEnvelope(raw, body);
  return off === 0 ? body : body.subarray(off);
}

/**
 * The kind of a RESULT read straight from the frame's bytes (no body view, nothing decompressed), or -1 when
 * the body must be opened first (compressed, or a tracing id, warnings or custom payload before the message) or
 * is shorter than a kind. For the reply path's usual case; anything else takes the full path.
 */
export function peekResultKindInPlace(raw: RawFrame): number {
  if (raw.opcode !== Opcode.RESULT || raw.isCompressed || hasEnvelope(raw)) return -1;
  const hl = headerLength(raw.version);
  return raw.bytes.length >= hl + 4 ? raw.bytes.readInt32BE(hl) : -1;
}

/**
 * Decode a raw frame. Throws ProtocolError ('compression', 'truncated', 'invalid-value',
 * 'unknown-opcode') with the frame's version, stream id and opcode in its context.
 */
export function decodeFrame(
  raw: RawFrame,
  compressor?: BodyCompressor,
  maxBodyLength = DEFAULT_MAX_BODY_LENGTH,
  opts: DecodeMessageOptions = {},
): Frame {
  let body = raw.body;
  if ((raw.flags & HeaderFlag.COMPRESSION) !== 0 && raw.version !== ProtocolVersion.V5)
    body = openBody(raw, compressor, maxBodyLength).body;
  let env;
  try {
    env = decodeEnvelope(raw, body);
  } catch (e) {
    throw withContext(e, raw, `${opcodeName(raw.opcode)} envelope: `);
  }
  let message: Message;
  try {
    message = decodeMessage(
      raw.opcode,
      raw.isResponse,
      env.messageOffset === 0 ? body : body.subarray(env.messageOffset),
      raw.version,
      opts,
    );
  } catch (e) {
    throw withContext(e, raw);
  }
  const frame: Frame = { version: raw.version, isResponse: raw.isResponse, streamId: raw.streamId, flags: raw.flags, message };
  if (env.tracingId !== undefined) frame.tracingId = env.tracingId;
  if (env.warnings !== undefined) frame.warnings = env.warnings;
  if (env.customPayload !== undefined) frame.customPayload = env.customPayload;
  return frame;
}

/**
 * The CQL text of a QUERY or PREPARE request, read without decoding anything after it;
 * undefined for any other frame.
 */
export function peekQueryString(raw: RawFrame, compressor?: BodyCompressor, maxBodyLength?: number): string | undefined {
  if (raw.isResponse || (raw.opcode !== Opcode.QUERY && raw.opcode !== Opcode.PREPARE)) return undefined;
  const { body, messageOffset } = openBody(raw, compressor, maxBodyLength);
  try {
    return new Reader(body, messageOffset).readLongString(`${opcodeName(raw.opcode)} query string`);
  } catch (e) {
    throw withContext(e, raw);
  }
}

/** The prepared statement id of an EXECUTE request (a view, no copy when uncompressed); undefined otherwise. */
export function peekPreparedId(raw: RawFrame, compressor?: BodyCompressor, maxBodyLength?: number): Buffer | undefined {
  if (raw.isResponse || raw.opcode !== Opcode.EXECUTE) return undefined;
  const { body, messageOffset } = openBody(raw, compressor, maxBodyLength);
  try {
    return new Reader(body, messageOffset).readShortBytes('EXECUTE prepared id');
  } catch (e) {
    throw withContext(e, raw);
  }
}

/**
 * Decode a frame whose body may be compressed with the connection's `codec` (v2-v4, DSE; a v5 frame never is):
 * decompressed first. Throws ProtocolError('compression') when compressed and no codec is given.
 */
export function decodeFrameWith(raw: RawFrame, codec: BodyCodec | undefined): Frame {
  if (!raw.isCompressed || raw.version === ProtocolVersion.V5) return decodeFrame(raw);
  if (!codec) {
    throw new ProtocolError('compression', `frame on stream ${raw.streamId} is compressed but no compression was given`, {
      version: raw.version,
      streamId: raw.streamId,
      opcode: raw.opcode,
    });
  }
  const body = codec.decompress(raw.body);
  return decodeFrame(
    RawFrame.fromParts(
      {
        version: raw.version,
        isResponse: raw.isResponse,
        flags: raw.flags & ~HeaderFlag.COMPRESSION,
        streamId: raw.streamId,
        opcode: raw.opcode,
      },
      body,
    ),
  );
}

/** Encode `frame`, its body compressed with `codec` when `like` (the frame it replaces) was compressed. */
export function encodeFrameLike(frame: Frame, like: RawFrame, codec: BodyCodec | undefined): RawFrame {
  const plain = encodeFrame(frame);
  if (!like.isCompressed || like.version === ProtocolVersion.V5 || !codec) return plain;
  return RawFrame.fromParts(
    {
      version: plain.version,
      isResponse: plain.isResponse,
      flags: plain.flags | HeaderFlag.COMPRESSION,
      streamId: plain.streamId,
      opcode: plain.opcode,
    },
    codec.compress(plain.body),
  );
}
