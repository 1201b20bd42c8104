import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../logger.js';
import { createApiServer } from '../server.js';
import type { ApiServices } from '../services.js';
import { CONSOLE_CSP, createConsoleRoutes, type ConsoleRoutes } from './console.js';

/** The console's static serving and sign-in, on the real API server, with a throwaway dist folder. */
describe('console route (agent/api/routes/console.ts)', () => {
  const token = 'a'.repeat(43);
  let dir: string;
  let now = 1_000_000;
  let routes: ConsoleRoutes;
  let app: ReturnType<typeof createApiServer>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wedsync-console-'));
    await mkdir(join(dir, 'dist', 'assets'), { recursive: true });
    await writeFile(join(dir, 'dist', 'index.html'), '<!doctype html><title>console</title>');
    await writeFile(join(dir, 'dist', 'assets', 'app-1234.js'), 'console.log(1)');
    await writeFile(join(dir, 'secret.txt'), 'outside the dist folder');
    routes = createConsoleRoutes({ token, distDir: join(dir, 'dist'), now: () => now, listWeddings: async (q) => [{ id: 'w1', coupleNames: `match ${q.q ?? ''}`, weddingDate: '2026-06-01', venueName: null, status: null }],
      backupHistory: async (limit) => [{ snapshotId: 's1', createdAt: '2026-06-01T00:00:00.000Z', snapshotType: 'full', tier: 3, backupSizeBytes: limit, bytesNew: 1, durationMs: 1200 }],
    });
    const services = { health: async () => ({}), snapshots: {} } as unknown as ApiServices;
    app = createApiServer(services, { token, logger: await silentLogger(), extraRoutes: [routes.register] });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the page and its assets with a strict CSP, no cookies, and never caches the page', async () => {
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['set-cookie']).toBeUndefined();
    const asset = await app.inject({ url: '/assets/app-1234.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toContain('text/javascript');
    expect(asset.headers['cache-control']).toContain('immutable');
  });

  it('never serves a file outside the dist folder', async () => {
    for (const url of ['/assets/../../secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets/missing.js']) {
      const r = await app.inject({ url });
      expect(r.statusCode, url).toBe(404);
      expect(r.body).not.toContain('outside the dist folder');
    }
  });

  it('trades a login code for the token exactly once, and refuses expired and unknown codes', async () => {
    const link = routes.loginUrl('http://127.0.0.1:1234');
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:1234\/#login=[A-Za-z0-9_-]{43}$/);
    const code = link.split('#login=')[1]!;
    const first = await app.inject({ method: 'POST', url: '/console/login', payload: { code } });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ token });
    const again = await app.inject({ method: 'POST', url: '/console/login', payload: { code } });
    expect(again.statusCode).toBe(401);

    const late = routes.loginUrl('http://x').split('#login=')[1]!;
    now += 11 * 60 * 1000;
    expect((await app.inject({ method: 'POST', url: '/console/login', payload: { code: late } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/console/login', payload: { code: 'x'.repeat(43) } })).statusCode).toBe(401);
    const bad = await app.inject({ method: 'POST', url: '/console/login', payload: { code: "'; DROP TABLE x; --" } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.fields[0].field).toBe('body.code');
  });

  it('the wedding directory is an /api route: token required, query checked', async () => {
    expect((await app.inject({ url: '/api/weddings' })).statusCode).toBe(401);
    const ok = await app.inject({ url: '/api/weddings?q=Smith&limit=5', headers: { authorization: `Bearer ${token}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().weddings[0].coupleNames).toBe('match Smith');
    const bad = await app.inject({ url: '/api/weddings?limit=0', headers: { authorization: `Bearer ${token}` } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.fields[0].field).toBe('query.limit');
  });

  it('the history chart is an /api route: token required, limit checked', async () => {
    expect((await app.inject({ url: '/api/console/history' })).statusCode).toBe(401);
    const ok = await app.inject({ url: '/api/console/history?limit=7', headers: { authorization: `Bearer ${token}` } });
    expect(ok.json().points[0]).toMatchObject({ snapshotId: 's1', backupSizeBytes: 7, durationMs: 1200 });
    const bad = await app.inject({ url: '/api/console/history?limit=nope', headers: { authorization: `Bearer ${token}` } });
    expect(bad.statusCode).toBe(400);
  });

  it('says how to build the console when it has not been built', async () => {
    const empty = createConsoleRoutes({ token, distDir: join(dir, 'nothing-here') });
    expect(empty.distDir).toBe(join(dir, 'nothing-here'));
    const other = createApiServer({ health: async () => ({}), snapshots: {} } as unknown as ApiServices, { token, logger: await silentLogger(), extraRoutes: [empty.register] });
    const r = await other.inject({ url: '/' });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('npm run build');
    await other.close();
  });
});
