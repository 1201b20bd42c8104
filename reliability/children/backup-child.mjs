// A backup in its own process for reliability/crash-backup.test.ts, over the compiled code
// (dist/), that can SIGKILL itself at an exact point: just before, during, or just after the
// Nth write (put or delete) to the repository's store — reads change nothing, so writes are
// where a crash can hurt. The parent picks N and the mode from its seeded PRNG, so a kill point
// is reproducible. Without a kill it prints how many writes the backup made (the range the next
// kill point is drawn from).
//
// Usage: node backup-child.mjs '<json>'  with { url, repo, photos, passphrase, type,
//   kill?: { at: number, mode: 'before' | 'during' | 'after', delayMs: number } }
// Prints "SNAPSHOT <id>" and "WRITES <n>" on success.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const load = (p) => import(pathToFileURL(join(root, 'dist/agent', p)).href);
const spec = JSON.parse(process.argv[2]);

const [{ LocalBlobStore }, { RetryingBlobStore }, { openRepository }, { openCatalog }, { openBackupSource }, { runBackup }, { DEFAULT_SCHEMA_MAP }, { silentLogger }] = await Promise.all([
  load('storage/local/local-store.js'),
  load('storage/retrying-store.js'),
  load('repository/repository.js'),
  load('catalog/catalog.js'),
  load('source/backup-source.js'),
  load('jobs/backup.js'),
  load('contract/schema-map.js'),
  load('logger.js'),
]);

const die = () => process.kill(process.pid, 'SIGKILL');

/** Counts writes to the store and kills this process at write `kill.at`. */
class KillingStore {
  constructor(inner, kill) {
    this.inner = inner;
    this.kill = kill;
    this.writes = 0;
    this.location = inner.location;
    this.provider = inner.provider;
  }
  async write(fn) {
    const n = ++this.writes;
    const k = this.kill;
    if (!k || n !== k.at) return fn();
    if (k.mode === 'before') die();
    if (k.mode === 'during') {
      setTimeout(die, k.delayMs);
      return fn();
    }
    const out = await fn();
    die();
    return out;
  }
  put(name, data) { return this.write(() => this.inner.put(name, data)); }
  get(name) { return this.inner.get(name); }
  getRange(name, o, l) { return this.inner.getRange(name, o, l); }
  head(name) { return this.inner.head(name); }
  list(prefix) { return this.inner.list(prefix); }
  delete(name) { return this.write(() => this.inner.delete(name)); }
  close() { return this.inner.close(); }
}

const local = await LocalBlobStore.open(spec.repo);
const store = new KillingStore(new RetryingBlobStore(local, { retries: 5, minDelayMs: 100, maxDelayMs: 5000 }), spec.kill ?? null);
const repo = await openRepository(store, spec.passphrase);
const catalog = await openCatalog(spec.url);
const photoStore = await LocalBlobStore.open(spec.photos);
const result = await runBackup(
  { openSource: () => openBackupSource(spec.url, DEFAULT_SCHEMA_MAP, 2), catalog, repo, photoStore, map: DEFAULT_SCHEMA_MAP, logger: await silentLogger() },
  { type: spec.type },
);
process.stdout.write(`SNAPSHOT ${result.snapshotId}\nWRITES ${store.writes}\n`);
await catalog.close();
process.exit(0);
