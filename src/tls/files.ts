/**
 * Reading TLS material (PEM certificates and private keys) once, with errors that name the setting and
 * the file: missing, unreadable, not PEM, encrypted key, key not matching its certificate. Key bytes and
 * passwords never appear in a message.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

export class TlsFileError extends Error {
  override readonly name = 'TlsFileError';
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readFile(setting: string, path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'no such file'
        : err.code === 'EACCES'
          ? 'permission denied'
          : err.code === 'EISDIR'
            ? 'is a directory'
            : err.message;
    throw new TlsFileError(`${setting}: cannot read the ${what} file ${path}: ${why}`);
  }
}

export interface CertificateFile {
  readonly pem: Buffer;
  readonly certs: readonly X509Certificate[];
}

/** Parses every certificate of a PEM bundle (the name is only for messages). */
export function parseCertificates(setting: string, path: string, pem: Buffer): CertificateFile {
  const blocks = pem.toString('latin1').match(CERT_BLOCK) ?? [];
  if (blocks.length === 0)
    throw new TlsFileError(`${setting}: ${path} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`);
  const certs = blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new TlsFileError(`${setting}: certificate #${i + 1} in ${path} cannot be parsed: ${(e as Error).message}`);
    }
  });
  return { pem, certs };
}

/** Reads a PEM file of one or more certificates (a CA bundle or a certificate chain). */
export function readCertificates(setting: string, path: string): CertificateFile {
  return parseCertificates(setting, path, readFile(setting, path, 'certificate'));
}

export interface KeyFile {
  readonly pem: Buffer;
  readonly key: KeyObject;
}

/** Parses a PEM private key (unencrypted: there is no passphrase setting). */
export function parsePrivateKey(setting: string, path: string, pem: Buffer): KeyFile {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(pem.toString('latin1'))) {
    throw new TlsFileError(`${setting}: ${path}: the key is encrypted (only unencrypted PEM keys are supported)`);
  }
  try {
    return { pem, key: createPrivateKey({ key: pem, format: 'pem' }) };
  } catch (e) {
    throw new TlsFileError(`${setting}: ${path}: not a PEM private key (${(e as Error).message})`);
  }
}

export function readPrivateKey(setting: string, path: string): KeyFile {
  return parsePrivateKey(setting, path, readFile(setting, path, 'private key'));
}

/** Throws when the key is not the private key of the first certificate of the chain. */
export function checkKeyPair(
  certSetting: string,
  certPath: string,
  cert: CertificateFile,
  keySetting: string,
  keyPath: string,
  key: KeyFile,
): void {
  if (!cert.certs[0]!.checkPrivateKey(key.key)) {
    throw new TlsFileError(`${keySetting}: the key in ${keyPath} does not match the certificate in ${certPath} (${certSetting})`);
  }
}

/** A certificate + key pair, read and checked. */
export function readKeyPair(
  certSetting: string,
  certPath: string,
  keySetting: string,
  keyPath: string,
): { cert: CertificateFile; key: KeyFile } {
  const cert = readCertificates(certSetting, certPath);
  const key = readPrivateKey(keySetting, keyPath);
  checkKeyPair(certSetting, certPath, cert, keySetting, keyPath, key);
  return { cert, key };
}
