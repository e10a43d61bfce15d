#!/usr/bin/env node
// Real Apache Cassandra 5.0 Origin and Target clusters for development, tests and CI (no Docker).
//
//   node scripts/clusters.mjs start|stop|status|reset|logs [origin|target] [options]   (npm run clusters -- ...)
//
// The jars come from Maven Central through scripts/cassandra/pom.xml into .cache/ (once); each node
// runs as its own Java 17 JVM with its config, data and logs under .clusters/<name>/.
// This file is also a module: test/support/clusters.ts imports its exported functions, so the
// start/stop/readiness/fault logic lives here only. Plain ESM, node built-ins only (the Node
// cassandra-driver from node_modules is used for the readiness probe when it is installed).
//
// Concurrency: every state change of a node (start, stop, restart with other options, reset, the
// kill/pause/restart levers) runs under a per-node lock file .clusters/<name>/lock (O_EXCL, holding
// the owner's PID; stale once that process is gone), so two test runs at once never restart a node
// at the same moment. Before a JVM is launched, /proc is scanned for Cassandra JVMs on the node's data
// directory: one with the wanted options is adopted, any other is stopped; two JVMs never share it.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
  rmSync,
  openSync,
  closeSync,
  statSync,
  readdirSync,
  renameSync,
  linkSync,
  unlinkSync,
  writeSync,
  readlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { connect as netConnect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE_DIR = resolve(process.env.ZDM_CACHE_DIR || join(ROOT, '.cache'));
export const CLUSTERS_DIR = resolve(process.env.ZDM_CLUSTERS_DIR || join(ROOT, '.clusters'));
export const TLS_DIR = join(CLUSTERS_DIR, 'tls');
/** PEM certificate of the self-signed CA/server cert used when client TLS is on (for Node/cqlsh clients). */
export const TLS_CA_PEM = join(TLS_DIR, 'ca.pem');
export const TLS_STORE_PASSWORD = 'changeit';
/** Client CA trusted by nodes started with --client-auth (mutual TLS), and a client certificate/key it signed (PEM, openssl). */
export const TLS_CLIENT_CA_PEM = join(TLS_DIR, 'client-ca.pem');
export const TLS_CLIENT_CERT_PEM = join(TLS_DIR, 'client.pem');
export const TLS_CLIENT_KEY_PEM = join(TLS_DIR, 'client.key');
export const JAVA_HOME = process.env.ZDM_JAVA_HOME || '/usr/lib/jvm/java-17-openjdk-amd64';
export const DEFAULT_VERSIONS = ['5.0.8', '5.0.7', '5.0.6'];
export const DATACENTER = 'datacenter1'; // SimpleSnitch
export const CREDENTIALS = Object.freeze({ username: 'cassandra', password: 'cassandra' });
export const NODES = Object.freeze({
  // ZDM_TEST_ORIGIN_HOST / ZDM_TEST_TARGET_HOST (with ZDM_CLUSTERS_DIR) run a second, private pair on other
  // loopback addresses, e.g. for fault tests that kill nodes while another checkout tests against the first pair.
  origin: Object.freeze({
    name: 'origin',
    clusterName: 'origin',
    host: process.env.ZDM_TEST_ORIGIN_HOST || '127.0.0.1',
    port: 9042,
    storagePort: 7000,
  }),
  target: Object.freeze({
    name: 'target',
    clusterName: 'target',
    host: process.env.ZDM_TEST_TARGET_HOST || '127.0.0.2',
    port: 9042,
    storagePort: 7000,
  }),
});
export const NODE_NAMES = Object.freeze(Object.keys(NODES));
const DRIVER_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log('[clusters]', ...a);
const secs = (ms) => `${(ms / 1000).toFixed(1)}s`;

export class ClusterError extends Error {
  /** @param {string} step @param {string} message @param {string} [node] */
  constructor(step, message, node) {
    super(`${step}${node ? ` (${node})` : ''}: ${message}`);
    this.step = step;
    this.node = node;
  }
}

// ------------------------------------------------------------------------------------------------
// Options

const ON = new Set(['on', 'true', '1', 'yes', '']);
const OFF = new Set(['off', 'false', '0', 'no']);
function parseBool(value, what) {
  const v = String(value).trim().toLowerCase();
  if (ON.has(v)) return true;
  if (OFF.has(v)) return false;
  throw new ClusterError('options', `${what}: expected on|off, got '${value}'`);
}

const HEAP_RE = /^\d+[mMgG]$/;

/** Default options of one node, from the environment (ZDM_TEST_<NODE>_AUTH / _TLS, ZDM_TEST_AUTH / _TLS, ZDM_TEST_HEAP). */
export function defaultNodeOptions(name, env = process.env) {
  const up = name.toUpperCase();
  const pick = (key) => env[`ZDM_TEST_${up}_${key}`] ?? env[`ZDM_TEST_${key}`];
  const auth = pick('AUTH');
  const tls = pick('TLS');
  const clientAuth = pick('CLIENT_AUTH');
  const heap = env.ZDM_TEST_HEAP || '512m';
  if (!HEAP_RE.test(heap)) throw new ClusterError('options', `ZDM_TEST_HEAP: expected e.g. 512m or 1g, got '${heap}'`);
  return {
    auth: auth === undefined ? true : parseBool(auth, `ZDM_TEST_${up}_AUTH`),
    tls: tls === undefined ? false : parseBool(tls, `ZDM_TEST_${up}_TLS`),
    clientAuth: clientAuth === undefined ? false : parseBool(clientAuth, `ZDM_TEST_${up}_CLIENT_AUTH`),
    heap,
    jvmOpts: (env.ZDM_TEST_JVM_OPTS || '').trim(),
  };
}

/** Parses CLI flags into { command, names, nodeOptions: {origin, target}, fresh, timeoutMs, version, tail }. */
export function parseArgs(argv, env = process.env) {
  const out = {
    command: undefined,
    names: [],
    fresh: false,
    help: false,
    follow: false,
    lines: 40,
    timeoutMs: Number(env.ZDM_TEST_START_TIMEOUT || 240) * 1000,
    version: env.ZDM_CASSANDRA_VERSION || undefined,
    nodeOptions: Object.fromEntries(NODE_NAMES.map((n) => [n, defaultNodeOptions(n, env)])),
  };
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) {
      if (out.command === undefined) out.command = arg;
      else if (NODE_NAMES.includes(arg)) out.names.push(arg);
      else throw new ClusterError('options', `unknown argument '${arg}' (nodes: ${NODE_NAMES.join(', ')})`);
      continue;
    }
    const [, key, val] = m;
    const flag = val === undefined ? '' : val;
    const perNode = /^(auth|tls|client-auth)(?:-(origin|target))?$/.exec(key);
    if (perNode) {
      const targets = perNode[2] ? [perNode[2]] : NODE_NAMES;
      const field = perNode[1] === 'client-auth' ? 'clientAuth' : perNode[1];
      for (const n of targets) out.nodeOptions[n][field] = parseBool(flag, `--${key}`);
    } else if (key === 'heap') {
      if (!HEAP_RE.test(flag)) throw new ClusterError('options', `--heap: expected e.g. 512m or 1g, got '${flag}'`);
      for (const n of NODE_NAMES) out.nodeOptions[n].heap = flag;
    } else if (key === 'fresh') out.fresh = true;
    else if (key === 'follow' || key === 'f') out.follow = true;
    else if (key === 'lines') out.lines = Number(flag) || 40;
    else if (key === 'timeout') out.timeoutMs = Number(flag) * 1000;
    else if (key === 'version') out.version = flag;
    else if (key === 'help' || key === 'h') out.help = true;
    else throw new ClusterError('options', `unknown option '${arg}' (see --help)`);
  }
  if (out.names.length === 0) out.names = [...NODE_NAMES];
  return out;
}

export const HELP = `Usage: npm run clusters -- <command> [origin|target] [options]
       node scripts/clusters.mjs <command> [origin|target] [options]

Two single-node Apache Cassandra 5.0 clusters for development and tests (Java 17, no Docker):
  origin  127.0.0.1:9042  cluster_name 'origin'
  target  127.0.0.2:9042  cluster_name 'target'
  superuser cassandra/cassandra, data centre '${DATACENTER}'

Commands (default: both nodes):
  start    fetch the jars once (Maven, into .cache/), then start the nodes in parallel and wait until
           each answers an authenticated query. Idempotent: a running node with the same options is
           reused; one running with other options is restarted with the new ones (data kept).
  fetch    only fetch the jars (Maven Central -> .cache/m2, classpath in .cache/cassandra/)
  stop     stop the nodes by their recorded PIDs (SIGTERM, SIGKILL after 30 s)
  reset    stop the nodes and wipe their data (.clusters/<name>/); the jar cache is kept
  status   state, PID, address, options, Cassandra version and RSS of each node
  logs     where each node logs; 'logs origin' prints its last --lines=N lines, --follow tails it

Options (flag / environment variable; flags win):
  --auth=on|off, --auth-origin=off, --auth-target=off   ZDM_TEST_AUTH, ZDM_TEST_ORIGIN_AUTH, ZDM_TEST_TARGET_AUTH
        PasswordAuthenticator (default on) or AllowAllAuthenticator
  --tls, --tls-origin, --tls-target (=on|off)            ZDM_TEST_TLS, ZDM_TEST_ORIGIN_TLS, ZDM_TEST_TARGET_TLS
        client-to-node TLS on the native port (default off). A self-signed keystore/truststore is
        made with the JDK keytool under .clusters/tls/; the PEM for clients is .clusters/tls/ca.pem
  --client-auth, --client-auth-origin, --client-auth-target (=on|off)
                                                         ZDM_TEST_CLIENT_AUTH, ZDM_TEST_ORIGIN_CLIENT_AUTH, ZDM_TEST_TARGET_CLIENT_AUTH
        with --tls: mutual TLS (require_client_auth). Clients must present a certificate signed by
        .clusters/tls/client-ca.pem; one is made with openssl: .clusters/tls/client.pem + client.key
  --heap=512m                                            ZDM_TEST_HEAP            JVM heap (-Xms=-Xmx) per node
                                                         ZDM_TEST_JVM_OPTS        extra JVM flags per node (space-separated; they win)
  --fresh                                                                         wipe a node's data before starting it
  --timeout=240                                          ZDM_TEST_START_TIMEOUT   seconds to wait for readiness
  --version=5.0.8                                        ZDM_CASSANDRA_VERSION    Cassandra version (default tries ${DEFAULT_VERSIONS.join(', ')})
                                                         ZDM_JAVA_HOME            Java 17 home (default ${JAVA_HOME})
                                                         ZDM_CLUSTERS_DIR, ZDM_CACHE_DIR  node and jar directories
                                                         ZDM_CLUSTERS_LOCK_TIMEOUT  seconds to wait for another run's
                                                                                  start/stop of a node (default 360)
`;

// ------------------------------------------------------------------------------------------------
// Paths and state

export function nodeDir(name) {
  return join(CLUSTERS_DIR, name);
}
export function nodeLogFile(name) {
  return join(nodeDir(name), 'logs', 'system.log');
}
export function nodeStdoutFile(name) {
  return join(nodeDir(name), 'logs', 'stdout.log');
}
function stateFile(name) {
  return join(nodeDir(name), 'state.json');
}

/** The recorded state of a node ({ pid, options, version, ... }) or undefined. */
export function readState(name) {
  try {
    return JSON.parse(readFileSync(stateFile(name), 'utf8'));
  } catch {
    return undefined;
  }
}
function writeState(name, state) {
  mkdirSync(nodeDir(name), { recursive: true });
  // write + rename: a concurrent reader (status, another run) never sees a half-written file
  const tmp = `${stateFile(name)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, stateFile(name));
}

/** True when pid is alive and is the Cassandra JVM of this node (guards against PID reuse). */
export function isNodeProcess(pid, name) {
  if (!pid) return false;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('CassandraDaemon') && cmd.includes(`${nodeDir(name)}/`);
  } catch {
    return false;
  }
}
/** Process state letter from /proc/<pid>/stat (R, S, T = stopped, Z, ...) or undefined when gone. */
export function processState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}
/** Resident memory of a process in KiB (VmRSS), or undefined. */
export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
/** Cassandra JVMs started by this script from another checkout for the same node name: [{ pid, dir }]. */
export function foreignNodes(name) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd;
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!cmd.includes(`-Dzdm.node=${name}`)) continue;
    const dir = (cmd.find((a) => a.startsWith('-Dcassandra.storagedir=')) || '').slice('-Dcassandra.storagedir='.length);
    if (dir !== nodeDir(name)) found.push({ pid: Number(entry), dir });
  }
  return found;
}

/** True once the process has exited (no /proc entry, or a zombie): its sockets are closed by then. */
export function processGone(pid) {
  const st = processState(pid);
  return st === undefined || st === 'Z';
}
/** PID of the running node, or undefined. */
export function runningPid(name) {
  const st = readState(name);
  return st && isNodeProcess(st.pid, name) && processState(st.pid) !== 'Z' ? st.pid : undefined;
}

/** The last `lines` lines of the node's system.log, plus the tail of its JVM stdout/stderr (warnings, JVM errors). */
export function logTail(name, lines = 40) {
  const out = [];
  const tail = (f, n) => {
    if (!existsSync(f)) return;
    const text = readFileSync(f, 'utf8').trimEnd();
    if (!text) return;
    out.push(`----- last ${n} lines of ${f} -----`, ...text.split('\n').slice(-n));
  };
  tail(nodeStdoutFile(name), Math.min(lines, 15));
  tail(nodeLogFile(name), lines);
  return out.length ? out.join('\n') : `(no log yet under ${join(nodeDir(name), 'logs')})`;
}

// ------------------------------------------------------------------------------------------------
// Per-node lock (.clusters/<name>/lock)

export const LOCK_TIMEOUT_MS = Number(process.env.ZDM_CLUSTERS_LOCK_TIMEOUT || 360) * 1000;
const LOCK_NAME = 'lock';
export function nodeLockFile(name) {
  return join(nodeDir(name), LOCK_NAME);
}

const heldLocks = new AsyncLocalStorage(); // Set of node names the current async call chain holds
const ownedLocks = new Map(); // nonce -> lock file, for this process
let exitHookInstalled = false;

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat): guards against PID reuse. */
function procStartTime(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The holder recorded in a lock file ({ pid, startTime, nonce, what, cmd, since }), or undefined. */
export function readLock(name) {
  try {
    return JSON.parse(readFileSync(nodeLockFile(name), 'utf8'));
  } catch {
    return undefined;
  }
}

function holderAlive(h) {
  if (!h || !Number.isInteger(h.pid) || h.pid <= 0) return false;
  if (h.pid === process.pid) return ownedLocks.has(h.nonce); // ours only while a call chain holds it
  const st = processState(h.pid);
  if (st === undefined || st === 'Z') return false;
  return !h.startTime || procStartTime(h.pid) === h.startTime;
}

function describeHolder(h) {
  if (!h) return 'an unknown process (unreadable lock file)';
  return `pid ${h.pid} ('${h.what}'${h.cmd ? ` from: ${h.cmd}` : ''}, since ${h.since})`;
}

/** Removes a stale lock file without ever removing a fresh one another process made meanwhile. */
function breakStaleLock(file, seenRaw) {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch {
    return;
  } // already gone
  let raw;
  try {
    raw = readFileSync(aside, 'utf8');
  } catch {
    raw = undefined;
  }
  if (raw !== seenRaw) {
    // Someone broke it and took the lock between our read and our rename: put theirs back
    // (link fails if yet another process took it in that instant; theirs then stands).
    try {
      linkSync(aside, file);
    } catch {
      /* EEXIST */
    }
  }
  rmSync(aside, { force: true });
}

async function acquireNodeLock(name, what, timeoutMs) {
  const file = nodeLockFile(name);
  mkdirSync(nodeDir(name), { recursive: true });
  const me = {
    pid: process.pid,
    startTime: procStartTime(process.pid),
    nonce: randomBytes(8).toString('hex'),
    what,
    cmd: process.argv.slice(1).join(' ').slice(0, 200),
    since: new Date().toISOString(),
  };
  const t0 = Date.now();
  let announced = false;
  for (;;) {
    let fd;
    try {
      fd = openSync(file, 'wx'); // O_CREAT | O_EXCL
    } catch (e) {
      if (e.code !== 'EEXIST') throw new ClusterError('lock', `cannot create ${file}: ${e.message}`, name);
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, `${JSON.stringify(me)}\n`);
      } finally {
        closeSync(fd);
      }
      ownedLocks.set(me.nonce, file);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.once('exit', () => {
          for (const [nonce, f] of ownedLocks) releaseLockFile(f, nonce);
        });
      }
      return { file, nonce: me.nonce };
    }
    let raw;
    try {
      raw = readFileSync(file, 'utf8');
    } catch {
      continue;
    } // released meanwhile
    let holder;
    try {
      holder = JSON.parse(raw);
    } catch {
      holder = undefined;
    }
    let stale;
    if (holder) stale = !holderAlive(holder);
    else {
      // being written right now, or left empty by a crash
      try {
        stale = Date.now() - statSync(file).mtimeMs > 5000;
      } catch {
        continue;
      }
    }
    if (stale) {
      log(`${name}: removing stale lock ${file} (${holder ? `holder pid ${holder.pid} is gone` : 'empty or unreadable'})`);
      breakStaleLock(file, raw);
      continue;
    }
    if (Date.now() - t0 >= timeoutMs) {
      throw new ClusterError(
        'lock',
        `gave up after ${secs(Date.now() - t0)} waiting to '${what}': ${file} is held by ${describeHolder(holder)}. ` +
          `Another run is changing this node; wait for it, or if that process is stuck stop it (kill ${holder?.pid ?? '<pid>'}); ` +
          'ZDM_CLUSTERS_LOCK_TIMEOUT sets the wait in seconds',
        name,
      );
    }
    if (!announced) {
      announced = true;
      log(`${name}: waiting for ${describeHolder(holder)} to release ${file}`);
    }
    await sleep(200);
  }
}

function releaseLockFile(file, nonce) {
  ownedLocks.delete(nonce);
  try {
    if (JSON.parse(readFileSync(file, 'utf8')).nonce === nonce) unlinkSync(file);
  } catch {
    /* gone or not ours */
  }
}

/**
 * Runs fn holding the locks of the named nodes (taken in NODE_NAMES order; re-entrant within one
 * async call chain, so restartNode -> startNodes does not wait for itself). Waits up to timeoutMs
 * for another holder (another process or another call chain of this one), then throws a
 * ClusterError naming the holder.
 */
export async function withNodeLocks(names, what, fn, { timeoutMs = LOCK_TIMEOUT_MS } = {}) {
  const held = heldLocks.getStore() || new Set();
  const order = NODE_NAMES.filter((n) => names.includes(n) && !held.has(n));
  const taken = [];
  try {
    for (const n of order) taken.push(await acquireNodeLock(n, what, timeoutMs));
    return await heldLocks.run(new Set([...held, ...order]), fn);
  } finally {
    for (const l of taken.reverse()) releaseLockFile(l.file, l.nonce);
  }
}

/** Removes a node's directory contents (config, data, logs, state) but not its lock file. */
function wipeNodeDir(name) {
  let entries;
  try {
    entries = readdirSync(nodeDir(name));
  } catch {
    return;
  }
  for (const e of entries)
    if (e !== LOCK_NAME && !e.startsWith(`${LOCK_NAME}.stale-`)) rmSync(join(nodeDir(name), e), { recursive: true, force: true });
}

// ------------------------------------------------------------------------------------------------
// Cassandra JVMs on a node's data directory (whoever started them)

/**
 * Live Cassandra JVMs that use this node's data directory (.clusters/<name>), found by scanning
 * /proc/*\/cmdline for its -Dcassandra.storagedir / -Dcassandra.config; recorded or not.
 * A java process whose cmdline already reads empty (it is exiting) but whose cwd is still the node
 * directory counts too, as { exiting: true }: its files may still be open. [{ pid, args, exiting }]
 */
export function nodeProcesses(name) {
  const dir = nodeDir(name);
  const config = pathToFileURL(join(dir, 'conf', 'cassandra.yaml')).href;
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let args;
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (args.length && args[args.length - 1] === '') args.pop();
    const st = processState(pid);
    if (st === undefined || st === 'Z') continue;
    if (args.length === 0) {
      try {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'java' && readlinkSync(`/proc/${entry}/cwd`) === dir) {
          found.push({ pid, args, exiting: true });
        }
      } catch {
        /* not ours to read */
      }
      continue;
    }
    if (!args.includes('org.apache.cassandra.service.CassandraDaemon')) continue;
    if (args.some((a) => a === `-Dcassandra.storagedir=${dir}` || a === `-Dcassandra.config=${config}`)) {
      found.push({ pid, args, exiting: false });
    }
  }
  return found;
}

/** Options a running JVM of this node was started with (from its command line; older launches: config file). */
function processOptions(name, args) {
  const tagged = args.find((a) => a.startsWith('-Dzdm.options='));
  if (tagged) {
    try {
      return JSON.parse(decodeURIComponent(tagged.slice('-Dzdm.options='.length)));
    } catch {
      /* fall through */
    }
  }
  const heap = args.find((a) => a.startsWith('-Xmx'))?.slice(4);
  const i = args.findIndex((a) => a.startsWith('-Dzdm.node='));
  const j = args.lastIndexOf('-cp');
  let yaml = '';
  try {
    yaml = readFileSync(join(nodeDir(name), 'conf', 'cassandra.yaml'), 'utf8');
  } catch {
    /* none */
  }
  return {
    auth: /^authenticator:\s*PasswordAuthenticator/m.test(yaml),
    tls: /^client_encryption_options:\s*\n\s*enabled:\s*true/m.test(yaml),
    clientAuth: /^\s*require_client_auth:\s*true/m.test(yaml),
    heap,
    jvmOpts: i >= 0 && j > i ? args.slice(i + 1, j).join(' ') : '',
  };
}

function processVersion(args) {
  const cp = args[args.lastIndexOf('-cp') + 1] || '';
  return /cassandra-all-([0-9][^/:]*?)\.jar/.exec(cp)?.[1];
}

/** SIGTERM (after SIGCONT) the given PIDs, SIGKILL what is left after graceMs; resolves once all are gone. */
async function killPids(name, pids, graceMs) {
  const t0 = Date.now();
  const signal = (pid, sig) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone, or not ours */
    }
  };
  for (const pid of pids) {
    signal(pid, 'SIGCONT'); // a paused (SIGSTOPped) JVM cannot handle SIGTERM
    signal(pid, 'SIGTERM');
  }
  // Not isNodeProcess(): /proc/<pid>/cmdline reads empty while the JVM is exiting.
  const alive = () => pids.filter((p) => !processGone(p));
  while (alive().length && Date.now() - t0 < graceMs) await sleep(100);
  if (alive().length) {
    log(`${name}: still running ${secs(graceMs)} after SIGTERM; sending SIGKILL`);
    for (const pid of alive()) signal(pid, 'SIGKILL');
    const t1 = Date.now();
    while (alive().length) {
      if (Date.now() - t1 > 30_000) throw new ClusterError('stop', `pid ${alive().join(', ')} did not exit after SIGKILL`, name);
      await sleep(100);
    }
  }
  return Date.now() - t0;
}

// ------------------------------------------------------------------------------------------------
// Java and jars

export function javaBin() {
  return join(JAVA_HOME, 'bin', 'java');
}

function checkJava() {
  const java = javaBin();
  if (!existsSync(java)) {
    throw new ClusterError(
      'java',
      `no Java at ${java}; install OpenJDK 17 (apt-get install openjdk-17-jdk-headless) or set ZDM_JAVA_HOME`,
    );
  }
  const r = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)/.exec(r.stderr || '');
  const major = m ? Number(m[1]) : 0;
  if (major !== 17 && major !== 11) {
    throw new ClusterError('java', `${java} is Java ${major || '?'}; Cassandra 5.0 needs Java 17 (or 11). Set ZDM_JAVA_HOME`);
  }
}

function classpathFile(version) {
  return join(CACHE_DIR, 'cassandra', `${version}.classpath`);
}

function cachedClasspath(version) {
  const f = classpathFile(version);
  if (!existsSync(f)) return undefined;
  const cp = readFileSync(f, 'utf8').trim();
  const jars = cp.split(':');
  return jars.length > 50 && jars.every((j) => existsSync(j)) ? cp : undefined;
}

/**
 * Resolves the Cassandra jars with Maven (once; cached in .cache/m2 and .cache/cassandra/<v>.classpath).
 * Tries the pinned version, then the fallbacks. Returns { version, classpath, fetchedMs }.
 */
export function fetchJars(version) {
  const candidates = version ? [version] : DEFAULT_VERSIONS;
  for (const v of candidates) {
    const cp = cachedClasspath(v);
    if (cp) return { version: v, classpath: cp, fetchedMs: 0 };
  }
  const mvn = process.env.ZDM_MVN || 'mvn';
  const t0 = Date.now();
  const errors = [];
  for (const v of candidates) {
    log(`fetching Cassandra ${v} jars with Maven into ${CACHE_DIR} ...`);
    mkdirSync(join(CACHE_DIR, 'cassandra'), { recursive: true });
    const outFile = classpathFile(v);
    const args = [
      '-B',
      '-q',
      '-Dstyle.color=never',
      '-f',
      join(ROOT, 'scripts', 'cassandra', 'pom.xml'),
      `-Dmaven.repo.local=${join(CACHE_DIR, 'm2')}`,
      `-Dcassandra.version=${v}`,
      `${DRIVER_PLUGIN}:build-classpath`,
      '-Dmdep.includeScope=runtime',
      `-Dmdep.outputFile=${outFile}.tmp`,
    ];
    const r = spawnSync(mvn, args, {
      encoding: 'utf8',
      env: { ...process.env, JAVA_HOME },
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) throw new ClusterError('fetch jars', `cannot run '${mvn}' (${r.error.message}); install Maven 3.8+`);
    if (r.status === 0 && existsSync(`${outFile}.tmp`)) {
      writeFileSync(outFile, readFileSync(`${outFile}.tmp`, 'utf8'));
      rmSync(`${outFile}.tmp`, { force: true });
      const cp = cachedClasspath(v);
      if (cp) {
        const ms = Date.now() - t0;
        log(`fetched Cassandra ${v}: ${cp.split(':').length} jars in ${secs(ms)}`);
        return { version: v, classpath: cp, fetchedMs: ms };
      }
    }
    const noise = /Re-run Maven|^\[ERROR\] \[Help 1\]|For more information|full stack trace|^\[ERROR\]\s*$|^\s*$/;
    const out = `${r.stdout}\n${r.stderr}`
      .replace(/\x1b\[[0-9;]*m/g, '')
      .split('\n')
      .filter((l) => !noise.test(l))
      .slice(-25)
      .join('\n');
    errors.push(`--- mvn for ${v} (exit ${r.status}) ---\n${out}`);
    log(`Cassandra ${v} could not be resolved${candidates.length > 1 ? ', trying the next version' : ''}`);
  }
  throw new ClusterError(
    'fetch jars',
    `Maven could not resolve org.apache.cassandra:cassandra-all ${candidates.join(' / ')}\n${errors.join('\n')}`,
  );
}

// ------------------------------------------------------------------------------------------------
// TLS material

/** Makes (once) a self-signed server keystore + truststore with keytool and exports the PEM (.clusters/tls/ca.pem). */
export function ensureTls() {
  const keystore = join(TLS_DIR, 'keystore.p12');
  const truststore = join(TLS_DIR, 'truststore.p12');
  if (existsSync(keystore) && existsSync(truststore) && existsSync(TLS_CA_PEM)) return { keystore, truststore, ca: TLS_CA_PEM };
  mkdirSync(TLS_DIR, { recursive: true });
  for (const f of [keystore, truststore, TLS_CA_PEM]) rmSync(f, { force: true });
  const keytool = join(JAVA_HOME, 'bin', 'keytool');
  const pw = TLS_STORE_PASSWORD;
  const run = (args) => {
    try {
      execFileSync(keytool, args, { stdio: 'pipe' });
    } catch (e) {
      throw new ClusterError('tls', `keytool ${args[0]} failed: ${e.stderr || e.message}`);
    }
  };
  run([
    '-genkeypair',
    '-alias',
    'node',
    '-keyalg',
    'RSA',
    '-keysize',
    '2048',
    '-validity',
    '3650',
    '-dname',
    'CN=zdm-test-cassandra',
    '-ext',
    `SAN=IP:127.0.0.1,IP:127.0.0.2,IP:${NODES.origin.host},IP:${NODES.target.host},DNS:localhost`,
    '-storetype',
    'PKCS12',
    '-keystore',
    keystore,
    '-storepass',
    pw,
    '-keypass',
    pw,
  ]);
  run(['-exportcert', '-rfc', '-alias', 'node', '-keystore', keystore, '-storepass', pw, '-file', TLS_CA_PEM]);
  run([
    '-importcert',
    '-noprompt',
    '-alias',
    'node',
    '-file',
    TLS_CA_PEM,
    '-storetype',
    'PKCS12',
    '-keystore',
    truststore,
    '-storepass',
    pw,
  ]);
  log(`made self-signed TLS material in ${TLS_DIR} (clients trust ${TLS_CA_PEM})`);
  return { keystore, truststore, ca: TLS_CA_PEM };
}

/**
 * Makes (once) the client side of mutual TLS with openssl: a client CA (imported into the nodes' truststore)
 * and a client certificate + unencrypted key it signed, all PEM under .clusters/tls/.
 */
export function ensureClientTls() {
  const { truststore } = ensureTls();
  const files = { ca: TLS_CLIENT_CA_PEM, cert: TLS_CLIENT_CERT_PEM, key: TLS_CLIENT_KEY_PEM };
  const imported =
    spawnSync(
      join(JAVA_HOME, 'bin', 'keytool'),
      ['-list', '-alias', 'clientca', '-keystore', truststore, '-storepass', TLS_STORE_PASSWORD, '-storetype', 'PKCS12'],
      { stdio: 'pipe' },
    ).status === 0;
  if (imported && Object.values(files).every((f) => existsSync(f))) return files;
  const ssl = (args) => {
    try {
      execFileSync('openssl', args, { stdio: 'pipe' });
    } catch (e) {
      throw new ClusterError('tls', `openssl ${args[0]} failed (is openssl installed?): ${e.stderr || e.message}`);
    }
  };
  const caKey = join(TLS_DIR, 'client-ca.key');
  const csr = join(TLS_DIR, 'client.csr');
  const ext = join(TLS_DIR, 'client.ext');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    caKey,
    '-out',
    TLS_CLIENT_CA_PEM,
    '-days',
    '3650',
    '-subj',
    '/CN=zdm-test-client-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  writeFileSync(ext, 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  ssl(['req', ...ec, '-keyout', TLS_CLIENT_KEY_PEM, '-out', csr, '-subj', '/CN=zdm-test-client']);
  ssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    TLS_CLIENT_CA_PEM,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    TLS_CLIENT_CERT_PEM,
    '-days',
    '3650',
    '-extfile',
    ext,
  ]);
  const keytool = join(JAVA_HOME, 'bin', 'keytool');
  if (imported)
    execFileSync(
      keytool,
      ['-delete', '-alias', 'clientca', '-keystore', truststore, '-storepass', TLS_STORE_PASSWORD, '-storetype', 'PKCS12'],
      { stdio: 'pipe' },
    );
  try {
    execFileSync(
      keytool,
      [
        '-importcert',
        '-noprompt',
        '-alias',
        'clientca',
        '-file',
        TLS_CLIENT_CA_PEM,
        '-storetype',
        'PKCS12',
        '-keystore',
        truststore,
        '-storepass',
        TLS_STORE_PASSWORD,
      ],
      { stdio: 'pipe' },
    );
  } catch (e) {
    throw new ClusterError('tls', `keytool -importcert failed: ${e.stderr || e.message}`);
  }
  log(`made the client CA and a client certificate in ${TLS_DIR} (nodes with --client-auth trust ${TLS_CLIENT_CA_PEM})`);
  return files;
}

// ------------------------------------------------------------------------------------------------
// Node configuration and launch

function cassandraYaml(node, dir, opts) {
  const tls = opts.tls
    ? `client_encryption_options:
  enabled: true
  optional: false
  keystore: ${join(TLS_DIR, 'keystore.p12')}
  keystore_password: ${TLS_STORE_PASSWORD}
  truststore: ${join(TLS_DIR, 'truststore.p12')}
  truststore_password: ${TLS_STORE_PASSWORD}
  store_type: PKCS12
  require_client_auth: ${opts.clientAuth ? 'true' : 'false'}
`
    : `client_encryption_options:
  enabled: false
`;
  return `# Written by scripts/clusters.mjs for the '${node.name}' test cluster; rewritten on each start.
cluster_name: '${node.clusterName}'
num_tokens: 1
initial_token: 0
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "${node.host}:${node.storagePort}"
listen_address: ${node.host}
rpc_address: ${node.host}
storage_port: ${node.storagePort}
native_transport_port: ${node.port}
start_native_transport: true

data_file_directories:
  - ${dir}/data
commitlog_directory: ${dir}/commitlog
hints_directory: ${dir}/hints
saved_caches_directory: ${dir}/saved_caches
cdc_raw_directory: ${dir}/cdc_raw

commitlog_sync: periodic
commitlog_sync_period: 10000ms

authenticator: ${opts.auth ? 'PasswordAuthenticator' : 'AllowAllAuthenticator'}
authorizer: ${opts.auth ? 'CassandraAuthorizer' : 'AllowAllAuthorizer'}
role_manager: CassandraRoleManager

${tls}
# lean and fast for tests
hinted_handoff_enabled: false
auto_snapshot: false
snapshot_before_compaction: false
memtable_allocation_type: heap_buffers
memtable_heap_space: 64MiB
memtable_offheap_space: 64MiB
memtable_flush_writers: 1
concurrent_reads: 4
concurrent_writes: 4
concurrent_counter_writes: 4
concurrent_materialized_view_writes: 2
concurrent_compactors: 1
native_transport_max_threads: 32
key_cache_size: 8MiB
file_cache_size: 32MiB
prepared_statements_cache_size: 8MiB
batch_size_warn_threshold: 64KiB
batch_size_fail_threshold: 1024KiB
unlogged_batch_across_partitions_warn_threshold: 100
materialized_views_enabled: false
user_defined_functions_enabled: false
# slow-CI friendly request timeouts
read_request_timeout: 10000ms
range_request_timeout: 20000ms
write_request_timeout: 10000ms
counter_write_request_timeout: 10000ms
request_timeout: 20000ms
`;
}

const LOGBACK_XML = `<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>\${cassandra.logdir}/system.log</file>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %logger{0}:%L - %msg%n</pattern></encoder>
  </appender>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level %date{HH:mm:ss.SSS} %msg%n</pattern></encoder>
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter"><level>WARN</level></filter>
  </appender>
  <root level="INFO">
    <appender-ref ref="FILE"/>
    <appender-ref ref="STDOUT"/>
  </root>
</configuration>
`;

const JPMS_FLAGS = [
  '-Djdk.attach.allowAttachSelf=true',
  ...[
    'java.base/jdk.internal.misc',
    'java.base/jdk.internal.ref',
    'java.base/sun.nio.ch',
    'java.base/java.lang.ref',
    'java.management.rmi/com.sun.jmx.remote.internal.rmi',
    'java.rmi/sun.rmi.registry',
    'java.rmi/sun.rmi.server',
    'java.sql/java.sql',
    'jdk.unsupported/sun.misc',
    'jdk.compiler/com.sun.tools.javac.file',
    'jdk.attach/sun.tools.attach',
  ].flatMap((p) => ['--add-exports', `${p}=ALL-UNNAMED`]),
  ...[
    'java.base/java.lang',
    'java.base/java.lang.module',
    'java.base/java.lang.reflect',
    'java.base/java.io',
    'java.base/java.nio',
    'java.base/java.util',
    'java.base/sun.nio.ch',
    'java.base/jdk.internal.loader',
    'java.base/jdk.internal.ref',
    'java.base/jdk.internal.reflect',
    'java.base/jdk.internal.math',
    'java.base/jdk.internal.module',
    'java.base/jdk.internal.util.jar',
    'jdk.compiler/com.sun.tools.javac',
    'jdk.management/com.sun.management.internal',
  ].flatMap((p) => ['--add-opens', `${p}=ALL-UNNAMED`]),
  '-Dio.netty.tryReflectionSetAccessible=true',
  '-Dio.netty.allocator.useCacheForAllThreads=true',
  '-Dio.netty.allocator.maxOrder=11',
];

function jvmArgs(node, dir, opts, classpath) {
  return [
    ...JPMS_FLAGS,
    `-Xms${opts.heap}`,
    `-Xmx${opts.heap}`,
    '-Xss256k',
    '-XX:MaxDirectMemorySize=256m',
    '-XX:MaxMetaspaceSize=256m',
    '-XX:ReservedCodeCacheSize=96m',
    '-XX:+UseSerialGC',
    '-XX:+ExitOnOutOfMemoryError',
    '-XX:+PerfDisableSharedMem',
    '-XX:TieredStopAtLevel=1', // faster cold start; a test cluster never gets hot enough for C2 to pay off
    '-ea',
    '-da:net.openhft...',
    '-Djava.net.preferIPv4Stack=true',
    `-Djava.io.tmpdir=${dir}/tmp`,
    `-Djna.tmpdir=${dir}/tmp`,
    `-Dcassandra.config=${pathToFileURL(join(dir, 'conf', 'cassandra.yaml')).href}`,
    `-Dcassandra.storagedir=${dir}`,
    `-Dcassandra.logdir=${dir}/logs`,
    `-Dcassandra.triggers_dir=${dir}/triggers`,
    `-Dlogback.configurationFile=${join(dir, 'conf', 'logback.xml')}`,
    '-Dcassandra-foreground=yes',
    `-Dcassandra-pidfile=${dir}/cassandra.pid`,
    '-Dcassandra.skip_wait_for_gossip_to_settle=0',
    '-Dcassandra.superuser_setup_delay_ms=0',
    // Test clusters only: bcrypt with 2^4 rounds instead of 2^10 for the password hashes this JVM writes.
    // PasswordAuthenticator caches the hash, not the check: every new connection runs bcrypt on the hash's
    // rounds (~60 ms of CPU at 2^10 on this machine), which made 1,000 authenticated proxy connections
    // (2 logins each) take 95-260 s to open. See BCRYPT_ROUNDS below for existing data directories.
    `-Dcassandra.auth_bcrypt_gensalt_log2_rounds=${BCRYPT_ROUNDS}`,
    '-Dcassandra.load_ring_state=false',
    '-Dcassandra.ring_delay_ms=1000',
    '-Dcassandra.shutdown_announce_in_ms=0', // no 2 s gossip farewell on stop: nobody is listening
    // the options this JVM runs with, so another run can tell whether to adopt it (nodeProcesses)
    `-Dzdm.options=${encodeURIComponent(JSON.stringify({ auth: opts.auth, tls: opts.tls, clientAuth: !!opts.clientAuth, heap: opts.heap, jvmOpts: opts.jvmOpts || '' }))}`,
    `-Dzdm.node=${node.name}`,
    ...(opts.jvmOpts ? opts.jvmOpts.split(/\s+/) : []), // last wins, e.g. -XX:TieredStopAtLevel=4
    '-cp',
    classpath,
    'org.apache.cassandra.service.CassandraDaemon',
  ];
}

const BCRYPT_ROUNDS = 4;

/**
 * A node launched on a data directory whose superuser hash was written with more bcrypt rounds (before
 * BCRYPT_ROUNDS, or by Cassandra's default 10): set the same password again so that this JVM re-hashes it
 * cheaply. Only for JVMs this script launched (never a node it merely adopts); no-op without auth or driver.
 */
async function cheapenSuperuserHash(name, opts) {
  const driver = loadDriver();
  if (!opts.auth || !driver) return;
  const client = new driver.Client(driverOptions(name, { opts, timeoutMs: 20_000 }));
  try {
    await client.connect();
    const rs = await client.execute('SELECT salted_hash FROM system_auth.roles WHERE role = ?', [CREDENTIALS.username], {
      prepare: true,
    });
    const hash = rs.first()?.salted_hash;
    const rounds = typeof hash === 'string' ? Number(hash.split('$')[2]) : NaN;
    if (!(rounds > BCRYPT_ROUNDS)) return;
    await client.execute(`ALTER ROLE ${CREDENTIALS.username} WITH PASSWORD = '${CREDENTIALS.password.replace(/'/g, "''")}'`);
    log(`${name}: superuser password re-hashed with 2^${BCRYPT_ROUNDS} bcrypt rounds (was 2^${rounds})`);
  } finally {
    await client.shutdown().catch(() => {});
  }
}

function sameOptions(a, b) {
  return (
    !!a &&
    !!b &&
    a.auth === b.auth &&
    a.tls === b.tls &&
    !!a.clientAuth === !!b.clientAuth &&
    a.heap === b.heap &&
    (a.jvmOpts || '') === (b.jvmOpts || '')
  );
}

/** Launches the JVM of one node (detached) and records its PID. Does not wait for readiness. */
function launchNode(name, opts, jars) {
  const node = NODES[name];
  const dir = nodeDir(name);
  for (const d of ['conf', 'data', 'commitlog', 'hints', 'saved_caches', 'cdc_raw', 'logs', 'tmp', 'triggers']) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  writeFileSync(join(dir, 'conf', 'cassandra.yaml'), cassandraYaml(node, dir, opts));
  writeFileSync(join(dir, 'conf', 'logback.xml'), LOGBACK_XML);
  rmSync(join(dir, 'logs', 'system.log'), { force: true });
  const out = openSync(nodeStdoutFile(name), 'w');
  const child = spawn(javaBin(), jvmArgs(node, dir, opts, jars.classpath), {
    cwd: dir,
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, JAVA_HOME, MALLOC_ARENA_MAX: '4' },
  });
  closeSync(out);
  child.unref();
  if (!child.pid) throw new ClusterError('start', `could not spawn ${javaBin()}`, name);
  writeState(name, {
    pid: child.pid,
    name,
    host: node.host,
    port: node.port,
    clusterName: node.clusterName,
    version: jars.version,
    options: opts,
    startedAt: new Date().toISOString(),
  });
  return child.pid;
}

// ------------------------------------------------------------------------------------------------
// Readiness

function portOpen(host, port, timeoutMs = 1000) {
  return new Promise((res) => {
    const s = netConnect({ host, port });
    const done = (ok) => {
      s.removeAllListeners();
      s.destroy();
      res(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

let driverModule;
/** The Node cassandra-driver from node_modules, or undefined when it is not installed. */
export function loadDriver() {
  if (driverModule === undefined) {
    try {
      driverModule = createRequire(join(ROOT, 'package.json'))('cassandra-driver');
    } catch {
      driverModule = null;
    }
  }
  return driverModule || undefined;
}

/** Client options for the Node cassandra-driver to reach a node (auth and TLS per the node's recorded options). */
export function driverOptions(name, { username, password, opts, timeoutMs = 5000 } = {}) {
  const node = NODES[name];
  const o = opts || readState(name)?.options || defaultNodeOptions(name);
  const driver = loadDriver();
  const options = {
    contactPoints: [`${node.host}:${node.port}`],
    localDataCenter: DATACENTER,
    protocolOptions: { port: node.port },
    socketOptions: { connectTimeout: timeoutMs, readTimeout: timeoutMs },
    pooling: { heartBeatInterval: 0 },
  };
  if (o.auth || username) {
    options.authProvider = new driver.auth.PlainTextAuthProvider(
      username ?? CREDENTIALS.username,
      password ?? CREDENTIALS.password,
    );
  }
  if (o.tls) options.sslOptions = { ca: [readFileSync(TLS_CA_PEM)], rejectUnauthorized: true };
  if (o.tls && o.clientAuth)
    Object.assign(options.sslOptions, { cert: readFileSync(TLS_CLIENT_CERT_PEM), key: readFileSync(TLS_CLIENT_KEY_PEM) });
  return options;
}

/** One readiness probe: an (authenticated) SELECT on system.local. Resolves to the row or throws. */
export async function probe(name, opts, timeoutMs = 5000) {
  const driver = loadDriver();
  if (!driver) {
    // Without the Node driver (before npm ci): the port is open and the superuser exists per the log.
    const node = NODES[name];
    if (!(await portOpen(node.host, node.port))) throw new Error('native port closed');
    const text = existsSync(nodeLogFile(name)) ? readFileSync(nodeLogFile(name), 'utf8') : '';
    if (opts.auth && !/Created default superuser role|Startup complete/.test(text)) throw new Error('superuser not created yet');
    return { cluster_name: NODES[name].clusterName, release_version: readState(name)?.version };
  }
  const client = new driver.Client(driverOptions(name, { opts, timeoutMs }));
  try {
    await client.connect();
    const rs = await client.execute('SELECT cluster_name, release_version, data_center FROM system.local');
    return rs.first();
  } finally {
    await client.shutdown().catch(() => {});
  }
}

/**
 * Waits until the node answers an authenticated query; fails early if its JVM exits.
 * Returns the system.local row ({ cluster_name, release_version, data_center }).
 */
export async function waitReady(name, { pid, opts, timeoutMs = 240_000 } = {}) {
  const node = NODES[name];
  const deadline = Date.now() + timeoutMs;
  let lastErr = 'native port not open yet';
  while (Date.now() < deadline) {
    if (pid && !isNodeProcess(pid, name)) {
      throw new ClusterError(
        'start',
        `the Cassandra JVM (pid ${pid}) exited before it was ready; log: ${nodeLogFile(name)}`,
        name,
      );
    }
    if (await portOpen(node.host, node.port)) {
      try {
        const row = await probe(name, opts);
        if (row && row.cluster_name !== node.clusterName) {
          throw new ClusterError(
            'start',
            `${node.host}:${node.port} answers as cluster '${row.cluster_name}', not '${node.clusterName}' (another Cassandra on that address?)`,
            name,
          );
        }
        return row;
      } catch (e) {
        if (e instanceof ClusterError) throw e;
        lastErr = e.message;
      }
    }
    await sleep(1000);
  }
  throw new ClusterError('start', `not ready after ${secs(timeoutMs)} (last error: ${lastErr}); log: ${nodeLogFile(name)}`, name);
}

// ------------------------------------------------------------------------------------------------
// Commands

/**
 * Starts (or reuses) the named nodes with per-node options; all in parallel. Resolves to
 * { [name]: { pid, reused, version, readyMs } } when every node is ready; throws a ClusterError
 * naming the failed step and node (with its log tail in .logTail) otherwise.
 */
export async function startNodes(
  names = NODE_NAMES,
  { nodeOptions = {}, fresh = false, timeoutMs = 240_000, version, quiet = false, lockTimeoutMs } = {},
) {
  return withNodeLocks(
    names,
    `start ${names.join(' ')}`,
    () => startNodesLocked(names, { nodeOptions, fresh, timeoutMs, version, quiet }),
    { timeoutMs: lockTimeoutMs },
  );
}

/**
 * Makes the recorded state of a node match the JVMs that really use its data directory: an
 * unrecorded JVM with the wanted options is adopted (its PID recorded) when the recorded one is gone,
 * every other unrecorded JVM is stopped. Returns the PID of the running recorded node, or undefined.
 */
async function reconcileNode(name, want, { fresh }) {
  const pid = runningPid(name);
  const others = nodeProcesses(name).filter((p) => p.pid !== pid);
  if (others.length === 0) return pid;
  const dir = nodeDir(name);
  const [only] = others;
  if (!pid && others.length === 1 && !only.exiting && !fresh) {
    const opts = processOptions(name, only.args);
    if (sameOptions(opts, want)) {
      const st = readState(name);
      const node = NODES[name];
      writeState(name, {
        pid: only.pid,
        name,
        host: node.host,
        port: node.port,
        clusterName: node.clusterName,
        version: processVersion(only.args) ?? st?.version,
        options: { ...want, ...opts },
        startedAt: st?.startedAt ?? new Date().toISOString(),
      });
      log(
        `${name}: adopted the running Cassandra JVM pid ${only.pid} on ${dir} (the recorded pid ${st?.pid ?? '-'} is not running)`,
      );
      return only.pid;
    }
  }
  const why = pid
    ? `besides the recorded pid ${pid}`
    : fresh
      ? 'and --fresh wipes the data'
      : others.length > 1
        ? 'several at once'
        : 'with other options than wanted';
  log(
    `${name}: Cassandra JVM pid ${others.map((p) => p.pid).join(', ')} uses ${dir} but is not the recorded node (${why}); stopping it`,
  );
  await killPids(
    name,
    others.map((p) => p.pid),
    30_000,
  );
  return pid;
}

async function startNodesLocked(names, { nodeOptions, fresh, timeoutMs, version, quiet }) {
  const t0 = Date.now();
  const want = Object.fromEntries(names.map((n) => [n, { ...defaultNodeOptions(n), ...(nodeOptions[n] || {}) }]));
  const toStart = [];
  const toStop = [];
  const result = {};
  for (const name of names) {
    const pid = await reconcileNode(name, want[name], { fresh });
    const st = readState(name);
    if (pid && !fresh && sameOptions(st.options, want[name])) {
      if (processState(pid) === 'T') process.kill(pid, 'SIGCONT'); // a paused node is resumed, not restarted
      result[name] = { pid, reused: true, version: st.version };
      continue;
    }
    if (pid) {
      log(
        `${name}: running (pid ${pid}) with other options ${JSON.stringify(st.options)}; restarting with ${JSON.stringify(want[name])}`,
      );
      toStop.push(name);
    }
    toStart.push(name);
  }
  await Promise.all(toStop.map((n) => stopNodeLocked(n)));
  // Reused nodes must still answer (they may be starting or half-dead).
  await Promise.all(
    Object.keys(result).map(async (name) => {
      try {
        const row = await waitReady(name, { pid: result[name].pid, opts: want[name], timeoutMs: Math.min(timeoutMs, 60_000) });
        result[name].version = row?.release_version ?? result[name].version;
        if (!quiet) log(`${name}: already running (pid ${result[name].pid}) on ${NODES[name].host}:${NODES[name].port}`);
      } catch (e) {
        throw withTail(e, name);
      }
    }),
  );
  if (toStart.length === 0) return result;

  checkJava();
  const jars = fetchJars(version);
  if (toStart.some((n) => want[n].tls)) ensureTls();
  if (toStart.some((n) => want[n].tls && want[n].clientAuth)) ensureClientTls();
  for (const name of toStart) {
    const node = NODES[name];
    // Never a second JVM on one data directory: whatever still uses it (e.g. exiting) must be gone.
    let users = nodeProcesses(name);
    for (let i = 0; users.length && i < 100; i++) {
      await sleep(100);
      users = nodeProcesses(name);
    }
    if (users.length) {
      throw new ClusterError(
        'start',
        `pid ${users.map((p) => p.pid).join(', ')} still uses ${nodeDir(name)}; not starting a second Cassandra JVM on it (stop it first)`,
        name,
      );
    }
    // A port still open a few seconds on is held by something else (e.g. a node of another checkout).
    let busy = await portOpen(node.host, node.port, 500);
    for (let i = 0; busy && i < 10; i++) {
      await sleep(500);
      busy = await portOpen(node.host, node.port, 500);
    }
    if (busy) {
      const other = foreignNodes(name)
        .map((p) => ` pid ${p.pid} (${p.dir})`)
        .join(',');
      throw new ClusterError(
        'start',
        `${node.host}:${node.port} is already in use by a process that is not this node` +
          (other ? `: the ${name} node of another checkout is running:${other}; stop it there` : ' (stop it first)'),
        name,
      );
    }
    if (fresh) wipeNodeDir(name);
  }
  const tStart = Date.now();
  const pids = Object.fromEntries(toStart.map((n) => [n, launchNode(n, want[n], jars)]));
  for (const n of toStart)
    log(
      `${n}: started Cassandra ${jars.version} pid ${pids[n]} on ${NODES[n].host}:${NODES[n].port} (auth ${want[n].auth ? 'on' : 'off'}, tls ${want[n].tls ? (want[n].clientAuth ? 'mutual' : 'on') : 'off'}, heap ${want[n].heap}); log ${nodeLogFile(n)}`,
    );
  const settled = await Promise.allSettled(
    toStart.map(async (name) => {
      const row = await waitReady(name, { pid: pids[name], opts: want[name], timeoutMs });
      await cheapenSuperuserHash(name, want[name]);
      const ms = Date.now() - tStart;
      result[name] = { pid: pids[name], reused: false, version: row?.release_version ?? jars.version, readyMs: ms };
      log(
        `${name}: ready in ${secs(ms)} (cluster_name '${row?.cluster_name}', Cassandra ${row?.release_version}, RSS ${Math.round((rssKiB(pids[name]) || 0) / 1024)} MiB)`,
      );
    }),
  );
  const failed = settled.map((s, i) => [toStart[i], s]).filter(([, s]) => s.status === 'rejected');
  if (failed.length) throw withTail(failed[0][1].reason, failed[0][0]);
  log(`ready in ${secs(Date.now() - t0)} (jar fetch ${secs(jars.fetchedMs)}, node start ${secs(Date.now() - tStart)})`);
  return result;
}

function withTail(err, name) {
  const e = err instanceof ClusterError ? err : new ClusterError('start', err?.message || String(err), name);
  e.node = e.node || name;
  e.logTail = logTail(name, 40);
  return e;
}

/**
 * Stops one node: its recorded PID and any other Cassandra JVM on its data directory. SIGTERM, then
 * SIGKILL after graceMs. Resolves true if something was running.
 */
export async function stopNode(name, { graceMs = 30_000, lockTimeoutMs } = {}) {
  return withNodeLocks([name], `stop ${name}`, () => stopNodeLocked(name, { graceMs }), { timeoutMs: lockTimeoutMs });
}

async function stopNodeLocked(name, { graceMs = 30_000 } = {}) {
  const recorded = runningPid(name);
  const pids = [...new Set([...(recorded ? [recorded] : []), ...nodeProcesses(name).map((p) => p.pid)])];
  if (pids.length === 0) return false;
  const ms = await killPids(name, pids, graceMs);
  log(`${name}: stopped (pid ${pids.join(', ')}) in ${secs(ms)}`);
  return true;
}

/** Stops the nodes (in parallel); resolves to the names of those that were running. */
export async function stopNodes(names = NODE_NAMES, opts = {}) {
  return withNodeLocks(
    names,
    `stop ${names.join(' ')}`,
    async () => {
      const was = await Promise.all(names.map((n) => stopNodeLocked(n, opts)));
      return names.filter((_, i) => was[i]);
    },
    { timeoutMs: opts.lockTimeoutMs },
  );
}

/** Stops the nodes and wipes their directories (config, data, logs). */
export async function resetNodes(names = NODE_NAMES) {
  await withNodeLocks(names, `reset ${names.join(' ')}`, async () => {
    await Promise.all(names.map((n) => stopNodeLocked(n)));
    for (const n of names) wipeNodeDir(n);
  });
  log(`wiped ${names.map(nodeDir).join(', ')}`);
}

// ---- fault levers (used by test/support/clusters.ts) ---------------------------------------------

function requirePid(name) {
  const pid = runningPid(name);
  if (!pid) throw new ClusterError('fault', 'node is not running', name);
  return pid;
}
async function waitFor(cond, what, timeoutMs = 10_000) {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new ClusterError('fault', `timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** SIGSTOP the node's JVM: it keeps its sockets open but answers nothing. Resolves once it is stopped. */
export async function pauseNode(name) {
  await withNodeLocks([name], `pause ${name}`, async () => {
    const pid = requirePid(name);
    process.kill(pid, 'SIGSTOP');
    await waitFor(() => processState(pid) === 'T', `${name} to be paused`);
  });
}

/** SIGCONT a paused node and wait until it answers a query again. */
export async function resumeNode(name, { timeoutMs = 60_000 } = {}) {
  await withNodeLocks([name], `resume ${name}`, async () => {
    const pid = requirePid(name);
    process.kill(pid, 'SIGCONT');
    await waitFor(() => processState(pid) !== 'T', `${name} to resume`);
    await waitReady(name, { pid, opts: readState(name).options, timeoutMs });
  });
}

/** SIGKILL the node (a crash); resolves once the process is gone. Data stays for restartNode/start. */
export async function killNode(name) {
  await withNodeLocks([name], `kill ${name}`, async () => {
    const pid = requirePid(name);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => processGone(pid), `${name} to die`);
  });
}

/** Stops (if running) and starts the node again with its recorded options and its data kept; waits until ready. */
export async function restartNode(name, { timeoutMs = 240_000 } = {}) {
  return withNodeLocks([name], `restart ${name}`, async () => {
    const st = readState(name);
    await stopNodeLocked(name);
    return (
      await startNodes([name], {
        nodeOptions: { [name]: st?.options },
        timeoutMs,
        version: st?.version,
      })
    )[name];
  });
}

/**
 * Status rows for each node: { name, state, pid, host, port, version, options, rssMiB, log, unrecorded }
 * (unrecorded: PIDs of Cassandra JVMs on the node's data directory other than the recorded one; 'start' fixes that).
 */
export function nodeStatus(names = NODE_NAMES) {
  return names.map((name) => {
    const st = readState(name);
    const pid = runningPid(name);
    const ps = pid ? processState(pid) : undefined;
    const unrecorded = nodeProcesses(name)
      .map((p) => p.pid)
      .filter((p) => p !== pid);
    return {
      name,
      state: !st ? 'never started' : !pid ? 'stopped' : ps === 'T' ? 'paused' : 'running',
      pid: pid ?? null,
      host: NODES[name].host,
      port: NODES[name].port,
      clusterName: NODES[name].clusterName,
      version: st?.version ?? null,
      options: st?.options ?? null,
      rssMiB: pid ? Math.round((rssKiB(pid) || 0) / 1024) : null,
      log: nodeLogFile(name),
      unrecorded,
    };
  });
}

// ------------------------------------------------------------------------------------------------
// CLI

async function main(argv) {
  const args = parseArgs(argv);
  if (args.help || !args.command) {
    console.log(HELP);
    return args.help ? 0 : 2;
  }
  switch (args.command) {
    case 'start': {
      const only = Object.fromEntries(args.names.map((n) => [n, args.nodeOptions[n]]));
      await startNodes(args.names, { nodeOptions: only, fresh: args.fresh, timeoutMs: args.timeoutMs, version: args.version });
      return 0;
    }
    case 'fetch': {
      checkJava();
      const jars = fetchJars(args.version);
      if (!jars.fetchedMs) log(`Cassandra ${jars.version}: ${jars.classpath.split(':').length} jars already in ${CACHE_DIR}`);
      return 0;
    }
    case 'stop': {
      const t0 = Date.now();
      const running = await stopNodes(args.names);
      log(running.length ? `stopped ${running.join(', ')} in ${secs(Date.now() - t0)}` : 'no node was running');
      return 0;
    }
    case 'reset':
      await resetNodes(args.names);
      return 0;
    case 'status': {
      const rows = nodeStatus(args.names);
      for (const r of rows) {
        const o = r.options
          ? `auth ${r.options.auth ? 'on' : 'off'}, tls ${r.options.tls ? (r.options.clientAuth ? 'mutual' : 'on') : 'off'}, heap ${r.options.heap}`
          : '-';
        console.log(
          `${r.name.padEnd(7)} ${r.state.padEnd(13)} pid ${String(r.pid ?? '-').padEnd(8)} ${r.host}:${r.port}  cluster_name '${r.clusterName}'  Cassandra ${r.version ?? '-'}  ${o}${r.rssMiB != null ? `  RSS ${r.rssMiB} MiB` : ''}`,
        );
        if (r.unrecorded.length)
          console.log(
            `${''.padEnd(7)} WARNING: unrecorded Cassandra JVM pid ${r.unrecorded.join(', ')} uses ${nodeDir(r.name)} ('start ${r.name}' adopts or stops it)`,
          );
      }
      return 0;
    }
    case 'logs': {
      const single = argv.some((a) => NODE_NAMES.includes(a));
      if (!single) {
        for (const n of args.names) console.log(`${n.padEnd(7)} ${nodeLogFile(n)}   (JVM stdout/stderr: ${nodeStdoutFile(n)})`);
        console.log(`TLS material: ${TLS_DIR}   jar cache: ${CACHE_DIR}`);
        return 0;
      }
      const name = args.names[0];
      if (args.follow) {
        const r = spawnSync('tail', ['-n', String(args.lines), '-F', nodeLogFile(name)], { stdio: 'inherit' });
        return r.status ?? 0;
      }
      console.log(logTail(name, args.lines));
      return 0;
    }
    default:
      console.error(`unknown command '${args.command}'\n\n${HELP}`);
      return 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(
        `[clusters] FAILED at step '${e.step || 'unknown'}'${e.node ? ` for node ${e.node}` : ''}: ${e instanceof ClusterError ? e.message.slice(e.message.indexOf(': ') + 2) : e.message}`,
      );
      if (e.node) {
        console.error(`[clusters] ${e.node} log: ${nodeLogFile(e.node)}`);
        console.error(e.logTail || logTail(e.node, 40));
      }
      if (!(e instanceof ClusterError)) console.error(e.stack);
      process.exit(1);
    },
  );
}
