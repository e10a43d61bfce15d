// YAML mode (upstream-spec-notes 1.2): defaults first, yaml.v3 decoding, unknown keys ignored, env ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../../src/config';
import { YAML_BASE, baseEnv, yamlConfig, yamlError } from './helpers';

test('upstream TestConfig_LoadConfigFromFile: values load and defaults still apply', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zdm-config-'));
  try {
    const file = join(dir, 'zdm.yml');
    writeFileSync(
      file,
      `
primary_cluster: ORIGIN

origin_username: foo1
origin_password: bar1
target_username: foo2
target_password: bar2

origin_contact_points: 192.168.100.101
origin_port: 19042
target_contact_points: 192.168.100.102
target_port: 29042
proxy_listen_port: 39042
`,
    );
    const c = loadConfig({ configPath: file, env: {} });
    assert.equal(c.source, 'yaml');
    assert.equal(c.configFile, file);
    assert.equal(c.primaryCluster, 'ORIGIN');
    assert.equal(c.origin.username, 'foo1');
    assert.equal(c.origin.password, 'bar1');
    assert.equal(c.target.username, 'foo2');
    assert.equal(c.target.password, 'bar2');
    assert.deepEqual(c.origin.contactPoints, ['192.168.100.101']);
    assert.equal(c.origin.port, 19042);
    assert.deepEqual(c.target.contactPoints, ['192.168.100.102']);
    assert.equal(c.target.port, 29042);
    assert.equal(c.settings.proxy_listen_port, 39042);
    assert.equal(c.settings.async_handshake_timeout_ms, 4000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing config file fails with upstream text', () => {
  assert.throws(
    () => loadConfig({ configPath: '/not/existing/file', env: baseEnv() }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message === 'could not read configuration file /not/existing/file: open /not/existing/file: no such file or directory',
  );
});

test('env vars are ignored completely when a file is given (no overlay)', () => {
  const c = loadConfig({
    configPath: '/virtual.yml',
    readFile: () => YAML_BASE,
    env: { ...baseEnv(), ZDM_PROXY_LISTEN_PORT: '1', ZDM_READ_MODE: 'nonsense', ZDM_ORIGIN_PORT: 'x' },
  });
  assert.equal(c.settings.proxy_listen_port, 14002);
  assert.equal(c.readMode, 'PRIMARY_ONLY');
  assert.equal(c.origin.port, 9042);
  assert.equal(c.origin.username, 'foo1');
});

test('credentials are not required in YAML mode', () => {
  const c = yamlConfig('origin_contact_points: a\ntarget_contact_points: b\n');
  assert.equal(c.origin.username, '');
  assert.equal(c.target.password, '');
});

test('unknown keys are ignored; lists are comma-separated strings', () => {
  const c = yamlConfig(`${YAML_BASE}
not_a_setting: 12
another: [1, 2]
origin_contact_points_typo: x
blocked_protocol_versions: "v2, DseV1"
proxy_topology_addresses: 10.0.0.1, 10.0.0.2
proxy_topology_index: 1
`);
  assert.deepEqual(c.blockedProtocolVersions, [2, 0x41]);
  assert.deepEqual(c.topology.addresses, ['10.0.0.1', '10.0.0.2']);
  assert.equal(c.topology.index, 1);
  assert.equal(c.topology.count, 2);
});

test('yaml.v3 scalars: hex/octal ints, YAML 1.1 bools for bool fields, numbers into strings, null keeps the default', () => {
  const c = yamlConfig(`${YAML_BASE}
proxy_listen_port: 0x3A9A
proxy_request_timeout_ms: 1_000
tracing_enabled: yes
metrics_enabled: Off
replace_cql_functions: "on"
control_conn_max_protocol_version: 4
metrics_prefix: 123
heartbeat_retry_backoff_factor: 3
heartbeat_interval_ms:
async_handshake_timeout_ms: ~
log_level: null
`);
  assert.equal(c.settings.proxy_listen_port, 15002);
  assert.equal(c.settings.proxy_request_timeout_ms, 1000);
  assert.equal(c.settings.tracing_enabled, true);
  assert.equal(c.settings.metrics_enabled, false);
  assert.equal(c.settings.replace_cql_functions, true);
  assert.equal(c.controlConnMaxProtocolVersion, 4);
  assert.equal(c.settings.metrics_prefix, '123');
  assert.equal(c.settings.heartbeat_retry_backoff_factor, 3);
  assert.equal(c.settings.heartbeat_interval_ms, 30000);
  assert.equal(c.settings.async_handshake_timeout_ms, 4000);
  assert.equal(c.settings.log_level, 'INFO');
});

test('a quoted empty string overrides a string default', () => {
  const c = yamlConfig(`${YAML_BASE}\nmetrics_prefix: ""\n`);
  assert.equal(c.settings.metrics_prefix, '');
});

test('wrong types fail with "could not parse yaml file" naming line and setting', () => {
  const e = yamlError(
    `${YAML_BASE}origin_port: abc\nmetrics_enabled: maybe\nheartbeat_retry_backoff_factor: "2"\nproxy_listen_port: 1.5\n`,
  );
  assert.ok(e.message.startsWith('could not parse yaml file /virtual/zdm.yml: yaml: unmarshal errors:\n'), e.message);
  assert.ok(e.message.includes('line 8: cannot unmarshal !!str `abc` into int'), e.message);
  assert.ok(e.message.includes('line 9: cannot unmarshal !!str `maybe` into bool'), e.message);
  assert.ok(e.message.includes('line 10: cannot unmarshal !!str `2` into float64'), e.message);
  assert.ok(e.message.includes('line 11: cannot unmarshal !!float `1.5` into int'), e.message);
  assert.deepEqual(e.settings, ['origin_port', 'metrics_enabled', 'heartbeat_retry_backoff_factor', 'proxy_listen_port']);
  assert.ok(e.message.endsWith('(settings: origin_port, metrics_enabled, heartbeat_retry_backoff_factor, proxy_listen_port)'));
});

test('a quoted number is a string (wrong type for an int); sequences and maps are rejected', () => {
  assert.ok(yamlError(`${YAML_BASE}origin_port: "9042"\n`).message.includes('cannot unmarshal !!str `9042` into int'));
  assert.ok(
    yamlError(`${YAML_BASE}origin_contact_points_x: 1\ntarget_port: [1]\n`).message.includes('cannot unmarshal !!seq into int'),
  );
  assert.ok(yamlError(`${YAML_BASE}proxy_listen_address: {a: 1}\n`).message.includes('cannot unmarshal !!map into string'));
});

test('syntax errors, empty files and non-mapping documents', () => {
  assert.match(
    yamlError('origin_port: 1\n  bad: [\n').message,
    /^could not parse yaml file \/virtual\/zdm\.yml: yaml: line \d+: /,
  );
  assert.equal(yamlError('').message, 'could not parse yaml file /virtual/zdm.yml: EOF');
  assert.equal(yamlError('# just a comment\n').message, 'could not parse yaml file /virtual/zdm.yml: EOF');
  assert.match(yamlError('- a\n- b\n').message, /cannot unmarshal !!seq into config\.Config/);
  assert.match(yamlError('origin_port: 1\norigin_port: 2\n').message, /^could not parse yaml file .*: yaml: line 2: /);
});

test('validation errors in YAML mode name the YAML key', () => {
  const e = yamlError(`${YAML_BASE}proxy_tls_ca_path: /ca.pem\n`);
  assert.ok(e.message.startsWith('incomplete Proxy TLS configuration'));
  assert.ok(e.message.includes('proxy_tls_ca_path'));
});
