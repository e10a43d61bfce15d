// Compatibility matrix: the Python cassandra-driver (3.30.1, with lz4 and python-snappy installed by
// scripts/pyenv.sh) through the proxy, with test/python/matrix_client.py: its default (it opens with v5 and
// picks LZ4 since lz4 is installed), v5 without compression, v4 with Snappy, and v3. The scenario and its
// checks are in scenario.ts.
import { after, before, describe } from 'node:test';
import { join } from 'node:path';

import { ROOT } from '../../support/clusters';
import { describeProcess, runProcess, VENV_PYTHON } from '../../support/proxy';
import { parseResult, runVariant, scenarioTests, setUpStack, type Stack, type VariantRun } from './scenario';

const CLIENT = join(ROOT, 'test', 'python', 'matrix_client.py');
const variants = [
  // protocol 0: the driver negotiates (v5 first).
  {
    name: 'default (v5), LZ4',
    tag: 'py_default',
    protocol: 0,
    compression: 'default',
    expectVersion: 5,
    expectCompression: 'lz4',
  },
  { name: 'v5, no compression', tag: 'py_v5_plain', protocol: 5, compression: 'none', expectVersion: 5, expectCompression: null },
  { name: 'v4, Snappy', tag: 'py_v4_snappy', protocol: 4, compression: 'snappy', expectVersion: 4, expectCompression: 'snappy' },
  {
    name: "v3 (LZ4, the driver's choice)",
    tag: 'py_v3',
    protocol: 3,
    compression: 'default',
    expectVersion: 3,
    expectCompression: 'lz4',
  },
] as const;

describe('compatibility matrix: Python cassandra-driver', () => {
  let stack: Stack | undefined;
  before(async () => {
    stack = await setUpStack('matrix_python');
  });
  after(async () => {
    await stack?.close();
  });

  for (const v of variants) {
    describe(`Python driver, ${v.name}`, () => {
      let run: VariantRun = { output: 'the client did not run', proxyLog: [] };
      before(async () => {
        run = await runVariant(
          stack,
          async (s) => {
            const r = await runProcess(
              VENV_PYTHON,
              [CLIENT, s.proxy.host, String(s.proxy.port), s.ks, v.tag, String(v.protocol), v.compression],
              { timeoutMs: 120_000 },
            );
            return { result: parseResult(r.stdout), output: describeProcess(`python client (${v.name})`, r, s.proxy) };
          },
          'no stack',
        );
      });
      scenarioTests(
        () => stack,
        {
          tag: v.tag,
          pageSize: 250,
          expectVersion: v.expectVersion,
          expectCompression: v.expectCompression,
        },
        () => run,
      );
    });
  }
});
