/**
 * Request classification (upstream-spec-notes 4.1): client request frame -> where it goes, how it is metered and
 * what must be rewritten for TARGET. Pure: no sockets, no replies; the client session acts on the result.
 *
 * Only what routing needs is decoded: the query text of QUERY/PREPARE (plus the v5/DSE_V2 keyspace
 * field), the prepared id of EXECUTE, the prepared children ids of BATCH. A compressed body is
 * decompressed only for those opcodes, and re-compressed only when TARGET's copy must be rewritten.
 * Everything else is forwarded as the client's bytes.
 *
 * Routing settings are read here, per request (never cached): a run-time change of
 * `primary_cluster` applies to the next request.
 */
import type { ForwardTarget } from '../cluster';
import { Opcode, ProtocolVersion, QueryFlag, atLeastV5, hasIntQueryFlags } from '../protocol/constants';
import { ProtocolError } from '../protocol/errors';
import { RawFrame } from '../protocol/frame';
import { Reader, Writer } from '../protocol/primitives';
import { skipEnvelope } from '../protocol/envelope';
import { isAscii } from 'node:buffer';
import type { Selector, StatementInfo, SystemTableName } from '../cql/inspector';
import { inspectCached } from '../cql/inspect-cache';
import { forwardDecision, resolveDecision, type ForwardDecision } from '../cql/routing';
import type { PreparedCache, PreparedEntry } from './prepared-cache';
import type { RoutingSettings } from './settings';
import { withDefaultTimestamp } from '../protocol/messages/default-timestamp';
import { PROCESS_WRITE_CLOCK, canPinTimestamp, type WriteTimestampSource } from './write-timestamps';
import {
  NowReplacementError,
  addGeneratedValues,
  rewriteBatchFrame,
  rewritePrepareFrame,
  rewriteQueryFrame,
  type NowPrepareReplacement,
  type NowRewriteOptions,
} from './now-replacement';

export type { ForwardTarget } from '../cluster';
export type Tracking = 'read' | 'write' | 'none';

export interface BodyCodec {
  decompress(body: Buffer): Buffer;
  compress(body: Buffer): Buffer;
}

export interface RouteContext {
  /** The session's current keyspace (USE), '' or undefined when none. */
  keyspace: string | undefined;
  cache: PreparedCache;
  settings: RoutingSettings;
  /** Codec of the compression negotiated at STARTUP; needed only for frames with the COMPRESSION flag. */
  codec?: BodyCodec;
  /** `replace_cql_functions`: replace `now()` in INSERT/UPDATE/DELETE/BATCH (upstream-spec-notes 4.6). */
  replaceNow?: boolean;
  /** Tests: the timeuuid source of the replacement (default: newTimeUuid). */
  generateNow?: () => Buffer;
  /** Largest decompressed body (now() rewrites of compressed frames). */
  maxBodyLength?: number;
  /** `pin_write_timestamps`: writes sent to both clusters without a client timestamp get one from the proxy. */
  pinTimestamps?: boolean;
  /** Source of pinned timestamps (default: the process clock; tests inject one). */
  writeClock?: WriteTimestampSource;
}

export interface PrepareInfo {
  query: string;
  /** Keyspace the PREPARE applies to (request field, else session keyspace), '' when none. */
  keyspace: string;
  info: StatementInfo;
  decision: ForwardDecision;
  /** `now()` calls replaced by bind markers in the text sent to the clusters (upstream-spec-notes 4.6). */
  now?: NowPrepareReplacement;
}

export type Route =
  | {
      type: 'forward';
      to: ForwardTarget;
      tracking: Tracking;
      /** also fire-and-forget to the async connector (dual reads; not implemented by the session yet) */
      async: boolean;
      /** The frame for TARGET when it differs from the client's (prepared ids rewritten); undefined = same bytes. */
      targetFrame?: RawFrame;
      /** The frame for ORIGIN when it differs from the client's (`now()` replaced); undefined = the client's frame. */
      originFrame?: RawFrame;
      /** PREPARE: what to record when both clusters answer PREPARED. */
      prepare?: PrepareInfo;
      /**
       * EXECUTE/BATCH: the prepared statements used (client-facing ORIGIN id, TARGET id), so that a TARGET
       * UNPREPARED is translated to the id the client sent even if the cache entry was evicted meanwhile.
       */
      prepared?: readonly PreparedEntry[];
      /** `USE ks` (QUERY): the keyspace named, for logs; the session keyspace is set from the SET_KEYSPACE reply. */
      useKeyspace?: string;
      /** `pin_write_timestamps`: the timestamp (µs) the proxy set in both frames; undefined when it set none. */
      writeTimestamp?: bigint;
    }
  /** AUTH_RESPONSE: the handshake sends it to the auth-primary cluster (upstream-spec-notes 3.5.1). */
  | { type: 'auth' }
  /** Answered by the proxy from the virtual tables (upstream-spec-notes 4.3). */
  | {
      type: 'intercept';
      table: SystemTableName;
      projection?: '*' | Selector[];
      /** QUERY text or the prepared query (for logs / PREPARE) */
      query: string;
      keyspace: string;
      /** PREPARE: reply with a PREPARED result and record the intercepted id */
      prepare: boolean;
    }
  /** EXECUTE/BATCH naming an id the proxy does not know: UNPREPARED with that id (upstream-spec-notes 5.5). */
  | { type: 'unprepared'; id: Buffer }
  /** Not forwarded and not answered (DSE Insights RPC, upstream-spec-notes 4.7). */
  | { type: 'drop'; reason: string };

function resolve(
  d: ForwardDecision,
  settings: RoutingSettings,
): { to: ForwardTarget | 'none'; tracking: Tracking; async: boolean } {
  const r = resolveDecision(d, settings);
  return { to: r.forwardTo, tracking: r.metrics, async: r.async };
}

/** The frame body, decompressed if the frame says it is compressed. */
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

/**
 * The message part of a request body: after the (decompressed) body's envelope, i.e. a v4+ custom payload
 * (flag 0x04). `full` is the whole plain body, `offset` where the message starts.
 */
export function messageBody(frame: RawFrame, codec: BodyCodec | undefined): { full: Buffer; offset: number; msg: Buffer } {
  const full = plainBody(frame, codec);
  const offset = skipEnvelope(frame.header, full);
  return { full, offset, msg: offset === 0 ? full : full.subarray(offset) };
}

/** A whole plain body: the envelope of `m` (kept byte for byte) followed by a new message. */
export function withEnvelope(m: { full: Buffer; offset: number }, msg: Buffer): Buffer {
  return m.offset === 0 ? msg : Buffer.concat([m.full.subarray(0, m.offset), msg]);
}

/** A frame with the same header (flags kept) and a new plain body, compressed again if the original was. */
export function rebuildFrame(frame: RawFrame, body: Buffer, codec: BodyCodec | undefined): RawFrame {
  const out = frame.isCompressed && codec ? codec.compress(body) : body;
  return RawFrame.fromParts(
    {
      version: frame.version,
      isResponse: frame.header.isResponse,
      flags: frame.flags,
      streamId: frame.streamId,
      opcode: frame.opcode,
    },
    out,
  );
}

// ---- peeks ------------------------------------------------------------------------------------

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

/** EXECUTE body with another prepared id. */
export function replaceExecuteId(body: Buffer, id: Buffer): Buffer {
  const r = new Reader(body);
  r.readShortBytes('prepared id');
  const w = new Writer(body.length + id.length);
  w.writeShortBytes(id).writeRaw(body.subarray(r.offset));
  return Buffer.from(w.finish());
}

/**
 * v5/DSE_V2 EXECUTE (`<id><result_metadata_id><params>`) with another prepared id, and another result
 * metadata id when the client's equals `from` (the ORIGIN one); anything else is copied byte for byte.
 */
export function replaceExecuteIdsV5(
  body: Buffer,
  id: Buffer,
  resultMetadataId: { from: Buffer; to: Buffer } | undefined,
): Buffer {
  const r = new Reader(body);
  r.readShortBytes('prepared id');
  const rmStart = r.offset;
  const rm = r.readShortBytes('result metadata id');
  const useNew = resultMetadataId !== undefined && Buffer.compare(rm, resultMetadataId.from) === 0;
  const w = new Writer(body.length + id.length + 16);
  w.writeShortBytes(id);
  if (useNew) w.writeShortBytes(resultMetadataId.to);
  else w.writeRaw(body.subarray(rmStart, r.offset));
  w.writeRaw(body.subarray(r.offset));
  return Buffer.from(w.finish());
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

/** The EXECUTE body for TARGET (its prepared id, and its result metadata id on v5/DSE_V2), or undefined when identical. */
export function executeBodyForTarget(body: Buffer, entry: PreparedEntry, version: ProtocolVersion): Buffer | undefined {
  if (atLeastV5(version)) {
    const rm =
      entry.originResultMetadataId &&
      entry.targetResultMetadataId &&
      !entry.originResultMetadataId.equals(entry.targetResultMetadataId)
        ? { from: entry.originResultMetadataId, to: entry.targetResultMetadataId }
        : undefined;
    if (!rm && entry.targetId.equals(entry.originId)) return undefined;
    return replaceExecuteIdsV5(body, entry.targetId, rm);
  }
  return entry.targetId.equals(entry.originId) ? undefined : replaceExecuteId(body, entry.targetId);
}

function nowOptions(ctx: RouteContext): NowRewriteOptions {
  return { compressor: ctx.codec, maxBodyLength: ctx.maxBodyLength, generate: ctx.generateNow };
}

/**
 * `replace_cql_functions`: a statement sent to both clusters that calls a non-deterministic function
 * the proxy cannot locate (a text it cannot parse) would get a different value on each cluster:
 * refused with a clear error instead (the client gets ERROR Invalid, nothing is sent).
 */
function refuseUnpinned(info: StatementInfo): void {
  if (info.unpinnedCall === undefined) return;
  throw new NowReplacementError(
    `replace_cql_functions: ${info.unpinnedCall}() appears in a statement the proxy cannot parse, so it cannot give Origin and Target the same value; ` +
      'write it as a plain INSERT/UPDATE/DELETE/BATCH or bind the value',
  );
}

// ---- pinned write timestamps ------------------------------------------------------------------

/** A BATCH is pinned unless one of its statements is conditional (prepared children: their cached info). */
function batchCanPin(children: readonly BatchChildRef[], entries: ReadonlyMap<string, PreparedEntry>): boolean {
  for (const c of children) {
    const info = c.kind === 'query' ? inspectCached(c.query ?? '') : entries.get(c.id!.toString('hex'))?.info;
    if (info?.isLwt) return false;
  }
  return true;
}

/**
 * A write going to both clusters without a client timestamp: ORIGIN's and TARGET's frames get the
 * SAME proxy timestamp (`pin_write_timestamps`). Nothing changes for a request with a client
 * timestamp, for protocol v2, or a route not sent to both clusters.
 */
function pinWriteTimestamp(route: Extract<Route, { type: 'forward' }>, frame: RawFrame, ctx: RouteContext): void {
  if (route.to !== 'both') return;
  const origin = route.originFrame ?? frame;
  const om = messageBody(origin, ctx.codec);
  let micros: bigint | undefined;
  const stamp = (f: RawFrame, m: { full: Buffer; offset: number; msg: Buffer }): RawFrame | undefined => {
    const body = withDefaultTimestamp(
      f.opcode,
      m.msg,
      f.version,
      () => (micros ??= (ctx.writeClock ?? PROCESS_WRITE_CLOCK).next()),
    );
    return body ? rebuildFrame(f, withEnvelope(m, body), ctx.codec) : undefined;
  };
  const o = stamp(origin, om);
  if (!o) return; // the client's own timestamp (or v2): left as it is
  const target = route.targetFrame;
  route.originFrame = o;
  route.writeTimestamp = micros;
  route.targetFrame = target ? (stamp(target, messageBody(target, ctx.codec)) ?? target) : o.withStreamId(o.streamId);
}

// ---- the router ----------------------------------------------------------------------------------

function fromDecision(d: ForwardDecision, ctx: RouteContext, text: { query: string; keyspace: string }, prepare: boolean): Route {
  if (d.kind === 'intercept') {
    return { type: 'intercept', table: d.table, projection: d.projection, query: text.query, keyspace: text.keyspace, prepare };
  }
  if (d.kind === 'drop') return { type: 'drop', reason: d.reason };
  const r = resolve(d, ctx.settings);
  return {
    type: 'forward',
    to: r.to as ForwardTarget,
    tracking: r.tracking,
    async: r.async,
    useKeyspace: d.kind === 'use' ? d.keyspace : undefined,
  };
}

/**
 * Classify one client request. Throws ProtocolError for a body that cannot be read where routing
 * must look inside (the session answers/logs it; upstream-spec-notes 5.8 item 6).
 */
export function routeRequest(frame: RawFrame, ctx: RouteContext): Route {
  switch (frame.opcode) {
    case Opcode.STARTUP:
    case Opcode.REGISTER:
      return { type: 'forward', to: 'both', tracking: 'none', async: false };
    case Opcode.OPTIONS:
      return { type: 'forward', to: 'both', tracking: 'none', async: ctx.settings.readMode === 'DUAL_ASYNC_ON_SECONDARY' };
    case Opcode.AUTH_RESPONSE:
      return { type: 'auth' };
    case Opcode.QUERY: {
      const { query, keyspace } = peekQuery(messageBody(frame, ctx.codec).msg, frame.version);
      const ks = keyspace || ctx.keyspace || '';
      const info = inspectCached(query); // frozen, shared: never modified
      const d = forwardDecision(info, ks);
      const route = fromDecision(d, ctx, { query, keyspace: ks }, false);
      if (ctx.replaceNow && route.type === 'forward' && route.to === 'both') refuseUnpinned(info);
      if (ctx.replaceNow && info.functionCalls.length > 0 && route.type === 'forward') {
        const rewritten = rewriteQueryFrame(frame, info, nowOptions(ctx));
        if (rewritten) {
          route.originFrame = rewritten;
          route.targetFrame = rewritten.withStreamId(rewritten.streamId);
        }
      }
      if (ctx.pinTimestamps && route.type === 'forward' && canPinTimestamp(info)) pinWriteTimestamp(route, frame, ctx);
      return route;
    }
    case Opcode.PREPARE: {
      const { query, keyspace } = peekPrepare(messageBody(frame, ctx.codec).msg, frame.version);
      const ks = keyspace || ctx.keyspace || '';
      const info = inspectCached(query); // frozen, shared: never modified
      const d = forwardDecision(info, ks);
      if (d.kind === 'intercept') return fromDecision(d, ctx, { query, keyspace: ks }, true);
      if (d.kind === 'drop') return { type: 'drop', reason: d.reason };
      // Always both clusters (upstream-spec-notes 4.5); async only for what the statement itself would send async.
      const r = resolve(d, ctx.settings);
      const route: Route = {
        type: 'forward',
        to: 'both',
        tracking: 'none',
        async: r.async,
        prepare: { query, keyspace: ks, info, decision: d },
      };
      if (ctx.replaceNow && resolveDecision(d, ctx.settings).forwardTo === 'both') refuseUnpinned(info);
      if (ctx.replaceNow && info.functionCalls.length > 0) {
        const rewritten = rewritePrepareFrame(frame, info, nowOptions(ctx));
        if (rewritten) {
          route.originFrame = rewritten.frame;
          route.targetFrame = rewritten.frame.withStreamId(rewritten.frame.streamId);
          route.prepare!.now = rewritten.replacement;
        }
      }
      return route;
    }
    case Opcode.EXECUTE: {
      const m = messageBody(frame, ctx.codec);
      const body = m.msg;
      const id = peekExecuteId(body);
      const entry = ctx.cache.get(id);
      if (!entry) {
        const ic = ctx.cache.getIntercepted(id);
        if (ic) {
          return {
            type: 'intercept',
            table: ic.decision.table,
            projection: ic.decision.projection,
            query: ic.query,
            keyspace: ic.keyspace,
            prepare: false,
          };
        }
        return { type: 'unprepared', id: Buffer.from(id) };
      }
      const r = fromDecision(entry.decision, ctx, { query: entry.query, keyspace: entry.keyspace }, false);
      if (r.type === 'forward') {
        r.prepared = [entry];
        if (entry.now && ctx.replaceNow) {
          // generated now() values: the same ones for ORIGIN and TARGET, TARGET's copy with its ids
          const pair = addGeneratedValues(frame, entry.now, { ...nowOptions(ctx), targetId: entry.targetId });
          r.originFrame = pair.origin;
          const tm = atLeastV5(frame.version) ? messageBody(pair.target, ctx.codec) : undefined;
          const tb = tm ? executeBodyForTarget(tm.msg, entry, frame.version) : undefined;
          r.targetFrame = tm && tb ? rebuildFrame(pair.target, withEnvelope(tm, tb), ctx.codec) : pair.target;
        } else if (r.to !== 'origin' || r.async) {
          const targetBody = executeBodyForTarget(body, entry, frame.version);
          if (targetBody) r.targetFrame = rebuildFrame(frame, withEnvelope(m, targetBody), ctx.codec);
        }
        if (ctx.pinTimestamps && canPinTimestamp(entry.info)) pinWriteTimestamp(r, frame, ctx);
      }
      return r;
    }
    case Opcode.BATCH: {
      const m = messageBody(frame, ctx.codec);
      const body = m.msg;
      const { children } = peekBatch(body, frame.version);
      const entries = new Map<string, PreparedEntry>();
      let rewrite = false;
      for (const c of children) {
        if (c.kind !== 'prepared') continue;
        const e = ctx.cache.get(c.id!);
        if (!e) return { type: 'unprepared', id: Buffer.from(c.id!) };
        entries.set(c.id!.toString('hex'), e);
        if (!e.targetId.equals(e.originId)) rewrite = true;
      }
      const route: Route = { type: 'forward', to: 'both', tracking: 'write', async: false, prepared: [...entries.values()] };
      const pin = ctx.pinTimestamps === true && batchCanPin(children, entries);
      if (ctx.replaceNow) {
        const pair = rewriteBatchFrame(
          frame,
          (id) => {
            const e = entries.get(id.toString('hex'));
            return e ? { targetId: e.targetId, now: e.now } : undefined;
          },
          nowOptions(ctx),
        );
        if (pair) {
          route.originFrame = pair.origin;
          route.targetFrame = pair.target;
          if (pin) pinWriteTimestamp(route, frame, ctx);
          return route;
        }
      }
      if (rewrite) {
        const newBody = replaceBatchIds(body, children, (id) => entries.get(id.toString('hex'))!.targetId);
        route.targetFrame = rebuildFrame(frame, withEnvelope(m, newBody), ctx.codec);
      }
      if (pin) pinWriteTimestamp(route, frame, ctx);
      return route;
    }
    default:
      // Any other opcode (e.g. DSE REVISE_REQUEST): both clusters, untracked (upstream-spec-notes 4.1).
      return { type: 'forward', to: 'both', tracking: 'none', async: ctx.settings.readMode === 'DUAL_ASYNC_ON_SECONDARY' };
  }
}
