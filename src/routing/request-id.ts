/**
 * Request-id tracing (upstream-spec-notes 4.8): which request id a QUERY/PREPARE/EXECUTE/BATCH carries to the clusters.
 *
 * - `tracing_enabled=true`: a request without an id under `tracing_request_id_key` gets one (16 random bytes,
 *   a UUID v4); an id supplied by the application is kept. With `tracing_rate_limit > 0` a token bucket (rate =
 *   burst = that many per second) must grant a token first; when it is empty the application's id is removed
 *   and no id is added.
 * - `tracing_enabled=false`: an application-supplied entry under the key is removed.
 * - Only when both control connections negotiated v4+ (as upstream) and the request itself is v4+ (a v2/v3
 *   frame has no custom payload: it is forwarded untouched, where upstream could fail to encode it).
 * The byte work is src/protocol/envelope.ts; this module only decides.
 */
import { randomUUID } from 'node:crypto';
import {
  HeaderFlag,
  atLeastV4,
  type BodyCodec,
  Opcode,
  type ProtocolVersion,
  type RawFrame,
  requestCustomPayload,
  withRequestCustomPayload,
} from '../protocol/codec';

/** Token bucket: `rate` tokens per second, at most `rate` stored (burst = rate), starts full. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = rate;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.rate, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface RequestIdSettings {
  enabled: boolean;
  /** <= 0: unlimited */
  rateLimit: number;
  key: string;
}

export interface TracedRequest {
  /** the frame to route and forward (the client's when nothing changed) */
  frame: RawFrame;
  /** hex of the request id the clusters receive, if any */
  id?: string;
  /** what was done, for tests and debug logs */
  action: 'none' | 'added' | 'kept' | 'removed';
}

const TRACED_OPCODES: ReadonlySet<number> = new Set([Opcode.QUERY, Opcode.PREPARE, Opcode.EXECUTE, Opcode.BATCH]);

export class RequestIdTracer {
  private readonly bucket: TokenBucket | undefined;
  /** requests whose application id was removed because the rate limit was reached */
  rateLimited = 0;

  constructor(
    private readonly s: RequestIdSettings,
    opts: { now?: () => number; newId?: () => Buffer } = {},
  ) {
    this.bucket = s.enabled && s.rateLimit > 0 ? new TokenBucket(s.rateLimit, opts.now) : undefined;
    if (opts.newId) this.newId = opts.newId;
  }

  private newId = (): Buffer => Buffer.from(randomUUID().replace(/-/g, ''), 'hex');

  /** False when `apply` would leave `frame` alone for sure (tracing off and no custom payload to clean): the hot path skips it. */
  concerns(frame: RawFrame): boolean {
    return this.s.enabled || (frame.flags & HeaderFlag.CUSTOM_PAYLOAD) !== 0;
  }

  /**
   * Apply the rules to one client request. `clusterVersion` = the lower of the two control connections'
   * negotiated versions.
   */
  apply(frame: RawFrame, clusterVersion: ProtocolVersion, codec: BodyCodec | undefined): TracedRequest {
    if (!TRACED_OPCODES.has(frame.opcode) || !atLeastV4(clusterVersion) || !atLeastV4(frame.version))
      return { frame, action: 'none' };
    const key = this.s.key;
    if (!this.s.enabled) {
      const payload = requestCustomPayload(frame, codec);
      if (!payload || !(key in payload)) return { frame, action: 'none' };
      const { [key]: _removed, ...rest } = payload;
      return { frame: withRequestCustomPayload(frame, rest, codec), action: 'removed' };
    }
    const payload = requestCustomPayload(frame, codec);
    const own = payload?.[key];
    if (this.bucket && !this.bucket.take()) {
      this.rateLimited++;
      if (!payload || !(key in payload)) return { frame, action: 'none' };
      const { [key]: _removed, ...rest } = payload;
      return { frame: withRequestCustomPayload(frame, rest, codec), action: 'removed' };
    }
    if (own) return { frame, id: own.toString('hex'), action: 'kept' };
    const id = this.newId();
    return {
      frame: withRequestCustomPayload(frame, { ...(payload ?? {}), [key]: id }, codec),
      id: id.toString('hex'),
      action: 'added',
    };
  }
}
