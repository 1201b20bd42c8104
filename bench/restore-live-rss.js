#!/usr/bin/env node
// Peak memory of a complete restore into the LIVE database (issue 10 follow-up, item 4): on
// `seed --weddings N` (env N, default 2000) in a fresh embedded PostgreSQL, one full backup, then
// some damage (one wedding's guests deleted, a tenth of the timeline edited, some vendors
// deleted), then `restore latest --scope complete --yes` as a whole CLI process under GNU time:
// its maximum resident set size and wall time. The database is checked equal to the source after.
//
//   N=2000 node bench/restore-live-rss.js      (npm run build first; needs /usr/bin/time)
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliUnderTime as cli, fingerprint, query } from './lib.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.N ?? 2000);
const { startEmbeddedPostgres } = await import(join(root, 'dist/agent/source/embedded.js'));
const dir = await mkdtemp(join(tmpdir(), 'wedsync-live-rss-'));
const log = (m) => process.stderr.write(`[restore-live-rss] ${m}\n`);

let cluster;
try {
  cluster = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), persistent: false });
  await query(cluster.url, 'CREATE DATABASE wedsync TEMPLATE template0');
  const url = cluster.urlFor('wedsync');
  const env = { DATABASE_URL: url, WEDSYNC_HOME: join(dir, 'home'), WEDSYNC_REPO: join(dir, 'repo'), WEDSYNC_PHOTO_STORE: join(dir, 'photos'), WEDSYNC_PASSPHRASE: 'live rss bench', WEDSYNC_LOG_LEVEL: 'warn' };
  await cli(['init'], env);
  log(`seeding ${N} weddings`);
  const seeded = await cli(['seed', '--weddings', String(N), '--photo-files-per-wedding', '0'], env);
  const rows = Object.values(seeded.json.counts ?? {}).reduce((a, b) => a + b, 0);
  await query(url, 'VACUUM ANALYZE');
  const backup = await cli(['backup', '--type', 'full'], env);
  log(`full backup: ${(backup.json.bytesTotal / 1048576).toFixed(1)} MiB stored, backup CLI peak RSS ${backup.rssMiB?.toFixed(0)} MiB`);
  const source = await fingerprint(url);
  await query(url, `DELETE FROM guests WHERE wedding_id = (SELECT id FROM weddings ORDER BY id LIMIT 1)`);
  await query(url, `UPDATE timeline_events SET title = title || ' (moved)' WHERE id IN (SELECT id FROM timeline_events ORDER BY id LIMIT (SELECT count(*) / 10 FROM timeline_events))`);
  await query(url, `DELETE FROM vendors WHERE id IN (SELECT id FROM vendors ORDER BY id LIMIT 50)`);
  const r = await cli(['restore', 'latest', '--scope', 'complete', '--yes'], env);
  if (r.json.operation?.status !== 'completed') throw new Error(`restore did not complete: ${JSON.stringify(r.json).slice(0, 400)}`);
  if (JSON.stringify(await fingerprint(url)) !== JSON.stringify(source)) throw new Error('the restored database differs from the source');
  const t = r.json.preview.totals;
  process.stdout.write(
    `| complete restore into the live database, ${N} weddings (${rows.toLocaleString('en')} rows; ${t.inserted} inserted, ${t.updated} updated, ${t.deleted} deleted) | peak RSS ${r.rssMiB.toFixed(0)} MiB | ${(r.ms / 1000).toFixed(2)} s wall, ${(r.cpuMs / 1000).toFixed(1)} s CPU (user+sys) of the CLI | load ${loadavg().map((l) => l.toFixed(1)).join(' ')} |\n`,
  );
} catch (err) {
  process.stderr.write(`[restore-live-rss] failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cluster?.stop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
  process.exit(process.exitCode ?? 0);
}
