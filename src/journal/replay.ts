/**
 * Replay of the write journal (`zdm-proxy journal replay --to origin|target`): each record whose write the
 * chosen cluster missed is sent to it again, with the write timestamp both clusters were meant to store set as
 * the request's default timestamp (USING TIMESTAMP semantics: a newer value already there wins, so a replay
 * never overwrites newer data and replaying twice changes nothing). Records are marked done in
 * `<journal_dir>/replayed.log` (one line per attempt: `<offset> <result> <to> <time>`), so an interrupted replay
 * resumes where it stopped. Non-idempotent statements (counters, list appends/prepends, conditional updates)
 * are listed and skipped unless forced; forced, they are sent without a timestamp (Cassandra refuses one).
 *
 * Connections: one per protocol version found in the journal, to the first contact point that answers, with
 * the configured credentials and TLS; a prepared statement is PREPAREd again (with its keyspace) before its
 * first EXECUTE on that connection, and the id of the reply used.
 */
import { type ClusterName, forCluster, PerCluster } from '../cluster';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { ProxyConfig } from '../config/types';
import { ClusterConnection, decodeResponse, requestFrame } from '../backend/cluster-connection';
import { runAuthRounds } from '../backend/authenticator';
import { clusterTlsOptions } from '../tls/cluster';
import { ErrorCode, Opcode, ProtocolVersion, ResultKind } from '../protocol/constants';
import { decodeMessage, type RequestMessage } from '../protocol/messages';
import { scanJournal, type JournalRecord, type ScanResult } from '../protocol/journal-format';
import { quoteIdentifier } from '../cql/lexer';
import { DONE_FILE, JOURNAL_FILE } from './journal';

export type ReplayResult = 'applied' | 'failed' | 'skipped';

export interface JournalContents extends ScanResult {
  path: string;
  /** offsets already replayed (result 'applied') per cluster */
  done: PerCluster<Set<number>>;
}

/** Read the journal and the done markers (safe while the proxy appends: an incomplete tail is ignored). */
export function readJournal(dir: string): JournalContents {
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) throw new Error(`no journal at ${path} (journal_dir ${JSON.stringify(dir)})`);
  const scan = scanJournal(readFileSync(path));
  const done = PerCluster.of(() => new Set<number>());
  const donePath = join(dir, DONE_FILE);
  if (existsSync(donePath)) {
    const lines = readFileSync(donePath, 'utf8').split('\n');
    lines.pop(); // '' or a torn last line
    for (const line of lines) {
      const [off, result, to] = line.split(' ');
      if (result === 'applied' && (to === 'ORIGIN' || to === 'TARGET') && /^\d+$/.test(off ?? '')) done.get(to).add(Number(off));
    }
  }
  return { ...scan, path, done };
}

interface Conn {
  conn: ClusterConnection;
  version: ProtocolVersion;
  keyspace: string;
  /** journal id (hex) -> id on this connection (after PREPARE), with the v5 result metadata id */
  prepared: Map<string, { id: Buffer; resultMetadataId?: Buffer }>;
}

const REQUEST_TIMEOUT_MS = 10_000;

class ClusterSender {
  private readonly conns = new Map<number, Promise<Conn>>();
  private readonly log = pino({ level: 'silent' });

  constructor(
    private readonly config: ProxyConfig,
    private readonly cluster: ClusterName,
  ) {}

  private async open(version: ProtocolVersion): Promise<Conn> {
    const c = forCluster(this.cluster, this.config);
    const errors: string[] = [];
    for (const host of c.contactPoints) {
      let conn: ClusterConnection | undefined;
      try {
        conn = await ClusterConnection.connect({
          cluster: this.cluster,
          endpoint: { host, port: c.port },
          connectTimeoutMs: c.connectionTimeoutMs,
          tls: clusterTlsOptions(c),
          maxStreamIds: 128,
          maxBodyLength: this.config.maxFrameSizeBytes,
          logger: this.log,
          retry: false,
        });
        const reply = await conn.request(
          requestFrame(version, { opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0' } }),
          REQUEST_TIMEOUT_MS,
        );
        if (reply.opcode === Opcode.AUTHENTICATE) {
          const auth = decodeResponse(reply);
          await runAuthRounds(conn, {
            version,
            authenticatorClass: auth.opcode === Opcode.AUTHENTICATE ? auth.authenticator : '',
            credentials: { username: c.username, password: c.password },
            timeoutMs: REQUEST_TIMEOUT_MS,
          });
        } else if (reply.opcode !== Opcode.READY) {
          throw new Error(describeReply(reply));
        }
        return { conn, version, keyspace: '', prepared: new Map() };
      } catch (e) {
        conn?.close('replay: handshake failed');
        errors.push(`${host}:${c.port}: ${(e as Error).message}`);
      }
    }
    throw new Error(`cannot connect to ${this.cluster} (${errors.join('; ')})`);
  }

  private connection(version: ProtocolVersion): Promise<Conn> {
    let p = this.conns.get(version);
    if (!p) {
      p = this.open(version);
      this.conns.set(version, p);
      p.catch(() => this.conns.delete(version));
    }
    return p;
  }

  private async call(c: Conn, msg: RequestMessage) {
    const reply = await c.conn.request(requestFrame(c.version, msg), REQUEST_TIMEOUT_MS);
    return decodeResponse(reply);
  }

  private async use(c: Conn, keyspace: string): Promise<void> {
    if (!keyspace || c.keyspace === keyspace) return;
    const r = await this.call(c, {
      opcode: Opcode.QUERY,
      query: `USE ${quoteIdentifier(keyspace)}`,
      params: { consistency: 1 },
    } as RequestMessage);
    if (r.opcode === Opcode.ERROR) throw new Error(`USE ${keyspace}: ${ErrorCode[r.code] ?? r.code}: ${r.message}`);
    c.keyspace = keyspace;
  }

  private async prepare(c: Conn, jid: string, rec: JournalRecord): Promise<{ id: Buffer; resultMetadataId?: Buffer }> {
    const known = c.prepared.get(jid);
    if (known) return known;
    const p = rec.meta.prepared?.[jid];
    if (!p) throw new Error(`prepared statement ${jid} has no query text in the journal`);
    await this.use(c, p.keyspace);
    const r = await this.call(c, { opcode: Opcode.PREPARE, query: p.query } as RequestMessage);
    if (r.opcode === Opcode.ERROR) throw new Error(`PREPARE ${p.query}: ${ErrorCode[r.code] ?? r.code}: ${r.message}`);
    if (r.opcode !== Opcode.RESULT || r.kind !== ResultKind.PREPARED) throw new Error(`PREPARE ${p.query}: unexpected reply`);
    const entry = { id: Buffer.from(r.id), resultMetadataId: r.resultMetadataId ? Buffer.from(r.resultMetadataId) : undefined };
    c.prepared.set(jid, entry);
    return entry;
  }

  /** Send one record; resolves undefined when applied, else the error. */
  async send(rec: JournalRecord, withTimestamp: boolean): Promise<string | undefined> {
    const version = rec.meta.version as ProtocolVersion;
    const c = await this.connection(version);
    for (let attempt = 0; attempt < 2; attempt++) {
      const msg = decodeMessage(rec.meta.opcode, false, rec.message, version) as RequestMessage;
      const ts = BigInt(rec.meta.timestamp);
      const timestamps = withTimestamp && version >= ProtocolVersion.V3;
      if (msg.opcode === Opcode.EXECUTE) {
        const p = await this.prepare(c, msg.id.toString('hex'), rec);
        msg.id = p.id;
        if (msg.resultMetadataId !== undefined && p.resultMetadataId) msg.resultMetadataId = p.resultMetadataId;
        if (timestamps) msg.params.defaultTimestamp ??= ts;
      } else if (msg.opcode === Opcode.QUERY) {
        if (msg.params.keyspace === undefined) await this.use(c, rec.meta.keyspace);
        if (timestamps) msg.params.defaultTimestamp ??= ts;
      } else if (msg.opcode === Opcode.BATCH) {
        for (const child of msg.children)
          if (child.kind === 'prepared') child.id = (await this.prepare(c, child.id.toString('hex'), rec)).id;
        if (msg.keyspace === undefined) await this.use(c, rec.meta.keyspace);
        if (timestamps) msg.defaultTimestamp ??= ts;
      } else {
        return `opcode ${rec.meta.opcode} is not a write`;
      }
      const r = await this.call(c, msg);
      if (r.opcode === Opcode.RESULT) return undefined;
      if (r.opcode === Opcode.ERROR) {
        if (r.code === ErrorCode.UNPREPARED && attempt === 0) {
          c.prepared.clear(); // the node forgot them: prepare again
          continue;
        }
        return `${ErrorCode[r.code] ?? r.code}: ${r.message}`;
      }
      return `unexpected reply opcode ${r.opcode}`;
    }
    return 'UNPREPARED twice';
  }

  close(): void {
    for (const p of this.conns.values())
      void p.then(
        (c) => c.conn.close('replay done'),
        () => undefined,
      );
    this.conns.clear();
  }
}

function describeReply(f: import('../protocol/frame').RawFrame): string {
  try {
    const m = decodeResponse(f);
    if (m.opcode === Opcode.ERROR) return `${ErrorCode[m.code] ?? m.code}: ${m.message}`;
  } catch {
    /* below */
  }
  return `unexpected reply (opcode ${f.opcode})`;
}

export interface ReplayOptions {
  config: ProxyConfig;
  to: ClusterName;
  dryRun?: boolean;
  force?: boolean;
  onRecord?: (rec: JournalRecord, result: ReplayResult | 'done' | 'would-apply', detail?: string) => void;
  onProgress?: (handled: number, total: number) => void;
}

export interface ReplaySummary {
  /** records the cluster missed */
  total: number;
  alreadyDone: number;
  applied: number;
  failed: number;
  skipped: number;
  wouldApply: number;
  tail: string;
}

export async function replayJournal(opts: ReplayOptions): Promise<ReplaySummary> {
  const dir = opts.config.settings.journal_dir;
  if (!dir) throw new Error('journal_dir is not set in this configuration (ZDM_JOURNAL_DIR or journal_dir in --config)');
  const j = readJournal(dir);
  const mine = j.records.filter((r) => r.meta.failedOn === opts.to);
  const done = j.done.get(opts.to);
  const summary: ReplaySummary = {
    total: mine.length,
    alreadyDone: 0,
    applied: 0,
    failed: 0,
    skipped: 0,
    wouldApply: 0,
    tail:
      j.tailBytes > 0 ? `${j.tailBytes} byte(s) ignored at the end (${j.tailReason}): an append in progress or a torn tail` : '',
  };
  const sender = opts.dryRun ? undefined : new ClusterSender(opts.config, opts.to);
  const donePath = join(dir, DONE_FILE);
  const mark = (rec: JournalRecord, result: ReplayResult): void => {
    if (!opts.dryRun) appendFileSync(donePath, `${rec.offset} ${result} ${opts.to} ${new Date().toISOString()}\n`);
  };
  let handled = 0;
  try {
    for (const rec of mine) {
      handled++;
      if (done.has(rec.offset)) {
        summary.alreadyDone++;
        opts.onRecord?.(rec, 'done');
      } else if (rec.meta.nonIdempotent && !opts.force) {
        summary.skipped++;
        mark(rec, 'skipped');
        opts.onRecord?.(rec, 'skipped', `not idempotent: ${rec.meta.nonIdempotent} (use --force to replay it)`);
      } else if (!sender) {
        summary.wouldApply++;
        opts.onRecord?.(rec, 'would-apply');
      } else {
        let error: string | undefined;
        try {
          error = await sender.send(rec, !rec.meta.nonIdempotent);
        } catch (e) {
          error = (e as Error).message;
        }
        if (error === undefined) {
          summary.applied++;
          mark(rec, 'applied');
          opts.onRecord?.(rec, 'applied');
        } else {
          summary.failed++;
          mark(rec, 'failed');
          opts.onRecord?.(rec, 'failed', error);
        }
      }
      opts.onProgress?.(handled, mine.length);
    }
  } finally {
    sender?.close();
  }
  return summary;
}
