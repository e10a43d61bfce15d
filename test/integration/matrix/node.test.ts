// Compatibility matrix: the Node.js cassandra-driver (the project's dev dependency) through the proxy, in this
// process. It opens with DSE_V2 and tops out at v4 against Apache Cassandra: the proxy refuses DSE_V2 and
// DSE_V1 and the driver settles on v4; it has no compression. The scenario and its checks are in scenario.ts;
// the driver prepares all children of a batch or none, so its batch is prepared (keys batch-simple and
// batch-prepared, both prepared).
import { after, before, describe } from 'node:test';
import type { Client, types } from 'cassandra-driver';

import { proxyClient } from '../../support/proxy';
import { runVariant, scenarioTests, setUpStack, type MatrixResult, type Stack, type VariantRun } from './scenario';

const PAGE_SIZE = 250;

async function errorOf(client: Client, cql: string): Promise<{ error: string | null; message?: string }> {
  try {
    await client.execute(cql, [], { prepare: false });
    return { error: null };
  } catch (e) {
    return { error: (e as Error).name, message: (e as Error).message };
  }
}

async function scenario(client: Client, ks: string, tag: string, r: MatrixResult): Promise<void> {
  const kv = `${ks}.kv_${tag}`;
  const insert = `INSERT INTO ${kv} (k, v) VALUES (?, ?)`;
  r.steps.push('connected');
  const cc = (client as unknown as { controlConnection: { protocolVersion: number } }).controlConnection;
  r.protocol_version = cc.protocolVersion;
  r.compression = null; // the Node.js driver has no protocol compression
  r.hosts = client.hosts.keys().sort();
  await client.execute(`CREATE TABLE ${kv} (k text PRIMARY KEY, v text)`);
  r.steps.push('ddl');
  await client.execute(`INSERT INTO ${kv} (k, v) VALUES ('simple', '${tag}-simple')`, [], { prepare: false });
  r.steps.push('simple write');
  await client.execute(insert, ['prepared', `${tag}-prepared`], { prepare: true });
  r.steps.push('prepared write');
  await client.batch(
    [
      { query: `INSERT INTO ${kv} (k, v) VALUES ('batch-simple', '${tag}-batch-simple')` },
      { query: insert, params: ['batch-prepared', `${tag}-batch-prepared`] },
    ],
    { prepare: true, logged: true },
  );
  r.steps.push('batch');
  r.read_simple = (await client.execute(`SELECT v FROM ${ks}.reads WHERE k = 'both'`, [], { prepare: false })).rows.map(
    (x) => x['v'] as string,
  );
  r.steps.push('simple read');
  r.read_prepared = (await client.execute(`SELECT v FROM ${ks}.reads WHERE k = ?`, ['both'], { prepare: true })).rows.map(
    (x) => x['v'] as string,
  );
  r.steps.push('prepared read');
  const keys = new Set<number>();
  let rows = 0;
  let pages = 0;
  let pageState: string | undefined;
  do {
    const rs: types.ResultSet = await client.execute(`SELECT k FROM ${ks}.paged`, [], {
      prepare: false,
      fetchSize: PAGE_SIZE,
      pageState,
    });
    pages++;
    rows += rs.rows.length;
    for (const row of rs.rows) keys.add(row['k'] as number);
    pageState = rs.pageState ?? undefined;
  } while (pageState);
  r.paged = { rows, distinct: keys.size, pages, page_size: PAGE_SIZE };
  r.steps.push('paged read');
  await client.execute(`USE ${ks}`);
  await client.execute(`INSERT INTO kv_${tag} (k, v) VALUES ('use', '${tag}-use')`, [], { prepare: false });
  r.read_use = (await client.execute("SELECT v FROM reads WHERE k = 'both'", [], { prepare: false })).rows.map(
    (x) => x['v'] as string,
  );
  r.steps.push('use');
  r.error_origin_only = await errorOf(client, `INSERT INTO ${ks}.on_origin (k, v) VALUES ('${tag}', '${tag}')`);
  r.error_target_only = await errorOf(client, `INSERT INTO ${ks}.on_target (k, v) VALUES ('${tag}', '${tag}')`);
  r.steps.push('one-cluster errors');
}

describe('compatibility matrix: Node.js cassandra-driver', () => {
  let stack: Stack | undefined;
  before(async () => {
    stack = await setUpStack('matrix_node');
  });
  after(async () => {
    await stack?.close();
  });

  describe('Node.js driver, negotiated (DSE_V2 first) down to v4', () => {
    let run: VariantRun = { output: 'the client did not run', proxyLog: [] };
    before(async () => {
      run = await runVariant(
        stack,
        async (s) => {
          const r: MatrixResult = { steps: [] };
          let client: Client | undefined;
          try {
            client = await proxyClient({ proxy: s.proxy, timeoutMs: 30_000 });
            await scenario(client, s.ks, 'node', r);
          } catch (e) {
            r.error = `${(e as Error).name}: ${(e as Error).message}`;
          } finally {
            await client?.shutdown().catch(() => undefined);
          }
          return {
            result: r,
            output: `Node.js driver: ${JSON.stringify(r)}\nproxy log (last 20 lines):\n${s.proxy.logs.slice(-20).join('\n')}`,
          };
        },
        'no stack',
      );
    });
    scenarioTests(
      () => stack,
      { tag: 'node', pageSize: PAGE_SIZE, expectVersion: 4, expectCompression: null },
      () => run,
    );
  });
});
