// The single description of every configuration setting: YAML key, type, default, meaning and
// (for our extensions) validation. Everything else — the zod schema, env var names, defaults,
// `--help` text, the README table — is derived from SETTING_DEFS below.
//
// Upstream reference: datastax/zdm-proxy v2.4 `proxy/pkg/config/config.go` (spec section 1.3).
// Env var name = `ZDM_` + upper-case YAML key, always.
import { z } from 'zod';

export type SettingType = 'string' | 'int' | 'bool' | 'float';
export type SettingValue<T extends SettingType> = T extends 'string' ? string : T extends 'bool' ? boolean : number;

export type SettingGroup =
  | 'global'
  | 'topology'
  | 'origin'
  | 'target'
  | 'proxy'
  | 'metrics'
  | 'heartbeat'
  | 'unsupported'
  | 'tuning'
  | 'extension';

export interface SettingDef<T extends SettingType = SettingType, Z extends z.ZodType = z.ZodType> {
  readonly type: T;
  /** Default value (Go zero value when upstream has no `default:` tag). */
  readonly default: SettingValue<T>;
  /** `required:"true"` upstream: the env var must be present in env mode (may be empty). Not enforced in YAML mode. */
  readonly required: boolean;
  readonly group: SettingGroup;
  /** Listed upstream under "THE SETTINGS BELOW AREN'T SUPPORTED AND MAY CHANGE AT ANY TIME". */
  readonly unsupported: boolean;
  /** Not an upstream setting: added by this port. */
  readonly extension: boolean;
  /** Never logged or described (passwords). */
  readonly secret: boolean;
  readonly description: string;
  /** zod type of the decoded value, with the default applied. */
  readonly zod: Z;
}

interface Opts {
  required?: boolean;
  unsupported?: boolean;
  extension?: boolean;
  secret?: boolean;
}

function mk<T extends SettingType, Z extends z.ZodType>(
  type: T,
  def: SettingValue<T>,
  group: SettingGroup,
  description: string,
  zod: Z,
  o: Opts = {},
): SettingDef<T, Z> {
  return {
    type,
    default: def,
    required: o.required ?? false,
    group,
    unsupported: o.unsupported ?? false,
    extension: o.extension ?? false,
    secret: o.secret ?? false,
    description,
    zod,
  };
}

const str = (def: string, group: SettingGroup, description: string, o?: Opts) =>
  mk('string', def, group, description, z.string().default(def), o);
const int = (def: number, group: SettingGroup, description: string, o?: Opts) =>
  mk('int', def, group, description, z.number().int().default(def), o);
const bool = (def: boolean, group: SettingGroup, description: string, o?: Opts) =>
  mk('bool', def, group, description, z.boolean().default(def), o);
const float = (def: number, group: SettingGroup, description: string, o?: Opts) =>
  mk('float', def, group, description, z.number().default(def), o);

/** Extension int with a checked range; the message names the env var and the accepted range. */
function extInt(def: number, min: number, max: number, description: string) {
  return (key: string) => {
    const env = envVarName(key);
    const msg = `invalid value for ${env}; it must be an integer between ${min} and ${max}`;
    return mk(
      'int',
      def,
      'extension',
      description,
      z.number().int({ message: msg }).min(min, { message: msg }).max(max, { message: msg }).default(def),
      { extension: true },
    );
  };
}

/** Extension float with a checked range; the message names the env var and the accepted range. */
function extFloat(def: number, min: number, max: number, description: string) {
  return (key: string) => {
    const env = envVarName(key);
    const msg = `invalid value for ${env}; it must be a number between ${min} and ${max}`;
    return mk(
      'float',
      def,
      'extension',
      description,
      z.number({ message: msg }).min(min, { message: msg }).max(max, { message: msg }).default(def),
      { extension: true },
    );
  };
}

const PROXY_WORKERS_ERROR =
  'invalid value for ZDM_PROXY_WORKERS; it must be a whole number from 1 to 256, or 0 or "auto" (one worker per CPU)';

export const DEFAULT_LATENCY_BUCKETS_MS = '1, 4, 7, 10, 25, 40, 60, 80, 100, 150, 250, 500, 1000, 2500, 5000, 10000, 15000';

/** Largest signed 32-bit value: a frame body length is an [int] on the wire. */
export const MAX_INT32 = 2147483647;

export const SETTING_DEFS = {
  // ---- Global
  primary_cluster: str(
    'ORIGIN',
    'global',
    'ORIGIN or TARGET (case-insensitive): cluster that serves synchronous reads; its response is returned for successful writes.',
  ),
  read_mode: str(
    'PRIMARY_ONLY',
    'global',
    'PRIMARY_ONLY or DUAL_ASYNC_ON_SECONDARY (case-insensitive): with dual reads, reads are also sent asynchronously to the secondary cluster.',
  ),
  replace_cql_functions: bool(
    false,
    'global',
    'Replace now(), currentTimeUUID(), uuid(), currentTimestamp(), currentDate(), currentTime() in INSERT/UPDATE/DELETE/BATCH with one proxy-generated value for both clusters (noticeable performance cost).',
  ),
  async_handshake_timeout_ms: int(4000, 'global', 'Per-request timeout of the async connector handshake requests.'),
  log_level: str('INFO', 'global', 'PANIC, FATAL, ERROR, WARN or WARNING, INFO, DEBUG, TRACE (case-insensitive).'),
  control_conn_max_protocol_version: str(
    'DseV2',
    'global',
    'Highest protocol version tried by control connections: 2, 3, 4, 5, DseV1 or DseV2 (case-insensitive).',
  ),
  blocked_protocol_versions: str(
    '',
    'global',
    'Comma list of protocol versions refused on client connections: 2 v2 3 v3 4 v4 5 v5 DseV1 Dse_V1 DseV2 Dse_V2 (case-insensitive).',
  ),
  tracing_enabled: bool(false, 'global', 'Add a request id to QUERY/PREPARE/EXECUTE/BATCH custom payloads.'),
  tracing_rate_limit: int(0, 'global', 'Request ids per second (token bucket rate and burst); <= 0 means unlimited.'),
  tracing_request_id_key: str('request-id', 'global', 'Custom payload key of the request id.'),

  // ---- Proxy topology (system.peers virtualization)
  proxy_topology_index: int(
    0,
    'topology',
    'Index of this proxy instance in proxy_topology_addresses (0 <= index < number of addresses).',
  ),
  proxy_topology_addresses: str(
    '',
    'topology',
    'Comma list of the IP addresses of all proxy instances, identical (same order) on every instance. Empty: this instance only, advertised with the first IPv4 of proxy_listen_address (else 127.0.0.1).',
  ),
  proxy_topology_num_tokens: int(8, 'topology', 'Virtual tokens per proxy instance, 1..256.'),

  // ---- Origin
  origin_contact_points: str(
    '',
    'origin',
    'Comma list of ORIGIN hosts (no per-host port). Exclusive with origin_secure_connect_bundle_path; one of them is required.',
  ),
  origin_port: int(9042, 'origin', 'Port of the ORIGIN contact points and of every discovered ORIGIN node.'),
  origin_secure_connect_bundle_path: str(
    '',
    'origin',
    'Astra secure connect bundle (zip) for ORIGIN. Excludes contact points, local DC and origin_tls_*.',
  ),
  origin_local_datacenter: str('', 'origin', 'Local datacenter of ORIGIN for host selection.'),
  origin_username: str(
    '',
    'origin',
    'ORIGIN username (control connection; replaces/completes client credentials). Required (may be empty) in env mode.',
    { required: true },
  ),
  origin_password: str('', 'origin', 'ORIGIN password. Never logged. Required (may be empty) in env mode.', {
    required: true,
    secret: true,
  }),
  origin_connection_timeout_ms: int(30000, 'origin', 'ORIGIN TCP connect timeout.'),
  origin_tls_server_ca_path: str('', 'origin', 'PEM CA for ORIGIN; alone = one-way TLS.'),
  origin_tls_client_cert_path: str('', 'origin', 'ORIGIN client certificate; with CA and key = mutual TLS.'),
  origin_tls_client_key_path: str('', 'origin', 'ORIGIN client key; with CA and cert = mutual TLS.'),

  // ---- Target
  target_contact_points: str(
    '',
    'target',
    'Comma list of TARGET hosts (no per-host port). Exclusive with target_secure_connect_bundle_path; one of them is required.',
  ),
  target_port: int(9042, 'target', 'Port of the TARGET contact points and of every discovered TARGET node.'),
  target_secure_connect_bundle_path: str(
    '',
    'target',
    'Astra secure connect bundle (zip) for TARGET. Excludes contact points, local DC and target_tls_*.',
  ),
  target_local_datacenter: str('', 'target', 'Local datacenter of TARGET for host selection.'),
  target_username: str('', 'target', 'TARGET username. Required (may be empty) in env mode.', { required: true }),
  target_password: str('', 'target', 'TARGET password. Never logged. Required (may be empty) in env mode.', {
    required: true,
    secret: true,
  }),
  target_connection_timeout_ms: int(30000, 'target', 'TARGET TCP connect timeout.'),
  target_tls_server_ca_path: str('', 'target', 'PEM CA for TARGET; alone = one-way TLS.'),
  target_tls_client_cert_path: str('', 'target', 'TARGET client certificate; with CA and key = mutual TLS.'),
  target_tls_client_key_path: str('', 'target', 'TARGET client key; with CA and cert = mutual TLS.'),

  // ---- Proxy
  proxy_listen_address: str('localhost', 'proxy', 'Bind address of the CQL listener.'),
  proxy_listen_port: int(14002, 'proxy', 'CQL listener port (also native_transport_port in the virtual system tables).'),
  proxy_request_timeout_ms: int(10000, 'proxy', 'Proxy-side request timeout.'),
  proxy_max_client_connections: int(1000, 'proxy', 'Client connections accepted above this are closed immediately.'),
  proxy_max_stream_ids: int(2048, 'proxy', 'Stream-id pool size per cluster connection (capped at 2048; 127 for protocol v2).'),
  proxy_tls_ca_path: str('', 'proxy', 'Client-facing TLS CA; CA, cert and key must be all set or all unset.'),
  proxy_tls_cert_path: str('', 'proxy', 'Client-facing TLS certificate.'),
  proxy_tls_key_path: str('', 'proxy', 'Client-facing TLS key.'),
  proxy_tls_require_client_auth: bool(false, 'proxy', 'Require and verify client certificates.'),

  // ---- Metrics
  metrics_enabled: bool(true, 'metrics', 'false: no metrics, /metrics answers 404 (health endpoints still served).'),
  metrics_address: str('localhost', 'metrics', 'Bind address of the HTTP server (metrics and health).'),
  metrics_port: int(14001, 'metrics', 'Port of the HTTP server (metrics and health).'),
  metrics_prefix: str('zdm', 'metrics', 'Prometheus namespace: metric names are <prefix>_<name>.'),
  metrics_origin_latency_buckets_ms: str(
    DEFAULT_LATENCY_BUCKETS_MS,
    'metrics',
    'Comma list of ORIGIN request latency histogram buckets (ms).',
  ),
  metrics_target_latency_buckets_ms: str(
    DEFAULT_LATENCY_BUCKETS_MS,
    'metrics',
    'Comma list of TARGET request latency histogram buckets (ms).',
  ),
  metrics_async_read_latency_buckets_ms: str(
    DEFAULT_LATENCY_BUCKETS_MS,
    'metrics',
    'Comma list of async read latency histogram buckets (ms).',
  ),

  // ---- Heartbeat
  heartbeat_interval_ms: int(
    30000,
    'heartbeat',
    'Control connection heartbeat period; idle threshold for proxy heartbeats on cluster connections.',
  ),
  heartbeat_retry_interval_min_ms: int(250, 'heartbeat', 'Control connection reconnect backoff minimum.'),
  heartbeat_retry_interval_max_ms: int(30000, 'heartbeat', 'Control connection reconnect backoff maximum.'),
  heartbeat_retry_backoff_factor: float(2, 'heartbeat', 'Control connection reconnect backoff factor (with jitter).'),
  heartbeat_failure_threshold: int(
    1,
    'heartbeat',
    'Readiness is DOWN when a control connection has this many consecutive failures.',
  ),

  // ---- Unsupported upstream settings
  system_queries_mode: str(
    'ORIGIN',
    'unsupported',
    'ORIGIN or TARGET: where non-intercepted system-keyspace SELECTs go and which control connection feeds system.local/peers.',
    { unsupported: true },
  ),
  forward_client_credentials_to_origin: bool(
    false,
    'unsupported',
    'When both clusters require auth, use the client credentials for ORIGIN (instead of TARGET).',
    { unsupported: true },
  ),
  origin_enable_host_assignment: bool(
    true,
    'unsupported',
    'false: every ORIGIN cluster connection goes to the ORIGIN control connection endpoint.',
    { unsupported: true },
  ),
  target_enable_host_assignment: bool(
    true,
    'unsupported',
    'false: every TARGET cluster connection goes to the TARGET control connection endpoint.',
    { unsupported: true },
  ),

  // ---- Unsupported performance tuning
  request_write_queue_size_frames: int(128, 'tuning', 'Write queue (frames) of each ORIGIN/TARGET cluster connection.', {
    unsupported: true,
  }),
  request_write_buffer_size_bytes: int(4096, 'tuning', 'Write coalescing buffer of cluster connections.', { unsupported: true }),
  request_read_buffer_size_bytes: int(32768, 'tuning', 'Read buffer of client sockets.', { unsupported: true }),
  response_write_queue_size_frames: int(128, 'tuning', 'Write queue (frames) of the client socket.', { unsupported: true }),
  response_write_buffer_size_bytes: int(8192, 'tuning', 'Write coalescing buffer of client sockets.', { unsupported: true }),
  response_read_buffer_size_bytes: int(32768, 'tuning', 'Read buffer of cluster sockets.', { unsupported: true }),
  request_response_max_workers: int(-1, 'tuning', 'Go worker pool size (-1 = default); accepted for compatibility.', {
    unsupported: true,
  }),
  write_max_workers: int(-1, 'tuning', 'Go worker pool size (-1 = default); accepted for compatibility.', { unsupported: true }),
  read_max_workers: int(-1, 'tuning', 'Go worker pool size (-1 = default); accepted for compatibility.', { unsupported: true }),
  listener_max_workers: int(-1, 'tuning', 'Go worker pool size (-1 = default); accepted for compatibility.', {
    unsupported: true,
  }),
  event_queue_size_frames: int(12, 'tuning', 'Queue of EVENT frames per cluster connection.', { unsupported: true }),
  async_connector_write_queue_size_frames: int(
    2048,
    'tuning',
    'Async connector write queue; async requests are dropped when full.',
    { unsupported: true },
  ),
  async_connector_write_buffer_size_bytes: int(4096, 'tuning', 'Write coalescing buffer of the async connector.', {
    unsupported: true,
  }),

  // ---- Extensions (NOT upstream settings; added by this port)
  max_frame_size_bytes: extInt(
    268435456,
    1,
    MAX_INT32,
    'EXTENSION. Largest frame body length (bytes) accepted on any connection (client or cluster); larger frames are a protocol error.',
  )('max_frame_size_bytes'),
  shutdown_grace_period_ms: extInt(
    10000,
    0,
    MAX_INT32,
    'EXTENSION. On SIGINT/SIGTERM, how long to wait for in-flight requests before closing connections.',
  )('shutdown_grace_period_ms'),
  proxy_max_prepared_statements: extInt(
    10000,
    0,
    MAX_INT32,
    'EXTENSION. Maximum entries of the prepared statement id cache (least recently used evicted; an evicted statement costs the client one UNPREPARED round trip); 0 = unbounded (upstream behaviour).',
  )('proxy_max_prepared_statements'),
  admin_token: str(
    '',
    'extension',
    'EXTENSION. Bearer token of the admin API (POST /api/v1/routing on the metrics port: live change of primary_cluster and read_mode). Empty = the admin API is off. Never logged.',
    { extension: true, secret: true },
  ),
  pin_write_timestamps: bool(
    true,
    'extension',
    'EXTENSION. A QUERY/EXECUTE/BATCH written to both clusters without a client timestamp gets one from the proxy (microseconds, strictly increasing), the same on both clusters, so both store the same WRITETIME(). Conditional (IF) statements and client timestamps are left alone.',
    { extension: true },
  ),
  origin_tls_skip_hostname_verification: bool(
    false,
    'extension',
    'EXTENSION. true: TLS towards ORIGIN checks the certificate chain but not that the certificate names the node (upstream behaviour). Default false: a node whose certificate does not name its address or host name is refused.',
    { extension: true },
  ),
  target_tls_skip_hostname_verification: bool(
    false,
    'extension',
    'EXTENSION. true: TLS towards TARGET checks the certificate chain but not that the certificate names the node (upstream behaviour). Default false: a node whose certificate does not name its address or host name is refused.',
    { extension: true },
  ),
  proxy_workers: mk(
    'string',
    '1',
    'extension',
    'EXTENSION. Number of worker processes serving clients (node:cluster): a whole number from 1 to 256, or 0 / "auto" = one per CPU (os.availableParallelism()). 1 = no worker processes (one process, as before). With several, each worker has its own cluster and control connections; metrics, health and the admin API stay on the one metrics port (summed and broadcast by the primary process); proxy_max_client_connections is shared out between the workers.',
    z
      .string()
      .trim()
      .regex(/^(auto|[0-9]+)$/i, { message: PROXY_WORKERS_ERROR })
      .refine((v) => /^auto$/i.test(v) || Number(v) <= 256, { message: PROXY_WORKERS_ERROR })
      .default('1'),
    { extension: true },
  ),
  journal_dir: str(
    '',
    'extension',
    'EXTENSION. Directory of the one-sided write journal (writes applied by one cluster and failed or timed out on the other; replay with `zdm-proxy journal replay`). Empty = no journal. One directory per proxy instance.',
    { extension: true },
  ),
  journal_max_bytes: extInt(
    1073741824,
    65536,
    MAX_INT32,
    'EXTENSION. Size limit of the write journal file (bytes); once reached, further one-sided writes are not journaled (metric, readiness detail, error log).',
  )('journal_max_bytes'),
  dual_read_compare_enabled: bool(
    false,
    'extension',
    "EXTENSION. Live read comparison (needs read_mode=DUAL_ASYNC_ON_SECONDARY): the secondary's RESULT of a dual read is compared with the primary's, off the client's reply path (rows matched by primary key, values compared as bytes); a differing row is read again on both clusters after dual_read_compare_confirm_delay_ms (transient or confirmed). Metric dual_read_comparisons_total, GET /api/v1/mismatches on the metrics port.",
    { extension: true },
  ),
  dual_read_compare_sample_rate: extFloat(
    1,
    0,
    1,
    'EXTENSION. Fraction of dual reads compared (0 to 1; 1 = every dual read, 0.01 = one in a hundred).',
  )('dual_read_compare_sample_rate'),
  dual_read_compare_log_values: bool(
    false,
    'extension',
    'EXTENSION. true: confirmed mismatches carry the differing cell values (hex) in the log and in /api/v1/mismatches. Default false: only keys and column names (values may be sensitive data).',
    { extension: true },
  ),
  dual_read_compare_confirm_delay_ms: extInt(
    -1,
    -1,
    MAX_INT32,
    'EXTENSION. Delay before a differing row is read again on both clusters; -1 (default) = twice proxy_request_timeout_ms.',
  )('dual_read_compare_confirm_delay_ms'),
  dual_read_compare_max_pending: extInt(
    1000,
    1,
    1000000,
    'EXTENSION. Most dual reads held for comparison at once (waiting for the other cluster\'s reply, or being compared); further reads are not compared (counted in dual_read_compare_overflows_total{queue="pending"}).',
  )('dual_read_compare_max_pending'),
  dual_read_compare_confirm_queue_size: extInt(
    1000,
    1,
    1000000,
    'EXTENSION. Most differing rows waiting for their confirmation read; further ones are not confirmed (comparison result error, counted in dual_read_compare_overflows_total{queue="confirm"}).',
  )('dual_read_compare_confirm_queue_size'),
  dual_read_compare_confirm_rate: extInt(
    50,
    1,
    1000000,
    'EXTENSION. Most confirmation reads started per second (each reads one row on both clusters, on the control connections).',
  )('dual_read_compare_confirm_rate'),
} as const;

export type SettingKey = keyof typeof SETTING_DEFS;

type Shape = { [K in SettingKey]: (typeof SETTING_DEFS)[K]['zod'] };

function buildShape(): Shape {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, d] of Object.entries(SETTING_DEFS)) shape[k] = d.zod;
  return shape as Shape;
}

/** The zod schema of the decoded settings (every key, typed, defaults applied). Unknown keys are stripped. */
export const ConfigSchema = z.object(buildShape());

/** Decoded settings, one field per upstream YAML key (plus extensions). */
export type Settings = z.infer<typeof ConfigSchema>;

export const SETTING_KEYS: readonly SettingKey[] = Object.freeze(Object.keys(SETTING_DEFS) as SettingKey[]);

export function envVarName(key: string): string {
  return `ZDM_${key.toUpperCase()}`;
}

/** Go struct field name of a setting (used in envconfig-style error texts), e.g. origin_port -> OriginPort. */
export function goFieldName(key: string): string {
  return key
    .split('_')
    .map((w) => (w ? w[0]!.toUpperCase() + w.slice(1) : w))
    .join('');
}

export function isSecretSetting(key: string): boolean {
  return (SETTING_DEFS as Record<string, SettingDef>)[key]?.secret ?? false;
}

export const SECRET_SETTING_KEYS: readonly SettingKey[] = Object.freeze(SETTING_KEYS.filter((k) => SETTING_DEFS[k].secret));

/** Fresh settings object holding every default. */
export function defaultSettings(): Settings {
  return ConfigSchema.parse({});
}

export const GROUP_TITLES: Record<SettingGroup, string> = {
  global: 'Global',
  topology: 'Proxy topology',
  origin: 'Origin cluster',
  target: 'Target cluster',
  proxy: 'Proxy listener',
  metrics: 'Metrics and HTTP server',
  heartbeat: 'Heartbeats',
  unsupported: 'Unsupported upstream settings (may change at any time)',
  tuning: 'Unsupported performance tuning',
  extension: 'Extensions of this port (not upstream settings)',
};

function showDefault(d: SettingDef): string {
  if (d.type === 'string') return d.default === '' ? '(empty)' : JSON.stringify(d.default);
  return String(d.default);
}

/** Usage text listing every setting with its env var, YAML key, type, default and meaning. */
export function settingsHelp(): string {
  const lines: string[] = [];
  let group: SettingGroup | undefined;
  for (const key of SETTING_KEYS) {
    const d = SETTING_DEFS[key] as SettingDef;
    if (d.group !== group) {
      group = d.group;
      lines.push('', `${GROUP_TITLES[group]}:`);
    }
    const flags = [d.type, `default ${showDefault(d)}`];
    if (d.required) flags.push('required in env mode');
    lines.push(`  ${envVarName(key)}  (yaml: ${key}; ${flags.join('; ')})`);
    lines.push(`      ${d.description}`);
  }
  return lines.join('\n');
}
