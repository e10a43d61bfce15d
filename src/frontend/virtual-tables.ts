/**
 * Virtual `system.local` / `system.peers` / `system.peers_v2` (upstream-spec-notes 4.3), answered by the proxy for
 * QUERY, PREPARE and EXECUTE of an intercepted prepared id. Rows are encoded with the request's version.
 *
 * Data: the control connection of ORIGIN (TARGET with system_queries_mode=TARGET) -- its node's own
 * system.local values, the local-DC hosts and the real system.peers columns -- plus the virtual hosts of
 * upstream-spec-notes 2.2.5 (one per proxy instance). WHERE clauses are ignored.
 *
 * Deliberate differences from upstream (where upstream sends no reply at all and the driver times out):
 *  - an explicit selector naming a candidate column that the backing cluster does not have gets
 *    Invalid `Undefined column name <x>` (what Cassandra itself answers);
 *  - an unsupported select clause (JSON, DISTINCT, function or other term selectors) gets Invalid
 *    `<what> is not supported on the proxy's virtual system.<table>`.
 */
import { createHash } from 'node:crypto';
import {
  type ColumnSpec,
  type DataType,
  DataTypes,
  encodeValue,
  ErrorCode,
  mapOf,
  preparedBody,
  type ProtocolVersion,
  rowsBody,
  setOf,
} from '../protocol/codec';
import type { Selector, SystemTableName } from '../cql/inspector';
import { computeVirtualHosts, MURMUR3_PARTITIONER, type Host, type VirtualHost } from '../backend/topology';

/** What a control connection provides (a subset of ControlConnection). */
export interface SystemTablesSource {
  readonly localRow: Record<string, unknown>;
  readonly hosts: readonly Host[];
  readonly peerColumns: ReadonlySet<string> | undefined;
}

export interface VirtualTopology {
  addresses: readonly string[];
  index: number;
  numTokens: number;
  /** 4 when the address is the resolved listen address, else 16 (upstream-spec-notes 2.2.5). */
  ipBytes: 4 | 16;
  /** proxy_listen_port: native_transport_port(_ssl) of the virtual hosts. */
  listenPort: number;
}

export type VirtualAnswer =
  | { kind: 'rows'; body: Buffer; rowCount: number; columns: string[] }
  | { kind: 'prepared'; body: Buffer; id: Buffer }
  | { kind: 'error'; code: ErrorCode; message: string };

type ColumnDef = { type: DataType /** always present in `SELECT *` */; always?: boolean };
const text = DataTypes.varchar;
const inet = DataTypes.inet;
const uuid = DataTypes.uuid;
const int = DataTypes.int;

const LOCAL_COLUMNS: [string, ColumnDef][] = [
  ['key', { type: text }],
  ['bootstrapped', { type: text }],
  ['broadcast_address', { type: inet, always: true }],
  ['cluster_name', { type: text }],
  ['cql_version', { type: text }],
  ['data_center', { type: text, always: true }],
  ['dse_version', { type: text }],
  ['gossip_generation', { type: int }],
  ['graph', { type: DataTypes.boolean }],
  ['host_id', { type: uuid, always: true }],
  ['jmx_port', { type: int }],
  ['last_nodesync_checkpoint_time', { type: DataTypes.bigint }],
  ['listen_address', { type: inet, always: true }],
  ['native_protocol_version', { type: text }],
  ['native_transport_port', { type: int }],
  ['native_transport_port_ssl', { type: int }],
  ['partitioner', { type: text, always: true }],
  ['native_transport_address', { type: inet }],
  ['rack', { type: text, always: true }],
  ['release_version', { type: text }],
  ['rpc_address', { type: inet, always: true }],
  // Cassandra 4+: the native port of rpc_address; drivers (Java 4: "Unable to determine broadcast RPC port")
  // read it. Present when the real node has it, with the proxy's listen port.
  ['rpc_port', { type: int }],
  ['schema_version', { type: uuid, always: true }],
  ['server_id', { type: text }],
  ['storage_port', { type: int }],
  ['storage_port_ssl', { type: int }],
  ['thrift_version', { type: text }],
  ['tokens', { type: setOf(text), always: true }],
  ['truncated_at', { type: mapOf(uuid, DataTypes.blob), always: true }],
  ['workload', { type: text }],
  ['workloads', { type: setOf(text) }],
];

const PEERS_COLUMNS: [string, ColumnDef][] = [
  ['peer', { type: inet, always: true }],
  ['data_center', { type: text, always: true }],
  ['dse_version', { type: text }],
  ['graph', { type: DataTypes.boolean }],
  ['host_id', { type: uuid, always: true }],
  ['jmx_port', { type: int }],
  ['native_transport_address', { type: inet }],
  ['native_transport_port', { type: int }],
  ['native_transport_port_ssl', { type: int }],
  ['preferred_ip', { type: inet, always: true }],
  ['rack', { type: text, always: true }],
  ['release_version', { type: text }],
  ['rpc_address', { type: inet, always: true }],
  ['schema_version', { type: uuid, always: true }],
  ['server_id', { type: text }],
  ['storage_port', { type: int }],
  ['storage_port_ssl', { type: int }],
  ['tokens', { type: setOf(text), always: true }],
  ['workload', { type: text }],
  ['workloads', { type: setOf(text) }],
];

const LOCAL_DEFS = new Map(LOCAL_COLUMNS);
const PEERS_DEFS = new Map(PEERS_COLUMNS);
/** Values taken from the control node's own system.local row. */
const CONTROL_NODE_COLUMNS = new Set([
  'key',
  'bootstrapped',
  'cluster_name',
  'cql_version',
  'gossip_generation',
  'last_nodesync_checkpoint_time',
  'native_protocol_version',
  'thrift_version',
]);

function hostHas(host: Host, column: string): boolean {
  if (column === 'release_version' && host.releaseVersion !== undefined) return true;
  return Object.hasOwn(host.columns, column);
}

/** Does this optional column exist (upstream-spec-notes 4.3)? */
function localColumnExists(name: string, vh: VirtualHost, source: SystemTablesSource): boolean {
  const def = LOCAL_DEFS.get(name)!;
  if (def.always) return true;
  if (CONTROL_NODE_COLUMNS.has(name)) return Object.hasOwn(source.localRow, name);
  return hostHas(vh.host, name);
}

function peerColumnExists(name: string, backing: Host, source: SystemTablesSource): boolean {
  const def = PEERS_DEFS.get(name)!;
  if (def.always) return true;
  if (source.peerColumns !== undefined) return source.peerColumns.has(name);
  return hostHas(backing, name);
}

// ---- value coercion (the control connection's decoded values -> what encodeValue accepts) -------

function coerce(type: DataType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case DataTypes.varchar:
      return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
    case DataTypes.int:
      return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number(String(v));
    case DataTypes.bigint:
      return typeof v === 'bigint'
        ? v
        : typeof v === 'number'
          ? BigInt(Math.trunc(v))
          : v instanceof Date
            ? BigInt(v.getTime())
            : BigInt(String(v));
    case DataTypes.boolean:
      return typeof v === 'boolean' ? v : v === 'true' || v === 1;
    default:
      break;
  }
  if (type.code === setOf(text).code && Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : String(x)));
  if (v instanceof Set) return [...v].map(String);
  return v;
}

function encodeCell(type: DataType, v: unknown, version: ProtocolVersion): Buffer | null {
  try {
    return encodeValue(type, coerce(type, v), version);
  } catch {
    return null; // a value of an unexpected shape is reported as null rather than failing the query
  }
}

/** What `hostValue` returns for a column that system.local and system.peers do not share. */
const NOT_SHARED = Symbol('not shared');

/** The values a virtual host gives the same way in system.local and system.peers. */
function hostValue(name: string, vh: VirtualHost, listenPort: number): unknown {
  switch (name) {
    case 'rpc_address':
    case 'native_transport_address':
      return vh.address;
    case 'data_center':
      return vh.host.datacenter;
    case 'host_id':
      return vh.hostId;
    case 'rack':
      return vh.rack;
    case 'tokens':
      return vh.tokens;
    case 'schema_version':
      return vh.host.schemaVersion ?? (vh.host.columns['schema_version'] as unknown) ?? null;
    case 'native_transport_port':
    case 'native_transport_port_ssl':
    case 'rpc_port':
      return listenPort;
    case 'release_version':
      return vh.host.releaseVersion ?? vh.host.columns['release_version'] ?? null;
    default:
      return NOT_SHARED;
  }
}

function localValue(name: string, vh: VirtualHost, source: SystemTablesSource, listenPort: number): unknown {
  switch (name) {
    case 'broadcast_address':
    case 'listen_address':
      return vh.address;
    case 'truncated_at':
      return null;
    case 'partitioner':
      return MURMUR3_PARTITIONER;
  }
  const v = hostValue(name, vh, listenPort);
  if (v !== NOT_SHARED) return v;
  if (CONTROL_NODE_COLUMNS.has(name)) return source.localRow[name];
  return vh.host.columns[name];
}

function peerValue(name: string, vh: VirtualHost, listenPort: number): unknown {
  if (name === 'peer' || name === 'preferred_ip') return vh.address;
  const v = hostValue(name, vh, listenPort);
  return v !== NOT_SHARED ? v : vh.host.columns[name];
}

// ---- building the answer -------------------------------------------------------------------------

interface OutColumn {
  spec: ColumnSpec;
  /** column name, or undefined for count */
  source?: string;
  count?: boolean;
}

function invalid(message: string): VirtualAnswer {
  return { kind: 'error', code: ErrorCode.INVALID, message };
}

function describeSelector(s: Selector): string {
  return s.kind === 'function' || s.kind === 'other' ? s.text : s.name;
}

/** The columns of the answer, or an error answer. */
function plan(
  table: 'local' | 'peers',
  projection: '*' | Selector[] | undefined,
  exists: (name: string) => boolean,
): OutColumn[] | VirtualAnswer {
  const defs = table === 'local' ? LOCAL_COLUMNS : PEERS_COLUMNS;
  const map = table === 'local' ? LOCAL_DEFS : PEERS_DEFS;
  const mk = (name: string, type: DataType): ColumnSpec => ({ keyspace: 'system', table, name, type });
  if (projection === undefined) return invalid(`unsupported select clause on the proxy's virtual system.${table}`);
  if (projection === '*') {
    return defs.filter(([n]) => exists(n)).map(([n, d]) => ({ spec: mk(n, d.type), source: n }));
  }
  const out: OutColumn[] = [];
  for (const s of projection) {
    if (s.kind === 'count') {
      out.push({ spec: mk(s.alias ?? s.name, DataTypes.int), count: true });
      continue;
    }
    if (s.kind !== 'column') {
      return invalid(`selector ${describeSelector(s)} is not supported on the proxy's virtual system.${table}`);
    }
    const def = map.get(s.name);
    if (!def || !exists(s.name)) return invalid(`Undefined column name ${s.name}`);
    out.push({ spec: mk(s.alias ?? s.name, def.type), source: s.name });
  }
  return out;
}

export interface VirtualRequest {
  table: SystemTableName;
  projection?: '*' | Selector[];
  /** the statement is SELECT JSON / SELECT DISTINCT (not supported) */
  selectJson?: boolean;
  selectDistinct?: boolean;
}

export class VirtualTables {
  constructor(
    private readonly topology: VirtualTopology,
    /** Current source per call: it follows system_queries_mode at run time. */
    private readonly sourceOf: () => SystemTablesSource,
  ) {}

  private virtualHosts(source: SystemTablesSource): VirtualHost[] {
    const t = this.topology;
    return computeVirtualHosts(t.addresses, t.index, t.numTokens, source.hosts, t.ipBytes);
  }

  /** Columns and rows for a SELECT, as cells. */
  private build(
    req: VirtualRequest,
    version: ProtocolVersion,
  ): { columns: OutColumn[]; rows: (Buffer | null)[][] } | VirtualAnswer {
    if (req.table === 'peers_v2') return invalid('unconfigured table peers_v2');
    if (req.selectJson) return invalid(`SELECT JSON is not supported on the proxy's virtual system.${req.table}`);
    if (req.selectDistinct) return invalid(`SELECT DISTINCT is not supported on the proxy's virtual system.${req.table}`);
    const source = this.sourceOf();
    if (source.hosts.length === 0)
      return { kind: 'error', code: ErrorCode.SERVER_ERROR, message: 'the proxy has no cluster topology yet' };
    const vhs = this.virtualHosts(source);
    const port = this.topology.listenPort;
    if (req.table === 'local') {
      const me = vhs.find((v) => v.isLocal) ?? vhs[0]!;
      const cols = plan('local', req.projection, (n) => localColumnExists(n, me, source));
      if (!Array.isArray(cols)) return cols;
      const row = cols.map((c) =>
        c.count
          ? encodeCell(DataTypes.int, 1, version)
          : encodeCell(c.spec.type, localValue(c.source!, me, source, port), version),
      );
      return { columns: cols, rows: [row] };
    }
    const peers = vhs.filter((v) => !v.isLocal);
    const backing = (peers[0] ?? vhs[0]!).host;
    const cols = plan('peers', req.projection, (n) => peerColumnExists(n, backing, source));
    if (!Array.isArray(cols)) return cols;
    const hasCount = cols.some((c) => c.count);
    if (hasCount) {
      // aggregate: one row; other columns from the first peer (null without peers)
      const first = peers[0];
      const row = cols.map((c) =>
        c.count
          ? encodeCell(DataTypes.int, peers.length, version)
          : first
            ? encodeCell(c.spec.type, peerValue(c.source!, first, port), version)
            : null,
      );
      return { columns: cols, rows: [row] };
    }
    const rows = peers.map((p) => cols.map((c) => encodeCell(c.spec.type, peerValue(c.source!, p, port), version)));
    return { columns: cols, rows };
  }

  /** RESULT Rows body (or an error) for a SELECT / an EXECUTE of an intercepted id. */
  select(req: VirtualRequest, version: ProtocolVersion): VirtualAnswer {
    const r = this.build(req, version);
    if ('kind' in r) return r;
    return {
      kind: 'rows',
      body: rowsBody(
        version,
        r.columns.map((c) => c.spec),
        r.rows,
      ),
      rowCount: r.rows.length,
      columns: r.columns.map((c) => c.spec.name),
    };
  }

  /** RESULT Prepared body for a PREPARE of an intercepted SELECT; id = MD5(query + keyspace). */
  prepare(req: VirtualRequest, query: string, keyspace: string, version: ProtocolVersion): VirtualAnswer {
    const r = this.build(req, version);
    if ('kind' in r) return r;
    const id = interceptedPreparedId(query, keyspace);
    return {
      kind: 'prepared',
      id,
      body: preparedBody(
        version,
        id,
        r.columns.map((c) => c.spec),
      ),
    };
  }
}

export function interceptedPreparedId(query: string, keyspace: string): Buffer {
  return createHash('md5')
    .update(query + keyspace, 'utf8')
    .digest();
}
