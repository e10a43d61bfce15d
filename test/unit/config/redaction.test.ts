// Passwords never appear in describeConfig output or in a log line; logger level mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describeConfig, toLogObject, ConfigError } from '../../../src/config';
import { createLogger, toPinoLevel, REDACTED } from '../../../src/observability/logger';
import { loadEnv, yamlConfig, YAML_BASE } from './helpers';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l: string) => l !== ''),
      );
      cb();
    },
  });
  return { lines, stream };
}

test('describeConfig omits passwords and keeps usernames', () => {
  const c = loadEnv();
  const d = describeConfig(c);
  assert.equal(d.origin_username, 'originUser');
  assert.equal(d.target_username, 'targetUser');
  assert.ok(!('origin_password' in d) && !('target_password' in d));
  const text = JSON.stringify(d);
  assert.ok(!text.includes('originSecretPw1') && !text.includes('targetSecretPw2'));
  assert.equal(d.proxy_listen_port, 14002);
  assert.equal(toLogObject, describeConfig);
  const y = describeConfig(yamlConfig(YAML_BASE));
  assert.ok(!JSON.stringify(y).includes('bar1'));
});

test('log lines never contain passwords (describeConfig, and redact as a safety net)', () => {
  const c = loadEnv();
  const { lines, stream } = capture();
  const log = createLogger('debug', { destination: stream });
  log.info({ config: describeConfig(c) }, 'Parsed configuration');
  // mistakes elsewhere: raw settings or cluster objects logged directly
  log.info({ settings: c.settings }, 'oops settings');
  log.warn({ origin: c.origin, target: c.target }, 'oops clusters');
  log.info({ password: 'pw-top-level', auth: { password: 'pw-nested' } }, 'oops creds');
  log.flush();
  assert.equal(lines.length, 4);
  const all = lines.join('\n');
  for (const secret of ['originSecretPw1', 'targetSecretPw2', 'pw-top-level', 'pw-nested'])
    assert.ok(!all.includes(secret), secret);
  const second = JSON.parse(lines[1]!);
  assert.equal(second.settings.origin_password, REDACTED);
  const third = JSON.parse(lines[2]!);
  assert.equal(third.origin.password, REDACTED);
  assert.equal(third.origin.username, 'originUser');
  assert.equal(JSON.parse(lines[0]!).msg, 'Parsed configuration');
  assert.equal(JSON.parse(lines[0]!).level, 'info');
});

test('upstream levels map onto pino levels (case-insensitive, trimmed)', () => {
  const cases: Array<[string, string]> = [
    ['panic', 'fatal'],
    ['FATAL', 'fatal'],
    ['error', 'error'],
    ['warn', 'warn'],
    ['Warning', 'warn'],
    [' INFO ', 'info'],
    ['debug', 'debug'],
    ['trace', 'trace'],
  ];
  for (const [up, pinoLevel] of cases) assert.equal(toPinoLevel(up), pinoLevel, up);
  assert.throws(() => toPinoLevel('verbose'), ConfigError);
});

test('the logger filters by level', () => {
  const { lines, stream } = capture();
  const log = createLogger('WARNING', { destination: stream });
  log.info('hidden');
  log.debug('hidden');
  log.warn('shown');
  log.error('shown too');
  log.flush();
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).msg),
    ['shown', 'shown too'],
  );
  assert.equal(JSON.parse(lines[0]!).level, 'warn');
});
