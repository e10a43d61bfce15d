// The compatibility matrix's one scenario, shared by every client stack (test/integration/matrix/*.test.ts).
//
// Per stack (one test file): one keyspace on both clusters and one proxy. Fixtures, written directly on the
// clusters, never through the proxy:
//   reads      (k text PRIMARY KEY, v text)  row 'both' = 'from-origin' on Origin, 'from-target' on Target
//   paged      (k int PRIMARY KEY, v text)   5,000 rows on Origin; the table is empty on Target
//   on_origin  (k text PRIMARY KEY, v text)  exists on Origin only
//   on_target  (k text PRIMARY KEY, v text)  exists on Target only
// Per variant (a client x protocol x compression row) with tag T, the client, through the proxy:
//   1. DDL: CREATE TABLE ks.kv_T (k text PRIMARY KEY, v text)
//   2. a simple write ('simple'), 3. a prepared write ('prepared'),
//   4. a logged batch with a simple ('batch-simple') and a prepared ('batch-prepared') child,
//   5. a simple and a prepared read of reads.k = 'both' (Origin's value expected),
//   6. SELECT k FROM ks.paged with a page size of 100-500 (all 5,000 rows, over many pages),
//   7. USE ks, then an unqualified write ('use') and an unqualified read of reads.k = 'both',
//   8. INSERT INTO ks.on_origin / ks.on_target: an error from the one cluster that lacks the table.
// Checked here: every value written is read back directly on Origin AND Target (kv_T), reads give Origin's
// values, all 5,000 rows arrive, the one-cluster errors are the failing cluster's own error (and the row
// landed on the other cluster), the negotiated protocol version, and that the client sees only the proxy.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'cassandra-driver';

import {
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  originSession,
  targetSession,
  uniqueKeyspaceName,
} from '../../support/clusters';
import { startTestProxy, type TestProxy } from '../../support/proxy';

export const PAGED_ROWS = 5000;

/** What each client program reports (one line `RESULT {json}` on stdout). */
export interface MatrixResult {
  protocol_version?: number;
  /** the compression the client uses ('lz4', 'snappy', or none/null) where it can tell */
  compression?: string | null;
  steps: string[];
  hosts?: string[];
  cluster_name?: string | null;
  read_simple?: string[];
  read_prepared?: string[];
  read_use?: string[];
  paged?: { rows: number; distinct: number; pages?: number; page_size: number };
  error_origin_only?: { error: string | null; message?: string };
  error_target_only?: { error: string | null; message?: string };
  error?: string;
}

/** The steps every full client run reports, in order. */
export const ALL_STEPS = [
  'connected',
  'ddl',
  'simple write',
  'prepared write',
  'batch',
  'simple read',
  'prepared read',
  'paged read',
  'use',
  'one-cluster errors',
] as const;

export interface Stack {
  readonly ks: string;
  readonly proxy: TestProxy;
  readonly origin: Client;
  readonly target: Client;
  /** Target's own error for an INSERT into on_origin, sent to Target directly. */
  readonly targetErrorOnOriginOnly: string;
  /** Origin's own error for an INSERT into on_target, sent to Origin directly. */
  readonly originErrorOnTargetOnly: string;
  close(): Promise<void>;
}

async function directError(c: Client, cql: string): Promise<string> {
  try {
    await c.execute(cql, [], { prepare: false });
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`expected an error for ${cql}`);
}

/** Keyspace, fixtures and one proxy for a stack's test file. */
export async function setUpStack(prefix: string): Promise<Stack> {
  await ensureClusters();
  const ks = uniqueKeyspaceName(prefix);
  await createKeyspace(ks);
  const [origin, target] = await Promise.all([originSession(), targetSession()]);
  let proxy: TestProxy | undefined;
  try {
    // Both clusters in parallel, each its tables one after the other.
    await Promise.all(
      (
        [
          [origin, 'origin'],
          [target, 'target'],
        ] as const
      ).map(async ([c, name]) => {
        await c.execute(`CREATE TABLE ${ks}.reads (k text PRIMARY KEY, v text)`);
        await c.execute(`CREATE TABLE ${ks}.paged (k int PRIMARY KEY, v text)`);
        await c.execute(`CREATE TABLE ${ks}.on_${name} (k text PRIMARY KEY, v text)`);
        await c.execute(`INSERT INTO ${ks}.reads (k, v) VALUES ('both', 'from-${name}')`);
      }),
    );
    // 5,000 rows as 50 unlogged batches of 100 (4x faster than single inserts).
    const insert = `INSERT INTO ${ks}.paged (k, v) VALUES (?, ?)`;
    await Promise.all(
      Array.from({ length: PAGED_ROWS / 100 }, (_, b) =>
        origin.batch(
          Array.from({ length: 100 }, (_, i) => ({ query: insert, params: [b * 100 + i, `origin-${b * 100 + i}`] })),
          { prepare: true, logged: false },
        ),
      ),
    );
    const targetErrorOnOriginOnly = await directError(target, `INSERT INTO ${ks}.on_origin (k, v) VALUES ('x', 'x')`);
    const originErrorOnTargetOnly = await directError(origin, `INSERT INTO ${ks}.on_target (k, v) VALUES ('x', 'x')`);
    // info: the proxy logs each client handshake with its protocol version and compression (checked per variant).
    proxy = await startTestProxy({ logLevel: 'info' });
    const p = proxy;
    return {
      ks,
      proxy: p,
      origin,
      target,
      targetErrorOnOriginOnly,
      originErrorOnTargetOnly,
      close: async () => {
        await p.stop().catch(() => undefined);
        await origin.shutdown().catch(() => undefined);
        await target.shutdown().catch(() => undefined);
        await dropKeyspace(ks).catch(() => undefined);
      },
    };
  } catch (e) {
    await proxy?.stop().catch(() => undefined);
    await origin.shutdown().catch(() => undefined);
    await target.shutdown().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
    throw e;
  }
}

/** The `RESULT {json}` line of a client program's output. */
export function parseResult(stdout: string): MatrixResult | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return line ? (JSON.parse(line.slice('RESULT '.length)) as MatrixResult) : undefined;
}

export interface Variant {
  /** table suffix and row values: [a-z0-9_] */
  readonly tag: string;
  /** the protocol version the client must have negotiated */
  readonly expectVersion: number;
  /** the compression the client connections must use (null: none), as the proxy logged it and the client reports it */
  readonly expectCompression: string | null;
  /** steps this client cannot do (e.g. cqlsh sends no prepared statements) */
  readonly skipSteps?: readonly string[];
  /** the page size the client used for the 5,000-row read */
  readonly pageSize: number;
  /** the keys the client writes to kv_T (default: simple, prepared, batch-simple, batch-prepared, use) */
  readonly keys?: readonly string[];
  /** false: the client cannot tell which compression it uses (cqlsh); the proxy's log still says */
  readonly reportsCompression?: boolean;
  /** false: the client cannot list the hosts it sees (cqlsh) */
  readonly reportsHosts?: boolean;
}

const DEFAULT_KEYS = ['simple', 'prepared', 'batch-simple', 'batch-prepared', 'use'];

/** The rows a variant writes to ks.kv_T, as `k=v` (v is `<tag>-<k>`), sorted. */
export function expectedRows(tag: string, keys: readonly string[] = DEFAULT_KEYS): string[] {
  return keys.map((k) => `${k}=${tag}-${k}`).sort();
}

/**
 * A client connection's handshake as the proxy logged it:
 * "Handshake successful with client 127.0.0.1:4242 (v5, Compression: lz4, v5 segments)".
 */
export interface ProxyHandshake {
  client: string;
  version: string;
  compression: string;
  segments: boolean;
}

/** The client handshakes in these proxy log lines. */
export function proxyHandshakes(lines: readonly string[]): ProxyHandshake[] {
  const out: ProxyHandshake[] = [];
  for (const line of lines) {
    const m = /Handshake successful with client (\S+) \(([^,]+), Compression: ([^,)]+)(, v5 segments)?\)/.exec(line);
    if (m) out.push({ client: m[1]!, version: m[2]!, compression: m[3]!.toLowerCase(), segments: m[4] !== undefined });
  }
  return out;
}

/** What one variant's run left: the client's report, its output for messages, and the proxy's log lines meanwhile. */
export interface VariantRun {
  result?: MatrixResult;
  output: string;
  proxyLog: readonly string[];
}

/** Runs a variant's client, recording the proxy's log lines written meanwhile. */
export async function runVariant(
  stack: Stack | undefined,
  fn: (s: Stack) => Promise<{ result?: MatrixResult; output: string }>,
  notRun: string,
): Promise<VariantRun> {
  if (!stack) return { output: notRun, proxyLog: [] };
  const from = stack.proxy.logs.length;
  const r = await fn(stack);
  return { ...r, proxyLog: stack.proxy.logs.slice(from) };
}

/** The `it`s of one variant: `run` gives the client's run once it finished. */
export function scenarioTests(stack: () => Stack | undefined, v: Variant, run: () => VariantRun): void {
  const get = (): { s: Stack; r: MatrixResult; output: string } => {
    const s = stack();
    const { result, output } = run();
    assert.ok(s, 'the stack (keyspace, fixtures, proxy) was not set up');
    assert.ok(result, `the client reported no result:\n${output}`);
    return { s, r: result, output };
  };
  const expectedSteps = ALL_STEPS.filter((x) => !v.skipSteps?.includes(x));

  it('connects through the proxy and completes every step', () => {
    const { r, output } = get();
    assert.equal(r.error, undefined, `the client failed: ${r.error}\n${output}`);
    assert.deepEqual(r.steps, expectedSteps, output);
  });

  it(`the client negotiated protocol v${v.expectVersion}${v.reportsCompression === false ? '' : ` and compression ${v.expectCompression ?? 'none'}`}`, () => {
    const { r, output } = get();
    assert.equal(r.protocol_version, v.expectVersion, `negotiated version\n${output}`);
    if (v.reportsCompression !== false) assert.equal(r.compression ?? null, v.expectCompression, `compression\n${output}`);
  });

  const framing = v.expectVersion >= 5 ? 'v5 segments' : 'frames';
  it(`the proxy logged every client handshake at v${v.expectVersion}, compression ${v.expectCompression ?? 'none'}, ${framing}`, () => {
    const { output } = get();
    const seen = proxyHandshakes(run().proxyLog);
    assert.ok(seen.length > 0, `no client handshake in the proxy log\n${output}`);
    const want = `v${v.expectVersion}/${v.expectCompression ?? 'none'}/${framing}`;
    assert.deepEqual(
      [...new Set(seen.map((h) => `${h.version}/${h.compression}/${h.segments ? 'v5 segments' : 'frames'}`))],
      [want],
      JSON.stringify(seen),
    );
  });

  it('DDL, simple, prepared, batched and USE-relative writes land on both clusters', async () => {
    const { s, r, output } = get();
    assert.ok(r.steps.includes('use'), `the client did not get through its writes:\n${output}`);
    const expected = expectedRows(v.tag, v.keys);
    for (const [c, name] of [
      [s.origin, 'Origin'],
      [s.target, 'Target'],
    ] as const) {
      const rs = await c.execute(`SELECT k, v FROM ${s.ks}.kv_${v.tag}`);
      assert.deepEqual(rs.rows.map((row) => `${row['k']}=${row['v']}`).sort(), expected, `rows of kv_${v.tag} on ${name}`);
    }
  });

  it("reads (simple, prepared, after USE) return the primary's (Origin's) value", () => {
    const { r, output } = get();
    assert.deepEqual(r.read_simple, ['from-origin'], `simple read\n${output}`);
    if (!v.skipSteps?.includes('prepared read')) assert.deepEqual(r.read_prepared, ['from-origin'], `prepared read\n${output}`);
    assert.deepEqual(r.read_use, ['from-origin'], `read after USE\n${output}`);
  });

  it(`reads all ${PAGED_ROWS} rows from Origin, page by page (page size ${v.pageSize})`, () => {
    const { r, output } = get();
    assert.ok(r.paged, `no paged read\n${output}`);
    assert.equal(r.paged.page_size, v.pageSize, 'page size used');
    assert.equal(r.paged.rows, PAGED_ROWS, `rows read\n${output}`);
    assert.equal(r.paged.distinct, PAGED_ROWS, 'distinct keys read');
    if (r.paged.pages !== undefined) {
      // Cassandra may end a scan whose last page is exactly full with one more, empty, page.
      const min = Math.ceil(PAGED_ROWS / v.pageSize);
      assert.ok(r.paged.pages >= min && r.paged.pages <= min + 1, `pages: ${r.paged.pages}, expected ${min} or ${min + 1}`);
    }
  });

  it("a table on one cluster only: the client gets the other cluster's own error; the row lands where the table is", async () => {
    const { s, r, output } = get();
    assert.ok(r.error_origin_only?.error, `no error for the Origin-only table\n${output}`);
    assert.ok(r.error_target_only?.error, `no error for the Target-only table\n${output}`);
    assert.match(s.targetErrorOnOriginOnly, /on_origin/, "sanity: Target's own error names the table");
    assert.ok(
      r.error_origin_only.message?.includes(s.targetErrorOnOriginOnly),
      `Origin-only table: expected Target's error '${s.targetErrorOnOriginOnly}', got '${r.error_origin_only.message}'`,
    );
    assert.ok(
      r.error_target_only.message?.includes(s.originErrorOnTargetOnly),
      `Target-only table: expected Origin's error '${s.originErrorOnTargetOnly}', got '${r.error_target_only.message}'`,
    );
    const onOrigin = await s.origin.execute(`SELECT v FROM ${s.ks}.on_origin WHERE k = ?`, [v.tag], { prepare: true });
    assert.deepEqual(
      onOrigin.rows.map((row) => row['v']),
      [v.tag],
      'the write reached Origin',
    );
    const onTarget = await s.target.execute(`SELECT v FROM ${s.ks}.on_target WHERE k = ?`, [v.tag], { prepare: true });
    assert.deepEqual(
      onTarget.rows.map((row) => row['v']),
      [v.tag],
      'the write reached Target',
    );
  });

  if (v.reportsHosts === false) return;
  it('the client sees only the proxy, in a cluster named as Origin', () => {
    const { s, r, output } = get();
    assert.deepEqual(r.hosts, [s.proxy.contactPoint], `hosts\n${output}`);
    if (r.cluster_name !== undefined) assert.equal(r.cluster_name, 'origin');
  });
}
