import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RestorePlan } from '../core/restore-plan.js';
import { initRepository } from '../repository/repository.js';
import { TEST_KDF } from '../repository/test-helpers.js';
import { MemoryBlobStore } from '../storage/memory/memory-store.js';
import { streamSegments } from './restore-prepare.js';

const plan = { snapshotId: 's', scopes: [] } as unknown as RestorePlan;

describe('streaming segments into a restore', () => {
  it('delivers every segment once, with the reader bounded ahead of a slow consumer, across many packs and ranges', async () => {
    const repo = await initRepository(new MemoryBlobStore(), 'pass', { kdf: TEST_KDF, packSize: 65536 });
    const saved = new Map<string, Buffer>();
    for (let i = 0; i < 300; i++) {
      const data = randomBytes(2000 + (i % 5) * 600);
      saved.set((await repo.saveBlob('segment', data)).id, data);
    }
    await repo.flush();
    const got = new Map<string, Buffer>();
    for await (const { id, data } of streamSegments(repo, plan, [...saved.keys()], 3)) {
      got.set(id, data);
      await new Promise((r) => setImmediate(r));
    }
    expect(got.size).toBe(300);
    for (const [id, data] of saved) expect(got.get(id)?.equals(data), id).toBe(true);
  });

  it('a consumer that stops early stops the reading; an unknown segment is an error', async () => {
    const repo = await initRepository(new MemoryBlobStore(), 'pass', { kdf: TEST_KDF, packSize: 65536 });
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push((await repo.saveBlob('segment', randomBytes(1000))).id);
    await repo.flush();
    let n = 0;
    for await (const _ of streamSegments(repo, plan, ids, 2)) if (++n === 5) break;
    expect(n).toBe(5);
    const reading = (async () => {
      for await (const _ of streamSegments(repo, plan, ['f'.repeat(64)])) void _;
    })();
    await expect(reading).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
  });
});
