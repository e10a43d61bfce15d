// Process faults of the compiled CLI (issue 12): an uncaught exception or an unhandled rejection is one JSON log line
// with the stack and a non-zero exit (a supervisor restarts the proxy); a second SIGINT/SIGTERM during the graceful
// drain exits at once. The faults are injected by a preload (test/support/fault-preload.ts) on SIGUSR2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { Opcode } from '../../../src/protocol/constants';
import { FakeServer } from '../../support/fake-server';
import { freePort } from '../../support/proxy';
import { waitFor } from '../../support/wait';
import { TestClient, proxyEnv } from '../frontend/harness';
import { baseEnv } from './helpers';

const CLI = join(__dirname, '..', '..', '..', 'src', 'cli.js');
const PRELOAD = join(__dirname, '..', '..', 'support', 'fault-preload.js');

interface Cli {
  child: ChildProcessWithoutNullStreams;
  out(): string;
  err(): string;
  exit: Promise<number | null>;
}

function spawnCli(env: Record<string, string | undefined>): Cli {
  const child = spawn(process.execPath, ['-r', PRELOAD, CLI], {
    env: { PATH: process.env.PATH ?? '', ...env } as NodeJS.ProcessEnv,
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

const jsonLines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

for (const [fault, what] of [
  ['throw', 'injected exception'],
  ['reject', 'injected rejection'],
] as const) {
  test(`compiled CLI: ${fault === 'throw' ? 'an uncaught exception' : 'an unhandled rejection'} is one JSON line with the stack, exit 70`, async () => {
    // unresolvable contact points: the proxy keeps retrying its control connections meanwhile
    const cli = spawnCli({ ...baseEnv({ ZDM_METRICS_PORT: '0', ZDM_PROXY_LISTEN_PORT: '0' }), ZDM_TEST_FAULT: fault });
    try {
      await waitFor('the Parsed configuration line', () => cli.out().includes('"msg":"Parsed configuration"'), {
        timeoutMs: 15_000,
      });
      cli.child.kill('SIGUSR2');
      assert.equal(await cli.exit, 70, `exit code; stderr: ${cli.err()}`);
      const fatal = jsonLines(cli.out()).filter((l) => l['level'] === 'fatal');
      assert.equal(fatal.length, 1, cli.out());
      assert.match(String(fatal[0]!['msg']), new RegExp(what));
      const err = fatal[0]!['err'] as { stack?: string };
      assert.match(err.stack ?? '', /fault-preload/, 'the stack is in the line');
      assert.doesNotMatch(cli.err(), /injected/, 'no bare trace on stderr');
    } finally {
      cli.child.kill('SIGKILL');
    }
  });
}

test('compiled CLI: a second SIGTERM during the graceful drain exits at once (143)', async () => {
  const origin = await FakeServer.start({ preparedIdSalt: 'origin' });
  const target = await FakeServer.start({ preparedIdSalt: 'target' });
  const port = await freePort();
  const cli = spawnCli(
    proxyEnv(origin, target, {
      ZDM_PROXY_LISTEN_PORT: String(port),
      ZDM_SHUTDOWN_GRACE_PERIOD_MS: '120000',
      ZDM_PROXY_REQUEST_TIMEOUT_MS: '120000',
    }),
  );
  let c: TestClient | undefined;
  try {
    await waitFor('the proxy listening', () => cli.out().includes('ready to accept queries'), { timeoutMs: 15_000 });
    c = await TestClient.ready(port);
    target.stall = true; // an in-flight write holds the drain for the whole grace period
    void c.query('INSERT INTO ks.t (k) VALUES (1)', undefined, 120_000).catch(() => undefined);
    await waitFor('the write on TARGET', () => target.requests(Opcode.QUERY).some((r) => r.query?.startsWith('INSERT')));
    cli.child.kill('SIGTERM');
    await waitFor('the drain started', () => cli.out().includes('Received SIGTERM, shutting down.'));
    assert.equal(cli.child.exitCode, null, 'still draining (the write is in flight)');
    cli.child.kill('SIGTERM');
    const code = await Promise.race([cli.exit, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000).unref())]);
    assert.equal(code, 143, `exit after the second SIGTERM; output: ${cli.out().slice(-2000)}`);
    assert.match(cli.out(), /Received SIGTERM again during the shutdown: exiting now/);
  } finally {
    c?.close();
    cli.child.kill('SIGKILL');
    await origin.stop();
    await target.stop();
  }
});
