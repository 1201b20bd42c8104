import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import { manifestBlobIds, type Manifest } from '../contract/manifest.js';
import type { IntegrityFinding, RepositoryCheckReport } from '../contract/validation-report.js';
import { countSeverities, findingKey, sortFindings, statusOf } from '../core/validation.js';
import type { BlobStore } from '../storage/blob-store.js';
import { BlobCodec } from './codec.js';
import { openConfig } from './config.js';
import { CONFIG_NAME, DEFAULT_COMPRESSION_LEVEL, INDEX_PREFIX, KEYS_PREFIX, PACKS_PREFIX, packIdFromName, packName } from './format.js';
import { parseKeyFile, serializeKeyFile, unwrapMasterKey } from './keys.js';
import { type OpenOptions, type Repository, openRepository } from './repository.js';

/**
 * Repository-level integrity checks, built on the Repository API: key files, the config, the
 * index against the packs, pack headers (and with readData every pack byte), manifests, and packs
 * no snapshot needs. Reports faults as findings and never repairs or deletes anything: removing
 * unreferenced packs is prune's job, rebuilding the index is rebuildIndexFromPacks'.
 *
 * Guarantees: damage never throws — every damaged key, config, index file, pack or manifest
 * becomes a finding. Only failures to reach the storage at all (listing) throw.
 */

// ------------------------------------------------------------------ manifests

/**
 * The finding for a manifest that `Repository.loadManifest` refused. Returns null for errors
 * that are not about the manifest (storage unreachable): the caller rethrows those.
 */
export function manifestFinding(snapshotId: string, err: unknown): IntegrityFinding | null {
  if (!(err instanceof WedsyncError)) return null;
  const base = { snapshotId, severity: 'error' as const };
  if (err.code === 'NOT_FOUND') return { ...base, kind: 'manifest-missing', message: `the manifest of snapshot ${snapshotId} is not in the repository` };
  if (err.code === 'REPO_VERSION_UNSUPPORTED') return { ...base, kind: 'manifest-unsupported', message: err.message };
  if (err.code !== 'INTEGRITY') return null;
  // openManifest's reasons, in the order it checks them (manifest-codec.ts).
  const m = err.message;
  if (/cannot be decrypted/.test(m)) return { ...base, kind: 'manifest-undecryptable', message: m };
  if (/integrity hash/.test(m)) return { ...base, kind: 'manifest-integrity', message: m };
  if (/names snapshot|belongs to repository/.test(m)) return { ...base, kind: 'manifest-integrity', message: m };
  return { ...base, kind: 'manifest-schema', message: m };
}

/** Loads a manifest, or returns the finding that says why it cannot be used. */
export async function loadManifestChecked(repo: Repository, snapshotId: string): Promise<{ manifest: Manifest } | { finding: IntegrityFinding }> {
  try {
    return { manifest: await repo.loadManifest(snapshotId) };
  } catch (err) {
    const finding = manifestFinding(snapshotId, err);
    if (!finding) throw err;
    return { finding };
  }
}

// ------------------------------------------------------------------ keys and config

export interface KeyScan {
  findings: IntegrityFinding[];
  keys: number;
  /** Parsed key files that did not open with the passphrase given (someone else's). */
  notVerified: number;
}

/**
 * Reads every key file: it must parse, carry its own name as id, and be byte-for-byte the form
 * this program writes (a key file's label and date are not authenticated by the format, so a
 * change there is caught only this way). With `passphrase`, keys other than `currentKeyId` are
 * unwrapped too: one that opens but does not decrypt this repository's config is foreign.
 */
export async function scanKeyFiles(store: BlobStore, opts: { currentKeyId?: string; passphrase?: string; configBytes?: Buffer | null } = {}): Promise<KeyScan> {
  const listed = (await store.list(KEYS_PREFIX)).map((b) => b.name).sort();
  const findings: IntegrityFinding[] = [];
  let notVerified = 0;
  if (listed.length === 0) {
    findings.push({ severity: 'error', kind: 'key-unreadable', message: `the repository at ${store.location} has no key files: nothing can open it` });
  }
  for (const name of listed) {
    const keyId = name.slice(KEYS_PREFIX.length);
    let bytes: Buffer;
    try {
      bytes = await store.get(name);
    } catch (err) {
      if (isWedsyncError(err, 'BLOB_NOT_FOUND')) continue; // removed since the listing
      throw err;
    }
    const parsed = parseKeyFile(bytes, keyId);
    if (parsed.kind === 'invalid') {
      findings.push({ severity: 'error', kind: 'key-unreadable', keyId, message: `key file ${name} is unreadable: ${parsed.reason}` });
      continue;
    }
    if (parsed.kind === 'newer') continue; // a newer program's key: not ours to judge
    if (!serializeKeyFile(parsed.file).equals(bytes)) {
      findings.push({ severity: 'error', kind: 'key-altered', keyId, message: `key file ${name} was altered: its bytes are not the form it was written in` });
      continue;
    }
    if (!opts.passphrase || keyId === opts.currentKeyId) continue;
    const master = await unwrapMasterKey(parsed.file, opts.passphrase);
    if (!master) {
      notVerified++;
      continue;
    }
    if (opts.configBytes) {
      try {
        openConfig(new BlobCodec(master, DEFAULT_COMPRESSION_LEVEL), opts.configBytes, store.location);
      } catch (err) {
        if (!isWedsyncError(err, 'INTEGRITY')) throw err;
        findings.push({ severity: 'error', kind: 'key-foreign', keyId, message: `key file ${name} opens with this passphrase but holds another repository's key` });
      }
    }
  }
  return { findings, keys: listed.length, notVerified };
}

export type OpenForCheck = { repo: Repository; findings: [] } | { repo: null; findings: IntegrityFinding[] };

/**
 * Opens the repository for verify/check. When damage (not the passphrase) keeps it shut —
 * key files unreadable, config altered — returns the findings instead of throwing. A wrong
 * passphrase with intact key files, a missing repository, or unreachable storage still throw.
 */
export async function openRepositoryForCheck(store: BlobStore, passphrase: string, opts: OpenOptions = {}): Promise<OpenForCheck> {
  try {
    return { repo: await openRepository(store, passphrase, opts), findings: [] };
  } catch (err) {
    if (!isWedsyncError(err) || (err.code !== 'INTEGRITY' && err.code !== 'WRONG_PASSPHRASE')) throw err;
    const wrongPassphrase = err.code === 'WRONG_PASSPHRASE';
    const scan = await scanKeyFiles(store);
    const findings = [...scan.findings];
    if (!wrongPassphrase && /config/.test(err.message)) {
      findings.push({ severity: 'error', kind: 'config-undecryptable', message: err.message });
    }
    if (findings.length === 0) {
      if (wrongPassphrase) throw err;
      findings.push({ severity: 'error', kind: 'key-unreadable', message: err.message });
    } else if (wrongPassphrase) {
      findings.push({ severity: 'error', kind: 'key-unreadable', message: `no intact key file opens the repository at ${store.location} with this passphrase` });
    }
    return { repo: null, findings };
  }
}

// ------------------------------------------------------------------ the repository check

export interface RepositoryCheckProgress {
  phase: 'keys' | 'index' | 'manifests' | 'packs' | 'read';
  done: number;
  total: number;
}

export interface RepositoryCheckOptions {
  /** Also read every pack whole: hash, header, every blob (slow: reads the whole repository). */
  readData?: boolean;
  /** Lets other key files be unwrapped and matched against this repository. */
  passphrase?: string;
  onProgress?: (p: RepositoryCheckProgress) => void;
  /** Aborting stops the check at the next pack or manifest with CANCELLED. */
  signal?: AbortSignal;
}

const READ_CONCURRENCY = 4;

async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The repository check: keys, config, index vs packs, pack headers (and bytes with readData),
 * manifests, unreferenced and unindexed packs (warnings). Never deletes or rewrites anything.
 */
export async function checkRepository(repo: Repository, opts: RepositoryCheckOptions = {}): Promise<RepositoryCheckReport> {
  const started = new Date();
  const store = repo.store;
  const findings = new Map<string, IntegrityFinding>();
  const add = (f: IntegrityFinding) => {
    const key = findingKey(f);
    if (!findings.has(key)) findings.set(key, f);
  };
  const cancelled = () => {
    if (opts.signal?.aborted) throw new WedsyncError('CANCELLED', 'the repository check was cancelled');
  };

  // Keys and config (the config decrypted, or the repository would not have opened).
  opts.onProgress?.({ phase: 'keys', done: 0, total: 1 });
  let configBytes: Buffer | null = null;
  try {
    configBytes = await store.get(CONFIG_NAME);
  } catch (err) {
    if (!isWedsyncError(err, 'BLOB_NOT_FOUND')) throw err;
    add({ severity: 'error', kind: 'config-undecryptable', message: `the repository config at ${store.location} is gone` });
  }
  const keys = await scanKeyFiles(store, { currentKeyId: repo.keyId, ...(opts.passphrase ? { passphrase: opts.passphrase } : {}), configBytes });
  keys.findings.forEach(add);
  cancelled();

  // Index files.
  opts.onProgress?.({ phase: 'index', done: 0, total: 1 });
  const index = await repo.loadIndexReportingDamage();
  const indexFiles = (await store.list(INDEX_PREFIX)).length;
  for (const d of index.damaged) add({ severity: 'error', kind: 'index-unreadable', indexId: d.indexId, message: d.reason });

  // Manifests: which packs each snapshot needs.
  const snapshotIds = await repo.listSnapshots();
  const users = new Map<string, Set<string>>();
  /** Pack → the blobs manifests need from it (to name the damaged ones when a pack fails). */
  const neededBlobs = new Map<string, Set<string>>();
  let unreadableManifests = 0;
  let done = 0;
  for (const snapshotId of snapshotIds) {
    cancelled();
    opts.onProgress?.({ phase: 'manifests', done: done++, total: snapshotIds.length });
    const loaded = await loadManifestChecked(repo, snapshotId);
    if ('finding' in loaded) {
      add(loaded.finding);
      unreadableManifests++;
      continue;
    }
    let missing = 0;
    for (const blobId of manifestBlobIds(loaded.manifest)) {
      const entry = repo.blobEntry(blobId);
      if (!entry) {
        missing++;
        continue;
      }
      let set = users.get(entry.packId);
      if (!set) users.set(entry.packId, (set = new Set()));
      set.add(snapshotId);
      let blobs = neededBlobs.get(entry.packId);
      if (!blobs) neededBlobs.set(entry.packId, (blobs = new Set()));
      blobs.add(blobId);
    }
    if (missing > 0) {
      add({
        severity: 'error',
        kind: 'blob-missing-from-index',
        snapshotId,
        message: `snapshot ${snapshotId} references ${missing} blob(s) no index lists${index.damaged.length ? ' (an index file is damaged: rebuild the index from the packs)' : ''}; run verify for the weddings it hurts`,
      });
    }
  }
  const usersOf = (packId: string) => {
    const set = users.get(packId);
    return set && set.size ? { snapshots: [...set].sort() } : {};
  };

  // Index against the stored packs.
  const stored = new Map<string, number>();
  let packBytes = 0;
  for (const { name, size } of await store.list(PACKS_PREFIX)) {
    packBytes += size;
    const id = packIdFromName(name);
    if (id) stored.set(id, size);
  }
  const indexed = repo.indexedPacks();
  const indexedIds = new Set(indexed.map((p) => p.id));
  for (const p of indexed) {
    const size = stored.get(p.id);
    if (size === undefined) {
      add({ severity: 'error', kind: 'index-pack-missing', packId: p.id, ...usersOf(p.id), message: `the index lists pack ${p.id} (${p.blobCount} blobs) but it is not in the repository` });
    } else if (size !== p.size) {
      add({ severity: 'error', kind: 'pack-size-mismatch', packId: p.id, ...usersOf(p.id), message: `pack ${p.id} holds ${size} bytes, the index says ${p.size}` });
    }
  }
  for (const id of stored.keys()) {
    if (!indexedIds.has(id)) {
      add({ severity: 'warning', kind: 'unindexed-pack', packId: id, message: `pack ${id} is in no index file (left by an interrupted backup, or a backup still running; prune removes it)` });
    } else if (!users.has(id) && unreadableManifests === 0) {
      add({ severity: 'warning', kind: 'unreferenced-pack', packId: id, message: `pack ${id} holds nothing any snapshot needs (prune removes it)` });
    }
  }
  cancelled();

  // Pack headers: every pack must describe itself, or the index could not be rebuilt from it.
  opts.onProgress?.({ phase: 'packs', done: 0, total: stored.size });
  const rebuilt = await repo.rebuildIndexFromPacks({ write: false });
  for (const d of rebuilt.damaged) {
    const packId = /^[0-9a-f]{64}$/.test(d.packId) ? d.packId : undefined;
    add({ severity: 'error', kind: 'pack-header-damaged', ...(packId ? { packId, ...usersOf(packId) } : {}), message: d.reason });
  }

  // Every byte of every pack.
  if (opts.readData) {
    const damagedHeaders = new Set(rebuilt.damaged.map((d) => d.packId));
    const ids = [...stored.keys()].filter((id) => !damagedHeaders.has(id)).sort();
    let read = 0;
    await eachLimit(ids, READ_CONCURRENCY, async (packId) => {
      cancelled();
      try {
        await repo.checkPack(packId);
      } catch (err) {
        if (isWedsyncError(err, 'BLOB_NOT_FOUND')) return; // deleted since the listing
        if (!isWedsyncError(err, 'INTEGRITY')) throw err;
        const kind = /does not hash to its name/.test(err.message) ? 'pack-hash-mismatch' : /^blob /.test(err.message) ? 'blob-corrupt' : 'pack-header-damaged';
        const blobId = typeof err.details?.blobId === 'string' ? err.details.blobId : undefined;
        add({ severity: 'error', kind, packId, ...(blobId ? { blobId } : {}), ...usersOf(packId), message: err.message });
        // checkPack stops at the first fault: name every blob a snapshot needs that is hurt.
        for (const f of await damagedNeededBlobs(repo, packId, neededBlobs.get(packId))) add({ ...f, ...usersOf(packId) });
      } finally {
        opts.onProgress?.({ phase: 'read', done: ++read, total: ids.length });
      }
    });
  }

  const list = sortFindings([...findings.values()]);
  const completed = new Date();
  return {
    location: store.location,
    status: statusOf(list),
    readData: Boolean(opts.readData),
    startedAt: started.toISOString(),
    completedAt: completed.toISOString(),
    durationMs: completed.getTime() - started.getTime(),
    counts: {
      keys: keys.keys,
      keysNotVerified: keys.notVerified,
      indexFiles,
      packs: stored.size,
      packBytes,
      snapshots: snapshotIds.length,
      blobs: index.blobs,
    },
    ...countSeverities(list),
    findings: list,
  };
}

/** The blobs of `packId` that manifests need and that no longer decrypt to their id (one re-read of the pack). */
async function damagedNeededBlobs(repo: Repository, packId: string, blobIds: Set<string> | undefined): Promise<IntegrityFinding[]> {
  if (!blobIds?.size) return [];
  const name = packName(packId);
  let bytes: Buffer;
  try {
    bytes = await repo.store.get(name);
  } catch (err) {
    if (isWedsyncError(err)) return [];
    throw err;
  }
  const out: IntegrityFinding[] = [];
  for (const blobId of [...blobIds].sort()) {
    const entry = repo.blobEntry(blobId);
    if (!entry) continue;
    try {
      if (entry.offset + entry.length > bytes.length) throw new WedsyncError('INTEGRITY', `blob ${blobId} in ${name} is damaged: it lies beyond the end of the pack`);
      repo.openBlob(blobId, bytes.subarray(entry.offset, entry.offset + entry.length), name);
    } catch (err) {
      if (!isWedsyncError(err, 'INTEGRITY')) throw err;
      out.push({ severity: 'error', kind: 'blob-corrupt', packId, blobId, message: err.message });
    }
  }
  return out;
}
