// Load benchmark (issue 10, item 7): API reads at RATE requests/s (default 200) for SECONDS
// (default 60) against a real agent process while it runs full backups back to back, on
// `seed --weddings WEDDINGS` (default 2000). Prints latency percentiles (measured from when each
// request was due: a stalled agent cannot hide), errors, and the backups that ran meanwhile;
// then the same load with no backup running, for comparison. Figures go into bench/RESULTS.md.
//
//   npm run build && node bench/load-bench.js
//   WEDDINGS=200 SECONDS=10 RATE=100 node bench/load-bench.js
import { fmt, seededCluster } from './lib.js';
import { keepBackupsRunning, readPaths, runLoad, startAgentProcess } from './load.js';

const WEDDINGS = Number(process.env.WEDDINGS ?? 2000);
const SECONDS = Number(process.env.SECONDS ?? 60);
const RATE = Number(process.env.RATE ?? 200);

const cluster = await seededCluster(WEDDINGS, { photoFiles: 1 });
let agent;
try {
  process.stderr.write(`seeded ${WEDDINGS} weddings (${cluster.rows} rows) in ${(cluster.seedMs / 1000).toFixed(1)} s\n`);
  await cluster.cli(['init']);
  const first = JSON.parse((await cluster.cli(['backup', '--json'])).stdout);
  agent = await startAgentProcess(cluster.env);
  const paths = readPaths(first.snapshotId);
  // Warm up (module loading, connections), then the two runs.
  await runLoad({ url: agent.url, token: agent.token, rate: RATE, durationMs: 2_000, paths });

  process.stderr.write(`load: ${RATE} req/s for ${SECONDS} s while full backups run back to back…\n`);
  const backups = await keepBackupsRunning(cluster.url);
  const during = await runLoad({ url: agent.url, token: agent.token, rate: RATE, durationMs: SECONDS * 1000, paths });
  const ran = await backups.stop();

  process.stderr.write(`load: ${RATE} req/s for ${Math.min(SECONDS, 20)} s with no backup running…\n`);
  const idle = await runLoad({ url: agent.url, token: agent.token, rate: RATE, durationMs: Math.min(SECONDS, 20) * 1000, paths });

  const row = (name, r) => `| ${name} | ${r.requests} | ${fmt(r.achievedRate, 1)} | ${r.errors.length} | ${fmt(r.p50, 1)} | ${fmt(r.p90, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.p999, 1)} | ${fmt(r.max, 1)} |`;
  console.log(`\nAPI reads (${paths.map((p) => p.replace(first.snapshotId, ':id')).join(', ')}) against \`wedsync-backup agent\`, ${WEDDINGS} weddings (${cluster.rows.toLocaleString('en')} rows)\n`);
  console.log('| run | requests | req/s | errors | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  console.log(row(`while backing up (${ran.completed} full backups, ${fmt(ran.meanSeconds, 1)} s each)`, during));
  console.log(row('no backup running', idle));
  if (during.errors.length || idle.errors.length) console.log(`\nerrors: ${[...during.errors, ...idle.errors].slice(0, 10).join('; ')}`);
  if (ran.failed) console.log(`\n${ran.failed} backups failed during the load`);
  process.exitCode = during.errors.length || idle.errors.length || ran.failed ? 1 : 0;
} finally {
  await agent?.stop();
  await cluster.close();
}
