import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ELECTRON_CSP, serveConsoleFile } from './app-protocol.js';

describe('app:// protocol (electron/app-protocol.ts)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wedsync-app-'));
    await mkdir(join(dir, 'dist', 'assets'), { recursive: true });
    await writeFile(join(dir, 'dist', 'index.html'), '<!doctype html>');
    await writeFile(join(dir, 'dist', 'assets', 'a.js'), 'x');
    await writeFile(join(dir, 'outside.txt'), 'secret');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('serves the console files with the CSP (no network at all for the renderer)', async () => {
    const r = await serveConsoleFile(join(dir, 'dist'), 'app://console/index.html');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toBe(ELECTRON_CSP);
    expect(ELECTRON_CSP).toContain("connect-src 'none'");
    expect((await serveConsoleFile(join(dir, 'dist'), 'app://console/assets/a.js')).headers.get('content-type')).toContain('javascript');
  });

  it('refuses other hosts and anything outside the dist folder', async () => {
    for (const url of ['app://other/index.html', 'app://console/../outside.txt', 'app://console/%2e%2e/outside.txt', 'app://console/assets/..%2f..%2foutside.txt', 'app://console/nope.js']) {
      const r = await serveConsoleFile(join(dir, 'dist'), url);
      expect(r.status, url).toBe(404);
    }
  });
});
