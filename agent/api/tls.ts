import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { WedsyncError } from '../contract/errors.js';

/**
 * TLS for the agent's API when it listens beyond this machine.
 *
 *  - Loopback binds (127.0.0.0/8, ::1, localhost) serve plain HTTP: the traffic never leaves
 *    the machine. A certificate may still be given.
 *  - Any other bind needs `allowRemote` (the `--allow-remote` flag: exposing the API is a
 *    decision, not an accident) and TLS: the certificate and key given (PEM files), or else a
 *    self-signed one generated once and kept in WEDSYNC_HOME/tls (key mode 0600), so its
 *    fingerprint stays the same across restarts. Clients pin that SHA-256 fingerprint, as
 *    KopiaUI does; the agent prints it at start.
 */
export interface TlsOptions {
  host: string;
  allowRemote?: boolean;
  certFile?: string;
  keyFile?: string;
  /** WEDSYNC_HOME: where a generated certificate is kept. */
  home: string;
}

export interface TlsMaterial {
  key: string;
  cert: string;
  /** SHA-256 of the certificate (DER), colon-separated uppercase hex, as browsers and openssl show it. */
  fingerprint256: string;
  source: 'given' | 'generated' | 'reused';
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

async function readPem(path: string, what: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    throw new WedsyncError('BAD_INPUT', `${flag}: cannot read the ${what} file ${path}`);
  }
}

function fingerprintOf(cert: string, origin: string): string {
  try {
    return new X509Certificate(cert).fingerprint256;
  } catch {
    throw new WedsyncError('BAD_INPUT', `${origin} is not a PEM X.509 certificate`);
  }
}

/** The TLS material for `opts.host`, or null for plain HTTP on loopback. Refuses remote binds without --allow-remote. */
export async function resolveTls(opts: TlsOptions): Promise<TlsMaterial | null> {
  if (Boolean(opts.certFile) !== Boolean(opts.keyFile)) {
    throw new WedsyncError('BAD_INPUT', '--tls-cert and --tls-key go together: give both or neither');
  }
  const loopback = isLoopback(opts.host);
  if (!loopback && !opts.allowRemote) {
    throw new WedsyncError('BAD_INPUT', `--host ${opts.host} would expose the API beyond this machine: add --allow-remote (TLS is then required: --tls-cert/--tls-key, or a generated self-signed certificate)`);
  }
  if (opts.certFile && opts.keyFile) {
    const cert = await readPem(opts.certFile, 'certificate', '--tls-cert');
    const key = await readPem(opts.keyFile, 'key', '--tls-key');
    return { cert, key, fingerprint256: fingerprintOf(cert, `--tls-cert ${opts.certFile}`), source: 'given' };
  }
  if (loopback) return null;
  return loadOrGenerateSelfSigned(join(opts.home, 'tls'), opts.host);
}

async function loadOrGenerateSelfSigned(dir: string, host: string): Promise<TlsMaterial> {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    const x = new X509Certificate(cert);
    // Regenerate a certificate about to expire rather than serve an expired one.
    if (Date.parse(x.validTo) > Date.now() + 7 * 86_400_000) return { cert, key, fingerprint256: x.fingerprint256, source: 'reused' };
  } catch {
    // none yet (or unreadable): generate
  }
  const { generate } = await import('selfsigned');
  const name = hostname();
  const altNames: { type: 2 | 7; value?: string; ip?: string }[] = [
    { type: 2, value: 'localhost' },
    { type: 2, value: name },
    { type: 7, ip: '127.0.0.1' },
    { type: 7, ip: '::1' },
  ];
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) && bare !== '0.0.0.0' && bare !== '::') altNames.push({ type: 7, ip: bare });
  else if (!isIP(bare)) altNames.push({ type: 2, value: bare });
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: `WedSync Backup agent (${name})` }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 825 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(keyPath, pems.private, { mode: 0o600 });
  await chmod(keyPath, 0o600);
  await writeFile(certPath, pems.cert, { mode: 0o644 });
  return { cert: pems.cert, key: pems.private, fingerprint256: new X509Certificate(pems.cert).fingerprint256, source: 'generated' };
}
