import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '..');
export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');

/** Debian's Chromium (installed by .ci/run); CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags for a quiet, reproducible headless run: no network of its own, no sync, no first-run UI. */
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * The console the agent serves is renderer/dist. `npm ci` builds it (prepare → build); during
 * development the sources may be newer, so build it again then (Vite, a few seconds).
 */
export async function ensureRendererBuilt(): Promise<void> {
  const index = join(ROOT, 'renderer', 'dist', 'index.html');
  // The bundle includes agent/contract (the schemas the client checks with): newer contracts rebuild it too.
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(newest(join(ROOT, 'renderer')), newest(join(ROOT, 'agent', 'contract')))) return;
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'vite.config.ts'), logLevel: 'error' });
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and CSP violations seen so far (a clean run has none). */
  problems: string[];
  close(): Promise<void>;
}

/** Chromium with a fresh --user-data-dir (a temp folder removed on close), at 1280×720. */
export async function launchBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'wedsync-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 720 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (m) => {
    // HTTP errors the screens handle (404 of a route not offered, 503 with the database down) are
    // expected; anything else — a CSP violation, an uncaught error — is a problem.
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of \d+/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return {
    context,
    page,
    problems,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
