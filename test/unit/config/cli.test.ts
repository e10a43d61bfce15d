// CLI: flags, --help/--version, exit codes; also the compiled binary as a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runCli, usageText, packageVersion, CONFIG_ERROR_EXIT_CODE } from '../../../src/config/cli';
import { parseFlags, SETTING_KEYS, envVarName, SETTING_DEFS } from '../../../src/config';
import { baseEnv } from './helpers';

const CLI = join(__dirname, '..', '..', '..', 'src', 'cli.js');

function runBinary(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 20000,
  });
}

test('flag syntax: single and double dash, = or separate value', () => {
  for (const argv of [['--config', 'a.yml'], ['--config=a.yml'], ['-config=a.yml'], ['-config', 'a.yml']]) {
    assert.equal(parseFlags(argv).configPath, 'a.yml', argv.join(' '));
  }
  assert.equal(parseFlags([]).configPath, undefined);
  assert.equal(parseFlags(['-version']).version, true);
  assert.equal(parseFlags(['--version=false']).version, false);
  assert.equal(parseFlags(['-h']).help, true);
  assert.equal(parseFlags(['--help']).help, true);
  assert.equal(parseFlags(['--config', 'a', '--']).configPath, 'a');
});

test('flag errors: unknown flag, missing value, stray argument, bad syntax', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--bogus'], /^flag provided but not defined: -bogus/],
    [['-cpu_profile=x'], /^flag provided but not defined: -cpu_profile/],
    [['--config'], /^flag needs an argument: -config/],
    [['zdm.yml'], /^unexpected argument: "zdm.yml"/],
    [['---x'], /^bad flag syntax: ---x/],
    [['--version=maybe'], /invalid boolean value "maybe" for -version/],
  ];
  for (const [argv, re] of cases) {
    const r = runCli(argv, {});
    assert.equal(r.kind, 'error', argv.join(' '));
    if (r.kind === 'error') {
      assert.match(r.message, re);
      assert.equal(r.exitCode, 2);
    }
  }
});

test('runCli: help, version, run, config error', () => {
  const h = runCli(['--help'], {});
  assert.equal(h.kind, 'help');
  const v = runCli(['-version'], {}, { version: '9.9.9' });
  assert.deepEqual(v, { kind: 'version', text: 'ZDM proxy version 9.9.9' });
  const r = runCli([], baseEnv());
  assert.equal(r.kind, 'run');
  if (r.kind === 'run') assert.equal(r.config.origin.port, 7890);
  const y = runCli(
    ['--config', '/v.yml'],
    { ZDM_READ_MODE: 'x' },
    { readFile: () => 'origin_contact_points: a\ntarget_contact_points: b\nread_mode: DUAL_ASYNC_ON_SECONDARY\n' },
  );
  assert.equal(y.kind, 'run');
  if (y.kind === 'run') assert.equal(y.config.dualReadsEnabled, true);
  const e = runCli([], baseEnv({ ZDM_PRIMARY_CLUSTER: 'nope' }));
  assert.equal(e.kind, 'error');
  if (e.kind === 'error') {
    assert.equal(e.exitCode, CONFIG_ERROR_EXIT_CODE);
    assert.equal(
      e.message,
      'Error loading configuration: invalid value for ZDM_PRIMARY_CLUSTER; possible values are: ORIGIN and TARGET. Aborting startup.',
    );
  }
});

test('help text lists every env var with its YAML key and default, and marks extensions', () => {
  const text = usageText();
  for (const key of SETTING_KEYS) {
    const d = SETTING_DEFS[key];
    assert.ok(text.includes(`${envVarName(key)}  (yaml: ${key}; ${d.type}; default `), key);
  }
  assert.ok(text.includes('ZDM_ORIGIN_PORT  (yaml: origin_port; int; default 9042)'));
  assert.ok(text.includes('ZDM_READ_MODE  (yaml: read_mode; string; default "PRIMARY_ONLY")'));
  assert.ok(text.includes('Extensions of this port (not upstream settings):'));
  assert.ok(text.includes('--config'));
});

test('package version is read from package.json', () => {
  assert.match(packageVersion(), /^\d+\.\d+\.\d+/);
});

test('compiled CLI: bad value exits 255 naming the setting on stderr', () => {
  const r = runBinary([], { ...(baseEnv() as Record<string, string>), ZDM_READ_MODE: 'DUAL_SYNC' });
  assert.equal(r.status, 255, r.stderr);
  assert.equal(
    r.stderr.trim(),
    'Error loading configuration: invalid value for ZDM_READ_MODE; possible values are: PRIMARY_ONLY and DUAL_ASYNC_ON_SECONDARY. Aborting startup.',
  );
  const missing = runBinary([], {});
  assert.equal(missing.status, 255);
  assert.match(missing.stderr, /required key ZDM_ORIGIN_USERNAME missing value/);
  const yaml = runBinary(['-config=/definitely/not/here.yml'], {});
  assert.equal(yaml.status, 255);
  assert.match(yaml.stderr, /could not read configuration file \/definitely\/not\/here\.yml/);
});

test('compiled CLI: --version, --help, unknown flag', () => {
  const v = runBinary(['--version'], {});
  assert.equal(v.status, 0);
  assert.equal(v.stdout, `ZDM proxy version ${packageVersion()}\n`);
  const h = runBinary(['--help'], {});
  assert.equal(h.status, 0);
  assert.ok(h.stdout.includes('ZDM_PROXY_TOPOLOGY_ADDRESSES'));
  assert.ok(h.stdout.includes('ZDM_MAX_FRAME_SIZE_BYTES'));
  const u = runBinary(['--nope'], {});
  assert.equal(u.status, 2);
  assert.match(u.stderr, /flag provided but not defined: -nope/);
});

test('compiled CLI: valid config logs the parsed configuration without passwords, and SIGTERM stops it cleanly', async () => {
  // Unresolvable contact points: the proxy logs its configuration, then keeps retrying the
  // control connections until it is told to stop.
  const child = spawn(process.execPath, [CLI], {
    env: {
      PATH: process.env.PATH ?? '',
      ...(baseEnv({ ZDM_METRICS_PORT: '0', ZDM_PROXY_LISTEN_PORT: '0' }) as Record<string, string>),
    },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "Parsed configuration" line; stdout: ${stdout} stderr: ${stderr}`)),
      15000,
    );
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('"msg":"Parsed configuration"')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill('SIGTERM');
  const code = await exit;
  assert.equal(code, 0, `exit code after SIGTERM; stderr: ${stderr}`);
  assert.match(stdout, /"origin_username":"originUser"/);
  assert.ok(!stdout.includes('originSecretPw1') && !stdout.includes('targetSecretPw2'));
  assert.ok(!stderr.includes('originSecretPw1'));
});
