/**
 * The frame body prefix that header flags announce, before the message itself:
 *
 *   [tracing id: [uuid]]          responses only, TRACING flag (0x02); all versions
 *   [warnings: [string list]]     responses only, WARNING flag (0x08); v4+ (incl. DSE)
 *   [custom payload: [bytes map]] requests and responses, CUSTOM_PAYLOAD flag (0x04); v4+
 *
 * in that order (v5 spec 2.4.1.2; Cassandra's Message.Decoder). On a request the TRACING flag
 * only asks for tracing and adds nothing to the body. Flags a version does not define are
 * ignored. The body passed in is the decompressed one.
 */
import { HeaderFlag, ProtocolVersion, atLeastV4 } from './constants';
import type { FrameHeader } from './frame';
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
  if (hasTracingId(header)) r.readRaw(16, 'tracing id');
  if (hasWarnings(header)) {
    const n = r.readShort('warnings length');
    for (let i = 0; i < n; i++) r.readRaw(r.readShort('warning length'), 'warning');
  }
  if (hasCustomPayload(header)) {
    const n = r.readShort('custom payload length');
    for (let i = 0; i < n; i++) {
      r.readRaw(r.readShort('custom payload key length'), 'custom payload key');
      const len = r.readInt('custom payload value length');
      if (len > 0) r.readRaw(len, 'custom payload value');
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
