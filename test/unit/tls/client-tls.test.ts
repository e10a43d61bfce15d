// Client-facing TLS (upstream-spec-notes 7.1) with fake clusters: the listener speaks TLS only, client certificates are
// required and verified with proxy_tls_require_client_auth, SIGHUP (reloadTls) rotates the certificate for
// new connections while open ones keep working, a bad new file keeps the old material, and bad files stop
// the startup with a message naming the setting and the file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import pino from 'pino';
import { Writable } from 'node:stream';
import { Opcode } from '../../../src/protocol/constants';
import { ProtocolVersion } from '../../../src/protocol/constants';
import { encodeFrame } from '../../../src/protocol/frame-codec';
import { loadConfig } from '../../../src/config/load';
import { startProxy } from '../../../src/proxy';
import { TlsFileError, readKeyPair, readCertificates, readPrivateKey } from '../../../src/tls/files';
import { ProxyTlsMaterial } from '../../../src/tls/server';
import { FakeServer } from '../../support/fake-server';
import { certDir, makeCa, type KeyPairFiles, type TestCa } from '../../support/certs';
import { waitFor } from '../../support/wait';
import { TestClient, proxyEnv, startHarness, type Harness } from '../frontend/harness';

function capture(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const out = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) });
  return { logger: pino({ level: 'info' }, out), lines };
}

/** STARTUP over TLS: 'READY', or the reason the connection failed. */
async function tryStartup(port: number, opts: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ...opts });
    const done = (v: string): void => {
      s.destroy();
      resolve(v);
    };
    s.once('error', (e) => done(`error: ${e.message}`));
    s.once('close', () => done('closed'));
    s.once('secureConnect', () => {
      const f = encodeFrame({
        version: ProtocolVersion.V4,
        isResponse: false,
        streamId: 1,
        flags: 0,
        message: { opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0' } },
      });
      s.write(f.bytes);
    });
    s.on('data', (b: Buffer) => done(b[4] === Opcode.READY ? 'READY' : `opcode ${b[4]}`));
  });
}

describe('client-facing TLS (fake clusters)', () => {
  const dir = certDir();
  let ca: TestCa;
  let otherCa: TestCa;
  let server: KeyPairFiles;
  let client: KeyPairFiles;
  let stranger: KeyPairFiles;
  let h: Harness;
  const { logger, lines } = capture();

  before(async () => {
    ca = makeCa(join(dir, 'ca'), 'proxy-ca');
    otherCa = makeCa(join(dir, 'other'), 'other-ca');
    server = ca.issue('proxy');
    client = ca.issue('app', { clientOnly: true });
    stranger = otherCa.issue('stranger', { clientOnly: true });
    // the proxy reads its files from paths we can overwrite later (rotation)
    copyFileSync(server.cert, join(dir, 'live.pem'));
    copyFileSync(server.key, join(dir, 'live.key'));
    h = await startHarness(
      {
        ZDM_PROXY_TLS_CA_PATH: ca.cert,
        ZDM_PROXY_TLS_CERT_PATH: join(dir, 'live.pem'),
        ZDM_PROXY_TLS_KEY_PATH: join(dir, 'live.key'),
        ZDM_PROXY_TLS_REQUIRE_CLIENT_AUTH: 'true',
      },
      {},
      { logger },
    );
  });
  after(async () => h?.close());

  const good = (): tls.ConnectionOptions => ({
    ca: readFileSync(ca.cert),
    cert: readFileSync(client.cert),
    key: readFileSync(client.key),
  });

  it('a client with a certificate from the CA gets READY over TLS', async () => {
    assert.equal(await tryStartup(h.proxy.port, good()), 'READY');
  });

  it('no client certificate, or one from another CA, is refused; plain TCP gets no CQL reply', async () => {
    const none = await tryStartup(h.proxy.port, { ca: readFileSync(ca.cert) });
    assert.notEqual(none, 'READY');
    assert.match(none, /certificate required|closed|socket hang up|ECONNRESET/i);
    const other = await tryStartup(h.proxy.port, {
      ca: readFileSync(ca.cert),
      cert: readFileSync(stranger.cert),
      key: readFileSync(stranger.key),
    });
    assert.notEqual(other, 'READY');
    assert.match(other, /unknown ca|closed|ECONNRESET/i);
    await waitFor('the refused handshakes are logged', () =>
      lines.some((l) => /TLS handshake with client 127\.0\.0\.1:\d+ failed: .*peer did not return a certificate/.test(l)),
    );
    // plain TCP: a STARTUP frame is not CQL to a TLS listener; the proxy never answers READY
    const plain = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: h.proxy.port });
      s.on('data', (b) => (s.destroy(), resolve(b[4] === Opcode.READY ? 'READY' : 'not CQL')));
      s.on('close', () => resolve('closed'));
      s.on('error', () => undefined);
      s.write(
        encodeFrame({
          version: ProtocolVersion.V4,
          isResponse: false,
          streamId: 1,
          flags: 0,
          message: { opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0' } },
        }).bytes,
      );
    });
    assert.notEqual(plain, 'READY');
  });

  it('reloadTls (SIGHUP) serves the new certificate to new connections; an open connection keeps working; a bad file keeps the old one', async () => {
    const old = await TestClient.ready(h.proxy.port, ProtocolVersion.V4, good());
    const fingerprint = (c: TestClient): string => (c.socket as tls.TLSSocket).getPeerX509Certificate()!.fingerprint256;
    const first = fingerprint(old);
    assert.equal(first, new X509Certificate(readFileSync(server.cert)).fingerprint256);

    const rotated = ca.issue('proxy2');
    copyFileSync(rotated.cert, join(dir, 'live.pem'));
    copyFileSync(rotated.key, join(dir, 'live.key'));
    assert.equal(h.proxy.reloadTls(), true);
    assert.ok(
      lines.some((l) =>
        /Reloaded client-facing TLS certificates for new connections: changed proxy_tls_cert_path=.*live\.pem, proxy_tls_key_path=.*live\.key; unchanged proxy_tls_ca_path=/.test(
          l,
        ),
      ),
    );
    const fresh = await TestClient.ready(h.proxy.port, ProtocolVersion.V4, good());
    assert.equal(fingerprint(fresh), new X509Certificate(readFileSync(rotated.cert)).fingerprint256);
    assert.equal(
      (await old.query('SELECT * FROM ks.t')).opcode,
      Opcode.RESULT,
      'the connection opened before the rotation still works',
    );

    // a certificate whose key is not in the key file: the reload is refused, the rotated material stays
    copyFileSync(server.cert, join(dir, 'live.pem'));
    assert.equal(h.proxy.reloadTls(), false);
    assert.ok(
      lines.some((l) =>
        /Kept the current client-facing TLS certificates: reload failed: proxy_tls_key_path: the key in .*live\.key does not match the certificate in .*live\.pem/.test(
          l,
        ),
      ),
    );
    const third = await TestClient.ready(h.proxy.port, ProtocolVersion.V4, good());
    assert.equal(fingerprint(third), new X509Certificate(readFileSync(rotated.cert)).fingerprint256);
    for (const c of [old, fresh, third]) c.close();
    assert.ok(!lines.some((l) => l.includes('PRIVATE KEY')), 'no key material in the log');
  });
});

describe('TLS files: clear errors, read once', () => {
  const dir = certDir();
  const ca = makeCa(join(dir, 'ca'));
  const a = ca.issue('a');
  const b = ca.issue('b');

  it('missing, not PEM, encrypted and mismatched files are named with their setting', () => {
    assert.throws(
      () => readCertificates('proxy_tls_ca_path', join(dir, 'nope.pem')),
      (e: Error) =>
        e instanceof TlsFileError &&
        /^proxy_tls_ca_path: cannot read the certificate file .*nope\.pem: no such file$/.test(e.message),
    );
    writeFileSync(join(dir, 'junk.pem'), 'hello');
    assert.throws(
      () => readCertificates('proxy_tls_ca_path', join(dir, 'junk.pem')),
      /proxy_tls_ca_path: .*junk\.pem holds no PEM certificate/,
    );
    assert.throws(
      () => readPrivateKey('proxy_tls_key_path', join(dir, 'junk.pem')),
      /proxy_tls_key_path: .*junk\.pem: not a PEM private key/,
    );
    assert.throws(
      () => readKeyPair('proxy_tls_cert_path', a.cert, 'proxy_tls_key_path', b.key),
      (e: Error) =>
        /proxy_tls_key_path: the key in .*b\.key does not match the certificate in .*a\.pem \(proxy_tls_cert_path\)/.test(
          e.message,
        ) && !e.message.includes('PRIVATE'),
    );
    const { privateKey } = require('node:crypto').generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) as {
      privateKey: import('node:crypto').KeyObject;
    };
    writeFileSync(
      join(dir, 'enc.key'),
      privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret-pass' }),
    );
    assert.throws(
      () => readPrivateKey('proxy_tls_key_path', join(dir, 'enc.key')),
      (e: Error) => /the key is encrypted/.test(e.message) && !e.message.includes('secret-pass'),
    );
  });

  it('the startup stops with that message before connecting anywhere', async () => {
    const origin = await FakeServer.start({});
    const target = await FakeServer.start({});
    try {
      const config = loadConfig({
        env: proxyEnv(origin, target, {
          ZDM_PROXY_TLS_CA_PATH: ca.cert,
          ZDM_PROXY_TLS_CERT_PATH: a.cert,
          ZDM_PROXY_TLS_KEY_PATH: b.key,
        }),
      });
      await assert.rejects(
        startProxy(config, { logger: pino({ level: 'silent' }), startTimeoutMs: 2000 }),
        /proxy_tls_key_path: the key in .* does not match/,
      );
      assert.equal(origin.received.length + target.received.length, 0);
    } finally {
      await origin.stop();
      await target.stop();
    }
  });

  it('the files are read once: deleting them after the start changes nothing until a reload', () => {
    copyFileSync(a.cert, join(dir, 'x.pem'));
    copyFileSync(a.key, join(dir, 'x.key'));
    const m = new ProxyTlsMaterial({
      enabled: true,
      caPath: ca.cert,
      certPath: join(dir, 'x.pem'),
      keyPath: join(dir, 'x.key'),
      requireClientAuth: false,
      logMessage: '',
    });
    writeFileSync(join(dir, 'x.key'), '');
    assert.ok(m.serverOptions().key);
    const r = m.reload();
    assert.equal(r.ok, false);
    assert.match(r.message, /proxy_tls_key_path: .*x\.key: not a PEM private key/);
  });
});
