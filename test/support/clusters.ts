// Test support for the real Origin and Target Cassandra clusters (integration tests).
//
// The clusters themselves are run by scripts/clusters.mjs (start/stop/readiness/fault levers); this
// module loads it at run time and adds what tests need on top: constants, driver sessions,
// per-test keyspaces, cqlsh, and the fault levers with their waits.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Client, type ClientOptions } from 'cassandra-driver';
import type { ClusterLabel } from '../../src/cluster';

export interface ClusterNode {
  readonly name: ClusterLabel;
  readonly clusterName: string;
  readonly host: string;
  readonly port: number;
  /** "host:port" for driver contact points and proxy config. */
  readonly contactPoint: string;
  readonly datacenter: string;
  readonly username: string;
  readonly password: string;
}

function node(name: ClusterLabel, host: string): ClusterNode {
  return Object.freeze({
    name,
    clusterName: name,
    host,
    port: 9042,
    contactPoint: `${host}:9042`,
    datacenter: 'datacenter1',
    username: 'cassandra',
    password: 'cassandra',
  });
}
/** ZDM_TEST_ORIGIN_HOST / ZDM_TEST_TARGET_HOST move the pair (see scripts/clusters.mjs). */
export const ORIGIN: ClusterNode = node('origin', process.env['ZDM_TEST_ORIGIN_HOST'] || '127.0.0.1');
export const TARGET: ClusterNode = node('target', process.env['ZDM_TEST_TARGET_HOST'] || '127.0.0.2');
export const CLUSTERS: Readonly<Record<ClusterLabel, ClusterNode>> = Object.freeze({ origin: ORIGIN, target: TARGET });
export const NODE_NAMES: readonly ClusterLabel[] = ['origin', 'target'];
/** Where the proxy listens in tests and in `npm run cqlsh -- proxy`. */
export const PROXY = Object.freeze({ host: '127.0.0.1', port: 14002 });

/** `clientAuth` (with `tls`): mutual TLS, clients need a certificate from `tlsClientFiles().ca`. */
export interface NodeOptions {
  auth: boolean;
  tls: boolean;
  clientAuth?: boolean;
  heap: string;
  jvmOpts?: string;
}
export interface NodeState {
  pid: number;
  version: string;
  options: NodeOptions;
  host: string;
  port: number;
}

/** The parts of scripts/clusters.mjs and scripts/cqlsh.mjs used here (plain ESM, loaded at run time). */
interface ClustersModule {
  ROOT: string;
  TLS_CA_PEM: string;
  ensureClientTls(): { ca: string; cert: string; key: string };
  startNodes(
    names?: readonly string[],
    opts?: { timeoutMs?: number; quiet?: boolean; nodeOptions?: Record<string, NodeOptions> },
  ): Promise<Record<string, { pid: number; reused: boolean }>>;
  readState(name: string): NodeState | undefined;
  runningPid(name: string): number | undefined;
  processState(pid: number): string | undefined;
  nodeLogFile(name: string): string;
  logTail(name: string, lines?: number): string;
  driverOptions(name: string, opts?: { username?: string; password?: string; timeoutMs?: number }): ClientOptions;
  pauseNode(name: string): Promise<void>;
  resumeNode(name: string, opts?: { timeoutMs?: number }): Promise<void>;
  killNode(name: string): Promise<void>;
  restartNode(name: string, opts?: { timeoutMs?: number }): Promise<unknown>;
}
interface CqlshModule {
  cqlshCommand(target: string, args: string[]): { command: string; args: string[]; env: NodeJS.ProcessEnv };
  cqlshInstalled(): boolean;
  CQLSH_BIN: string;
}

function findRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'scripts', 'clusters.mjs'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`scripts/clusters.mjs not found above ${__dirname}`);
    dir = up;
  }
  return dir;
}
export const ROOT = findRoot();

// tsc (module: commonjs) would turn `import()` into `require()`, which cannot load ESM: keep a real import().
const importEsm = new Function('specifier', 'return import(specifier)') as <T>(specifier: string) => Promise<T>;
let clustersModule: Promise<ClustersModule> | undefined;
let cqlshModule: Promise<CqlshModule> | undefined;
function clusters(): Promise<ClustersModule> {
  clustersModule ??= importEsm<ClustersModule>(pathToFileURL(join(ROOT, 'scripts', 'clusters.mjs')).href);
  return clustersModule;
}
function cqlshMod(): Promise<CqlshModule> {
  cqlshModule ??= importEsm<CqlshModule>(pathToFileURL(join(ROOT, 'scripts', 'cqlsh.mjs')).href);
  return cqlshModule;
}

let ensured: Promise<void> | undefined;
/**
 * Makes sure both clusters run and answer (starting them if needed), at most once per process.
 * Cheap when scripts/run-tests.mjs already started them: the running nodes are reused.
 */
export function ensureClusters(): Promise<void> {
  ensured ??= (async () => {
    const m = await clusters();
    try {
      await m.startNodes(NODE_NAMES, { timeoutMs: 240_000, quiet: true });
    } catch (e) {
      const err = e as Error & { logTail?: string };
      throw new Error(`${err.message}${err.logTail ? `\n${err.logTail}` : ''}`);
    }
  })();
  ensured.catch(() => {
    ensured = undefined;
  });
  return ensured;
}

/** The recorded state (pid, options, version) of a node; throws if it never started. */
export async function nodeState(name: ClusterLabel): Promise<NodeState> {
  const st = (await clusters()).readState(name);
  if (!st) throw new Error(`${name} was never started (run: npm run clusters -- start)`);
  return st;
}
export async function nodePid(name: ClusterLabel): Promise<number | undefined> {
  return (await clusters()).runningPid(name);
}
export async function nodeLogFile(name: ClusterLabel): Promise<string> {
  return (await clusters()).nodeLogFile(name);
}
/** PEM to trust when a node runs with client TLS (`--tls-origin`). */
export async function tlsCaFile(): Promise<string> {
  return (await clusters()).TLS_CA_PEM;
}
/** PEM paths of the client CA trusted by nodes with `clientAuth`, and a client certificate/key it signed (made once). */
export async function tlsClientFiles(): Promise<{ ca: string; cert: string; key: string }> {
  return (await clusters()).ensureClientTls();
}

export interface SessionOptions {
  username?: string;
  password?: string;
  keyspace?: string;
  /** connect and read timeout in ms (default 5000) */
  timeoutMs?: number;
  /** extra driver options merged on top */
  extra?: Partial<ClientOptions>;
}

/** A connected Node cassandra-driver Client for a node (auth/TLS per its options). Call shutdown() when done. */
export async function session(name: ClusterLabel, opts: SessionOptions = {}): Promise<Client> {
  const m = await clusters();
  const base = m.driverOptions(name, { username: opts.username, password: opts.password, timeoutMs: opts.timeoutMs });
  return connectedClient({ ...base, ...(opts.keyspace ? { keyspace: opts.keyspace } : {}), ...(opts.extra ?? {}) });
}

/** A connected Node driver Client; a client that fails to connect is shut down before the error is thrown. */
export async function connectedClient(options: ClientOptions): Promise<Client> {
  const client = new Client(options);
  try {
    await client.connect();
  } catch (e) {
    await client.shutdown().catch(() => undefined);
    throw e;
  }
  return client;
}
export const originSession = (opts?: SessionOptions): Promise<Client> => session('origin', opts);
export const targetSession = (opts?: SessionOptions): Promise<Client> => session('target', opts);

/** Runs fn with a fresh session and always shuts it down. */
export async function withSession<T>(name: ClusterLabel, fn: (c: Client) => Promise<T>, opts?: SessionOptions): Promise<T> {
  const c = await session(name, opts);
  try {
    return await fn(c);
  } finally {
    await c.shutdown().catch(() => undefined);
  }
}

/** A unique keyspace name for a test, e.g. `ks_users_3f9a1c2b`. */
export function uniqueKeyspaceName(prefix = 'ks'): string {
  const p = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 30);
  return `${/^[a-z]/.test(p) ? p : `ks_${p}`}_${randomBytes(4).toString('hex')}`;
}

function checkKeyspaceName(name: string): void {
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(name)) throw new Error(`invalid keyspace name '${name}'`);
}

/** Creates a keyspace (SimpleStrategy, RF 1) on the given clusters (default both); returns its name. */
export async function createKeyspace(
  name: string = uniqueKeyspaceName(),
  on: readonly ClusterLabel[] = NODE_NAMES,
): Promise<string> {
  checkKeyspaceName(name);
  await Promise.all(
    on.map((n) =>
      withSession(n, (c) =>
        c.execute(
          `CREATE KEYSPACE IF NOT EXISTS ${name} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
        ),
      ),
    ),
  );
  return name;
}

/** Drops a keyspace (if it exists) on the given clusters (default both). */
export async function dropKeyspace(name: string, on: readonly ClusterLabel[] = NODE_NAMES): Promise<void> {
  checkKeyspaceName(name);
  await Promise.all(on.map((n) => withSession(n, (c) => c.execute(`DROP KEYSPACE IF EXISTS ${name}`))));
}

/**
 * The fixture of the tests that compare what Origin and Target stored: keyspace `ks` created on both
 * clusters, `tables` (CQL statements, `${ks}` already substituted by the caller) run on each, and a direct
 * driver session to each. `close()` shuts the sessions down and drops the keyspace.
 */
export interface BothClusters {
  readonly ks: string;
  readonly origin: Client;
  readonly target: Client;
  close(): Promise<void>;
}

export async function bothClusters(ks: string, tables: readonly string[]): Promise<BothClusters> {
  await ensureClusters();
  await createKeyspace(ks);
  const [origin, target] = await Promise.all([originSession({ timeoutMs: 20_000 }), targetSession({ timeoutMs: 20_000 })]);
  for (const c of [origin, target]) for (const cql of tables) await c.execute(cql);
  return {
    ks,
    origin,
    target,
    async close() {
      await origin.shutdown().catch(() => undefined);
      await target.shutdown().catch(() => undefined);
      await dropKeyspace(ks).catch(() => undefined);
    },
  };
}

export interface CqlshResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the project's cqlsh (.venv, scripts/pyenv.sh) against origin, target or the proxy, with
 * cassandra/cassandra unless args carry -u/-p (and --ssl when the node runs TLS). Never rejects
 * on a non-zero exit: check `code`.
 */
export async function runCqlsh(
  target: ClusterLabel | 'proxy',
  args: string[],
  { timeoutMs = 60_000 } = {},
): Promise<CqlshResult> {
  const m = await cqlshMod();
  if (!m.cqlshInstalled()) throw new Error(`cqlsh not installed at ${m.CQLSH_BIN}: run 'bash scripts/pyenv.sh'`);
  const cmd = m.cqlshCommand(target, args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.command, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// ---- fault levers -----------------------------------------------------------------------------

/** SIGSTOP the node: its sockets stay open but it answers nothing (requests time out). Resolves once stopped. */
export async function pauseNode(name: ClusterLabel): Promise<void> {
  await (await clusters()).pauseNode(name);
}
/** SIGCONT a paused node; resolves once it answers an authenticated query again. */
export async function resumeNode(name: ClusterLabel): Promise<void> {
  await (await clusters()).resumeNode(name);
}
/** SIGKILL the node (a crash); resolves once the process is gone. Its data is kept. */
export async function killNode(name: ClusterLabel): Promise<void> {
  await (await clusters()).killNode(name);
}
/** Stop (if running) and start the node with its recorded options and data; resolves once it answers. */
export async function restartNode(name: ClusterLabel): Promise<void> {
  await (await clusters()).restartNode(name);
}
/**
 * Make the nodes run with `want` applied on top of their recorded options (e.g. `{ target: { tls: true } }`
 * or `{ origin: { auth: false } }`): only nodes whose options differ (or that are not running) are
 * restarted, in parallel, data kept. Resolves once they answer. Other test runs on this machine see the change.
 */
export async function setNodeOptions(want: Partial<Record<ClusterLabel, Partial<NodeOptions>>>): Promise<void> {
  const m = await clusters();
  const nodeOptions: Record<string, NodeOptions> = {};
  for (const name of NODE_NAMES) {
    const patch = want[name];
    if (!patch) continue;
    const current: NodeOptions = m.readState(name)?.options ?? { auth: true, tls: false, heap: '512m' };
    const next = { ...current, ...patch };
    const differs = (Object.keys(patch) as (keyof NodeOptions)[]).some((k) => (current[k] ?? false) !== (next[k] ?? false));
    if (differs || !m.runningPid(name)) nodeOptions[name] = next;
  }
  const names = Object.keys(nodeOptions);
  if (names.length > 0) await m.startNodes(names, { nodeOptions, timeoutMs: 240_000, quiet: true });
}
/** The last lines of the node's log, for assertion messages. */
export async function nodeLogTail(name: ClusterLabel, lines = 40): Promise<string> {
  return (await clusters()).logTail(name, lines);
}
