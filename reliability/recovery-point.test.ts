import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRecoveryCatalog, type RecoveryCatalog } from '../agent/catalog/recovery.js';
import { DEFAULT_SCHEMA_MAP } from '../agent/contract/schema-map.js';
import { previewRestore, startRestore, undoRequest, type RestoreDeps, type RestoreRequest } from '../agent/jobs/restore.js';
import { silentLogger } from '../agent/logger.js';
import { openBackupSource } from '../agent/source/backup-source.js';
import { createBackupWorld, restoreDepsFor, type BackupWorld } from '../test-support/fixtures.js';
import { tableDigests } from './invariants.js';
import { report } from './profile.js';

/**
 * The recovery point holds exactly what the apply overwrote (issue 10's follow-up, item 2): it
 * is taken inside the apply transaction, once the rows in scope are locked, through that
 * transaction's exported snapshot. A concurrent writer that touches a row in scope while the
 * recovery point is being taken waits for the restore to commit and lands after it: nothing it
 * wrote is lost, the restore does not fail on it, and undo brings back exactly the rows as the
 * apply found them. (Taken before the locks, as it was, the writer's commit fell between the
 * recovery point and the apply: the restore then refused with CONFLICT.)
 */
describe('recovery point vs a concurrent writer', () => {
  let world: BackupWorld;
  let recovery: RecoveryCatalog;
  let writer: pg.Client;
  let deps: RestoreDeps;
  let snapshotId: string;
  let wedding: string;

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 6 });
    recovery = await openRecoveryCatalog(world.db.url);
    writer = new pg.Client({ connectionString: world.db.url, application_name: 'wedsync reliability writer' });
    await writer.connect();
    deps = restoreDepsFor(world, recovery, await silentLogger());
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    wedding = (await world.repo.loadManifest(snapshotId)).weddings[0]!.weddingId;
  });
  afterAll(async () => {
    await writer?.end();
    await recovery?.close();
    await world?.close();
  });

  async function restore(request: RestoreRequest, extra: Partial<RestoreDeps> = {}) {
    const d = { ...deps, ...extra } as RestoreDeps;
    const { preview, prepared } = await previewRestore(d, request);
    const started = await startRestore(d, request, preview.confirmationToken, { initiatedByLabel: 'reliability test' }, prepared);
    return started.done;
  }

  it('a write to a row in scope while the recovery point is taken lands after the restore; undo returns exactly the rows the apply overwrote', { timeout: 60_000 }, async () => {
    // The day's damage: wedding A's guests deleted, its timeline edited.
    await world.client.query(`DELETE FROM guests WHERE wedding_id = $1`, [wedding]);
    await world.client.query(`UPDATE timeline_events SET title = title || ' (moved)' WHERE wedding_id = $1`, [wedding]);
    const damaged = await tableDigests(world.client);
    const target = (await world.client.query<{ id: string }>(`SELECT id FROM timeline_events WHERE wedding_id = $1 ORDER BY id LIMIT 1`, [wedding])).rows[0]!.id;

    // Someone edits one of wedding A's timeline events just as the recovery point is read.
    let write: Promise<unknown> | undefined;
    const openSource: RestoreDeps['backup']['openSource'] = async (url, whole, o) => {
      write = writer.query(`UPDATE timeline_events SET title = 'edited during the restore' WHERE id = $1`, [target]);
      // Until it is either done or waiting for a lock the restore holds.
      for (let i = 0; i < 200; i++) {
        const settled = await Promise.race([write.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 25))]);
        if (settled) break;
        const { rows } = await world.client.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'wedsync reliability writer' AND wait_event_type = 'Lock'`);
        if (rows.length) break;
      }
      return openBackupSource(url, DEFAULT_SCHEMA_MAP, whole ? 2 : 1, o);
    };
    const op = await restore({ snapshotId, recoveryScope: 'wedding-only', weddingIds: [wedding] }, { backup: { catalog: world.catalog, openSource } });
    expect(op.status).toBe('completed');
    await write;

    // The writer's edit is there (after the restore), the rest of the wedding restored.
    const title = (await world.client.query<{ title: string }>(`SELECT title FROM timeline_events WHERE id = $1`, [target])).rows[0]!.title;
    expect(title).toBe('edited during the restore');
    const guests = (await world.client.query<{ n: number }>(`SELECT count(*)::int AS n FROM guests WHERE wedding_id = $1`, [wedding])).rows[0]!.n;
    expect(guests).toBeGreaterThan(0);

    // Undo: the recovery point is exactly what the apply overwrote — the damaged state, without the later edit.
    const undone = await restore(await undoRequest(deps, op.id));
    expect(undone.status).toBe('completed');
    expect(await tableDigests(world.client)).toEqual(damaged);
    report('recovery point vs concurrent writer', { concurrentWrites: 1, writesLost: 0, restoresRefused: 0 });
  });

  it('a recovery point source that does not read through the apply transaction\'s snapshot is refused before anything changes', async () => {
    const before = await tableDigests(world.client);
    const ignoring: RestoreDeps['backup']['openSource'] = (url, whole) => openBackupSource(url, DEFAULT_SCHEMA_MAP, whole ? 2 : 1);
    await world.client.query(`UPDATE timeline_events SET title = title || ' (again)' WHERE wedding_id = $1`, [wedding]);
    const changed = await tableDigests(world.client);
    expect(changed).not.toEqual(before);
    await expect(restore({ snapshotId, recoveryScope: 'wedding-only', weddingIds: [wedding] }, { backup: { catalog: world.catalog, openSource: ignoring } })).rejects.toThrow(/did not read through the apply transaction's snapshot/);
    expect(await tableDigests(world.client)).toEqual(changed);
  });
});
