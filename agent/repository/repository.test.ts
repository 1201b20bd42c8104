import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorCode, isWedsyncError } from '../contract/errors.js';
import type { SegmentRef } from '../contract/manifest.js';
import type { BlobStore } from '../storage/blob-store.js';
import { LocalBlobStore } from '../storage/local/local-store.js';
import { MemoryBlobStore } from '../storage/memory/memory-store.js';
import { BlobCodec, type MasterKey } from './codec.js';
import { sealConfig } from './config.js';
import { packName } from './format.js';
import { parseKeyFile, unwrapMasterKey } from './keys.js';
import { sealManifest } from './manifest-codec.js';
import { CHECKPOINT_BLOBS, MAX_PACK_BLOBS } from './pack-writer.js';
import { type Repository, initRepository, isRepository, openRepository } from './repository.js';
import { RecordingStore, TEST_KDF, draftManifest, guestRows } from './test-helpers.js';

let storeNo = 0;
const memoryStore = () => new MemoryBlobStore(`repository-test-${storeNo++}`);
const PASS = 'correct horse battery staple';

async function expectCode(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<Error> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  if (!isWedsyncError(error, code)) throw new Error(`expected ${code}, got ${String(error)}`, { cause: error });
  if (message) expect(error.message).toMatch(message);
  return error;
}

async function snapshotOf(store: BlobStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const { name } of await store.list('')) out.set(name, createHash('sha256').update(await store.get(name)).digest('hex'));
  return out;
}

/** The master key, the way only a holder of the passphrase gets it (for forging tests). */
async function masterFor(store: BlobStore, keyId: string): Promise<MasterKey> {
  const parsed = parseKeyFile(await store.get(`keys/${keyId}`), keyId);
  if (parsed.kind !== 'ok') throw new Error('bad key file');
  const master = await unwrapMasterKey(parsed.file, PASS);
  if (!master) throw new Error('cannot unwrap');
  return master;
}

async function saveSegments(repo: Repository, contents: Buffer[]): Promise<SegmentRef[]> {
  const refs: SegmentRef[] = [];
  for (const content of contents) {
    const saved = await repo.saveBlob('segment', content);
    refs.push({ id: saved.id, rows: content.toString().split('\n').length - 1, rawBytes: saved.rawLength });
  }
  return refs;
}

describe('init and open', () => {
  it('creates a repository and opens it with the passphrase', async () => {
    const store = memoryStore();
    expect(await isRepository(store)).toBe(false);
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF, label: 'admin laptop' });
    expect(await isRepository(store)).toBe(true);
    expect(repo.config.formatVersion).toBe(2);
    expect(repo.config.settings.packSize).toBe(4 * 1024 * 1024);
    const names = (await store.list('')).map((b) => b.name).sort();
    expect(names).toEqual(['config', `keys/${repo.keyId}`]);
    // Key files are plaintext JSON with everything needed to derive the wrapping key.
    const keyJson = JSON.parse((await store.get(`keys/${repo.keyId}`)).toString());
    expect(keyJson).toMatchObject({ formatVersion: 1, id: repo.keyId, label: 'admin laptop', kdf: { name: 'scrypt', N: 1024, r: 8, p: 1 } });
    expect(keyJson.wrap.alg).toBe('aes-256-gcm');

    const again = await openRepository(store, PASS);
    expect(again.id).toBe(repo.id);
    expect(again.keyId).toBe(repo.keyId);
  });

  it('refuses to init over an existing repository', async () => {
    const store = memoryStore();
    await initRepository(store, PASS, { kdf: TEST_KDF });
    const before = await snapshotOf(store);
    await expectCode(initRepository(store, 'other', { kdf: TEST_KDF }), 'CONFLICT', /already exists/);
    expect(await snapshotOf(store)).toEqual(before);
  });

  it('validates settings, and re-inits over the leftovers of an init that crashed before its config', async () => {
    const store = memoryStore();
    await expectCode(initRepository(store, PASS, { kdf: TEST_KDF, packSize: 1000 }), 'BAD_INPUT', /packSize/);
    const crashed = await initRepository(store, PASS, { kdf: TEST_KDF });
    await store.delete('config');
    await expectCode(openRepository(store, PASS), 'REPO_NOT_INITIALISED');
    const repo = await initRepository(store, 'new', { kdf: TEST_KDF });
    expect((await store.list('keys/')).map((b) => b.name)).toEqual([`keys/${repo.keyId}`]);
    expect(repo.keyId).not.toBe(crashed.keyId);
    expect((await openRepository(store, 'new')).id).toBe(repo.id);
  });

  it('reports a missing repository, a missing passphrase and a wrong passphrase', async () => {
    const store = memoryStore();
    await expectCode(openRepository(store, PASS), 'REPO_NOT_INITIALISED');
    await initRepository(store, PASS, { kdf: TEST_KDF });
    await expectCode(openRepository(store, ''), 'PASSPHRASE_REQUIRED');
    const before = await snapshotOf(store);
    await expectCode(openRepository(store, 'wrong'), 'WRONG_PASSPHRASE', new RegExp(`^wrong passphrase for repository at ${store.location}$`));
    expect(await snapshotOf(store)).toEqual(before);
  });

  it('refuses a config or key file from a newer format version', async () => {
    const store = memoryStore();
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF });
    const codec = new BlobCodec(await masterFor(store, repo.keyId), 3);
    await store.put('config', sealConfig(codec, { ...repo.config, formatVersion: 3 }));
    await expectCode(openRepository(store, PASS), 'REPO_VERSION_UNSUPPORTED', /format version 3/);

    const other = memoryStore();
    const repo2 = await initRepository(other, PASS, { kdf: TEST_KDF });
    const keyJson = JSON.parse((await other.get(`keys/${repo2.keyId}`)).toString());
    await other.put(`keys/${repo2.keyId}`, Buffer.from(JSON.stringify({ ...keyJson, formatVersion: 2 })));
    await expectCode(openRepository(other, PASS), 'REPO_VERSION_UNSUPPORTED');
  });

  it('treats a config from another repository as INTEGRITY, not a wrong passphrase', async () => {
    const a = memoryStore();
    const b = memoryStore();
    await initRepository(a, PASS, { kdf: TEST_KDF });
    await initRepository(b, PASS, { kdf: TEST_KDF });
    await a.put('config', await b.get('config'));
    await expectCode(openRepository(a, PASS), 'INTEGRITY', /config/);
  });
});

describe('key management', () => {
  it('adds, lists, removes keys and changes a passphrase', async () => {
    const store = memoryStore();
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF, label: 'first' });
    const added = await repo.addKey('second passphrase', { label: 'second' });
    expect(added.current).toBe(false);

    const keys = await repo.listKeys();
    expect(keys.map((k) => [k.label, k.current])).toEqual([
      ['first', true],
      ['second', false],
    ]);
    expect(JSON.stringify(keys)).not.toMatch(/salt|ciphertext|nonce/);

    const viaSecond = await openRepository(store, 'second passphrase');
    expect(viaSecond.id).toBe(repo.id);
    expect(viaSecond.keyId).toBe(added.id);

    // The key in use, and so the last key, can never be removed.
    await expectCode(repo.removeKey(repo.keyId), 'CONFLICT');
    await expectCode(repo.removeKey('0'.repeat(32)), 'NOT_FOUND');
    await viaSecond.removeKey(repo.keyId);
    await expectCode(openRepository(store, PASS), 'WRONG_PASSPHRASE');
    await expectCode(viaSecond.removeKey(added.id), 'CONFLICT', /last key/);

    const changed = await viaSecond.changePassphrase('third passphrase', { kdf: TEST_KDF });
    expect(changed.id).toBe(added.id);
    expect(changed.label).toBe('second');
    await expectCode(openRepository(store, 'second passphrase'), 'WRONG_PASSPHRASE');
    const viaThird = await openRepository(store, 'third passphrase');
    expect(viaThird.keyId).toBe(added.id);
  });

  it('reopen(): a fresh repository over the unwrapped key sees what others stored since, and none once its key file is removed', async () => {
    const store = new RecordingStore(memoryStore());
    const agent = await initRepository(store, PASS, { kdf: TEST_KDF });
    const other = await openRepository(store, PASS);
    const saved = await other.saveBlob('segment', Buffer.from('row of another process\n'));
    await other.flush();
    const writesBefore = store.puts.length;
    const job = await agent.reopen();
    expect(job).not.toBeNull();
    expect(job).not.toBe(agent);
    expect(store.puts.length).toBe(writesBefore); // nothing written: no key material anywhere
    expect(job!.keyId).toBe(agent.keyId);
    expect((await job!.loadBlob(saved.id)).toString()).toBe('row of another process\n');
    // Its own writer: what one job saves is not another's unflushed state.
    await job!.saveBlob('segment', Buffer.from('only in the job\n'));
    expect(agent.hasUnflushed).toBe(false);

    const second = await other.addKey('second passphrase', { kdf: TEST_KDF });
    const viaSecond = await openRepository(store, 'second passphrase');
    await viaSecond.removeKey(agent.keyId);
    expect(await agent.reopen()).toBeNull();
    expect(second.current).toBe(false);
  });

  it('normalises passphrases (NFC), so composed and decomposed input open the same key', async () => {
    const store = memoryStore();
    await initRepository(store, 'caf\u00e9', { kdf: TEST_KDF });
    await openRepository(store, 'cafe\u0301');
  });
});

describe('blobs', () => {
  it('round-trips segments and photos, before and after flush and reopen', async () => {
    const store = memoryStore();
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF, packSize: 64 * 1024 });
    const segments = [guestRows(1, 100), guestRows(2, 5000), Buffer.alloc(0), randomBytes(300)];
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(200_000)]);

    const saved = [];
    for (const s of segments) saved.push(await repo.saveBlob('segment', s));
    const photo = await repo.saveBlob('photo', jpeg);
    expect(photo.sha256).toBe(createHash('sha256').update(jpeg).digest('hex'));
    expect(photo.storedLength).toBe(jpeg.length + 29);
    expect(saved[1]!.storedLength).toBeLessThan(saved[1]!.rawLength / 3);
    expect(saved.every((s) => s.isNew && s.sha256 === undefined)).toBe(true);

    // Readable before flush: from memory or from uploaded packs.
    expect((await repo.loadBlob(saved[0]!.id)).equals(segments[0]!)).toBe(true);
    expect((await repo.loadBlob(photo.id)).equals(jpeg)).toBe(true);

    const flushed = await repo.flush();
    expect(flushed.indexId).toMatch(/^[0-9a-f]{64}$/);
    expect(flushed.stats.blobsNew).toBe(5);
    expect(flushed.packIds.length).toBeGreaterThan(1);
    for (const packId of flushed.packIds) expect(await store.head(packName(packId))).not.toBeNull();

    const reopened = await openRepository(store, PASS);
    for (const [i, s] of saved.entries()) expect((await reopened.loadBlob(s.id)).equals(segments[i]!)).toBe(true);
    expect((await reopened.loadBlob(photo.id)).equals(jpeg)).toBe(true);
    const many = await reopened.loadBlobs([...saved.map((s) => s.id), photo.id, saved[0]!.id]);
    expect(many.size).toBe(5);
    expect(many.get(saved[1]!.id)!.equals(segments[1]!)).toBe(true);
    await expectCode(reopened.loadBlob('f'.repeat(64)), 'BLOB_NOT_FOUND');
    for (const packId of flushed.packIds) expect((await reopened.checkPack(packId)).packId).toBe(packId);
  });

  it('stores equal content once, and a second backup of the same data writes no pack bytes', async () => {
    const store = new RecordingStore(memoryStore());
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF, packSize: 256 * 1024 });
    const data = Array.from({ length: 40 }, (_, i) => guestRows(i, 200));

    const first = await repo.saveBlob('segment', data[0]!);
    const dup = await repo.saveBlob('segment', Buffer.from(data[0]!));
    expect(first.isNew).toBe(true);
    expect(dup).toMatchObject({ id: first.id, isNew: false, storedLength: first.storedLength });
    for (const d of data.slice(1)) await repo.saveBlob('segment', d);
    const backup1 = await repo.flush();
    expect(backup1.stats).toMatchObject({ blobsNew: 40, blobsReused: 1 });
    expect(backup1.stats.bytesNew).toBeLessThan(backup1.stats.bytesRawNew);
    const packBytes = store.bytesPut('packs/');
    expect(packBytes).toBe(backup1.stats.packBytesWritten);

    // A new session (another process) sees the stored index and reuses every blob.
    const again = await openRepository(store, PASS);
    for (const d of data) expect((await again.saveBlob('segment', d)).isNew).toBe(false);
    const backup2 = await again.flush();
    expect(backup2).toMatchObject({ indexId: null, packIds: [] });
    expect(backup2.stats).toMatchObject({ blobsNew: 0, blobsReused: 40, bytesNew: 0 });
    expect(backup2.stats.bytesStored).toBe(backup1.stats.bytesStored - first.storedLength!);
    expect(store.bytesPut('packs/')).toBe(packBytes);
  });

  it('keeps uploads bounded and fills packs near the target size', async () => {
    const store = new RecordingStore(memoryStore());
    store.putDelayMs = 5;
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF, packSize: 64 * 1024, uploadConcurrency: 2 });
    for (let i = 0; i < 60; i++) await repo.saveBlob('segment', randomBytes(10_000));
    await repo.flush();
    const packs = store.puts.filter((p) => p.name.startsWith('packs/'));
    expect(packs.length).toBeGreaterThanOrEqual(10);
    expect(store.maxInFlight).toBeLessThanOrEqual(2);
    for (const pack of packs) expect(pack.size).toBeLessThanOrEqual(64 * 1024 + 1024);
  });

  it('packs of thousands of tiny blobs stay within the target size, header included, and read back before and after flush', async () => {
    // One-row segments (the weddings table: a row per wedding) make headers a large part of a pack.
    const store = new RecordingStore(memoryStore());
    const packSize = 64 * 1024;
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF, packSize });
    const data = Array.from({ length: 3000 }, (_, i) => Buffer.from(`${String(i).padStart(8, '0')}\twedding ${i}\t2027-06-0${i % 9}\n`));
    const ids: string[] = [];
    for (const d of data) ids.push((await repo.saveBlob('segment', d)).id);
    // Read back before flush: from the open pack's buffer, or from a pack already uploaded.
    expect((await repo.loadBlob(ids[2999]!)).equals(data[2999]!)).toBe(true);
    expect((await repo.loadBlobs([ids[0]!, ids[1500]!])).get(ids[1500]!)!.equals(data[1500]!)).toBe(true);
    await repo.flush();
    const packs = store.puts.filter((p) => p.name.startsWith('packs/'));
    expect(packs.length).toBeGreaterThanOrEqual(3);
    for (const pack of packs) expect(pack.size).toBeLessThanOrEqual(packSize);
    // And no pack holds more than MAX_PACK_BLOBS blobs, however small.
    const small = new RecordingStore(memoryStore());
    const many = await initRepository(small, PASS, { kdf: TEST_KDF });
    for (let i = 0; i < MAX_PACK_BLOBS + 10; i++) await many.saveBlob('segment', Buffer.from(`row ${i}\n`));
    await many.flush();
    const counts = (await openRepository(small, PASS).then((r) => r.rebuildIndexFromPacks({ write: false, collect: true }))).collected!.map((p) => p.blobs.length).sort((a, b) => b - a);
    expect(counts).toEqual([MAX_PACK_BLOBS, 10]);
    // The headers written in place describe the packs exactly: an index rebuilt from them finds every blob.
    const reopened = await openRepository(store, PASS);
    const rebuilt = await reopened.rebuildIndexFromPacks({ write: false });
    expect(rebuilt).toMatchObject({ blobs: 3000, damaged: [] });
    const got = await reopened.loadBlobs(ids);
    for (const [i, id] of ids.entries()) expect(got.get(id)!.equals(data[i]!)).toBe(true);
  });

  it('surfaces a failed upload on flush', async () => {
    const store = new RecordingStore(memoryStore());
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF, packSize: 64 * 1024 });
    store.failPutsMatching = /^packs\//;
    await expect(
      (async () => {
        for (let i = 0; i < 20; i++) await repo.saveBlob('segment', randomBytes(10_000));
        await repo.flush();
      })(),
    ).rejects.toThrow(/injected failure/);
    await repo.discardUnflushed();
    store.failPutsMatching = null;
    const ok = await repo.saveBlob('segment', Buffer.from('after the failure'));
    await repo.flush();
    expect((await repo.loadBlob(ok.id)).toString()).toBe('after the failure');
  });

  it('reports a flipped byte in a pack as INTEGRITY naming blob and pack', async () => {
    const store = memoryStore();
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF });
    const a = await repo.saveBlob('segment', guestRows(1, 50));
    const b = await repo.saveBlob('segment', guestRows(2, 50));
    const { packIds } = await repo.flush();
    const name = packName(packIds[0]!);
    const bytes = await store.get(name);
    bytes[20]! ^= 0x01; // inside blob a's ciphertext
    await store.put(name, bytes);

    const reopened = await openRepository(store, PASS);
    const error = await expectCode(reopened.loadBlob(a.id), 'INTEGRITY');
    expect(error.message).toContain(a.id);
    expect(error.message).toContain(name);
    expect((await reopened.loadBlob(b.id)).equals(guestRows(2, 50))).toBe(true);
    await expectCode(reopened.checkPack(packIds[0]!), 'INTEGRITY', /does not hash to its name/);
  });

  it('detects a pack stored under a name that is not its hash', async () => {
    const store = memoryStore();
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF });
    const a = await repo.saveBlob('segment', Buffer.from('a'.repeat(100)));
    await repo.flush();
    const pack = (await store.list('packs/'))[0]!;
    // Same pack bytes under a forged name: checkPack sees the name does not match the content,
    // while blobs stay readable (their ids bind their content, not the pack's name).
    const forged = `packs/00/${'0'.repeat(64)}`;
    await store.put(forged, await store.get(pack.name));
    await expectCode(repo.checkPack('0'.repeat(64)), 'INTEGRITY');
    expect((await repo.loadBlob(a.id)).toString()).toBe('a'.repeat(100));
  });
});

describe('index', () => {
  it('rebuilds the index from pack headers after index files are lost', async () => {
    const store = memoryStore();
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF, packSize: 64 * 1024 });
    const contents = Array.from({ length: 30 }, (_, i) => Buffer.concat([guestRows(i, 20), randomBytes(8000)]));
    const ids = [];
    for (const c of contents) ids.push((await repo.saveBlob('segment', c)).id);
    const photo = await repo.saveBlob('photo', randomBytes(5000));
    const { packIds } = await repo.flush();
    for (const { name } of await store.list('index/')) await store.delete(name);

    const lost = await openRepository(store, PASS);
    await expectCode(lost.loadBlob(ids[0]!), 'BLOB_NOT_FOUND');

    // A damaged pack is reported and left out, the rest is indexed.
    const damagedName = packName(packIds[0]!);
    const damaged = await store.get(damagedName);
    damaged[damaged.length - 6]! ^= 0xff;
    await store.put(damagedName, damaged);

    const dryRun = await lost.rebuildIndexFromPacks({ write: false });
    expect(dryRun.indexId).toBeNull();
    const rebuilt = await lost.rebuildIndexFromPacks();
    expect(rebuilt.packs).toBe(packIds.length - 1);
    expect(rebuilt.damaged).toEqual([{ packId: packIds[0]!, reason: expect.stringMatching(/header/) }]);
    expect(await store.list('index/')).toHaveLength(1);

    const fresh = await openRepository(store, PASS);
    await fresh.loadIndex();
    let found = fresh.hasBlob(photo.id) ? 1 : 0;
    for (const [i, id] of ids.entries()) {
      if (!fresh.hasBlob(id)) continue; // was in the damaged pack
      expect((await fresh.loadBlob(id)).equals(contents[i]!)).toBe(true);
      found++;
    }
    expect(found).toBe(rebuilt.blobs);
    expect(found).toBeGreaterThan(20);
  });

  it('merges index files written by several sessions', async () => {
    const store = memoryStore();
    const a = await initRepository(store, PASS, { kdf: TEST_KDF });
    const b = await openRepository(store, PASS);
    const x = await a.saveBlob('segment', Buffer.from('from a'));
    await a.flush();
    const y = await b.saveBlob('segment', Buffer.from('from b'));
    await b.flush();
    const c = await openRepository(store, PASS);
    expect(await c.loadIndex()).toMatchObject({ indexFiles: 2, packs: 2, blobs: 2 });
    expect((await c.loadBlob(x.id)).toString()).toBe('from a');
    // a had loaded its index before b wrote: a miss re-reads index files.
    expect((await a.loadBlob(y.id)).toString()).toBe('from b');
  });
});

describe('manifests', () => {
  it('saves and loads a manifest, with repository fields filled in and the integrity hash checked', async () => {
    const store = memoryStore();
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF });
    const segments = await saveSegments(repo, [guestRows(1, 10), guestRows(2, 20)]);
    const photo = randomBytes(1000);
    const savedPhoto = await repo.saveBlob('photo', photo);
    await repo.flush();
    const draft = draftManifest({
      segments,
      photos: [{ blobId: savedPhoto.id, sha256: savedPhoto.sha256!, sizeBytes: photo.length }],
    });
    const saved = await repo.saveManifest(draft);
    expect(saved).toMatchObject({ formatVersion: 2, repositoryId: repo.id, encryptionKeyId: repo.keyId });
    expect(saved.integrityHash).toMatch(/^[0-9a-f]{64}$/);
    expect(await repo.listSnapshots()).toEqual([draft.snapshotId]);

    const loaded = await (await openRepository(store, PASS)).loadManifest(draft.snapshotId);
    expect(loaded).toEqual(saved);
    // Manifests are encrypted: nothing readable at rest.
    expect((await store.get(`snapshots/${draft.snapshotId}`)).toString('latin1')).not.toContain('guests');

    await expectCode(repo.saveManifest(draft), 'CONFLICT');
    await repo.deleteManifest(draft.snapshotId);
    expect(await repo.listSnapshots()).toEqual([]);
    await expectCode(repo.loadManifest(draft.snapshotId), 'NOT_FOUND');
  });

  it('refuses a manifest whose blobs are not durable or not stored', async () => {
    const store = memoryStore();
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF });
    const segments = await saveSegments(repo, [guestRows(1, 10)]);
    await expectCode(repo.saveManifest(draftManifest({ segments })), 'INTERNAL', /flush/);
    await repo.flush();
    await expectCode(
      repo.saveManifest(draftManifest({ segments: [...segments, { id: 'e'.repeat(64), rows: 1, rawBytes: 1 }] })),
      'BAD_INPUT',
      /does not hold/,
    );
    await expectCode(repo.saveManifest({ ...draftManifest({ segments }), type: 'weekly' as never }), 'BAD_INPUT');
    expect(await repo.listSnapshots()).toEqual([]);
  });

  it('rejects a manifest from another repository, a renamed one, and an edited one', async () => {
    const storeA = memoryStore();
    const storeB = memoryStore();
    const a = await initRepository(storeA, PASS, { kdf: TEST_KDF });
    const b = await initRepository(storeB, PASS, { kdf: TEST_KDF });
    const segA = await saveSegments(a, [guestRows(1, 10)]);
    await a.flush();
    const manifest = await a.saveManifest(draftManifest({ segments: segA }));
    const bytes = await storeA.get(`snapshots/${manifest.snapshotId}`);

    await storeB.put(`snapshots/${manifest.snapshotId}`, bytes);
    expect(await b.listSnapshots()).toEqual([manifest.snapshotId]);
    await expectCode(b.loadManifest(manifest.snapshotId), 'INTEGRITY', /another repository/);

    const renamed = '11111111-2222-4333-8444-555555555555';
    await storeA.put(`snapshots/${renamed}`, bytes);
    await expectCode(a.loadManifest(renamed), 'INTEGRITY');

    // Someone holding the encryption key but not the MAC key rewrites the row count.
    const master = await masterFor(storeA, a.keyId);
    const forgedCodec = new BlobCodec({ encryption: master.encryption, mac: randomBytes(32) }, 3);
    const edited = { ...manifest, totals: { ...manifest.totals, rowCount: 999 } };
    await storeA.put(`snapshots/${manifest.snapshotId}`, sealManifest(forgedCodec, edited));
    await expectCode(a.loadManifest(manifest.snapshotId), 'INTEGRITY', /integrity hash/);
  });

  it('after a crash between packs and manifest, no new snapshot is listed', async () => {
    const store = memoryStore();
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF, packSize: 64 * 1024 });
    const first = await saveSegments(repo, [guestRows(1, 10)]);
    await repo.flush();
    const kept = await repo.saveManifest(draftManifest({ segments: first }));

    // Backup 2 uploads packs (and even its index) and then "crashes" before the manifest.
    const crashed = await openRepository(store, PASS);
    const segs = await saveSegments(crashed, Array.from({ length: 20 }, (_, i) => guestRows(100 + i, 400)));
    await crashed.flush();
    // Backup 3 dies with packs uploaded and no index at all.
    const crashed2 = await openRepository(store, PASS);
    for (let i = 0; i < 20; i++) await crashed2.saveBlob('segment', randomBytes(10_000));
    expect((await store.list('packs/')).length).toBeGreaterThan(3);

    const after = await openRepository(store, PASS);
    expect(await after.listSnapshots()).toEqual([kept.snapshotId]);
    const stats = await after.describe();
    expect(stats.snapshotCount).toBe(1);
    expect(stats.unindexedPackCount).toBeGreaterThan(0);
    // The orphaned data is still consistent: a later backup can reuse it.
    expect(after.hasBlob(segs[0]!.id)).toBe(true);
  });
});

describe('on a folder (LocalBlobStore)', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'wedsync-repo-test-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('round-trips a backup through real files', async () => {
    const store = await LocalBlobStore.open(join(root, 'repo'), { create: true });
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF, packSize: 128 * 1024 });
    const contents = Array.from({ length: 50 }, (_, i) => guestRows(i, 100));
    const segments = await saveSegments(repo, contents);
    await repo.flush();
    const manifest = await repo.saveManifest(draftManifest({ segments }));

    const reopened = await openRepository(await LocalBlobStore.open(join(root, 'repo')), PASS);
    const loaded = await reopened.loadManifest(manifest.snapshotId);
    const blobs = await reopened.loadBlobs(loaded.weddings[0]!.tables['public.guests']!.map((s) => s.id));
    for (const [i, seg] of segments.entries()) expect(blobs.get(seg.id)!.equals(contents[i]!)).toBe(true);
    const stats = await reopened.describe();
    expect(stats).toMatchObject({ provider: 'local', snapshotCount: 1, keyCount: 1, unindexedPackCount: 0, blobCount: 51 }); // 50 segments + 1 tree
  });
});

describe('index checkpoints', () => {
  it('a long session writes index files as it goes; flush reports every pack, and a reopened repository reads every blob', async () => {
    const store = memoryStore();
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF, packSize: 64 * 1024 });
    const ids: string[] = [];
    for (let i = 0; i < CHECKPOINT_BLOBS + 500; i++) ids.push((await repo.saveBlob('segment', randomBytes(100))).id);
    // The checkpoint runs in the background once enough blobs are uploaded; flush waits for it.
    const flushed = await repo.flush();
    const indexFiles = await store.list('index/');
    expect(indexFiles.length).toBe(2);
    expect(flushed.indexId).not.toBeNull();
    expect(new Set(flushed.packIds).size).toBe((await store.list('packs/')).length);
    expect(flushed.stats.blobsNew).toBe(ids.length);
    expect(repo.hasUnflushed).toBe(false);
    const reopened = await openRepository(store, PASS);
    expect((await reopened.loadIndex()).blobs).toBe(ids.length);
    const sample = [ids[0]!, ids[CHECKPOINT_BLOBS]!, ids[ids.length - 1]!];
    expect((await reopened.loadBlobs(sample)).size).toBe(3);
  });
});

describe('snapshot trees (format 2)', () => {
  it('reads one wedding lazily; a damaged or missing tree is refused naming its weddings; trees live in packs of their own', async () => {
    const store = memoryStore();
    const repo = await initRepository(store, PASS, { kdf: TEST_KDF, packSize: 64 * 1024 });
    const segments = await saveSegments(repo, [guestRows(1, 10), guestRows(2, 20)]);
    await repo.flush();
    const draft = draftManifest({ segments });
    const saved = await repo.saveManifest(draft);
    const weddingId = saved.weddings[0]!.weddingId;
    expect(saved.trees!.entries.map((e) => e.weddingIds)).toEqual([[weddingId]]);

    const view = await (await openRepository(store, PASS)).openSnapshot(saved.snapshotId);
    expect(view.weddingIds()).toEqual([weddingId]);
    expect(await view.wedding(weddingId)).toEqual(saved.weddings[0]);
    expect(await view.wedding('00000000-0000-4000-8000-000000000000')).toBeUndefined();

    // The tree's pack holds the tree alone.
    const treeId = saved.trees!.entries[0]!.id;
    const reopened = await openRepository(store, PASS);
    await reopened.loadIndex();
    const entry = reopened.blobEntry(treeId)!;
    expect(entry.type).toBe('tree');
    expect(reopened.indexedPacks().find((p) => p.id === entry.packId)!.blobCount).toBe(1);

    // One flipped byte in the tree: refused, naming the wedding, for the lazy and the whole read.
    const name = packName(entry.packId);
    const bytes = Buffer.from(await store.get(name));
    bytes[entry.offset + 20] = bytes[entry.offset + 20]! ^ 0xff;
    await store.put(name, bytes);
    const damaged = await openRepository(store, PASS);
    await expectCode((await damaged.openSnapshot(saved.snapshotId)).wedding(weddingId), 'INTEGRITY', new RegExp(`tree of wedding ${weddingId}`));
    await expectCode(damaged.loadManifest(saved.snapshotId), 'INTEGRITY', new RegExp(`snapshot ${saved.snapshotId}: the tree of wedding ${weddingId}`));

    // The tree's pack gone: the same, naming the wedding.
    await store.delete(name);
    const gone = await openRepository(store, PASS);
    await expectCode(gone.loadManifest(saved.snapshotId), 'INTEGRITY', new RegExp(`wedding ${weddingId}`));
  });
});
