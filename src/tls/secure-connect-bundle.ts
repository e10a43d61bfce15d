/**
 * Astra secure connect bundles (upstream-spec-notes 7.3): the zip (config.json with the metadata service's host and port,
 * ca.crt, cert, key) is read once; the metadata service is called over mutual TLS for the SNI proxy address,
 * the contact points (host ids) and the local DC; nodes are then reached through the SNI proxy over TLS with
 * SNI = host id, the server certificate checked against the bundle CA (plus the system store) and the SNI
 * proxy's host name.
 */
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import { readZip } from './zip';
import { parseCertificates, parsePrivateKey, checkKeyPair, TlsFileError } from './files';

export interface SecureConnectBundle {
  readonly path: string;
  readonly host: string;
  readonly port: string;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface AstraMetadata {
  readonly sniProxy: { host: string; port: number };
  /** host ids */
  readonly contactPoints: readonly string[];
  readonly localDc: string;
}

/** Reads and checks a bundle; `setting` names the configuration key in errors. */
export function readSecureConnectBundle(
  setting: string,
  path: string,
  warn: (m: string) => void = () => undefined,
): SecureConnectBundle {
  let zip: Buffer;
  try {
    zip = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TlsFileError(
      `${setting}: cannot read the secure connect bundle ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    );
  }
  let entries: Map<string, Buffer>;
  try {
    entries = readZip(zip, (name, why) => warn(`${setting}: skipping entry ${name} of ${path}: ${why}`));
  } catch (e) {
    throw new TlsFileError(`${setting}: ${path} is not a readable zip file: ${(e as Error).message}`);
  }
  const configJson = entries.get('config.json');
  if (!configJson) throw new TlsFileError(`${setting}: missing config.json from secure connect bundle ${path}`);
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(configJson.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new TlsFileError(`${setting}: config.json of ${path} is not valid JSON: ${(e as Error).message}`);
  }
  const field = (name: string): string => {
    if (!(name in cfg) || cfg[name] === null)
      throw new TlsFileError(`${setting}: ${name} could not be found in the secure connect bundle json configuration`);
    return String(cfg[name]);
  };
  const host = field('host');
  const port = field('port');
  if (host === '' || port === '') {
    throw new TlsFileError(`${setting}: incomplete metadata service contact information. hostname: ${host}, port: ${port}`);
  }
  const need = (name: string): Buffer => {
    const b = entries.get(name);
    if (!b) throw new TlsFileError(`${setting}: missing ${name} from secure connect bundle ${path}`);
    return b;
  };
  const ca = parseCertificates(`${setting} (ca.crt)`, path, need('ca.crt'));
  const cert = parseCertificates(`${setting} (cert)`, path, need('cert'));
  const key = parsePrivateKey(`${setting} (key)`, path, need('key'));
  checkKeyPair(`${setting} (cert)`, `${path}:cert`, cert, `${setting} (key)`, `${path}:key`, key);
  return { path, host, port, ca: ca.pem, cert: cert.pem, key: key.pem };
}

function trust(b: SecureConnectBundle): (string | Buffer)[] {
  return [...tls.rootCertificates, b.ca];
}

/** GET https://<host>:<port>/metadata over mutual TLS (30 s timeout), parsed (Astra's JSON shape). */
export function fetchAstraMetadata(b: SecureConnectBundle, timeoutMs = 30_000): Promise<AstraMetadata> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: b.host,
        port: Number(b.port),
        path: '/metadata',
        method: 'GET',
        ca: trust(b),
        cert: b.cert,
        key: b.key,
        servername: isIP(b.host) ? undefined : b.host,
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) {
            reject(new Error(`metadata service (Astra) returned not successful status code ${status}, body: ${body}`));
            return;
          }
          try {
            resolve(parseAstraMetadata(body));
          } catch (e) {
            reject(e);
          }
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`metadata service (Astra) at ${b.host}:${b.port} did not answer within ${timeoutMs} ms`)),
    );
    req.on('error', (e) =>
      reject(new Error(`could not get metadata from the Astra metadata service at ${b.host}:${b.port}: ${e.message}`)),
    );
    req.end();
  });
}

export function parseAstraMetadata(body: string): AstraMetadata {
  const j = JSON.parse(body) as { contact_info?: { sni_proxy_address?: unknown; contact_points?: unknown; local_dc?: unknown } };
  const ci = j.contact_info;
  const sni = typeof ci?.sni_proxy_address === 'string' ? ci.sni_proxy_address : '';
  const m = /^(.*):(\d+)$/.exec(sni);
  if (!m)
    throw new Error(`metadata service (Astra) answered without a valid contact_info.sni_proxy_address: ${JSON.stringify(sni)}`);
  const cps = Array.isArray(ci?.contact_points) ? ci!.contact_points.map(String) : [];
  if (cps.length === 0) throw new Error('metadata service (Astra) answered without contact_info.contact_points');
  return {
    sniProxy: { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) },
    contactPoints: cps,
    localDc: typeof ci?.local_dc === 'string' ? ci.local_dc : '',
  };
}

/**
 * TLS options for connections through the SNI proxy: bundle client certificate, bundle CA plus the system store,
 * the server certificate checked against the SNI proxy's host name (`sniHost()` = the current one).
 */
export function astraTlsOptions(b: SecureConnectBundle, sniHost: () => string): tls.ConnectionOptions {
  return {
    ca: trust(b),
    cert: b.cert,
    key: b.key,
    rejectUnauthorized: true,
    checkServerIdentity: (_servername, cert) => tls.checkServerIdentity(sniHost(), cert),
  };
}
