// scripts/clusters.mjs under concurrent use: several test runs share the two nodes, so every state
// change holds a per-node lock (.clusters/<name>/lock), and a start never puts a second Cassandra
// JVM on a node's data directory (it adopts or stops an unrecorded one). No option-change restarts
// here: they cost 10-20 s each.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, ensureClusters } from '../../support/clusters';

interface NodeOpts {
  auth: boolean;
  tls: boolean;
  heap: string;
  jvmOpts?: string;
}
interface State {
  pid: number;
  options: NodeOpts;
  version: string;
}
interface ClustersScript {
  nodeDir(name: string): string;
  nodeLockFile(name: string): string;
  readState(name: string): State | undefined;
  runningPid(name: string): number | undefined;
  withNodeLocks<T>(names: string[], what: string, fn: () => Promise<T>, opts?: { timeoutMs?: number }): Promise<T>;
}
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<ClustersScript>;
const SCRIPT = join(ROOT, 'scripts', 'clusters.mjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 280_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** PIDs of live Cassandra JVMs whose -Dcassandra.storagedir is dir (independent of the script's own scan). */
function jvmsOn(dir: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const args = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      if (args.includes('org.apache.cassandra.service.CassandraDaemon') && args.includes(`-Dcassandra.storagedir=${dir}`))
        pids.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** CLI args + env that ask for exactly the options origin runs with now (so 'start' reuses it). */
function sameOptionsArgs(st: State): { args: string[]; env: NodeJS.ProcessEnv } {
  const o = st.options;
  return {
    args: [`--auth-origin=${o.auth ? 'on' : 'off'}`, `--tls-origin=${o.tls ? 'on' : 'off'}`, `--heap=${o.heap}`],
    env: { ZDM_TEST_JVM_OPTS: o.jvmOpts ?? '' },
  };
}

function statusPid(out: string): string | undefined {
  return /^origin\s+running\s+pid (\d+)/m.exec(out)?.[1];
}

describe('clusters.mjs under concurrent use', { timeout: 300_000 }, () => {
  let m: ClustersScript;
  before(async () => {
    await ensureClusters();
    m = await importEsm(pathToFileURL(SCRIPT).href);
  });

  it('the node lock admits one holder at a time across processes (temporary clusters dir)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zdm-lock-'));
    try {
      const trace = join(dir, 'trace.log');
      const holder = `
        const { appendFileSync } = await import('node:fs');
        const m = await import(${JSON.stringify(pathToFileURL(SCRIPT).href)});
        for (let i = 0; i < 3; i++) {
          await m.withNodeLocks(['origin'], 'hold', async () => {
            appendFileSync(${JSON.stringify(trace)}, 'enter ' + process.pid + '\\n');
            await new Promise((r) => setTimeout(r, 40));
            appendFileSync(${JSON.stringify(trace)}, 'exit ' + process.pid + '\\n');
          });
        }`;
      const runs = await Promise.all(
        [1, 2, 3, 4].map(() => run(['--input-type=module', '-e', holder], { ZDM_CLUSTERS_DIR: dir })),
      );
      for (const r of runs) assert.equal(r.code, 0, r.stderr);
      const lines = readFileSync(trace, 'utf8').trim().split('\n');
      assert.equal(lines.length, 4 * 3 * 2);
      for (let i = 0; i < lines.length; i += 2) {
        const [enter, exit] = [lines[i].split(' '), lines[i + 1].split(' ')];
        assert.deepEqual(
          [enter[0], exit[0], exit[1]],
          ['enter', 'exit', enter[1]],
          `overlap at line ${i + 1}:\n${lines.join('\n')}`,
        );
      }
      assert.equal(existsSync(join(dir, 'origin', 'lock')), false, 'lock file left behind');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a held lock makes start wait, then fail with a message naming the holder; Origin keeps running', async () => {
    const st = m.readState('origin')!;
    const { args, env } = sameOptionsArgs(st);
    const before = m.runningPid('origin');
    const r = await m.withNodeLocks(['origin'], 'test holds origin', () =>
      run([SCRIPT, 'start', 'origin', ...args], { ...env, ZDM_CLUSTERS_LOCK_TIMEOUT: '1' }),
    );
    assert.equal(r.code, 1, `expected a lock timeout:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`origin: waiting for pid ${process.pid} \\('test holds origin'`));
    assert.match(r.stderr, /FAILED at step 'lock' for node origin/);
    assert.match(r.stderr, new RegExp(`held by pid ${process.pid} \\('test holds origin'`));
    assert.equal(m.runningPid('origin'), before);
    assert.equal(existsSync(m.nodeLockFile('origin')), false, 'our lock was not released');
  });

  it('a stale lock (holder gone) is taken over', async () => {
    const st = m.readState('origin')!;
    const { args, env } = sameOptionsArgs(st);
    const dead = spawnSync('true').pid;
    // Overwrite the lock while holding it: on release it no longer carries our nonce, so it stays, stale.
    await m.withNodeLocks(['origin'], 'make stale', async () => {
      writeFileSync(
        m.nodeLockFile('origin'),
        JSON.stringify({ pid: dead, nonce: 'x', what: 'crashed run', since: new Date().toISOString() }),
      );
    });
    assert.equal(JSON.parse(readFileSync(m.nodeLockFile('origin'), 'utf8')).pid, dead);
    const r = await run([SCRIPT, 'start', 'origin', ...args], { ...env, ZDM_CLUSTERS_LOCK_TIMEOUT: '30' });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`origin: removing stale lock .*holder pid ${dead} is gone`));
    assert.equal(existsSync(m.nodeLockFile('origin')), false);
  });

  it('two concurrent starts of a running Origin both succeed and leave exactly one Origin JVM', async () => {
    const st = m.readState('origin')!;
    const { args, env } = sameOptionsArgs(st);
    const runs = await Promise.all([1, 2].map(() => run([SCRIPT, 'start', 'origin', ...args], env)));
    for (const r of runs) assert.equal(r.code, 0, `start failed:\n${r.stdout}\n${r.stderr}`);
    const jvms = jvmsOn(m.nodeDir('origin'));
    assert.equal(jvms.length, 1, `Origin JVMs on ${m.nodeDir('origin')}: ${jvms.join(', ')}`);
    for (const r of runs) assert.match(r.stdout, new RegExp(`origin: already running \\(pid ${jvms[0]}\\)`));
    const status = await run([SCRIPT, 'status', 'origin']);
    assert.equal(status.code, 0);
    assert.equal(statusPid(status.stdout), String(jvms[0]), status.stdout);
    assert.equal(m.readState('origin')!.pid, jvms[0]);
  });

  it('start adopts a live Origin JVM when the recorded PID is dead, instead of starting a second one', async () => {
    const dir = m.nodeDir('origin');
    const [live] = jvmsOn(dir);
    assert.ok(live, 'origin is not running');
    const dead = spawnSync('true').pid;
    await m.withNodeLocks(['origin'], 'fake a dead recorded pid', async () => {
      const st = m.readState('origin')!;
      writeFileSync(join(dir, 'state.json'), JSON.stringify({ ...st, pid: dead }, null, 2));
    });
    const before = await run([SCRIPT, 'status', 'origin']);
    assert.match(before.stdout, new RegExp(`unrecorded Cassandra JVM pid ${live} uses`));
    const { args, env } = sameOptionsArgs(m.readState('origin')!);
    const r = await run([SCRIPT, 'start', 'origin', ...args], env);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stdout,
      new RegExp(`origin: adopted the running Cassandra JVM pid ${live} .*recorded pid ${dead} is not running`),
    );
    assert.doesNotMatch(r.stdout, /started Cassandra/);
    assert.deepEqual(jvmsOn(dir), [live]);
    assert.equal(m.readState('origin')!.pid, live);
    const status = await run([SCRIPT, 'status', 'origin']);
    assert.equal(statusPid(status.stdout), String(live), status.stdout);
    assert.doesNotMatch(status.stdout, /unrecorded/);
  });
});
