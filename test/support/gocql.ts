// Builds the gocql client in test/gocql (its go.mod and go.sum pin github.com/apache/cassandra-gocql-driver/v2)
// for the gocql integration tests. Needs the Go toolchain on PATH (CI machines have it in /usr/local/go/bin).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT } from './clusters';
import { describeProcess, runProcess, type ProcessResult } from './proxy';

export const GO_MODULE = join(ROOT, 'test', 'gocql');
const BUILD_TIMEOUT_MS = 180_000;

/** Builds test/gocql into dir; returns the binary path, or throws with a message saying what is wrong. */
export async function buildGocqlProgram(dir: string): Promise<{ bin: string; ms: number }> {
  let version: ProcessResult;
  try {
    version = await runProcess('go', ['version'], { timeoutMs: 30_000 });
  } catch (e) {
    throw new Error(
      `the Go toolchain is not on PATH ('go version' failed: ${(e as Error).message}). ` +
        'This test builds a gocql client from test/gocql and needs Go >= 1.22 installed (CI machines have it)' +
        (existsSync('/usr/local/go/bin/go') ? '; /usr/local/go/bin/go exists: add /usr/local/go/bin to PATH.' : '.'),
    );
  }
  if (version.code !== 0) throw new Error(`'go version' failed.\n${describeProcess('go version', version)}`);
  const bin = join(dir, 'zdm-gocql');
  const t0 = Date.now();
  // GOPATH/GOMODCACHE stay at their defaults, so the module cache is shared between runs.
  const build = await runProcess('go', ['build', '-o', bin, '.'], {
    cwd: GO_MODULE,
    timeoutMs: BUILD_TIMEOUT_MS,
    env: { ...process.env, GOFLAGS: '-mod=mod' },
  });
  const ms = Date.now() - t0;
  if (build.code !== 0) {
    throw new Error(
      `'go build' of ${GO_MODULE} failed after ${ms} ms (timeout ${BUILD_TIMEOUT_MS} ms; ${version.stdout.trim()}).\n` +
        describeProcess('go build', build),
    );
  }
  return { bin, ms };
}
