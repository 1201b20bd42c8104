import { WedsyncError } from '../contract/errors.js';
import type { Manifest, ManifestWedding, SnapshotHeader, SnapshotTrees, TreeEntry } from '../contract/manifest.js';
import { decodeTree, treeError } from './snapshot-tree.js';

/** What a SnapshotView needs of the repository: blob reads checked against their ids. */
export interface TreeReader {
  forEachBlob(blobIds: Iterable<string>, onBlob: (blobId: string, plaintext: Buffer) => void | Promise<void>, opts?: { scanPacksOnMiss?: boolean }): Promise<void>;
}

/**
 * A snapshot opened lazily (`Repository.openSnapshot`): the header (every manifest field but the
 * weddings) is read and authenticated up front; weddings are read per tree, only when asked for.
 * A one-wedding restore reads the root and one tree; `manifest()` reads every tree.
 *
 * For a format-1 snapshot the whole manifest was read to open it, and the view serves from it.
 *
 * Guarantees: every tree is checked against its id (HMAC) and against the root's entry (bucket,
 * wedding ids); a tree that is missing or damaged is INTEGRITY naming the snapshot and its weddings.
 */
export class SnapshotView {
  private readonly byWedding = new Map<string, TreeEntry>();

  /** @internal use Repository.openSnapshot. */
  constructor(
    private readonly reader: TreeReader,
    readonly header: SnapshotHeader,
    /** Format 1 only: the manifest's weddings. */
    private readonly v1Weddings: ManifestWedding[] | null,
  ) {
    for (const entry of header.trees?.entries ?? []) for (const id of entry.weddingIds) this.byWedding.set(id, entry);
  }

  get snapshotId(): string {
    return this.header.snapshotId;
  }

  get formatVersion(): number {
    return this.header.formatVersion;
  }

  /** Format 2: the trees (bucket count and entries); null for format 1. */
  get trees(): SnapshotTrees | null {
    return this.header.trees ?? null;
  }

  /** Every wedding id the snapshot holds, sorted. No tree is read. */
  weddingIds(): string[] {
    if (this.v1Weddings) return this.v1Weddings.map((w) => w.weddingId).sort();
    return [...this.byWedding.keys()].sort();
  }

  hasWedding(weddingId: string): boolean {
    if (this.v1Weddings) return this.v1Weddings.some((w) => w.weddingId === weddingId);
    return this.byWedding.has(weddingId);
  }

  /** Format 2: the entry of the tree holding `weddingId`, if the snapshot holds it. */
  treeOf(weddingId: string): TreeEntry | undefined {
    return this.byWedding.get(weddingId);
  }

  /** One wedding (reads its tree only), or undefined when the snapshot does not hold it. */
  async wedding(weddingId: string): Promise<ManifestWedding | undefined> {
    return (await this.weddings([weddingId]))[0];
  }

  /**
   * The listed weddings the snapshot holds (unknown ids are skipped), sorted by id; reads only
   * the trees that hold them.
   */
  async weddings(weddingIds: Iterable<string>): Promise<ManifestWedding[]> {
    const wanted = new Set(weddingIds);
    if (this.v1Weddings) return this.v1Weddings.filter((w) => wanted.has(w.weddingId)).sort(byId);
    const entries = new Set<TreeEntry>();
    for (const id of wanted) {
      const entry = this.byWedding.get(id);
      if (entry) entries.add(entry);
    }
    const out: ManifestWedding[] = [];
    await this.readTrees([...entries], (ws) => {
      for (const w of ws) if (wanted.has(w.weddingId)) out.push(w);
    });
    return out.sort(byId);
  }

  /**
   * Calls `onTree` with each tree's weddings (format 1: once, with all of them), holding one
   * tree's weddings at a time at most (plus reads in flight): for walks over every wedding.
   */
  async forEachTree(onTree: (weddings: ManifestWedding[], entry: TreeEntry | null) => void | Promise<void>): Promise<void> {
    if (this.v1Weddings) {
      await onTree([...this.v1Weddings].sort(byId), null);
      return;
    }
    await this.readTrees(this.header.trees?.entries ?? [], onTree);
  }

  /** Every wedding, sorted by id (reads every tree). */
  async allWeddings(): Promise<ManifestWedding[]> {
    if (this.v1Weddings) return [...this.v1Weddings];
    const out: ManifestWedding[] = [];
    await this.readTrees(this.header.trees?.entries ?? [], (ws) => {
      out.push(...ws);
    });
    return out.sort(byId);
  }

  /**
   * The snapshot as one Manifest object. With `weddingIds`, `weddings` holds only those the
   * snapshot has (every other field is the whole snapshot's): for planning a restore of a few.
   */
  async manifest(weddingIds?: Iterable<string>): Promise<Manifest> {
    if (this.v1Weddings && !weddingIds) return { ...this.header, weddings: this.v1Weddings };
    const weddings = weddingIds ? await this.weddings(weddingIds) : await this.allWeddings();
    return { ...this.header, weddings };
  }

  private async readTrees(entries: TreeEntry[], onTree: (weddings: ManifestWedding[], entry: TreeEntry) => void | Promise<void>): Promise<void> {
    if (entries.length === 0) return;
    const byId = new Map<string, TreeEntry[]>();
    for (const e of entries) {
      const list = byId.get(e.id);
      if (list) list.push(e);
      else byId.set(e.id, [e]);
    }
    try {
      await this.reader.forEachBlob(byId.keys(), async (blobId, plaintext) => {
        for (const entry of byId.get(blobId)!) await onTree(decodeTree(plaintext, entry, this.snapshotId), entry);
      }, { scanPacksOnMiss: true });
    } catch (err) {
      // A tree blob missing from the index or damaged in its pack: name the weddings it holds.
      if (err instanceof WedsyncError && (err.code === 'BLOB_NOT_FOUND' || (err.code === 'INTEGRITY' && !err.details?.['treeId']))) {
        const blobId = err.details?.['blobId'];
        let entry = typeof blobId === 'string' ? byId.get(blobId)?.[0] : undefined;
        // A pack that is gone names no blob: find the tree that cannot be read, one at a time.
        if (!entry && byId.size === 1) entry = [...byId.values()][0]![0];
        if (!entry) {
          for (const [id, list] of byId) {
            const failed = await this.reader.forEachBlob([id], () => undefined, { scanPacksOnMiss: true }).then(
              () => false,
              () => true,
            );
            if (failed) {
              entry = list[0];
              break;
            }
          }
        }
        if (entry) {
          const reason = err.code === 'BLOB_NOT_FOUND' ? (typeof blobId === 'string' ? 'no index lists it' : `its pack is missing (${err.message})`) : err.message;
          throw treeError(this.snapshotId, entry, reason, err);
        }
      }
      throw err;
    }
  }
}

function byId(a: ManifestWedding, b: ManifestWedding): number {
  return a.weddingId < b.weddingId ? -1 : a.weddingId > b.weddingId ? 1 : 0;
}
