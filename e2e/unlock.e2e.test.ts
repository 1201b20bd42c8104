import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createBackupWorld, type BackupWorld } from '../test-support/fixtures.js';
import { resolveConfig } from '../agent/cli/config.js';
import { silentLogger } from '../agent/logger.js';
import { startAgent } from '../agent/main.js';
import { startLockedAgent, type LockedAgent } from '../agent/api/locked.js';
import { ensureRendererBuilt, launchBrowser, screenshot, type Browser } from './harness.js';

/**
 * First run without WEDSYNC_PASSPHRASE (`wedsync-backup agent --unlock`): the console in real
 * Chromium shows the unlock screen, refuses a wrong passphrase, and with the right one the agent
 * starts in full on the same address and the console carries on with its screens.
 */
describe('unlock screen e2e (Chromium)', () => {
  let world: BackupWorld;
  let locked: LockedAgent;
  let browser: Browser;

  beforeAll(async () => {
    await ensureRendererBuilt();
    world = await createBackupWorld({ weddings: 4 });
    await world.backup({ type: 'full' });
    const config = resolveConfig({ databaseUrl: world.db.url, repo: join(world.dir, 'repo'), photoStore: join(world.dir, 'photos'), home: join(world.dir, 'home') }, { WEDSYNC_TIER1: 'off' });
    locked = await startLockedAgent({ config, logger: await silentLogger(), port: 0, tier1: false }, startAgent);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await locked?.close();
    await world?.close();
  });

  it('asks for the passphrase, refuses a wrong one, and unlocks the agent with the right one', async () => {
    const { page } = browser;
    await page.goto(locked.consoleUrl());
    await page.getByRole('heading', { name: 'Unlock the backup repository' }).waitFor();
    const field = page.getByLabel('Repository passphrase');
    expect(await field.getAttribute('type')).toBe('password');
    await screenshot(page, '00-unlock');

    await field.fill('not the passphrase');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByText('That passphrase does not open the repository.').waitFor();
    expect(await field.inputValue()).toBe('');
    await screenshot(page, '00b-unlock-wrong-passphrase');

    await field.fill(world.passphrase);
    await page.getByRole('button', { name: 'Unlock' }).click();
    // The agent restarts in full on the same address; the console reloads into its screens.
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 60_000 });
    const agent = await locked.unlocked;
    expect(agent.url).toBe(locked.url);
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Snapshots', exact: true }).click();
    await page.getByRole('table', { name: 'Snapshots' }).waitFor();
    // The passphrase is nowhere in the page's storage.
    const storage = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
    expect(storage).not.toContain(world.passphrase);
    // While the agent restarts the console's polls find the port closed for a moment: that is expected; nothing else is.
    expect(browser.problems.filter((p) => !/net::ERR_CONNECTION_REFUSED/.test(p))).toEqual([]);
  });
});
