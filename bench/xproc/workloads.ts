// The statements and workloads of the cross-process benchmark (shared by the load generator and the null backend).
export const BENCH_KEYSPACE = 'zdm_bench';

export interface BenchStatement {
  cql: string;
  /** SELECT: size of the row's value; undefined for writes */
  rowBytes?: number;
  write: boolean;
}

export const BENCH_STATEMENTS = {
  insert: { cql: `INSERT INTO ${BENCH_KEYSPACE}.kv (k, v) VALUES (?, ?)`, write: true },
  select100: { cql: `SELECT v FROM ${BENCH_KEYSPACE}.kv WHERE k = ?`, rowBytes: 100, write: false },
  select10k: { cql: `SELECT v FROM ${BENCH_KEYSPACE}.kv10k WHERE k = ?`, rowBytes: 10_240, write: false },
  /** with the key column: rows can be matched, so the live read comparison compares them (--compare) */
  selectKey100: { cql: `SELECT k, v FROM ${BENCH_KEYSPACE}.kv WHERE k = ?`, rowBytes: 100, write: false },
  selectKey10k: { cql: `SELECT k, v FROM ${BENCH_KEYSPACE}.kv10k WHERE k = ?`, rowBytes: 10_240, write: false },
} satisfies Record<string, BenchStatement>;

export type StatementName = keyof typeof BENCH_STATEMENTS;

/** A workload: the statements it cycles through, in order. */
export const WORKLOADS: Record<string, readonly StatementName[]> = {
  insert: ['insert'],
  'select-100B': ['select100'],
  'select-10KiB': ['select10k'],
  'mix-50/50': ['insert', 'select100'],
  'select-k-100B': ['selectKey100'],
  'select-k-10KiB': ['selectKey10k'],
};
export type WorkloadName = keyof typeof WORKLOADS;

/** DDL and data the real-cluster backend needs (run through the proxy so both clusters get it). */
export const CLUSTER_SETUP = [
  `CREATE KEYSPACE IF NOT EXISTS ${BENCH_KEYSPACE} WITH replication = {'class':'SimpleStrategy','replication_factor':1}`,
  `CREATE TABLE IF NOT EXISTS ${BENCH_KEYSPACE}.kv (k int PRIMARY KEY, v blob)`,
  `CREATE TABLE IF NOT EXISTS ${BENCH_KEYSPACE}.kv10k (k int PRIMARY KEY, v blob)`,
];
/** keys 0..KEYS-1 are read and written */
export const KEYS = 1000;
