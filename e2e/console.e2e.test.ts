import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import pg from 'pg';
import { createBackupWorld, type BackupWorld } from '../test-support/fixtures.js';
import { resolveConfig } from '../agent/cli/config.js';
import { silentLogger } from '../agent/logger.js';
import { startAgent, type RunningAgent } from '../agent/main.js';
import { ensureRendererBuilt, launchBrowser, screenshot, type Browser } from './harness.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

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
  let incrementalId: string;
  let wedding: { id: string; couple_names: string };
  let proxy: TcpProxy;
  let config: ReturnType<typeof resolveConfig>;
  /** The point-in-time test's wedding (streamed by tier 1) and its time T. */
  let pit: { weddingId: string; at: Date; guests: { n: string; h: string | null } } | null = null;

  beforeAll(async () => {
    await ensureRendererBuilt();
    // Wedding dates relative to the real today, so "today's weddings" exist whenever this runs.
    process.env.WEDSYNC_TIME_ZONE = 'UTC';
    world = await createBackupWorld({ weddings: 12, seed: { now: new Date(), timeZone: 'UTC' } });
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    const { rows } = await world.client.query<{ id: string; couple_names: string }>('SELECT id::text, couple_names FROM weddings ORDER BY wedding_date, id LIMIT 1');
    wedding = rows[0]!;
    // Then one guest's dietary needs change and another guest leaves, and an incremental snapshot
    // records it: history for the chart, and a difference for the snapshot comparison.
    await world.client.query(`UPDATE guests SET dietary_requirements = 'nut allergy' WHERE id = (SELECT id FROM guests WHERE wedding_id = $1 ORDER BY id LIMIT 1)`, [wedding.id]);
    await world.client.query(`DELETE FROM guests WHERE id = (SELECT id FROM guests WHERE wedding_id = $1 ORDER BY id DESC LIMIT 1)`, [wedding.id]);
    incrementalId = (await world.backup({ type: 'incremental' })).snapshotId;
    // The agent reaches PostgreSQL through a proxy the last test cuts: the database "stops".
    const pgUrl = new URL(world.db.url);
    proxy = await startTcpProxy(pgUrl.hostname, Number(pgUrl.port));
    config = resolveConfig(
      { databaseUrl: proxy.url(world.db.url), repo: join(world.dir, 'repo'), photoStore: join(world.dir, 'photos'), home: join(world.dir, 'home') },
      { WEDSYNC_PASSPHRASE: world.passphrase },
    );
    // Tier 1 on: it fills the local cache the wedding-day screen reads (offline included).
    agent = await startAgent({ config, logger: await silentLogger(), port: 0, tier1: true });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await agent?.close();
    await proxy?.close();
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
    await page.getByRole('heading', { name: 'Upcoming weddings by criticality' }).waitFor();
    await screenshot(page, '01-dashboard');
    // An emergency backup of one wedding from the dashboard: progress pushed by the agent while it
    // runs, then its snapshot. Another session holds backup_snapshots against writes meanwhile, so
    // the backup waits at its very end (recording its catalog row), with all its progress reported:
    // what the panel shows then is certain, with no timing involved.
    const locker = new pg.Client({ connectionString: world.db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE backup_snapshots IN SHARE MODE');
      await page.getByLabel('Wedding', { exact: true }).selectOption(wedding.id);
      await page.getByRole('button', { name: 'Back up now' }).click();
      const progress = page.getByRole('progressbar', { name: /^(export|photos|finishing): .*[1-9][\d,]* (of ~[\d,]+ )?rows/ });
      await progress.waitFor({ timeout: 30_000 });
      await progress.scrollIntoViewIfNeeded();
      // Pushed, not polled: the panel says the stream is live.
      await page.locator('[data-updates="live"]').getByText('Live: progress is pushed by the agent').waitFor();
      await screenshot(page, '01a-dashboard-emergency-backup-progress');
      await locker.query('COMMIT');
    } finally {
      await locker.end();
    }
    await page.getByText(/^Done: /).waitFor({ timeout: 60_000 });
    const { rows: emergency } = await world.client.query<{ n: string }>(`SELECT count(*)::text AS n FROM backup_snapshots WHERE snapshot_type = 'emergency' AND $1 = ANY(wedding_ids)`, [wedding.id]);
    expect(Number(emergency[0]!.n)).toBeGreaterThan(0);
    await screenshot(page, '01b-dashboard-emergency-backup');
  });

  it('browses to a wedding in a snapshot, with row counts per data type', async () => {
    const { page } = browser;
    // Keyboard: Alt+2 opens Snapshots and focus lands on its heading.
    await page.keyboard.press('Alt+2');
    await page.getByRole('table', { name: 'Snapshots' }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Snapshots');
    await page.getByLabel('Wedding', { exact: true }).fill(wedding.couple_names);
    await page.locator(`tr[data-snapshot-id="${snapshotId}"] a`).click();
    const row = page.locator(`tr[data-wedding-id="${wedding.id}"]`);
    await row.waitFor();
    await expect.poll(() => row.textContent()).toContain(wedding.couple_names);
    const { rows } = await world.client.query<{ n: string }>('SELECT count(*)::text AS n FROM guests WHERE wedding_id = $1', [wedding.id]);
    // The full snapshot holds the guests as they were before the change and the departure.
    expect(Number(await row.locator('td').nth(2).textContent())).toBe(Number(rows[0]!.n) + 1);
    expect(page.url()).toContain(snapshotId);
    await screenshot(page, '02-snapshots');

    // Compared with the incremental snapshot: one guest removed, one changed (the new dietary need).
    await row.getByRole('button', { name: 'Compare…' }).click();
    await page.getByLabel('Other snapshot').selectOption(incrementalId);
    const guests = page.getByRole('table', { name: 'Changes in public.guests' });
    await guests.waitFor();
    await page.getByText('1 removed').waitFor();
    await page.getByText('1 changed').waitFor();
    expect(await guests.textContent()).toContain('nut allergy');
    await page.getByRole('heading', { name: /Compare / }).scrollIntoViewIfNeeded();
    await screenshot(page, '02b-snapshot-wedding-diff');
    expect(browser.problems).toEqual([]);
  });

  it('runs a read-data validation of the snapshot with progress and sees it pass', async () => {
    const { page } = browser;
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Validation', exact: true }).click();
    await page.getByRole('heading', { name: 'Validate a snapshot' }).waitFor();
    await page.getByLabel('Snapshot').selectOption(snapshotId);
    await page.getByLabel(/read-data/).check();
    await page.getByRole('button', { name: 'Run validation' }).click();
    const report = page.getByRole('region', { name: 'Validation report' }).or(page.locator('[aria-label="Validation report"]'));
    await report.waitFor({ timeout: 30_000 });
    await expect.poll(() => report.textContent()).toContain('valid');
    expect(await report.textContent()).toContain('0 errors');
    expect(await page.locator('section[data-updates]').getAttribute('data-updates')).toBe('live');
    await page.getByText('No findings: every check passed.').waitFor();
    const { rows } = await world.client.query<{ s: string }>('SELECT validation_status AS s FROM backup_snapshots WHERE id = $1', [snapshotId]);
    expect(rows[0]!.s).toBe('valid');
    await screenshot(page, '03-validation');
  });

  it("restores a wedding's deleted guests through the guided wizard, verified, then undoes it", async () => {
    const { page } = browser;
    const digest = async (weddingId: string) =>
      (await world.client.query<{ n: string; h: string | null }>(`SELECT count(*)::text AS n, md5(string_agg(g::text, '|' ORDER BY g.id)) AS h FROM guests g WHERE wedding_id = $1`, [weddingId])).rows[0]!;
    const before = await digest(wedding.id);
    const other = (await world.client.query<{ id: string }>('SELECT id::text FROM weddings WHERE id <> $1 ORDER BY id LIMIT 1', [wedding.id])).rows[0]!.id;
    const otherBefore = await digest(other);
    expect(Number(before.n)).toBeGreaterThan(0);
    await world.client.query('DELETE FROM guests WHERE wedding_id = $1', [wedding.id]);

    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Guided restore', exact: true }).click();
    await page.getByLabel(/Search by couple names/).fill(wedding.couple_names.split(' ')[1]!);
    await page.getByRole('button', { name: `Choose ${wedding.couple_names}` }).click();
    // The newest snapshot of this wedding (the incremental holds it in full, as every snapshot does).
    await page.locator(`tr[data-snapshot-id="${incrementalId}"]`).getByRole('button', { name: /^Use snapshot of/ }).click();
    await page.getByRole('button', { name: 'Preview changes' }).click();
    const changes = page.getByRole('table', { name: 'Changes per data type' });
    await changes.waitFor({ timeout: 30_000 });
    await page.getByText(`${before.n} inserted`).waitFor();
    await page.getByRole('button', { name: 'Show rows' }).first().click();
    await page.getByText('comes back').first().waitFor();
    await screenshot(page, '04-restore-preview');
    await page.getByRole('button', { name: 'Continue to confirmation' }).click();
    const restoreNow = page.getByRole('button', { name: 'Restore now' });
    expect(await restoreNow.isDisabled()).toBe(true);
    await page.getByLabel(/to confirm/).fill('RESTORE');
    await screenshot(page, '05-restore-confirm');
    // Progress is pushed (server-sent events with a one-time ticket), not polled.
    const requests: string[] = [];
    const onRequest = (r: { url(): string }) => requests.push(new URL(r.url()).pathname + new URL(r.url()).search);
    page.on('request', onRequest);
    await restoreNow.click();
    await page.getByRole('heading', { name: 'Restored and verified' }).waitFor({ timeout: 60_000 });
    page.off('request', onRequest);
    expect(await page.locator('section[data-updates]').getAttribute('data-updates')).toBe('live');
    const stream = requests.find((u) => u.startsWith('/api/events/recovery-operations/'));
    expect(stream).toMatch(/\?ticket=[A-Za-z0-9_-]{43}$/);
    expect(requests.filter((u) => /^\/api\/backup\/recovery-operations\/[0-9a-f-]+$/.test(u))).toEqual([]);
    // The ticket was single use: opening the stream again with it is refused.
    expect((await fetch(`${agent.url}${stream}`)).status).toBe(401);
    await page.getByText('verified', { exact: true }).waitFor();
    await screenshot(page, '06-restore-result');
    expect(await digest(wedding.id)).toEqual(before);
    expect(await digest(other)).toEqual(otherBefore);

    // Undo: back to the state before the restore (no guests), through preview and confirmation again.
    // This time the event stream cannot be opened: the wizard falls back to polling and still finishes.
    const problemsBefore = browser.problems.length;
    await page.route('**/api/events/recovery-operations/**', (route) => route.abort());
    await page.getByRole('button', { name: 'Undo this restore…' }).click();
    await page.getByText(`${before.n} deleted`).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Continue to confirmation' }).click();
    await page.getByLabel(/to confirm/).fill('RESTORE');
    await page.getByRole('button', { name: 'Restore now' }).click();
    await page.getByRole('heading', { name: 'Undone and verified' }).waitFor({ timeout: 60_000 });
    expect(await page.locator('section[data-updates]').getAttribute('data-updates')).toBe('polling');
    await page.unroute('**/api/events/recovery-operations/**');
    // The aborted stream request is logged by Chromium: that one is expected here.
    browser.problems.splice(problemsBefore, browser.problems.length - problemsBefore, ...browser.problems.slice(problemsBefore).filter((p) => !/ERR_FAILED/.test(p)));
    expect((await digest(wedding.id)).n).toBe('0');
    expect(await digest(other)).toEqual(otherBefore);
  });

  it('lists the restore and its undo in the audit trail', async () => {
    const { page } = browser;
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Audit', exact: true }).click();
    const table = page.getByRole('table', { name: 'Recovery operations' });
    await table.waitFor();
    await expect.poll(() => table.locator('tbody tr').count()).toBe(2);
    // The undo is recorded as an undo, newest first.
    expect(await table.locator('tbody tr').first().textContent()).toContain('undo');
    await table.locator('tbody tr').first().getByRole('link').click();
    await page.locator('[aria-label="Operation detail"]').waitFor();
    // The hash-chained audit log lists the restore and the undo too.
    const log = page.getByRole('table', { name: 'Audit log' });
    await log.waitFor();
    expect(await log.textContent()).toContain('restore');
    await screenshot(page, '07-audit');
  });

  it('restores a wedding as of a time within tier 1\'s window (point in time), verified, then undoes it', async () => {
    const { page } = browser;
    const call = async (path: string) => (await fetch(`${agent.url}${path}`, { headers: { authorization: `Bearer ${agent.token}` } })).json();
    // A wedding tier 1 streams (today's), other than the one the wizard test emptied.
    await expect
      .poll(async () => ((await call('/api/weddings/today')) as { weddings: { weddingId: string; state: string }[] }).weddings.filter((w) => w.state === 'ready' && w.weddingId !== wedding.id).length, { timeout: 60_000, interval: 500 })
      .toBeGreaterThan(0);
    const ready = ((await call('/api/weddings/today')) as { weddings: { weddingId: string; coupleNames: string; state: string }[] }).weddings.find((w) => w.state === 'ready' && w.weddingId !== wedding.id)!;
    await expect.poll(async () => ((await call(`/api/backup/point-in-time/${ready.weddingId}/window`)) as { window: unknown }).window, { timeout: 60_000, interval: 500 }).not.toBeNull();
    const digest = async () =>
      (await world.client.query<{ n: string; h: string | null }>(`SELECT count(*)::text AS n, md5(string_agg(g::text, '|' ORDER BY g.id)) AS h FROM guests g WHERE wedding_id = $1`, [ready.weddingId])).rows[0]!;
    const before = await digest();
    expect(Number(before.n)).toBeGreaterThan(0);
    // T: a whole second after the base, before the guests are deleted.
    await new Promise((r) => setTimeout(r, 1500));
    const t = new Date(Math.floor(Date.now() / 1000) * 1000);
    await new Promise((r) => setTimeout(r, 1100));
    await world.client.query('DELETE FROM guests WHERE wedding_id = $1', [ready.weddingId]);
    // The deletion reaches the change log (the cached copy shows no guests).
    await expect.poll(async () => ((await call(`/api/weddings/${ready.weddingId}/offline`)) as { guests: unknown[] }).guests.length, { timeout: 60_000, interval: 500 }).toBe(0);

    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Guided restore', exact: true }).click();
    await page.getByRole('button', { name: 'Start over' }).click().catch(() => undefined);
    await page.getByLabel(/Search by couple names/).fill(ready.coupleNames);
    await page.getByRole('button', { name: `Choose ${ready.coupleNames}` }).click();
    const when = page.getByLabel(/Or restore as of a time/);
    await when.waitFor();
    // A time before the window: refused in the form, the button stays off.
    await when.fill('2001-01-01T00:00:00');
    await page.getByText(/^Pick a time between/).waitFor();
    expect(await page.getByRole('button', { name: 'Use this time' }).isDisabled()).toBe(true);
    await when.fill(t.toISOString().slice(0, 19));
    await screenshot(page, '06b-restore-point-in-time-pick');
    await page.getByRole('button', { name: 'Use this time' }).click();
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await page.getByLabel('Point in time', { exact: true }).waitFor({ timeout: 60_000 });
    await page.getByText(`${before.n} inserted`).waitFor();
    await page.getByRole('button', { name: 'Show rows' }).first().click();
    await page.getByText('comes back').first().waitFor();
    await screenshot(page, '06c-restore-point-in-time-preview');
    await page.getByRole('button', { name: 'Continue to confirmation' }).click();
    await page.getByLabel(/to confirm/).fill('RESTORE');
    await page.getByRole('button', { name: 'Restore now' }).click();
    await page.getByRole('heading', { name: 'Restored and verified' }).waitFor({ timeout: 60_000 });
    expect(await digest()).toEqual(before);
    const { rows: ops } = await world.client.query<{ t: string }>(`SELECT operation_type AS t FROM recovery_operations WHERE $1 = ANY(affected_weddings) ORDER BY created_at DESC LIMIT 1`, [ready.weddingId]);
    expect(ops[0]!.t).toBe('point-in-time');
    await screenshot(page, '06d-restore-point-in-time-result');

    // Undo reads the recovery point from the local repository, like the restore did.
    await page.getByRole('button', { name: 'Undo this restore…' }).click();
    await page.getByText(`${before.n} deleted`).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Continue to confirmation' }).click();
    await page.getByLabel(/to confirm/).fill('RESTORE');
    await page.getByRole('button', { name: 'Restore now' }).click();
    await page.getByRole('heading', { name: 'Undone and verified' }).waitFor({ timeout: 60_000 });
    expect((await digest()).n).toBe('0');

    // The same over the API alone (what the console calls), which also puts the guests back for
    // the wedding-day screens that follow.
    const post = async (path: string, body: unknown) =>
      fetch(`${agent.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await post('/api/backup/point-in-time/preview', { weddingId: ready.weddingId, at: 'yesterday' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { fields: { field: string }[] } }).error.fields.map((f) => f.field)).toEqual(['body.at']);
    const early = await post('/api/backup/point-in-time/preview', { weddingId: ready.weddingId, at: '2001-01-01T00:00:00Z' });
    expect(early.status).toBe(400);
    expect(((await early.json()) as { error: { message: string } }).error.message).toMatch(/outside tier 1's window/);
    const previewed = (await (await post('/api/backup/point-in-time/preview', { weddingId: ready.weddingId, at: t.toISOString(), dataTypes: ['guests'] })).json()) as {
      pointInTime: { snapshotId: string };
      preview: { confirmationToken: string; totals: { inserted: number } };
    };
    expect(previewed.preview.totals.inserted).toBe(Number(before.n));
    const started = await post('/api/backup/point-in-time/restore', { weddingId: ready.weddingId, snapshotId: previewed.pointInTime.snapshotId, dataTypes: ['guests'], confirmationToken: previewed.preview.confirmationToken });
    expect(started.status).toBe(202);
    const { operation } = (await started.json()) as { operation: { id: string; operationType: string } };
    expect(operation.operationType).toBe('point-in-time');
    await expect.poll(async () => ((await call(`/api/backup/recovery-operations/${operation.id}`)) as { operation: { status: string } }).operation.status, { timeout: 60_000, interval: 300 }).toBe('completed');
    expect(await digest()).toEqual(before);
    await expect.poll(async () => ((await call(`/api/weddings/${ready.weddingId}/offline`)) as { guests: unknown[] }).guests.length, { timeout: 60_000, interval: 500 }).toBe(Number(before.n));
    expect(browser.problems).toEqual([]);
    pit = { weddingId: ready.weddingId, at: t, guests: before };
  });

  it('shows restores queued while the database was unreachable: preview, run (live progress, verified), or cancel', async () => {
    expect(pit).not.toBeNull();
    const { weddingId, at, guests } = pit!;
    const { page } = browser;
    const call = async (path: string) => (await fetch(`${agent.url}${path}`, { headers: { authorization: `Bearer ${agent.token}` } })).json();
    const digest = async () =>
      (await world.client.query<{ n: string; h: string | null }>(`SELECT count(*)::text AS n, md5(string_agg(g::text, '|' ORDER BY g.id)) AS h FROM guests g WHERE wedding_id = $1`, [weddingId])).rows[0]!;
    // Two restores prepared offline (as `restore --wedding ID --at T` queues them when the database is down),
    // written to the agent's local queue the way the CLI does; then the guests are lost again.
    const [{ openCache, cachePath }, { openLocalRepository }, { queueRestore }, { DEFAULT_SCHEMA_MAP }] = await Promise.all([
      import('../agent/cache/open.js'),
      import('../agent/cli/commands/stream.js'),
      import('../agent/jobs/offline-queue.js'),
      import('../agent/contract/schema-map.js'),
    ]);
    const cache = openCache(cachePath(config.home));
    const localRepo = await openLocalRepository(config, await silentLogger());
    const ids: string[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const q = await queueRestore(cache.store, { kind: 'point-in-time', weddingId, at: at.toISOString(), dataTypes: ['guests'], confirmed: false, initiatedByLabel: 'cli:coordinator' }, { store: cache.store, localRepo, map: DEFAULT_SCHEMA_MAP });
        ids.push(q.id);
      }
    } finally {
      await localRepo.store.close();
      cache.store.close();
    }
    await world.client.query('DELETE FROM guests WHERE wedding_id = $1', [weddingId]);
    await expect.poll(async () => ((await call(`/api/weddings/${weddingId}/offline`)) as { guests: unknown[] }).guests.length, { timeout: 60_000, interval: 500 }).toBe(0);

    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Guided restore', exact: true }).click();
    await page.getByRole('button', { name: 'Start over' }).click().catch(() => undefined);
    await page.reload();
    const panel = page.locator('[aria-label="Queued restores"]');
    await panel.waitFor();
    await expect.poll(() => panel.locator('li[data-queued-id]').count()).toBe(2);
    // One is cancelled: it leaves the list and never runs.
    await panel.locator(`li[data-queued-id="${ids[1]}"]`).getByRole('button', { name: /^Cancel queued restore/ }).click();
    await expect.poll(() => panel.locator('li[data-queued-id]').count()).toBe(1);
    const item = panel.locator(`li[data-queued-id="${ids[0]}"]`);
    await item.getByRole('button', { name: /^Preview queued restore/ }).click();
    await item.getByText(`${guests.n} inserted`).waitFor({ timeout: 60_000 });
    await item.getByLabel(/to run it/).fill('RESTORE');
    await screenshot(page, '06e-queued-restore-preview');
    await item.getByRole('button', { name: 'Run queued restore' }).click();
    await page.getByRole('heading', { name: 'Restored and verified' }).waitFor({ timeout: 60_000 });
    expect(await digest()).toEqual(guests);
    const queued = (await call('/api/backup/queued-restores')) as { queued: { id: string; status: string }[] };
    expect(Object.fromEntries(queued.queued.filter((q) => ids.includes(q.id)).map((q) => [q.id, q.status]))).toEqual({ [ids[0]!]: 'done', [ids[1]!]: 'cancelled' });
    await screenshot(page, '06f-queued-restore-result');
    await expect.poll(async () => ((await call(`/api/weddings/${weddingId}/offline`)) as { guests: unknown[] }).guests.length, { timeout: 60_000, interval: 500 }).toBe(Number(guests.n));
    expect(browser.problems).toEqual([]);
  });

  it('rejects bad input in the settings form, naming the field, and saves the corrected settings', async () => {
    const { page } = browser;
    await page.goto(`${agent.url}/#/settings/${wedding.id}`);
    const freq = page.getByLabel('Backup frequency (minutes)');
    await freq.waitFor();
    await freq.fill('5');
    await page.getByLabel('Webhook URL').fill('ftp://example.invalid/hook');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Backup frequency (minutes): must be at least 15 minutes').waitFor();
    await page.getByText('Webhook URL: must be an http:// or https:// URL').waitFor();
    expect(await freq.getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, '08-settings-rejected');
    // Corrected, it is saved through the API and lands in wedding_backup_settings.
    await freq.fill('30');
    await page.getByLabel('Webhook URL').fill('');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Saved.').waitFor();
    const { rows } = await world.client.query<{ m: number }>('SELECT backup_frequency_minutes AS m FROM wedding_backup_settings WHERE wedding_id = $1', [wedding.id]);
    expect(rows[0]?.m).toBe(30);
    // Below the form: the repository and what the scheduler will run next.
    await page.getByRole('table', { name: 'Schedule' }).or(page.getByText('Nothing scheduled in the next 24 hours.')).waitFor();
    await page.getByRole('heading', { name: 'Schedule: the next 24 hours' }).scrollIntoViewIfNeeded();
    await screenshot(page, '08b-settings-schedule');
  });

  it("shows today's wedding from the local copy, and still with the database stopped (offline banner)", async () => {
    const { page } = browser;
    const call = async (path: string) => (await fetch(`${agent.url}${path}`, { headers: { authorization: `Bearer ${agent.token}` } })).json();
    // The tier 1 stream loads the weddings of their high-priority period into the local cache.
    const todays = (await world.client.query<{ id: string; couple_names: string }>(`SELECT id::text, couple_names FROM weddings WHERE wedding_date = (now() AT TIME ZONE 'UTC')::date ORDER BY id`)).rows;
    expect(todays.length).toBeGreaterThan(0);
    await expect
      .poll(async () => ((await call('/api/weddings/today')) as { weddings: { weddingId: string; state: string }[] }).weddings.filter((w) => w.state === 'ready').length, { timeout: 60_000, interval: 500 })
      .toBeGreaterThan(0);
    const ready = ((await call('/api/weddings/today')) as { weddings: { weddingId: string; coupleNames: string; state: string }[] }).weddings.find((w) => w.state === 'ready')!;
    const guests = (await world.client.query<{ first_name: string }>('SELECT first_name FROM guests WHERE wedding_id = $1 ORDER BY id', [ready.weddingId])).rows;

    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Wedding day', exact: true }).click();
    await page.locator(`a[href="#/wedding-day/${ready.weddingId}"]`).click();
    const sheet = page.locator('[aria-label="Run sheet"]');
    await sheet.getByRole('table', { name: 'Guests' }).waitFor();
    expect(await sheet.getByRole('table', { name: 'Guests' }).locator('tbody tr').count()).toBe(guests.length);
    await screenshot(page, '09-wedding-day');
    // The printed run sheet: navigation, buttons and banners left out.
    await page.emulateMedia({ media: 'print' });
    expect(await page.getByRole('navigation', { name: 'Screens' }).isVisible()).toBe(false);
    await screenshot(page, '09b-run-sheet-print');
    await page.emulateMedia({ media: 'screen' });

    // The database goes away: the run sheet still opens, from the cache, with the offline banner.
    await proxy.cut();
    await expect.poll(async () => ((await call('/api/weddings/today')) as { stream: { mode: string } }).stream.mode, { timeout: 60_000, interval: 500 }).toBe('offline');
    await page.reload();
    await page.getByRole('alert', { name: 'Offline' }).waitFor();
    await page.locator(`a[href="#/wedding-day/${ready.weddingId}"]`).click();
    await sheet.getByRole('table', { name: 'Guests' }).waitFor();
    expect(await sheet.getByRole('table', { name: 'Guests' }).locator('tbody tr').count()).toBe(guests.length);
    expect(await sheet.textContent()).toContain(ready.coupleNames);
    await screenshot(page, '10-wedding-day-offline');
    // The whole session: no CSP violation, no uncaught error in any screen.
    expect(browser.problems).toEqual([]);
  });
});
