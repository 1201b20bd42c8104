// One agent in its own process for reliability/agents.test.ts: the real job runner (compiled
// dist/ code: queue, handlers, backups under the repository lock) on a shared catalog and
// repository, no scheduler and no prune, short leases so a killed agent's job is taken over
// within seconds. Prints "STARTED <jobId>" / "DONE <jobId>" / "FAILED <jobId> <code>" per job.
//
// Usage: node agent-child.mjs '<json>'  with { agentId, url, repo, photos, passphrase, leaseMs }
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const load = (p) => import(pathToFileURL(join(root, 'dist/agent', p)).href);
const spec = JSON.parse(process.argv[2]);

const [{ LocalBlobStore }, { RetryingBlobStore }, { openCatalog }, { openSchedulingCatalog }, { openBackupSource }, { startDaemon }, { scheduleConfig }, { DEFAULT_SCHEMA_MAP }, { silentLogger }] = await Promise.all([
  load('storage/local/local-store.js'),
  load('storage/retrying-store.js'),
  load('catalog/catalog.js'),
  load('catalog/queue-catalog.js'),
  load('source/backup-source.js'),
  load('jobs/runner-daemon.js'),
  load('jobs/scheduler-cron.js'),
  load('contract/schema-map.js'),
  load('logger.js'),
]);

const repoStore = new RetryingBlobStore(await LocalBlobStore.open(spec.repo), { retries: 5, minDelayMs: 100, maxDelayMs: 5000 });
const say = (line) => process.stdout.write(`${line}\n`);
const daemon = startDaemon({
  agentId: spec.agentId,
  logger: await silentLogger(),
  catalog: await openCatalog(spec.url),
  scheduling: openSchedulingCatalog(spec.url, DEFAULT_SCHEMA_MAP),
  repoStore,
  passphrase: spec.passphrase,
  openSource: () => openBackupSource(spec.url, DEFAULT_SCHEMA_MAP, 1),
  photoStore: await LocalBlobStore.open(spec.photos),
  map: DEFAULT_SCHEMA_MAP,
  schedule: scheduleConfig({}),
  pruneCron: null,
  openOffsite: null,
  scheduler: false,
  maintenance: false,
  leaseMs: spec.leaseMs,
  pollMs: 50,
  onEvent: (e) => {
    if (e.type === 'started') say(`STARTED ${e.job.id}`);
    else if (e.type === 'succeeded') say(`DONE ${e.job.id}`);
    else if (e.type === 'failed' || e.type === 'retrying') say(`FAILED ${e.job.id} ${e.error?.code}`);
  },
});
say('READY');
process.once('SIGTERM', () => void daemon.stop().then(() => process.exit(0)));
