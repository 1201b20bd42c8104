import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { WedsyncError } from '../../contract/errors.js';
import type { BlobInfo, BlobStore } from '../blob-store.js';
import { assertValidBlobName } from '../blob-store.js';
import { assertValidBlobPrefix, assertValidRange, isValidBlobName } from '../checks.js';
import { blobNotFound, rangePastEnd } from '../errors.js';
import { describeErrno, errnoCode, mapFsError } from './fs-errors.js';

/**
 * Temp and probe files start with '~', which no blob name may contain, so a file left by a
 * crash mid-put can never be mistaken for a blob: list skips every name that is not valid.
 */
const tempName = (kind: 'tmp' | 'probe'): string => `~${kind}-${randomBytes(8).toString('hex')}`;

/**
 * A temp file this old belongs to a put whose process died (kill -9, power cut) between creating
 * it and the rename: no put takes an hour. list() removes such files in the folders it walks, so
 * crashes do not leak disk space forever (prune lists packs/, index/, snapshots/, keys/, locks/).
 */
export const STALE_TEMP_MS = 60 * 60_000;
const TEMP_FILE = /^~(tmp|probe)-[0-9a-f]{16}$/;

/** Missing path components, when reading or deleting: there is simply no such blob. */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

export interface LocalOpenOptions {
  /** Create the folder (and its parents) when missing; otherwise a missing folder is an error. */
  create?: boolean;
}

/**
 * BlobStore in a folder: blob "a/b/c" is the file <root>/a/b/c. Puts write a temp file in the
 * target folder, fsync it, rename it over the name and fsync the folder, so a blob is either
 * absent or whole and survives a power cut once put resolves.
 */
export class LocalBlobStore implements BlobStore {
  readonly provider = 'local' as const;
  readonly location: string;

  constructor(rootDir: string) {
    this.location = resolve(rootDir);
  }

  /**
   * Opens a folder store after proving we can write there (a probe file created and removed).
   * Fails with STORAGE_NOT_WRITABLE naming the path when we cannot, and STORAGE_UNAVAILABLE
   * when the folder is missing and `create` is not set.
   */
  static async open(dir: string, opts: LocalOpenOptions = {}): Promise<LocalBlobStore> {
    const root = resolve(dir);
    if (opts.create) {
      try {
        await mkdir(root, { recursive: true });
      } catch (err) {
        throw notWritable(root, err);
      }
    } else {
      const info = await stat(root).catch((err: unknown) => {
        if (errnoCode(err) === 'ENOENT') {
          throw new WedsyncError('STORAGE_UNAVAILABLE', `folder ${root} does not exist`, { cause: err, details: { path: root, retryable: false } });
        }
        throw notWritable(root, err);
      });
      if (!info.isDirectory()) {
        throw new WedsyncError('STORAGE_NOT_WRITABLE', `${root} is not a folder`, { details: { path: root } });
      }
    }
    const probe = join(root, tempName('probe'));
    try {
      await (await open(probe, 'wx')).close();
      await unlink(probe);
    } catch (err) {
      throw notWritable(root, err);
    }
    return new LocalBlobStore(root);
  }

  async put(name: string, data: Buffer | Uint8Array): Promise<void> {
    assertValidBlobName(name);
    const path = this.pathOf(name);
    const dir = dirname(path);
    const tmp = join(dir, tempName('tmp'));
    try {
      await ensureDir(dir);
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      await syncDir(dir);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw mapFsError(err, 'write', this.location, { name, path });
    }
  }

  async get(name: string): Promise<Buffer> {
    assertValidBlobName(name);
    const path = this.pathOf(name);
    try {
      const fh = await open(path, 'r');
      try {
        return await fh.readFile();
      } finally {
        await fh.close();
      }
    } catch (err) {
      throw mapFsError(err, 'read', this.location, { name, path });
    }
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    assertValidBlobName(name);
    assertValidRange(offset, length);
    const path = this.pathOf(name);
    try {
      const fh = await open(path, 'r');
      try {
        const info = await fh.stat();
        if (!info.isFile()) throw blobNotFound(this.location, name);
        if (offset + length > info.size) throw rangePastEnd(this.location, name, offset, length, info.size);
        const out = Buffer.alloc(length);
        // read() may return fewer bytes than asked: loop until the range is filled.
        for (let filled = 0; filled < length; ) {
          const { bytesRead } = await fh.read(out, filled, length - filled, offset + filled);
          if (bytesRead === 0) throw rangePastEnd(this.location, name, offset, length, offset + filled);
          filled += bytesRead;
        }
        return out;
      } finally {
        await fh.close();
      }
    } catch (err) {
      throw mapFsError(err, 'read', this.location, { name, path });
    }
  }

  async head(name: string): Promise<BlobInfo | null> {
    assertValidBlobName(name);
    const path = this.pathOf(name);
    try {
      const info = await stat(path);
      return info.isFile() ? { name, size: info.size } : null;
    } catch (err) {
      if (ABSENT.has(errnoCode(err) ?? '')) return null;
      throw mapFsError(err, 'read', this.location, { name, path });
    }
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    assertValidBlobPrefix(prefix);
    const out: BlobInfo[] = [];
    // Start in the deepest folder the prefix names in full: "packs/ab/c" reads only packs/ab.
    const cut = prefix.lastIndexOf('/');
    await this.walk(cut === -1 ? '' : prefix.slice(0, cut), prefix, out);
    return out;
  }

  async delete(name: string): Promise<void> {
    assertValidBlobName(name);
    const path = this.pathOf(name);
    try {
      await unlink(path);
    } catch (err) {
      if (ABSENT.has(errnoCode(err) ?? '')) return;
      throw mapFsError(err, 'write', this.location, { name, path });
    }
  }

  /** Every call opens and closes its own handles: nothing is held between calls. */
  async close(): Promise<void> {}

  private pathOf(name: string): string {
    return join(this.location, ...name.split('/'));
  }

  private async walk(rel: string, prefix: string, out: BlobInfo[]): Promise<void> {
    const dir = rel === '' ? this.location : this.pathOf(rel);
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (ABSENT.has(errnoCode(err) ?? '')) return;
      throw mapFsError(err, 'read', this.location, { path: dir });
    }
    await Promise.all(
      entries.map(async (entry) => {
        const name = rel === '' ? entry.name : `${rel}/${entry.name}`;
        // Temp files ('~…') and anything else that is not a blob name are not blobs.
        if (!isValidBlobName(entry.name)) {
          if (entry.isFile() && TEMP_FILE.test(entry.name)) await this.removeIfStale(join(dir, entry.name));
          return;
        }
        if (entry.isDirectory()) {
          if (`${name}/`.startsWith(prefix)) await this.walk(name, prefix, out);
        } else if (entry.isFile() && name.startsWith(prefix)) {
          const size = await this.sizeOf(name);
          if (size !== null) out.push({ name, size });
        }
      }),
    );
  }

  /** Removes a crashed put's temp file (see STALE_TEMP_MS); best effort, never fails a listing. */
  private async removeIfStale(path: string): Promise<void> {
    try {
      if (Date.now() - (await stat(path)).mtimeMs > STALE_TEMP_MS) await unlink(path);
    } catch {
      // Gone already (another lister), or not ours to remove: it stays invisible either way.
    }
  }

  /** Size, or null when the file vanished between readdir and stat (a concurrent delete). */
  private async sizeOf(name: string): Promise<number | null> {
    return (await this.head(name))?.size ?? null;
  }
}

/**
 * A failure to prepare or probe the root folder, as one line naming the path. Only a full disk
 * or passing pressure keep STORAGE_UNAVAILABLE; anything else (EACCES, ENOTDIR, a /proc that
 * answers ENOENT) means this folder will not take our files.
 */
function notWritable(root: string, err: unknown): WedsyncError {
  const mapped = mapFsError(err, 'write', root, { path: root });
  const code = errnoCode(err);
  if (mapped instanceof WedsyncError && mapped.code === 'STORAGE_UNAVAILABLE' && code !== 'ENOENT') return mapped;
  return new WedsyncError('STORAGE_NOT_WRITABLE', `cannot write folder ${root}: ${code ? describeErrno(code) : 'not writable'}`, {
    cause: err,
    details: { path: root, ...(code ? { errno: code } : {}) },
  });
}

/** mkdir -p, then fsync the parent of every folder it created so the new entries are durable too. */
async function ensureDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created === undefined) return;
  const stop = dirname(created);
  const changed: string[] = [];
  for (let d = dirname(dir); ; d = dirname(d)) {
    changed.push(d);
    if (d === stop || d === dirname(d)) break;
  }
  for (const d of changed.reverse()) await syncDir(d);
}

/** A rename or a new entry is durable only once its folder is fsynced (not possible on Windows). */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
