// A confirmed restore in its own process for reliability/crash-restore.test.ts, over the compiled
// code (dist/): preview, token, then the restore (recovery point, one-transaction apply, verify,
// audit), exactly what `wedsync-backup restore --yes` runs. It prints each phase as it starts
// ("PHASE recovery-point", "PHASE apply", …) and, with `holdInApplyMs`, prints "MERGED" inside
// the apply transaction after the merge and waits there: the parent kills it at that marker
// (a crash mid-apply, guaranteed) or at a random moment of the whole run. With
// `holdAfterCommitMs` it prints "COMMITTED" once the apply transaction committed, before the
// restore records its outcome again, and waits there (a crash right after COMMIT).
//
// Usage: node restore-child.mjs '<json>'  with { url, repo, photos, passphrase, snapshotId,
//   recoveryScope, weddingIds?, dataTypes?, holdInApplyMs?, holdAfterCommitMs? }
// Prints "OPERATION <id> <status>" at the end.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const load = (p) => import(pathToFileURL(join(root, 'dist/agent', p)).href);
const spec = JSON.parse(process.argv[2]);

const [{ LocalBlobStore }, { RetryingBlobStore }, { openRepository }, { openCatalog }, { openRecoveryCatalog }, { openBackupSource }, { openRestoreTarget }, { previewRestore, startRestore }, { ConfirmationTokens }, { DEFAULT_SCHEMA_MAP }, { silentLogger }] =
  await Promise.all([
    load('storage/local/local-store.js'),
    load('storage/retrying-store.js'),
    load('repository/repository.js'),
    load('catalog/catalog.js'),
    load('catalog/recovery.js'),
    load('source/backup-source.js'),
    load('source/restore-target.js'),
    load('jobs/restore.js'),
    load('jobs/restore-token.js'),
    load('contract/schema-map.js'),
    load('logger.js'),
  ]);

const store = new RetryingBlobStore(await LocalBlobStore.open(spec.repo), { retries: 5, minDelayMs: 100, maxDelayMs: 5000 });
const repo = await openRepository(store, spec.passphrase);
const catalog = await openCatalog(spec.url);
const recovery = await openRecoveryCatalog(spec.url);
const photoStore = await LocalBlobStore.open(spec.photos);
const say = (line) => process.stdout.write(`${line}\n`);
const deps = {
  repo,
  map: DEFAULT_SCHEMA_MAP,
  liveUrl: spec.url,
  openTarget: openRestoreTarget,
  logger: await silentLogger(),
  recovery,
  tokens: new ConfirmationTokens(),
  photoStore,
  backup: { catalog, openSource: (url, whole, o) => openBackupSource(url, DEFAULT_SCHEMA_MAP, whole ? 2 : 1, o) },
  onProgress: (_id, p) => say(`PHASE ${p.phase}`),
  ...(spec.holdAfterCommitMs
    ? {
        afterCommit: async () => {
          say('COMMITTED');
          await new Promise((r) => setTimeout(r, spec.holdAfterCommitMs));
        },
      }
    : {}),
  ...(spec.holdInApplyMs
    ? {
        afterMerge: async () => {
          say('MERGED');
          await new Promise((r) => setTimeout(r, spec.holdInApplyMs));
        },
      }
    : {}),
};
const request = { snapshotId: spec.snapshotId, recoveryScope: spec.recoveryScope, weddingIds: spec.weddingIds, dataTypes: spec.dataTypes };
say('PHASE preview');
const { preview, prepared } = await previewRestore(deps, request);
const started = await startRestore(deps, request, preview.confirmationToken, { initiatedByLabel: 'reliability child' }, prepared);
say(`STARTED ${started.operation.id}`);
const op = await started.done;
say(`OPERATION ${op.id} ${op.status}`);
await Promise.all([catalog.close(), recovery.close()]);
process.exit(0);
