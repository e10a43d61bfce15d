// End to end: the proxy CLI (`node dist/src/cli.js`) refuses bad configuration values, exits non-zero
// and names the offending setting (upstream-spec-notes 1.1-1.4). One case per kind of error. The unit-level
// checks of every message live with the config module; this file checks the real process.
// Control cases: a valid configuration (env, then YAML) starts the CLI, which serves a driver and
// exits 0 on SIGTERM (upstream-spec-notes 2.9).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createKeyspace, dropKeyspace, ensureClusters, withSession, uniqueKeyspaceName } from '../../support/clusters';
import { baseSettings, proxyClient, runCli, settingsEnv, startTestProxy, type SettingValue } from '../../support/proxy';

/** A valid env-mode configuration (never started: every case breaks one thing). */
function env(overrides: Record<string, SettingValue | undefined> = {}, remove: string[] = []): Record<string, string> {
  const s: Record<string, SettingValue | undefined> = { ...baseSettings(), proxy_listen_port: 1, metrics_port: 1, ...overrides };
  for (const k of remove) delete s[k];
  return settingsEnv(s);
}

interface Case {
  name: string;
  args?: string[];
  env: Record<string, string>;
  /** What the error output must contain (the setting's name, in env or YAML form). */
  mentions: (string | RegExp)[];
}

describe('proxy CLI: bad configuration exits non-zero and names the setting', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'zdm-config-errors-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: Case[] = [
    { name: 'bad enum (primary_cluster)', env: env({ primary_cluster: 'SIDEWAYS' }), mentions: ['ZDM_PRIMARY_CLUSTER'] },
    { name: 'bad enum (read_mode)', env: env({ read_mode: 'BOTH' }), mentions: ['ZDM_READ_MODE'] },
    {
      name: 'bad int (proxy_listen_port)',
      env: env({ proxy_listen_port: 'fourteen' }),
      mentions: ['ZDM_PROXY_LISTEN_PORT', 'fourteen'],
    },
    {
      name: 'bad bool (forward_client_credentials_to_origin)',
      env: env({ forward_client_credentials_to_origin: 'maybe' }),
      mentions: ['ZDM_FORWARD_CLIENT_CREDENTIALS_TO_ORIGIN', 'maybe'],
    },
    { name: 'missing required (origin_username)', env: env({}, ['origin_username']), mentions: ['ZDM_ORIGIN_USERNAME'] },
    {
      name: 'contact points and secure connect bundle are mutually exclusive',
      env: env({ origin_secure_connect_bundle_path: '/nonexistent/scb.zip' }),
      mentions: [
        /mutually exclusive/,
        /ZDM_ORIGIN_SECURE_CONNECT_BUNDLE_PATH|OriginSecureConnectBundlePath/,
        /ZDM_ORIGIN_CONTACT_POINTS|OriginContactPoints/,
      ],
    },
    {
      name: 'topology index out of range',
      env: env({ proxy_topology_addresses: '127.0.0.1,127.0.0.2,127.0.0.3', proxy_topology_index: 3 }),
      mentions: ['ZDM_PROXY_TOPOLOGY_INDEX'],
    },
    {
      name: 'bad latency bucket list',
      env: env({ metrics_origin_latency_buckets_ms: '1, 5, ten' }),
      mentions: [/origin buckets/, /ZDM_METRICS_ORIGIN_LATENCY_BUCKETS_MS|ten/],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await runCli(c.args ?? [], c.env);
      const out = `${r.stdout}\n${r.stderr}`;
      assert.notEqual(r.code, 0, `exit code should be non-zero; output:\n${out}`);
      assert.notEqual(r.code, null, `the CLI did not exit by itself (signal ${r.signal}); output:\n${out}`);
      assert.match(out, /Error loading configuration/, out);
      for (const m of c.mentions) {
        if (typeof m === 'string') assert.ok(out.includes(m), `output should mention ${m}:\n${out}`);
        else assert.match(out, m);
      }
      assert.doesNotMatch(out, /\n\s+at .+\(.*\.js:\d+:\d+\)/, `no stack trace expected:\n${out}`);
    });
  }

  it('missing YAML file (--config)', async () => {
    const path = join(dir, 'does-not-exist.yml');
    const r = await runCli(['--config', path], {});
    const out = `${r.stdout}\n${r.stderr}`;
    assert.notEqual(r.code, 0, out);
    assert.notEqual(r.code, null, out);
    assert.match(out, /could not read configuration file/, out);
    assert.ok(out.includes(path), `output should name the file:\n${out}`);
  });

  it('bad YAML value type (proxy_listen_port: a string)', async () => {
    const path = join(dir, 'bad-type.yml');
    writeFileSync(
      path,
      [
        'origin_contact_points: 127.0.0.1',
        'target_contact_points: 127.0.0.2',
        'origin_username: cassandra',
        'origin_password: cassandra',
        'target_username: cassandra',
        'target_password: cassandra',
        'proxy_listen_port: not-a-port',
        '',
      ].join('\n'),
    );
    // YAML mode ignores ZDM_* variables completely: a valid env must not rescue the file.
    const r = await runCli(['--config', path], env());
    const out = `${r.stdout}\n${r.stderr}`;
    assert.notEqual(r.code, 0, out);
    assert.notEqual(r.code, null, out);
    assert.match(out, /could not parse yaml file/, out);
    assert.match(out, /proxy_listen_port/, out);
    assert.match(out, /not-a-port/, out);
  });

  it('bad YAML list setting (blocked_protocol_versions)', async () => {
    const path = join(dir, 'bad-blocked.yml');
    writeFileSync(
      path,
      ['origin_contact_points: 127.0.0.1', 'target_contact_points: 127.0.0.2', 'blocked_protocol_versions: "v4, v9"', ''].join(
        '\n',
      ),
    );
    const r = await runCli(['--config', path], {});
    const out = `${r.stdout}\n${r.stderr}`;
    assert.notEqual(r.code, 0, out);
    assert.notEqual(r.code, null, out);
    assert.match(out, /blocked_protocol_versions|BLOCKED_PROTOCOL_VERSIONS/i, out);
    assert.match(out, /v9/, out);
  });
});

describe('proxy CLI: a valid configuration starts and serves', () => {
  const ks = uniqueKeyspaceName('proxy_cli');
  before(async () => {
    await ensureClusters();
    await createKeyspace(ks);
    for (const n of ['origin', 'target'] as const) {
      await withSession(n, async (c) => {
        await c.execute(`CREATE TABLE ${ks}.kv (k text PRIMARY KEY, v text)`);
        await c.execute(`INSERT INTO ${ks}.kv (k, v) VALUES ('k', 'from-${n}')`);
      });
    }
  });
  after(() => dropKeyspace(ks).catch(() => undefined));

  for (const via of ['env', 'yaml'] as const) {
    it(`configured through ${via === 'env' ? 'ZDM_* variables' : 'a YAML file (--config)'}: serves a driver, exits 0 on SIGTERM`, async () => {
      const proxy = await startTestProxy({ mode: 'cli', configVia: via, settings: { primary_cluster: 'TARGET' } });
      try {
        const client = await proxyClient({ proxy });
        try {
          const local = (await client.execute('SELECT cluster_name, rpc_address FROM system.local')).first();
          assert.equal(local['cluster_name'], 'origin', 'virtual system.local is fed by Origin (system_queries_mode)');
          assert.equal(String(local['rpc_address']), proxy.host);
          // primary_cluster=TARGET from this configuration: a non-system read is served by Target.
          const rs = await client.execute(`SELECT v FROM ${ks}.kv WHERE k = 'k'`);
          assert.deepEqual(
            rs.rows.map((r) => r['v']),
            ['from-target'],
          );
          const schema = await client.execute('SELECT keyspace_name FROM system_schema.keyspaces');
          assert.ok(
            schema.rows.some((r) => r['keyspace_name'] === 'system'),
            'a forwarded system_schema read works',
          );
        } finally {
          await client.shutdown();
        }
      } finally {
        await proxy.stop();
      }
      assert.equal(
        proxy.child?.signalCode,
        null,
        `the CLI should exit by itself on SIGTERM; output:\n${proxy.logs.slice(-20).join('\n')}`,
      );
      assert.equal(proxy.child?.exitCode, 0, `exit code; output:\n${proxy.logs.slice(-20).join('\n')}`);
    });
  }
});
