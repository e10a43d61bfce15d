/**
 * The frame body prefix that header flags announce, before the message itself:
 *
 *   [tracing id: [uuid]]          responses only, TRACING flag (0x02); all versions
 *   [warnings: [string list]]     responses only, WARNING flag (0x08); v4+ (incl. DSE)
 *   [custom payload: [bytes map]] requests and responses, CUSTOM_PAYLOAD flag (0x04); v4+
 *
 * in that order (native_protocol_v5.spec section 2.4.1.2; Cassandra's Message.Decoder). On a request the TRACING flag
 * only asks for tracing and adds nothing to the body. Flags a version does not define are
 * ignored. The body passed in is the decompressed one.
 */
import { HeaderFlag, type ProtocolVersion, atLeastV4 } from './constants';
import type { BodyCodec } from './compression';
import { RawFrame, type FrameHeader } from './frame';
import { ProtocolError } from './errors';
import { Reader, Writer, type BytesMap } from './primitives';

export interface Envelope {
  /** Responses only: the tracing session id (16 bytes, a view into the body on decode). */
  tracingId?: Buffer;
  /** v4+: custom payload. */
  customPayload?: BytesMap;
  /** Responses only, v4+: server warnings. */
  warnings?: string[];
}

export interface DecodedEnvelope extends Envelope {
  /** Offset in the body where the message starts. */
  messageOffset: number;
}

type EnvelopeHeader = Pick<FrameHeader, 'version' | 'isResponse' | 'flags'>;

function hasTracingId(h: EnvelopeHeader): boolean {
  return h.isResponse && (h.flags & HeaderFlag.TRACING) !== 0;
}
function hasWarnings(h: EnvelopeHeader): boolean {
  return h.isResponse && (h.flags & HeaderFlag.WARNING) !== 0 && atLeastV4(h.version);
}
function hasCustomPayload(h: EnvelopeHeader): boolean {
  return (h.flags & HeaderFlag.CUSTOM_PAYLOAD) !== 0 && atLeastV4(h.version);
}

/** Does this header announce any prefix before the message? */
export function hasEnvelope(h: EnvelopeHeader): boolean {
  return hasTracingId(h) || hasWarnings(h) || hasCustomPayload(h);
}

export function decodeEnvelope(header: EnvelopeHeader, body: Buffer): DecodedEnvelope {
  if (!hasEnvelope(header)) return { messageOffset: 0 };
  const r = new Reader(body);
  const env: DecodedEnvelope = { messageOffset: 0 };
  if (hasTracingId(header)) env.tracingId = r.readUuid('tracing id');
  if (hasWarnings(header)) env.warnings = r.readStringList('warnings');
  if (hasCustomPayload(header)) env.customPayload = r.readBytesMap('custom payload');
  env.messageOffset = r.offset;
  return env;
}

/**
 * Offset where the message starts, without building the envelope's values (for peeking).
 * Throws ProtocolError('truncated') like `decodeEnvelope`.
 */
export function skipEnvelope(header: EnvelopeHeader, body: Buffer): number {
  if (!hasEnvelope(header)) return 0;
  const r = new Reader(body);
  if (hasTracingId(header)) r.skip(16, 'tracing id');
  if (hasWarnings(header)) {
    const n = r.readShort('warnings length');
    for (let i = 0; i < n; i++) r.skip(r.readShort('warning length'), 'warning');
  }
  if (hasCustomPayload(header)) {
    const n = r.readShort('custom payload length');
    for (let i = 0; i < n; i++) {
      r.skip(r.readShort('custom payload key length'), 'custom payload key');
      const len = r.readInt('custom payload value length');
      if (len > 0) r.skip(len, 'custom payload value');
    }
  }
  return r.offset;
}

/**
 * Header flags the envelope implies for this direction: TRACING (responses, when
 * a tracing id is present), WARNING, CUSTOM_PAYLOAD.
 */
export function envelopeFlags(isResponse: boolean, env: Envelope): number {
  let flags = 0;
  if (isResponse && env.tracingId !== undefined) flags |= HeaderFlag.TRACING;
  if (env.warnings !== undefined) flags |= HeaderFlag.WARNING;
  if (env.customPayload !== undefined) flags |= HeaderFlag.CUSTOM_PAYLOAD;
  return flags;
}

/**
 * Write the envelope fields. Throws RangeError for a field the version or direction cannot
 * carry (a request tracing id, warnings on a request, custom payload or warnings before v4).
 */
export function encodeEnvelope(version: ProtocolVersion, isResponse: boolean, env: Envelope, w: Writer): void {
  if (env.tracingId !== undefined) {
    if (!isResponse) throw new RangeError('a request frame cannot carry a tracing id (set the TRACING flag instead)');
    w.writeUuid(env.tracingId);
  }
  if (env.warnings !== undefined) {
    if (!isResponse) throw new RangeError('a request frame cannot carry warnings');
    if (!atLeastV4(version)) throw new RangeError(`warnings need protocol v4+, not v${version}`);
    w.writeStringList(env.warnings);
  }
  if (env.customPayload !== undefined) {
    if (!atLeastV4(version)) throw new RangeError(`a custom payload needs protocol v4+, not v${version}`);
    w.writeBytesMap(env.customPayload);
  }
}

/** The custom payload of a request frame (v4+), or undefined when it carries none. */
export function requestCustomPayload(frame: RawFrame, codec: BodyCodec | undefined): BytesMap | undefined {
  if (!hasCustomPayload(frame)) return undefined;
  const body = plainRequestBody(frame, codec);
  return new Reader(body).readBytesMap('custom payload');
}

function plainRequestBody(frame: RawFrame, codec: BodyCodec | undefined): Buffer {
  if (!frame.isCompressed) return frame.body;
  if (!codec)
    throw new ProtocolError(
      'compression',
      'compressed frame received but no compression was negotiated at STARTUP',
      frame.header,
    );
  return codec.decompress(frame.body);
}

/**
 * A copy of a v4+ request frame with its custom payload replaced by `payload` (undefined or empty = no custom
 * payload: the CUSTOM_PAYLOAD flag is cleared). The message bytes are kept as they are; the body is compressed
 * again when the frame was. Throws RangeError for a version without custom payloads (v2/v3).
 */
export function withRequestCustomPayload(frame: RawFrame, payload: BytesMap | undefined, codec: BodyCodec | undefined): RawFrame {
  if (frame.isResponse) throw new RangeError('withRequestCustomPayload: not a request frame');
  if (!atLeastV4(frame.version)) throw new RangeError(`a custom payload needs protocol v4+, not v${frame.version}`);
  const plain = plainRequestBody(frame, codec);
  const message = plain.subarray(skipEnvelope(frame, plain));
  const keep = payload !== undefined && Object.keys(payload).length > 0;
  let body: Buffer = message;
  if (keep) {
    const w = new Writer(message.length + 64);
    w.writeBytesMap(payload);
    w.writeRaw(message);
    body = Buffer.from(w.finish());
  }
  const flags = keep ? frame.flags | HeaderFlag.CUSTOM_PAYLOAD : frame.flags & ~HeaderFlag.CUSTOM_PAYLOAD;
  const out = frame.isCompressed && codec ? codec.compress(body) : body;
  return RawFrame.fromParts(
    { version: frame.version, isResponse: false, flags, streamId: frame.streamId, opcode: frame.opcode },
    out,
  );
}
