// pino logger factory. Upstream uses logrus; its levels are mapped onto pino's (panic -> fatal).
// JSON lines to stdout, or text lines (log-format.ts: the CLI's default on a terminal). Password fields are redacted as a second safety net (describeConfig already
// omits them).
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { parseLogLevel } from '../config/load';
import { textDestination, type LogFormat } from './log-format';

export type { Logger } from 'pino';

/** Paths censored in every log line (pino/fast-redact syntax). */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  'password',
  'origin_password',
  'target_password',
  'originPassword',
  'targetPassword',
  '*.password',
  '*.origin_password',
  '*.target_password',
  '*.originPassword',
  '*.targetPassword',
  '*.*.password',
  '*.*.origin_password',
  '*.*.target_password',
]);

export const REDACTED = '<redacted>';

/**
 * Map an upstream log level (panic, fatal, error, warn|warning, info, debug, trace; case-insensitive,
 * trimmed) to a pino level. Throws ConfigError (upstream text) for anything else.
 */
export function toPinoLevel(level: string): Level {
  const l = parseLogLevel(level);
  return l === 'panic' ? 'fatal' : l;
}

export interface LoggerOptions {
  /** Where the lines go; defaults to stdout. */
  readonly destination?: DestinationStream;
  /** json (default): one JSON object per line; text: human-readable lines (log-format.ts). */
  readonly format?: LogFormat;
  /** text format only: colour the level (ANSI). */
  readonly color?: boolean;
  /** Extra fields on every line (e.g. a component name). */
  readonly base?: Record<string, unknown>;
}

export function createLogger(level = 'info', options: LoggerOptions = {}): Logger {
  const opts: pino.LoggerOptions = {
    level: toPinoLevel(level),
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    base: { pid: process.pid, ...(options.base ?? {}) },
  };
  const sink = options.destination ?? pino.destination(1);
  return pino(opts, options.format === 'text' ? textDestination(sink, options.color ?? false) : sink);
}
