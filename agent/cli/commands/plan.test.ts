import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test-support/db.js';
import { SMALL_SEED } from '../../../test-support/fixtures.js';
import { seed } from '../../source/seed.js';
import { runCli } from '../../../test-support/cli.js';

const cli = runCli;

describe('wedsync-backup plan and status', () => {
  let db: TestDatabase;
  let home: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase('plancli');
    home = await mkdtemp(join(tmpdir(), 'wedsync-plancli-'));
    await writeFile(join(home, 'pass'), 'plan cli passphrase\n');
    env = { DATABASE_URL: db.url, WEDSYNC_HOME: home, WEDSYNC_PASSPHRASE_FILE: join(home, 'pass'), WEDSYNC_TIME_ZONE: 'UTC' };
    const init = await cli(['init', '--json'], env);
    expect(init.code, init.stderr).toBe(0);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await seed(client, { weddings: 6, ...SMALL_SEED, photoFilesPerWedding: 0 });
    await client.end();
  });
  afterAll(async () => {
    await db?.drop();
    await rm(home, { recursive: true, force: true });
  });

  it('plan --now is deterministic and says what runs, when and why', async () => {
    const args = ['plan', '--now', '2026-11-28T12:00:00Z', '--hours', '24', '--json'];
    const a = await cli(args, env);
    const b = await cli(args, env);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const plan = JSON.parse(a.stdout);
    expect(plan).toMatchObject({ ok: true, now: '2026-11-28T12:00:00.000Z', until: '2026-11-29T12:00:00.000Z', timeZone: 'UTC' });
    expect(plan.weddings[0]).toMatchObject({ level: 'wedding-day', priority: 9, frequencyMinutes: 15 });
    expect(new Set(plan.entries.map((e: { tier: number }) => e.tier))).toEqual(new Set([1, 2, 3, 4]));
    // Sunday 03:00 is in the window, but no off-site repository is configured.
    expect(plan.entries.find((e: { tier: number }) => e.tier === 4)).toMatchObject({ at: '2026-11-29T03:00:00.000Z', skipped: expect.stringMatching(/no off-site repository/) });
    expect(plan.entries.find((e: { tier: number }) => e.tier === 3)).toMatchObject({ at: '2026-11-29T02:00:00.000Z', backupType: 'full', lane: 'routine' });
    const text = await cli(['plan', '--now', '2026-11-28T12:00:00Z', '--hours', '1'], env);
    expect(text.stdout).toMatch(/^plan from 2026-11-28T12:00:00.000Z to 2026-11-28T13:00:00.000Z \(UTC\)/);
    expect(text.stdout).toMatch(/wedding-day\s+9\s+every 15 min/);
  });

  it('bad input is one line naming the value, exit 2', async () => {
    const zone = await cli(['plan', '--time-zone', 'Mars/Olympus'], env);
    expect(zone.code).toBe(2);
    expect(zone.stderr.trim().split('\n')).toEqual(['wedsync-backup: time zone "Mars/Olympus" is not an IANA zone like Europe/London or UTC']);
    const cron = await cli(['plan', '--full-cron', 'every day'], env);
    expect(cron.code).toBe(2);
    expect(cron.stderr).toMatch(/daily full cron "every day" is invalid/);
    const hours = await cli(['plan', '--hours', '0'], env);
    expect(hours.code).toBe(2);
    expect(hours.stderr).toMatch(/--hours/);
  });

  it('status reports upcoming weddings without snapshots as needing attention (exit 1)', async () => {
    const r = await cli(['status', '--json'], env);
    expect(r.code).toBe(1);
    const status = JSON.parse(r.stdout);
    expect(status.healthy).toBe(false);
    expect(status.tiers).toHaveLength(4);
    expect(status.warnings.join('\n')).toMatch(/no agent is running/);
  });
});
