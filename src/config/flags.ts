// Command-line flags, parsed like Go's `flag` package: `-config=x`, `-config x`, `--config=x`, `--config x`,
// `-version`, `--version`, `-h`, `-help`, `--help`, `--print-example-config`,
// `--log-format text|json`. Parsing stops at `--` or at the first non-flag argument.
import { goParseBool } from './goparse';

export interface ParsedFlags {
  /** Value of -config; undefined when not given. An explicit empty value (`--config=`) means env mode, as upstream. */
  readonly configPath: string | undefined;
  readonly version: boolean;
  readonly help: boolean;
  /** --print-example-config: print the commented YAML of every setting and exit. */
  readonly printExampleConfig: boolean;
  /** --log-format: text or json; undefined = text on a terminal, JSON otherwise. */
  readonly logFormat: 'text' | 'json' | undefined;
}

/** A command-line usage error (exit code 2, like Go's flag package). */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

const BOOL_FLAGS = new Set(['version', 'help', 'h', 'print-example-config']);
const VALUE_FLAGS = new Set(['config', 'log-format']);

export function parseFlags(argv: readonly string[]): ParsedFlags {
  let configPath: string | undefined;
  let version = false;
  let help = false;
  let printExampleConfig = false;
  let logFormat: 'text' | 'json' | undefined;
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg.length < 2 || arg[0] !== '-') {
      throw new FlagError(`unexpected argument: ${JSON.stringify(arg)} (did you mean --config ${arg}?)`);
    }
    i++;
    if (arg === '--') {
      if (i < argv.length) throw new FlagError(`unexpected argument: ${JSON.stringify(argv[i])}`);
      break;
    }
    let name = arg.slice(arg[1] === '-' ? 2 : 1);
    if (name.length === 0 || name[0] === '-' || name[0] === '=') throw new FlagError(`bad flag syntax: ${arg}`);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (BOOL_FLAGS.has(name)) {
      let on = true;
      if (value !== undefined) {
        try {
          on = goParseBool(value);
        } catch {
          throw new FlagError(`invalid boolean value ${JSON.stringify(value)} for -${name}: parse error`);
        }
      }
      if (name === 'version') version = on;
      else if (name === 'print-example-config') printExampleConfig = on;
      else help = on;
    } else if (VALUE_FLAGS.has(name)) {
      if (value === undefined) {
        if (i >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
        value = argv[i++]!;
      }
      if (name === 'log-format') {
        if (value !== 'text' && value !== 'json') {
          throw new FlagError(`invalid value ${JSON.stringify(value)} for -log-format: text or json`);
        }
        logFormat = value;
      } else configPath = value;
    } else {
      throw new FlagError(`flag provided but not defined: -${name}`);
    }
  }
  return { configPath, version, help, printExampleConfig, logFormat };
}
