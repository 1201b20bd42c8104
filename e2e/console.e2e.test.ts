import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createBackupWorld, type BackupWorld } from '../test-support/fixtures.js';
import { resolveConfig } from '../agent/cli/config.js';
import { silentLogger } from '../agent/logger.js';
import { startAgent, type RunningAgent } from '../agent/main.js';
import { ensureRendererBuilt, launchBrowser, screenshot, type Browser } from './harness.js';

/**
 * The console in real headless Chromium against a real agent (startAgent) on a real PostgreSQL
 * with seeded weddings and a full backup in a real repository. One browser, one agent; the
 * tests run in order and build on each other like a user's session.
 */
describe('console e2e (Chromium)', () => {
  let world: BackupWorld;
  let agent: RunningAgent;
  let browser: Browser;
  let snapshotId: string;
  let wedding: { id: string; couple_names: string };

  beforeAll(async () => {
    await ensureRendererBuilt();
    world = await createBackupWorld({ weddings: 12 });
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    const { rows } = await world.client.query<{ id: string; couple_names: string }>('SELECT id::text, couple_names FROM weddings ORDER BY wedding_date, id LIMIT 1');
    wedding = rows[0]!;
    const config = resolveConfig(
      { databaseUrl: world.db.url, repo: join(world.dir, 'repo'), photoStore: join(world.dir, 'photos'), home: join(world.dir, 'home') },
      { WEDSYNC_PASSPHRASE: world.passphrase },
    );
    agent = await startAgent({ config, logger: await silentLogger(), port: 0 });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await agent?.close();
    await world?.close();
  });

  it('serves the console with a strict CSP and signs in with a one-time login link', async () => {
    const res = await fetch(`${agent.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('set-cookie')).toBeNull();
    const link = agent.consoleUrl();
    expect(link).toMatch(/#login=/);
    const { page } = browser;
    await page.goto(link);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    // The code left the address bar, and it cannot be used twice.
    expect(page.url()).not.toContain('login=');
    const code = link.split('#login=')[1]!;
    const again = await fetch(`${agent.url}/console/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
    expect(again.status).toBe(401);
    await page.getByText('Repository size and backup durations').waitFor();
    await page.locator('.recharts-surface').first().waitFor();
    await screenshot(page, '01-dashboard');
  });

  it('browses to a wedding in a snapshot, with row counts per data type', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'Snapshots' }).click();
    await page.getByRole('table', { name: 'Snapshots' }).waitFor();
    await page.getByLabel('Wedding').fill(wedding.couple_names);
    await page.getByRole('table', { name: 'Snapshots' }).getByRole('link').first().click();
    const row = page.locator(`tr[data-wedding-id="${wedding.id}"]`);
    await row.waitFor();
    await expect.poll(() => row.textContent()).toContain(wedding.couple_names);
    const { rows } = await world.client.query<{ n: string }>('SELECT count(*)::text AS n FROM guests WHERE wedding_id = $1', [wedding.id]);
    expect(await row.locator('td').nth(2).textContent()).toBe(rows[0]!.n);
    expect(page.url()).toContain(snapshotId);
    await screenshot(page, '02-snapshots');
    expect(browser.problems).toEqual([]);
  });
});
