/**
 * Client-facing TLS material (upstream-spec-notes 7.1): CA, certificate and key read once at startup and again on
 * SIGHUP (`ProxyTlsMaterial.reload()`); a reload that fails keeps the material in use.
 */
import * as tls from 'node:tls';
import type { ProxyTlsConfig } from '../config/types';
import { readCertificates, readKeyPair } from './files';

interface Loaded {
  readonly context: tls.SecureContextOptions;
  /** file contents, to tell which files changed on reload */
  readonly contents: Readonly<Record<string, Buffer>>;
}

function load(cfg: ProxyTlsConfig): Loaded {
  const ca = readCertificates('proxy_tls_ca_path', cfg.caPath);
  const { cert, key } = readKeyPair('proxy_tls_cert_path', cfg.certPath, 'proxy_tls_key_path', cfg.keyPath);
  const context: tls.SecureContextOptions = { ca: ca.pem, cert: cert.pem, key: key.pem };
  tls.createSecureContext(context); // anything OpenSSL still refuses shows up now, not at the first client
  return { context, contents: { proxy_tls_ca_path: ca.pem, proxy_tls_cert_path: cert.pem, proxy_tls_key_path: key.pem } };
}

export type ReloadResult =
  | { readonly ok: true; readonly changed: readonly string[]; readonly message: string }
  | { readonly ok: false; readonly message: string };

export class ProxyTlsMaterial {
  private current: Loaded;

  /** Throws TlsFileError (naming the setting and the file) when a file is missing, unreadable or wrong. */
  constructor(private readonly cfg: ProxyTlsConfig) {
    this.current = load(cfg);
  }

  /** Options for tls.createServer: the material plus client certificate policy. */
  serverOptions(): tls.TlsOptions {
    return {
      ...this.current.context,
      // proxy_tls_require_client_auth: certificates are required and verified against the CA (chain only, as upstream)
      requestCert: this.cfg.requireClientAuth,
      rejectUnauthorized: this.cfg.requireClientAuth,
    };
  }

  get context(): tls.SecureContextOptions {
    return this.current.context;
  }

  /** Reads the three files again; on success the new material replaces the old one. */
  reload(): ReloadResult {
    let next: Loaded;
    try {
      next = load(this.cfg);
    } catch (e) {
      return { ok: false, message: `Kept the current client-facing TLS certificates: reload failed: ${(e as Error).message}` };
    }
    const paths: Record<string, string> = {
      proxy_tls_ca_path: this.cfg.caPath,
      proxy_tls_cert_path: this.cfg.certPath,
      proxy_tls_key_path: this.cfg.keyPath,
    };
    const changed = Object.keys(paths).filter((k) => !next.contents[k]!.equals(this.current.contents[k]!));
    this.current = next;
    const list = (ks: string[]): string => ks.map((k) => `${k}=${paths[k]}`).join(', ');
    const unchanged = Object.keys(paths).filter((k) => !changed.includes(k));
    const message =
      changed.length === 0
        ? `Reloaded client-facing TLS certificates: no file changed (${list(unchanged)})`
        : `Reloaded client-facing TLS certificates for new connections: changed ${list(changed)}${unchanged.length ? `; unchanged ${list(unchanged)}` : ''}`;
    return { ok: true, changed, message };
  }
}
