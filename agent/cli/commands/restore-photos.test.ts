import { createHash } from 'node:crypto';
import { readdir, readFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../../../test-support/cli.js';
import { createTestDatabase } from '../../../test-support/db.js';
import { cliEnv, createBackupWorld, type BackupWorld } from '../../../test-support/fixtures.js';

/**
 * Photo files of a restore into another database (--target-url): written to the photo store
 * given for it (--target-photo-store), each checked by sha256 — never to the live photo store;
 * without one, none are written and both the preview and the result say so (never a silent
 * claim). A restore into the live database writes them to the configured store, as before.
 */
describe('restore --target-url: photo files', () => {
  let world: BackupWorld;
  let snapshotId: string;
  let env: Record<string, string>;
  const cli = (args: string[]): Promise<CliRun> => runCli(args, env);
  const livePhotos = async () => (await readdir(join(world.dir, 'photos'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 3 });
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    env = cliEnv(world);
  });
  afterAll(async () => world?.close());

  it('without --target-photo-store: no photo file written anywhere, and the preview and the result say how many were not restored', async () => {
    const empty = await createTestDatabase('rphoto');
    try {
      const before = await livePhotos();
      const dry = await cli(['restore', snapshotId, '--scope', 'complete', '--target-url', empty.url, '--dry-run']);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(/photo files: \d+ in scope, 0 to write back \(\d+ photo file\(s\) in scope NOT restored: .*--target-photo-store/);
      const r = await cli(['restore', snapshotId, '--scope', 'complete', '--target-url', empty.url, '--yes']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/WARNING: \d+ photo file\(s\) in scope NOT restored/);
      expect(r.stdout).not.toMatch(/photo files written back/);
      const second = await createTestDatabase('rphoto');
      const json = await cli(['restore', snapshotId, '--scope', 'complete', '--target-url', second.url, '--yes', '--json']);
      await second.drop();
      const op = JSON.parse(json.stdout).operation;
      expect(op.dataRestored).toMatchObject({ photosWritten: 0, photosSkipped: expect.stringMatching(/NOT restored/) });
      expect(op.dataRestored.photosInScope).toBeGreaterThan(0);
      expect(op.successMetrics).toMatchObject({ photosChecked: 0, photosNotRestored: op.dataRestored.photosInScope });
      expect(await livePhotos()).toBe(before);
    } finally {
      await empty.drop();
    }
  });

  it('with --target-photo-store: every photo file in scope is written there with its sha256, the live photo store untouched; the option alone is refused', async () => {
    const empty = await createTestDatabase('rphoto');
    const store = await mkdtemp(join(tmpdir(), 'wedsync-target-photos-'));
    try {
      const before = await livePhotos();
      const r = await cli(['restore', snapshotId, '--scope', 'complete', '--target-url', empty.url, '--target-photo-store', store, '--yes', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const op = JSON.parse(r.stdout).operation;
      expect(op.dataRestored.photosSkipped).toBeUndefined();
      expect(op.dataRestored.photosWritten).toBe(op.dataRestored.photosInScope);
      expect(op.dataRestored.photosWritten).toBeGreaterThan(0);
      // Each photo row of the restored database whose file the snapshot had: present, same sha256.
      const target = new pg.Client({ connectionString: empty.url });
      await target.connect();
      try {
        const files = (await readdir(store, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => relative(store, join(e.parentPath, e.name)));
        expect(files.length).toBe(op.dataRestored.photosWritten);
        for (const key of files) {
          const { rows } = await target.query<{ sha256: string }>('SELECT sha256 FROM photos WHERE storage_key = $1', [key]);
          expect(rows, key).toHaveLength(1);
          expect(createHash('sha256').update(await readFile(join(store, key))).digest('hex')).toBe(rows[0]!.sha256);
        }
      } finally {
        await target.end();
      }
      expect(await livePhotos()).toBe(before);

      const alone = await cli(['restore', snapshotId, '--scope', 'complete', '--target-photo-store', store, '--yes']);
      expect(alone.code).toBe(2);
      expect(alone.stderr).toMatch(/--target-photo-store needs --target-url/);
    } finally {
      await empty.drop();
    }
  });
});
