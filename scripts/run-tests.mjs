#!/usr/bin/env node
// Runs the compiled node:test suites: `node scripts/run-tests.mjs unit integration`.
// Unit tests need no external service. Integration tests need the real Origin and Target
// clusters: this runner starts them once (idempotent) before the first integration file runs.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const kinds = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const filter = process.env.TEST_FILTER; // substring of a test file path, to run a subset

function findTests(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

let failed = false;
for (const kind of kinds.length ? kinds : ['unit']) {
  let files = findTests(join(root, 'dist', 'test', kind));
  if (filter) files = files.filter((f) => f.includes(filter));
  if (files.length === 0) {
    console.log(`# no ${kind} test files${filter ? ` matching ${filter}` : ''}`);
    continue;
  }
  // faults (and the soak in it): real clusters too; they kill/pause nodes and bring them back, so they run after the rest
  const needsClusters = kind === 'integration' || kind === 'faults';
  if (needsClusters && !process.env.ZDM_TEST_SKIP_CLUSTER_START) {
    // cqlsh and the Python driver live in the project's venv (idempotent, fast when present).
    const py = spawnSync('bash', [join(root, 'scripts', 'pyenv.sh')], { stdio: 'inherit' });
    if (py.status !== 0) {
      console.error('# could not make the Python venv (scripts/pyenv.sh): integration tests not run');
      failed = true;
      continue;
    }
    console.log('# starting (or reusing) the Origin and Target clusters');
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'clusters.mjs'), 'start'], { stdio: 'inherit' });
    if (r.status !== 0) {
      console.error('# could not start the clusters: integration tests not run');
      failed = true;
      continue;
    }
  }
  const args = ['--test', '--test-reporter=spec'];
  // Integration tests share two real clusters and fixed ports: run files one at a time.
  if (needsClusters) args.push('--test-concurrency=1');
  // faults: a Node driver shut down while it was reconnecting to a proxy that saw a node die can leave sockets
  // with connect timers behind; do not let them hold the run once every test has finished
  if (kind === 'faults') args.push('--test-force-exit');
  const r = spawnSync(process.execPath, [...args, ...files], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
