#!/usr/bin/env node
// Sandbox: `npm run sandbox` (builds first). Makes the Python venv with cqlsh (scripts/pyenv.sh, so that
// `npm run cqlsh` works), starts the Origin and Target test clusters (scripts/clusters.mjs), then runs
// the ZDM proxy in the foreground on 127.0.0.1:14002 pointed at them.
// Ctrl-C stops the proxy (the clusters keep running; `npm run clusters -- stop` stops them).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist', 'src', 'cli.js');
if (!existsSync(cli)) {
  console.error(`${cli} is missing: run "npm run build" (or "npm run sandbox", which builds first).`);
  process.exit(1);
}

console.log('# making (or reusing) the Python venv with cqlsh (.venv, scripts/pyenv.sh)...');
const venv = spawnSync('bash', [join(root, 'scripts', 'pyenv.sh')], { stdio: 'inherit' });
if (venv.status !== 0) {
  console.error('# the Python venv could not be made (see above): "npm run cqlsh" will not work; the proxy is not started.');
  process.exit(venv.status ?? 1);
}

console.log('# starting (or reusing) the Origin (127.0.0.1:9042) and Target (127.0.0.2:9042) clusters...');
const started = spawnSync(process.execPath, [join(root, 'scripts', 'clusters.mjs'), 'start'], { stdio: 'inherit' });
if (started.status !== 0) {
  console.error('# the clusters could not be started (see above); the proxy is not started.');
  process.exit(started.status ?? 1);
}

const port = process.env.ZDM_PROXY_LISTEN_PORT || '14002';
const env = {
  ...process.env,
  ZDM_ORIGIN_CONTACT_POINTS: '127.0.0.1',
  ZDM_ORIGIN_USERNAME: 'cassandra',
  ZDM_ORIGIN_PASSWORD: 'cassandra',
  ZDM_TARGET_CONTACT_POINTS: '127.0.0.2',
  ZDM_TARGET_USERNAME: 'cassandra',
  ZDM_TARGET_PASSWORD: 'cassandra',
  ZDM_PROXY_LISTEN_ADDRESS: '127.0.0.1',
  ZDM_PROXY_LISTEN_PORT: port,
  ZDM_METRICS_ADDRESS: process.env.ZDM_METRICS_ADDRESS || '127.0.0.1',
};

console.log(`
# ZDM proxy starting on 127.0.0.1:${port} (Origin 127.0.0.1:9042 + Target 127.0.0.2:9042, user cassandra/cassandra)
#
# Connect with cqlsh through the proxy (in another terminal):
#   npm run cqlsh -- proxy
# and compare with each cluster directly:
#   npm run cqlsh -- origin      npm run cqlsh -- target
#
# Node.js driver (cassandra-driver):
#   const { Client, auth } = require('cassandra-driver');
#   const client = new Client({
#     contactPoints: ['127.0.0.1:${port}'],
#     localDataCenter: 'datacenter1',
#     authProvider: new auth.PlainTextAuthProvider('cassandra', 'cassandra'),
#   });
#   await client.connect();
#   console.log((await client.execute('SELECT release_version FROM system.local')).first());
#
# Ctrl-C stops the proxy; "npm run clusters -- stop" stops the clusters.
`);

const child = spawn(process.execPath, [cli], { env, stdio: 'inherit' });
const forward = (sig) => () => child.kill(sig);
process.on('SIGINT', forward('SIGINT'));
process.on('SIGTERM', forward('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
