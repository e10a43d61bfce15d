/**
 * Which reply the client gets (upstream-spec-notes 5.1) and what the proxy learns from it (5.1 post-processing,
 * 4.4, 4.5, 5.5). Pure: the session hands in the replies, gets back the frame to write (or none).
 *
 * | ORIGIN    | TARGET  | client gets                                            |
 * |-----------|---------|--------------------------------------------------------|
 * | SUPPORTED | any     | proxy-built SUPPORTED (TARGET's options, COMPRESSION = intersection in ORIGIN's order) |
 * | success   | success | PREPARE: ORIGIN's; anything else: the primary's        |
 * | error     | error   | ORIGIN's (TARGET's when ORIGIN's is an UNPREPARED of an EXECUTE/BATCH and TARGET's is not) |
 * | error     | success | ORIGIN's error                                         |
 * | success   | error   | TARGET's error                                         |
 */
import { type ClusterName, clusterOfLabel, type FailedOn, type ForwardTarget, forCluster, pickCluster } from '../cluster';
import {
  type BodyCodec,
  ErrorCode,
  errorFrame,
  messageOf,
  Opcode,
  peekResultKindInPlace,
  type RawFrame,
  readErrorCode,
  readPreparedIds,
  readResultKind,
  readSetKeyspace,
  readUnpreparedId,
  ResultKind,
  type StringMultimap,
  supportedFrame,
  unpreparedFrame,
} from '../protocol/codec';
import type { PreparedCache, PreparedEntry } from './prepared-cache';
import { NowReplacementError, completePrepare, type PreparedNowState } from './now-replacement';
import type { PrepareInfo, Tracking } from './request-router';

/** Upstream `commonSupportOptions`: TARGET's options; COMPRESSION = intersection in ORIGIN's order, dropped if ORIGIN has none. */
export function buildSupportedOptions(origin: StringMultimap, target: StringMultimap): StringMultimap {
  const out: StringMultimap = {};
  for (const [k, v] of Object.entries(target)) {
    if (k === 'COMPRESSION') continue;
    out[k] = [...v];
  }
  const o = origin['COMPRESSION'];
  if (o !== undefined) {
    const t = new Set(target['COMPRESSION'] ?? []);
    out['COMPRESSION'] = o.filter((c) => t.has(c));
  }
  return out;
}

export function isError(f: RawFrame): boolean {
  return f.opcode === Opcode.ERROR;
}

export interface ChosenReply {
  frame: RawFrame;
  from: ClusterName;
  /** tracked writes: where they failed (metrics `proxy_failed_writes_total{failed_on}`) */
  failedOn?: FailedOn;
}

/** Spec 5.1 for a request sent to both clusters (SUPPORTED handled by the caller). */
export function chooseBothReply(origin: RawFrame, target: RawFrame, opcode: number, primary: ClusterName): ChosenReply {
  const oe = isError(origin);
  const te = isError(target);
  if (oe && te) return { frame: origin, from: 'ORIGIN', failedOn: 'both' };
  if (oe) return { frame: origin, from: 'ORIGIN', failedOn: 'origin' };
  if (te) return { frame: target, from: 'TARGET', failedOn: 'target' };
  if (opcode === Opcode.PREPARE || primary === 'ORIGIN') return { frame: origin, from: 'ORIGIN' };
  return { frame: target, from: 'TARGET' };
}

export interface AggregateInput {
  /** the client's request (version, opcode, stream id of the reply) */
  request: RawFrame;
  to: ForwardTarget;
  tracking: Tracking;
  prepare?: PrepareInfo;
  /** EXECUTE/BATCH: the statements used (TARGET UNPREPARED translation without depending on the cache) */
  prepared?: readonly PreparedEntry[];
  origin?: RawFrame;
  target?: RawFrame;
  primary: ClusterName;
  cache: PreparedCache;
  /** SUPPORTED options of both control connections (upstream-spec-notes 3.3). */
  supportedOptions: () => { origin: StringMultimap; target: StringMultimap };
  /** to read compressed reply bodies */
  codec?: BodyCodec;
}

export interface AggregateResult {
  /** frame to send to the client (stream id still to be restored by the caller); undefined = no reply */
  reply?: RawFrame;
  from?: ClusterName;
  failedOn?: FailedOn;
  /** SET_KEYSPACE reply chosen: the session's new keyspace */
  keyspace?: string;
  /** something to log (no reply, translation, ...) */
  note?: string;
  /** a cluster reply could not be read: the reason */
  problem?: string;
}

/** `messageOf` (decompressed, after the envelope), refusing a compressed reply when no compression was negotiated. */
function bodyOf(f: RawFrame, codec: BodyCodec | undefined): Buffer {
  if (f.isCompressed && !codec) throw new Error('compressed reply but no compression negotiated');
  return messageOf(f, codec);
}

/**
 * The reply of the usual case, decided from the opcodes and the result kind alone, or undefined when the request
 * needs `aggregate` (and the session's other checks): a RESULT other than SET_KEYSPACE from the cluster that
 * answers, no ERROR from any cluster, and a request that is neither PREPARE nor OPTIONS. `aggregate` would choose
 * the same frame and find nothing to record, translate, log or journal.
 */
export function usualReply(
  opcode: number,
  to: ForwardTarget,
  prepare: PrepareInfo | undefined,
  origin: RawFrame | undefined,
  target: RawFrame | undefined,
  primary: ClusterName,
): RawFrame | undefined {
  if (prepare !== undefined || opcode === Opcode.PREPARE || opcode === Opcode.OPTIONS) return undefined;
  let f: RawFrame | undefined;
  if (to === 'both') {
    if (origin === undefined || target === undefined || isError(origin) || isError(target)) return undefined;
    f = pickCluster(primary, origin, target);
  } else f = to === 'origin' ? origin : target;
  if (f === undefined) return undefined;
  const kind = peekResultKindInPlace(f);
  return kind >= 0 && kind !== ResultKind.SET_KEYSPACE ? f : undefined;
}

/**
 * Aggregate the replies of one forwarded request. For `to: 'both'` both frames must be given,
 * for 'origin'/'target' that one.
 */
export function aggregate(input: AggregateInput): AggregateResult {
  const { request, cache, codec } = input;
  let chosen: ChosenReply;
  if (input.to === 'both') {
    const o = input.origin!;
    const t = input.target!;
    if (request.opcode === Opcode.OPTIONS && o.opcode === Opcode.SUPPORTED) {
      // header copied from TARGET's response (version, flags minus compression: the body is rebuilt uncompressed)
      const opts = input.supportedOptions();
      const header = t.opcode === Opcode.SUPPORTED ? t : o;
      const frame = supportedFrame(header.version, header.streamId, buildSupportedOptions(opts.origin, opts.target));
      return { reply: frame, from: 'TARGET' };
    }
    chosen = chooseBothReply(o, t, request.opcode, input.primary);
    if (chosen.failedOn === 'both' && (request.opcode === Opcode.EXECUTE || request.opcode === Opcode.BATCH)) {
      // UNPREPARED from one cluster, another error from the other (which may have applied the write, e.g. a write
      // timeout): the client gets the other error, never UNPREPARED, which would make it re-execute on both.
      try {
        if (
          readErrorCode(bodyOf(o, codec)) === ErrorCode.UNPREPARED &&
          readErrorCode(bodyOf(t, codec)) !== ErrorCode.UNPREPARED
        ) {
          chosen = { frame: t, from: 'TARGET', failedOn: 'both' };
        }
      } catch {
        /* unreadable: ORIGIN's error as usual */
      }
    }
    if (input.tracking !== 'write') chosen.failedOn = undefined;
    // PREPARE succeeded on both: record ORIGIN id -> TARGET id
    if (input.prepare && !isError(o) && !isError(t)) {
      try {
        const ob = bodyOf(o, codec);
        const tb = bodyOf(t, codec);
        if (readResultKind(ob) === ResultKind.PREPARED && readResultKind(tb) === ResultKind.PREPARED) {
          let now: PreparedNowState | undefined;
          if (input.prepare.now) {
            // upstream-spec-notes 4.6: the client sees ORIGIN's reply without the generated variables
            const done = completePrepare(o, t, input.prepare.now, { compressor: codec });
            if (done) {
              now = done.state;
              chosen.frame = done.clientFrame;
            }
          }
          const oi = readPreparedIds(ob, request.version);
          const ti = readPreparedIds(tb, request.version);
          cache.store({
            originId: oi.id,
            targetId: ti.id,
            originResultMetadataId: oi.resultMetadataId,
            targetResultMetadataId: ti.resultMetadataId,
            query: input.prepare.query,
            keyspace: input.prepare.keyspace,
            info: input.prepare.info,
            decision: input.prepare.decision,
            now,
          });
        }
      } catch (e) {
        if (e instanceof NowReplacementError) {
          // the PREPARED variables do not match the rewritten text: nothing cached, the client gets an error
          return {
            reply: errorFrame(request.version, o.streamId, ErrorCode.INVALID, e.message),
            from: 'ORIGIN',
            problem: e.message,
          };
        }
        return { reply: chosen.frame, from: chosen.from, problem: `cannot read PREPARED results: ${(e as Error).message}` };
      }
    }
  } else {
    const from = clusterOfLabel(input.to);
    chosen = { frame: forCluster(from, input)!, from };
  }

  const out: AggregateResult = { reply: chosen.frame, from: chosen.from, failedOn: chosen.failedOn };
  const f = chosen.frame;
  try {
    if (f.opcode === Opcode.RESULT) {
      const b = bodyOf(f, codec);
      if (readResultKind(b) === ResultKind.SET_KEYSPACE) {
        out.keyspace = readSetKeyspace(b, f.version);
        if (out.keyspace === '') out.note = 'received an empty keyspace in a SET_KEYSPACE result';
      }
    } else if (f.opcode === Opcode.ERROR) {
      const b = bodyOf(f, codec);
      if (readErrorCode(b) === ErrorCode.UNPREPARED && chosen.from === 'TARGET') {
        const targetId = readUnpreparedId(b);
        const originId = input.prepared?.find((e) => e.targetId.equals(targetId))?.originId ?? cache.originIdForTarget(targetId);
        if (!originId) {
          out.reply = undefined;
          out.note = `received UNPREPARED from TARGET with prepared id ${targetId.toString('hex')} that is not in the cache: no reply sent`;
        } else {
          out.reply = unpreparedFrame(request.version, f.streamId, originId);
          out.note = `Received UNPREPARED from TARGET, generating UNPREPARED response with prepared ID ${originId.toString('hex')}`;
        }
      }
    }
  } catch (e) {
    out.problem = `cannot read the ${chosen.from} reply: ${(e as Error).message}`;
  }
  return out;
}
