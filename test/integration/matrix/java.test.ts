// Compatibility matrix: the Java driver 4.x (org.apache.cassandra:java-driver-core, test/java/pom.xml)
// through the proxy, on its defaults (no protocol version forced: it opens with v5 against Cassandra 5),
// without compression and with LZ4 (lz4-java, advanced.protocol.compression = lz4). The scenario and its
// checks are in scenario.ts. The client is built here with Maven (`mvn -q -B package`; dependencies are
// cached in ~/.m2, so later builds need no network); Java 17 and Maven must be installed.
import { after, before, describe } from 'node:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT } from '../../support/clusters';
import { describeProcess, runProcess, type ProcessResult } from '../../support/proxy';
import { parseResult, runVariant, scenarioTests, setUpStack, type Stack, type VariantRun } from './scenario';

const PROJECT = join(ROOT, 'test', 'java');
const JAVA_HOME = process.env.JAVA_HOME || '/usr/lib/jvm/java-17-openjdk-amd64';
const BUILD_TIMEOUT_MS = 300_000;
const RUN_TIMEOUT_MS = 120_000;

/** Builds test/java; returns the class path to run zdm.MatrixClient with, or throws saying what is wrong. */
async function buildJavaClient(): Promise<string> {
  const env = { ...process.env, JAVA_HOME, PATH: `${join(JAVA_HOME, 'bin')}:${process.env.PATH ?? ''}` };
  let build: ProcessResult;
  try {
    build = await runProcess('mvn', ['-q', '-B', 'package'], { cwd: PROJECT, env, timeoutMs: BUILD_TIMEOUT_MS });
  } catch (e) {
    throw new Error(
      `Maven is not installed ('mvn' failed to start: ${(e as Error).message}); this test builds test/java with it`,
    );
  }
  if (build.code !== 0) throw new Error(`'mvn -q -B package' in ${PROJECT} failed\n${describeProcess('mvn', build)}`);
  const cpFile = join(PROJECT, 'target', 'classpath.txt');
  if (!existsSync(cpFile)) throw new Error(`${cpFile} missing after the Maven build`);
  return `${join(PROJECT, 'target', 'classes')}:${readFileSync(cpFile, 'utf8').trim()}`;
}

const variants = [
  { name: 'Java driver 4, defaults (v5), no compression', tag: 'java_default', args: [] as string[], compression: null },
  { name: 'Java driver 4, defaults (v5), LZ4', tag: 'java_lz4', args: ['lz4'], compression: 'lz4' },
] as const;

describe('compatibility matrix: Java driver 4.x', () => {
  let stack: Stack | undefined;
  let classPath: string | undefined;
  let buildError = '';

  before(async () => {
    try {
      classPath = await buildJavaClient();
    } catch (e) {
      buildError = (e as Error).message;
      return;
    }
    stack = await setUpStack('matrix_java');
  });
  after(async () => {
    await stack?.close();
  });

  for (const v of variants) {
    describe(v.name, () => {
      let run: VariantRun = { output: 'the client did not run', proxyLog: [] };
      before(async () => {
        run = await runVariant(
          classPath ? stack : undefined,
          async (s) => {
            const r = await runProcess(
              join(JAVA_HOME, 'bin', 'java'),
              ['-cp', classPath!, 'zdm.MatrixClient', s.proxy.host, String(s.proxy.port), s.ks, v.tag, ...v.args],
              { timeoutMs: RUN_TIMEOUT_MS },
            );
            return { result: parseResult(r.stdout), output: describeProcess(`java client (${v.name})`, r, s.proxy) };
          },
          buildError || 'no stack',
        );
      });
      scenarioTests(
        () => stack,
        {
          tag: v.tag,
          pageSize: 250,
          expectVersion: 5,
          expectCompression: v.compression,
        },
        () => run,
      );
    });
  }
});
