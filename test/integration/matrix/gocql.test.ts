// Compatibility matrix: gocql (github.com/apache/cassandra-gocql-driver/v2, test/gocql in "matrix" mode)
// through the proxy, pinned to v5 and to v4, without compression. The scenario and its checks are in
// scenario.ts; gocql's USE is a session bound to the keyspace (gocql refuses USE statements and sends USE
// on its connections itself). Needs the Go toolchain on PATH (CI machines have it).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildGocqlProgram } from '../../support/gocql';
import { describeProcess, runProcess } from '../../support/proxy';
import { parseResult, runVariant, scenarioTests, setUpStack, type MatrixResult, type Stack, type VariantRun } from './scenario';

interface GocqlMatrixResult extends MatrixResult {
  frame_versions?: number[];
}

const variants = [
  // Pinned (gocql's own negotiation, v5 first, is test/integration/gocql/gocql.test.ts).
  { name: 'gocql, v5', tag: 'go_v5', proto: 5, expectVersion: 5 },
  { name: 'gocql, v4', tag: 'go_v4', proto: 4, expectVersion: 4 },
] as const;

describe('compatibility matrix: gocql', () => {
  let stack: Stack | undefined;
  let tmp: string | undefined;
  let bin: string | undefined;
  let buildError = '';

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'zdm-gocql-matrix-'));
    try {
      bin = (await buildGocqlProgram(tmp)).bin;
    } catch (e) {
      buildError = (e as Error).message;
      return;
    }
    stack = await setUpStack('matrix_gocql');
  });
  after(async () => {
    await stack?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  for (const v of variants) {
    describe(v.name, () => {
      let run: VariantRun = { output: 'the client did not run', proxyLog: [] };
      before(async () => {
        run = await runVariant(
          bin ? stack : undefined,
          async (s) => {
            const r = await runProcess(bin!, ['-proto', String(v.proto), s.proxy.contactPoint, s.ks, 'matrix', v.tag], {
              timeoutMs: 120_000,
            });
            return { result: parseResult(r.stdout), output: describeProcess(`gocql (${v.name})`, r, s.proxy) };
          },
          buildError || 'no stack',
        );
      });
      scenarioTests(
        () => stack,
        { tag: v.tag, pageSize: 250, expectVersion: v.expectVersion, expectCompression: null },
        () => run,
      );

      it(`every frame gocql read was a v${v.expectVersion} frame`, () => {
        const result = run.result as GocqlMatrixResult | undefined;
        assert.ok(result, run.output);
        assert.deepEqual(result.frame_versions, [v.expectVersion], run.output);
      });
    });
  }
});
