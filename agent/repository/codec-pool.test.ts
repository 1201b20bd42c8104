import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WedsyncError } from '../contract/errors.js';
import { LocalBlobStore } from '../storage/local/local-store.js';
import { BlobCodec, SEAL_OVERHEAD } from './codec.js';
import { CodecPool, closeCodecPool, codecPool, codecThreads, poolFor, readPoolFor, sealPoolFor } from './codec-pool.js';
import { openChecked } from './codec-tasks.js';
import { AAD, packName } from './format.js';
import { initRepository, openRepository } from './repository.js';
import { MemoryBlobStore } from '../storage/memory/memory-store.js';
import { RecordingStore, TEST_KDF, guestRows } from './test-helpers.js';

const key = { encryption: randomBytes(32), mac: randomBytes(32) };
const codec = new BlobCodec(key, 3);

/** Plaintexts laid side by side in one buffer, with their spans (id = HMAC, as the repository names blobs). */
function batchOf(plaintexts: Buffer[]) {
  const bytes = Buffer.concat(plaintexts);
  let offset = 0;
  const spans = plaintexts.map((p) => {
    const span = { id: codec.blobId(p), offset, length: p.length };
    offset += p.length;
    return span;
  });
  return { bytes, spans };
}

describe('codec pool (worker threads running the compiled codec)', () => {
  const pool = new CodecPool({ threads: 2, maxInFlight: 2 });
  afterAll(() => pool.close());

  const plaintexts = [guestRows(1, 400), Buffer.alloc(0), randomBytes(5000), guestRows(2, 3), Buffer.from('x')];

  it('seals what the inline codec opens, and opens what the inline codec sealed, byte for byte', async () => {
    const { bytes, spans } = batchOf(plaintexts);
    const sealed = await pool.seal(key, 3, bytes, spans.map((s) => ({ ...s, compress: 'auto' as const })));
    expect(sealed.lengths).toHaveLength(plaintexts.length);
    let pos = 0;
    for (const [i, p] of plaintexts.entries()) {
      const one = sealed.sealed.subarray(pos, pos + sealed.lengths[i]!);
      pos += sealed.lengths[i]!;
      expect(codec.open(one, AAD.blob(spans[i]!.id)).equals(p)).toBe(true);
    }
    // Compression as inline: kept for rows, skipped for noise.
    expect(sealed.lengths[0]).toBeLessThan(plaintexts[0]!.length / 3);
    expect(sealed.lengths[2]).toBe(5000 + SEAL_OVERHEAD);

    const inline = plaintexts.map((p, i) => codec.seal(p, AAD.blob(spans[i]!.id)));
    const { bytes: sealedBytes, spans: sealedSpans } = (() => {
      let offset = 0;
      return { bytes: Buffer.concat(inline), spans: inline.map((s, i) => ({ id: spans[i]!.id, offset: (offset += s.length) - s.length, length: s.length })) };
    })();
    const opened = await pool.open(key, 3, sealedBytes, sealedSpans);
    for (const [i, p] of plaintexts.entries()) {
      const r = opened.results[i]!;
      expect('error' in r).toBe(false);
      if ('offset' in r) expect(opened.plain.subarray(r.offset, r.offset + r.length).equals(p)).toBe(true);
    }
    // Not handed over: the caller's buffer is untouched and still usable.
    expect(sealedBytes.length).toBe(inline.reduce((a, s) => a + s.length, 0));
  });

  it('refuses damaged blobs with the same reasons as the inline codec, and keeps the good ones', async () => {
    const [a, b, c] = [guestRows(3, 50), guestRows(4, 50), randomBytes(300)];
    const ids = [a, b, c].map((p) => codec.blobId(p));
    const sa = codec.seal(a, AAD.blob(ids[0]!));
    const sb = codec.seal(b, AAD.blob(ids[1]!));
    sb[20]! ^= 0x01; // a flipped bit
    const sc = codec.seal(c, AAD.blob(ids[0]!)); // sealed under another blob's id
    const bytes = Buffer.concat([sa, sb, sc]);
    const spans = [
      { id: ids[0]!, offset: 0, length: sa.length },
      { id: ids[1]!, offset: sa.length, length: sb.length },
      { id: ids[2]!, offset: sa.length + sb.length, length: sc.length },
    ];
    // A small Buffer.concat lives in Node's shared pool: handing it over copies it (others share that memory)…
    await pool.open(key, 3, bytes, spans, true);
    expect(bytes.length).toBe(sa.length + sb.length + sc.length);
    // …while a buffer of its own is transferred, not copied.
    const own = Buffer.from(new ArrayBuffer(bytes.length));
    bytes.copy(own);
    const { plain, results } = await pool.open(key, 3, own, spans, true);
    expect(own.length).toBe(0);
    const first = results[0]!;
    expect('offset' in first && plain.subarray(first.offset, first.offset + first.length).equals(a)).toBe(true);
    expect(results[1]).toEqual({ error: (openChecked(codec, ids[1]!, sb) as { error: string }).error });
    expect(results[2]).toEqual({ error: (openChecked(codec, ids[2]!, sc) as { error: string }).error });
    expect(results[1]).toEqual({ error: expect.stringMatching(/authentication failed/) });
  });

  it('bounds the batches in flight, and keeps each batch in order under concurrency', async () => {
    const batches = Array.from({ length: 12 }, (_, i) => batchOf(Array.from({ length: 20 }, (_, j) => guestRows(i * 100 + j, 30))));
    const sealed = await Promise.all(batches.map((b) => pool.seal(key, 3, b.bytes, b.spans.map((s) => ({ ...s, compress: 'auto' as const })))));
    for (const [i, b] of batches.entries()) {
      let pos = 0;
      for (const [j, s] of b.spans.entries()) {
        const one = sealed[i]!.sealed.subarray(pos, (pos += sealed[i]!.lengths[j]!));
        expect(codec.open(one, AAD.blob(s.id)).equals(b.bytes.subarray(s.offset, s.offset + s.length))).toBe(true);
      }
    }
    expect(pool.stats.batches).toBeGreaterThanOrEqual(12);
  });

  it('a closed pool refuses work with a typed error', async () => {
    const closed = new CodecPool({ threads: 1 });
    await closed.close();
    await expect(closed.seal(key, 3, Buffer.from('x'), [{ id: codec.blobId(Buffer.from('x')), offset: 0, length: 1, compress: 'auto' }])).rejects.toMatchObject({
      name: 'WedsyncError',
      code: 'INTERNAL',
    });
  });

  it('where a worker cannot load its file, batches run inline with the same results', async () => {
    const broken = new CodecPool({ threads: 1, workerFile: new URL('./no-such-worker.js', import.meta.url).href });
    try {
      const { bytes, spans } = batchOf(plaintexts);
      const sealed = await broken.seal(key, 3, bytes, spans.map((s) => ({ ...s, compress: 'auto' as const })));
      let pos = 0;
      for (const [i, p] of plaintexts.entries()) expect(codec.open(sealed.sealed.subarray(pos, (pos += sealed.lengths[i]!)), AAD.blob(spans[i]!.id)).equals(p)).toBe(true);
    } finally {
      await broken.close();
    }
  });

  it('reads its settings from the environment, refusing nonsense', () => {
    expect(codecThreads({ WEDSYNC_CODEC_THREADS: '0' })).toBe(0);
    expect(codecThreads({ WEDSYNC_CODEC_THREADS: '3' })).toBe(3);
    expect(codecThreads({})).toBeGreaterThanOrEqual(1);
    expect(() => codecThreads({ WEDSYNC_CODEC_THREADS: 'many' })).toThrow(WedsyncError);
    expect(() => codecThreads({ WEDSYNC_CODEC_THREADS: '-1' })).toThrow(/WEDSYNC_CODEC_THREADS must be a whole number/);
  });

  it('does not keep a process alive: a script that used the pool and never closed it exits by itself', async () => {
    // The compiled module, as the CLI loads it.
    const script = `
      const { CodecPool } = await import(${JSON.stringify(join(process.cwd(), 'dist/agent/repository/codec-pool.js'))});
      const pool = new CodecPool({ threads: 2 });
      const key = { encryption: Buffer.alloc(32, 1), mac: Buffer.alloc(32, 2) };
      const r = await pool.seal(key, 3, Buffer.from('hello'), [{ id: '00'.repeat(32), offset: 0, length: 5, compress: 'auto' }]);
      console.log(r.lengths[0]);`;
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
      child.stdin?.end();
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(Number(run.stdout.trim())).toBe(5 + SEAL_OVERHEAD);
  });
});

describe('repository reads through the pool (real files)', () => {
  let dir: string;
  const threadsBefore = process.env.WEDSYNC_CODEC_THREADS;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codec-pool-test-'));
    // Force the pool for any amount of work (it starts at 1 MiB otherwise), for sealing too
    // (which by default stays inline on a 2-core machine: see sealPoolFor).
    process.env.WEDSYNC_CODEC_OFFLOAD_BYTES = '0';
    process.env.WEDSYNC_CODEC_THREADS = '2';
  });
  afterAll(async () => {
    delete process.env.WEDSYNC_CODEC_OFFLOAD_BYTES;
    if (threadsBefore === undefined) delete process.env.WEDSYNC_CODEC_THREADS;
    else process.env.WEDSYNC_CODEC_THREADS = threadsBefore;
    await closeCodecPool();
    await rm(dir, { recursive: true, force: true });
  });

  it('forEachBlob gives what loadBlob gives, and a damaged blob is refused with the same error either way', async () => {
    const store = await LocalBlobStore.open(join(dir, 'repo'), { create: true });
    const repo = await initRepository(store, 'pool test', { kdf: TEST_KDF, packSize: 256 * 1024 });
    const data = Array.from({ length: 40 }, (_, i) => (i % 5 === 4 ? randomBytes(20_000) : guestRows(i, 120)));
    const ids: string[] = [];
    for (const d of data) ids.push((await repo.saveBlob('segment', d)).id);
    await repo.flush();

    const reader = await openRepository(store, 'pool test');
    const before = codecPool()!.stats.batches;
    const got = await reader.loadBlobs(ids);
    expect(codecPool()!.stats.batches).toBeGreaterThan(before);
    for (const [i, id] of ids.entries()) expect(got.get(id)!.equals(data[i]!)).toBe(true);
    expect(poolFor(0)).toBe(codecPool());
    // Sealing: on the pool when threads are asked for; by default only with two or more codec threads.
    expect(sealPoolFor(0, { env: { WEDSYNC_CODEC_THREADS: '1' } })).toBe(codecPool());
    expect(sealPoolFor(0, { env: {} })).toBe(availableParallelism() <= 2 ? null : codecPool());
    // Reading: likewise (a complete restore on two cores decodes inline).
    expect(readPoolFor(0)).toBe(codecPool());
    expect(readPoolFor(0, { env: { WEDSYNC_CODEC_THREADS: '1' } })).toBe(codecPool());
    expect(readPoolFor(0, { env: {} })).toBe(availableParallelism() <= 2 ? null : codecPool());

    // Flip one byte inside blob 7 in its pack file on disk.
    const entry = reader.blobEntry(ids[7]!)!;
    const fh = await open(join(dir, 'repo', packName(entry.packId)), 'r+');
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, entry.offset + 30);
    byte[0]! ^= 0xff;
    await fh.write(byte, 0, 1, entry.offset + 30);
    await fh.close();

    const damaged = await openRepository(store, 'pool test');
    const inline = await damaged.loadBlob(ids[7]!).then(
      () => null,
      (e: unknown) => e,
    );
    const pooled = await damaged.forEachBlob(ids, () => undefined).then(
      () => null,
      (e: unknown) => e,
    );
    expect(inline).toBeInstanceOf(WedsyncError);
    expect(pooled).toBeInstanceOf(WedsyncError);
    const shape = (e: unknown) => ({ code: (e as WedsyncError).code, message: (e as WedsyncError).message, details: (e as WedsyncError).details });
    expect(shape(pooled)).toEqual(shape(inline));
    expect(shape(inline)).toMatchObject({ code: 'INTEGRITY', message: expect.stringMatching(new RegExp(`^blob ${ids[7]} in packs/.* is damaged: authentication failed`)) });
    await store.close();
  });

  it('a big session seals on the pool: packs laid out as inline sealing lays them, readable before and after flush, dedup while pending', async () => {
    const data = Array.from({ length: 60 }, (_, i) => (i % 7 === 6 ? randomBytes(30_000) : guestRows(1000 + i, 150)));
    const sessions: Array<{ store: RecordingStore; stats: unknown; ids: string[] }> = [];
    for (const offload of ['none', '0']) {
      if (offload === '0') process.env.WEDSYNC_CODEC_OFFLOAD_BYTES = '0';
      else process.env.WEDSYNC_CODEC_OFFLOAD_BYTES = String(Number.MAX_SAFE_INTEGER);
      const store = new RecordingStore(new MemoryBlobStore(`pool-writer-${offload}`));
      const repo = await initRepository(store, 'pool test', { kdf: TEST_KDF, packSize: 128 * 1024 });
      const ids: string[] = [];
      for (const d of data) {
        const saved = await repo.saveBlob('segment', d);
        expect(saved.isNew).toBe(true);
        if (offload === '0') expect(saved.storedLength).toBeNull();
        ids.push(saved.id);
      }
      // The same content again while the first copy may still be at a worker: stored once.
      const again = await repo.saveBlob('segment', Buffer.from(data[3]!));
      expect(again).toMatchObject({ id: ids[3], isNew: false });
      // Read back before flush (waits for the worker when needed).
      expect((await repo.loadBlob(ids[59]!)).equals(data[59]!)).toBe(true);
      const flushed = await repo.flush();
      const reopened = await openRepository(store, 'pool test');
      const got = await reopened.loadBlobs(ids);
      for (const [i, id] of ids.entries()) expect(got.get(id)!.equals(data[i]!)).toBe(true);
      // Where each blob landed: pack number and offset, in save order (ids differ between the two repositories, lengths do not).
      const packOrder = new Map(flushed.packIds.map((p, i) => [p, i]));
      const places = ids.map((id) => {
        const e = reopened.blobEntry(id)!;
        return [packOrder.get(e.packId), e.offset, e.length];
      });
      sessions.push({ store, stats: { ...flushed.stats, places }, ids });
    }
    process.env.WEDSYNC_CODEC_OFFLOAD_BYTES = '0';
    const [inline, pooled] = sessions;
    expect(pooled!.stats).toEqual(inline!.stats);
    const packSizes = (r: RecordingStore) => r.puts.filter((p) => p.name.startsWith('packs/')).map((p) => p.size);
    expect(packSizes(pooled!.store)).toEqual(packSizes(inline!.store));
    expect(packSizes(inline!.store).length).toBeGreaterThanOrEqual(3);
  });

  it('a worker failure fails the session with a typed error; discard() recovers', async () => {
    const store = new MemoryBlobStore('pool-writer-failure');
    const repo = await initRepository(store, 'pool test', { kdf: TEST_KDF, packSize: 128 * 1024 });
    await repo.saveBlob('segment', guestRows(1, 100));
    // The pool the session uses goes away under it.
    await closeCodecPool();
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => repo.saveBlob('segment', guestRows(10 + i, 100))));
    const flush = await repo.flush().then(
      () => null,
      (e: unknown) => e,
    );
    expect(flush).toBeInstanceOf(WedsyncError);
    expect(flush).toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/codec pool is closed/) });
    expect(results.every((r) => r.status === 'fulfilled' || (r.reason as WedsyncError).code === 'INTERNAL')).toBe(true);
    await repo.discardUnflushed();
    const ok = await repo.saveBlob('segment', guestRows(99, 100));
    await repo.flush();
    expect((await repo.loadBlob(ok.id)).equals(guestRows(99, 100))).toBe(true);
  });
});
