// Command-line handling: flags (Go `flag` style), --help generated from the settings schema,
// --version, and configuration loading. Printing and exiting is left to src/cli.ts.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { exampleConfigYaml } from './example';
import { settingsHelp } from './schema';
import { ConfigError } from './errors';
import { FlagError, parseFlags } from './flags';
import { loadConfig, type Env } from './load';
import type { ProxyConfig } from './types';

/** Exit status on a configuration error: upstream calls os.Exit(-1). */
export const CONFIG_ERROR_EXIT_CODE = 255;
/** Exit status on a command-line usage error (Go's flag package uses 2). */
export const USAGE_ERROR_EXIT_CODE = 2;

export type CliResult =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version'; readonly text: string }
  | { readonly kind: 'example-config'; readonly text: string }
  | { readonly kind: 'run'; readonly config: ProxyConfig; readonly logFormat: 'text' | 'json' | undefined }
  | { readonly kind: 'error'; readonly message: string; readonly exitCode: number; readonly error?: Error };

export interface CliIo {
  /** Reads the --config file (tests); defaults to fs.readFileSync(path, 'utf8'). */
  readonly readFile?: (path: string) => string;
  /** Version to print; defaults to the version in package.json. */
  readonly version?: string;
}

let cachedVersion: string | undefined;

/**
 * Version from this package's package.json, whatever the package is named: the nearest package.json above
 * this file (dist/src/config/cli.js -> the package root, in a checkout as in an installed package).
 */
export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        const pkg = JSON.parse(readFileSync(p, 'utf8')) as { version?: unknown };
        if (typeof pkg.version === 'string' && pkg.version) return (cachedVersion = pkg.version);
      } catch {
        /* keep looking */
      }
    }
    dir = dirname(dir);
  }
  return (cachedVersion = '0.0.0-unknown');
}

export function versionText(version = packageVersion()): string {
  return `ZDM proxy version ${version}`;
}

export function usageText(): string {
  return [
    'Usage: zdm-proxy [--config <file.yml>] [--log-format text|json] [--print-example-config] [--version] [--help]',
    '',
    '  --config <path>  YAML configuration file. When given, ZDM_* environment variables are ignored completely;',
    '                   settings missing from the file keep their defaults; unknown keys are ignored.',
    '  --log-format text|json',
    '                   Log lines as text (the default when stdout is a terminal) or JSON (the default otherwise).',
    '  --print-example-config',
    '                   Print a commented YAML configuration file with every setting at its default, and exit.',
    '  --version        Print the version and exit.',
    '  --help           Print this help and exit.',
    '  Go flag syntax is accepted too: -config=<path>, -config <path>, -version, -h.',
    '',
    'Without --config, every setting is read from its environment variable: ZDM_ + the upper-case YAML key.',
    'A variable that is set but empty overrides the default. Integers accept 0x.. (hex), 0o.. (octal), 0b..',
    '(binary); booleans accept 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False. Lists are',
    'comma-separated strings in both modes.',
    '',
    'Settings:',
    settingsHelp(),
    '',
  ].join('\n');
}

export function configErrorLine(err: Error): string {
  return `Error loading configuration: ${err.message}. Aborting startup.`;
}

/** Parse argv (without `node` and the script), then answer help/version or load the configuration. */
export function runCli(argv: readonly string[], env: Env = process.env, io: CliIo = {}): CliResult {
  let flags;
  try {
    flags = parseFlags(argv);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    return { kind: 'error', message: `${e.message}\nRun with --help for usage.`, exitCode: USAGE_ERROR_EXIT_CODE, error: e };
  }
  if (flags.help) return { kind: 'help', text: usageText() };
  if (flags.printExampleConfig) return { kind: 'example-config', text: exampleConfigYaml() };
  if (flags.version) return { kind: 'version', text: versionText(io.version) };
  try {
    const config = loadConfig({ configPath: flags.configPath ?? '', env, readFile: io.readFile });
    return { kind: 'run', config, logFormat: flags.logFormat };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { kind: 'error', message: configErrorLine(e), exitCode: CONFIG_ERROR_EXIT_CODE, error: e };
  }
}
