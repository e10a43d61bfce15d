/**
 * Topology helpers (upstream-spec-notes 2.2.4, 2.2.5): which real hosts this proxy instance is assigned, and the
 * virtual hosts (one per proxy instance) that the proxy advertises in `system.local` / `system.peers`.
 * Pure functions, no I/O.
 */
import { createHash, randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { ipToBytes } from '../protocol/primitives';
import { uuidToString } from '../protocol/values';

/** A real cluster node as seen by a control connection (upstream-spec-notes 2.2.3 item 4). */
export interface Host {
  /** IP address as text (rpc_address, or the fallbacks of upstream-spec-notes 2.2.3). */
  address: string;
  /** The configured cluster port (not read from the tables). */
  port: number;
  /** Astra: reached through this SNI proxy; `address` is then the host id (upstream-spec-notes 7.3 item 5). */
  via?: { host: string; port: number };
  datacenter: string;
  rack: string;
  /** host_id as a canonical UUID string. */
  hostId: string;
  /** Tokens as decimal strings (Murmur3) or whatever text the node reports. */
  tokens: string[];
  schemaVersion?: string;
  releaseVersion?: string;
  /** Optional columns kept for virtualisation (release_version, dse_version, graph, jmx_port, ...), decoded values. */
  columns: Record<string, unknown>;
}

/**
 * Spec 2.2.4: walking `orderedHosts` with a counter cycling `0..count-1`, a host is assigned when the
 * counter equals `index % hosts.length`. With count <= hosts: hosts j with j % count == index; otherwise the
 * single host `index % hosts.length`. The result is shuffled (as upstream) unless `shuffle` is false.
 */
export function computeAssignedHosts<H>(index: number, count: number, orderedHosts: readonly H[], shuffle = true): H[] {
  const n = orderedHosts.length;
  if (n === 0) return [];
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`topology count must be >= 1, got ${count}`);
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`topology index must be >= 0, got ${index}`);
  const target = index % n;
  const out: H[] = [];
  let i = 0;
  for (const h of orderedHosts) {
    if (i === target) out.push(h);
    i = (i + 1) % count;
  }
  if (shuffle) {
    for (let k = out.length - 1; k > 0; k--) {
      const j = randomInt(k + 1);
      const t = out[k]!;
      out[k] = out[j]!;
      out[j] = t;
    }
  }
  return out;
}

export const MURMUR3_PARTITIONER = 'org.apache.cassandra.dht.Murmur3Partitioner';
export const RANDOM_PARTITIONER = 'org.apache.cassandra.dht.RandomPartitioner';
export const VIRTUAL_RACK = 'rack0';

/** One proxy instance as advertised to clients. */
export interface VirtualHost {
  address: string;
  hostId: string;
  rack: string;
  partitioner: string;
  tokens: string[];
  /** The real host backing this virtual host (`orderedHosts[i mod H]`): data_center, versions, DSE columns. */
  host: Host;
  /** True for the entry at `index` (this proxy instance: system.local); the others go to system.peers. */
  isLocal: boolean;
}

/** UUID version 5 (SHA-1, RFC 4122) of `name` in `namespace` (default: the nil UUID). */
export function uuidV5(name: Uint8Array, namespace: Uint8Array = Buffer.alloc(16)): string {
  const hash = createHash('sha1').update(namespace).update(name).digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return uuidToString(b);
}

/**
 * Raw IP bytes as Go's net.IP holds them: `ipBytes = 16` gives the IPv4-mapped 16-byte form for IPv4
 * (net.ParseIP, used for proxy_topology_addresses and the 127.0.0.1 default); `4` gives the 4-byte form
 * (To4(), used for the resolved listen address). IPv6 addresses are always 16 bytes.
 */
export function rawIpBytes(address: string, ipBytes: 4 | 16 = 16): Buffer {
  if (isIP(address) === 0) throw new RangeError(`not an IP address: ${address}`);
  const b = ipToBytes(address);
  if (b.length === 16 || ipBytes === 4) return b;
  const mapped = Buffer.alloc(16);
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  b.copy(mapped, 12);
  return mapped;
}

/** Virtual host id of a proxy address (upstream-spec-notes 2.2.5). */
export function virtualHostId(address: string, ipBytes: 4 | 16 = 16): string {
  return uuidV5(rawIpBytes(address, ipBytes));
}

const TWO_64 = 1n << 64n;
const TWO_63 = 1n << 63n;

/** Tokens of proxy `i` of `n` with `numTokens` tokens each: `floor(2^64/(T*N)) * (t*N + i) - 2^63`, signed decimal strings. */
export function virtualTokens(i: number, n: number, numTokens: number): string[] {
  if (!Number.isInteger(numTokens) || numTokens < 1) throw new RangeError(`num tokens must be >= 1, got ${numTokens}`);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(i) || i < 0 || i >= n) {
    throw new RangeError(`virtual host index ${i} out of range for ${n} proxy addresses`);
  }
  const T = BigInt(numTokens);
  const N = BigInt(n);
  const a = TWO_64 / (T * N);
  const out: string[] = new Array(numTokens);
  for (let t = 0; t < numTokens; t++) {
    out[t] = BigInt.asIntN(64, a * (BigInt(t) * N + BigInt(i)) - TWO_63).toString();
  }
  return out;
}

/**
 * Spec 2.2.5: one virtual host per proxy address. `index` marks this proxy instance (`isLocal`).
 * `ipBytes`: 16 for addresses from proxy_topology_addresses or the 127.0.0.1 default, 4 when the address
 * is the resolved listen address (upstream quirk 9.10).
 */
export function computeVirtualHosts(
  addresses: readonly string[],
  index: number,
  numTokens: number,
  orderedHosts: readonly Host[],
  ipBytes: 4 | 16 = 16,
): VirtualHost[] {
  if (orderedHosts.length === 0) throw new Error('cannot compute virtual hosts: the cluster has no hosts');
  const n = addresses.length;
  return addresses.map((address, i) => ({
    address,
    hostId: virtualHostId(address, ipBytes),
    rack: VIRTUAL_RACK,
    partitioner: MURMUR3_PARTITIONER,
    tokens: virtualTokens(i, n, numTokens),
    host: orderedHosts[i % orderedHosts.length]!,
    isLocal: i === index,
  }));
}
