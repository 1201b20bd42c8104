import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WedsyncError } from '../contract/errors.js';
import { silentLogger } from '../logger.js';
import { createApiServer } from './server.js';
import { isLoopback, resolveTls } from './tls.js';

describe('TLS for non-loopback binds', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'wedsync-tls-'));
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', 'example.com', '128.0.0.1']) expect(isLoopback(h), h).toBe(false);
  });

  it('loopback needs nothing; any other host needs --allow-remote; cert and key go together', async () => {
    expect(await resolveTls({ host: '127.0.0.1', home })).toBeNull();
    await expect(resolveTls({ host: '0.0.0.0', home })).rejects.toThrow(/--allow-remote/);
    await expect(resolveTls({ host: '0.0.0.0', allowRemote: true, certFile: join(home, 'x.pem'), home })).rejects.toThrow(/go together/);
    await writeFile(join(home, 'bad.pem'), 'not a certificate');
    await expect(resolveTls({ host: '0.0.0.0', allowRemote: true, certFile: join(home, 'bad.pem'), keyFile: join(home, 'bad.pem'), home })).rejects.toSatisfy((e) => e instanceof WedsyncError && e.code === 'BAD_INPUT');
  });

  it('generates a self-signed certificate once (key 0600), reuses it, and serves HTTPS a client can pin', async () => {
    const first = (await resolveTls({ host: '0.0.0.0', allowRemote: true, home }))!;
    expect(first.source).toBe('generated');
    expect(first.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect((await stat(join(home, 'tls', 'key.pem'))).mode & 0o777).toBe(0o600);
    const again = (await resolveTls({ host: '0.0.0.0', allowRemote: true, home }))!;
    expect(again).toMatchObject({ source: 'reused', fingerprint256: first.fingerprint256 });
    expect(new X509Certificate(first.cert).checkIP('127.0.0.1')).toBe('127.0.0.1');

    // Serve it (on loopback, as tests may) and connect pinning the fingerprint, as a client of a remote agent would.
    const unused = () => Promise.reject(new WedsyncError('NOT_FOUND', 'unused'));
    const app = createApiServer({ health: async () => ({}), snapshots: { list: unused, get: unused, emergencyBackup: unused } }, { token: 't'.repeat(40), logger: await silentLogger(), https: { key: first.key, cert: first.cert } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (app.server.address() as { port: number }).port;
      const { status, fingerprint } = await new Promise<{ status: number; fingerprint: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false }, (res) => {
          const fp = (res.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256 ?? '';
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, fingerprint: fp }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(200);
      expect(fingerprint).toBe(first.fingerprint256);
    } finally {
      await app.close();
    }
  });
});
