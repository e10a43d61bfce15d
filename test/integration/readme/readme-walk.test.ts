// The README walked by a newcomer: a fresh `git clone` of this checkout, then the commands of "Quick start"
// and "The seed scenario, through the sandbox" in the order the README shows them (`npm ci`, `npm run sandbox`
// left running, then every `npm run cqlsh` line), each of which must succeed. To stay affordable it reuses the
// running clusters (ZDM_CLUSTERS_DIR), the npm cache (npm ci --prefer-offline) and pip's cache; `npm test`
// (this very suite) is the one Quick start command it does not run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { dropKeyspace, ensureClusters, ORIGIN, ROOT, TARGET } from '../../support/clusters';
import { freePort, runProcess } from '../../support/proxy';
import { waitFor } from '../../support/wait';

/** The shell commands of the fenced block that follows `heading` in the README. */
function commandsUnder(readme: string, heading: string): string[] {
  const at = readme.indexOf(heading);
  assert.ok(at >= 0, `README has a section "${heading}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, `a sh block under "${heading}"`);
  return block[1]!
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('README walk-through from a fresh clone', {
  skip:
    ORIGIN.host !== '127.0.0.1' || TARGET.host !== '127.0.0.2' ? 'the README describes the default pair (127.0.0.1/.2)' : false,
}, () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const work = mkdtempSync(join(tmpdir(), 'zdm-readme-'));
  const clone = join(work, 'zdm-proxy');
  let sandbox: ChildProcess | undefined;
  let sandboxOutput = '';
  let env: NodeJS.ProcessEnv = {};

  before(async () => {
    await ensureClusters();
    const proxyPort = await freePort();
    env = {
      ...process.env,
      ZDM_CLUSTERS_DIR: process.env['ZDM_CLUSTERS_DIR'] || join(ROOT, '.clusters'),
      ZDM_CACHE_DIR: process.env['ZDM_CACHE_DIR'] || join(ROOT, '.cache'),
      // The sandbox and `npm run cqlsh -- proxy` on a free port (the README's 14002 may be taken on a shared machine).
      ZDM_PROXY_LISTEN_PORT: String(proxyPort),
      ZDM_PROXY_PORT: String(proxyPort),
      ZDM_METRICS_PORT: String(await freePort()),
      npm_config_prefer_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
    };
    const cloned = await runProcess('git', ['clone', '--quiet', ROOT, clone], { cwd: work, timeoutMs: 120_000 });
    assert.equal(cloned.code, 0, cloned.stderr);
  });
  after(async () => {
    if (sandbox && sandbox.exitCode === null && sandbox.pid) {
      const group = sandbox.pid;
      const signal = (sig: NodeJS.Signals): void => {
        try {
          process.kill(-group, sig);
        } catch {
          /* the process group is gone already */
        }
      };
      const exited = new Promise((r) => sandbox!.once('exit', r));
      signal('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      signal('SIGKILL');
    }
    await dropKeyspace('test').catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  it('Quick start: `npm ci && npm run sandbox` gives a running proxy', async () => {
    const quick = commandsUnder(readme, '## Quick start');
    const first = quick[0]!.replace(/\s+#.*$/, '');
    assert.equal(first, 'npm ci && npm run sandbox', 'the first Quick start command');
    sandbox = spawn('bash', ['-c', first], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    sandbox.stdout!.setEncoding('utf8').on('data', (d: string) => {
      sandboxOutput = (sandboxOutput + d).slice(-20_000);
    });
    sandbox.stderr!.setEncoding('utf8').on('data', (d: string) => {
      sandboxOutput = (sandboxOutput + d).slice(-20_000);
    });
    await waitFor(
      'the sandbox proxy listening',
      async () => {
        if (sandbox!.exitCode !== null) throw new Error(`the sandbox exited (${sandbox!.exitCode}):\n${sandboxOutput}`);
        return listening(Number(env['ZDM_PROXY_LISTEN_PORT']));
      },
      { timeoutMs: 600_000, intervalMs: 500 },
    ).catch((e: Error) => assert.fail(`${e.message}\n--- sandbox output:\n${sandboxOutput}`));
  });

  it('the seed scenario: every command works straight after the sandbox, and shows what the README says', async () => {
    const commands = commandsUnder(readme, '### The seed scenario');
    assert.ok(commands.length >= 8 && commands.every((c) => c.startsWith('npm run cqlsh -- ')), 'cqlsh commands');
    const outputs: string[] = [];
    for (const command of commands) {
      const r = await runProcess('bash', ['-c', command], { cwd: clone, env, timeoutMs: 120_000 });
      assert.equal(r.code, 0, `${command}\n${r.stdout}\n${r.stderr}`);
      outputs.push(r.stdout);
    }
    const selects = commands.map((c, i) => [c, outputs[i]!] as const).filter(([c]) => c.includes('SELECT'));
    const [viaProxy, originAfterUpdate, targetAfterUpdate, originAfterDelete, targetAfterDelete] = selects.map(([, out]) => out);
    assert.match(viaProxy!, /\s1 \|\s+one/, 'the row read through the proxy');
    assert.match(originAfterUpdate!, /\s1 \|\s+uno/, 'the update is on Origin');
    assert.match(targetAfterUpdate!, /\s1 \|\s+uno/, 'the update is on Target');
    assert.match(originAfterDelete!, /\(0 rows\)/, 'deleted on Origin');
    assert.match(targetAfterDelete!, /\(0 rows\)/, 'deleted on Target');
  });
});
