import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase } from '../../../test-support/db.js';
import { cliEnv, createBackupWorld, type BackupWorld } from '../../../test-support/fixtures.js';
import { runCli, type CliRun as Run } from '../../../test-support/cli.js';

/** `restore` and `undo` as users run them: the compiled CLI, exit codes, one JSON object, nothing changed unless confirmed. */

describe('wedsync-backup restore / undo', () => {
  let world: BackupWorld;
  let snapshotId: string;
  let wedding: string;
  let env: Record<string, string>;

  const cli = (args: string[], extraEnv: Record<string, string> = {}): Promise<Run> => runCli(args, { ...env, ...extraEnv });
  const guests = async () => (await world.client.query<{ n: number }>('SELECT count(*)::int AS n FROM guests WHERE wedding_id = $1', [wedding])).rows[0]!.n;

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 4 });
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    wedding = (await world.client.query<{ id: string }>('SELECT id FROM weddings ORDER BY id LIMIT 1')).rows[0]!.id;
    env = cliEnv(world);
    await world.client.query('DELETE FROM guests WHERE wedding_id = $1', [wedding]);
  });
  afterAll(async () => world?.close());

  it('--dry-run and an unconfirmed run print the preview and change nothing', async () => {
    const dry = await cli(['restore', 'latest', '--scope', 'wedding-only', '--wedding', wedding, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/restore plan: snapshot .* scope wedding-only, into the live database/);
    expect(dry.stdout).toMatch(/guests\s+12\s+0\s+0\s+0/);
    expect(dry.stdout).toContain('dry run: nothing was changed');
    const unconfirmed = await cli(['restore', snapshotId, '--scope', 'wedding-only', '--wedding', wedding, '--json']);
    expect(unconfirmed.code).toBe(0);
    const lines = unconfirmed.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const json = JSON.parse(lines[0]!);
    expect(json).toMatchObject({ ok: true, confirmed: false, dryRun: false, preview: { totals: { inserted: 12 } } });
    expect(json.preview.confirmationToken).toBeUndefined();
    expect(json.hint).toContain(`wedsync-backup restore ${snapshotId} --scope wedding-only --wedding ${wedding} --yes`);
    expect(await guests()).toBe(0);
    expect((await world.client.query('SELECT count(*)::int AS n FROM recovery_operations')).rows[0].n).toBe(0);
  });

  it('--yes restores, and undo --yes brings back the state before', async () => {
    const r = await cli(['restore', 'latest', '--scope', 'selective', '--wedding', wedding, '--data-types', 'guests', '--yes', '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ ok: true, confirmed: true, operation: { status: 'completed', operationType: 'selective-restore', initiatedByLabel: expect.stringMatching(/^cli:/) } });
    expect(await guests()).toBe(12);

    const text = await cli(['undo', json.operation.id]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('nothing was changed: to restore, run again with --yes');
    expect(await guests()).toBe(12);
    const undo = await cli(['undo', json.operation.id, '--yes']);
    expect(undo.code).toBe(0);
    expect(undo.stdout).toMatch(/undo [0-9a-f-]{36} completed/);
    expect(undo.stdout).toContain('guests: 0 inserted, 0 updated, 12 deleted');
    expect(await guests()).toBe(0);
    // Both are sensitive actions in the audit log, started and finished.
    const { rows } = await world.client.query<{ action: string }>(`SELECT action FROM backup_audit_log WHERE action LIKE 'restore.%' OR action LIKE 'undo.%' ORDER BY seq`);
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['restore.start', 'undo.start']));
    expect(rows.length).toBeGreaterThanOrEqual(4);
  });

  it('bad input: exit 2, one line naming it, nothing changed', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['restore', 'latest', '--wedding', wedding], /--scope/],
      [['restore', 'latest', '--scope', 'everything'], /--scope/],
      [['restore', 'yesterday', '--scope', 'complete'], /snapshot must be a snapshot id/],
      [['restore', '00000000-0000-4000-8000-000000000000', '--scope', 'complete', '--yes'], /snapshot 00000000-0000-4000-8000-000000000000 not found/],
      [['restore', 'latest', '--scope', 'wedding-only'], /needs at least one --wedding/],
      [['restore', 'latest', '--scope', 'selective', '--wedding', wedding], /needs --data-types/],
      [['restore', 'latest', '--scope', 'complete', '--wedding', wedding, '--yes'], /complete restore takes no --wedding/],
      [['restore', 'latest', '--scope', 'selective', '--data-types', 'cake'], /unknown data type "cake"/],
      [['restore', 'latest', '--scope', 'wedding-only', '--wedding', '00000000-0000-4000-8000-000000000000', '--yes'], /is not in snapshot/],
      [['restore', 'latest', '--scope', 'complete', '--target-url', 'mysql://x', '--yes'], /--target-url must be a postgres/],
      [['undo', 'nope'], /must be a UUID/],
      [['undo', '00000000-0000-4000-8000-000000000000', '--yes'], /recovery operation 00000000-0000-4000-8000-000000000000 not found/],
    ];
    for (const [args, message] of cases) {
      const r = await cli([...args, '--json']);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(JSON.parse(r.stdout).ok).toBe(false);
    }
    expect(await guests()).toBe(0);
  });

  it('a complete restore into an empty database decodes on the codec pool, shuts it down and exits', async () => {
    const empty = await createTestDatabase('rcli');
    try {
      // Offload threshold 0: even this small snapshot goes through the worker threads.
      const r = await cli(['restore', snapshotId, '--scope', 'complete', '--target-url', empty.url, '--yes', '--json', '--log-level', 'debug'], { WEDSYNC_CODEC_OFFLOAD_BYTES: '0', WEDSYNC_CODEC_THREADS: '2' });
      expect(r.code, r.stderr.slice(-500)).toBe(0);
      expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toMatchObject({ ok: true, operation: { status: 'completed', operationType: 'full-restore' } });
      const closed = r.stderr.split('\n').filter((l) => l.includes('codec pool closed')).map((l) => JSON.parse(l) as { threads: number; batches: number });
      expect(closed).toHaveLength(1);
      expect(closed[0]!.batches).toBeGreaterThan(0);
      const target = new pg.Client({ connectionString: empty.url });
      await target.connect();
      try {
        for (const t of ['weddings', 'guests', 'timeline_events', 'vendors', 'photos']) {
          const q = `SELECT count(*)::int AS n, md5(string_agg(x::text, ',' ORDER BY x::text)) AS h FROM ${t} x`;
          // The snapshot was taken before one wedding's guests were deleted from the live database.
          if (t === 'guests') expect((await target.query(q)).rows[0].n).toBe(12 * 4);
          else expect((await target.query(q)).rows[0]).toEqual((await world.client.query(q)).rows[0]);
        }
      } finally {
        await target.end();
      }
    } finally {
      await empty.drop();
    }
  });
});
