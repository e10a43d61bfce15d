// Validation rules, order and texts (upstream-spec-notes 1.3, 1.4, 1.5; upstream proxy/pkg/config/*_test.go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveTopology, parseBlockedProtocolVersions, ConfigError } from '../../../src/config';
import { envError, loadEnv, yamlConfig, yamlError } from './helpers';

test('log level: accepted spellings and the upstream error', () => {
  const cases: Array<[string, string]> = [
    ['panic', 'panic'],
    ['FATAL', 'fatal'],
    ['Error', 'error'],
    ['warn', 'warn'],
    ['WARNING', 'warn'],
    [' info ', 'info'],
    ['debug', 'debug'],
    ['TRACE', 'trace'],
  ];
  for (const [raw, lvl] of cases) assert.equal(loadEnv({ ZDM_LOG_LEVEL: raw }).logLevel, lvl, raw);
  const e = envError({ ZDM_LOG_LEVEL: 'verbose' });
  assert.equal(
    e.message,
    'invalid log level: invalid log level, valid log levels are PANIC, FATAL, ERROR, WARN or WARNING, INFO, DEBUG and TRACE; ' +
      'original err: not a valid logrus Level: "verbose" (settings: ZDM_LOG_LEVEL)',
  );
  assert.deepEqual(e.settings, ['log_level']);
});

for (const [cluster, C] of [
  ['target', 'Target'],
  ['origin', 'Origin'],
] as const) {
  const U = cluster.toUpperCase();
  test(`${cluster}: secure connect bundle and contact points rules`, () => {
    // bundle only: valid, default port kept
    const c = loadEnv({
      [`ZDM_${U}_CONTACT_POINTS`]: undefined,
      [`ZDM_${U}_PORT`]: undefined,
      [`ZDM_${U}_SECURE_CONNECT_BUNDLE_PATH`]: '/b.zip',
    });
    assert.equal(c[cluster].secureConnectBundlePath, '/b.zip');
    assert.deepEqual(c[cluster].contactPoints, []);
    assert.equal(c[cluster].port, 9042);
    assert.equal(c[cluster].tls.mode, 'secure-connect-bundle');

    let e = envError({ [`ZDM_${U}_SECURE_CONNECT_BUNDLE_PATH`]: '/b.zip' });
    assert.equal(
      e.upstreamMessage,
      `invalid ${cluster} configuration: ${C}SecureConnectBundlePath and ${C}ContactPoints are mutually exclusive. Please specify only one of them.`,
    );
    assert.ok(e.message.includes(`ZDM_${U}_SECURE_CONNECT_BUNDLE_PATH`) && e.message.includes(`ZDM_${U}_CONTACT_POINTS`));

    e = envError({
      [`ZDM_${U}_CONTACT_POINTS`]: undefined,
      [`ZDM_${U}_SECURE_CONNECT_BUNDLE_PATH`]: '/b.zip',
      [`ZDM_${U}_LOCAL_DATACENTER`]: 'dc1',
    });
    assert.equal(
      e.upstreamMessage,
      `invalid ${cluster} configuration: ${C}SecureConnectBundlePath and ${C}LocalDatacenter are mutually exclusive. Please specify only one of them.`,
    );
    assert.ok(e.message.includes(`ZDM_${U}_LOCAL_DATACENTER`));

    e = envError({ [`ZDM_${U}_CONTACT_POINTS`]: undefined });
    assert.equal(
      e.upstreamMessage,
      `invalid ${cluster} configuration: Both ${C}SecureConnectBundlePath and ${C}ContactPoints are empty. Please specify either one of them.`,
    );
    assert.ok(e.message.includes(`ZDM_${U}_CONTACT_POINTS`));

    e = envError({ [`ZDM_${U}_PORT`]: '0' });
    assert.equal(
      e.upstreamMessage,
      `invalid ${cluster} configuration: ${C}ContactPoints was specified but the port is missing. Please provide ${C}Port`,
    );
    assert.ok(e.message.includes(`ZDM_${U}_PORT`));

    e = envError({ [`ZDM_${U}_LOCAL_DATACENTER`]: 'dc1', [`ZDM_${U}_ENABLE_HOST_ASSIGNMENT`]: 'false' });
    assert.equal(
      e.upstreamMessage,
      `invalid ${cluster} configuration: ${C}LocalDatacenter was specified but ${C}EnableHostAssignment is false. Please enable host assignment or don't set the datacenter.`,
    );
    assert.ok(e.message.includes(`ZDM_${U}_ENABLE_HOST_ASSIGNMENT`));

    e = envError({ [`ZDM_${U}_CONTACT_POINTS`]: ' , ' });
    assert.equal(e.upstreamMessage, `invalid ${cluster} configuration: could not parse ${cluster} contact points:  , `);

    // hostname without port: default 9042 (upstream TestTargetConfig_WithHostnameButWithoutPort)
    const d = loadEnv({ [`ZDM_${U}_PORT`]: undefined, [`ZDM_${U}_CONTACT_POINTS`]: 'h1, h2 ,h3' });
    assert.equal(d[cluster].port, 9042);
    assert.deepEqual(d[cluster].contactPoints, ['h1', 'h2', 'h3']);
  });

  test(`${cluster}: TLS combinations (upstream config_tls_test.go)`, () => {
    const ca = `ZDM_${U}_TLS_SERVER_CA_PATH`;
    const cert = `ZDM_${U}_TLS_CLIENT_CERT_PATH`;
    const key = `ZDM_${U}_TLS_CLIENT_KEY_PATH`;
    assert.equal(loadEnv().origin.tls.enabled, false);
    assert.equal(loadEnv()[cluster].tls.logMessage, `TLS was not configured for ${C}`);
    const oneWay = loadEnv({ [ca]: '/ca' })[cluster].tls;
    assert.deepEqual([oneWay.enabled, oneWay.mode, oneWay.serverCaPath], [true, 'one-way', '/ca']);
    const mutual = loadEnv({ [ca]: '/ca', [cert]: '/cert', [key]: '/key' })[cluster].tls;
    assert.deepEqual([mutual.mode, mutual.clientCertPath, mutual.clientKeyPath], ['mutual', '/cert', '/key']);

    const scbBase = { [`ZDM_${U}_CONTACT_POINTS`]: undefined, [`ZDM_${U}_SECURE_CONNECT_BUNDLE_PATH`]: '/b.zip' };
    for (const extra of [{ [ca]: '/ca' }, { [cert]: '/cert' }, { [key]: '/key' }, { [ca]: '/ca', [cert]: '/c', [key]: '/k' }]) {
      const e = envError({ ...scbBase, ...extra });
      assert.equal(
        e.upstreamMessage,
        `Incorrect TLS configuration for ${C}: Secure Connect Bundle and custom TLS parameters cannot be specified at the same time.`,
      );
      assert.ok(e.message.includes(`ZDM_${U}_SECURE_CONNECT_BUNDLE_PATH`));
    }
    for (const extra of [
      { [cert]: '/c' },
      { [key]: '/k' },
      { [cert]: '/c', [key]: '/k' },
      { [ca]: '/ca', [cert]: '/c' },
      { [ca]: '/ca', [key]: '/k' },
    ]) {
      const e = envError(extra);
      assert.equal(
        e.upstreamMessage,
        `incomplete TLS configuration for ${C}: when using mutual TLS, please specify Server CA path, Client Cert path and Client Key path`,
      );
      assert.ok(e.message.includes(ca) && e.message.includes(cert) && e.message.includes(key), e.message);
    }
  });
}

test('proxy TLS: all or nothing', () => {
  const c = loadEnv({
    ZDM_PROXY_TLS_CA_PATH: '/ca',
    ZDM_PROXY_TLS_CERT_PATH: '/c',
    ZDM_PROXY_TLS_KEY_PATH: '/k',
    ZDM_PROXY_TLS_REQUIRE_CLIENT_AUTH: 'true',
  });
  assert.deepEqual([c.proxyTls.enabled, c.proxyTls.requireClientAuth, c.proxyTls.keyPath], [true, true, '/k']);
  const e = envError({ ZDM_PROXY_TLS_CERT_PATH: '/c' });
  assert.equal(
    e.upstreamMessage,
    'incomplete Proxy TLS configuration: when enabling proxy TLS, please specify CA path, Cert path and Key path',
  );
  assert.ok(e.message.includes('ZDM_PROXY_TLS_CA_PATH'));
});

test('latency buckets: origin and target validated, async too (ours); value converted to seconds', () => {
  assert.deepEqual(loadEnv({ ZDM_METRICS_ORIGIN_LATENCY_BUCKETS_MS: '5, 50 ,500' }).latencyBuckets.origin, [0.005, 0.05, 0.5]);
  let e = envError({ ZDM_METRICS_ORIGIN_LATENCY_BUCKETS_MS: '' });
  assert.equal(e.upstreamMessage, 'could not parse origin buckets: unable to parse buckets from : could not convert  to float');
  assert.ok(e.message.includes('ZDM_METRICS_ORIGIN_LATENCY_BUCKETS_MS'));
  e = envError({ ZDM_METRICS_TARGET_LATENCY_BUCKETS_MS: '1, x' });
  assert.equal(
    e.upstreamMessage,
    'could not parse target buckets: unable to parse buckets from 1, x: could not convert  x to float',
  );
  assert.ok(e.message.includes('ZDM_METRICS_TARGET_LATENCY_BUCKETS_MS'));
  e = envError({ ZDM_METRICS_ASYNC_READ_LATENCY_BUCKETS_MS: '1,,2' });
  assert.ok(e.upstreamMessage.startsWith('could not parse async read buckets: unable to parse buckets from 1,,2'));
  assert.ok(e.message.includes('ZDM_METRICS_ASYNC_READ_LATENCY_BUCKETS_MS'));
});

test('topology: addresses, index and num tokens', () => {
  const c = loadEnv({
    ZDM_PROXY_TOPOLOGY_ADDRESSES: '10.0.0.1, 10.0.0.2,::1,::ffff:10.0.0.4',
    ZDM_PROXY_TOPOLOGY_INDEX: '3',
    ZDM_PROXY_TOPOLOGY_NUM_TOKENS: '256',
  });
  assert.deepEqual(c.topology.addresses, ['10.0.0.1', '10.0.0.2', '::1', '10.0.0.4']);
  assert.deepEqual(
    [c.topology.index, c.topology.count, c.topology.numTokens, c.topology.addressSource],
    [3, 4, 256, 'topology_addresses'],
  );

  let e = envError({ ZDM_PROXY_TOPOLOGY_ADDRESSES: '10.0.0.1,proxy2.example.com' });
  assert.equal(e.message, 'invalid proxy address in ZDM_PROXY_TOPOLOGY_ADDRESSES env var: proxy2.example.com');
  e = envError({ ZDM_PROXY_TOPOLOGY_ADDRESSES: '10.0.0.1,' });
  assert.equal(e.message, 'invalid proxy address in ZDM_PROXY_TOPOLOGY_ADDRESSES env var: ');
  e = envError({ ZDM_PROXY_TOPOLOGY_ADDRESSES: '10.0.0.1,10.0.0.2', ZDM_PROXY_TOPOLOGY_INDEX: '2' });
  assert.equal(
    e.message,
    'invalid ZDM_PROXY_TOPOLOGY_INDEX and ZDM_PROXY_TOPOLOGY_ADDRESSES values; proxy index (2) must be less than length of addresses (2) and non negative',
  );
  e = envError({ ZDM_PROXY_TOPOLOGY_INDEX: '-1' });
  assert.ok(e.message.includes('proxy index (-1) must be less than length of addresses (1)'));
  for (const n of ['0', '257', '-3']) {
    e = envError({ ZDM_PROXY_TOPOLOGY_NUM_TOKENS: n });
    assert.equal(e.message, `invalid ZDM_PROXY_TOPOLOGY_NUM_TOKENS (${n}), it must be positive and equal or less than 256`);
  }
});

test('topology without addresses: listen address (IPv4 literal, localhost, host name resolved later, IPv6 -> 127.0.0.1)', async () => {
  assert.deepEqual(loadEnv({ ZDM_PROXY_LISTEN_ADDRESS: '0.0.0.0' }).topology.addresses, ['0.0.0.0']);
  assert.deepEqual(loadEnv({ ZDM_PROXY_LISTEN_ADDRESS: '::1' }).topology.addresses, ['127.0.0.1']);
  const c = loadEnv({ ZDM_PROXY_LISTEN_ADDRESS: 'proxy.internal' });
  assert.equal(c.topology.addressSource, 'listen_address_unresolved');
  const t = await resolveTopology(c, async (host) => {
    assert.equal(host, 'proxy.internal');
    return [
      { address: 'fe80::1', family: 6 },
      { address: '10.1.2.3', family: 4 },
    ];
  });
  assert.deepEqual([t.addresses, t.addressSource, t.count], [['10.1.2.3'], 'listen_address', 1]);
  const f = await resolveTopology(c, async () => {
    throw new Error('ENOTFOUND');
  });
  assert.deepEqual([f.addresses, f.addressSource], [['127.0.0.1'], 'default']);
  const same = loadEnv();
  assert.equal(await resolveTopology(same), same.topology);
});

test('primary cluster, system queries mode and read mode (case-insensitive) with upstream errors', () => {
  assert.equal(loadEnv({ ZDM_PRIMARY_CLUSTER: 'Target' }).primaryCluster, 'TARGET');
  assert.equal(loadEnv({ ZDM_SYSTEM_QUERIES_MODE: 'target' }).systemQueriesMode, 'TARGET');
  assert.equal(loadEnv({ ZDM_READ_MODE: 'primary_only' }).readMode, 'PRIMARY_ONLY');
  assert.equal(
    envError({ ZDM_PRIMARY_CLUSTER: 'BOTH' }).message,
    'invalid value for ZDM_PRIMARY_CLUSTER; possible values are: ORIGIN and TARGET',
  );
  assert.equal(
    envError({ ZDM_SYSTEM_QUERIES_MODE: '' }).message,
    'invalid value for ZDM_SYSTEM_QUERIES_MODE; possible values are: TARGET and ORIGIN',
  );
  // upstream config_dual_reads_test.go
  assert.equal(
    envError({ ZDM_READ_MODE: 'DUAL_SYNC' }).message,
    'invalid value for ZDM_READ_MODE; possible values are: PRIMARY_ONLY and DUAL_ASYNC_ON_SECONDARY',
  );
  assert.equal(envError({ ZDM_READ_MODE: 'ASYNC_READS_ON_SECONDARY' }).settings[0], 'read_mode');
});

test('control connection max protocol version (upstream TestTargetConfig_ParsingControlConnMaxProtocolVersion)', () => {
  const ok: Array<[string, number]> = [
    ['2', 2],
    ['3', 3],
    ['4', 4],
    ['5', 5],
    ['DseV1', 0x41],
    ['DseV2', 0x42],
    ['dsev2', 0x42],
    ['DSEV1', 0x41],
  ];
  for (const [raw, v] of ok)
    assert.equal(loadEnv({ ZDM_CONTROL_CONN_MAX_PROTOCOL_VERSION: raw }).controlConnMaxProtocolVersion, v, raw);
  let e = envError({ ZDM_CONTROL_CONN_MAX_PROTOCOL_VERSION: '1' });
  assert.equal(e.upstreamMessage, 'invalid control connection max protocol version, valid values are 2, 3, 4, 5, DseV1, DseV2');
  assert.ok(e.message.includes('ZDM_CONTROL_CONN_MAX_PROTOCOL_VERSION'));
  e = envError({ ZDM_CONTROL_CONN_MAX_PROTOCOL_VERSION: 'Dsev123' });
  assert.equal(
    e.upstreamMessage,
    'could not parse control connection max protocol version, valid values are 2, 3, 4, 5, DseV1, DseV2; original err: strconv.ParseUint: parsing "Dsev123": invalid syntax',
  );
  for (const raw of ['v4', 'Dse_V1', '6', '+4'])
    assert.ok(
      envError({ ZDM_CONTROL_CONN_MAX_PROTOCOL_VERSION: raw }).message.includes('control connection max protocol version'),
      raw,
    );
});

test('blocked protocol versions (upstream config_blockedversions_test.go)', () => {
  const ok: Array<[string, number[]]> = [
    ['', []],
    [', ,  ,', []],
    ['v5', [5]],
    ['v2,v3,v5', [2, 3, 5]],
    ['2,3,5', [2, 3, 5]],
    ['2,V3,5', [2, 3, 5]],
    ['2,v2,3,v3,4,v4,5,v5,DSEv1,DSE_V1,DSEV2,DSE_V2', [2, 2, 3, 3, 4, 4, 5, 5, 0x41, 0x41, 0x42, 0x42]],
  ];
  for (const [raw, list] of ok) {
    const c = loadEnv({ ZDM_BLOCKED_PROTOCOL_VERSIONS: raw });
    assert.deepEqual(c.blockedProtocolVersions, list, raw);
    for (const v of list) assert.ok(c.blockedProtocolVersionSet.has(v));
  }
  const possible = '[2 3 4 5 DseV1 DseV2 Dse_V1 Dse_V2 v2 v3 v4 v5] (case insensitive)';
  assert.equal(
    envError({ ZDM_BLOCKED_PROTOCOL_VERSIONS: 'v1' }).message,
    `invalid value for ZDM_BLOCKED_PROTOCOL_VERSIONS (v1); possible values are: ${possible}`,
  );
  assert.equal(
    envError({ ZDM_BLOCKED_PROTOCOL_VERSIONS: 'v2, sdasd' }).message,
    `invalid value for ZDM_BLOCKED_PROTOCOL_VERSIONS (sdasd); possible values are: ${possible}`,
  );
  assert.throws(() => parseBlockedProtocolVersions('x'), ConfigError);
});

test('extension settings are range-checked with a message naming the variable', () => {
  assert.equal(loadEnv({ ZDM_MAX_FRAME_SIZE_BYTES: '0x100000' }).maxFrameSizeBytes, 1048576);
  assert.equal(loadEnv({ ZDM_SHUTDOWN_GRACE_PERIOD_MS: '0' }).shutdownGracePeriodMs, 0);
  assert.equal(loadEnv({ ZDM_PROXY_MAX_PREPARED_STATEMENTS: '5000' }).maxPreparedStatements, 5000);
  assert.equal(
    envError({ ZDM_MAX_FRAME_SIZE_BYTES: '0' }).message,
    'invalid value for ZDM_MAX_FRAME_SIZE_BYTES; it must be an integer between 1 and 2147483647',
  );
  assert.ok(envError({ ZDM_MAX_FRAME_SIZE_BYTES: '2147483648' }).message.includes('ZDM_MAX_FRAME_SIZE_BYTES'));
  assert.ok(envError({ ZDM_SHUTDOWN_GRACE_PERIOD_MS: '-1' }).message.includes('ZDM_SHUTDOWN_GRACE_PERIOD_MS'));
  assert.ok(envError({ ZDM_PROXY_MAX_PREPARED_STATEMENTS: '-5' }).message.includes('ZDM_PROXY_MAX_PREPARED_STATEMENTS'));
});

test('dual_read_compare_sample_rate: a number from 0 to 1, env and YAML, with a clear error', () => {
  assert.equal(loadEnv({ ZDM_DUAL_READ_COMPARE_SAMPLE_RATE: '0.25' }).settings.dual_read_compare_sample_rate, 0.25);
  assert.equal(loadEnv({ ZDM_DUAL_READ_COMPARE_SAMPLE_RATE: '0' }).settings.dual_read_compare_sample_rate, 0);
  assert.equal(loadEnv({ ZDM_DUAL_READ_COMPARE_ENABLED: 'true' }).settings.dual_read_compare_enabled, true);
  const msg = 'invalid value for ZDM_DUAL_READ_COMPARE_SAMPLE_RATE; it must be a number between 0 and 1';
  for (const bad of ['1.5', '-0.1']) {
    const e = envError({ ZDM_DUAL_READ_COMPARE_SAMPLE_RATE: bad });
    assert.equal(e.message, msg, bad);
    assert.deepEqual(e.settings, ['dual_read_compare_sample_rate']);
  }
  assert.equal(
    yamlConfig('origin_contact_points: a\ntarget_contact_points: b\ndual_read_compare_sample_rate: 0.5\n').settings
      .dual_read_compare_sample_rate,
    0.5,
  );
  assert.match(
    yamlError('origin_contact_points: a\ntarget_contact_points: b\ndual_read_compare_sample_rate: 2\n').message,
    /DUAL_READ_COMPARE_SAMPLE_RATE.*between 0 and 1/,
  );
  assert.ok(envError({ ZDM_DUAL_READ_COMPARE_SAMPLE_RATE: 'half' }).message.includes('ZDM_DUAL_READ_COMPARE_SAMPLE_RATE'));
  assert.ok(
    envError({ ZDM_DUAL_READ_COMPARE_CONFIRM_DELAY_MS: '-2' }).message.includes('ZDM_DUAL_READ_COMPARE_CONFIRM_DELAY_MS'),
  );
  assert.ok(envError({ ZDM_DUAL_READ_COMPARE_MAX_PENDING: '0' }).message.includes('ZDM_DUAL_READ_COMPARE_MAX_PENDING'));
});

test('validation order: the first failing rule of upstream order is reported', () => {
  const bad = {
    ZDM_LOG_LEVEL: 'x',
    ZDM_TARGET_CONTACT_POINTS: undefined,
    ZDM_ORIGIN_CONTACT_POINTS: undefined,
    ZDM_METRICS_ORIGIN_LATENCY_BUCKETS_MS: 'x',
    ZDM_METRICS_TARGET_LATENCY_BUCKETS_MS: 'x',
    ZDM_PROXY_TOPOLOGY_NUM_TOKENS: '0',
    ZDM_ORIGIN_TLS_CLIENT_KEY_PATH: '/k',
    ZDM_TARGET_TLS_CLIENT_KEY_PATH: '/k',
    ZDM_PROXY_TLS_KEY_PATH: '/k',
    ZDM_PRIMARY_CLUSTER: 'x',
    ZDM_SYSTEM_QUERIES_MODE: 'x',
    ZDM_READ_MODE: 'x',
    ZDM_CONTROL_CONN_MAX_PROTOCOL_VERSION: 'x',
    ZDM_BLOCKED_PROTOCOL_VERSIONS: 'x',
    ZDM_METRICS_ASYNC_READ_LATENCY_BUCKETS_MS: 'x',
    ZDM_MAX_FRAME_SIZE_BYTES: '0',
  };
  const expected = [
    ['ZDM_LOG_LEVEL', 'invalid log level'],
    ['ZDM_TARGET_CONTACT_POINTS', 'invalid target configuration'],
    ['ZDM_ORIGIN_CONTACT_POINTS', 'invalid origin configuration'],
    ['ZDM_METRICS_ORIGIN_LATENCY_BUCKETS_MS', 'could not parse origin buckets'],
    ['ZDM_METRICS_TARGET_LATENCY_BUCKETS_MS', 'could not parse target buckets'],
    ['ZDM_PROXY_TOPOLOGY_NUM_TOKENS', 'invalid ZDM_PROXY_TOPOLOGY_NUM_TOKENS'],
    ['ZDM_ORIGIN_TLS_CLIENT_KEY_PATH', 'incomplete TLS configuration for Origin'],
    ['ZDM_TARGET_TLS_CLIENT_KEY_PATH', 'incomplete TLS configuration for Target'],
    ['ZDM_PROXY_TLS_KEY_PATH', 'incomplete Proxy TLS configuration'],
    ['ZDM_PRIMARY_CLUSTER', 'invalid value for ZDM_PRIMARY_CLUSTER'],
    ['ZDM_SYSTEM_QUERIES_MODE', 'invalid value for ZDM_SYSTEM_QUERIES_MODE'],
    ['ZDM_READ_MODE', 'invalid value for ZDM_READ_MODE'],
    ['ZDM_CONTROL_CONN_MAX_PROTOCOL_VERSION', 'could not parse control connection max protocol version'],
    ['ZDM_BLOCKED_PROTOCOL_VERSIONS', 'invalid value for ZDM_BLOCKED_PROTOCOL_VERSIONS'],
    ['ZDM_METRICS_ASYNC_READ_LATENCY_BUCKETS_MS', 'could not parse async read buckets'],
    ['ZDM_MAX_FRAME_SIZE_BYTES', 'invalid value for ZDM_MAX_FRAME_SIZE_BYTES'],
  ];
  const env: Record<string, string | undefined> = { ...bad };
  for (const [name, prefix] of expected) {
    const e = envError(env);
    assert.ok(e.message.startsWith(prefix!), `${name}: got ${e.message}`);
    // fix this one and expect the next rule to fail
    if (name === 'ZDM_TARGET_CONTACT_POINTS' || name === 'ZDM_ORIGIN_CONTACT_POINTS') env[name] = 'h';
    else if (name === 'ZDM_MAX_FRAME_SIZE_BYTES') env[name] = '1024';
    else delete env[name];
  }
  assert.equal(loadEnv(env).maxFrameSizeBytes, 1024);
});
