// Test support for running the ZDM proxy against the real Origin and Target clusters
// (integration tests under test/integration/proxy/).
//
//   const proxy = await startTestProxy({ settings: { primary_cluster: 'TARGET' } });
//   const client = await proxyClient({ proxy });
//   ...
//   await client.shutdown(); await proxy.stop();
//
// The proxy runs in-process through `startProxy` (src/proxy.ts) by default, or as a child process of
// the CLI (`node dist/src/cli.js`, ZDM_* environment) with `mode: 'cli'`. Settings are given by their
// YAML key (`primary_cluster`, `forward_client_credentials_to_origin`, ...) and passed as ZDM_* variables.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { auth as driverAuth, type Client, type ClientOptions } from 'cassandra-driver';

import { ORIGIN, TARGET, ROOT, connectedClient } from './clusters';
import { waitFor } from './wait';

/** A setting value as given to the proxy (converted to the text of a ZDM_* variable). */
export type SettingValue = string | number | boolean;

export interface TestProxyOptions {
  /** Settings by YAML key, on top of the defaults below (contact points of the test clusters, cassandra/cassandra, ...). */
  settings?: Record<string, SettingValue | undefined>;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Listen port (default: a free port on `host`). */
  port?: number;
  /** 'inproc' (default): startProxy() in this process; 'cli': `node dist/src/cli.js` as a child process. */
  mode?: 'inproc' | 'cli';
  /** CLI mode only: the executable to run instead of `node dist/src/cli.js` (e.g. an installed package's bin). */
  bin?: string;
  /** CLI mode only: pass the settings as ZDM_* variables (default) or in a YAML file given with --config. */
  configVia?: 'env' | 'yaml';
  /** Proxy log level (default warn, or ZDM_TEST_PROXY_LOG_LEVEL). Lines are kept in `logs`; ZDM_TEST_PROXY_LOG=1 echoes them to stderr. */
  logLevel?: string;
  /** How long to wait for the proxy to accept connections (default 60 s). */
  startTimeoutMs?: number;
}

export interface TestProxy {
  readonly host: string;
  readonly port: number;
  /** "host:port" for driver contact points. */
  readonly contactPoint: string;
  /** The ZDM_* environment the proxy was configured with. */
  readonly env: Readonly<Record<string, string>>;
  /** Log lines written by the proxy so far (JSON lines from pino). */
  readonly logs: string[];
  /** The in-process handle returned by startProxy (undefined in 'cli' mode). */
  readonly handle: StartedProxy | undefined;
  /** The CLI child process ('cli' mode only). */
  readonly child?: ChildProcess;
  /** Stops the proxy (idempotent). */
  stop(): Promise<void>;
}

/** What src/proxy.ts exports (loaded at run time so this file compiles whatever the state of src/). */
export interface StartedProxy {
  address?: string;
  port?: number;
  settings?: unknown;
  close(): Promise<void> | void;
}
interface ProxyModule {
  startProxy(config: unknown, opts?: { logger?: unknown; startTimeoutMs?: number }): Promise<StartedProxy>;
}
interface ConfigModule {
  loadConfig(opts: { env: Record<string, string> }): unknown;
}
interface LoggerModule {
  createLogger(level?: string, options?: { destination?: { write(s: string): void }; base?: Record<string, unknown> }): unknown;
}

export const DIST_SRC = join(ROOT, 'dist', 'src');
export const CLI_JS = join(DIST_SRC, 'cli.js');
export const VENV_PYTHON = join(ROOT, '.venv', 'bin', 'python');

/** The env-mode name of a setting: ZDM_ + upper-case YAML key. */
export function envName(key: string): string {
  return `ZDM_${key.toUpperCase()}`;
}

/** Default settings for a test proxy: the test clusters, superuser credentials, a free metrics port. */
export function baseSettings(): Record<string, SettingValue> {
  return {
    origin_contact_points: ORIGIN.host,
    origin_port: ORIGIN.port,
    origin_username: ORIGIN.username,
    origin_password: ORIGIN.password,
    target_contact_points: TARGET.host,
    target_port: TARGET.port,
    target_username: TARGET.username,
    target_password: TARGET.password,
    origin_connection_timeout_ms: 10_000,
    target_connection_timeout_ms: 10_000,
    proxy_request_timeout_ms: 15_000,
    log_level: process.env.ZDM_TEST_PROXY_LOG_LEVEL || 'warn',
  };
}

/** Builds the ZDM_* environment for the given settings (undefined values are left out). */
export function settingsEnv(settings: Record<string, SettingValue | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(settings)) if (v !== undefined) env[envName(k)] = String(v);
  return env;
}

/** A TCP port that is free on every given address at the time of the call. */
export async function freePort(hosts: readonly string[] = ['127.0.0.1']): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(hosts[0]!, 0);
    if (port === undefined) continue;
    let ok = true;
    for (const h of hosts.slice(1))
      if ((await listenOnce(h, port)) === undefined) {
        ok = false;
        break;
      }
    if (ok) return port;
  }
  throw new Error(`no free port on ${hosts.join(', ')}`);
}

function listenOnce(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen({ host, port, exclusive: true }, () => {
      const addr = srv.address();
      const p = typeof addr === 'object' && addr ? addr.port : undefined;
      srv.close(() => resolve(p));
    });
  });
}

/** Resolves once host:port accepts TCP connections; rejects after timeoutMs (or as soon as `failed()` returns an error). */
async function waitListening(host: string, port: number, timeoutMs: number, failed: () => Error | undefined): Promise<void> {
  let err: Error | undefined;
  const accepts = (): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      const done = (v: boolean): void => {
        s.removeAllListeners();
        s.destroy();
        resolve(v);
      };
      s.setTimeout(1000, () => done(false));
      s.once('connect', () => done(true));
      s.once('error', () => done(false));
    });
  await waitFor(
    `proxy listening on ${host}:${port}`,
    async () => {
      err = failed();
      return err !== undefined || (await accepts());
    },
    { timeoutMs, intervalMs: 200 },
  );
  if (err) throw err;
}

/** Collects log lines (and echoes them to stderr with ZDM_TEST_PROXY_LOG=1). */
function logSink(lines: string[], label: string): Writable & { write(s: string): boolean } {
  const echo = process.env.ZDM_TEST_PROXY_LOG === '1';
  return new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      const text = chunk.toString();
      for (const line of text.split('\n'))
        if (line) {
          lines.push(line);
          if (lines.length > 5000) lines.splice(0, lines.length - 5000);
          if (echo) process.stderr.write(`[${label}] ${line}\n`);
        }
      cb();
    },
  });
}

/** Starts a proxy for a test. Always call `stop()` (e.g. in `after()`). */
export async function startTestProxy(opts: TestProxyOptions = {}): Promise<TestProxy> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort([host]));
  const settings: Record<string, SettingValue | undefined> = {
    ...baseSettings(),
    // Several test proxies may run at once: give each its own metrics/health port.
    metrics_address: '127.0.0.1',
    metrics_port: await freePort(['127.0.0.1']),
    ...(opts.logLevel ? { log_level: opts.logLevel } : {}),
    ...(opts.settings ?? {}),
    proxy_listen_address: host,
    proxy_listen_port: port,
  };
  const env = settingsEnv(settings);
  const logs: string[] = [];
  const label = `proxy ${host}:${port}`;
  const timeoutMs = opts.startTimeoutMs ?? 60_000;

  if ((opts.mode ?? 'inproc') === 'cli') {
    if (!opts.bin && !existsSync(CLI_JS)) throw new Error(`${CLI_JS} missing: run npm run build`);
    let args: string[] = [];
    let childEnv: Record<string, string> = env;
    let tmp: string | undefined;
    if (opts.configVia === 'yaml') {
      tmp = mkdtempSync(join(tmpdir(), 'zdm-test-proxy-'));
      const file = join(tmp, 'zdm-proxy.yml');
      writeFileSync(
        file,
        Object.entries(settings)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}\n`)
          .join(''),
      );
      args = ['--config', file];
      childEnv = {};
    }
    const [command, commandArgs] = opts.bin ? [opts.bin, args] : [process.execPath, [CLI_JS, ...args]];
    const child = spawn(command, commandArgs, {
      env: { PATH: process.env.PATH ?? '', ...childEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (tmp) {
      const dir = tmp;
      child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    }
    const sink = logSink(logs, label);
    child.stdout!.on('data', (d: Buffer) => sink.write(d));
    child.stderr!.on('data', (d: Buffer) => sink.write(d));
    let exited: Error | undefined;
    child.once('exit', (code, signal) => {
      exited = new Error(
        `proxy CLI exited (code ${code}, signal ${signal}) before listening; output:\n${logs.slice(-30).join('\n')}`,
      );
    });
    try {
      await waitListening(host, port, timeoutMs, () => exited);
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
    return {
      host,
      port,
      contactPoint: `${host}:${port}`,
      env,
      logs,
      handle: undefined,
      child,
      stop: () => stopChild(child),
    };
  }

  // In-process.
  let proxyMod: ProxyModule;
  try {
    proxyMod = require(join(DIST_SRC, 'proxy')) as ProxyModule;
  } catch (e) {
    throw new Error(`cannot load dist/src/proxy.js (src/proxy.ts startProxy): ${(e as Error).message}`);
  }
  if (typeof proxyMod.startProxy !== 'function') throw new Error('src/proxy.ts does not export startProxy');
  const configMod = require(join(DIST_SRC, 'config')) as ConfigModule;
  const loggerMod = require(join(DIST_SRC, 'observability', 'logger')) as LoggerModule;
  const config = configMod.loadConfig({ env });
  const logger = loggerMod.createLogger(String(settings.log_level ?? 'warn'), {
    destination: logSink(logs, label),
    base: { proxy: `${host}:${port}` },
  });
  const handle = await withTimeout(
    proxyMod.startProxy(config, { logger, startTimeoutMs: timeoutMs }),
    timeoutMs + 5_000,
    `startProxy on ${host}:${port}`,
  );
  let stopped: Promise<void> | undefined;
  return {
    host,
    port: handle.port ?? port,
    contactPoint: `${host}:${handle.port ?? port}`,
    env,
    logs,
    handle,
    stop: () => (stopped ??= Promise.resolve(handle.close()).then(() => undefined)),
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface ProxyClientOptions {
  /** The proxy to connect to (or give host/port). */
  proxy?: { host: string; port: number };
  host?: string;
  port?: number;
  /** Credentials; `null` = no auth provider at all. Default cassandra/cassandra. */
  credentials?: { username: string; password: string } | null;
  keyspace?: string;
  /** Default: the data centre the Origin node reports (datacenter1). */
  localDataCenter?: string;
  /** connect/read timeout in ms (default 10000). */
  timeoutMs?: number;
  /** extra driver options merged on top */
  extra?: Partial<ClientOptions>;
}

/** Driver options for a client of the proxy (not connected). */
export function proxyClientOptions(opts: ProxyClientOptions = {}): ClientOptions {
  const host = opts.proxy?.host ?? opts.host ?? '127.0.0.1';
  const port = opts.proxy?.port ?? opts.port ?? 14002;
  const timeout = opts.timeoutMs ?? 10_000;
  const creds = opts.credentials === undefined ? { username: ORIGIN.username, password: ORIGIN.password } : opts.credentials;
  return {
    contactPoints: [`${host}:${port}`],
    localDataCenter: opts.localDataCenter ?? ORIGIN.datacenter,
    protocolOptions: { port },
    socketOptions: { connectTimeout: timeout, readTimeout: timeout },
    pooling: { heartBeatInterval: 0 },
    ...(creds ? { authProvider: new driverAuth.PlainTextAuthProvider(creds.username, creds.password) } : {}),
    ...(opts.keyspace ? { keyspace: opts.keyspace } : {}),
    ...(opts.extra ?? {}),
  };
}

/** A connected Node cassandra-driver Client against the proxy. Call shutdown() when done. */
export function proxyClient(opts: ProxyClientOptions = {}): Promise<Client> {
  return connectedClient(proxyClientOptions(opts));
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A process run for an assertion message: exit status, the tails of stdout and stderr, and the proxy's last log lines. */
export function describeProcess(what: string, r: ProcessResult, proxy?: { logs: string[] }): string {
  return (
    `${what}: exit ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}\nstdout (last 3000 chars):\n${r.stdout.slice(-3000)}` +
    `\nstderr (last 6000 chars):\n${r.stderr.slice(-6000)}` +
    (proxy
      ? `\nproxy log (last 20 lines):\n${proxy.logs
          .slice(-20)
          .map((l) => l.trimEnd())
          .join('\n')}`
      : '')
  );
}

/** Runs a process and collects its output; never rejects on a non-zero exit (check `code`). */
export function runProcess(
  command: string,
  args: readonly string[],
  { env = process.env, timeoutMs = 60_000, cwd = ROOT }: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Two test proxies with `replace_cql_functions` on and off, each with a Node driver client on `keyspace`. */
export interface ReplaceFunctionsPair {
  on: TestProxy;
  off: TestProxy;
  client: Client;
  offClient: Client;
  close(): Promise<void>;
}

export async function replaceFunctionsPair(keyspace: string): Promise<ReplaceFunctionsPair> {
  const [on, off] = await Promise.all([
    startTestProxy({ settings: { replace_cql_functions: true } }),
    startTestProxy({ settings: { replace_cql_functions: false } }),
  ]);
  const [client, offClient] = await Promise.all([
    proxyClient({ proxy: on, keyspace, extra: { isMetadataSyncEnabled: false } }),
    proxyClient({ proxy: off, keyspace, extra: { isMetadataSyncEnabled: false } }),
  ]);
  return {
    on,
    off,
    client,
    offClient,
    async close() {
      await client.shutdown().catch(() => undefined);
      await offClient.shutdown().catch(() => undefined);
      await on.stop().catch(() => undefined);
      await off.stop().catch(() => undefined);
    },
  };
}

/**
 * The start of a Python driver script run by runPython(script, [host, port, keyspace]): imports, a Cluster on
 * the proxy (cassandra/cassandra, DC-aware, 10 s timeouts, no schema metadata), `session` connected to the
 * keyspace with a 20 s default timeout.
 */
export const PY_PROXY_SESSION = String.raw`
import sys, logging
logging.basicConfig(level=logging.ERROR)
from cassandra.cluster import Cluster
from cassandra.auth import PlainTextAuthProvider
from cassandra.policies import DCAwareRoundRobinPolicy
from cassandra.query import BatchStatement

host, port, ks = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cluster = Cluster(contact_points=[host], port=port,
                  auth_provider=PlainTextAuthProvider(username='cassandra', password='cassandra'),
                  load_balancing_policy=DCAwareRoundRobinPolicy(local_dc='datacenter1'),
                  connect_timeout=10, control_connection_timeout=10, schema_metadata_enabled=False)
session = cluster.connect(ks)
session.default_timeout = 20
`;

/** Runs a Python script (source text) with the project venv's python (.venv, scripts/pyenv.sh): `python -c script args...`. */
export async function runPython(
  script: string,
  args: readonly string[] = [],
  opts: { timeoutMs?: number } = {},
): Promise<ProcessResult> {
  if (!existsSync(VENV_PYTHON)) throw new Error(`${VENV_PYTHON} missing: run 'bash scripts/pyenv.sh'`);
  return runProcess(VENV_PYTHON, ['-c', script, ...args], { timeoutMs: opts.timeoutMs ?? 60_000 });
}

/** Runs the proxy CLI (`node dist/src/cli.js args`) with exactly the given environment (plus PATH). */
export function runCli(
  args: readonly string[],
  env: Record<string, string>,
  opts: { timeoutMs?: number } = {},
): Promise<ProcessResult> {
  if (!existsSync(CLI_JS)) throw new Error(`${CLI_JS} missing: run npm run build`);
  return runProcess(process.execPath, [CLI_JS, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    timeoutMs: opts.timeoutMs ?? 30_000,
  });
}

/**
 * Resident memory of the proxy in bytes: its process's VmRSS in 'cli' mode (the real figure), this test
 * process's RSS in-process (a rough figure: it includes the test itself).
 */
export function residentBytes(proxy: TestProxy): number {
  const pid = proxy.child?.pid;
  if (pid === undefined) return process.memoryUsage().rss;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** True while the proxy runs ('cli' mode: the child has not exited; in-process: always). */
export function proxyAlive(proxy: TestProxy): boolean {
  return proxy.child ? proxy.child.exitCode === null && proxy.child.signalCode === null : true;
}
