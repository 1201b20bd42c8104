import { describe, expect, it } from 'vitest';
import { isWedsyncError } from '../contract/errors.js';
import { MemoryBlobStore } from '../storage/memory/memory-store.js';
import { packName } from './format.js';
import { initRepository, openRepository } from './repository.js';
import { TEST_KDF, guestRows } from './test-helpers.js';

/** The small Repository methods validation is built on: loadIndexReportingDamage, indexedPacks, openBlob. */

const PASS = 'check api passphrase';
let n = 0;

async function twoSessions() {
  const store = new MemoryBlobStore(`check-api-${n++}`);
  const repo = await initRepository(store, PASS, { kdf: TEST_KDF, packSize: 64 * 1024 });
  const a = await repo.saveBlob('segment', guestRows(1, 50));
  await repo.flush();
  const b = await repo.saveBlob('segment', guestRows(2, 50));
  await repo.flush();
  return { store, a: a.id, b: b.id };
}

describe('Repository.loadIndexReportingDamage', () => {
  it('loads every intact index file and reports the damaged one instead of throwing', async () => {
    const { store, a, b } = await twoSessions();
    const names = (await store.list('index/')).map((x) => x.name).sort();
    expect(names).toHaveLength(2);
    const bytes = await store.get(names[0]!);
    bytes[20] = bytes[20]! ^ 0xff;
    await store.put(names[0]!, bytes);

    const strict = await openRepository(store, PASS);
    await expect(strict.loadIndex()).rejects.toSatisfy((e) => isWedsyncError(e, 'INTEGRITY'));

    const repo = await openRepository(store, PASS);
    const result = await repo.loadIndexReportingDamage();
    expect(result.damaged).toEqual([{ indexId: names[0]!.slice('index/'.length), reason: expect.stringMatching(/damaged/) }]);
    expect(result.indexFiles).toBe(1);
    // Exactly one of the two blobs is still indexed: the one the intact file lists.
    expect([repo.blobEntry(a), repo.blobEntry(b)].filter(Boolean)).toHaveLength(1);
  });

  it('reports nothing damaged on a clean repository', async () => {
    const { store } = await twoSessions();
    const repo = await openRepository(store, PASS);
    expect(await repo.loadIndexReportingDamage()).toMatchObject({ damaged: [], indexFiles: 2, blobs: 2 });
  });
});

describe('Repository.indexedPacks and openBlob', () => {
  it('lists indexed packs with their stored sizes, and opens a blob read out of a whole pack', async () => {
    const { store, a } = await twoSessions();
    const repo = await openRepository(store, PASS);
    await repo.loadIndex();
    const packs = repo.indexedPacks();
    expect(packs).toHaveLength(2);
    for (const p of packs) {
      expect(p.blobCount).toBe(1);
      expect((await store.head(packName(p.id)))!.size).toBe(p.size);
    }
    const entry = repo.blobEntry(a)!;
    const whole = await store.get(packName(entry.packId));
    const sealed = whole.subarray(entry.offset, entry.offset + entry.length);
    expect(repo.openBlob(a, sealed, 'test').equals(guestRows(1, 50))).toBe(true);

    const bad = Buffer.from(sealed);
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
    expect(() => repo.openBlob(a, bad, 'test')).toThrow(/blob .* in test is damaged/);
  });
});
