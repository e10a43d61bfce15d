/**
 * The topology queries of a control connection and their parsing (upstream-spec-notes 2.2.3): paged `SELECT * FROM
 * system.local / system.peers`, rows decoded to plain values, hosts parsed from the rows, the local DC chosen
 * and its hosts ordered. Used by ControlConnection#refreshTopology (control-connection.ts); no state here.
 * Upstream: `proxy/pkg/zdmproxy/controlconn.go` `RefreshHosts`, `filterHosts`.
 */
import type { Logger } from 'pino';
import { Consistency, Opcode, type ProtocolVersion, ResultKind } from '../protocol/constants';
import { ProtocolError } from '../protocol/errors';
import type { RowsResult } from '../protocol/messages';
import { type CqlValue, type DataType, decodeValue } from '../protocol/values';
import type { ClusterName } from '../cluster';
import { type ClusterConnection, decodeResponse, type Endpoint, requestFrame } from './cluster-connection';
import { describe } from './control-negotiation';
import type { Host } from './topology';

/** Columns of system.local kept for virtualisation (upstream-spec-notes 2.2.3 item 2). */
export const LOCAL_KEPT_COLUMNS = [
  'key',
  'bootstrapped',
  'cql_version',
  'gossip_generation',
  'last_nodesync_checkpoint_time',
  'native_protocol_version',
  'partitioner',
  'thrift_version',
  'cluster_name',
] as const;
/** Optional per-host columns kept (upstream-spec-notes 2.2.3 item 4). */
export const HOST_OPTIONAL_COLUMNS = [
  'release_version',
  'dse_version',
  'graph',
  'jmx_port',
  'server_id',
  'storage_port',
  'storage_port_ssl',
  'workload',
  'workloads',
  'native_transport_address',
  'native_transport_port',
  'native_transport_port_ssl',
  'rpc_port',
  'preferred_ip',
] as const;

export interface QueryResult {
  rows: Record<string, unknown>[];
  columns: string[];
}

/** All pages of `query` (consistency ONE) as plain rows. */
export async function queryAll(
  conn: ClusterConnection,
  version: ProtocolVersion,
  query: string,
  o: { pageSize: number; timeoutMs: number },
): Promise<QueryResult> {
  const rows: Record<string, unknown>[] = [];
  let columns: string[] = [];
  let paging: Buffer | null = null;
  for (let page = 0; page < 10_000; page++) {
    const params = {
      consistency: Consistency.ONE,
      pageSize: o.pageSize,
      ...(paging ? { pagingState: paging } : {}),
    };
    const f = await conn.request(requestFrame(version, { opcode: Opcode.QUERY, query, params }), o.timeoutMs);
    if (f.opcode !== Opcode.ERROR && f.opcode !== Opcode.RESULT) throw new Error(`${query}: expected RESULT, got ${describe(f)}`);
    const res = decodeResponse(f);
    if (res.opcode === Opcode.ERROR) throw new Error(`${query} failed: ${res.message} (code 0x${res.code.toString(16)})`);
    if (res.opcode !== Opcode.RESULT) throw new Error(`${query}: expected RESULT, got ${describe(f)}`);
    if (res.kind !== ResultKind.ROWS) throw new Error(`${query}: expected ROWS, got result kind ${res.kind}`);
    const cols = res.metadata.columns ?? [];
    if (cols.length) columns = cols.map((c) => c.name);
    rows.push(...rowsToObjects(res, version));
    paging = res.metadata.pagingState ?? null;
    if (!paging) break;
  }
  return { rows, columns };
}

export interface TopologyContext {
  cluster: ClusterName;
  logger: Logger;
  /** The endpoint the control connection is connected to (the local host's address when rpc_address is absent). */
  endpoint: Endpoint;
  /** The configured cluster port, given to every host. */
  port: number;
  /** Astra: the SNI proxy every host is reached through (its address is then the host id). */
  sni: { host: string; port: number } | undefined;
  /** The local DC chosen by an earlier refresh (never changes once set). */
  currentDc: string | undefined;
  /** The configured (or Astra) local DC, used on the first refresh when it has hosts. */
  configuredDc: string | undefined;
}

/** What a refresh reads from system.local and system.peers. */
export interface TopologySnapshot {
  localDc: string;
  clusterName: string;
  /** The real partitioner class reported by system.local. */
  partitioner: string;
  /** The LOCAL_KEPT_COLUMNS of system.local. */
  localRow: Record<string, unknown>;
  /** The columns of system.peers (undefined when it has no row). */
  peerColumns: Set<string> | undefined;
  /** The hosts of the local DC, ordered by rack then host id. */
  hosts: Host[];
}

/** Spec 2.2.3: the topology from the two system tables; throws when it cannot be used. */
export function readTopology(local: QueryResult, peers: QueryResult, ctx: TopologyContext): TopologySnapshot {
  const localRowRaw = local.rows[0];
  if (!localRowRaw) throw new Error(`${ctx.cluster}: system.local returned no row`);

  const partitioner = String(localRowRaw['partitioner'] ?? '');
  if (partitioner !== '' && !partitioner.endsWith('Murmur3Partitioner') && !partitioner.endsWith('RandomPartitioner')) {
    throw new Error(`virtualization is enabled and partitioner is not Murmur3 or Random but instead ${partitioner}`);
  }

  const localColumns = new Set(local.columns);
  const keptLocal: Record<string, unknown> = {};
  for (const c of LOCAL_KEPT_COLUMNS) if (localColumns.has(c)) keptLocal[c] = localRowRaw[c] ?? null;

  const byId = new Map<string, Host>();
  for (const row of peers.rows) {
    const h = parseHost(row, false, ctx);
    if (h) byId.set(h.hostId, h);
  }
  const localHost = parseHost(localRowRaw, true, ctx);
  if (localHost) byId.set(localHost.hostId, localHost);
  const all = [...byId.values()];

  // Local DC rule (2.2.3 item 7).
  let dc = ctx.currentDc;
  if (dc !== undefined) {
    if (!all.some((h) => h.datacenter === dc)) throw new Error(`${ctx.cluster}: no host found in the local datacenter ${dc}`);
  } else {
    const configured = ctx.configuredDc;
    if (configured) {
      if (all.some((h) => h.datacenter === configured)) dc = configured;
      else
        ctx.logger.warn(
          `${ctx.cluster}: configured local datacenter ${configured} has no hosts; using the datacenter of the control node`,
        );
    }
    if (dc === undefined) dc = String(localRowRaw['data_center'] ?? localHost?.datacenter ?? '');
  }
  const hosts = all
    .filter((h) => h.datacenter === dc)
    .sort((a, b) => (a.rack < b.rack ? -1 : a.rack > b.rack ? 1 : a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0));
  if (hosts.length === 0) throw new Error(`${ctx.cluster}: no hosts found in the local datacenter ${dc}`);

  return {
    localDc: dc,
    clusterName: String(localRowRaw['cluster_name'] ?? ''),
    partitioner,
    localRow: keptLocal,
    peerColumns: peers.rows.length > 0 ? new Set(peers.columns) : undefined,
    hosts,
  };
}

function parseHost(row: Record<string, unknown>, isLocal: boolean, ctx: TopologyContext): Host | undefined {
  let address: string | undefined;
  if (!('rpc_address' in row)) address = isLocal ? ctx.endpoint.host : asString(row['peer']);
  else {
    address = asString(row['rpc_address']);
    if (address === '0.0.0.0' || address === '::') {
      // Upstream quirk 9.2 fixed: fall back to listen_address when broadcast_address is null.
      address = isLocal ? (asString(row['broadcast_address']) ?? asString(row['listen_address'])) : asString(row['peer']);
    }
  }
  const hostId = asString(row['host_id']);
  const datacenter = asString(row['data_center']);
  const rack = asString(row['rack']);
  if (!hostId || !address || datacenter === undefined || rack === undefined) {
    ctx.logger.warn(
      `${ctx.cluster}: ignoring ${isLocal ? 'system.local' : 'system.peers'} row without ${!hostId ? 'host_id' : !address ? 'address' : !datacenter ? 'data_center' : 'rack'}`,
    );
    return undefined;
  }
  const columns: Record<string, unknown> = {};
  for (const c of HOST_OPTIONAL_COLUMNS) if (c in row) columns[c] = row[c] ?? null;
  const tokens = Array.isArray(row['tokens']) ? (row['tokens'] as unknown[]).map(String) : [];
  if (ctx.sni)
    return {
      address: hostId,
      port: ctx.sni.port,
      via: ctx.sni,
      datacenter,
      rack,
      hostId,
      tokens,
      schemaVersion: asString(row['schema_version']),
      releaseVersion: asString(row['release_version']),
      columns,
    };
  return {
    address,
    port: ctx.port,
    datacenter,
    rack,
    hostId,
    tokens,
    schemaVersion: asString(row['schema_version']),
    releaseVersion: asString(row['release_version']),
    columns,
  };
}

function asString(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  return String(v);
}

/**
 * Row values as documented in ARCHITECTURE.md: `decodeValue` (values.ts), with maps as plain objects (string
 * keys) and, for types values.ts does not decode (decimal, date, time, duration, tuple, udt, custom) or
 * malformed cells, the raw bytes.
 */
export function rowsToObjects(res: RowsResult, version: ProtocolVersion): Record<string, unknown>[] {
  const cols = res.metadata.columns ?? [];
  return res.rows.map((row) => {
    const o: Record<string, unknown> = {};
    cols.forEach((c, i) => {
      o[c.name] = cellValue(c.type, row[i] ?? null, version);
    });
    return o;
  });
}

function cellValue(type: DataType, bytes: Buffer | null, version: ProtocolVersion): unknown {
  let v: CqlValue;
  try {
    v = decodeValue(type, bytes, version);
  } catch (e) {
    if (e instanceof ProtocolError) return bytes;
    throw e;
  }
  return plain(v);
}

function plain(v: CqlValue): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[String(k)] = plain(x);
    return o;
  }
  return v;
}
