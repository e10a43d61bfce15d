// A proxy restart (stop + start on the same port) under a long-lived Node driver session: the new
// proxy has an empty prepared cache, so the driver's next EXECUTE gets the proxy's UNPREPARED; the
// driver re-prepares and retries, and its prepared writes land on both clusters with no error
// surfacing to the application (upstream-spec-notes 4.5, 5.5). The driver runs in a child process
// (restart-client.ts, ConstantReconnectionPolicy(200), rePrepareOnUp false).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';

import { dropKeyspace, ensureClusters, uniqueKeyspaceName } from '../../support/clusters';
import { startTestProxy, type TestProxy } from '../../support/proxy';
import { waitFor } from '../../support/wait';
import { directSessions, type Direct } from './helpers';

interface ChildResult {
  errors: string[];
  unavailable: number;
  written: number[];
  reconnected: boolean;
  fatal?: string;
}

class DriverChild {
  progress = 0;
  readonly out: string[] = [];
  result: ChildResult | undefined;
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [join(__dirname, 'restart-client.js'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith('progress ')) this.progress = Number(line.slice(9));
        else if (line.startsWith('RESULT ')) this.result = JSON.parse(line.slice(7)) as ChildResult;
        else this.out.push(line);
      }
    });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => this.out.push(d));
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
  }
  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
  async finish(timeoutMs = 60_000): Promise<ChildResult> {
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      this.exited,
      new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (code === 'timeout') this.kill();
    assert.ok(this.result, `driver child gave no result (exit ${code}); output:\n${this.out.join('\n')}`);
    assert.equal(this.result.fatal, undefined, `driver child failed: ${this.result.fatal}`);
    return this.result;
  }
}

describe('lifecycle: proxy restart under a driver session', { timeout: 120_000 }, () => {
  const ks = uniqueKeyspaceName('lc_restart');
  let d: Direct | undefined;
  let proxy: TestProxy | undefined;
  const children: DriverChild[] = [];

  before(async () => {
    await ensureClusters();
    d = await directSessions(ks, [`CREATE TABLE ${ks}.w (k int PRIMARY KEY, v text)`]);
    proxy = await startTestProxy({ logLevel: 'info' });
  });
  after(async () => {
    for (const c of children) c.kill();
    await proxy?.stop().catch(() => undefined);
    await d?.shutdown();
    await dropKeyspace(ks).catch(() => undefined);
  });

  async function restartProxy(): Promise<void> {
    const port = proxy!.port;
    await proxy!.stop();
    proxy = await startTestProxy({ port, logLevel: 'info' });
  }

  async function assertWritten(keys: number[]): Promise<void> {
    const [o, t] = await d!.read(`SELECT k, v FROM ${ks}.w`);
    const rows = (rs: Record<string, unknown>[]) =>
      rs
        .map((r) => `${r['k']}=${r['v']}`)
        .filter((s) => keys.includes(Number(s.split('=')[0])))
        .sort();
    const expected = keys.map((k) => `${k}=v${k}`).sort();
    assert.deepEqual(rows(o), expected, 'Origin rows');
    assert.deepEqual(rows(t), expected, 'Target rows');
  }

  it('prepared writes before and after the restart land on both clusters, no application error', async () => {
    const child = new DriverChild([proxy!.host, String(proxy!.port), ks, 'sequential', '0']);
    children.push(child);
    await waitFor('the child finishing its first 20 writes', () => child.out.includes('paused') || child.result, {
      timeoutMs: 30_000,
    });
    await restartProxy();
    child.send('go');
    const r = await child.finish();
    assert.ok(r.reconnected, 'the driver should reconnect to the restarted proxy');
    assert.deepEqual(r.errors, [], 'no write should fail, before or after the restart (the driver re-prepares by itself)');
    assert.equal(r.written.length, 60);
    await assertWritten(r.written);
    // The restarted proxy answered the driver's first EXECUTE with UNPREPARED (its cache was empty).
    const missLogged = proxy!.logs.some((l) => /No cached entry for prepared-id|UNPREPARED|unprepared/.test(l));
    assert.ok(
      missLogged,
      `the new proxy should have logged its prepared cache miss; logs:\n${proxy!.logs.slice(-20).join('\n')}`,
    );
  });

  it('a write loop running across a restart: only "no host available" while the proxy is down, every write lands on both', async () => {
    const child = new DriverChild([proxy!.host, String(proxy!.port), ks, 'concurrent', '1000']);
    children.push(child);
    await waitFor('the child writing', () => child.progress >= 20 || child.result, { timeoutMs: 30_000, intervalMs: 20 });
    await restartProxy();
    const at = child.progress;
    await waitFor('writes resuming after the restart', () => child.progress >= at + 30 || child.result, {
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    child.send('stop');
    const r = await child.finish();
    assert.deepEqual(r.errors, [], `no error other than "no host available" during the restart (${r.unavailable} of those)`);
    assert.ok(r.written.length >= 50);
    await assertWritten(r.written);
  });
});
