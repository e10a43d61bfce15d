// Enumerations and derived configuration types shared with the rest of the proxy.
import type { ClusterName } from '../cluster';
import type { Settings } from './schema';
import type { ConfigSource } from './errors';
import { ProtocolVersion } from '../protocol/constants';

export const ReadMode = { PRIMARY_ONLY: 'PRIMARY_ONLY', DUAL_ASYNC_ON_SECONDARY: 'DUAL_ASYNC_ON_SECONDARY' } as const;
export type ReadMode = (typeof ReadMode)[keyof typeof ReadMode];

/** Protocol versions as their wire byte: the enum of src/protocol/constants.ts (V2..V5, DSE_V1 = 0x41, DSE_V2 = 0x42). */
export { ProtocolVersion };

/** Upstream log levels (logrus), normalised to lower case; `warning` becomes `warn`. */
export type LogLevel = 'panic' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export type TlsMode = 'none' | 'one-way' | 'mutual' | 'secure-connect-bundle';

export interface ClusterTlsConfig {
  readonly enabled: boolean;
  readonly mode: TlsMode;
  readonly serverCaPath: string;
  readonly clientCertPath: string;
  readonly clientKeyPath: string;
  readonly secureConnectBundlePath: string;
  /** `*_tls_skip_hostname_verification` (extension): chain only, as upstream. */
  readonly skipHostnameVerification: boolean;
  /** Upstream's startup log line for this TLS configuration. */
  readonly logMessage: string;
}

export interface ClusterConfig {
  readonly cluster: ClusterName;
  /** Hosts without port (spaces removed, empty items dropped); empty when a secure connect bundle is used. */
  readonly contactPoints: readonly string[];
  readonly port: number;
  /** '' when unset. */
  readonly secureConnectBundlePath: string;
  /** '' when unset. */
  readonly localDatacenter: string;
  readonly username: string;
  readonly password: string;
  readonly connectionTimeoutMs: number;
  readonly enableHostAssignment: boolean;
  readonly tls: ClusterTlsConfig;
}

export interface ProxyTlsConfig {
  readonly enabled: boolean;
  readonly caPath: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly requireClientAuth: boolean;
  readonly logMessage: string;
}

/**
 * Where the advertised proxy addresses come from (upstream-spec-notes 1.5):
 * `topology_addresses` = explicit list (Go form: 16-byte IP, IPv4-mapped for IPv4);
 * `listen_address` = first IPv4 of proxy_listen_address (Go form: 4-byte IPv4);
 * `default` = 127.0.0.1 fallback (Go form: 16-byte, from net.IPv4);
 * `listen_address_unresolved` = proxy_listen_address is a host name not resolved yet: call `resolveTopology()`.
 */
export type TopologyAddressSource = 'topology_addresses' | 'listen_address' | 'default' | 'listen_address_unresolved';

export interface TopologyConfig {
  /** Always true since upstream v2.0.0. */
  readonly virtualizationEnabled: true;
  /** IP address strings (canonical text form, e.g. "10.0.0.1", "::1"). */
  readonly addresses: readonly string[];
  readonly addressSource: TopologyAddressSource;
  readonly index: number;
  readonly count: number;
  readonly numTokens: number;
}

export interface LatencyBuckets {
  /** Bucket upper bounds in SECONDS (configured ms / 1000), in configured order. */
  readonly origin: readonly number[];
  readonly target: readonly number[];
  readonly asyncRead: readonly number[];
}

export interface ProxyConfig {
  /** Every setting exactly as decoded, keyed by its YAML key (includes passwords: never log this object). */
  readonly settings: Readonly<Settings>;
  readonly source: ConfigSource;
  /** Path given with --config, in YAML mode. */
  readonly configFile: string | undefined;

  readonly logLevel: LogLevel;
  readonly primaryCluster: ClusterName;
  readonly secondaryCluster: ClusterName;
  readonly readMode: ReadMode;
  /** readMode === DUAL_ASYNC_ON_SECONDARY */
  readonly dualReadsEnabled: boolean;
  readonly systemQueriesMode: ClusterName;
  readonly controlConnMaxProtocolVersion: ProtocolVersion;
  /** In configured order, duplicates kept (as upstream). */
  readonly blockedProtocolVersions: readonly ProtocolVersion[];
  readonly blockedProtocolVersionSet: ReadonlySet<ProtocolVersion>;
  readonly topology: TopologyConfig;
  readonly origin: ClusterConfig;
  readonly target: ClusterConfig;
  readonly proxyTls: ProxyTlsConfig;
  readonly latencyBuckets: LatencyBuckets;

  // Extensions (not upstream).
  readonly maxFrameSizeBytes: number;
  readonly shutdownGracePeriodMs: number;
  /** 0 = unbounded (upstream behaviour). */
  readonly maxPreparedStatements: number;
  /** proxy_workers resolved: worker processes (1 = no workers, the process serves clients itself). */
  readonly workers: number;
}
