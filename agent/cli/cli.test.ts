import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { freePort } from '../source/embedded.js';
import { runCli } from '../../test-support/cli.js';

const cli = runCli;

describe('wedsync-backup command line', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let home: string;
  beforeAll(async () => {
    db = await createTestDatabase('cli');
    home = await mkdtemp(join(tmpdir(), 'wedsync-cli-'));
    await writeFile(join(home, 'pass'), 'cli test passphrase\n');
    env = { DATABASE_URL: db.url, WEDSYNC_HOME: home, WEDSYNC_PASSPHRASE_FILE: join(home, 'pass') };
  });
  afterAll(async () => db?.drop());

  it('--help lists the commands and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['init', 'seed', 'backup', 'snapshots', 'show', 'demo', 'agent']) expect(r.stdout).toContain(c);
  });

  it('an unknown flag is exit 2 with one line naming it', async () => {
    const r = await cli(['backup', '--frobnicate'], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--frobnicate');
  });

  it('--weddings -3 is exit 2 naming the flag and the value', async () => {
    const r = await cli(['seed', '--weddings', '-3'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--weddings.*-3.*positive integer|positive integer.*-3/);
  });

  it('a bad DATABASE_URL is exit 2; an unreachable database is exit 1; neither prints a stack', async () => {
    const bad = await cli(['init'], { ...env, DATABASE_URL: 'http://nope' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/DATABASE_URL must be a postgres/);
    const port = await freePort();
    const down = await cli(['init'], { ...env, DATABASE_URL: `postgres://u:secret@127.0.0.1:${port}/x` });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the database at 127\.0\.0\.1:\d+\/x/);
    expect(down.stderr).not.toContain('secret');
    expect(down.stderr).not.toMatch(/\n\s+at /);
    const verbose = await cli(['init', '--verbose'], { ...env, DATABASE_URL: `postgres://u:secret@127.0.0.1:${port}/x` });
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it('--json prints exactly one JSON object, also for errors', async () => {
    const r = await cli(['seed', '--weddings', 'x', '--json'], env);
    expect(r.code).toBe(2);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
  });

  it('init is idempotent, seed fills the schema, backup/snapshots/show work end to end', async () => {
    const first = await cli(['init', '--json'], env);
    expect(first.code).toBe(0);
    const one = JSON.parse(first.stdout);
    expect(one.applied.length).toBeGreaterThanOrEqual(3);
    expect(one.repository.created).toBe(true);
    const second = JSON.parse((await cli(['init', '--json'], env)).stdout);
    expect(second.applied).toEqual([]);
    expect(second.repository.created).toBe(false);

    const seeded = await cli(['seed', '--weddings', '5', '--guests-per-wedding', '10', '--timeline-events-per-wedding', '4', '--vendors-per-wedding', '3', '--photos-per-wedding', '4', '--photo-files-per-wedding', '1', '--json'], env);
    expect(seeded.code).toBe(0);
    expect(JSON.parse(seeded.stdout).counts).toMatchObject({ weddings: 5, guests: 50, vendors: 15, timeline_events: 20, photos: 20 });

    const backup = await cli(['backup', '--json'], env);
    expect(backup.code).toBe(0);
    const b = JSON.parse(backup.stdout);
    for (const k of ['snapshotId', 'jobId', 'type', 'weddingCount', 'rowCount', 'bytesNew', 'bytesTotal', 'durationMs']) expect(b).toHaveProperty(k);
    expect(b.weddingCount).toBe(5);

    const list = JSON.parse((await cli(['snapshots', '--json'], env)).stdout);
    expect(list.snapshots.map((s: { id: string }) => s.id)).toContain(b.snapshotId);
    const show = await cli(['show', 'latest', '--json'], env);
    expect(JSON.parse(show.stdout)).toMatchObject({ snapshotId: b.snapshotId, totals: { weddingCount: 5 } });

    const unknown = await cli(['backup', '--type', 'emergency', '--wedding', '00000000-0000-4000-8000-000000000001'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('00000000-0000-4000-8000-000000000001');
    const notUuid = await cli(['backup', '--type', 'emergency', '--wedding', "1' OR '1'='1"], env);
    expect(notUuid.code).toBe(2);
    expect(notUuid.stderr).toMatch(/must be a UUID/);

    const wrong = await cli(['backup'], { ...env, WEDSYNC_PASSPHRASE_FILE: '', WEDSYNC_PASSPHRASE: 'not it' });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/wrong passphrase/);
  });
  it('a repository path that cannot be written is exit 2 naming it', async () => {
    // Under a regular file: no folder can be made there, whoever we are (tests run as root).
    const target = join(home, 'pass', 'repo');
    const r = await cli(['init', '--repo', target], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(target);
  });

});
