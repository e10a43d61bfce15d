/**
 * What the request path hands to the journal when a write sent to both clusters succeeded on one and failed
 * (ERROR reply) or timed out on the other: the request as sent to the failing cluster is decoded once (this
 * is the rare path), and its meta built: protocol version, keyspace, consistency, the write timestamp both
 * clusters were meant to store, the statement text (prepared statements resolved), and whether replaying it
 * would not be idempotent (counters, list appends/prepends, conditional updates).
 */
import { BatchType, Consistency, ErrorCode, Opcode, opcodeName } from '../protocol/constants';
import type { RawFrame } from '../protocol/frame';
import { messageOf } from '../protocol/frame-codec';
import { decodeMessage, type Message } from '../protocol/messages';
import type { JournalMeta } from '../protocol/journal-format';
import { readError } from '../protocol/replies';
import { inspectCached } from '../cql/inspect-cache';
import { type PreparedEntry, preparedIdOn } from '../routing/prepared-cache';
import type { ClusterName } from '../cluster';
import type { WriteJournal } from './journal';

export interface OneSidedWrite {
  /** the cluster that did not apply the write */
  failedOn: ClusterName;
  /** the request frame as sent to that cluster */
  frame: RawFrame;
  /** its ERROR reply; undefined = no reply within the timeout */
  errorReply?: RawFrame;
  timeoutMs: number;
  /** session keyspace at dispatch ('' = none) */
  keyspace: string;
  /** EXECUTE/BATCH: the prepared statements used */
  prepared?: readonly PreparedEntry[];
  codec?: { decompress(body: Buffer): Buffer };
  /** wall-clock time of dispatch (ms since the epoch, fractional) */
  dispatchedAtMs: number;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Why replaying `cql` is not idempotent, or undefined. Conservative (a set addition is listed too). */
export function nonIdempotentReason(cql: string): string | undefined {
  let lwt = false;
  try {
    lwt = inspectCached(cql).isLwt;
  } catch {
    /* the regexes below still apply */
  }
  if (lwt || /\bIF\s+(NOT\s+)?EXISTS\b/i.test(cql)) return 'conditional update (IF ...)';
  // c = c + 1, l = l + [..], l = [..] + l (counters, list appends and prepends)
  const m = /\b("?[A-Za-z_][\w]*"?)\s*=\s*\1\s*[+-]/.exec(cql) ?? /=\s*\[[^\]]*\]\s*\+\s*"?[A-Za-z_]/.exec(cql);
  if (m) return 'counter update or collection append/prepend (c = c + ...)';
  return undefined;
}

function errorText(reply: RawFrame, codec: OneSidedWrite['codec']): string {
  try {
    const { code, message } = readError(messageOf(reply, codec));
    return `${ErrorCode[code] ?? `0x${code.toString(16)}`}: ${message}`;
  } catch {
    return 'unreadable ERROR reply';
  }
}

/** Journal meta and message bytes of a one-sided write; throws when the request cannot be decoded. */
export function journalEntry(w: OneSidedWrite, now = new Date()): { meta: JournalMeta; message: Buffer } {
  const message = messageOf(w.frame, w.codec);
  const msg: Message = decodeMessage(w.frame.opcode, false, message, w.frame.version);
  const preparedById = new Map<string, PreparedEntry>();
  for (const e of w.prepared ?? []) {
    preparedById.set(hex(preparedIdOn(e, w.failedOn)), e);
  }
  const prepared: Record<string, { query: string; keyspace: string }> = {};
  const usePrepared = (id: Buffer): string => {
    const e = preparedById.get(hex(id));
    if (!e) return `<prepared ${hex(id)}>`;
    prepared[hex(id)] = { query: e.query, keyspace: e.keyspace };
    return e.query;
  };
  let consistency: Consistency;
  let ts: bigint | undefined;
  let statements: string[];
  let counterBatch = false;
  switch (msg.opcode) {
    case Opcode.QUERY:
      consistency = msg.params.consistency;
      ts = msg.params.defaultTimestamp;
      statements = [msg.query];
      break;
    case Opcode.EXECUTE:
      consistency = msg.params.consistency;
      ts = msg.params.defaultTimestamp;
      statements = [usePrepared(msg.id)];
      break;
    case Opcode.BATCH:
      consistency = msg.consistency;
      ts = msg.defaultTimestamp;
      counterBatch = msg.type === BatchType.COUNTER;
      statements = msg.children.map((c) => (c.kind === 'query' ? c.query : usePrepared(c.id)));
      break;
    default:
      throw new Error(`${opcodeName(w.frame.opcode)} is not a write the journal keeps`);
  }
  const reasons = statements.map(nonIdempotentReason).filter((r): r is string => r !== undefined);
  if (counterBatch) reasons.unshift('counter batch');
  const timestamp = ts ?? BigInt(Math.round(w.dispatchedAtMs * 1000));
  const meta: JournalMeta = {
    v: 1,
    time: now.toISOString(),
    failedOn: w.failedOn,
    error: w.errorReply ? errorText(w.errorReply, w.codec) : `no reply within ${w.timeoutMs} ms (proxy_request_timeout_ms)`,
    version: w.frame.version,
    opcode: w.frame.opcode,
    keyspace: w.keyspace,
    consistency: Consistency[consistency] ?? String(consistency),
    timestamp: timestamp.toString(),
    timestampSource: ts !== undefined ? 'request' : 'proxy',
    statement: statements.join('; '),
  };
  if (Object.keys(prepared).length > 0) meta.prepared = prepared;
  if (reasons.length > 0) meta.nonIdempotent = reasons[0];
  return { meta, message: Buffer.from(message) };
}

/**
 * Session-facing side: build the entry and append it. The session holds the client's error reply until the
 * record is durable, so that a client never learns of a failure the journal does not know; that hold is capped
 * at the request timeout (`OneSidedWrite.timeoutMs`, i.e. `proxy_request_timeout_ms`): a stalled disk never stalls
 * clients. When the cap trips the reply goes out (the record stays queued and is still written when the disk
 * catches up), with a warning and `zdm_journal_hold_capped_total`.
 */
export class JournalRecorder {
  /** times the hold of a client reply hit its cap */
  holdCapped = 0;

  constructor(
    private readonly journal: Pick<WriteJournal, 'append' | 'dropped'>,
    private readonly log: { error(msg: string): void; warn(msg: string): void },
    private readonly observer: { holdCapped?(): void } = {},
  ) {}

  /** Resolves true once durable, false when not journaled, or false after `w.timeoutMs` (the hold cap) at the latest. */
  record(w: OneSidedWrite): Promise<boolean> {
    let entry: { meta: JournalMeta; message: Buffer };
    try {
      entry = journalEntry(w);
    } catch (e) {
      this.log.error(
        `WRITE JOURNAL: a one-sided write (${w.failedOn} missed it) could not be journaled: ${(e as Error).message}`,
      );
      this.journal.dropped++;
      return Promise.resolve(false);
    }
    const durable = this.journal.append(entry.meta, entry.message);
    return new Promise<boolean>((resolve) => {
      const cap = setTimeout(() => {
        this.holdCapped++;
        this.observer.holdCapped?.();
        this.log.warn(
          `WRITE JOURNAL slow: a one-sided write (${w.failedOn} missed it) was not durable within ${w.timeoutMs} ms (proxy_request_timeout_ms); the client gets its reply now, the record is still written when the disk catches up`,
        );
        resolve(false);
      }, w.timeoutMs);
      void durable.then((ok) => {
        clearTimeout(cap);
        resolve(ok);
      });
    });
  }
}
