// gocql (github.com/apache/cassandra-gocql-driver/v2) through the proxy, with the Go program in
// test/gocql (its go.mod and go.sum pin the driver). gocql negotiates the protocol version itself: it
// opens with v5, which the proxy carries (segment framing after the handshake); a refusal would have to be a
// protocol error on stream 0 (upstream CASSGO-97); it is also strict about the handshake (STARTUP, AUTHENTICATE, AUTH_RESPONSE, READY).
// Checked: the negotiated version, simple/prepared/batched writes on both clusters, reads from Origin,
// and that gocql sees only the proxy. Needs the Go toolchain on PATH (CI machines have it).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'cassandra-driver';

import {
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  originSession,
  targetSession,
  uniqueKeyspaceName,
} from '../../support/clusters';
import { buildGocqlProgram } from '../../support/gocql';
import { describeProcess, runProcess, startTestProxy, type TestProxy } from '../../support/proxy';

const RUN_TIMEOUT_MS = 120_000;

interface GocqlResult {
  mode: string;
  protocol_version: number;
  rejected_versions: number[];
  frame_versions: number[];
  steps: string[];
  read?: string[];
  read_prepared?: string[];
  hosts: { address: string; host_id: string; data_center: string; cluster_name: string; tokens: number }[];
  error?: string;
  elapsed_ms: number;
  log?: string[];
}

describe('gocql through the proxy', () => {
  const ks = uniqueKeyspaceName('gocql');
  let origin: Client | undefined;
  let target: Client | undefined;
  let proxy: TestProxy | undefined;
  let tmp: string | undefined;
  let result: GocqlResult | undefined;
  let output = '';

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'zdm-gocql-'));
    let bin: string;
    try {
      const built = await buildGocqlProgram(tmp);
      bin = built.bin;
      console.log(`# gocql program built in ${built.ms} ms`);
    } catch (e) {
      output = (e as Error).message;
      return;
    }
    await ensureClusters();
    await createKeyspace(ks);
    [origin, target] = await Promise.all([originSession(), targetSession()]);
    for (const c of [origin, target]) await c.execute(`CREATE TABLE ${ks}.kv (k text PRIMARY KEY, v text)`);
    await origin.execute(`INSERT INTO ${ks}.kv (k, v) VALUES ('both', 'from-origin')`);
    await target.execute(`INSERT INTO ${ks}.kv (k, v) VALUES ('both', 'from-target')`);
    proxy = await startTestProxy();
    const r = await runProcess(bin, [proxy.contactPoint, ks, 'all'], { timeoutMs: RUN_TIMEOUT_MS });
    output = describeProcess('gocql program', r, proxy);
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (line) result = JSON.parse(line.slice('RESULT '.length)) as GocqlResult;
    if (r.code !== 0 && result && !result.error) result.error = `exit ${r.code}`;
  });
  after(async () => {
    await proxy?.stop().catch(() => undefined);
    await origin?.shutdown().catch(() => undefined);
    await target?.shutdown().catch(() => undefined);
    if (origin) await dropKeyspace(ks).catch(() => undefined);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the Go program builds, connects through the proxy and completes every step', () => {
    assert.ok(result, `the gocql program did not report a result:\n${output}`);
    assert.equal(result.error, undefined, `gocql failed: ${result.error}\n${output}`);
    assert.deepEqual(result.steps, [
      'connected',
      'simple write',
      'prepared write',
      'prepared update',
      'logged batch',
      'simple read',
      'prepared read',
    ]);
  });

  it('gocql negotiates protocol v5 (its first choice) and keeps it: the proxy carries v5 end to end', () => {
    assert.ok(result, output);
    assert.equal(result.protocol_version, 5, `negotiated version ${result.protocol_version}\n${output}`);
    assert.deepEqual(result.rejected_versions, [], `versions refused during negotiation\n${output}`);
    // Every frame gocql read, on every connection, was a v5 frame (in segments after the handshake).
    assert.deepEqual(result.frame_versions, [5], `response frame versions\n${output}`);
  });

  it('simple, prepared and batched writes land on both clusters', async () => {
    assert.ok(result, output);
    const expected = [
      'go-batch-prepared=batch-prepared-by-gocql',
      'go-batch-simple=batch-simple-by-gocql',
      'go-batch-update=batch-update-by-gocql',
      'go-prepared=prepared-by-gocql',
      'go-simple=simple-by-gocql',
      'go-update=updated-by-gocql',
    ];
    for (const [c, name] of [
      [origin!, 'origin'],
      [target!, 'target'],
    ] as const) {
      const rs = await c.execute(
        `SELECT k, v FROM ${ks}.kv WHERE k IN ` +
          `('go-simple', 'go-prepared', 'go-update', 'go-batch-simple', 'go-batch-prepared', 'go-batch-update')`,
      );
      assert.deepEqual(rs.rows.map((row) => `${row['k']}=${row['v']}`).sort(), expected, `rows on ${name}`);
    }
  });

  it("simple and prepared reads return Origin's value", () => {
    assert.ok(result, output);
    assert.deepEqual(result.read, ['from-origin'], 'simple read');
    assert.deepEqual(result.read_prepared, ['from-origin'], 'prepared read');
  });

  it('gocql sees only the proxy, as a node of the cluster named as Origin', () => {
    assert.ok(result, output);
    assert.deepEqual(
      result.hosts.map((h) => h.address),
      [proxy!.contactPoint],
      `hosts: ${JSON.stringify(result.hosts)}`,
    );
    const [h] = result.hosts;
    assert.equal(h!.cluster_name, 'origin');
    assert.equal(h!.data_center, 'datacenter1');
    assert.ok(h!.tokens > 0, `the proxy node has tokens (${h!.tokens})`);
  });
});
