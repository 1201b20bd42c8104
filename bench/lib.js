// Shared helpers for the benchmarks: a fresh embedded PostgreSQL, seeded data, timed child
// processes with their peak memory. Plain Node ESM over the compiled dist/ (run `npm run build`).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const ROOT = new URL('..', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin/wedsync-backup.js');

/** Finds PostgreSQL client programs of major version 15 (Debian's postgresql-15 package). */
export function pgBin(name) {
  for (const dir of ['/usr/lib/postgresql/15/bin', '/usr/bin']) if (existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`${name} not found: install Debian's postgresql-15 (apt-get install postgresql-15)`);
}

/** Runs a command; resolves with wall time and peak RSS (VmHWM sampled from /proc). */
export function timed(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakKb = 0;
    const sample = async () => {
      try {
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
        const m = /VmHWM:\s+(\d+) kB/.exec(status);
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* exited */
      }
    };
    const timer = setInterval(sample, 20);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ ms, peakMb: peakKb / 1024, stdout, stderr });
    });
  });
}

// CPU time (user + sys) and peak RSS of a CLI process come from GNU time when there is one: on a
// shared, busy machine wall time says more about the neighbours than about us.
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/**
 * Runs the CLI as a user would (a new process, `--json`); resolves with its wall time (ms), CPU
 * time (ms) and peak RSS (MiB) — both null without GNU time — and its JSON output.
 */
export function cliUnderTime(args, env = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const argv = [BIN, ...args, '--json'];
    const options = { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] };
    const child = GNU_TIME ? spawn(GNU_TIME, ['-f', 'WEDSYNC_TIME %M %U %S', process.execPath, ...argv], options) : spawn(process.execPath, argv, options);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return reject(new Error(`wedsync-backup ${args.join(' ')} exited ${code}: ${err.trim().slice(-800) || out.trim()}`));
      const t = /WEDSYNC_TIME (\d+) ([\d.]+) ([\d.]+)/.exec(err);
      resolve({ ms, cpuMs: t ? (Number(t[2]) + Number(t[3])) * 1000 : null, rssMiB: t ? Number(t[1]) / 1024 : null, json: JSON.parse(out.trim().split('\n').pop()) });
    });
  });
}

/** A throwaway cluster with `weddings` seeded weddings (no photo files: pg_dump has none either). */
export async function seededCluster(weddings, { photoFiles = 0 } = {}) {
  const { startEmbeddedPostgres } = await import(join(ROOT, 'dist/agent/source/embedded.js'));
  const { migrate } = await import(join(ROOT, 'dist/agent/catalog/migrate.js'));
  const { seed } = await import(join(ROOT, 'dist/agent/source/seed.js'));
  const pg = (await import('pg')).default;
  const dir = await mkdtemp(join(tmpdir(), 'wedsync-bench-'));
  const cluster = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), persistent: false });
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query('CREATE DATABASE bench');
  await admin.end();
  const url = cluster.urlFor('bench');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await migrate(client);
  const t0 = Date.now();
  const { LocalBlobStore } = await import(join(ROOT, 'dist/agent/storage/local/local-store.js'));
  const photos = await LocalBlobStore.open(join(dir, 'photos'), { create: true });
  const seeded = await seed(client, { weddings, photoFilesPerWedding: photoFiles, seed: 1, now: new Date('2026-11-28T12:00:00Z'), timeZone: 'UTC', writePhoto: (k, b) => photos.put(k, b) });
  const seedMs = Date.now() - t0;
  await client.query('VACUUM ANALYZE');
  const passFile = join(dir, 'pass');
  await writeFile(passFile, 'bench passphrase\n');
  const env = { DATABASE_URL: url, WEDSYNC_HOME: join(dir, 'home'), WEDSYNC_REPO: join(dir, 'repo'), WEDSYNC_PHOTO_STORE: join(dir, 'photos'), WEDSYNC_PASSPHRASE_FILE: passFile, WEDSYNC_LOG_LEVEL: 'warn' };
  return {
    dir,
    url,
    cluster,
    client,
    env,
    rows: Object.values(seeded.counts).reduce((a, b) => a + b, 0),
    seedMs,
    cli: (args) => timed(process.execPath, [BIN, ...args], env),
    async close() {
      await client.end().catch(() => undefined);
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export const fmt = (n, d = 2) => Number(n).toFixed(d);

/** Runs one statement on a short-lived connection and returns its rows. */
export async function query(url, sql, params) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** Row count and md5 of every sample table, for checking that two restores brought back the same data. */
export async function fingerprint(url) {
  const out = {};
  for (const t of ['organizations', 'user_profiles', 'weddings', 'vendors', 'guests', 'timeline_events', 'photos', 'wedding_backup_settings']) {
    const [r] = await query(url, `SELECT count(*)::int AS n, md5(string_agg(x::text, E'\\n' ORDER BY x::text)) AS h FROM ${t} x`);
    out[t] = `${r.n}:${r.h}`;
  }
  return out;
}
