// Loading (env vars OR a YAML file, never both), validation in upstream's order with upstream's
// error texts, and the derived, frozen ProxyConfig. Reference: upstream-spec.md 1.2, 1.4, 1.5.
import { type ClusterLabel, type ClusterName, clusterOfLabel, clusterTitle, otherCluster } from '../cluster';
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { availableParallelism } from 'node:os';
import { promises as dnsPromises } from 'node:dns';
import { LineCounter, parseAllDocuments, isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';

import {
  ConfigSchema,
  SETTING_DEFS,
  SETTING_KEYS,
  defaultSettings,
  envVarName,
  goFieldName,
  isSecretSetting,
  type SettingDef,
  type SettingKey,
  type SettingType,
  type Settings,
} from './schema';
import { ConfigError, type ConfigSource } from './errors';
import { GoParseError, goParseBool, goParseFloat, goParseInt, goParseUint32, goQuote } from './goparse';
import { FlagError, parseFlags } from './flags';
import {
  ProtocolVersion,
  ReadMode,
  type ClusterConfig,
  type ClusterTlsConfig,
  type LogLevel,
  type ProxyConfig,
  type ProxyTlsConfig,
  type TopologyConfig,
} from './types';

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadConfigOptions {
  /** Command-line arguments (without `node` and the script); only `--config` is used here. */
  readonly argv?: readonly string[];
  /** Environment (defaults to process.env). Ignored completely when a config file is given. */
  readonly env?: Env;
  /** YAML file path; takes precedence over argv. '' means env mode (as upstream). */
  readonly configPath?: string;
  /** File reader (tests); defaults to fs.readFileSync(path, 'utf8'). */
  readonly readFile?: (path: string) => string;
}

/** Internal validation failure: upstream text plus the settings involved. */
class Invalid extends Error {
  constructor(
    message: string,
    readonly keys: readonly SettingKey[],
  ) {
    super(message);
  }
}

function fail(message: string, keys: readonly SettingKey[]): never {
  throw new Invalid(message, keys);
}

// ---------------------------------------------------------------------------------------------
// Entry point

export function loadConfig(opts: LoadConfigOptions = {}): ProxyConfig {
  let configPath = opts.configPath;
  if (configPath === undefined && opts.argv) {
    try {
      configPath = parseFlags(opts.argv).configPath;
    } catch (e) {
      if (e instanceof FlagError) throw new ConfigError(e.message);
      throw e;
    }
  }
  if (configPath) {
    const settings = decodeYamlFile(configPath, opts.readFile ?? ((p) => readFileSync(p, 'utf8')));
    return buildConfig(settings, 'yaml', configPath);
  }
  const settings = decodeEnv(opts.env ?? process.env);
  return buildConfig(settings, 'env', undefined);
}

// ---------------------------------------------------------------------------------------------
// Env mode (kelseyhightower/envconfig v1.4.0 semantics)

const GO_TYPE: Record<SettingType, string> = { string: 'string', int: 'int', bool: 'bool', float: 'float64' };

function parseScalarGo(type: SettingType, raw: string): string | number | boolean {
  switch (type) {
    case 'string':
      return raw;
    case 'int':
      return goParseInt(raw);
    case 'bool':
      return goParseBool(raw);
    case 'float':
      return goParseFloat(raw);
  }
}

/** Decode settings from ZDM_* env vars: present-but-empty overrides the default; required = present. */
export function decodeEnv(env: Env): Settings {
  const out: Record<string, unknown> = { ...defaultSettings() };
  for (const key of SETTING_KEYS) {
    const def = SETTING_DEFS[key] as SettingDef;
    const name = envVarName(key);
    const raw = Object.hasOwn(env, name) ? env[name] : undefined;
    if (raw === undefined) {
      if (def.required) {
        throw new ConfigError(`could not load environment variables: required key ${name} missing value`, [key], 'env');
      }
      continue;
    }
    try {
      out[key] = parseScalarGo(def.type, raw);
    } catch (e) {
      if (!(e instanceof GoParseError)) throw e;
      throw new ConfigError(
        `could not load environment variables: envconfig.Process: assigning ${name} to ${goFieldName(key)}: ` +
          `converting '${raw}' to type ${GO_TYPE[def.type]}. details: ${e.message}`,
        [key],
        'env',
      );
    }
  }
  return out as Settings;
}

// ---------------------------------------------------------------------------------------------
// YAML mode (defaults first, then gopkg.in/yaml.v3 decoding rules; unknown keys ignored)

function goOpenError(path: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === 'ENOENT') return `open ${path}: no such file or directory`;
  if (err && err.code === 'EACCES') return `open ${path}: permission denied`;
  if (err && err.code === 'EISDIR') return `read ${path}: is a directory`;
  const m = /^[A-Z]+: ([^,]+)/.exec(err?.message ?? String(e));
  return `open ${path}: ${m ? m[1] : String(e)}`;
}

type Resolved =
  | { tag: '!!null' }
  | { tag: '!!bool'; value: boolean }
  | { tag: '!!int'; value: number }
  | { tag: '!!float'; value: number }
  | { tag: '!!str'; value: string };

const YAML_NULL = new Set(['', '~', 'null', 'Null', 'NULL']);
const YAML_TRUE = new Set(['true', 'True', 'TRUE']);
const YAML_FALSE = new Set(['false', 'False', 'FALSE']);
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
/** YAML 1.1 booleans yaml.v3 still accepts when decoding into a typed bool. */
const YAML11_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const YAML11_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);

/** yaml.v3 `resolve` for a plain (unquoted) scalar. */
function resolvePlain(s: string): Resolved {
  if (YAML_NULL.has(s)) return { tag: '!!null' };
  if (YAML_TRUE.has(s)) return { tag: '!!bool', value: true };
  if (YAML_FALSE.has(s)) return { tag: '!!bool', value: false };
  if (/^[+]?\.(inf|Inf|INF)$/.test(s)) return { tag: '!!float', value: Infinity };
  if (/^-\.(inf|Inf|INF)$/.test(s)) return { tag: '!!float', value: -Infinity };
  if (/^\.(nan|NaN|NAN)$/.test(s)) return { tag: '!!float', value: NaN };
  if (/^[-+0-9.]/.test(s)) {
    const plain = s.replace(/_/g, '');
    try {
      return { tag: '!!int', value: goParseInt(plain) };
    } catch {
      /* not an int */
    }
    if (/^\+?[0-9]+$/.test(plain) && BigInt(plain) <= 0xffffffffffffffffn) return { tag: '!!int', value: Number(plain) };
    if (YAML_STYLE_FLOAT.test(plain)) return { tag: '!!float', value: Number(plain) };
  }
  return { tag: '!!str', value: s };
}

interface YamlTypeError {
  line: number;
  text: string;
  key: SettingKey;
}

function shortValue(r: Resolved, source: string): string {
  return r.tag === '!!null' ? '' : ` \`${source}\``;
}

/**
 * Decode one scalar node for a setting. Returns undefined to keep the default (null), or the value.
 * Throws a string (yaml.v3 style "cannot unmarshal ...") on a type mismatch.
 */
function decodeYamlValue(type: SettingType, node: YamlNode | null, doc: Document): unknown {
  if (node === null || node === undefined) return undefined;
  if (isAlias(node)) node = node.resolve(doc) as YamlNode;
  const into = GO_TYPE[type];
  if (isMap(node)) throw `cannot unmarshal !!map into ${into}`;
  if (isSeq(node)) throw `cannot unmarshal !!seq into ${into}`;
  if (!isScalar(node)) throw `cannot unmarshal node into ${into}`;
  const text = node.value === null || node.value === undefined ? '' : String(node.value);
  const plain = node.type === 'PLAIN' && node.tag !== '!!str' && node.tag !== 'tag:yaml.org,2002:str';
  const r: Resolved = plain ? resolvePlain(text) : { tag: '!!str', value: text };
  if (r.tag === '!!null') return undefined;
  switch (type) {
    case 'string':
      return text;
    case 'int':
      if (r.tag === '!!int') return r.value;
      break;
    case 'float':
      if (r.tag === '!!int' || r.tag === '!!float') return r.value;
      break;
    case 'bool':
      if (r.tag === '!!bool') return r.value;
      if (r.tag === '!!str' && YAML11_TRUE.has(text)) return true;
      if (r.tag === '!!str' && YAML11_FALSE.has(text)) return false;
      break;
  }
  throw `cannot unmarshal ${r.tag}${shortValue(r, text)} into ${into}`;
}

/** Read and decode a YAML config file (defaults first; unknown keys ignored; `required` not enforced). */
export function decodeYamlFile(path: string, readFile: (p: string) => string): Settings {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new ConfigError(`could not read configuration file ${path}: ${goOpenError(path, e)}`, [], 'yaml');
  }
  return decodeYamlText(text, path);
}

/** Decode YAML text (exported for tests); `path` only appears in error messages. */
export function decodeYamlText(text: string, path = '<config>'): Settings {
  const prefix = `could not parse yaml file ${path}: `;
  const lc = new LineCounter();
  const parsed = parseAllDocuments(text, { schema: 'failsafe', lineCounter: lc, uniqueKeys: true, prettyErrors: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  const doc = docs[0];
  if (!doc) throw new ConfigError(`${prefix}EOF`, [], 'yaml');
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line ?? 1;
    const msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(`${prefix}yaml: line ${line}: ${msg}`, [], 'yaml');
  }
  const root = doc.contents;
  if (root === null || root === undefined) throw new ConfigError(`${prefix}EOF`, [], 'yaml');
  const lineOf = (n: YamlNode | null | undefined): number => (n?.range ? lc.linePos(n.range[0]).line : 1);
  if (!isMap(root)) {
    const what = isSeq(root) ? '!!seq' : isScalar(root) ? `!!str \`${String(root.value)}\`` : 'node';
    throw new ConfigError(
      `${prefix}yaml: unmarshal errors:\n  line ${lineOf(root)}: cannot unmarshal ${what} into config.Config`,
      [],
      'yaml',
    );
  }
  const out: Record<string, unknown> = { ...defaultSettings() };
  const errors: YamlTypeError[] = [];
  for (const item of root.items) {
    const keyNode = item.key as YamlNode | null;
    if (!isScalar(keyNode)) continue;
    const key = String(keyNode.value);
    if (!Object.hasOwn(SETTING_DEFS, key)) continue; // unknown keys are ignored
    const def = SETTING_DEFS[key as SettingKey] as SettingDef;
    const valueNode = item.value as YamlNode | null;
    try {
      const v = decodeYamlValue(def.type, valueNode, doc);
      if (v !== undefined) out[key] = v;
    } catch (e) {
      if (typeof e !== 'string') throw e;
      errors.push({ line: lineOf(valueNode ?? keyNode), text: e, key: key as SettingKey });
    }
  }
  if (errors.length > 0) {
    const lines = errors.map((e) => `  line ${e.line}: ${e.text}`).join('\n');
    throw new ConfigError(
      `${prefix}yaml: unmarshal errors:\n${lines}`,
      errors.map((e) => e.key),
      'yaml',
    );
  }
  return out as Settings;
}

// ---------------------------------------------------------------------------------------------
// Individual parsers (upstream `Config.Parse*`); they throw Invalid with upstream's text.

const LOG_LEVELS: Record<string, LogLevel> = {
  panic: 'panic',
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  warning: 'warn',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
};

function parseLogLevelInternal(value: string): LogLevel {
  const trimmed = value.trim();
  const lvl = LOG_LEVELS[trimmed.toLowerCase()];
  if (lvl) return lvl;
  fail(
    'invalid log level, valid log levels are PANIC, FATAL, ERROR, WARN or WARNING, INFO, DEBUG and TRACE; ' +
      `original err: not a valid logrus Level: ${goQuote(trimmed)}`,
    ['log_level'],
  );
}

function parseBucketsInternal(value: string, key: SettingKey): number[] {
  const out: number[] = [];
  for (const item of value.split(',')) {
    let ms: number;
    try {
      ms = goParseFloat(item.trim());
    } catch {
      fail(`unable to parse buckets from ${value}: could not convert ${item} to float`, [key]);
    }
    out.push(ms / 1000);
  }
  return out;
}

function parseContactPointsInternal(s: Settings, cluster: ClusterLabel): string[] {
  const C = clusterTitle(cluster);
  const k = (suffix: string) => `${cluster}_${suffix}` as SettingKey;
  const scb = s[k('secure_connect_bundle_path')] as string;
  const cps = s[k('contact_points')] as string;
  const dc = s[k('local_datacenter')] as string;
  const port = s[k('port')] as number;
  const hostAssignment = s[k('enable_host_assignment')] as boolean;
  if (scb !== '' && cps !== '') {
    fail(`${C}SecureConnectBundlePath and ${C}ContactPoints are mutually exclusive. Please specify only one of them.`, [
      k('secure_connect_bundle_path'),
      k('contact_points'),
    ]);
  }
  if (scb !== '' && dc !== '') {
    fail(`${C}SecureConnectBundlePath and ${C}LocalDatacenter are mutually exclusive. Please specify only one of them.`, [
      k('secure_connect_bundle_path'),
      k('local_datacenter'),
    ]);
  }
  if (scb === '' && cps === '') {
    fail(`Both ${C}SecureConnectBundlePath and ${C}ContactPoints are empty. Please specify either one of them.`, [
      k('secure_connect_bundle_path'),
      k('contact_points'),
    ]);
  }
  if (cps !== '' && port === 0) {
    fail(`${C}ContactPoints was specified but the port is missing. Please provide ${C}Port`, [k('contact_points'), k('port')]);
  }
  if (!hostAssignment && dc !== '') {
    fail(
      `${C}LocalDatacenter was specified but ${C}EnableHostAssignment is false. Please enable host assignment or don't set the datacenter.`,
      [k('local_datacenter'), k('enable_host_assignment')],
    );
  }
  if (scb !== '') return [];
  // Upstream removes spaces only and keeps empty items; we also drop empty items (see report).
  const list = cps
    .replace(/ /g, '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  if (list.length === 0) fail(`could not parse ${cluster} contact points: ${cps}`, [k('contact_points')]);
  return list;
}

/** net.ParseIP look-alike: canonical text form, or undefined. IPv4-mapped IPv6 becomes dotted IPv4. */
function parseIp(s: string): string | undefined {
  if (isIPv4(s)) return s;
  if (s.includes('%') || !isIPv6(s)) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  return new URL(`http://[${s}]/`).hostname.slice(1, -1);
}

function parseTopologyInternal(s: Settings): TopologyConfig {
  let addresses: string[];
  let addressSource: TopologyConfig['addressSource'];
  if (s.proxy_topology_addresses === '') {
    const listen = s.proxy_listen_address;
    const ip = listen === '' ? undefined : parseIp(listen);
    if (listen === '') {
      addresses = ['127.0.0.1'];
      addressSource = 'default';
    } else if (ip !== undefined) {
      // An IP literal "resolves" to itself; only IPv4 is usable (lookupFirstIp4), else 127.0.0.1.
      if (isIPv4(ip)) [addresses, addressSource] = [[ip], 'listen_address'];
      else [addresses, addressSource] = [['127.0.0.1'], 'default'];
    } else if (listen.toLowerCase() === 'localhost') {
      [addresses, addressSource] = [['127.0.0.1'], 'listen_address'];
    } else {
      [addresses, addressSource] = [['127.0.0.1'], 'listen_address_unresolved'];
    }
  } else {
    addresses = [];
    addressSource = 'topology_addresses';
    for (const item of s.proxy_topology_addresses.replace(/ /g, '').split(',')) {
      const ip = parseIp(item);
      if (ip === undefined)
        fail(`invalid proxy address in ZDM_PROXY_TOPOLOGY_ADDRESSES env var: ${item}`, ['proxy_topology_addresses']);
      addresses.push(ip);
    }
  }
  const count = addresses.length;
  const index = s.proxy_topology_index;
  if (index < 0 || index >= count) {
    fail(
      'invalid ZDM_PROXY_TOPOLOGY_INDEX and ZDM_PROXY_TOPOLOGY_ADDRESSES values; ' +
        `proxy index (${index}) must be less than length of addresses (${count}) and non negative`,
      ['proxy_topology_index', 'proxy_topology_addresses'],
    );
  }
  const numTokens = s.proxy_topology_num_tokens;
  if (numTokens <= 0 || numTokens > 256) {
    fail(`invalid ZDM_PROXY_TOPOLOGY_NUM_TOKENS (${numTokens}), it must be positive and equal or less than 256`, [
      'proxy_topology_num_tokens',
    ]);
  }
  return { virtualizationEnabled: true, addresses, addressSource, index, count, numTokens };
}

function parseClusterTlsInternal(s: Settings, cluster: ClusterLabel): ClusterTlsConfig {
  const C = clusterTitle(cluster);
  const k = (suffix: string) => `${cluster}_${suffix}` as SettingKey;
  const scb = s[k('secure_connect_bundle_path')] as string;
  const ca = s[k('tls_server_ca_path')] as string;
  const cert = s[k('tls_client_cert_path')] as string;
  const key = s[k('tls_client_key_path')] as string;
  const skip = s[k('tls_skip_hostname_verification')] as boolean;
  const base = {
    serverCaPath: ca,
    clientCertPath: cert,
    clientKeyPath: key,
    secureConnectBundlePath: scb,
    skipHostnameVerification: skip,
  };
  // upstream says hostname verification is not supported; this port verifies unless told not to
  const hostnames = skip
    ? `Hostname verification is off (${k('tls_skip_hostname_verification')}=true): only the certificate chain is checked.`
    : `Hostname verification is on (${k('tls_skip_hostname_verification')}=true turns it off).`;
  if (scb === '' && ca === '' && cert === '' && key === '') {
    return { ...base, enabled: false, mode: 'none', logMessage: `TLS was not configured for ${C}` };
  }
  if (scb !== '') {
    if (ca !== '' || cert !== '' || key !== '') {
      fail(
        `Incorrect TLS configuration for ${C}: Secure Connect Bundle and custom TLS parameters cannot be specified at the same time.`,
        [k('secure_connect_bundle_path'), k('tls_server_ca_path'), k('tls_client_cert_path'), k('tls_client_key_path')],
      );
    }
    return {
      ...base,
      enabled: true,
      mode: 'secure-connect-bundle',
      logMessage: `Mutual TLS configured for ${C} using an Astra secure connect bundle`,
    };
  }
  if (ca !== '' && cert === '' && key === '') {
    return {
      ...base,
      enabled: true,
      mode: 'one-way',
      logMessage: `One-way TLS configured for ${C}. ${hostnames}`,
    };
  }
  if (ca !== '' && cert !== '' && key !== '') {
    return {
      ...base,
      enabled: true,
      mode: 'mutual',
      logMessage: `Mutual TLS configured for ${C}. ${hostnames}`,
    };
  }
  fail(
    `incomplete TLS configuration for ${C}: when using mutual TLS, please specify Server CA path, Client Cert path and Client Key path`,
    [k('tls_server_ca_path'), k('tls_client_cert_path'), k('tls_client_key_path')],
  );
}

function parseProxyTlsInternal(s: Settings): ProxyTlsConfig {
  const ca = s.proxy_tls_ca_path;
  const cert = s.proxy_tls_cert_path;
  const key = s.proxy_tls_key_path;
  const base = { caPath: ca, certPath: cert, keyPath: key, requireClientAuth: s.proxy_tls_require_client_auth };
  if (ca === '' && cert === '' && key === '') return { ...base, enabled: false, logMessage: 'Proxy TLS was not configured.' };
  if (ca !== '' && cert !== '' && key !== '') {
    return {
      ...base,
      enabled: true,
      logMessage: 'Proxy TLS configured. Please note that hostname verification is not currently supported.',
    };
  }
  fail('incomplete Proxy TLS configuration: when enabling proxy TLS, please specify CA path, Cert path and Key path', [
    'proxy_tls_ca_path',
    'proxy_tls_cert_path',
    'proxy_tls_key_path',
  ]);
}

function parseClusterNameInternal(value: string, key: SettingKey, envName: string, first: ClusterName): ClusterName {
  const up = value.toUpperCase();
  if (up === 'ORIGIN' || up === 'TARGET') return up;
  const second = otherCluster(first);
  fail(`invalid value for ${envName}; possible values are: ${first} and ${second}`, [key]);
}

function parseReadModeInternal(value: string): ReadMode {
  const up = value.toUpperCase();
  if (up === ReadMode.PRIMARY_ONLY) return ReadMode.PRIMARY_ONLY;
  if (up === ReadMode.DUAL_ASYNC_ON_SECONDARY) return ReadMode.DUAL_ASYNC_ON_SECONDARY;
  fail('invalid value for ZDM_READ_MODE; possible values are: PRIMARY_ONLY and DUAL_ASYNC_ON_SECONDARY', ['read_mode']);
}

function parseControlConnMaxProtocolVersionInternal(value: string): ProtocolVersion {
  const lower = value.toLowerCase();
  if (lower === 'dsev2') return ProtocolVersion.DSE_V2;
  if (lower === 'dsev1') return ProtocolVersion.DSE_V1;
  let v: number;
  try {
    v = goParseUint32(value);
  } catch (e) {
    fail(
      'could not parse control connection max protocol version, valid values are 2, 3, 4, 5, DseV1, DseV2; ' +
        `original err: ${(e as Error).message}`,
      ['control_conn_max_protocol_version'],
    );
  }
  if (v < 2 || v > 5) {
    fail('invalid control connection max protocol version, valid values are 2, 3, 4, 5, DseV1, DseV2', [
      'control_conn_max_protocol_version',
    ]);
  }
  return v as ProtocolVersion;
}

const BLOCKABLE: Record<string, ProtocolVersion> = {
  '2': ProtocolVersion.V2,
  v2: ProtocolVersion.V2,
  '3': ProtocolVersion.V3,
  v3: ProtocolVersion.V3,
  '4': ProtocolVersion.V4,
  v4: ProtocolVersion.V4,
  '5': ProtocolVersion.V5,
  v5: ProtocolVersion.V5,
  dsev1: ProtocolVersion.DSE_V1,
  dse_v1: ProtocolVersion.DSE_V1,
  dsev2: ProtocolVersion.DSE_V2,
  dse_v2: ProtocolVersion.DSE_V2,
};

function parseBlockedProtocolVersionsInternal(value: string): ProtocolVersion[] {
  const out: ProtocolVersion[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const v = BLOCKABLE[item.toLowerCase()];
    if (v === undefined) {
      fail(
        `invalid value for ZDM_BLOCKED_PROTOCOL_VERSIONS (${item}); possible values are: ` +
          '[2 3 4 5 DseV1 DseV2 Dse_V1 Dse_V2 v2 v3 v4 v5] (case insensitive)',
        ['blocked_protocol_versions'],
      );
    }
    out.push(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation and derived config

function wrap<T>(source: ConfigSource, prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Invalid) throw new ConfigError(prefix + e.message, e.keys, source);
    throw e;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

function clusterConfig(s: Settings, cluster: ClusterLabel, contactPoints: string[], tls: ClusterTlsConfig): ClusterConfig {
  const g = <T>(suffix: string) => s[`${cluster}_${suffix}` as SettingKey] as T;
  return {
    cluster: clusterOfLabel(cluster),
    contactPoints,
    port: g<number>('port'),
    secureConnectBundlePath: g<string>('secure_connect_bundle_path'),
    localDatacenter: g<string>('local_datacenter'),
    username: g<string>('username'),
    password: g<string>('password'),
    connectionTimeoutMs: g<number>('connection_timeout_ms'),
    enableHostAssignment: g<boolean>('enable_host_assignment'),
    tls,
  };
}

/**
 * Validate decoded settings in upstream's order (first failure wins) and build the frozen ProxyConfig.
 * Order: log level, TARGET contact points, ORIGIN contact points, ORIGIN buckets, TARGET buckets, topology,
 * ORIGIN TLS, TARGET TLS, proxy TLS, primary cluster, system queries mode, read mode, control connection max
 * protocol version, blocked protocol versions; then (ours) async read buckets and the extension settings.
 */
export function buildConfig(settings: Settings, source: ConfigSource, configFile?: string): ProxyConfig {
  const s = settings;
  const logLevel = wrap(source, 'invalid log level: ', () => parseLogLevelInternal(s.log_level));
  const targetCps = wrap(source, 'invalid target configuration: ', () => parseContactPointsInternal(s, 'target'));
  const originCps = wrap(source, 'invalid origin configuration: ', () => parseContactPointsInternal(s, 'origin'));
  const originBuckets = wrap(source, 'could not parse origin buckets: ', () =>
    parseBucketsInternal(s.metrics_origin_latency_buckets_ms, 'metrics_origin_latency_buckets_ms'),
  );
  const targetBuckets = wrap(source, 'could not parse target buckets: ', () =>
    parseBucketsInternal(s.metrics_target_latency_buckets_ms, 'metrics_target_latency_buckets_ms'),
  );
  const topology = wrap(source, '', () => parseTopologyInternal(s));
  const originTls = wrap(source, '', () => parseClusterTlsInternal(s, 'origin'));
  const targetTls = wrap(source, '', () => parseClusterTlsInternal(s, 'target'));
  const proxyTls = wrap(source, '', () => parseProxyTlsInternal(s));
  const primaryCluster = wrap(source, '', () =>
    parseClusterNameInternal(s.primary_cluster, 'primary_cluster', 'ZDM_PRIMARY_CLUSTER', 'ORIGIN'),
  );
  const systemQueriesMode = wrap(source, '', () =>
    parseClusterNameInternal(s.system_queries_mode, 'system_queries_mode', 'ZDM_SYSTEM_QUERIES_MODE', 'TARGET'),
  );
  const readMode = wrap(source, '', () => parseReadModeInternal(s.read_mode));
  const controlConnMaxProtocolVersion = wrap(source, '', () =>
    parseControlConnMaxProtocolVersionInternal(s.control_conn_max_protocol_version),
  );
  const blocked = wrap(source, '', () => parseBlockedProtocolVersionsInternal(s.blocked_protocol_versions));
  // Upstream parses the async buckets only when creating the proxy; we fail at load time instead.
  const asyncBuckets = wrap(source, 'could not parse async read buckets: ', () =>
    parseBucketsInternal(s.metrics_async_read_latency_buckets_ms, 'metrics_async_read_latency_buckets_ms'),
  );
  // Our extensions (and a type sanity check of everything): zod.
  const checked = ConfigSchema.safeParse(s);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const key = String(issue.path[0] ?? '') as SettingKey;
    throw new ConfigError(issue.message, key ? [key] : [], source);
  }

  const config: ProxyConfig = {
    settings: { ...checked.data },
    source,
    configFile,
    logLevel,
    primaryCluster,
    secondaryCluster: otherCluster(primaryCluster),
    readMode,
    dualReadsEnabled: readMode === ReadMode.DUAL_ASYNC_ON_SECONDARY,
    systemQueriesMode,
    controlConnMaxProtocolVersion,
    blockedProtocolVersions: blocked,
    blockedProtocolVersionSet: new Set(blocked),
    topology,
    origin: clusterConfig(s, 'origin', originCps, originTls),
    target: clusterConfig(s, 'target', targetCps, targetTls),
    proxyTls,
    latencyBuckets: { origin: originBuckets, target: targetBuckets, asyncRead: asyncBuckets },
    maxFrameSizeBytes: checked.data.max_frame_size_bytes,
    shutdownGracePeriodMs: checked.data.shutdown_grace_period_ms,
    maxPreparedStatements: checked.data.proxy_max_prepared_statements,
    workers: resolveWorkers(checked.data.proxy_workers),
  };
  return deepFreeze(config);
}

/** proxy_workers (already checked by the schema) -> a count: 0 and "auto" mean one worker per CPU. */
export function resolveWorkers(value: string, cpus: () => number = availableParallelism): number {
  const v = value.trim().toLowerCase();
  const n = v === 'auto' ? 0 : Number(v);
  return n === 0 ? Math.max(1, cpus()) : n;
}

/** Validate decoded settings; throws ConfigError with upstream's text, returns nothing. */
export function validate(settings: Settings, source: ConfigSource = 'env'): void {
  buildConfig(settings, source);
}

// ---------------------------------------------------------------------------------------------
// Public single-value parsers (throw ConfigError with upstream's text)

function publicParser<A extends unknown[], R>(fn: (...a: A) => R) {
  return (...a: A): R => wrap('env', '', () => fn(...a));
}

export const parseLogLevel = publicParser(parseLogLevelInternal);
export const parseBlockedProtocolVersions = publicParser(parseBlockedProtocolVersionsInternal);
export const parseControlConnMaxProtocolVersion = publicParser(parseControlConnMaxProtocolVersionInternal);
export const parseReadMode = publicParser(parseReadModeInternal);
/** Latency buckets string (ms) -> seconds. */
export const parseLatencyBuckets = publicParser((value: string) =>
  parseBucketsInternal(value, 'metrics_origin_latency_buckets_ms'),
);

// ---------------------------------------------------------------------------------------------
// Topology resolution (DNS) and description

export type LookupAll = (host: string) => Promise<Array<{ address: string; family: number }>>;

const defaultLookup: LookupAll = (host) => dnsPromises.lookup(host, { all: true });

/**
 * Topology with proxy_listen_address resolved by DNS when needed (upstream-spec-notes 1.5: first IPv4 of the listen
 * address, else 127.0.0.1). Call once at startup; returns config.topology unchanged when no lookup is needed.
 */
export async function resolveTopology(config: ProxyConfig, lookup: LookupAll = defaultLookup): Promise<TopologyConfig> {
  const t = config.topology;
  if (t.addressSource !== 'listen_address_unresolved') return t;
  let addresses = ['127.0.0.1'];
  let addressSource: TopologyConfig['addressSource'] = 'default';
  try {
    const found = (await lookup(config.settings.proxy_listen_address)).find((a) => a.family === 4);
    if (found) [addresses, addressSource] = [[found.address], 'listen_address'];
  } catch {
    /* falls back to 127.0.0.1, as upstream (logged at debug there) */
  }
  return deepFreeze({ ...t, addresses, addressSource });
}

/**
 * The effective configuration for the startup log line ("Parsed configuration: ..."): every setting by
 * YAML key, passwords omitted (as upstream's `json:"-"`), plus the config source.
 */
export function describeConfig(config: ProxyConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    if (isSecretSetting(key)) continue;
    out[key] = config.settings[key];
  }
  return out;
}

/** Alias of describeConfig. */
export const toLogObject = describeConfig;
