// Compatibility matrix: cqlsh (6.2.2 from the project venv, scripts/pyenv.sh) through the proxy, at its
// default protocol (the Python driver's negotiation, v5 first; LZ4 since lz4 is installed) and with
// --protocol-version 4. One cqlsh run per variant executes the scenario of scenario.ts as CQL text; cqlsh
// sends no prepared statements, so its batch has two simple children and there are no prepared steps. The
// result is read from cqlsh's output: SHOW VERSION (protocol), the SELECTs (each column aliased so its table
// is recognised), the row count of the 5,000-row read (cqlsh pages by 100 rows and prints every page), and
// the two errors cqlsh prints on stderr (it goes on after an error and exits with 2).
import { after, before, describe } from 'node:test';

import { runCqlsh } from '../../support/clusters';
import { describeProcess } from '../../support/proxy';
import { runVariant, scenarioTests, setUpStack, type MatrixResult, type Stack, type VariantRun } from './scenario';

/** cqlsh's default page size (PAGING): every page is fetched and printed when stdout is not a terminal. */
const CQLSH_PAGE_SIZE = 100;

function script(ks: string, tag: string): string {
  const kv = `${ks}.kv_${tag}`;
  const statements = [
    'SHOW VERSION',
    `CREATE TABLE ${kv} (k text PRIMARY KEY, v text)`,
    `INSERT INTO ${kv} (k, v) VALUES ('simple', '${tag}-simple')`,
    `BEGIN BATCH INSERT INTO ${kv} (k, v) VALUES ('batch-simple', '${tag}-batch-simple'); ` +
      `INSERT INTO ${kv} (k, v) VALUES ('batch-simple-2', '${tag}-batch-simple-2'); APPLY BATCH`,
    `SELECT v AS read_simple FROM ${ks}.reads WHERE k = 'both'`,
    `SELECT k AS paged_k FROM ${ks}.paged`,
    `USE ${ks}`,
    `INSERT INTO kv_${tag} (k, v) VALUES ('use', '${tag}-use')`,
    "SELECT v AS read_use FROM reads WHERE k = 'both'",
    `INSERT INTO ${ks}.on_origin (k, v) VALUES ('${tag}', '${tag}')`,
    `INSERT INTO ${ks}.on_target (k, v) VALUES ('${tag}', '${tag}')`,
  ];
  return `${statements.join(';\n')};`;
}

/** The values under the (aliased) column `name` in cqlsh's tabular output, and its "(N rows)" count. */
function column(stdout: string, name: string): { values: string[]; count: number } | undefined {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.trim() === name);
  if (start < 0 || !/^-+$/.test(lines[start + 1]?.trim() ?? '')) return undefined;
  const values: string[] = [];
  for (let i = start + 2; i < lines.length; i++) {
    const m = /^\((\d+) rows\)$/.exec(lines[i]!.trim());
    if (m) return { values, count: Number(m[1]) };
    if (lines[i]!.trim() !== '') values.push(lines[i]!.trim());
  }
  return undefined;
}

/** Reads the scenario's result out of cqlsh's output. */
function resultOf(stdout: string, stderr: string): MatrixResult {
  const r: MatrixResult = { steps: [] };
  const version = /Native protocol v(\d+)\]/.exec(stdout);
  if (version) {
    r.protocol_version = Number(version[1]);
    r.steps.push('connected');
  }
  const errors = [...stderr.matchAll(/^.*Error from server: code=\w+ \[[^\]]*\] message="(.*)"$/gm)].map((m) => m[1]!);
  const onOrigin = errors.filter((e) => /on_origin/.test(e));
  const onTarget = errors.filter((e) => /on_target/.test(e));
  const unexpected = errors.filter((e) => !/on_origin|on_target/.test(e));
  const other = stderr.split('\n').filter((l) => /error|exception|traceback/i.test(l) && !/Error from server/.test(l));
  if (unexpected.length > 0 || other.length > 0) r.error = [...unexpected, ...other].join('\n');
  else if (r.steps.length > 0) r.steps.push('ddl', 'simple write', 'batch'); // no error reported for them
  const simple = column(stdout, 'read_simple');
  if (simple) {
    r.read_simple = simple.values;
    r.steps.push('simple read');
  }
  const paged = column(stdout, 'paged_k');
  if (paged) {
    r.paged = { rows: paged.count, distinct: new Set(paged.values).size, page_size: CQLSH_PAGE_SIZE };
    if (paged.values.length !== paged.count)
      r.error = `paged read: ${paged.values.length} rows printed, cqlsh counted ${paged.count}`;
    r.steps.push('paged read');
  }
  const use = column(stdout, 'read_use');
  if (use) {
    r.read_use = use.values;
    r.steps.push('use');
  }
  if (onOrigin.length === 1 && onTarget.length === 1) {
    r.error_origin_only = { error: 'InvalidRequest', message: onOrigin[0] };
    r.error_target_only = { error: 'InvalidRequest', message: onTarget[0] };
    r.steps.push('one-cluster errors');
  }
  return r;
}

const variants = [
  { name: 'cqlsh, default protocol (v5), LZ4', tag: 'cqlsh_default', args: [] as string[], expectVersion: 5 },
  { name: 'cqlsh --protocol-version 4, LZ4', tag: 'cqlsh_v4', args: ['--protocol-version', '4'], expectVersion: 4 },
] as const;

describe('compatibility matrix: cqlsh', () => {
  let stack: Stack | undefined;
  before(async () => {
    stack = await setUpStack('matrix_cqlsh');
  });
  after(async () => {
    await stack?.close();
  });

  for (const v of variants) {
    describe(v.name, () => {
      let run: VariantRun = { output: 'cqlsh did not run', proxyLog: [] };
      before(async () => {
        run = await runVariant(
          stack,
          async (s) => {
            const saved = [process.env.ZDM_PROXY_HOST, process.env.ZDM_PROXY_PORT];
            process.env.ZDM_PROXY_HOST = s.proxy.host;
            process.env.ZDM_PROXY_PORT = String(s.proxy.port);
            try {
              const r = await runCqlsh(
                'proxy',
                ['--connect-timeout=20', '--request-timeout=30', ...v.args, '-e', script(s.ks, v.tag)],
                { timeoutMs: 120_000 },
              );
              return { result: resultOf(r.stdout, r.stderr), output: describeProcess(`cqlsh (${v.name})`, r, s.proxy) };
            } finally {
              if (saved[0] === undefined) delete process.env.ZDM_PROXY_HOST;
              else process.env.ZDM_PROXY_HOST = saved[0];
              if (saved[1] === undefined) delete process.env.ZDM_PROXY_PORT;
              else process.env.ZDM_PROXY_PORT = saved[1];
            }
          },
          'no stack',
        );
      });
      scenarioTests(
        () => stack,
        {
          tag: v.tag,
          pageSize: CQLSH_PAGE_SIZE,
          expectVersion: v.expectVersion,
          expectCompression: 'lz4',
          skipSteps: ['prepared write', 'prepared read'],
          keys: ['simple', 'batch-simple', 'batch-simple-2', 'use'],
          reportsCompression: false,
          reportsHosts: false,
        },
        () => run,
      );
    });
  }
});
