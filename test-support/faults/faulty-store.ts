import type { BlobInfo, BlobStore } from '../../agent/storage/blob-store.js';
import { mapFsError } from '../../agent/storage/local/fs-errors.js';
import { createPrng, type Prng } from './prng.js';

/**
 * A BlobStore wrapper that makes a folder target fail the way a real disk does: ENOSPC when it
 * is full, EACCES when someone took our permissions away, EIO when the hardware gives up. The
 * errors are built from Node-style errno errors and mapped by the folder store's own mapping
 * (agent/storage/local/fs-errors.ts), so the layers above see exactly what LocalBlobStore
 * would throw. (Tests run as root, where chmod cannot take write access away: hence a wrapper.)
 *
 * Two ways to break it, combinable:
 *  - rules: "fail op X on names under prefix P with errno E, after N good ones, with rate R,
 *    at most T times" (a persistent fault by default);
 *  - freeBytes: a disk with that much room left. A put that does not fit fails with ENOSPC;
 *    deleting a blob gives its bytes back, as on a real disk.
 * The store below is not touched by a failed call: a real failed write leaves at most a temp
 * file, which LocalBlobStore removes, so nothing becomes visible.
 */
export type Errno = 'ENOSPC' | 'EACCES' | 'EIO' | 'EROFS' | 'EDQUOT' | 'EMFILE';
type Op = 'put' | 'get' | 'getRange' | 'head' | 'list' | 'delete';

export interface FaultRule {
  errno: Errno;
  /** Operations the rule applies to (default ['put']). */
  ops?: Op[];
  /** Only names (or list prefixes) starting with one of these (default: every name). */
  prefixes?: string[];
  /** Matching calls that succeed before the fault starts (default 0). */
  after?: number;
  /** Probability a matching call fails once the fault has started (default 1). */
  rate?: number;
  /** At most this many failures (default: no limit). */
  times?: number;
}

export interface InjectedFault {
  op: Op;
  name: string;
  errno: Errno;
}

const MESSAGES: Record<Errno, string> = {
  ENOSPC: 'no space left on device',
  EACCES: 'permission denied',
  EIO: 'i/o error',
  EROFS: 'read-only file system',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files',
};
const ERRNO: Record<Errno, number> = { ENOSPC: -28, EACCES: -13, EIO: -5, EROFS: -30, EDQUOT: -122, EMFILE: -24 };

interface RuleState {
  rule: FaultRule;
  seen: number;
  failed: number;
}

export class FaultyBlobStore implements BlobStore {
  readonly location: string;
  readonly provider: BlobStore['provider'];
  /** Every fault injected so far, in order. */
  readonly injected: InjectedFault[] = [];
  private rules: RuleState[] = [];
  private free: number;
  private readonly prng: Prng;

  constructor(
    private readonly inner: BlobStore,
    opts: { rules?: FaultRule[]; freeBytes?: number; seed?: number } = {},
  ) {
    this.location = inner.location;
    this.provider = inner.provider;
    this.free = opts.freeBytes ?? Infinity;
    this.prng = createPrng(opts.seed ?? 1);
    this.setRules(opts.rules ?? []);
  }

  /** Replaces the rules (counters start again). */
  setRules(rules: FaultRule[]): void {
    this.rules = rules.map((rule) => ({ rule, seen: 0, failed: 0 }));
  }

  /** Room left on the "disk"; Infinity for no limit. */
  setFreeBytes(bytes: number): void {
    this.free = bytes;
  }

  /** Back to a healthy disk. */
  heal(): void {
    this.rules = [];
    this.free = Infinity;
  }

  async put(name: string, data: Buffer | Uint8Array): Promise<void> {
    this.check('put', name);
    if (data.length > this.free) throw this.fail('put', name, 'ENOSPC');
    const before = Number.isFinite(this.free) ? ((await this.inner.head(name).catch(() => null))?.size ?? 0) : 0;
    await this.inner.put(name, data);
    if (Number.isFinite(this.free)) this.free -= data.length - before;
  }

  async get(name: string): Promise<Buffer> {
    this.check('get', name);
    return this.inner.get(name);
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    this.check('getRange', name);
    return this.inner.getRange(name, offset, length);
  }

  async head(name: string): Promise<BlobInfo | null> {
    this.check('head', name);
    return this.inner.head(name);
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    this.check('list', prefix);
    return this.inner.list(prefix);
  }

  async delete(name: string): Promise<void> {
    this.check('delete', name);
    const size = Number.isFinite(this.free) ? ((await this.inner.head(name).catch(() => null))?.size ?? 0) : 0;
    await this.inner.delete(name);
    this.free += size;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Throws the first rule's fault that fires for this call. */
  private check(op: Op, name: string): void {
    for (const state of this.rules) {
      const { rule } = state;
      if (!(rule.ops ?? ['put']).includes(op)) continue;
      if (rule.prefixes && !rule.prefixes.some((p) => name.startsWith(p))) continue;
      state.seen++;
      if (state.seen <= (rule.after ?? 0)) continue;
      if (state.failed >= (rule.times ?? Infinity)) continue;
      if (!this.prng.chance(rule.rate ?? 1)) continue;
      state.failed++;
      throw this.fail(op, name, rule.errno);
    }
  }

  private fail(op: Op, name: string, errno: Errno): unknown {
    this.injected.push({ op, name, errno });
    const syscall = op === 'put' ? 'write' : op === 'delete' ? 'unlink' : op === 'list' ? 'scandir' : 'open';
    const path = `${this.location}/${name}`;
    const err = Object.assign(new Error(`${errno}: ${MESSAGES[errno]}, ${syscall} '${path}'`), { code: errno, errno: ERRNO[errno], syscall, path });
    const access = op === 'put' || op === 'delete' ? 'write' : 'read';
    return mapFsError(err, access, this.location, op === 'list' ? { path } : { name, path });
  }
}

// Compile-time check that the wrapper is a BlobStore built from a BlobStore.
void (FaultyBlobStore satisfies new (inner: BlobStore, opts?: { rules?: FaultRule[] }) => BlobStore);
