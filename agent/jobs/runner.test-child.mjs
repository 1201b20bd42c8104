// A whole agent in its own process for runner.test.ts, killed with SIGKILL mid-job: it claims
// one job through the real (compiled) queue and runner, says so on stdout, and never finishes
// it — while its runner keeps renewing the lease, as a live agent would, until the kill.
// Usage: node runner.test-child.mjs <databaseUrl> <leaseMs>
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { JobQueue } = await import(pathToFileURL(join(root, 'dist/agent/catalog/queue.js')).href);
const { JobRunner } = await import(pathToFileURL(join(root, 'dist/agent/jobs/runner.js')).href);
const { silentLogger } = await import(pathToFileURL(join(root, 'dist/agent/logger.js')).href);

const [url, leaseMs] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: 2 });
const queue = new JobQueue(pool);
const runner = new JobRunner({
  agentId: 'child',
  queue,
  logger: await silentLogger(),
  leaseMs: Number(leaseMs),
  pollMs: 20,
  lanes: [{ name: 'routine', minPriority: 1, concurrency: 1 }],
  handlers: {
    incremental: async ({ job }) => {
      await pool.query('INSERT INTO test_runs (job_id, agent) VALUES ($1, $2)', [job.id, 'child']);
      process.stdout.write(`CLAIMED ${job.id}\n`);
      await new Promise(() => undefined); // mid-job forever: only SIGKILL ends this
      return {};
    },
  },
});
runner.start();
