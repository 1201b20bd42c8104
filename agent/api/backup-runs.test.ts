import { describe, expect, it } from 'vitest';
import { WedsyncError } from '../contract/errors.js';
import type { BackupResultBody } from '../contract/api.js';
import { BackupRuns, type RunEmergencyBackup } from './backup-runs.js';
import { EventHub } from './event-hub.js';

const W = '11111111-1111-4111-8111-111111111111';
const settle = () => new Promise((r) => setTimeout(r, 0));

/** A backup that runs until the test ends it, or until its signal aborts (as runBackup stops at its next segment). */
function heldBackup() {
  let finish: (r: BackupResultBody) => void = () => undefined;
  let seen: AbortSignal | null = null;
  const run: RunEmergencyBackup = (_req, { signal }) =>
    new Promise<BackupResultBody>((resolve, reject) => {
      seen = signal;
      finish = resolve;
      signal.addEventListener('abort', () => reject(new WedsyncError('CANCELLED', 'the backup was cancelled')), { once: true });
    });
  return { run, finish: (r: BackupResultBody) => finish(r), signal: () => seen };
}

describe('BackupRuns: cancelling and bounded memory', () => {
  it('a cancel stops a running run, which ends failed with CANCELLED naming who and why; finished or unknown runs refuse', async () => {
    const runs = new BackupRuns({ hub: new EventHub() });
    const held = heldBackup();
    const run = runs.start({ weddingId: W }, held.run);
    await settle();
    expect(held.signal()?.aborted).toBe(false);
    expect(runs.cancel(run.id, { label: 'user:ada@example.com', reason: 'wrong wedding' }).state).toBe('running');
    await settle();
    expect(held.signal()?.aborted).toBe(true);
    expect(runs.get(run.id)).toMatchObject({ state: 'failed', error: { code: 'CANCELLED', message: 'the backup was cancelled by user:ada@example.com: wrong wedding' } });
    expect(runs.get(run.id).finishedAt).not.toBeNull();
    expect(() => runs.cancel(run.id, { label: 'x' })).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => runs.cancel('00000000-0000-4000-8000-000000000000', { label: 'x' })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));

    // One that completed is not cancellable either.
    const done = heldBackup();
    const other = runs.start({ weddingId: W }, done.run);
    await settle();
    done.finish({ snapshotId: 's' } as BackupResultBody);
    await settle();
    expect(runs.get(other.id).state).toBe('completed');
    expect(() => runs.cancel(other.id, { label: 'x' })).toThrow(/already completed/);
  });

  it('a run cancelled before its turn never starts its backup', async () => {
    const runs = new BackupRuns({ hub: new EventHub() });
    let started = false;
    const run = runs.start({ weddingId: W }, async () => {
      started = true;
      return { snapshotId: 's' } as BackupResultBody;
    });
    runs.cancel(run.id, { label: 'agent' });
    await settle();
    await settle();
    expect(started).toBe(false);
    expect(runs.get(run.id)).toMatchObject({ state: 'failed', error: { code: 'CANCELLED', message: 'the backup was cancelled by agent' } });
  });

  it('keeps finished runs for keepMs and at most maxRuns of them, and refuses more than maxActive at once', async () => {
    let now = 0;
    const runs = new BackupRuns({ hub: new EventHub(), keepMs: 1_000, maxRuns: 3, maxActive: 2, now: () => now });
    const quick = async () => ({ snapshotId: 's' }) as BackupResultBody;
    const finished: string[] = [];
    for (let i = 0; i < 5; i++) {
      finished.push(runs.start({ weddingId: W }, quick).id);
      await settle();
      await settle();
    }
    // The two oldest finished went when the fourth and fifth started.
    expect(() => runs.get(finished[0]!)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => runs.get(finished[1]!)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(runs.get(finished[4]!).state).toBe('completed');

    const a = heldBackup();
    const b = heldBackup();
    const first = runs.start({ weddingId: W }, a.run);
    const second = runs.start({ weddingId: W }, b.run);
    expect(() => runs.start({ weddingId: W }, quick)).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
    runs.cancel(first.id, { label: 'agent' });
    await settle();
    await settle();
    const third = runs.start({ weddingId: W }, quick); // room again
    expect(third.state).toBe('running');
    await settle();
    await settle();

    // keepMs after they finished, finished runs are forgotten; a running one never is.
    now = 5_000;
    for (const id of [finished[4]!, first.id, third.id]) expect(() => runs.get(id)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(runs.get(second.id).state).toBe('running');
    b.finish({ snapshotId: 's' } as BackupResultBody);
    await settle();
    expect(runs.get(second.id).state).toBe('completed');
  });
});
