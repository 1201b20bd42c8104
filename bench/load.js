/* global performance, AbortSignal */
// A sustained API read load against a running agent, for bench/load-bench.js (200 req/s × 60 s
// while backups run, figures into bench/RESULTS.md) and reliability/load.test.ts (the same, short).
// Plain Node ESM over the compiled dist/ (run `npm run build`); types in load.d.ts.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/wedsync-backup.js');

/**
 * Starts `wedsync-backup agent` as its own process (as a user runs it) with the job runner on and
 * the scheduler and nightly prune off: backups run only when the caller queues them. Resolves
 * with its URL and API token once it listens. `bin`: another build's bin/wedsync-backup.js
 * (bench/load-ab.js compares two builds in one run).
 */
export async function startAgentProcess(env, extraArgs = [], nodeArgs = [], bin = BIN) {
  const child = spawn(process.execPath, [...nodeArgs, bin, 'agent', '--json', '--port', '0', '--no-scheduler', '--prune-cron', 'off', ...extraArgs], {
    env: { ...process.env, WEDSYNC_TIER1: 'off', WEDSYNC_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const info = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`the agent exited (${code}) before listening: ${stderr.slice(-2000)}`)));
  });
  const token = (await readFile(info.tokenFile, 'utf8')).trim();
  return {
    url: info.url,
    token,
    pid: child.pid,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    },
  };
}

/**
 * Keeps full backups running back to back in the agent until stop() is called: one is always
 * waiting in the shared job queue (as the scheduler would put it there), so when one finishes the
 * runner claims the next at once. Counts the backups that completed meanwhile.
 */
export async function keepBackupsRunning(databaseUrl, { pollMs = 100 } = {}) {
  const pg = (await import('pg')).default;
  const { JobQueue } = await import(pathToFileURL(join(ROOT, 'dist/agent/catalog/queue.js')).href);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const queue = new JobQueue(pool);
  const jobs = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM backup_jobs WHERE status = 'pending'`);
      if (rows[0].n === 0) jobs.push((await queue.enqueue({ backupType: 'full', tier: 3, priority: 5, scheduledAt: new Date(Date.now() - 1000), maxAttempts: 1 })).id);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  })();
  // The load must meet a running backup: wait until the agent has claimed the first job (a busy
  // machine can take seconds), so that a short run never measures an idle agent.
  for (let i = 0; i < 600; i++) {
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM backup_jobs WHERE id = ANY($1::uuid[]) AND status <> 'pending'`, [jobs]);
    if (rows[0].n > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    /** Stops queueing, waits for the running backup, and reports what ran. */
    async stop() {
      stopped = true;
      await loop;
      // The one still waiting is not needed any more.
      await pool.query(`UPDATE backup_jobs SET status = 'cancelled' WHERE id = ANY($1::uuid[]) AND status = 'pending'`, [jobs]);
      for (let i = 0; i < 600; i++) {
        const { rows } = await pool.query(`SELECT count(*)::int AS n FROM backup_jobs WHERE status IN ('pending', 'running')`);
        if (rows[0].n === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const { rows } = await pool.query(
        `SELECT status, count(*)::int AS n, coalesce(avg(extract(epoch FROM completed_at - started_at)), 0)::float8 AS secs FROM backup_jobs WHERE id = ANY($1::uuid[]) GROUP BY status`,
        [jobs],
      );
      await pool.end();
      const by = Object.fromEntries(rows.map((r) => [r.status, r]));
      return { queued: jobs.length, completed: by.completed?.n ?? 0, failed: by.failed?.n ?? 0, meanSeconds: by.completed?.secs ?? 0 };
    },
  };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Open-loop load: one request every 1000/rate ms for durationMs, each to the next of `paths`
 * (round robin), whatever the answers take — a slow agent makes requests pile up rather than
 * slowing the load down. Latency is measured from when each request was DUE (not when it went
 * out), so a stalled event loop shows in the figures instead of hiding (coordinated omission).
 * An error is any non-2xx answer or a failed request.
 */
export async function runLoad({ url, token, rate = 200, durationMs = 60_000, paths, timeoutMs = 30_000 }) {
  const interval = 1000 / rate;
  const total = Math.floor((durationMs / 1000) * rate);
  const latencies = [];
  const statuses = {};
  const errors = [];
  const inflight = new Set();
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const path = paths[i % paths.length];
    const p = fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) })
      .then(async (res) => {
        await res.arrayBuffer();
        latencies.push(performance.now() - due);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status < 200 || res.status >= 300) errors.push(`${path} → ${res.status}`);
      })
      .catch((err) => {
        errors.push(`${path} → ${err.name}: ${err.message}`);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  const sendMs = performance.now() - started;
  await Promise.all([...inflight]);
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    requests: total,
    answered: latencies.length,
    errors,
    statuses,
    achievedRate: total / (sendMs / 1000),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted[sorted.length - 1] ?? 0,
  };
}

/** The read mix: snapshot lists, status, one snapshot's detail, health. */
export function readPaths(snapshotId) {
  return ['/api/backup/snapshots?limit=50', '/api/backup/status', '/api/backup/snapshots', `/api/backup/snapshots/${snapshotId}`, '/api/backup/status', '/healthz'];
}
