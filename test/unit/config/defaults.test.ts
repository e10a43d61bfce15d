// Defaults must equal upstream's (spec table 1.3). The expected values are typed here from the spec,
// NOT derived from the schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSettings, SETTING_KEYS, SETTING_DEFS, envVarName } from '../../../src/config';
import { loadEnv, yamlConfig } from './helpers';

const BUCKETS = '1, 4, 7, 10, 25, 40, 60, 80, 100, 150, 250, 500, 1000, 2500, 5000, 10000, 15000';

const UPSTREAM_DEFAULTS: Array<[string, string | number | boolean]> = [
  ['primary_cluster', 'ORIGIN'],
  ['read_mode', 'PRIMARY_ONLY'],
  ['replace_cql_functions', false],
  ['async_handshake_timeout_ms', 4000],
  ['log_level', 'INFO'],
  ['control_conn_max_protocol_version', 'DseV2'],
  ['blocked_protocol_versions', ''],
  ['tracing_enabled', false],
  ['tracing_rate_limit', 0],
  ['tracing_request_id_key', 'request-id'],
  ['proxy_topology_index', 0],
  ['proxy_topology_addresses', ''],
  ['proxy_topology_num_tokens', 8],
  ['origin_contact_points', ''],
  ['origin_port', 9042],
  ['origin_secure_connect_bundle_path', ''],
  ['origin_local_datacenter', ''],
  ['origin_username', ''],
  ['origin_password', ''],
  ['origin_connection_timeout_ms', 30000],
  ['origin_tls_server_ca_path', ''],
  ['origin_tls_client_cert_path', ''],
  ['origin_tls_client_key_path', ''],
  ['target_contact_points', ''],
  ['target_port', 9042],
  ['target_secure_connect_bundle_path', ''],
  ['target_local_datacenter', ''],
  ['target_username', ''],
  ['target_password', ''],
  ['target_connection_timeout_ms', 30000],
  ['target_tls_server_ca_path', ''],
  ['target_tls_client_cert_path', ''],
  ['target_tls_client_key_path', ''],
  ['proxy_listen_address', 'localhost'],
  ['proxy_listen_port', 14002],
  ['proxy_request_timeout_ms', 10000],
  ['proxy_max_client_connections', 1000],
  ['proxy_max_stream_ids', 2048],
  ['proxy_tls_ca_path', ''],
  ['proxy_tls_cert_path', ''],
  ['proxy_tls_key_path', ''],
  ['proxy_tls_require_client_auth', false],
  ['metrics_enabled', true],
  ['metrics_address', 'localhost'],
  ['metrics_port', 14001],
  ['metrics_prefix', 'zdm'],
  ['metrics_origin_latency_buckets_ms', BUCKETS],
  ['metrics_target_latency_buckets_ms', BUCKETS],
  ['metrics_async_read_latency_buckets_ms', BUCKETS],
  ['heartbeat_interval_ms', 30000],
  ['heartbeat_retry_interval_min_ms', 250],
  ['heartbeat_retry_interval_max_ms', 30000],
  ['heartbeat_retry_backoff_factor', 2],
  ['heartbeat_failure_threshold', 1],
  ['system_queries_mode', 'ORIGIN'],
  ['forward_client_credentials_to_origin', false],
  ['origin_enable_host_assignment', true],
  ['target_enable_host_assignment', true],
  ['request_write_queue_size_frames', 128],
  ['request_write_buffer_size_bytes', 4096],
  ['request_read_buffer_size_bytes', 32768],
  ['response_write_queue_size_frames', 128],
  ['response_write_buffer_size_bytes', 8192],
  ['response_read_buffer_size_bytes', 32768],
  ['request_response_max_workers', -1],
  ['write_max_workers', -1],
  ['read_max_workers', -1],
  ['listener_max_workers', -1],
  ['event_queue_size_frames', 12],
  ['async_connector_write_queue_size_frames', 2048],
  ['async_connector_write_buffer_size_bytes', 4096],
];

const EXTENSION_DEFAULTS: Array<[string, number | string | boolean]> = [
  ['max_frame_size_bytes', 268435456],
  ['origin_tls_skip_hostname_verification', false],
  ['target_tls_skip_hostname_verification', false],
  ['shutdown_grace_period_ms', 10000],
  ['proxy_max_prepared_statements', 10000],
  ['admin_token', ''],
  ['pin_write_timestamps', true],
  ['journal_dir', ''],
  ['journal_max_bytes', 1073741824],
  ['proxy_workers', '1'],
  ['dual_read_compare_enabled', false],
  ['dual_read_compare_sample_rate', 1],
  ['dual_read_compare_log_values', false],
  ['dual_read_compare_confirm_delay_ms', -1],
  ['dual_read_compare_max_pending', 1000],
  ['dual_read_compare_confirm_queue_size', 1000],
  ['dual_read_compare_confirm_rate', 50],
];

test('every upstream default equals the spec table', () => {
  const d = defaultSettings() as Record<string, unknown>;
  for (const [key, value] of UPSTREAM_DEFAULTS) assert.deepEqual(d[key], value, key);
});

test('extension defaults', () => {
  const d = defaultSettings() as Record<string, unknown>;
  for (const [key, value] of EXTENSION_DEFAULTS) {
    assert.equal(d[key], value, key);
    assert.equal(SETTING_DEFS[key as keyof typeof SETTING_DEFS].extension, true, `${key} is marked as an extension`);
  }
});

test('the schema has exactly the upstream keys plus the extensions, upstream ones not marked as extensions', () => {
  const expected = [...UPSTREAM_DEFAULTS.map(([k]) => k), ...EXTENSION_DEFAULTS.map(([k]) => k)].sort();
  assert.deepEqual([...SETTING_KEYS].sort(), expected);
  for (const [key] of UPSTREAM_DEFAULTS) assert.equal(SETTING_DEFS[key as keyof typeof SETTING_DEFS].extension, false, key);
});

test('required (env mode) are exactly the four credentials', () => {
  const req = SETTING_KEYS.filter((k) => SETTING_DEFS[k].required).sort();
  assert.deepEqual(req, ['origin_password', 'origin_username', 'target_password', 'target_username']);
});

test('env var names are ZDM_ + upper-case key', () => {
  assert.equal(envVarName('origin_tls_server_ca_path'), 'ZDM_ORIGIN_TLS_SERVER_CA_PATH');
  assert.equal(envVarName('forward_client_credentials_to_origin'), 'ZDM_FORWARD_CLIENT_CREDENTIALS_TO_ORIGIN');
});

test('defaults apply in env mode and in YAML mode', () => {
  const fromEnv = loadEnv().settings as Record<string, unknown>;
  const fromYaml = yamlConfig('origin_contact_points: a\ntarget_contact_points: b\n').settings as Record<string, unknown>;
  for (const [key, value] of UPSTREAM_DEFAULTS) {
    if (/contact_points|_port$|username|password/.test(key)) continue;
    assert.deepEqual(fromEnv[key], value, `env ${key}`);
    assert.deepEqual(fromYaml[key], value, `yaml ${key}`);
  }
});

test('derived defaults: enums, protocol versions, buckets in seconds, topology', () => {
  const c = loadEnv();
  assert.equal(c.primaryCluster, 'ORIGIN');
  assert.equal(c.secondaryCluster, 'TARGET');
  assert.equal(c.readMode, 'PRIMARY_ONLY');
  assert.equal(c.dualReadsEnabled, false);
  assert.equal(c.systemQueriesMode, 'ORIGIN');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.controlConnMaxProtocolVersion, 0x42);
  assert.deepEqual(c.blockedProtocolVersions, []);
  assert.equal(c.latencyBuckets.origin.length, 17);
  assert.equal(c.latencyBuckets.origin[0], 0.001);
  assert.equal(c.latencyBuckets.target[16], 15);
  assert.equal(c.latencyBuckets.asyncRead[4], 0.025);
  assert.deepEqual(c.topology, {
    virtualizationEnabled: true,
    addresses: ['127.0.0.1'],
    addressSource: 'listen_address',
    index: 0,
    count: 1,
    numTokens: 8,
  });
  assert.equal(c.origin.tls.mode, 'none');
  assert.equal(c.proxyTls.enabled, false);
  assert.equal(c.maxFrameSizeBytes, 268435456);
  assert.equal(c.shutdownGracePeriodMs, 10000);
  assert.equal(c.maxPreparedStatements, 10000);
});
