// Secure connect bundle parsing (upstream-spec-notes 7.3 item 1) and the metadata answer (item 3), without a network.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readZip } from '../../../src/tls/zip';
import { parseAstraMetadata, readSecureConnectBundle } from '../../../src/tls/secure-connect-bundle';
import { writeZip } from '../../support/astra';
import { certDir, makeCa } from '../../support/certs';

describe('secure connect bundles', () => {
  const dir = certDir();
  const ca = makeCa(join(dir, 'ca'));
  const c = ca.issue('client', { clientOnly: true });
  const other = ca.issue('other');
  const S = 'target_secure_connect_bundle_path';
  const zip = (name: string, files: Record<string, Buffer | string>): string => {
    const p = join(dir, name);
    writeZip(p, files);
    return p;
  };
  const good = { 'ca.crt': readFileSync(ca.cert), cert: readFileSync(c.cert), key: readFileSync(c.key) };

  it('reads config.json (any JSON type turned into text), ca.crt, cert and key; inflated entries are checked', () => {
    const b = readSecureConnectBundle(
      S,
      zip('ok.zip', { 'config.json': JSON.stringify({ host: 'db.example', port: 29080 }), ...good }),
    );
    assert.equal(b.host, 'db.example');
    assert.equal(b.port, '29080');
    assert.deepEqual(b.ca, good['ca.crt']);
    const entries = readZip(readFileSync(join(dir, 'ok.zip')));
    assert.deepEqual([...entries.keys()].sort(), ['ca.crt', 'cert', 'config.json', 'key']);
  });

  it("upstream's messages for a missing config.json, a missing or empty host/port; clear ones for the rest", () => {
    assert.throws(
      () => readSecureConnectBundle(S, zip('a.zip', good)),
      /target_secure_connect_bundle_path: missing config.json from secure connect bundle/,
    );
    assert.throws(
      () => readSecureConnectBundle(S, zip('b.zip', { 'config.json': '{"port":1}', ...good })),
      /host could not be found in the secure connect bundle json configuration/,
    );
    assert.throws(
      () => readSecureConnectBundle(S, zip('c.zip', { 'config.json': '{"host":"","port":1}', ...good })),
      /incomplete metadata service contact information/,
    );
    assert.throws(
      () =>
        readSecureConnectBundle(
          S,
          zip('d.zip', {
            'config.json': '{"host":"h","port":1}',
            'ca.crt': good['ca.crt'],
            cert: good.cert,
            key: readFileSync(other.key),
          }),
        ),
      /does not match the certificate/,
    );
    assert.throws(
      () => readSecureConnectBundle(S, join(dir, 'none.zip')),
      /cannot read the secure connect bundle .*none\.zip: no such file/,
    );
    writeFileSync(join(dir, 'junk.zip'), 'not a zip');
    assert.throws(() => readSecureConnectBundle(S, join(dir, 'junk.zip')), /junk\.zip is not a readable zip file/);
  });

  it("parses Astra's metadata JSON", () => {
    const m = parseAstraMetadata(
      JSON.stringify({
        version: 1,
        region: 'us-east1',
        contact_info: {
          type: 'sni_proxy',
          local_dc: 'dc1',
          sni_proxy_address: 'sni.example:29042',
          contact_points: ['id-1', 'id-2'],
        },
      }),
    );
    assert.deepEqual(m, { sniProxy: { host: 'sni.example', port: 29042 }, contactPoints: ['id-1', 'id-2'], localDc: 'dc1' });
    assert.throws(() => parseAstraMetadata('{"contact_info":{"contact_points":["a"]}}'), /sni_proxy_address/);
  });
});
