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
import {
  atLeastV5,
  type BatchChildRef,
  type BodyCodec,
  Opcode,
  type ExecutePeek,
  type OpenedBody,
  openRequestBody,
  peekBatch,
  peekExecuteId,
  peekExecuteInPlace,
  peekPrepare,
  peekQuery,
  ProtocolVersion,
  type RawFrame,
  rebuildFrame,
  replaceBatchIds,
  type RequestEdits,
  requestLayout,
  spliceRequest,
  takesTimestamp,
  withDefaultTimestampFrame,
  withEnvelope,
} from '../protocol/codec';
import type { Selector, StatementInfo, SystemTableName } from '../cql/inspector';
import { inspectCached } from '../cql/inspect-cache';
import { forwardDecision, resolveDecision, type ForwardDecision } from '../cql/routing';
import { preparedIdKey as idKey, type PreparedCache, type PreparedEntry } from './prepared-cache';
import type { RoutingSettings } from './settings';
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

export type Tracking = 'read' | 'write' | 'none';

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

/**
 * What TARGET's copy of an EXECUTE changes (its prepared id, and its result metadata id on v5/DSE_V2), or
 * undefined when it is the client's bytes.
 */
export function targetExecuteEdits(entry: PreparedEntry, version: ProtocolVersion): RequestEdits | undefined {
  // memoized on the entry (its ids never change): no id comparison per EXECUTE
  if (atLeastV5(version)) {
    if (entry.editsV5 === undefined) entry.editsV5 = executeEdits(entry, version) ?? null;
    return entry.editsV5 ?? undefined;
  }
  if (entry.editsBelowV5 === undefined) entry.editsBelowV5 = executeEdits(entry, version) ?? null;
  return entry.editsBelowV5 ?? undefined;
}

function executeEdits(entry: PreparedEntry, version: ProtocolVersion): RequestEdits | undefined {
  if (atLeastV5(version)) {
    const rm =
      entry.originResultMetadataId &&
      entry.targetResultMetadataId &&
      !entry.originResultMetadataId.equals(entry.targetResultMetadataId)
        ? { from: entry.originResultMetadataId, to: entry.targetResultMetadataId }
        : undefined;
    if (!rm && entry.targetId.equals(entry.originId)) return undefined;
    return { preparedId: entry.targetId, resultMetadataId: rm };
  }
  return entry.targetId.equals(entry.originId) ? undefined : { preparedId: entry.targetId };
}

function nowOptions(ctx: RouteContext): NowRewriteOptions {
  return { compressor: ctx.codec, generate: ctx.generateNow };
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
    const info = c.kind === 'query' ? inspectCached(c.query ?? '') : entries.get(idKey(c.id!))?.info;
    if (info?.isLwt) return false;
  }
  return true;
}

/**
 * A write going to both clusters without a client timestamp: ORIGIN's and TARGET's frames get the
 * SAME proxy timestamp (`pin_write_timestamps`). Nothing changes for a request with a client
 * timestamp, for protocol v2, or a route not sent to both clusters. (QUERY and EXECUTE without a
 * now() rewrite take the one-pass path in `routeRequest`; this one serves the rewritten frames and BATCH.)
 */
function pinWriteTimestamp(route: Extract<Route, { type: 'forward' }>, frame: RawFrame, ctx: RouteContext): void {
  if (route.to !== 'both') return;
  const origin = route.originFrame ?? frame;
  let micros: bigint | undefined;
  const next = (): bigint => (micros ??= (ctx.writeClock ?? PROCESS_WRITE_CLOCK).next());
  const o = withDefaultTimestampFrame(origin, next, ctx.codec);
  if (!o) return; // the client's own timestamp (or v2): left as it is
  const target = route.targetFrame;
  route.originFrame = o;
  route.writeTimestamp = micros;
  route.targetFrame = target ? (withDefaultTimestampFrame(target, next, ctx.codec) ?? target) : o.withStreamId(o.streamId);
}

/**
 * QUERY / EXECUTE without a now() rewrite: ORIGIN's frame (the client's bytes, or a copy with the pinned
 * timestamp) and TARGET's (its ids and the same timestamp), each built in one pass.
 * `targetEdits` undefined and no timestamp: both clusters get the client's bytes (nothing set on the route). `m`: the
 * opened body when the caller has it; else it is opened here, only when something is spliced.
 */
function spliceForward(
  route: Extract<Route, { type: 'forward' }>,
  frame: RawFrame,
  ctx: RouteContext,
  pin: boolean,
  targetEdits: RequestEdits | undefined,
  m: OpenedBody | undefined,
): void {
  pin &&= route.to === 'both';
  if (!pin && !targetEdits) return;
  m ??= openRequestBody(frame, ctx.codec); // opened only now, when something is spliced
  const layout = requestLayout(frame.opcode, m.msg, frame.version, pin);
  let timestamp: bigint | undefined;
  if (pin && takesTimestamp(layout)) {
    timestamp = (ctx.writeClock ?? PROCESS_WRITE_CLOCK).next();
    route.writeTimestamp = timestamp;
    route.originFrame = spliceRequest(frame, m, layout, { timestamp }, ctx.codec);
  }
  if (targetEdits) {
    route.targetFrame = spliceRequest(frame, m, layout, { ...targetEdits, timestamp }, ctx.codec);
  } else if (route.originFrame) {
    // the same bytes for both clusters: a copy (each send rewrites its stream id in place), not a second splice
    route.targetFrame = route.originFrame.withStreamId(route.originFrame.streamId);
  }
}

// ---- the router ----------------------------------------------------------------------------------

function fromDecision(d: ForwardDecision, ctx: RouteContext, text: { query: string; keyspace: string }, prepare: boolean): Route {
  if (d.kind === 'intercept') {
    return { type: 'intercept', table: d.table, projection: d.projection, query: text.query, keyspace: text.keyspace, prepare };
  }
  if (d.kind === 'drop') return { type: 'drop', reason: d.reason };
  const r = resolveDecision(d, ctx.settings);
  // every field a forward route can get, set now: one object shape on the request path
  return {
    type: 'forward',
    to: r.forwardTo as ForwardTarget,
    tracking: r.metrics,
    async: r.async,
    useKeyspace: d.kind === 'use' ? d.keyspace : undefined,
    targetFrame: undefined,
    originFrame: undefined,
    prepared: undefined,
    writeTimestamp: undefined,
  };
}

/** where `peekExecuteInPlace` leaves what it read (the router runs on one thread, one request at a time) */
const EXECUTE_PEEK: ExecutePeek = { idStart: 0, idEnd: 0, hasTimestamp: false };

/**
 * An EXECUTE of a cached statement. `clientTimestamp`: the client's timestamp was seen in place (nothing to pin;
 * spliceForward would find the same in the parameters). `m`: the opened body, when it already was.
 */
function routeExecute(
  frame: RawFrame,
  ctx: RouteContext,
  entry: PreparedEntry,
  clientTimestamp: boolean,
  m: OpenedBody | undefined,
): Route {
  const r = fromDecision(entry.decision, ctx, entry, false);
  if (r.type !== 'forward') return r;
  r.prepared = entry.asList ??= [entry];
  if (entry.now && ctx.replaceNow) {
    // generated now() values: the same ones for ORIGIN and TARGET, TARGET's copy with its ids
    const pair = addGeneratedValues(frame, entry.now, { ...nowOptions(ctx), targetId: entry.targetId });
    r.originFrame = pair.origin;
    // v5/DSE_V2: TARGET's result metadata id too (addGeneratedValues set its prepared id)
    const edits = atLeastV5(frame.version) ? targetExecuteEdits(entry, frame.version) : undefined;
    const tm = edits ? openRequestBody(pair.target, ctx.codec) : undefined;
    r.targetFrame =
      (tm && spliceRequest(pair.target, tm, requestLayout(Opcode.EXECUTE, tm.msg, frame.version, false), edits!, ctx.codec)) ||
      pair.target;
    if (ctx.pinTimestamps && canPinTimestamp(entry.info)) pinWriteTimestamp(r, frame, ctx);
    return r;
  }
  const edits = r.to !== 'origin' || r.async ? targetExecuteEdits(entry, frame.version) : undefined;
  const pin = ctx.pinTimestamps === true && !clientTimestamp && canPinTimestamp(entry.info);
  spliceForward(r, frame, ctx, pin, edits, m);
  return r;
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
      const m = openRequestBody(frame, ctx.codec);
      const { query, keyspace } = peekQuery(m.msg, frame.version);
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
      if (ctx.pinTimestamps && route.type === 'forward' && canPinTimestamp(info)) {
        if (route.originFrame) pinWriteTimestamp(route, frame, ctx);
        else spliceForward(route, frame, ctx, true, undefined, m);
      }
      return route;
    }
    case Opcode.PREPARE: {
      const { query, keyspace } = peekPrepare(openRequestBody(frame, ctx.codec).msg, frame.version);
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
      // The usual EXECUTE is read from the frame's own bytes: its id looked up in place, its client-timestamp
      // flag peeked; the body is opened only when that cannot be done (compressed, a custom payload, cut short),
      // for an id not found in place (intercepted, unknown), or when a splice needs it (spliceForward).
      const p = EXECUTE_PEEK;
      const found = peekExecuteInPlace(frame, p) ? ctx.cache.getAt(frame.bytes, p.idStart, p.idEnd) : undefined;
      if (found) return routeExecute(frame, ctx, found, p.hasTimestamp, undefined);
      const m = openRequestBody(frame, ctx.codec);
      const id = peekExecuteId(m.msg);
      const entry = ctx.cache.get(id);
      if (entry) return routeExecute(frame, ctx, entry, false, m);
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
    case Opcode.BATCH: {
      const m = openRequestBody(frame, ctx.codec);
      const body = m.msg;
      const { children } = peekBatch(body, frame.version);
      const entries = new Map<string, PreparedEntry>();
      let rewrite = false;
      for (const c of children) {
        if (c.kind !== 'prepared') continue;
        const e = ctx.cache.get(c.id!);
        if (!e) return { type: 'unprepared', id: Buffer.from(c.id!) };
        entries.set(idKey(c.id!), e);
        if (!e.targetId.equals(e.originId)) rewrite = true;
      }
      const route: Route = { type: 'forward', to: 'both', tracking: 'write', async: false, prepared: [...entries.values()] };
      const pin = ctx.pinTimestamps === true && batchCanPin(children, entries);
      if (ctx.replaceNow) {
        const pair = rewriteBatchFrame(
          frame,
          (id) => {
            const e = entries.get(idKey(id));
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
        const newBody = replaceBatchIds(body, children, (id) => entries.get(idKey(id))!.targetId);
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
