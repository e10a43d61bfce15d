/**
 * Cluster-facing TLS (upstream-spec-notes 7.2) from CA/cert/key files: CA alone = one-way, with cert and key = mutual.
 * The system CA store is trusted in addition to the given CA (as Go's default pool). Unlike upstream, the
 * node's certificate must name the address (or host name) it is dialled by, unless
 * `<cluster>_tls_skip_hostname_verification=true`; a refusal names that setting.
 */
import * as tls from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import type { ClusterConfig } from '../config/types';
import { readCertificates, readKeyPair } from './files';

/** The check of the node's name, with an error that says how to turn it off. */
export function hostnameCheck(cluster: string, skipSetting: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (host, cert) => {
    const err = tls.checkServerIdentity(host, cert);
    if (!err) return undefined;
    const e = new Error(
      `TLS hostname verification failed for ${cluster} node ${host}: ${err.message}. ` +
        `Use a certificate that names the node, or set ${skipSetting}=true to check the certificate chain only`,
    );
    (e as NodeJS.ErrnoException).code = 'ERR_TLS_CERT_ALTNAME_INVALID';
    return e;
  };
}

/** node:tls options of a cluster's CA/cert/key files (undefined = plain TCP). Files are read once, here. */
export function clusterTlsOptions(c: ClusterConfig): tls.ConnectionOptions | undefined {
  const t = c.tls;
  if (!t.enabled || t.mode === 'secure-connect-bundle') return undefined;
  const prefix = c.cluster.toLowerCase();
  const ca = readCertificates(`${prefix}_tls_server_ca_path`, t.serverCaPath);
  const o: tls.ConnectionOptions = { ca: [...tls.rootCertificates, ca.pem.toString('latin1')], rejectUnauthorized: true };
  if (t.mode === 'mutual') {
    const pair = readKeyPair(
      `${prefix}_tls_client_cert_path`,
      t.clientCertPath,
      `${prefix}_tls_client_key_path`,
      t.clientKeyPath,
    );
    o.cert = pair.cert.pem;
    o.key = pair.key.pem;
  }
  o.checkServerIdentity = t.skipHostnameVerification
    ? () => undefined
    : hostnameCheck(c.cluster, `${prefix}_tls_skip_hostname_verification`);
  return o;
}
