// Env mode: kelseyhightower/envconfig v1.4.0 semantics (upstream-spec-notes 1.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../../../src/config';
import { baseEnv, envError, loadEnv } from './helpers';

test('values are read from ZDM_ + upper-case key', () => {
  const c = loadEnv({
    ZDM_PRIMARY_CLUSTER: 'target',
    ZDM_READ_MODE: 'dual_async_on_secondary',
    ZDM_PROXY_LISTEN_PORT: '39042',
    ZDM_HEARTBEAT_RETRY_BACKOFF_FACTOR: '1.5',
    ZDM_METRICS_ENABLED: 'false',
  });
  assert.equal(c.source, 'env');
  assert.equal(c.origin.contactPoints[0], 'origin.hostname.com');
  assert.equal(c.origin.port, 7890);
  assert.equal(c.target.port, 5647);
  assert.equal(c.primaryCluster, 'TARGET');
  assert.equal(c.secondaryCluster, 'ORIGIN');
  assert.equal(c.readMode, 'DUAL_ASYNC_ON_SECONDARY');
  assert.equal(c.dualReadsEnabled, true);
  assert.equal(c.settings.proxy_listen_port, 39042);
  assert.equal(c.settings.heartbeat_retry_backoff_factor, 1.5);
  assert.equal(c.settings.metrics_enabled, false);
  assert.equal(c.origin.username, 'originUser');
  assert.equal(c.origin.password, 'originSecretPw1');
});

test('the result is deeply frozen', () => {
  const c = loadEnv();
  assert.ok(Object.isFrozen(c));
  assert.ok(Object.isFrozen(c.settings));
  assert.ok(Object.isFrozen(c.origin.contactPoints));
  assert.ok(Object.isFrozen(c.topology.addresses));
  assert.throws(() => {
    (c.settings as { origin_port: number }).origin_port = 1;
  }, TypeError);
});

test('credentials are required: the variable must be present (empty is fine)', () => {
  for (const name of ['ZDM_ORIGIN_USERNAME', 'ZDM_ORIGIN_PASSWORD', 'ZDM_TARGET_USERNAME', 'ZDM_TARGET_PASSWORD']) {
    const e = envError({ [name]: undefined });
    assert.equal(e.message, `could not load environment variables: required key ${name} missing value`);
    assert.deepEqual(e.settings, [name.slice(4).toLowerCase()]);
  }
  const c = loadEnv({ ZDM_ORIGIN_USERNAME: '', ZDM_ORIGIN_PASSWORD: '' });
  assert.equal(c.origin.username, '');
  assert.equal(c.origin.password, '');
});

test('a set-but-empty string variable overrides the default', () => {
  const c = loadEnv({ ZDM_METRICS_PREFIX: '', ZDM_TRACING_REQUEST_ID_KEY: '' });
  assert.equal(c.settings.metrics_prefix, '');
  assert.equal(c.settings.tracing_request_id_key, '');
  // proxy_listen_address empty -> topology falls back to 127.0.0.1 (upstream-spec-notes 1.5)
  const d = loadEnv({ ZDM_PROXY_LISTEN_ADDRESS: '' });
  assert.deepEqual(d.topology.addresses, ['127.0.0.1']);
  assert.equal(d.topology.addressSource, 'default');
});

test('a set-but-empty int, bool or float variable is a parse error naming the variable', () => {
  let e = envError({ ZDM_PROXY_LISTEN_PORT: '' });
  assert.equal(
    e.message,
    'could not load environment variables: envconfig.Process: assigning ZDM_PROXY_LISTEN_PORT to ProxyListenPort: ' +
      `converting '' to type int. details: strconv.ParseInt: parsing "": invalid syntax`,
  );
  e = envError({ ZDM_METRICS_ENABLED: '' });
  assert.match(
    e.message,
    /assigning ZDM_METRICS_ENABLED to MetricsEnabled: converting '' to type bool\. details: strconv\.ParseBool: parsing "": invalid syntax$/,
  );
  e = envError({ ZDM_HEARTBEAT_RETRY_BACKOFF_FACTOR: '' });
  assert.match(e.message, /ZDM_HEARTBEAT_RETRY_BACKOFF_FACTOR to HeartbeatRetryBackoffFactor: converting '' to type float64/);
});

test('ints are parsed like strconv.ParseInt(v, 0, 64)', () => {
  const cases: Array<[string, number]> = [
    ['0x2328', 9000],
    ['0X10', 16],
    ['0o17', 15],
    ['017', 15],
    ['0b101', 5],
    ['-12', -12],
    ['+12', 12],
    ['1_000', 1000],
    ['0', 0],
  ];
  for (const [raw, value] of cases) {
    assert.equal(loadEnv({ ZDM_PROXY_REQUEST_TIMEOUT_MS: raw }).settings.proxy_request_timeout_ms, value, raw);
  }
  for (const raw of ['12abc', '1.5', ' 12', '0x', '_1', '1__0', '08', 'ten']) {
    const e = envError({ ZDM_PROXY_REQUEST_TIMEOUT_MS: raw });
    assert.ok(
      e.message.endsWith(`details: strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`),
      `${raw}: ${e.message}`,
    );
    assert.ok(e.message.includes('ZDM_PROXY_REQUEST_TIMEOUT_MS'));
  }
  const big = envError({ ZDM_PROXY_REQUEST_TIMEOUT_MS: '9223372036854775808' });
  assert.match(big.message, /value out of range$/);
});

test('bools are parsed like strconv.ParseBool', () => {
  for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True'])
    assert.equal(loadEnv({ ZDM_TRACING_ENABLED: t }).settings.tracing_enabled, true, t);
  for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False'])
    assert.equal(loadEnv({ ZDM_METRICS_ENABLED: f }).settings.metrics_enabled, false, f);
  for (const bad of ['yes', 'on', 'tRUE', '2']) {
    const e = envError({ ZDM_TRACING_ENABLED: bad });
    assert.ok(
      e.message.includes(`converting '${bad}' to type bool. details: strconv.ParseBool: parsing "${bad}": invalid syntax`),
      e.message,
    );
  }
});

test('floats are parsed like strconv.ParseFloat', () => {
  assert.equal(loadEnv({ ZDM_HEARTBEAT_RETRY_BACKOFF_FACTOR: '1e1' }).settings.heartbeat_retry_backoff_factor, 10);
  assert.equal(loadEnv({ ZDM_HEARTBEAT_RETRY_BACKOFF_FACTOR: '.5' }).settings.heartbeat_retry_backoff_factor, 0.5);
  assert.match(
    envError({ ZDM_HEARTBEAT_RETRY_BACKOFF_FACTOR: 'two' }).message,
    /strconv\.ParseFloat: parsing "two": invalid syntax$/,
  );
});

test('the first failing variable in struct order is reported', () => {
  // read_mode comes before origin_port: an invalid int there is reported first, before any validation.
  const e = envError({ ZDM_ORIGIN_PORT: 'x', ZDM_TARGET_PORT: 'y', ZDM_READ_MODE: 'bogus' });
  assert.ok(e.message.includes('ZDM_ORIGIN_PORT'));
  assert.ok(!e.message.includes('ZDM_TARGET_PORT'));
});

test('unrelated env vars are ignored, loadConfig without configPath and without argv uses env mode', () => {
  const c = loadConfig({ env: { ...baseEnv(), ZDM_NOT_A_SETTING: 'x', PATH: '/bin' } });
  assert.equal(c.source, 'env');
  assert.equal(c.configFile, undefined);
});

test('argv is honoured when given to loadConfig, and an empty --config means env mode', () => {
  const c = loadConfig({ argv: ['--config='], env: baseEnv() });
  assert.equal(c.source, 'env');
  const y = loadConfig({
    argv: ['-config', '/x.yml'],
    env: {},
    readFile: () => 'origin_contact_points: a\ntarget_contact_points: b\n',
  });
  assert.equal(y.source, 'yaml');
  assert.equal(y.configFile, '/x.yml');
  assert.throws(
    () => loadConfig({ argv: ['--nope'], env: baseEnv() }),
    (e: unknown) => e instanceof ConfigError && /-nope/.test(e.message),
  );
});
