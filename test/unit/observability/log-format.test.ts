// Log formats: text lines for people (the CLI's default on a terminal, or --log-format text), JSON lines
// otherwise; passwords stay redacted in both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { defaultLogFormat, formatLogLine } from '../../../src/observability/log-format';
import { createLogger, REDACTED } from '../../../src/observability/logger';
import { parseFlags, FlagError } from '../../../src/config';
import { waitFor } from '../../support/wait';

const CLI = join(__dirname, '..', '..', '..', 'src', 'cli.js');

function capture(): { lines: string[]; stream: { write(s: string): void } } {
  const lines: string[] = [];
  return { lines, stream: { write: (s: string) => void lines.push(...s.split('\n').filter(Boolean)) } };
}

test('a JSON line becomes time, level, message, then key=value fields (pid and hostname left out)', () => {
  const line = formatLogLine(
    JSON.stringify({
      level: 'warn',
      time: '2026-12-03T20:15:01.123Z',
      pid: 42,
      hostname: 'h',
      msg: 'Cluster slow',
      cluster: 'ORIGIN',
      host: '10.0.0.1:9042',
      note: 'two words',
      n: 3,
      nested: { a: 1 },
    }),
  );
  assert.equal(
    line,
    '2026-12-03T20:15:01.123Z WARN  Cluster slow cluster=ORIGIN host=10.0.0.1:9042 note="two words" n=3 nested={"a":1}\n',
  );
  assert.match(formatLogLine('{"level":"error","time":"t","msg":"m"}', true), /^t \x1b\[31mERROR\x1b\[0m m\n$/);
  assert.equal(formatLogLine('not json'), 'not json\n', 'a line that is not JSON is kept');
  const err = formatLogLine(
    JSON.stringify({ level: 'error', time: 't', msg: 'failed', err: { message: 'boom', stack: 'Error: boom\n    at x' } }),
  );
  assert.equal(err, 't ERROR failed err=boom\n    Error: boom\n        at x\n');
});

test('createLogger: text lines with format text, JSON by default; passwords redacted in both', () => {
  for (const format of ['text', 'json'] as const) {
    const { lines, stream } = capture();
    const log = createLogger('info', { destination: stream, format });
    log.info({ origin: { password: 'pw-secret', host: 'a' } }, 'Parsed configuration');
    log.debug('not shown at info');
    log.flush();
    assert.equal(lines.length, 1, format);
    assert.ok(!lines[0]!.includes('pw-secret'), format);
    assert.ok(lines[0]!.includes(REDACTED), format);
    if (format === 'json') assert.equal(JSON.parse(lines[0]!).msg, 'Parsed configuration');
    else
      assert.match(
        lines[0]!,
        /^\d{4}-\d\d-\d\dT\S+Z INFO {2}Parsed configuration origin=\{"password":"<redacted>","host":"a"\}$/,
      );
  }
});

test('defaults: text on a terminal, JSON otherwise; --log-format accepts text and json only', () => {
  assert.equal(defaultLogFormat({ isTTY: true }), 'text');
  assert.equal(defaultLogFormat({ isTTY: false }), 'json');
  assert.equal(defaultLogFormat({}), 'json');
  assert.equal(parseFlags(['--log-format', 'text']).logFormat, 'text');
  assert.equal(parseFlags(['-log-format=json']).logFormat, 'json');
  assert.equal(parseFlags([]).logFormat, undefined);
  assert.throws(
    () => parseFlags(['--log-format', 'pretty']),
    (e: unknown) => e instanceof FlagError && /invalid value "pretty" for -log-format: text or json/.test(e.message),
  );
});

/** Runs the compiled CLI (stdout a pipe) until its first log line, then stops it. */
async function firstLogLine(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      ZDM_ORIGIN_CONTACT_POINTS: '127.0.0.1',
      ZDM_TARGET_CONTACT_POINTS: '127.0.0.1',
      ZDM_ORIGIN_PORT: '1',
      ZDM_TARGET_PORT: '1',
      ZDM_ORIGIN_USERNAME: '',
      ZDM_ORIGIN_PASSWORD: '',
      ZDM_TARGET_USERNAME: '',
      ZDM_TARGET_PASSWORD: '',
      ZDM_METRICS_ENABLED: 'false',
      ZDM_METRICS_PORT: '0',
      ZDM_PROXY_LISTEN_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  try {
    return await waitFor('the first log line', () => (out.includes('\n') ? out.slice(0, out.indexOf('\n')) : undefined));
  } finally {
    child.kill('SIGKILL');
  }
}

test('the CLI logs JSON to a pipe, and text with --log-format text', async () => {
  const json = await firstLogLine([]);
  assert.match(JSON.parse(json).msg, /^Starting ZDM proxy version /);
  const text = await firstLogLine(['--log-format', 'text']);
  assert.match(text, /^\S+Z INFO {2}Starting ZDM proxy version \S+$/);
});
