import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRecoveryCatalog, type RecoveryCatalog } from '../agent/catalog/recovery.js';
import { previewRestore, startRestore, undoRequest, type RestoreDeps, type RestoreRequest } from '../agent/jobs/restore.js';
import { silentLogger } from '../agent/logger.js';
import { createBackupWorld, restoreDepsFor, type BackupWorld } from '../test-support/fixtures.js';
import { CHILDREN, runNode, type ChildResult } from './child.js';
import { expectEverySnapshotValid, tableDigests } from './invariants.js';
import { pick, report, seeded } from './profile.js';

/**
 * Crash consistency of the restore (issue 10, item 1): a confirmed restore of one wedding in
 * its own process is killed with SIGKILL, in turn inside the apply transaction (after the
 * merge, before verification and COMMIT: a marker the child prints), right after COMMIT (before
 * the outcome is recorded again: another marker), and at a random moment of its whole run
 * (preview, recovery point, apply, commit, audit). After every kill:
 *  - its recovery operation is never left `running`: the next reader (here: list) finds its
 *    owner gone and records it failed, "interrupted" — or, when the kill came after COMMIT,
 *    it already says completed (recorded inside the apply transaction), and undo of it works;
 *  - every table of the wedding database is exactly as before the restore — or, when the kill
 *    came after COMMIT, exactly as a completed restore leaves it: never anything in between;
 *  - every snapshot listed validates (read-data), and the recovery point, when one was taken,
 *    holds exactly the rows in scope as they were (a restore of it would change nothing);
 *  - a retried restore succeeds and leaves the database exactly as a restore does.
 */
describe('restore killed -9 mid-apply and at random moments', () => {
  let world: BackupWorld;
  let recovery: RecoveryCatalog;
  let deps: RestoreDeps;
  let snapshotId: string;
  let wedding: string;
  let damaged: Record<string, string>;
  let restored: Record<string, string>;

  /** The day's damage: wedding A's guests deleted, its timeline and vendors edited. Reproducible from the restored state. */
  const damage = async () => {
    await world.client.query(`DELETE FROM guests WHERE wedding_id = $1`, [wedding]);
    await world.client.query(`UPDATE timeline_events SET title = title || ' (moved)' WHERE wedding_id = $1`, [wedding]);
    await world.client.query(`UPDATE vendors SET phone = '+44 20 7946 0000' WHERE wedding_id = $1`, [wedding]);
  };
  const request = (): RestoreRequest => ({ snapshotId, recoveryScope: 'wedding-only', weddingIds: [wedding] });
  async function restoreInProcess(r: RestoreRequest = request()) {
    const { preview, prepared } = await previewRestore(deps, r);
    const started = await startRestore(deps, r, preview.confirmationToken, { initiatedByLabel: 'reliability test' }, prepared);
    return { preview, operation: await started.done };
  }

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 8 });
    recovery = await openRecoveryCatalog(world.db.url);
    deps = restoreDepsFor(world, recovery, await silentLogger());
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    wedding = (await world.repo.loadManifest(snapshotId)).weddings[0]!.weddingId;
    // The two states a restore may leave: before (damaged) and after (restored).
    await damage();
    damaged = await tableDigests(world.client);
    await restoreInProcess();
    restored = await tableDigests(world.client);
    expect(restored).not.toEqual(damaged);
    await damage();
    expect(await tableDigests(world.client)).toEqual(damaged);
  });
  afterAll(async () => {
    await recovery?.close();
    await world?.close();
  });

  /**
   * The operation a run created (null when it was killed before it claimed its token), once the
   * server has ended the killed process's sessions: a kill is seen by PostgreSQL when it next
   * reads the socket, a moment after the process is gone; until then its owner lock is held.
   */
  async function settledOperation(before: string[]) {
    for (let attempt = 0; ; attempt++) {
      const op = (await recovery.list({ limit: 1000 })).find((o) => !before.includes(o.id)) ?? null;
      if (op?.status !== 'running' || attempt >= 100) return op;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const spawnRestore = (opts: { holdInApplyMs?: number; holdAfterCommitMs?: number; killAfterMs?: number; killOn?: RegExp }): Promise<ChildResult> =>
    runNode(
      [
        join(CHILDREN, 'restore-child.mjs'),
        JSON.stringify({ url: world.db.url, repo: join(world.dir, 'repo'), photos: join(world.dir, 'photos'), passphrase: world.passphrase, ...request(), ...(opts.holdInApplyMs ? { holdInApplyMs: opts.holdInApplyMs } : {}), ...(opts.holdAfterCommitMs ? { holdAfterCommitMs: opts.holdAfterCommitMs } : {}) }),
      ],
      { ...(opts.killAfterMs !== undefined ? { killAfterMs: opts.killAfterMs } : {}), ...(opts.killOn ? { killOn: opts.killOn } : {}) },
    );

  it('the database is exactly before or exactly after, the recovery point is intact, and a retried restore succeeds', { timeout: pick(150_000, 1_800_000) }, async () => {
    const prng = seeded('crash-restore');
    const points = pick(8, 30);
    const reference = await spawnRestore({});
    expect(reference.code, reference.stderr.slice(-1500)).toBe(0);
    expect(await tableDigests(world.client)).toEqual(restored);
    await damage();

    let killed = 0;
    let midApply = 0;
    let afterCommit = 0;
    let sawBefore = 0;
    let sawAfter = 0;
    let interrupted = 0;
    let undone = 0;
    for (let i = 0; killed < points; i++) {
      if (i >= points * 3) throw new Error(`only ${killed} of ${i} restores were killed before they completed`);
      const opsBefore = (await recovery.list({ limit: 1000 })).map((o) => o.id);
      const kind = (['apply', 'commit', 'random'] as const)[i % 3]!;
      const r =
        kind === 'apply'
          ? await spawnRestore({ holdInApplyMs: 30_000, killOn: /MERGED/ })
          : kind === 'commit'
            ? await spawnRestore({ holdAfterCommitMs: 30_000, killOn: /COMMITTED/ })
            : await spawnRestore({ killAfterMs: prng.int(0, Math.round(reference.ms)) });
      const where = kind === 'apply' ? 'inside the apply transaction' : kind === 'commit' ? 'right after COMMIT' : `at a random moment (${r.stdout.trim().split('\n').pop() ?? 'start'})`;
      if (r.signal === 'SIGKILL') {
        killed++;
        if (kind === 'apply') midApply++;
        if (kind === 'commit') afterCommit++;
      } else {
        expect(r.code, `${where}: ${r.stderr.slice(-1500)}`).toBe(0);
      }

      // Exactly before, or exactly after: never in between.
      const now = await tableDigests(world.client);
      if (kind === 'apply') expect(now, where).toEqual(damaged);
      else if (kind === 'commit') expect(now, where).toEqual(restored);
      else expect([JSON.stringify(damaged), JSON.stringify(restored)], where).toContain(JSON.stringify(now));
      const isAfter = JSON.stringify(now) === JSON.stringify(restored);
      if (isAfter) sawAfter++;
      else sawBefore++;

      // Every snapshot listed validates; the recovery point this run took holds the rows as they were.
      await expectEverySnapshotValid(world.repo, world.catalog);
      const op = await settledOperation(opsBefore);
      if (op) {
        // Never left running: completed when the data was restored, else failed as interrupted.
        if (isAfter) expect(op, `operation of the run killed ${where}`).toMatchObject({ status: 'completed', successMetrics: { verified: true } });
        else {
          expect(op, `operation of the run killed ${where}`).toMatchObject({ status: 'failed' });
          if (r.signal === 'SIGKILL') {
            expect((op.errorDetails as { message: string }).message).toMatch(/^interrupted: process ended before completion/);
            interrupted++;
          }
        }
      }
      if (op?.preRecoverySnapshot && !isAfter) {
        const rp = await world.repo.loadManifest(op.preRecoverySnapshot);
        expect(rp.scope).toMatchObject({ kind: 'partial', weddingIds: [wedding] });
        const { preview } = await previewRestore(deps, { snapshotId: rp.snapshotId, recoveryScope: 'wedding-only', weddingIds: [wedding], tables: rp.scope?.kind === 'partial' ? rp.scope.tables : undefined }).then(async (p) => {
          await p.prepared.release();
          return p;
        });
        expect(preview.totals, `recovery point of the run killed ${where}`).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });
      }

      if (isAfter && r.signal === 'SIGKILL') {
        // The apply committed, then the process died: undo of it works and brings back the damage.
        const undo = await undoRequest(deps, op!.id);
        const u = await restoreInProcess(undo);
        expect(u.operation.status, where).toBe('completed');
        expect(await tableDigests(world.client), `undo of the run killed ${where}`).toEqual(damaged);
        undone++;
        continue;
      }
      // The retried restore (a new preview and token) succeeds.
      if (!isAfter) {
        const retried = await restoreInProcess();
        expect(retried.operation.status).toBe('completed');
      }
      expect(await tableDigests(world.client)).toEqual(restored);
      await damage();
    }
    const stuck = (await recovery.list({ status: 'running', limit: 1000 })).length;
    expect(stuck).toBe(0);
    report('restore kill -9', { killed, midApply, afterCommit, databaseBefore: sawBefore, databaseAfter: sawAfter, interruptedRecorded: interrupted, undoneAfterCommit: undone, stuckRunningOperations: stuck, rowsLost: 0 });
  });
});
