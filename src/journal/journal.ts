/**
 * The one-sided write journal (extension settings `journal_dir`, `journal_max_bytes`): an append-only file
 * `<journal_dir>/journal.zdj` of the writes that one cluster applied and the other failed or timed out on
 * (format: src/protocol/journal-format.ts). Replay done markers are kept next to it in `replayed.log`
 * (written by `zdm-proxy journal replay`, read here for the metrics).
 *
 * Group commit: `append()` queues the encoded record; one flush at a time writes every queued record with one
 * write and one fdatasync, started on the next turn of the event loop after the first queued record (so a record
 * is on disk within the fsync time plus one batch: typically well under 10 ms). The caller gets a promise settled
 * once its record is durable (true) or dropped (false). Nothing ever blocks the event loop: file I/O is async, the
 * queue is bounded (`MAX_PENDING_BYTES`), and a full journal (`journal_max_bytes`) or a failing disk drops records
 * with a metric, a readiness detail and a loud log line instead of waiting.
 *
 * Opening scans the file and cuts a torn tail (a crash in the middle of an append) so that new records follow the
 * last complete one.
 */
import type { ClusterName } from '../cluster';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, ftruncateSync, existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { encodeJournalRecord, scanJournal, type JournalMeta } from '../protocol/journal-format';

export const JOURNAL_FILE = 'journal.zdj';
export const DONE_FILE = 'replayed.log';
/** Bound of the queue of records not yet written (bytes). */
export const MAX_PENDING_BYTES = 64 * 1024 * 1024;

export interface JournalObserver {
  /** a record is durable */
  committed?(failedOn: ClusterName, bytes: number): void;
  /** a record could not be journaled */
  dropped?(reason: 'full' | 'queue' | 'io'): void;
}

export interface JournalState {
  dir: string;
  bytes: number;
  maxBytes: number;
  records: number;
  full: boolean;
  failing: boolean;
  dropped: number;
}

interface Pending {
  buf: Buffer;
  failedOn: ClusterName;
  done: (ok: boolean) => void;
}

export class WriteJournal {
  private handle: FileHandle | undefined;
  private readonly opening: Promise<void>;
  /** bytes on disk (committed) */
  private bytes: number;
  private records: number;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private flushing = false;
  private scheduled = false;
  private closed = false;
  private fullLogged = false;
  private failing = false;
  dropped = 0;
  readonly path: string;

  /** Opens (creates) the journal: synchronous scan at startup, torn tail cut. Throws with a clear message. */
  constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly log: Pick<Logger, 'info' | 'warn' | 'error'>,
    private readonly observer: JournalObserver = {},
  ) {
    this.path = join(dir, JOURNAL_FILE);
    try {
      mkdirSync(dir, { recursive: true });
      const fd = openSync(this.path, 'a+');
      try {
        const size = fstatSync(fd).size;
        const scan = scanJournal(size > 0 ? readFileSync(this.path) : Buffer.alloc(0), 0, false);
        if (scan.tailBytes > 0) {
          log.warn(
            `Write journal ${this.path}: ignoring a torn tail of ${scan.tailBytes} byte(s) (${scan.tailReason}); cut at ${scan.validBytes}`,
          );
          ftruncateSync(fd, scan.validBytes);
        }
        this.bytes = scan.validBytes;
        this.records = scan.records.length;
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      throw new Error(`cannot open the write journal in journal_dir ${JSON.stringify(dir)}: ${(e as Error).message}`);
    }
    this.opening = open(this.path, 'a').then((h) => {
      this.handle = h;
    });
    this.opening.catch((e: unknown) => {
      this.failing = true;
      log.error(
        `WRITE JOURNAL FAILING: cannot open ${this.path} for appending: ${(e as Error).message}; one-sided writes are NOT journaled`,
      );
    });
    log.info(`Write journal ${this.path}: ${this.records} record(s), ${this.bytes} of ${maxBytes} bytes`);
  }

  state(): JournalState {
    return {
      dir: this.dir,
      bytes: this.bytes,
      maxBytes: this.maxBytes,
      records: this.records,
      full: this.bytes + this.pendingBytes >= this.maxBytes || this.fullLogged,
      failing: this.failing,
      dropped: this.dropped,
    };
  }

  /** Queue a record; resolves true once it is durable, false when it was dropped (full, queue bound, I/O error). */
  append(meta: JournalMeta, message: Buffer): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    const buf = encodeJournalRecord(meta, message);
    if (this.failing) return Promise.resolve(this.drop('io', meta));
    if (this.bytes + this.pendingBytes + buf.length > this.maxBytes) return Promise.resolve(this.drop('full', meta));
    if (this.pendingBytes + buf.length > MAX_PENDING_BYTES) return Promise.resolve(this.drop('queue', meta));
    return new Promise<boolean>((resolve) => {
      this.pending.push({ buf, failedOn: meta.failedOn, done: resolve });
      this.pendingBytes += buf.length;
      this.schedule();
    });
  }

  private drop(reason: 'full' | 'queue' | 'io', meta: JournalMeta): false {
    this.dropped++;
    this.observer.dropped?.(reason);
    if (reason === 'full') {
      if (!this.fullLogged) {
        this.fullLogged = true;
        this.log.error(
          `WRITE JOURNAL FULL: ${this.path} holds ${this.bytes} of journal_max_bytes=${this.maxBytes} bytes; ` +
            `one-sided writes are NOT journaled any more (replay and clear the journal, or raise journal_max_bytes). ` +
            `First write lost: ${meta.failedOn} missed ${meta.statement.slice(0, 200)}`,
        );
      }
    } else {
      this.log.error(
        `WRITE JOURNAL: a one-sided write (${meta.failedOn} missed it) was NOT journaled (${reason === 'queue' ? 'write queue full' : 'journal I/O failing'}): ${meta.statement.slice(0, 200)}`,
      );
    }
    return false;
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.pending.length === 0) return;
    this.flushing = true;
    const batch = this.pending;
    const size = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    let ok = false;
    try {
      await this.opening;
      const h = this.handle;
      if (!h) throw new Error('journal file not open');
      const data =
        batch.length === 1
          ? batch[0]!.buf
          : Buffer.concat(
              batch.map((p) => p.buf),
              size,
            );
      let off = 0;
      while (off < data.length) {
        const { bytesWritten } = await h.write(data, off, data.length - off);
        off += bytesWritten;
      }
      await h.datasync();
      ok = true;
      this.bytes += size;
      this.records += batch.length;
    } catch (e) {
      if (!this.failing)
        this.log.error(
          `WRITE JOURNAL FAILING: cannot append to ${this.path}: ${(e as Error).message}; one-sided writes are NOT journaled`,
        );
      this.failing = true;
    }
    for (const p of batch) {
      if (ok) this.observer.committed?.(p.failedOn, p.buf.length);
      else {
        this.dropped++;
        this.observer.dropped?.('io');
      }
      p.done(ok);
    }
    this.flushing = false;
    if (this.pending.length > 0) void this.flush();
  }

  /** Flush what is queued, then close the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing || this.pending.length > 0) {
      if (!this.flushing) await this.flush();
      else await new Promise((r) => setImmediate(r));
    }
    await this.opening.catch(() => undefined);
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }
}

/** Replay results counted from the done-marker file (one line per replay attempt: `<offset> <result> <to> <time>`). */
export function readReplayResults(dir: string): Record<string, number> {
  const counts: Record<string, number> = {};
  const p = join(dir, DONE_FILE);
  if (!existsSync(p)) return counts;
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch {
    return counts;
  }
  const lines = text.split('\n');
  lines.pop(); // '' after the last newline, or a torn last line (killed mid-append): ignored
  for (const line of lines) {
    const parts = line.split(' ');
    if (parts.length < 3 || !/^\d+$/.test(parts[0]!)) continue;
    counts[parts[1]!] = (counts[parts[1]!] ?? 0) + 1;
  }
  return counts;
}
