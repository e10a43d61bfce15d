// Human-readable log lines for a terminal: pino writes JSON lines; `textDestination` turns each one into
//   2026-12-03T20:15:01.123Z INFO  Parsed configuration config={"primary_cluster":"ORIGIN",...}
// (level coloured on a TTY). The JSON form stays the default when stdout is not a terminal (log shippers).
import type { DestinationStream } from 'pino';

export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** text on a terminal, JSON otherwise (`--log-format` overrides). */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stdout): LogFormat {
  return stream.isTTY ? 'text' : 'json';
}

const COLORS: Record<string, string> = {
  fatal: '\x1b[41m\x1b[37m',
  error: '\x1b[31m',
  warn: '\x1b[33m',
  info: '\x1b[32m',
  debug: '\x1b[34m',
  trace: '\x1b[90m',
};
const RESET = '\x1b[0m';
/** Fields every line has; shown in their own place (time, level, msg) or not at all (pid, hostname). */
const FIXED = new Set(['time', 'level', 'msg', 'pid', 'hostname']);

function fieldValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** One JSON log line (as pino writes it) as one text line; a line that is not a JSON object is kept as it is. */
export function formatLogLine(json: string, color = false): string {
  let rec: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return json.endsWith('\n') ? json : `${json}\n`;
    rec = parsed as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = String(rec['level'] ?? 'info');
  const label = level.toUpperCase().padEnd(5);
  const parts = [String(rec['time'] ?? ''), color && COLORS[level] ? `${COLORS[level]}${label}${RESET}` : label];
  if (rec['msg'] !== undefined) parts.push(String(rec['msg']));
  let stack = '';
  for (const [k, v] of Object.entries(rec)) {
    if (FIXED.has(k)) continue;
    if (k === 'err' && v && typeof v === 'object' && typeof (v as { stack?: unknown }).stack === 'string') {
      parts.push(`err=${fieldValue((v as { message?: unknown }).message ?? '')}`);
      stack = `\n    ${(v as { stack: string }).stack.split('\n').join('\n    ')}`;
      continue;
    }
    parts.push(`${k}=${fieldValue(v)}`);
  }
  return `${parts.join(' ')}${stack}\n`;
}

/** A pino destination writing text lines to `out` (which may be a pino.destination: flush is passed on). */
export function textDestination(
  out: DestinationStream & { flush?: (cb?: (err?: Error) => void) => void; flushSync?: () => void },
  color = false,
): DestinationStream & { flush(cb?: (err?: Error) => void): void; flushSync(): void } {
  return {
    write(line: string): void {
      out.write(formatLogLine(line.endsWith('\n') ? line.slice(0, -1) : line, color));
    },
    flush(cb?: (err?: Error) => void): void {
      if (out.flush) out.flush(cb);
      else cb?.();
    },
    flushSync(): void {
      out.flushSync?.();
    },
  };
}
