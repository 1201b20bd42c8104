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

describe('wedsync-backup copy and prune', () => {
  let db: TestDatabase;
  let home: string;
  let env: Record<string, string>;
  let client: pg.Client;
  let offsite: string;

  beforeAll(async () => {
    db = await createTestDatabase('prunecli');
    home = await mkdtemp(join(tmpdir(), 'wedsync-prunecli-'));
    offsite = join(home, 'offsite');
    await writeFile(join(home, 'pass'), 'prune cli passphrase\n');
    env = { DATABASE_URL: db.url, WEDSYNC_HOME: home, WEDSYNC_PASSPHRASE_FILE: join(home, 'pass'), WEDSYNC_TIME_ZONE: 'UTC' };
    expect((await cli(['init', '--json'], env)).code).toBe(0);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await seed(client, { weddings: 4, ...SMALL_SEED, photoFilesPerWedding: 0 });
    expect((await cli(['backup', '--type', 'full', '--json'], env)).code).toBe(0);
    await client.query(`UPDATE guests SET phone = '+44 7700 900321' WHERE wedding_id = (SELECT id FROM weddings ORDER BY id LIMIT 1)`);
    expect((await cli(['backup', '--type', 'incremental', '--json'], env)).code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await client?.end();
    await db?.drop();
    await rm(home, { recursive: true, force: true });
  });

  it('copy sends the snapshot to a new replica and verifies it; a second copy sends nothing', async () => {
    const first = await cli(['copy', 'latest', '--to', offsite, '--verify-data', '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout);
    expect(report).toMatchObject({ ok: true, initialised: true, verified: { manifest: true, dataRead: true } });
    expect(report.blobs.copied).toBe(report.blobs.total);
    const again = await cli(['copy', report.snapshotId, '--to', offsite], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 of \d+ blobs sent .* already there; the snapshot was already there/);
    const row = await client.query(`SELECT jsonb_array_length(offsite_copies) AS n FROM backup_snapshots WHERE id = $1`, [report.snapshotId]);
    expect(row.rows[0].n).toBe(1);
    const bad = await cli(['copy', 'not-a-snapshot', '--to', offsite], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('wedsync-backup: snapshot must be a snapshot id (uuid) or "latest" (got "not-a-snapshot")');
    expect((await cli(['copy', 'latest'], env)).stderr).toMatch(/copy needs a target: --to/);
  });

  it('prune --dry-run changes nothing; prune keeps fresh snapshots and collects nothing they need', async () => {
    const dry = await cli(['prune', '--dry-run', '--json'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, snapshots: { considered: 2, kept: 2, forgotten: [] } });
    // Age the first snapshot by two months: only the incremental is recent; the full goes.
    await client.query(`UPDATE backup_snapshots SET created_at = now() - interval '60 days', retention_until = now() - interval '30 days' WHERE snapshot_type = 'full'`);
    const real = await cli(['prune', '--json'], env);
    expect(real.code, real.stderr).toBe(0);
    const report = JSON.parse(real.stdout);
    expect(report.snapshots.forgotten).toHaveLength(1);
    expect(report.gc.blobs.missing).toEqual([]);
    // Only the real prune is a sensitive action in the audit log, not the dry run.
    const audit = await client.query<{ action: string; details: { forgotten: number } }>(`SELECT action, details FROM backup_audit_log WHERE action = 'prune'`);
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]!.details.forgotten).toBe(1);
    const show = await cli(['show', 'latest', '--json'], env);
    expect(show.code, show.stderr).toBe(0);
    const text = await cli(['prune', '--offsite', '--dry-run'], { ...env, WEDSYNC_OFFSITE_REPO: offsite });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^would prune offsite repository /);
    expect((await cli(['prune', '--offsite'], env)).stderr).toMatch(/--offsite needs the off-site repository/);
  });
});
