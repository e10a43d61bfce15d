#!/usr/bin/env node
// Opens the project's cqlsh (.venv, made by scripts/pyenv.sh) against a test cluster or the proxy:
//   npm run cqlsh -- origin|target|proxy [cqlsh args...]      e.g.  npm run cqlsh -- origin -e "DESCRIBE KEYSPACES"
// origin = 127.0.0.1:9042, target = 127.0.0.2:9042, proxy = 127.0.0.1:14002 (ZDM_PROXY_HOST / ZDM_PROXY_PORT).
// Logs in as cassandra/cassandra unless -u/--username is given or the node runs without auth.
// Adds --ssl (trusting .clusters/tls/ca.pem) when the node was started with client TLS.
// Also a module: cqlshCommand() is used by test/support/clusters.ts (runCqlsh).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLUSTERS_DIR, CREDENTIALS, NODES, ROOT, TLS_CA_PEM, readState } from './clusters.mjs';

export const VENV = resolve(process.env.ZDM_VENV || join(ROOT, '.venv'));
export const CQLSH_BIN = join(VENV, 'bin', 'cqlsh');

/** Where each cqlsh target is. */
export function cqlshEndpoint(target) {
  if (target === 'proxy') {
    return { host: process.env.ZDM_PROXY_HOST || '127.0.0.1', port: Number(process.env.ZDM_PROXY_PORT || 14002) };
  }
  const node = NODES[target];
  if (!node) throw new Error(`unknown cqlsh target '${target}' (origin, target or proxy)`);
  return { host: node.host, port: node.port };
}

/**
 * The command line to run cqlsh against `target` with extra `args`:
 * { command, args, env }. Credentials and TLS follow the node's recorded options unless given in args.
 */
export function cqlshCommand(target, args = [], env = process.env) {
  const { host, port } = cqlshEndpoint(target);
  const opts = target === 'proxy' ? undefined : readState(target)?.options;
  const auth = opts ? opts.auth : true;
  const tls = opts ? opts.tls : false;
  const hasUser = args.some((a) => a === '-u' || a.startsWith('--username'));
  const hasPassword = args.some((a) => a === '-p' || a.startsWith('--password'));
  const pre = [];
  if (auth && !hasUser) pre.push('-u', CREDENTIALS.username);
  if (auth && !hasUser && !hasPassword) pre.push('-p', CREDENTIALS.password);
  if (tls && !args.includes('--ssl')) pre.push('--ssl');
  const historyDir = join(CLUSTERS_DIR, 'cqlsh');
  mkdirSync(historyDir, { recursive: true });
  const childEnv = {
    ...env,
    // cqlsh writes its history under ~/.cassandra by default; keep it inside the project.
    CQL_HISTORY: env.CQL_HISTORY || join(historyDir, 'cqlsh_history'),
  };
  if (tls) {
    childEnv.SSL_CERTFILE = env.SSL_CERTFILE || TLS_CA_PEM;
    childEnv.SSL_VALIDATE = env.SSL_VALIDATE || 'true';
  }
  return { command: CQLSH_BIN, args: [...pre, ...args, host, String(port)], env: childEnv };
}

export function cqlshInstalled() {
  return existsSync(CQLSH_BIN);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [target, ...rest] = process.argv.slice(2);
  if (!target || target === '--help' || target === '-h') {
    console.log(
      'Usage: npm run cqlsh -- origin|target|proxy [cqlsh args...]   (node scripts/cqlsh.mjs ...)\n' +
        '  origin 127.0.0.1:9042, target 127.0.0.2:9042, proxy 127.0.0.1:14002 (ZDM_PROXY_HOST/ZDM_PROXY_PORT)\n' +
        '  default login cassandra/cassandra; TLS follows the node options; cqlsh comes from .venv (bash scripts/pyenv.sh)',
    );
    process.exit(target ? 0 : 2);
  }
  if (!cqlshInstalled()) {
    console.error(`cqlsh is not installed at ${CQLSH_BIN}: run 'bash scripts/pyenv.sh' first`);
    process.exit(1);
  }
  let cmd;
  try {
    cmd = cqlshCommand(target, rest);
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
  const child = spawn(cmd.command, cmd.args, { stdio: 'inherit', env: cmd.env });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
