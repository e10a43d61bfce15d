// The processes of the cross-process benchmarks (run.ts `bench:proxy`, memory.ts `bench:memory`): command-line
// options, spawning a helper process that prints one JSON line when ready, the proxy under test (dist/src/cli.js)
// with its environment, waiting for its CQL port, and reading a process tree's CPU time and RSS from /proc.
// Every child spawned here is SIGKILLed when this process exits.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import type { ProtocolVersion } from '../../src/protocol/constants';
import { BenchConnection } from './conn';

export const ROOT = join(__dirname, '..', '..', '..');
export const DIST = join(ROOT, 'dist');
/** The credentials of the null backends with auth and of the real clusters. */
export const CREDS = { username: 'cassandra', password: 'cassandra' };

/** `--name value` from the command line, else `def`. */
export function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
/** `--name` is on the command line. */
export const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Spawn a node process (killed when this one exits). */
export function spawnNode(args: string[], env: NodeJS.ProcessEnv, stdio: StdioOptions): ChildProcess {
  const child = spawn(process.execPath, args, { env, stdio });
  children.push(child);
  return child;
}

/** Spawn a node script that prints one JSON line when ready (null-backend.js, relay.js). */
export function startNode(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; ready: { port?: number } }> {
  const child = spawnNode([script, ...args], { ...process.env, ...env }, ['ignore', 'pipe', 'inherit']);
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ child, ready: JSON.parse(buf.slice(0, nl)) as { port?: number } });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
}

/** A null backend (null-backend.js) on a free port of 127.0.0.1; `auth`: it asks for these credentials. */
export async function startNullBackend(salt: string, auth?: typeof CREDS): Promise<{ host: string; port: number }> {
  const script = join(DIST, 'bench', 'xproc', 'null-backend.js');
  const b = await startNode(script, [JSON.stringify({ host: '127.0.0.1', port: 0, salt, ...(auth ? { auth } : {}) })]);
  return { host: '127.0.0.1', port: b.ready.port! };
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The environment of the proxy under test: Origin and Target (with CREDS), its listen and metrics ports. */
export function proxyEnv(
  origin: { host: string; port: number },
  target: { host: string; port: number },
  port: number,
  metricsPort: number,
): NodeJS.ProcessEnv {
  return {
    ZDM_ORIGIN_CONTACT_POINTS: origin.host,
    ZDM_ORIGIN_PORT: String(origin.port),
    ZDM_TARGET_CONTACT_POINTS: target.host,
    ZDM_TARGET_PORT: String(target.port),
    ZDM_ORIGIN_USERNAME: CREDS.username,
    ZDM_ORIGIN_PASSWORD: CREDS.password,
    ZDM_TARGET_USERNAME: CREDS.username,
    ZDM_TARGET_PASSWORD: CREDS.password,
    ZDM_PROXY_LISTEN_ADDRESS: '127.0.0.1',
    ZDM_PROXY_LISTEN_PORT: String(port),
    ZDM_METRICS_PORT: String(metricsPort),
    ZDM_LOG_LEVEL: 'WARN',
  };
}

/** Resolves once `host:port` completes an authenticated CQL handshake (retried every 200 ms, 60 s at most). */
export async function waitForCql(host: string, port: number, version: ProtocolVersion): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const c = await BenchConnection.open({ host, port, version, credentials: CREDS });
      c.close();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${host}:${port} did not answer a CQL handshake: ${String(e)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** CPU seconds (user + system) and resident bytes of a process and its descendants, from /proc. */
export function procTree(pid: number): { cpu: number; rss: number } {
  const statOf = (p: number | string): string[] => {
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
  };
  const parentOf = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      parentOf.set(Number(d), Number(statOf(d)[1]));
    } catch {
      /* gone */
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [p, pp] of parentOf) if (pp === tree[i]) tree.push(p);
  let cpu = 0;
  let rss = 0;
  for (const p of tree) {
    try {
      const f = statOf(p);
      cpu += (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (CLK_TCK 100 on Linux)
      rss += Number(f[21]) * 4096; // resident pages
    } catch {
      /* gone */
    }
  }
  return { cpu, rss };
}
