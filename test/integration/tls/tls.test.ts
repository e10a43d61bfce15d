// TLS end to end with real clusters (upstream-spec-notes 7.1, 7.2): Origin runs one-way TLS, Target mutual TLS (client
// certificates required, scripts/clusters.mjs --client-auth). The proxy listens with TLS and requires client
// certificates; the Node driver, the Python driver and cqlsh reach it over TLS; writes land on both clusters,
// reads come from Origin; clients without a certificate or with one from another CA are refused; SIGHUP
// rotates the proxy's certificate for new connections while open ones keep working; a node certificate that
// does not name the address the proxy dials is refused unless origin_tls_skip_hostname_verification=true.
// Both nodes are restarted once with TLS for this file (in parallel) and restored after it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Client } from 'cassandra-driver';
import {
  ORIGIN,
  TARGET,
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  nodeState,
  originSession,
  runCqlsh,
  setNodeOptions,
  targetSession,
  tlsCaFile,
  tlsClientFiles,
  uniqueKeyspaceName,
  connectedClient,
} from '../../support/clusters';
import { proxyClientOptions, runPython, startTestProxy, type TestProxy } from '../../support/proxy';
import { FaultRelay } from '../../support/fault-relay';
import { certDir, makeCa, type KeyPairFiles, type TestCa } from '../../support/certs';
import { waitFor } from '../../support/wait';

const PY_SCRIPT = String.raw`
import json, ssl, sys, logging
logging.basicConfig(level=logging.ERROR)
from cassandra.cluster import Cluster
from cassandra.auth import PlainTextAuthProvider
from cassandra.policies import DCAwareRoundRobinPolicy
host, port, ks, ca, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(ca)
ctx.load_cert_chain(cert, key)
cluster = Cluster(contact_points=[host], port=port, ssl_context=ctx, ssl_options={'server_hostname': host},
                  auth_provider=PlainTextAuthProvider(username='cassandra', password='cassandra'),
                  load_balancing_policy=DCAwareRoundRobinPolicy(local_dc='datacenter1'), connect_timeout=10, control_connection_timeout=10)
session = cluster.connect()
session.default_timeout = 20
session.execute("INSERT INTO %s.kv (k, v) VALUES ('python', 'over-tls')" % ks)
out = {'read': [r.v for r in session.execute("SELECT v FROM %s.kv WHERE k = 'both'" % ks)]}
cluster.shutdown()
print('RESULT ' + json.dumps(out))
`;

describe('TLS: clients -> proxy (mutual), proxy -> Origin (one-way) and Target (mutual), real clusters', () => {
  const ks = uniqueKeyspaceName('tls');
  const dir = certDir();
  let ca: TestCa;
  let app: KeyPairFiles;
  let stranger: KeyPairFiles;
  let nodeCa: string;
  let clusterClient: { ca: string; cert: string; key: string };
  let proxy: TestProxy | undefined;
  const clients: Client[] = [];

  /** TLS options of a proxy client; null = no client certificate */
  const clientTls = (pair: KeyPairFiles | null = app): tls.ConnectionOptions => ({
    ca: readFileSync(ca.cert),
    ...(pair ? { cert: readFileSync(pair.cert), key: readFileSync(pair.key) } : {}),
  });
  async function driver(pair: KeyPairFiles | null = app): Promise<Client> {
    const c = await connectedClient(proxyClientOptions({ proxy, timeoutMs: 15_000, extra: { sslOptions: clientTls(pair) } }));
    clients.push(c);
    return c;
  }
  async function onNode(open: typeof originSession, cql: string): Promise<string[]> {
    const c = await open({ timeoutMs: 20_000 });
    try {
      return (await c.execute(cql)).rows.map((r) => String(r['v']));
    } finally {
      await c.shutdown();
    }
  }
  /** the proxy's certificate as a new TLS client sees it */
  function servedFingerprint(): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: proxy!.host, port: proxy!.port, ...clientTls() }, () => {
        resolve(s.getPeerX509Certificate()!.fingerprint256);
        s.destroy();
      });
      s.once('error', reject);
    });
  }

  before(async () => {
    await ensureClusters();
    await setNodeOptions({ origin: { tls: true }, target: { tls: true, clientAuth: true } });
    nodeCa = await tlsCaFile();
    clusterClient = await tlsClientFiles();
    ca = makeCa(join(dir, 'ca'), 'proxy-ca');
    app = ca.issue('app', { clientOnly: true });
    stranger = makeCa(join(dir, 'other'), 'other-ca').issue('stranger', { clientOnly: true });
    const server = ca.issue('proxy');
    copyFileSync(server.cert, join(dir, 'live.pem'));
    copyFileSync(server.key, join(dir, 'live.key'));
    await createKeyspace(ks);
    for (const [open, v] of [
      [originSession, 'from-origin'],
      [targetSession, 'from-target'],
    ] as const) {
      const c = await open({ timeoutMs: 20_000 });
      try {
        await c.execute(`CREATE TABLE ${ks}.kv (k text PRIMARY KEY, v text)`);
        await c.execute(`INSERT INTO ${ks}.kv (k, v) VALUES ('both', '${v}')`);
      } finally {
        await c.shutdown();
      }
    }
    proxy = await startTestProxy({
      mode: 'cli', // SIGHUP goes to a real proxy process
      logLevel: 'info',
      settings: {
        proxy_tls_ca_path: ca.cert,
        proxy_tls_cert_path: join(dir, 'live.pem'),
        proxy_tls_key_path: join(dir, 'live.key'),
        proxy_tls_require_client_auth: true,
        origin_tls_server_ca_path: nodeCa,
        target_tls_server_ca_path: nodeCa,
        target_tls_client_cert_path: clusterClient.cert,
        target_tls_client_key_path: clusterClient.key,
      },
    });
  });

  after(async () => {
    for (const c of clients) await c.shutdown().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await dropKeyspace(ks).catch(() => undefined);
    await setNodeOptions({ origin: { tls: false }, target: { tls: false, clientAuth: false } });
  });

  it('the nodes really run TLS: Target refuses a client without a certificate', async () => {
    assert.equal((await nodeState('target')).options.clientAuth, true);
    const { Client: DriverClient, auth } = await import('cassandra-driver');
    const c = new DriverClient({
      contactPoints: [`${TARGET.host}:${TARGET.port}`],
      localDataCenter: 'datacenter1',
      protocolOptions: { port: TARGET.port },
      authProvider: new auth.PlainTextAuthProvider('cassandra', 'cassandra'),
      sslOptions: { ca: [readFileSync(nodeCa)] },
      socketOptions: { connectTimeout: 10_000 },
    });
    await assert.rejects(c.connect(), /All host\(s\) tried for query failed|certificate/i);
    await c.shutdown().catch(() => undefined);
  });

  it("the proxy logs each side's TLS mode, with hostname verification on", () => {
    const logs = proxy!.logs.join('\n');
    assert.match(
      logs,
      /One-way TLS configured for Origin\. Hostname verification is on \(origin_tls_skip_hostname_verification=true turns it off\)\./,
    );
    assert.match(logs, /Mutual TLS configured for Target\. Hostname verification is on/);
    assert.match(logs, /Proxy TLS configured\./);
    assert.doesNotMatch(logs, /PRIVATE KEY/);
  });

  it('Node driver over TLS with a client certificate: writes land on both clusters, reads come from Origin', async () => {
    const c = await driver();
    await c.execute(`INSERT INTO ${ks}.kv (k, v) VALUES (?, ?)`, ['node', 'over-tls'], { prepare: true });
    assert.deepEqual(await onNode(originSession, `SELECT v FROM ${ks}.kv WHERE k = 'node'`), ['over-tls']);
    assert.deepEqual(await onNode(targetSession, `SELECT v FROM ${ks}.kv WHERE k = 'node'`), ['over-tls']);
    const rs = await c.execute(`SELECT v FROM ${ks}.kv WHERE k = 'both'`);
    assert.deepEqual(
      rs.rows.map((r) => r['v']),
      ['from-origin'],
    );
  });

  it('Python driver over TLS with a client certificate', async () => {
    const r = await runPython(PY_SCRIPT, [proxy!.host, String(proxy!.port), ks, ca.cert, app.cert, app.key], {
      timeoutMs: 90_000,
    });
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, `python failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    assert.deepEqual(JSON.parse(line.slice(7)).read, ['from-origin']);
    assert.deepEqual(await onNode(originSession, `SELECT v FROM ${ks}.kv WHERE k = 'python'`), ['over-tls']);
    assert.deepEqual(await onNode(targetSession, `SELECT v FROM ${ks}.kv WHERE k = 'python'`), ['over-tls']);
  });

  it('cqlsh --ssl with a client certificate (cqlshrc)', async () => {
    const rc = join(dir, 'cqlshrc');
    writeFileSync(rc, `[ssl]\ncertfile = ${ca.cert}\nvalidate = true\nusercert = ${app.cert}\nuserkey = ${app.key}\n`);
    const saved = [process.env['ZDM_PROXY_HOST'], process.env['ZDM_PROXY_PORT']];
    process.env['ZDM_PROXY_HOST'] = proxy!.host;
    process.env['ZDM_PROXY_PORT'] = String(proxy!.port);
    try {
      const r = await runCqlsh(
        'proxy',
        [
          '--ssl',
          `--cqlshrc=${rc}`,
          '--connect-timeout=20',
          '--request-timeout=30',
          '-e',
          `INSERT INTO ${ks}.kv (k, v) VALUES ('cqlsh', 'over-tls'); SELECT v FROM ${ks}.kv WHERE k = 'both';`,
        ],
        { timeoutMs: 90_000 },
      );
      assert.equal(r.code, 0, `cqlsh failed:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /from-origin/);
    } finally {
      if (saved[0] === undefined) delete process.env['ZDM_PROXY_HOST'];
      else process.env['ZDM_PROXY_HOST'] = saved[0];
      if (saved[1] === undefined) delete process.env['ZDM_PROXY_PORT'];
      else process.env['ZDM_PROXY_PORT'] = saved[1];
    }
    assert.deepEqual(await onNode(targetSession, `SELECT v FROM ${ks}.kv WHERE k = 'cqlsh'`), ['over-tls']);
  });

  it('a driver without a client certificate, or with one from another CA, is refused', async () => {
    await assert.rejects(driver(null), /certificate required/i);
    await assert.rejects(driver(stranger), /All host\(s\) tried|unknown ca|socket|ECONNRESET/i);
    await waitFor('the refusals are logged', () => proxy!.logs.some((l) => /TLS handshake with .* failed/.test(l)));
  });

  it('SIGHUP rotates the proxy certificate for new connections; an open connection keeps working', async () => {
    const old = await driver();
    const served = await servedFingerprint();
    assert.equal(served, new X509Certificate(readFileSync(join(dir, 'live.pem'))).fingerprint256);
    const rotated = ca.issue('proxy-rotated');
    copyFileSync(rotated.cert, join(dir, 'live.pem'));
    copyFileSync(rotated.key, join(dir, 'live.key'));
    proxy!.child!.kill('SIGHUP');
    await waitFor('the reload is logged', () =>
      proxy!.logs.some((l) =>
        /Reloaded client-facing TLS certificates for new connections: changed proxy_tls_cert_path=/.test(l),
      ),
    );
    assert.equal(await servedFingerprint(), new X509Certificate(readFileSync(rotated.cert)).fingerprint256);
    await old.execute(`INSERT INTO ${ks}.kv (k, v) VALUES ('after-rotation', 'old-connection')`);
    const fresh = await driver();
    assert.deepEqual(
      (await fresh.execute(`SELECT v FROM ${ks}.kv WHERE k = 'after-rotation'`)).rows.map((r) => r['v']),
      ['old-connection'],
    );
  });

  it('a node certificate that does not name the dialled address is refused, and accepted with origin_tls_skip_hostname_verification=true', async () => {
    // a plain TCP relay on an address the node certificate does not name, in front of Origin's TLS port
    const relay = await FaultRelay.start({ target: { host: ORIGIN.host, port: ORIGIN.port }, host: '127.0.0.199' });
    const settings = {
      origin_contact_points: relay.host,
      origin_port: relay.port,
      origin_enable_host_assignment: false,
      origin_tls_server_ca_path: nodeCa,
      target_tls_server_ca_path: nodeCa,
      target_tls_client_cert_path: clusterClient.cert,
      target_tls_client_key_path: clusterClient.key,
    };
    try {
      await assert.rejects(startTestProxy({ settings, startTimeoutMs: 3000 }), (e: Error) =>
        /TLS hostname verification failed for ORIGIN node 127\.0\.0\.199: .*set origin_tls_skip_hostname_verification=true/.test(
          e.message,
        ),
      );
      const lenient = await startTestProxy({ settings: { ...settings, origin_tls_skip_hostname_verification: true } });
      try {
        const c = await connectedClient(proxyClientOptions({ proxy: lenient, timeoutMs: 15_000 }));
        try {
          await c.execute(`INSERT INTO ${ks}.kv (k, v) VALUES ('lenient', 'via-relay')`);
        } finally {
          await c.shutdown();
        }
      } finally {
        await lenient.stop();
      }
      assert.ok(relay.connectionsAccepted >= 2, 'control and client connections went through the relay');
      assert.deepEqual(await onNode(originSession, `SELECT v FROM ${ks}.kv WHERE k = 'lenient'`), ['via-relay']);
    } finally {
      await relay.stop();
    }
  });

  it('a proxy without the CA cannot reach the TLS port in plain text: the startup fails', async () => {
    await assert.rejects(
      startTestProxy({
        settings: {
          target_tls_server_ca_path: nodeCa,
          target_tls_client_cert_path: clusterClient.cert,
          target_tls_client_key_path: clusterClient.key,
        },
        startTimeoutMs: 3000,
      }),
    );
  });
});
