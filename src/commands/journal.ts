// `zdm-proxy journal stats|list|replay`: the one-sided write journal, read with the proxy's own configuration
// (ZDM_* environment, or --config file.yml). Safe while the proxy serves: the journal is only read (a record
// being appended is ignored until complete); replay appends done markers to replayed.log.
import { parseSubcommand } from './subcommand';
import { loadConfig } from '../config/load';
import { ConfigError } from '../config/errors';
import type { ProxyConfig } from '../config/types';
import { opcodeName } from '../protocol/constants';
import type { JournalRecord } from '../protocol/journal-format';
import type { ClusterName } from '../cluster';
import { readJournal, replayJournal, type JournalContents, type ReplaySummary } from '../journal/replay';
import { journalDirs } from '../journal/dirs';
import type { CommandIo } from './subcommand';

export const JOURNAL_USAGE = [
  'Usage: zdm-proxy journal stats  [--config file.yml]',
  '       zdm-proxy journal list   [--to origin|target] [--config file.yml]',
  '       zdm-proxy journal replay --to origin|target [--dry-run] [--force] [--config file.yml]',
  '',
  "  The journal is found with the proxy's configuration (journal_dir): ZDM_* variables, or --config.",
  '  replay sends each write the given cluster missed to it again, with its original write timestamp (a newer',
  '  value already there wins); records replayed are marked done (replayed.log), so a replay resumes and a',
  '  second one changes nothing. Counters, list appends/prepends and conditional updates are listed and skipped',
  '  unless --force. --dry-run shows what would be sent.',
  '',
].join('\n');

export interface JournalIo extends CommandIo {
  /** progress bar target (stderr), only when it is a TTY */
  tty?: { write(s: string): void; columns?: number };
}

function loadProxyConfig(configPath: string | undefined, env: NodeJS.ProcessEnv): ProxyConfig {
  return loadConfig({ configPath: configPath ?? '', env });
}

function describeRecord(r: JournalRecord, status: string): string {
  const m = r.meta;
  const stmt = m.statement.replace(/\s+/g, ' ');
  return [
    `@${r.offset}`,
    m.time,
    `failed_on=${m.failedOn}`,
    status,
    `${opcodeName(m.opcode)} v${m.version}`,
    `ks=${m.keyspace || '-'}`,
    `cl=${m.consistency}`,
    `ts=${m.timestamp}(${m.timestampSource})`,
    m.nonIdempotent ? `NON-IDEMPOTENT(${m.nonIdempotent})` : '',
    `"${stmt.length > 160 ? `${stmt.slice(0, 157)}...` : stmt}"`,
    `error="${m.error}"`,
  ]
    .filter(Boolean)
    .join(' ');
}

function parseTo(v: string | undefined): ClusterName | undefined | Error {
  if (v === undefined) return undefined;
  const u = v.toUpperCase();
  if (u !== 'ORIGIN' && u !== 'TARGET') return new Error(`invalid --to ${JSON.stringify(v)}: expected origin or target`);
  return u;
}

export async function runJournalCommand(argv: readonly string[], io: JournalIo): Promise<number> {
  const parsed = parseSubcommand(
    argv,
    {
      config: { type: 'string' },
      to: { type: 'string' },
      'dry-run': { type: 'boolean' },
      force: { type: 'boolean' },
      help: { type: 'boolean' },
    } as const,
    'journal',
    ['stats', 'list', 'replay'],
    JOURNAL_USAGE,
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { action, values } = parsed;
  const to = parseTo(values.to);
  if (to instanceof Error) {
    io.err(`${to.message}\n`);
    return 2;
  }
  let config: ProxyConfig;
  try {
    config = loadProxyConfig(values.config, io.env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.err(`Error loading configuration: ${e.message}\n`);
    return 255;
  }
  const dir = config.settings.journal_dir;
  if (!dir) {
    io.err(
      'journal_dir is not set in this configuration (ZDM_JOURNAL_DIR, or journal_dir in the --config file): there is no journal\n',
    );
    return 2;
  }

  // one journal per process: journal_dir itself, and worker-<n>/ sub-directories with proxy_workers > 1
  const dirs = journalDirs(dir);
  if (action === 'stats' || action === 'list') {
    const journals: JournalContents[] = [];
    try {
      for (const d of dirs.length > 0 ? dirs : [dir]) journals.push(readJournal(d));
    } catch (e) {
      io.err(`${(e as Error).message}\n`);
      return 1;
    }
    for (const j of journals) {
      if (action === 'list') {
        if (journals.length > 1) io.out(`# journal ${j.path}\n`);
        for (const r of j.records) {
          if (to && r.meta.failedOn !== to) continue;
          io.out(`${describeRecord(r, j.done.get(r.meta.failedOn).has(r.offset) ? 'DONE' : 'PENDING')}\n`);
        }
        if (j.tailBytes > 0) io.out(`# ${j.tailBytes} byte(s) at the end ignored: ${j.tailReason}\n`);
        continue;
      }
      const by = (c: ClusterName) => j.records.filter((r) => r.meta.failedOn === c);
      io.out(`journal ${j.path}\n`);
      io.out(
        `  size ${j.validBytes} bytes (journal_max_bytes ${config.settings.journal_max_bytes}), ${j.records.length} record(s)\n`,
      );
      for (const c of ['ORIGIN', 'TARGET'] as const) {
        const rs = by(c);
        const done = rs.filter((r) => j.done.get(c).has(r.offset)).length;
        const nonIdem = rs.filter((r) => r.meta.nonIdempotent).length;
        io.out(
          `  failed_on=${c}: ${rs.length} record(s), ${done} replayed, ${rs.length - done} pending (${nonIdem} not idempotent)\n`,
        );
      }
      if (j.records.length > 0)
        io.out(`  first ${j.records[0]!.meta.time}, last ${j.records[j.records.length - 1]!.meta.time}\n`);
      io.out(j.tailBytes > 0 ? `  tail: ${j.tailBytes} byte(s) ignored (${j.tailReason})\n` : '  tail: clean\n');
    }
    return 0;
  }

  // replay
  if (!to) {
    io.err(`journal replay needs --to origin|target (the cluster that missed the writes)\n${JOURNAL_USAGE}`);
    return 2;
  }
  const dry = values['dry-run'] === true;
  let lastBar = '';
  const bar = (handled: number, total: number): void => {
    if (!io.tty) return;
    const width = Math.max(10, Math.min(40, (io.tty.columns ?? 80) - 30));
    const filled = total === 0 ? width : Math.round((handled / total) * width);
    const s = `\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${handled}/${total}`;
    if (s !== lastBar) io.tty.write(s);
    lastBar = s;
  };
  const summaries: ReplaySummary[] = [];
  try {
    // each journal in turn (worker-<n>/ with proxy_workers > 1): the replay reads <journal_dir>/journal.zdj
    for (const d of dirs.length > 0 ? dirs : [dir]) {
      const summary = await replayJournal({
        config: d === dir ? config : { ...config, settings: { ...config.settings, journal_dir: d } },
        to,
        dryRun: dry,
        force: values.force === true,
        onProgress: bar,
        onRecord: (rec, result, detail) => {
          if (result === 'skipped' || result === 'failed') {
            if (io.tty && lastBar) io.tty.write('\n');
            io.out(`${result.toUpperCase()}: ${describeRecord(rec, result)}${detail ? ` -- ${detail}` : ''}\n`);
          } else if (result === 'would-apply') {
            io.out(`WOULD APPLY: ${describeRecord(rec, 'PENDING')}\n`);
          }
        },
      });
      summaries.push(summary);
    }
  } catch (e) {
    if (io.tty && lastBar) io.tty.write('\n');
    io.err(`journal replay: ${(e as Error).message}\n`);
    return 1;
  }
  if (io.tty && lastBar) io.tty.write('\n');
  const s = summaries.reduce((a, b) => ({
    total: a.total + b.total,
    alreadyDone: a.alreadyDone + b.alreadyDone,
    applied: a.applied + b.applied,
    failed: a.failed + b.failed,
    skipped: a.skipped + b.skipped,
    wouldApply: a.wouldApply + b.wouldApply,
    tail: [a.tail, b.tail].filter(Boolean).join('; '),
  }));
  io.out(
    `replay to ${to}${dry ? ' (dry run: nothing sent)' : ''}: ${s.total} record(s) missed by ${to}: ` +
      `${s.applied} applied, ${s.alreadyDone} already done, ${s.skipped} skipped (not idempotent), ${s.failed} failed` +
      `${dry ? `, ${s.wouldApply} would be applied` : ''}\n`,
  );
  if (s.tail) io.out(`note: ${s.tail}\n`);
  return s.failed > 0 ? 1 : 0;
}
