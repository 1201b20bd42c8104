import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupWorld, restoreDepsFor, type BackupWorld } from '../../test-support/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { openRecoveryCatalog, type RecoveryCatalog } from '../catalog/recovery.js';
import { isWedsyncError } from '../contract/errors.js';
import type { Manifest } from '../contract/manifest.js';
import { silentLogger } from '../logger.js';
import { previewRestore, startRestore, undoRequest, diffRowsPage, type RestoreDeps, type RestoreRequest } from './restore.js';
import { ConfirmationTokens } from './restore-token.js';

/** Every sample table's content as one md5 (rows sorted as text): equal hashes = equal tables. */
const SAMPLE_TABLES = ['organizations', 'user_profiles', 'weddings', 'vendors', 'guests', 'timeline_events', 'photos', 'wedding_backup_settings'];
async function tableHashes(client: pg.Client, where: Record<string, string> = {}): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of SAMPLE_TABLES) {
    const { rows } = await client.query<{ h: string | null; n: string }>(`SELECT md5(string_agg(x::text, E'\\n' ORDER BY x::text)) AS h, count(*)::text AS n FROM ${t} x ${where[t] ?? ''}`);
    out[t] = `${rows[0]!.n}:${rows[0]!.h ?? ''}`;
  }
  return out;
}

async function expectError(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(isWedsyncError(err), String(err)).toBe(true);
    expect((err as Error & { code: string }).code).toBe(code);
    expect((err as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected an error');
}

describe('guided restore (real PostgreSQL, folder repository)', () => {
  let world: BackupWorld;
  let recovery: RecoveryCatalog;
  let deps: RestoreDeps;
  let full: Manifest;
  let weddings: string[];
  let atSnapshot: Record<string, string>;
  let aGuestsAtSnapshot: string | undefined;

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 12 });
    recovery = await openRecoveryCatalog(world.db.url);
    deps = restoreDepsFor(world, recovery, await silentLogger());
    const result = await world.backup({ type: 'full' });
    full = await world.repo.loadManifest(result.snapshotId);
    weddings = full.weddings.map((w) => w.weddingId);
    atSnapshot = await tableHashes(world.client);
    aGuestsAtSnapshot = (await tableHashes(world.client, { guests: `WHERE wedding_id = '${weddings[0]}'` })).guests;
    expect(aGuestsAtSnapshot).toMatch(/^12:/);
  });
  afterAll(async () => {
    await recovery?.close();
    await world?.close();
  });

  /** Preview, then confirm with the preview's token in the same call (what --yes does). */
  async function restore(request: RestoreRequest) {
    const { preview, prepared } = await previewRestore(deps, request);
    const started = await startRestore(deps, request, preview.confirmationToken, { initiatedByLabel: 'test' }, prepared);
    return { preview, operation: await started.done };
  }

  it("restores wedding A's deleted guests exactly, leaving wedding B's newer edits and A's timeline alone", async () => {
    const [a, b] = weddings as [string, string];
    await world.client.query('DELETE FROM guests WHERE wedding_id = $1', [a]);
    await world.client.query(`UPDATE guests SET dietary_requirements = 'B changed after the snapshot' WHERE wedding_id = $1`, [b]);
    await world.client.query(`UPDATE timeline_events SET notes = 'A timeline edited later' WHERE wedding_id = $1`, [a]);
    const bGuests = { guests: `WHERE wedding_id = '${b}'` };
    const aTimeline = { timeline_events: `WHERE wedding_id = '${a}'` };
    const before = { b: (await tableHashes(world.client, bGuests)).guests, aTimeline: (await tableHashes(world.client, aTimeline)).timeline_events };

    const { preview, operation } = await restore({ snapshotId: full.snapshotId, recoveryScope: 'selective', weddingIds: [a], dataTypes: ['guests'] });
    expect(preview.plan.tables).toEqual(['public.guests']);
    expect(preview.totals).toEqual({ inserted: 12, updated: 0, deleted: 0, unchanged: 0 });
    expect(preview.items).toEqual([expect.objectContaining({ weddingId: a, dataType: 'guests', table: 'public.guests', snapshotRows: 12, liveRows: 0, inserted: 12 })]);

    expect(operation).toMatchObject({ status: 'completed', operationType: 'selective-restore', recoveryScope: 'selective', affectedWeddings: [a], dataTypes: ['guests'], backupSnapshotId: full.snapshotId });
    expect(operation.preRecoverySnapshot).toMatch(/^[0-9a-f-]{36}$/);
    expect(operation.successMetrics).toMatchObject({ verified: true, ok: true, checked: 1, rows: 12, mismatches: [] });
    expect((operation.dataRestored as { tables: unknown[] }).tables).toEqual([{ table: 'public.guests', dataType: 'guests', inserted: 12, updated: 0, deleted: 0 }]);

    expect((await tableHashes(world.client, { guests: `WHERE wedding_id = '${a}'` })).guests).toBe(aGuestsAtSnapshot);
    expect((await tableHashes(world.client, bGuests)).guests).toBe(before.b);
    expect((await tableHashes(world.client, aTimeline)).timeline_events).toBe(before.aTimeline);
    expect((await tableHashes(world.client)).vendors).toBe(atSnapshot.vendors);

    // The recovery point holds exactly A's guests as they were: none.
    const rp = await world.repo.loadManifest(operation.preRecoverySnapshot!);
    expect(rp).toMatchObject({ type: 'recovery-point', scope: { kind: 'partial', weddingIds: [a], tables: ['public.guests'] }, weddings: [] });
  });

  it('undo brings the database back to its state before the restore', async () => {
    const [a] = weddings as [string];
    const beforeRestore = await tableHashes(world.client);
    await world.client.query(`UPDATE guests SET rsvp_status = 'declined' WHERE wedding_id = $1`, [a]);
    const edited = await tableHashes(world.client);
    const { operation } = await restore({ snapshotId: full.snapshotId, recoveryScope: 'wedding-only', weddingIds: [a] });
    expect(operation.status).toBe('completed');
    expect(operation.operationType).toBe('emergency-restore');
    expect(await tableHashes(world.client)).not.toEqual(edited);

    const undo = await undoRequest(deps, operation.id);
    expect(undo).toMatchObject({ snapshotId: operation.preRecoverySnapshot, recoveryScope: 'wedding-only', weddingIds: [a], undoOf: operation.id });
    const { operation: undone } = await restore(undo);
    expect(undone).toMatchObject({ status: 'completed', operationType: 'undo', backupSnapshotId: operation.preRecoverySnapshot });
    expect(await tableHashes(world.client)).toEqual(edited);
    expect(beforeRestore).not.toEqual(edited);
    // An undo has its own recovery point: undoing the undo is a redo.
    expect(undone.preRecoverySnapshot).toBeTruthy();
  });

  it('selective restore of timeline only, every wedding: other data types keep their later edits', async () => {
    const [, b, c] = weddings as [string, string, string];
    await world.client.query(`DELETE FROM timeline_events WHERE wedding_id = $1`, [b]);
    await world.client.query(`UPDATE timeline_events SET title = 'moved' WHERE wedding_id = $1`, [c]);
    await world.client.query(`UPDATE guests SET table_number = 7 WHERE wedding_id = $1`, [c]);
    const guests = (await tableHashes(world.client)).guests;
    const { preview, operation } = await restore({ snapshotId: full.snapshotId, recoveryScope: 'selective', dataTypes: ['timeline'] });
    expect(preview.plan.weddingIds).toHaveLength(12);
    // B's deleted events come back, C's moved ones and A's (edited in the first test) are updated.
    expect(preview.totals).toMatchObject({ inserted: 6, updated: 12, deleted: 0 });
    expect(operation.status).toBe('completed');
    const now = await tableHashes(world.client);
    expect(now.timeline_events).toBe(atSnapshot.timeline_events);
    expect(now.guests).toBe(guests);
  });

  it('the preview counts are what the apply does (inserts, updates, deletes, FK order with a vendor)', async () => {
    const c = weddings[3]!;
    const { rows: ev } = await world.client.query<{ id: string }>(`SELECT id FROM timeline_events WHERE wedding_id = $1 ORDER BY id LIMIT 1`, [c]);
    // Deleting a vendor nulls its timeline events (ON DELETE SET NULL); the restore must insert the vendor before re-linking them.
    const { rows: vendor } = await world.client.query<{ id: string }>(`UPDATE timeline_events SET vendor_id = (SELECT id FROM vendors WHERE wedding_id = $1 ORDER BY id LIMIT 1) WHERE id = $2 RETURNING vendor_id AS id`, [c, ev[0]!.id]);
    const mid = await world.backup({ type: 'full' });
    await world.client.query(`DELETE FROM vendors WHERE id = $1`, [vendor[0]!.id]);
    await world.client.query(`DELETE FROM guests WHERE id IN (SELECT id FROM guests WHERE wedding_id = $1 ORDER BY id LIMIT 3)`, [c]);
    await world.client.query(`UPDATE guests SET last_name = 'Changed' WHERE id IN (SELECT id FROM guests WHERE wedding_id = $1 ORDER BY id DESC LIMIT 2)`, [c]);
    await world.client.query(`INSERT INTO guests (wedding_id, first_name) VALUES ($1, 'Gatecrasher'), ($1, 'Another')`, [c]);
    const { preview, operation } = await restore({ snapshotId: mid.snapshotId, recoveryScope: 'wedding-only', weddingIds: [c] });
    const byType = (dt: string) => preview.items.filter((i) => i.dataType === dt).reduce((a, i) => ({ inserted: a.inserted + i.inserted, updated: a.updated + i.updated, deleted: a.deleted + i.deleted }), { inserted: 0, updated: 0, deleted: 0 });
    expect(byType('guests')).toEqual({ inserted: 3, updated: 2, deleted: 2 });
    expect(byType('vendors')).toEqual({ inserted: 1, updated: 0, deleted: 0 });
    expect(byType('timeline')).toEqual({ inserted: 0, updated: 1, deleted: 0 });
    expect(operation.status).toBe('completed');
    const restored = (operation.dataRestored as { byDataType: Record<string, unknown> }).byDataType;
    for (const dt of ['guests', 'vendors', 'timeline', 'wedding', 'photos']) expect(restored[dt], dt).toEqual(byType(dt));

    // The rows behind a count, paged and decoded.
    const page = await diffRowsPage(deps, { snapshotId: mid.snapshotId, recoveryScope: 'wedding-only', weddingIds: [c] }, { weddingId: c, table: 'public.guests', offset: 0, limit: 100 });
    expect(page.total).toBe(0); // already restored
  });

  it('diff rows: the changed rows of one wedding and table, paged, with values', async () => {
    const d = weddings[4]!;
    await world.client.query(`UPDATE guests SET email = 'new\tmail@example.com' WHERE id IN (SELECT id FROM guests WHERE wedding_id = $1 ORDER BY id LIMIT 1)`, [d]);
    await world.client.query(`DELETE FROM guests WHERE id IN (SELECT id FROM guests WHERE wedding_id = $1 ORDER BY id DESC LIMIT 2)`, [d]);
    const req: RestoreRequest = { snapshotId: full.snapshotId, recoveryScope: 'selective', weddingIds: [d], dataTypes: ['guests'] };
    const page = await diffRowsPage(deps, req, { weddingId: d, table: 'public.guests', offset: 0, limit: 2 });
    expect(page.total).toBe(3);
    expect(page.rows).toHaveLength(2);
    expect(page.rows[0]).toMatchObject({ change: 'updated', before: expect.objectContaining({ email: 'new\tmail@example.com' }) });
    expect(page.rows[0]!.key).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const inserted = await diffRowsPage(deps, req, { weddingId: d, table: 'public.guests', change: 'inserted', offset: 0, limit: 10 });
    expect(inserted.rows.map((r) => r.change)).toEqual(['inserted', 'inserted']);
    await expectError(diffRowsPage(deps, req, { weddingId: d, table: 'public.vendors', offset: 0, limit: 10 }), 'BAD_INPUT', /not in this restore's scope/);
    await restore(req);
  });

  it('photos: a lost photo file is written back and checked; the rows come back too', async () => {
    const w = full.weddings.find((x) => x.photos.length)!;
    const photo = w.photos[0]!;
    await world.photoStore.delete(photo.storageKey);
    await world.client.query(`UPDATE photos SET caption = 'changed' WHERE wedding_id = $1`, [w.weddingId]);
    const { preview, operation } = await restore({ snapshotId: full.snapshotId, recoveryScope: 'selective', weddingIds: [w.weddingId], dataTypes: ['photos'] });
    expect(preview.photos).toEqual({ inScope: w.photos.length, toWrite: 1 });
    expect(operation.status).toBe('completed');
    expect(operation.dataRestored).toMatchObject({ photosWritten: 1 });
    const back = await world.photoStore.get(photo.storageKey);
    expect(createHash('sha256').update(back).digest('hex')).toBe(photo.sha256);
    expect((await tableHashes(world.client)).photos).toBe(atSnapshot.photos);
    // The recovery point kept the photo rows as they were (captions changed).
    const rp = await world.repo.loadManifest(operation.preRecoverySnapshot!);
    expect(rp.scope).toMatchObject({ tables: ['public.photos'] });
    expect(rp.weddings[0]!.rowCounts.photos).toBe(5);
  });

  it('complete restore into the live database: whole tables back, weddings added later removed, undo returns', async () => {
    const snap = await world.backup({ type: 'full' });
    const atSnap = await tableHashes(world.client);
    const { rows: org } = await world.client.query<{ id: string }>('SELECT id FROM organizations ORDER BY id LIMIT 1');
    await world.client.query(`UPDATE organizations SET name = 'Renamed' WHERE id = $1`, [org[0]!.id]);
    await world.client.query(`INSERT INTO weddings (organization_id, couple_names, wedding_date) VALUES ($1, 'Late & Added', '2027-05-01')`, [org[0]!.id]);
    await world.client.query(`DELETE FROM weddings WHERE id = $1`, [weddings[9]]);
    const changed = await tableHashes(world.client);
    const { preview, operation } = await restore({ snapshotId: snap.snapshotId, recoveryScope: 'complete' });
    expect(preview.plan.emptyTarget).toBe(false);
    expect(preview.totals.deleted).toBe(1);
    expect(preview.items.find((i) => i.table === 'public.organizations')).toMatchObject({ weddingId: null, updated: 1 });
    expect(operation).toMatchObject({ status: 'completed', operationType: 'full-restore' });
    expect(await tableHashes(world.client)).toEqual(atSnap);
    const rp = await world.repo.loadManifest(operation.preRecoverySnapshot!);
    expect(rp).toMatchObject({ type: 'recovery-point', scope: { kind: 'complete' } });

    const { operation: undone } = await restore(await undoRequest(deps, operation.id));
    expect(undone.status).toBe('completed');
    expect(await tableHashes(world.client)).toEqual(changed);
    await restore({ snapshotId: snap.snapshotId, recoveryScope: 'complete' });
    expect(await tableHashes(world.client)).toEqual(atSnap);
  });

  it('a deleted wedding comes back whole with wedding-only (wedding row first, then its children)', async () => {
    const gone = weddings[10]!;
    const whole = (id: string) => ({ weddings: `WHERE id = '${id}'`, guests: `WHERE wedding_id = '${id}'`, vendors: `WHERE wedding_id = '${id}'`, timeline_events: `WHERE wedding_id = '${id}'`, photos: `WHERE wedding_id = '${id}'`, wedding_backup_settings: `WHERE wedding_id = '${id}'` });
    const before = await tableHashes(world.client, whole(gone));
    await world.client.query('DELETE FROM weddings WHERE id = $1', [gone]);
    await expectError(previewRestore(deps, { snapshotId: full.snapshotId, recoveryScope: 'selective', weddingIds: [gone], dataTypes: ['guests'] }), 'BAD_INPUT', /no longer exists .* --scope wedding-only/);
    const { operation } = await restore({ snapshotId: full.snapshotId, recoveryScope: 'wedding-only', weddingIds: [gone] });
    expect(operation.status).toBe('completed');
    const after = await tableHashes(world.client, whole(gone));
    for (const t of ['weddings', 'guests', 'vendors', 'photos', 'wedding_backup_settings']) expect(after[t], t).toBe(before[t]);
  });

  describe('bad input and faults change nothing', () => {
    let before: Record<string, string>;
    beforeAll(async () => {
      await world.client.query(`DELETE FROM guests WHERE wedding_id = $1`, [weddings[5]]);
    });
    const unchanged = async () => expect(await tableHashes(world.client)).toEqual(before);
    const operations = async () => (await recovery.list({ limit: 1000 })).length;

    it('unknown snapshot, wedding not in the snapshot, wrong scope combinations', async () => {
      before = await tableHashes(world.client);
      const ops = await operations();
      await expectError(previewRestore(deps, { snapshotId: '00000000-0000-4000-8000-000000000000', recoveryScope: 'complete' }), 'NOT_FOUND', /snapshot 00000000-0000-4000-8000-000000000000/);
      await expectError(previewRestore(deps, { snapshotId: full.snapshotId, recoveryScope: 'wedding-only', weddingIds: ['00000000-0000-4000-8000-00000000000a'] }), 'NOT_FOUND', /wedding 00000000-0000-4000-8000-00000000000a is not in snapshot/);
      await expectError(previewRestore(deps, { snapshotId: full.snapshotId, recoveryScope: 'complete', weddingIds: [weddings[0]!] }), 'BAD_INPUT', /complete restore takes no --wedding/);
      await expectError(previewRestore(deps, { snapshotId: full.snapshotId, recoveryScope: 'wedding-only' }), 'BAD_INPUT', /needs at least one --wedding/);
      await expectError(previewRestore(deps, { snapshotId: full.snapshotId, recoveryScope: 'wedding-only', weddingIds: [weddings[0]!], dataTypes: ['guests'] }), 'BAD_INPUT', /use --scope selective/);
      await expectError(previewRestore(deps, { snapshotId: full.snapshotId, recoveryScope: 'selective', weddingIds: [weddings[0]!] }), 'BAD_INPUT', /needs --data-types/);
      await unchanged();
      expect(await operations()).toBe(ops);
    });

    it('a data type a partial snapshot lacks; a complete restore of a partial snapshot', async () => {
      const emergency = await world.backup({ type: 'emergency', weddingIds: [weddings[5]!], dataTypes: ['guests'] });
      before = await tableHashes(world.client);
      await expectError(previewRestore(deps, { snapshotId: emergency.snapshotId, recoveryScope: 'selective', weddingIds: [weddings[5]!], dataTypes: ['timeline'] }), 'BAD_INPUT', /holds no timeline data \(it holds: guests\)/);
      await expectError(previewRestore(deps, { snapshotId: emergency.snapshotId, recoveryScope: 'complete' }), 'BAD_INPUT', /is partial/);
      await expectError(previewRestore(deps, { snapshotId: emergency.snapshotId, recoveryScope: 'selective', weddingIds: [weddings[6]!], dataTypes: ['guests'] }), 'NOT_FOUND', /is not in snapshot/);
      await unchanged();
    });

    it('expired, forged, reused tokens and a token for another plan', async () => {
      before = await tableHashes(world.client);
      const ops = await operations();
      const req: RestoreRequest = { snapshotId: full.snapshotId, recoveryScope: 'selective', weddingIds: [weddings[5]!], dataTypes: ['guests'] };
      let clock = Date.now();
      const expiring = { ...deps, tokens: new ConfirmationTokens({ ttlMs: 1000, now: () => clock }) };
      const { preview, prepared } = await previewRestore(expiring, req);
      await prepared.release();
      clock += 2000;
      await expectError(startRestore(expiring, req, preview.confirmationToken), 'BAD_INPUT', /confirmationToken expired/);
      await expectError(startRestore(deps, req, preview.confirmationToken), 'BAD_INPUT', /not issued by this agent/);
      await expectError(startRestore(deps, req, 'nonsense'), 'BAD_INPUT', /not a restore confirmation token/);
      const other = await previewRestore(deps, { ...req, dataTypes: ['vendors'] });
      await other.prepared.release();
      await expectError(startRestore(deps, req, other.preview.confirmationToken), 'BAD_INPUT', /issued for another restore plan/);
      await unchanged();
      expect(await operations()).toBe(ops);

      // Used once, then refused (the catalog remembers, also for another process).
      const ok = await previewRestore(deps, req);
      await (await startRestore(deps, req, ok.preview.confirmationToken, {}, ok.prepared)).done;
      const restored = await tableHashes(world.client);
      await expectError(startRestore(deps, req, ok.preview.confirmationToken), 'CONFLICT', /already used/);
      expect(await tableHashes(world.client)).toEqual(restored);
      await world.client.query(`DELETE FROM guests WHERE wedding_id = $1`, [weddings[5]]);
    });

    it('live rows changed after the preview: refused, operation failed, nothing changed', async () => {
      const req: RestoreRequest = { snapshotId: full.snapshotId, recoveryScope: 'selective', weddingIds: [weddings[5]!], dataTypes: ['guests'] };
      const { preview, prepared } = await previewRestore(deps, req);
      await world.client.query(`INSERT INTO guests (wedding_id, first_name) VALUES ($1, 'Late arrival')`, [weddings[5]]);
      before = await tableHashes(world.client);
      const started = await startRestore(deps, req, preview.confirmationToken, {}, prepared);
      await expectError(started.done, 'CONFLICT', /changed after the preview/);
      await unchanged();
      const op = await recovery.get(started.operation.id);
      expect(op).toMatchObject({ status: 'failed', errorDetails: expect.objectContaining({ code: 'CONFLICT' }) });
    });

    it('a lost connection mid-apply rolls back and marks the operation failed', async () => {
      const req: RestoreRequest = { snapshotId: full.snapshotId, recoveryScope: 'wedding-only', weddingIds: [weddings[5]!] };
      before = await tableHashes(world.client);
      const cutting: RestoreDeps = {
        ...deps,
        afterMerge: async () => {
          await world.client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'wedsync-backup restore' AND state = 'idle in transaction'`);
        },
      };
      const { preview, prepared } = await previewRestore(cutting, req);
      const started = await startRestore(cutting, req, preview.confirmationToken, {}, prepared);
      await expectError(started.done, 'DB_UNREACHABLE', /connection|reach/);
      await unchanged();
      expect(await recovery.get(started.operation.id)).toMatchObject({ status: 'failed', errorDetails: expect.objectContaining({ code: 'DB_UNREACHABLE' }) });
    });

    it('a corrupted segment refuses before anything changes, naming wedding and data type', async () => {
      const w = full.weddings.find((x) => x.weddingId === weddings[7])!;
      const segment = w.tables['public.timeline_events']![0]!;
      const entry = world.repo.blobEntry(segment.id)!;
      const file = join(world.dir, 'repo', 'packs', entry.packId.slice(0, 2), entry.packId);
      const bytes = await readFile(file);
      bytes[entry.offset + 20]! ^= 0xff;
      await writeFile(file, bytes);
      await world.reopen();
      before = await tableHashes(world.client);
      const ops = await operations();
      await expectError(
        previewRestore(deps, { snapshotId: full.snapshotId, recoveryScope: 'wedding-only', weddingIds: [weddings[7]!] }),
        'INTEGRITY',
        new RegExp(`segment of wedding ${weddings[7]}, data type timeline \\(public.timeline_events\\) is damaged`),
      );
      await unchanged();
      expect(await operations()).toBe(ops);
      bytes[entry.offset + 20]! ^= 0xff;
      await writeFile(file, bytes);
    });
  });

  describe('complete restore into an empty database', () => {
    let empty: TestDatabase;
    afterAll(async () => empty?.drop());

    it('recreates the schema and every row: each table equals the source (even with another TimeZone there)', async () => {
      const snap = await world.backup({ type: 'full' });
      const source = await tableHashes(world.client);
      empty = await createTestDatabase('rs');
      // Values print differently there; the restore reads and compares them as the live database prints them.
      await world.client.query(`ALTER DATABASE ${empty.name} SET timezone TO 'America/New_York'`);
      const sourceZone = (await world.client.query<{ tz: string }>(`SELECT current_setting('TimeZone') AS tz`)).rows[0]!.tz;
      expect(sourceZone).not.toBe('America/New_York');
      const { preview, operation } = await restore({ snapshotId: snap.snapshotId, recoveryScope: 'complete', targetUrl: empty.url });
      expect(preview.plan).toMatchObject({ emptyTarget: true, recoveryScope: 'complete' });
      expect(preview.totals.inserted).toBe(preview.plan.snapshotRows);
      expect(operation).toMatchObject({ status: 'completed', operationType: 'full-restore', preRecoverySnapshot: null });
      const target = new pg.Client({ connectionString: empty.url });
      await target.connect();
      try {
        await target.query(`SELECT set_config('TimeZone', $1, false)`, [sourceZone]);
        expect(await tableHashes(target)).toEqual(source);
        // Indexes and foreign keys came back after the rows.
        const { rows } = await target.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f'`);
        expect(rows[0].n).toBeGreaterThanOrEqual(7);
        const { rows: idx } = await target.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname IN ('guests_wedding_id_idx', 'guests_pkey', 'organizations_slug_key')`);
        expect(idx[0].n).toBe(3);
        const { rows: pks } = await target.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'p'`);
        expect(pks[0].n).toBeGreaterThanOrEqual(8);
      } finally {
        await target.end();
      }
      // Undo has nothing to bring back for an empty database.
      await expectError(undoRequest(deps, operation.id), 'BAD_INPUT', /no recovery point/);
    });

    it('the live database lost everything: a complete restore brings the schema, the rows and the photo files back', async () => {
      const lost = await createTestDatabase('rs');
      try {
        const photo = full.weddings.find((w) => w.photos.length)!.photos[1]!;
        await world.photoStore.delete(photo.storageKey);
        const liveLost: RestoreDeps = { ...deps, liveUrl: lost.url };
        const { preview, prepared } = await previewRestore(liveLost, { snapshotId: full.snapshotId, recoveryScope: 'complete' });
        expect(preview.plan).toMatchObject({ target: 'live', emptyTarget: true });
        expect(preview.photos.toWrite).toBe(1);
        const op = await (await startRestore(liveLost, { snapshotId: full.snapshotId, recoveryScope: 'complete' }, preview.confirmationToken, {}, prepared)).done;
        expect(op).toMatchObject({ status: 'completed', dataRestored: expect.objectContaining({ photosWritten: 1 }) });
        expect(createHash('sha256').update(await world.photoStore.get(photo.storageKey)).digest('hex')).toBe(photo.sha256);
      } finally {
        await lost.drop();
      }
    });

    it('the operation row cannot be written: the schema, created meanwhile, is rolled back — the empty database stays empty, no operation', async () => {
      const other = await createTestDatabase('rs');
      try {
        // The schema transaction runs while the row is written; the row fails once the DDL is in.
        let schemaSeen = false;
        const failing: RestoreDeps = {
          ...deps,
          recovery: {
            ...recovery,
            begin: async () => {
              for (let i = 0; i < 200 && !schemaSeen; i++) {
                const c = new pg.Client({ connectionString: other.url });
                await c.connect();
                // Another session sees the schema transaction's locks, not its tables.
                const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = current_database() AND l.pid <> pg_backend_pid() AND l.mode = 'AccessExclusiveLock'`);
                await c.end();
                schemaSeen = rows[0].n > 0;
                if (!schemaSeen) await new Promise((r) => setTimeout(r, 10));
              }
              throw new Error('catalog unavailable (injected)');
            },
          },
        };
        const req: RestoreRequest = { snapshotId: full.snapshotId, recoveryScope: 'complete', targetUrl: other.url };
        const { preview, prepared } = await previewRestore(failing, req);
        const before = (await recovery.list({ limit: 1000 })).length;
        await expect(startRestore(failing, req, preview.confirmationToken, {}, prepared)).rejects.toThrow(/injected/);
        expect(schemaSeen).toBe(true);
        const target = new pg.Client({ connectionString: other.url });
        await target.connect();
        const { rows } = await target.query(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`);
        await target.end();
        expect(rows[0].n).toBe(0);
        expect((await recovery.list({ limit: 1000 })).length).toBe(before);
      } finally {
        await other.drop();
      }
    });

    it('a damaged segment met while loading leaves the empty database empty', async () => {
      const w = full.weddings.find((x) => x.weddingId === weddings[8])!;
      const segment = w.tables['public.guests']![0]!;
      const entry = world.repo.blobEntry(segment.id)!;
      const file = join(world.dir, 'repo', 'packs', entry.packId.slice(0, 2), entry.packId);
      const bytes = await readFile(file);
      bytes[entry.offset + 20]! ^= 0xff;
      await writeFile(file, bytes);
      const other = await createTestDatabase('rs');
      try {
        const req: RestoreRequest = { snapshotId: full.snapshotId, recoveryScope: 'complete', targetUrl: other.url };
        const { preview, prepared } = await previewRestore(deps, req);
        const started = await startRestore(deps, req, preview.confirmationToken, {}, prepared);
        await expectError(started.done, 'INTEGRITY', new RegExp(`segment of wedding ${weddings[8]}, data type guests \\(public.guests\\) is damaged`));
        const target = new pg.Client({ connectionString: other.url });
        await target.connect();
        const { rows } = await target.query(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`);
        await target.end();
        expect(rows[0].n).toBe(0);
        expect(await recovery.get(started.operation.id)).toMatchObject({ status: 'failed' });
      } finally {
        bytes[entry.offset + 20]! ^= 0xff;
        await writeFile(file, bytes);
        await other.drop();
      }
    });
  });
});
