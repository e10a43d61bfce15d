// Astra secure connect bundle end to end (upstream-spec-notes 7.3) with a local stand-in for Astra in front of the real Target:
// an HTTPS metadata service (mutual TLS, Astra's JSON shape) and an SNI-routing TLS endpoint (mutual TLS) that
// sends a connection whose SNI is Target's host id to the Target node. The proxy reads the bundle (zip:
// config.json, ca.crt, cert, key), asks the metadata service for the SNI proxy, contact points and local DC,
// connects through the SNI proxy with SNI = host id, and a driver writes through it to both clusters.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tls from 'node:tls';
import type { Client } from 'cassandra-driver';
import {
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  nodeState,
  originSession,
  targetSession,
  TARGET,
  tlsCaFile,
  tlsClientFiles,
  uniqueKeyspaceName,
  connectedClient,
} from '../../support/clusters';
import { proxyClientOptions, startTestProxy, type TestProxy } from '../../support/proxy';
import { certDir, makeCa } from '../../support/certs';
import { startMetadataService, startSniProxy, writeZip, type MetadataService, type SniProxy } from '../../support/astra';

describe('Astra secure connect bundle for Target (local metadata service and SNI proxy, real clusters)', () => {
  const ks = uniqueKeyspaceName('astra');
  const dir = certDir();
  let svc: MetadataService | undefined;
  let sni: SniProxy | undefined;
  let proxy: TestProxy | undefined;
  let client: Client | undefined;
  let hostId = '';
  let bundle = '';

  before(async () => {
    await ensureClusters();
    await createKeyspace(ks);
    for (const open of [originSession, targetSession]) {
      const c = await open({ timeoutMs: 20_000 });
      try {
        await c.execute(`CREATE TABLE ${ks}.kv (k int PRIMARY KEY, v text)`);
        if (open === targetSession) hostId = String((await c.execute('SELECT host_id FROM system.local')).rows[0]!['host_id']);
      } finally {
        await c.shutdown();
      }
    }
    const ca = makeCa(join(dir, 'ca'), 'astra-ca');
    const server = ca.issue('astra-server', { san: 'IP:127.0.0.1,DNS:localhost' });
    const proxyCert = ca.issue('proxy-client', { clientOnly: true });
    const files = { ca: ca.cert, cert: server.cert, key: server.key };
    // the SNI endpoint reaches Target the way Target currently runs (plain, TLS or mutual TLS)
    const opts = (await nodeState('target')).options;
    let upstream: tls.ConnectionOptions | undefined;
    if (opts.tls) {
      upstream = { ca: readFileSync(await tlsCaFile()), checkServerIdentity: () => undefined };
      if (opts.clientAuth) {
        const c = await tlsClientFiles();
        upstream = { ...upstream, cert: readFileSync(c.cert), key: readFileSync(c.key) };
      }
    }
    sni = await startSniProxy(files, { [hostId]: { host: TARGET.host, port: TARGET.port, tls: upstream } });
    svc = await startMetadataService(files);
    svc.metadata.contact_info = {
      type: 'sni_proxy',
      local_dc: 'datacenter1',
      sni_proxy_address: `127.0.0.1:${sni.port}`,
      contact_points: [hostId],
    };
    bundle = join(dir, 'secure-connect-test.zip');
    writeZip(bundle, {
      'config.json': JSON.stringify({ host: '127.0.0.1', port: svc.port, keyspace: 'ignored' }),
      'ca.crt': readFileSync(ca.cert),
      cert: readFileSync(proxyCert.cert),
      key: readFileSync(proxyCert.key),
      cqlshrc: '[connection]\n', // other entries are ignored
    });
    proxy = await startTestProxy({
      logLevel: 'info',
      settings: { target_contact_points: undefined, target_port: undefined, target_secure_connect_bundle_path: bundle },
    });
    client = await connectedClient(proxyClientOptions({ proxy, timeoutMs: 15_000 }));
  });

  after(async () => {
    await client?.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await sni?.close();
    await svc?.close();
    await dropKeyspace(ks).catch(() => undefined);
  });

  it('the proxy got the metadata and connects through the SNI proxy with the host id as SNI', () => {
    assert.ok(svc!.calls >= 1, 'the metadata service was called');
    assert.ok(sni!.servernames.length >= 2, 'control and client connections went through the SNI proxy');
    assert.ok(
      sni!.servernames.every((n) => n === hostId),
      `SNI names: ${sni!.servernames.join(', ')}`,
    );
    const logs = proxy!.logs.join('\n');
    assert.match(logs, /Mutual TLS configured for Target using an Astra secure connect bundle/);
    assert.ok(
      logs.includes(`TARGET: Astra metadata: SNI proxy 127.0.0.1:${sni!.port}, contact points [${hostId}], local DC datacenter1`),
    );
  });

  it('a driver writes through the proxy to Origin and to Target (via the bundle); reads come from Origin', async () => {
    await client!.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, [1, 'via-bundle'], { prepare: true });
    for (const open of [originSession, targetSession]) {
      const c = await open({ timeoutMs: 20_000 });
      try {
        assert.deepEqual(
          (await c.execute(`SELECT v FROM ${ks}.kv WHERE k = 1`)).rows.map((r) => r['v']),
          ['via-bundle'],
        );
        if (open === originSession) await c.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (2, 'origin-only')`);
      } finally {
        await c.shutdown();
      }
    }
    assert.deepEqual(
      (await client!.execute(`SELECT v FROM ${ks}.kv WHERE k = 2`)).rows.map((r) => r['v']),
      ['origin-only'],
    );
  });

  it("a bundle without config.json, or with contact points also set, stops the startup with upstream's message", async () => {
    const bad = join(dir, 'bad.zip');
    writeZip(bad, { 'ca.crt': 'x' });
    await assert.rejects(
      startTestProxy({
        settings: { target_contact_points: undefined, target_secure_connect_bundle_path: bad },
        startTimeoutMs: 3000,
      }),
      /target_secure_connect_bundle_path: missing config.json from secure connect bundle/,
    );
    await assert.rejects(
      startTestProxy({ settings: { target_secure_connect_bundle_path: bundle }, startTimeoutMs: 3000 }),
      /TargetSecureConnectBundlePath and TargetContactPoints are mutually exclusive/,
    );
  });
});
