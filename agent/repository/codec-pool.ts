import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import { WedsyncError } from '../contract/errors.js';
import type { MasterKey } from './codec.js';
import type { BlobSpan, CodecTask, OpenBatchResult, SealBatchResult, SealSpan, WireKey } from './codec-tasks.js';

/**
 * Worker threads for the CPU-heavy half of the repository codec — AES-256-GCM, zstd and the
 * HMAC id check — so that a restore decodes segments on several cores while COPY runs, and a
 * backup's compression never holds the agent's event loop (API latency). One pool per process
 * (piscina), shared by every repository: the key travels with each batch.
 *
 * Guarantees:
 * - Same bytes, same verdicts: workers run codec-tasks.ts, the very functions the inline path
 *   runs. A damaged blob is a result (`{ error }` with the codec's reason), never an exception,
 *   so callers raise exactly the INTEGRITY error they raise inline.
 * - Ordering: a batch's results come back in the order of its spans. Batches are independent.
 * - Backpressure: at most `maxInFlight` batches are queued or running at once; further calls
 *   wait their turn (FIFO) before anything is sent. Memory in the pool stays bounded by
 *   maxInFlight × batch size whatever the producer does.
 * - Errors: a worker that throws or dies rejects the call with WedsyncError INTERNAL naming the
 *   cause; piscina replaces the worker for later calls. Where workers cannot run at all (piscina
 *   not installed, the worker file not loadable — probed once with a tiny batch), every batch
 *   runs inline on the calling thread instead: slower, never wrong.
 * - Lazy: nothing (not even piscina) is loaded before the first batch; callers send work here
 *   only when it is big (`poolFor`), so a one-wedding restore or an emergency backup
 *   never pays for starting threads.
 * - Shutdown: idle workers never keep the process alive (piscina unrefs them) and exit after
 *   IDLE_MS; `closeCodecPool()` stops them at once (the CLI calls it before it exits).
 * - Buffers handed over (`handOver`) are transferred to the worker, not copied: the caller must
 *   not touch them afterwards. Results are transferred back and belong to the caller.
 *
 * Workers load compiled JavaScript from dist/ (the CLI runs it; under vitest, test-support
 * builds dist/ before tests run).
 */

/**
 * Work below this many (sealed or plain) bytes is done inline: thread start-up and round trips
 * would cost more than they save. WEDSYNC_CODEC_OFFLOAD_BYTES overrides it (tests force the pool with 0).
 */
export const OFFLOAD_MIN_BYTES = 1024 * 1024;
/**
 * A worker's young generation at most. Its JavaScript objects are few and short-lived (a batch's
 * spans and results; the bytes live outside the heap), but left to V8's default (up to 48 MiB) the
 * young generation of a worker sealing a long backup grew to its maximum, all of it resident.
 */
const WORKER_YOUNG_GENERATION_MB = 8;
/** Idle workers exit after this long (the agent keeps no threads between backups). */
const IDLE_MS = 10_000;

export interface CodecPoolOptions {
  /** Worker threads (>= 1). */
  threads: number;
  /** Batches queued or running at once (default 2 per thread). */
  maxInFlight?: number;
  /** @internal the worker's file (tests: one that cannot load). */
  workerFile?: string;
}

function workerFile(): string {
  // Under vitest this module runs from its TypeScript source; the worker is always the compiled one.
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../dist/agent/repository/codec-worker.js', here).href : new URL('./codec-worker.js', here).href;
}

/** The buffer as a transferable whole, or a copy when it is a view into memory others share. */
function owned(bytes: Uint8Array): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  if (whole) return bytes;
  const copy = new Uint8Array(new ArrayBuffer(bytes.length));
  copy.set(bytes);
  return copy;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

export class CodecPool {
  readonly threads: number;
  private readonly maxInFlight: number;
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private piscina: Promise<Piscina | null> | null = null;
  private closed = false;
  private batches = 0;
  private readonly workerFile: string;

  constructor(options: CodecPoolOptions) {
    this.threads = Math.max(1, Math.floor(options.threads));
    this.maxInFlight = Math.max(1, options.maxInFlight ?? this.threads * 2);
    this.workerFile = options.workerFile ?? workerFile();
  }

  /**
   * Opens every span of `bytes` (sealed blobs, e.g. one range read of a pack): plaintexts one
   * after another in `plain`, per span its place or its error, in span order.
   */
  async open(key: MasterKey, level: number, bytes: Uint8Array, spans: BlobSpan[], handOver = false): Promise<OpenBatchResult> {
    const r = (await this.run({ op: 'open', key: keyBytes(key), level, bytes: handOver ? owned(bytes) : copyOf(bytes), spans })) as OpenBatchResult;
    return { plain: asBuffer(r.plain), results: r.results };
  }

  /**
   * Compresses and encrypts every span of `bytes` (plaintexts), in span order. With `handOver`,
   * a worker hands `bytes` back as `input` (the caller may fill it again).
   */
  async seal(key: MasterKey, level: number, bytes: Uint8Array, spans: SealSpan[], handOver = false): Promise<SealBatchResult> {
    const r = (await this.run({ op: 'seal', key: keyBytes(key), level, bytes: handOver ? owned(bytes) : copyOf(bytes), spans })) as SealBatchResult;
    return { sealed: asBuffer(r.sealed), lengths: r.lengths, ...(r.input ? { input: asBuffer(r.input) } : {}) };
  }

  /** Batches run so far (for logs and tests). */
  get stats(): { threads: number; batches: number } {
    return { threads: this.threads, batches: this.batches };
  }

  /** Waits for running batches, then stops every worker. Later calls reject. */
  async close(): Promise<void> {
    this.closed = true;
    const started = this.piscina;
    this.piscina = null;
    if (started) await (await started.catch(() => null))?.close();
  }

  private async run(task: CodecTask): Promise<unknown> {
    if (this.closed) throw new WedsyncError('INTERNAL', 'the codec pool is closed');
    // A slot is taken here or handed over by release(): never more than maxInFlight batches.
    if (this.inFlight < this.maxInFlight) this.inFlight++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      const pool = await this.start();
      this.batches++;
      if (!pool) return (await import('./codec-tasks.js')).runCodecTask(task);
      return await pool.run(task, { transferList: [task.bytes.buffer as ArrayBuffer] });
    } catch (err) {
      if (err instanceof WedsyncError) throw err;
      throw new WedsyncError('INTERNAL', `codec worker failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.inFlight--;
    }
  }

  private start(): Promise<Piscina | null> {
    this.piscina ??= (async () => {
      let Ctor: typeof Piscina;
      try {
        ({ Piscina: Ctor } = await import('piscina'));
      } catch (err) {
        // An install without piscina (a checkout whose node_modules predates it) still works, on one thread.
        if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return null;
        throw err;
      }
      const pool = new Ctor({ filename: this.workerFile, minThreads: 0, maxThreads: this.threads, idleTimeout: IDLE_MS, concurrentTasksPerWorker: 1, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
      // A worker dying outside a task is an 'error' event: unheard, it would end the process.
      // Its tasks reject on their own (INTERNAL, see run()); piscina starts a new worker.
      pool.on('error', () => undefined);
      // A worker that cannot load its file (dist/ not built, a packaged app whose archive a worker
      // cannot read) must not cost a batch whose buffer was already handed over: probe once with
      // a tiny one, and work inline if it fails.
      try {
        const probe: CodecTask = { op: 'seal', key: { encryption: new Uint8Array(32), mac: new Uint8Array(32) }, level: 1, bytes: new Uint8Array(1), spans: [{ id: '00'.repeat(32), offset: 0, length: 1, compress: 'never' }] };
        // A worker that fails to load is reported as an 'error' event, and its task never settles.
        await new Promise((resolve, reject) => {
          pool.once('error', reject);
          pool.run(probe).then(resolve, reject);
        });
      } catch {
        await pool.destroy().catch(() => undefined);
        return null;
      }
      return pool;
    })();
    return this.piscina;
  }
}

/**
 * The key as two 32-byte arrays of their own: a Buffer key may be a view into Node's shared
 * allocation pool, which a structured clone would copy whole into the worker.
 */
const keyCopies = new WeakMap<MasterKey, WireKey>();
function keyBytes(key: MasterKey): WireKey {
  let copy = keyCopies.get(key);
  if (!copy) keyCopies.set(key, (copy = { encryption: new Uint8Array(key.encryption), mac: new Uint8Array(key.mac) }));
  return copy;
}

function copyOf(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new ArrayBuffer(bytes.length));
  copy.set(bytes);
  return copy;
}

/**
 * Threads of the shared pool: WEDSYNC_CODEC_THREADS if set (0: no pool, everything inline),
 * else one per core but one, at least 1, at most 4 (the main thread and PostgreSQL need cores too).
 */
export function codecThreads(env: NodeJS.ProcessEnv = process.env): number {
  return envInt(env, 'WEDSYNC_CODEC_THREADS', 64) ?? Math.min(4, Math.max(1, availableParallelism() - 1));
}

function envInt(env: NodeJS.ProcessEnv, name: string, max: number): number | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new WedsyncError('BAD_INPUT', `${name} must be a whole number from 0 to ${max} (got ${JSON.stringify(raw)})`);
  return n;
}

let shared: CodecPool | null = null;

/** The process-wide pool, created on first use; null when WEDSYNC_CODEC_THREADS=0. */
export function codecPool(): CodecPool | null {
  if (shared) return shared;
  const threads = codecThreads();
  if (threads === 0) return null;
  shared = new CodecPool({ threads });
  return shared;
}

/**
 * The shared pool when `bytes` of work are worth sending to it (at least `minBytes`, default
 * OFFLOAD_MIN_BYTES; WEDSYNC_CODEC_OFFLOAD_BYTES overrides both), else null (do it inline).
 */
export function poolFor(bytes: number, minBytes = OFFLOAD_MIN_BYTES): CodecPool | null {
  return bytes >= (envInt(process.env, 'WEDSYNC_CODEC_OFFLOAD_BYTES', Number.MAX_SAFE_INTEGER) ?? minBytes) ? codecPool() : null;
}

/**
 * The shared pool for sealing `bytes` of new blobs (a backup), or null: seal inline. Sealing
 * (as reading: readPoolFor) needs at least two codec threads (3 cores or more) unless WEDSYNC_CODEC_THREADS asks for threads explicitly. Measured on a 2-core machine
 * (bench/RESULTS.md, issue 3 memory rows), one sealing thread bought no wall time — the main
 * thread, the worker and PostgreSQL's COPY backends share the two cores — and cost 80–110 MB of
 * peak RSS (the worker's isolate and the batches in flight), which put a full backup of 10,000
 * weddings over its 300 MB bound.
 */
export function sealPoolFor(bytes: number, opts: { minBytes?: number; env?: NodeJS.ProcessEnv } = {}): CodecPool | null {
  return codecThreadsPayOff(opts.env) ? poolFor(bytes, opts.minBytes) : null;
}

/**
 * Whether sealing or reading may use the pool at all (sealPoolFor/readPoolFor without the amount;
 * read once per session by a writer): WEDSYNC_CODEC_THREADS set explicitly, or at least two codec threads.
 */
export function codecThreadsPayOff(env: NodeJS.ProcessEnv = process.env): boolean {
  const explicit = env['WEDSYNC_CODEC_THREADS'] !== undefined && env['WEDSYNC_CODEC_THREADS'] !== '';
  return explicit || codecThreads(env) >= 2;
}

/**
 * The shared pool for reading `bytes` of blobs (forEachBlob: a complete restore decoding
 * segments for COPY), or null: decode inline. Like sealPoolFor: at least two codec threads (3
 * cores or more) unless WEDSYNC_CODEC_THREADS asks for threads explicitly. On two cores the
 * restore's two loading backends keep both busy, so one decoding thread only added its own
 * overhead: measured on a 2-core machine, ~0.3 s more CPU for a 2000-wedding restore, no faster.
 */
export function readPoolFor(bytes: number, opts: { env?: NodeJS.ProcessEnv } = {}): CodecPool | null {
  return codecThreadsPayOff(opts.env) ? poolFor(bytes) : null;
}

/**
 * Stops the shared pool's workers (a later codecPool() starts a new pool). Returns what it had
 * done, or null when no pool was created in this process.
 */
export async function closeCodecPool(): Promise<{ threads: number; batches: number } | null> {
  const pool = shared;
  shared = null;
  await pool?.close();
  return pool ? pool.stats : null;
}
