import { describe, expect, it } from 'vitest';
import { ELECTRON_CSP } from './app-protocol.js';
import { HARDENED_WEB_PREFERENCES, allowNavigation, permissionDecision, windowOpenDecision } from './window-guards.js';

describe('console window guards (electron/window-guards.ts)', () => {
  it('keeps every isolation switch on', () => {
    expect(HARDENED_WEB_PREFERENCES).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false, webSecurity: true, allowRunningInsecureContent: false, webviewTag: false });
  });

  it('navigates only within the console origin', () => {
    expect(allowNavigation('app://console/index.html#/restore')).toBe(true);
    for (const url of ['https://example.com/', 'app://console.evil/index.html', 'file:///etc/passwd', 'http://127.0.0.1:4000/', 'javascript:alert(1)', 'not a url', 'app://Console@evil/']) {
      expect(allowNavigation(url), url).toBe(false);
    }
  });

  it('never opens a window; https links go to the system browser, other schemes nowhere', () => {
    expect(windowOpenDecision('https://wedsync.example/help')).toEqual({ action: 'deny', openExternally: 'https://wedsync.example/help' });
    for (const url of ['http://example.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'app://console/index.html', 'smb://host/share']) {
      expect(windowOpenDecision(url), url).toEqual({ action: 'deny', openExternally: null });
    }
  });

  it('denies every permission, and the CSP gives the renderer no network and no inline script', () => {
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read']) expect(permissionDecision(p)).toBe(false);
    expect(ELECTRON_CSP).toContain("connect-src 'none'");
    expect(ELECTRON_CSP).toContain("script-src 'self'");
    expect(ELECTRON_CSP).not.toContain('unsafe-inline');
    expect(ELECTRON_CSP).not.toContain('unsafe-eval');
    expect(ELECTRON_CSP).toContain("object-src 'none'");
  });
});
