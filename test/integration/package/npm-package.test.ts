// The published package: `npm pack` the checkout (as `npm publish` would, minus the prepack build: dist/ is
// already built for the tests), install the tarball into an empty folder (its dependencies come from the npm
// registry), and run the installed `zdm-proxy` bin against the real clusters: a driver writes through it and
// the row is on both clusters.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'cassandra-driver';

import { dropKeyspace, ensureClusters, originSession, ROOT, targetSession, uniqueKeyspaceName } from '../../support/clusters';
import { proxyClient, runProcess, startTestProxy, type TestProxy } from '../../support/proxy';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface PackResult {
  filename: string;
  files: { path: string }[];
}

describe('npm package: pack, install into an empty folder, run the installed bin', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    bin: Record<string, string>;
  };
  const ks = uniqueKeyspaceName('npm_package');
  const work = mkdtempSync(join(tmpdir(), 'zdm-npm-package-'));
  let packed: PackResult | undefined;
  let proxy: TestProxy | undefined;
  let client: Client | undefined;

  before(async () => {
    await ensureClusters();
    const r = await runProcess(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `npm pack failed:\n${r.stderr}`);
    packed = (JSON.parse(r.stdout) as PackResult[])[0];
  });
  after(async () => {
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  it('is publishable and ships only the compiled src (no tests, no sources, no maps)', () => {
    assert.equal((pkg as { private?: boolean }).private, undefined, 'package.json must not be private');
    assert.equal(pkg.bin['zdm-proxy'], 'dist/src/cli.js');
    const files = packed!.files.map((f) => f.path);
    assert.ok(files.includes('dist/src/cli.js'), 'the bin is in the tarball');
    assert.ok(files.includes('dist/src/proxy.js'));
    assert.ok(files.includes('package.json') && files.includes('README.md'));
    const unwanted = files.filter((f) => f.endsWith('.map') || f.endsWith('.ts') || /^(dist\/)?(test|bench|scripts)\//.test(f));
    assert.deepEqual(unwanted, [], 'tests, TypeScript sources, scripts and source maps stay out of the tarball');
  });

  it('installs from the tarball and the installed bin starts the proxy: a driver writes through it to both clusters', async () => {
    const install = await runProcess(
      NPM,
      ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, packed!.filename)],
      {
        cwd: work,
        timeoutMs: 300_000,
      },
    );
    assert.equal(install.code, 0, `npm install of the tarball failed:\n${install.stderr}`);
    const bin = join(work, 'node_modules', '.bin', 'zdm-proxy');
    assert.ok(existsSync(bin), `${bin} is installed`);

    const version = await runProcess(bin, ['--version'], { cwd: work });
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout, `ZDM proxy version ${pkg.version}\n`);

    proxy = await startTestProxy({ mode: 'cli', bin });
    client = await proxyClient({ proxy });
    await client.execute(`CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
    await client.execute(`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`);
    await client.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, [1, 'from the installed package'], { prepare: true });
    for (const open of [originSession, targetSession]) {
      const c = await open();
      try {
        const rs = await c.execute(`SELECT v FROM ${ks}.kv WHERE k = 1`);
        assert.equal(rs.first()?.['v'], 'from the installed package');
      } finally {
        await c.shutdown();
      }
    }
  });
});
