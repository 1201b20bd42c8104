// Peak memory of a full backup at two database sizes, measured in one run (issue 3: "peak memory
// ≤ 300 MB, and no more than 20% higher at 10,000 weddings"), beside pg_dump -Fc of the same
// databases. Rounds are interleaved (small, large, small, large, …) so machine load hits both
// sizes alike; every backup goes into a fresh repository (everything new: the heaviest case).
//
// Usage: npm run build && SMALL=2000 LARGE=10000 ROUNDS=3 node bench/backup-mem-bench.js
// env: CACHE=<dir> keeps the seeded cluster between runs (default: a temp dir, removed after);
//      BACKUP_ENV='WEDSYNC_CODEC_THREADS=0 …' extra environment for the backup CLI;
//      COMPARE_ENV='…' a second configuration, run in the same rounds (order alternating);
//      TRACE=1 prints the backup's phase log (RSS, heap, buffers after each phase).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, fmt, median, pgBin, timed } from './lib.js';

const SMALL = Number(process.env.SMALL ?? 2000);
const LARGE = Number(process.env.LARGE ?? 10000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const TRACE = process.env.TRACE === '1';
const parseEnv = (text) =>
  Object.fromEntries(
    (text ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
// A second configuration measured in the same rounds (e.g. COMPARE_ENV='WEDSYNC_CODEC_THREADS=1').
const configs = [{ label: process.env.BACKUP_ENV || 'default settings', env: parseEnv(process.env.BACKUP_ENV) }];
if (process.env.COMPARE_ENV) configs.push({ label: process.env.COMPARE_ENV, env: parseEnv(process.env.COMPARE_ENV) });

const { startEmbeddedPostgres } = await import(join(ROOT, 'dist/agent/source/embedded.js'));
const { migrate } = await import(join(ROOT, 'dist/agent/catalog/migrate.js'));
const { seed } = await import(join(ROOT, 'dist/agent/source/seed.js'));
const pg = (await import('pg')).default;

const keep = Boolean(process.env.CACHE);
const dir = process.env.CACHE ?? (await mkdtemp(join(tmpdir(), 'wedsync-mem-')));
await mkdir(dir, { recursive: true });
const cluster = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), persistent: true, settings: { fsync: 'off' } });
const passFile = join(dir, 'pass');
await writeFile(passFile, 'bench passphrase\n');
const { LocalBlobStore } = await import(join(ROOT, 'dist/agent/storage/local/local-store.js'));
await (await LocalBlobStore.open(join(dir, 'photos'), { create: true })).close();

async function database(weddings) {
  const name = `w${weddings}`;
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount > 0;
  const url = cluster.urlFor(name);
  if (!exists || !existsSync(join(dir, `${name}.seeded`))) {
    if (exists) await admin.query(`DROP DATABASE ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await migrate(c);
    const t0 = Date.now();
    // As bench/lib.js seeds: no photo files (pg_dump has none either).
    await seed(c, { weddings, photoFilesPerWedding: 0, seed: 1, now: new Date('2026-11-28T12:00:00Z'), timeZone: 'UTC' });
    await c.query('VACUUM ANALYZE');
    await c.end();
    await writeFile(join(dir, `${name}.seeded`), '');
    console.error(`seeded ${weddings} weddings in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  await admin.end();
  return url;
}

function cli(url, repo, args, extraEnv = {}) {
  const env = { DATABASE_URL: url, WEDSYNC_HOME: join(dir, 'home'), WEDSYNC_REPO: repo, WEDSYNC_PHOTO_STORE: join(dir, 'photos'), WEDSYNC_PASSPHRASE_FILE: passFile, WEDSYNC_LOG_LEVEL: 'warn', ...extraEnv };
  return timed(process.execPath, [BIN, ...args], env);
}

async function fullBackup(weddings, url, round, env) {
  const repo = join(dir, `repo-${weddings}-${round}`);
  await rm(repo, { recursive: true, force: true });
  await cli(url, repo, ['init']);
  const r = await cli(url, repo, ['backup', '--type', 'full', '--json', ...(TRACE ? ['--log-level', 'debug'] : [])], env);
  if (TRACE) {
    for (const line of r.stderr.split('\n')) {
      if (!line.includes('backup phase')) continue;
      const j = JSON.parse(line);
      console.error(`  ${weddings} ${j.phase.padEnd(12)} ${String(j.ms).padStart(6)} ms rss ${j.rssMb} heap ${j.heapMb} buffers ${j.buffersMb}`);
    }
  }
  await rm(repo, { recursive: true, force: true });
  return r;
}

const sizes = [SMALL, LARGE];
const urls = new Map();
for (const n of sizes) urls.set(n, await database(n));
const results = new Map(configs.map((c) => [c.label, new Map(sizes.map((n) => [n, { peak: [], ms: [], ratio: [] }]))]));
const dumps = new Map(sizes.map((n) => [n, []]));
const loads = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const n of sizes) {
      loads.push(loadavg()[0]);
      const out = join(dir, `dump-${n}.pgdump`);
      const dump = await timed(pgBin('pg_dump'), ['-Fc', '-f', out, urls.get(n)]);
      await rm(out, { force: true });
      dumps.get(n).push(dump.ms);
      const order = round % 2 === 0 ? configs : [...configs].reverse();
      for (const c of order) {
        const b = await fullBackup(n, urls.get(n), round, c.env);
        const res = results.get(c.label).get(n);
        res.ms.push(b.ms);
        res.peak.push(b.peakMb);
        res.ratio.push(b.ms / dump.ms);
        console.error(`round ${round + 1} ${n} weddings [${c.label}]: pg_dump ${fmt(dump.ms / 1000)} s, backup ${fmt(b.ms / 1000)} s = ${fmt(b.ms / dump.ms)}×, peak RSS ${fmt(b.peakMb, 0)} MB`);
      }
    }
  }
} finally {
  await cluster.stop();
  if (!keep) await rm(dir, { recursive: true, force: true });
}

const lines = [`| backup settings | measure (median of ${ROUNDS}; all) | ${SMALL} weddings | ${LARGE} weddings |`, '| --- | --- | --- | --- |'];
for (const c of configs) {
  const s = results.get(c.label).get(SMALL);
  const l = results.get(c.label).get(LARGE);
  const grow = (100 * (median(l.peak) - median(s.peak))) / median(s.peak);
  lines.push(`| ${c.label} | peak RSS of a full backup | ${fmt(median(s.peak), 0)} MB (${s.peak.map((p) => fmt(p, 0)).join(', ')}) | ${fmt(median(l.peak), 0)} MB (${l.peak.map((p) => fmt(p, 0)).join(', ')}) = ${fmt(grow, 1)}% more |`);
  lines.push(`| ${c.label} | wall time, × pg_dump -Fc of the same round | ${fmt(median(s.ms) / 1000)} s = ${fmt(median(s.ratio))}× (${s.ratio.map((r) => fmt(r)).join(', ')}) | ${fmt(median(l.ms) / 1000)} s = ${fmt(median(l.ratio))}× (${l.ratio.map((r) => fmt(r)).join(', ')}) |`);
}
lines.push(`| pg_dump -Fc | wall time | ${fmt(median(dumps.get(SMALL)) / 1000)} s | ${fmt(median(dumps.get(LARGE)) / 1000)} s |`);
lines.push('', `Load average (1 min) during the run: ${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)}. Command: \`${process.env.BACKUP_ENV ? `BACKUP_ENV='${process.env.BACKUP_ENV}' ` : ''}${process.env.COMPARE_ENV ? `COMPARE_ENV='${process.env.COMPARE_ENV}' ` : ''}SMALL=${SMALL} LARGE=${LARGE} ROUNDS=${ROUNDS} node bench/backup-mem-bench.js\``);
console.log(lines.join('\n'));
