/**
 * UNPREPARED from one cluster only (issue 12). An EXECUTE or BATCH sent to both clusters succeeded on one and got
 * UNPREPARED from the other (that node lost the statement: restart, table dropped and recreated, cache eviction).
 * Passing the UNPREPARED to the client would make it re-prepare and re-execute on BOTH clusters, applying the write
 * twice on the side that had succeeded (a counter increment, a list append). Instead the proxy heals it itself:
 *
 *  1. re-PREPARE, on the cluster that lost it only, every prepared statement the request used (the query text and
 *     keyspace from the prepared cache entry; the now()-rewritten text when the statement had now() calls), in
 *     the keyspace of the original PREPARE (Cassandra's id is a digest of keyspace and text): on the session's
 *     connection when the session is still in that keyspace, or with the PREPARE's keyspace field (v5, DSE_V2);
 *     else (v3/v4 after a USE since, or a statement prepared with no keyspace) on a separate short-lived
 *     connection to the same node (`prepare-aside.ts`), never by switching the session's connection;
 *  2. when each PREPARED id is the one the request carried, re-send the very frame that cluster got (same values,
 *     same timestamp) to that cluster only; a changed result metadata id (v5: the table's columns changed) is
 *     stored in the prepared cache entry so that later EXECUTEs to that cluster carry the current one;
 *  3. answer the client from both outcomes (the first cluster's reply and the re-sent request's), as for any write.
 *
 * When healing is not possible (no cache entry, re-PREPARE failed, another id, UNPREPARED again) the client gets a
 * SERVER_ERROR saying the write was applied on one cluster only, never UNPREPARED: the proxy itself never makes the
 * client apply it twice. A request timing out meanwhile gets no reply, like any other.
 */
import { type ClusterName, clusterLabel, forCluster, otherCluster, pickCluster } from '../cluster';
import type { Logger } from 'pino';
import {
  atLeastV5,
  ErrorCode,
  errorFrame,
  Opcode,
  type RawFrame,
  readErrorCode,
  readPreparedIds,
  readResultKind,
  readUnpreparedId,
  ResultKind,
} from '../protocol/codec';
import { requestFrame } from '../backend/cluster-connection';
import { quoteIdentifier } from '../cql/lexer';
import { preparedNowReplacement, replaceNowCalls } from '../cql/rewrite';
import { type PreparedEntry, preparedIdOn, setResultMetadataId } from '../routing/prepared-cache';
import type { ForwardRoute, InFlight } from './request-executor';

export interface OneSidedDeps {
  /** Send a proxy-built request to one cluster; `refused` when no stream id was free (nothing sent). */
  forward(
    f: RawFrame,
    route: ForwardRoute,
    complete: (fl: InFlight) => void,
    clientStream: number,
    refused: () => void,
  ): InFlight | undefined;
  /** The message of a reply (decompressed, after its envelope). */
  body(f: RawFrame): Buffer;
  /** The session's current keyspace ('' when none). */
  keyspace(): string;
  /** PREPARE `query` in `keyspace` ('' = none) on a separate connection to the node of the session's `cluster` connection. */
  prepareAside(cluster: ClusterName, keyspace: string, query: string, version: RawFrame['version']): Promise<RawFrame>;
  log: Logger;
}

export interface HealCounters {
  /** requests healed (re-prepared and re-sent on one cluster) */
  unpreparedHealed: number;
  /** requests that could not be healed (the client got SERVER_ERROR) */
  unpreparedNotHealed: number;
}

/** The cluster that answered UNPREPARED while the other did not fail, with the id it named; else undefined. */
export function oneSidedUnprepared(
  fl: InFlight,
  body: (f: RawFrame) => Buffer,
): { cluster: ClusterName; id: Buffer } | undefined {
  const op = fl.request.opcode;
  if (fl.route.to !== 'both' || (op !== Opcode.EXECUTE && op !== Opcode.BATCH) || !fl.origin || !fl.target) return undefined;
  const oe = fl.origin.opcode === Opcode.ERROR;
  const te = fl.target.opcode === Opcode.ERROR;
  if (oe === te) return undefined;
  const lost = oe ? fl.origin : fl.target;
  try {
    const b = body(lost);
    if (readErrorCode(b) !== ErrorCode.UNPREPARED) return undefined;
    return { cluster: oe ? 'ORIGIN' : 'TARGET', id: Buffer.from(readUnpreparedId(b)) };
  } catch {
    return undefined;
  }
}

export class OneSidedUnprepared {
  constructor(
    private readonly deps: OneSidedDeps,
    private readonly counters: HealCounters,
  ) {}

  /**
   * Heal `fl` (see the file comment). `done(fl)` runs with `fl.origin`/`fl.target` holding both outcomes; `reply`
   * answers the client directly when healing is not possible.
   */
  heal(
    fl: InFlight,
    lost: { cluster: ClusterName; id: Buffer },
    done: (fl: InFlight) => void,
    reply: (fl: InFlight, f: RawFrame) => void,
  ): void {
    const { cluster } = lost;
    const other = otherCluster(cluster);
    const fail = (why: string): void => {
      this.counters.unpreparedNotHealed++;
      const msg = `the request was applied on ${other} but ${cluster} had lost the prepared statement and it could not be re-prepared there (${why}); not retried by the proxy`;
      this.deps.log.warn(`UNPREPARED from ${cluster} only (stream ${fl.clientStream}): ${msg}`);
      reply(fl, errorFrame(fl.request.version, fl.clientStream, ErrorCode.SERVER_ERROR, msg));
    };
    const idOn = (e: PreparedEntry): Buffer => preparedIdOn(e, cluster);
    const entries = (fl.route.prepared ?? []).filter((e, i, all) => all.findIndex((x) => idOn(x).equals(idOn(e))) === i);
    const sent = pickCluster(cluster, fl.originSent, fl.targetSent);
    if (!sent || !entries.some((e) => idOn(e).equals(lost.id))) {
      fail(`prepared id ${lost.id.toString('hex')} is not one the request used`);
      return;
    }
    const to = clusterLabel(cluster);
    const route: ForwardRoute = { type: 'forward', to, tracking: 'none', async: false };
    const version = fl.request.version;
    const current = this.deps.keyspace();
    let waiting = entries.length;
    let failed: string | undefined;
    let over = false; // the client got its answer (refused): later PREPARE replies change nothing
    const giveUp = (why: string): void => {
      if (over) return;
      over = true;
      fail(why);
    };
    const prepared = (e: PreparedEntry, f: RawFrame): void => {
      if (over) return;
      failed ??= this.preparedCheck(f, e, cluster, version);
      if (--waiting > 0) return;
      if (failed !== undefined) return giveUp(failed);
      over = true;
      this.resend(fl, cluster, sent, route, done, fail);
    };
    this.deps.log.info(
      `UNPREPARED from ${cluster} only (stream ${fl.clientStream}): re-preparing ${entries.length} statement(s) on ${cluster}`,
    );
    for (const e of entries) {
      const query = e.now ? replaceNowCalls(e.query, e.info, preparedNowReplacement(e.info)).query : e.query;
      if (e.keyspace !== current && !(atLeastV5(version) && e.keyspace !== '')) {
        // v3/v4 (or no keyspace at PREPARE time): only a connection in that keyspace prepares the same statement
        this.deps.prepareAside(cluster, e.keyspace, query, version).then(
          (f) => prepared(e, f),
          (err: Error) => {
            failed ??= `re-PREPARE in keyspace '${e.keyspace}' on a separate connection failed: ${err.message}`;
            if (--waiting === 0) giveUp(failed);
          },
        );
        continue;
      }
      const keyspace = atLeastV5(version) && e.keyspace ? e.keyspace : undefined;
      const prepare = requestFrame(version, { opcode: Opcode.PREPARE, query, ...(keyspace ? { keyspace } : {}) });
      const p = this.deps.forward(
        prepare,
        route,
        (r) => prepared(e, forCluster(cluster, r)!),
        fl.clientStream,
        () => giveUp(`no stream id free on ${cluster}`),
      );
      if (!p) return; // refused: the client got its answer; the PREPAREs already sent complete unheard
    }
  }

  /**
   * undefined when `f` is a PREPARED result with `e`'s id on `cluster`, else why not. A changed result metadata id
   * (v5: the table's columns changed on that cluster) is stored in `e`, the prepared cache's own entry, so that the
   * next EXECUTEs sent to `cluster` carry the current one.
   */
  private preparedCheck(f: RawFrame, e: PreparedEntry, cluster: ClusterName, version: RawFrame['version']): string | undefined {
    const id = preparedIdOn(e, cluster);
    try {
      const b = this.deps.body(f);
      if (f.opcode === Opcode.ERROR) return `PREPARE failed with error 0x${readErrorCode(b).toString(16)}`;
      const got = readPreparedIds(b, version);
      if (!got.id.equals(id)) return `re-prepared under another id ${got.id.toString('hex')}`;
      const rm = got.resultMetadataId;
      const old = pickCluster(cluster, e.originResultMetadataId, e.targetResultMetadataId);
      if (rm && old && !rm.equals(old)) {
        this.deps.log.info(
          `re-prepared on ${cluster} with a new result metadata id ${rm.toString('hex')} (was ${old.toString('hex')})`,
        );
        setResultMetadataId(e, cluster, rm);
      }
      return undefined;
    } catch (err) {
      return `unreadable PREPARE reply: ${(err as Error).message}`;
    }
  }

  private resend(
    fl: InFlight,
    cluster: ClusterName,
    sent: RawFrame,
    route: ForwardRoute,
    done: (fl: InFlight) => void,
    fail: (why: string) => void,
  ): void {
    this.deps.forward(
      sent,
      route,
      (r) => {
        const f = forCluster(cluster, r)!;
        try {
          if (f.opcode === Opcode.ERROR && readErrorCode(this.deps.body(f)) === ErrorCode.UNPREPARED)
            return fail('UNPREPARED again');
        } catch {
          /* an unreadable error goes to the client as it is */
        }
        this.counters.unpreparedHealed++;
        if (cluster === 'ORIGIN') fl.origin = f;
        else fl.target = f;
        done(fl);
      },
      fl.clientStream,
      () => fail(`no stream id free on ${cluster}`),
    );
  }
}

// ---- USE answered on one cluster only ---------------------------------------------------------------

/**
 * A request for both clusters answered SET_KEYSPACE by one and an ERROR by the other (a USE of a keyspace that
 * exists on one side only): the cluster whose connection switched keyspace; else undefined. The session then
 * puts that connection back on its previous keyspace (`useStatement`) before the client gets the error, so that
 * later unqualified statements resolve to the same keyspace on both sides.
 */
export function useSwitchedOnOneSide(fl: InFlight, body: (f: RawFrame) => Buffer): ClusterName | undefined {
  if (fl.route.to !== 'both' || fl.request.opcode !== Opcode.QUERY || !fl.origin || !fl.target) return undefined;
  const oe = fl.origin.opcode === Opcode.ERROR;
  const te = fl.target.opcode === Opcode.ERROR;
  if (oe === te) return undefined;
  const ok = oe ? fl.target : fl.origin;
  if (ok.opcode !== Opcode.RESULT) return undefined;
  try {
    if (readResultKind(body(ok)) !== ResultKind.SET_KEYSPACE) return undefined;
  } catch {
    return undefined;
  }
  return oe ? 'TARGET' : 'ORIGIN';
}

/** `USE "<keyspace>"` for a keyspace name as a SET_KEYSPACE result gives it (case kept, quotes doubled). */
export function useStatement(keyspace: string): string {
  return `USE ${quoteIdentifier(keyspace)}`;
}
