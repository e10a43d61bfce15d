// The argument parsing shared by the `zdm-proxy <command> <action>` sub-commands (journal, routing).
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Where a command writes (stdout/stderr in the CLI, buffers in tests). */
export interface SubcommandIo {
  out(s: string): void;
  err(s: string): void;
}

/** What a sub-command is given: its output streams and the environment. */
export interface CommandIo extends SubcommandIo {
  env: NodeJS.ProcessEnv;
}

type Options = NonNullable<ParseArgsConfig['options']> & { help: { type: 'boolean' } };
type Values<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: O }>>['values'];

/**
 * Parse `argv` as `<action> [--options]`: usage on --help (exit 0) or on a missing action, a bad option or an
 * unknown action (exit 2, with the reason). Returns the action and the option values, or the exit code.
 */
export function parseSubcommand<O extends Options>(
  argv: readonly string[],
  options: O,
  command: string,
  actions: readonly string[],
  usage: string,
  io: SubcommandIo,
): { action: string; values: Values<O> } | number {
  let parsed: { values: Values<O>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options }) as { values: Values<O>; positionals: string[] };
  } catch (e) {
    io.err(`${(e as Error).message}\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const action = positionals[0];
  const help = (values as { help?: boolean }).help === true;
  if (help || action === undefined) {
    io.out(usage);
    return help ? 0 : 2;
  }
  if (!actions.includes(action) || positionals.length > 1) {
    const expected = actions.length > 1 ? `${actions.slice(0, -1).join(', ')} or ${actions.at(-1)}` : actions.join('');
    io.err(`unknown ${command} command ${JSON.stringify(positionals.join(' '))}: expected ${expected}\n${usage}`);
    return 2;
  }
  return { action, values };
}
