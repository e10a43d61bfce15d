// Test certificates made with the openssl CLI: a CA and leaf certificates it signs (EC P-256, 10 years).
//
//   const ca = makeCa(dir, 'proxy-ca');
//   const server = ca.issue('proxy', { san: 'IP:127.0.0.1,DNS:localhost' });   // { cert, key } paths
//   const client = ca.issue('app', { clientOnly: true });
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPairFiles {
  /** PEM certificate path */
  readonly cert: string;
  /** PEM private key path (unencrypted) */
  readonly key: string;
}

export interface IssueOptions {
  /** subjectAltName, e.g. 'IP:127.0.0.1,DNS:localhost' (default: that) */
  san?: string;
  /** extended key usage clientAuth only (default: serverAuth and clientAuth) */
  clientOnly?: boolean;
  /** common name (default: the name) */
  cn?: string;
}

export interface TestCa extends KeyPairFiles {
  readonly dir: string;
  /** Makes `<name>.pem` / `<name>.key` signed by this CA. */
  issue(name: string, opts?: IssueOptions): KeyPairFiles;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: 'pipe' });
  } catch (e) {
    const err = e as Error & { stderr?: Buffer };
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString() || err.message}`);
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A fresh temporary directory for certificates. */
export function certDir(prefix = 'zdm-certs-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function makeCa(dir: string, name = 'test-ca'): TestCa {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  openssl([
    'req',
    '-x509',
    ...EC,
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '3650',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return {
    dir,
    cert,
    key,
    issue(leaf, opts = {}) {
      const lcert = join(dir, `${leaf}.pem`);
      const lkey = join(dir, `${leaf}.key`);
      const csr = join(dir, `${leaf}.csr`);
      const ext = join(dir, `${leaf}.ext`);
      writeFileSync(
        ext,
        `${[
          'basicConstraints=CA:FALSE',
          `extendedKeyUsage=${opts.clientOnly ? 'clientAuth' : 'serverAuth,clientAuth'}`,
          ...(opts.clientOnly && !opts.san ? [] : [`subjectAltName=${opts.san ?? 'IP:127.0.0.1,DNS:localhost'}`]),
        ].join('\n')}\n`,
      );
      openssl(['req', ...EC, '-keyout', lkey, '-out', csr, '-subj', `/CN=${opts.cn ?? leaf}`]);
      openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        cert,
        '-CAkey',
        key,
        '-CAcreateserial',
        '-out',
        lcert,
        '-days',
        '3650',
        '-extfile',
        ext,
      ]);
      return { cert: lcert, key: lkey };
    },
  };
}
