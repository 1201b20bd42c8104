// The load benchmark (bench/load-bench.js) as a same-run comparison of two builds: this one and
// the one in BEFORE (a directory holding another build's bin/ and dist/, e.g. a copy taken
// before a change). Both run against the same seeded database and repository, one agent process
// at a time, in alternating order (before, after; after, before; …) so the machine's load and
// the growing snapshot catalog fall on both alike. Prints each run with the load average at its
// start, then the medians per build. Figures go into bench/RESULTS.md.
// Use an even ROUNDS: every run adds snapshots (bigger list answers), so the last runs are the
// heaviest; with an even count each build runs as often early as late.
//
//   npm run build && BEFORE=/tmp/wsb-before node bench/load-ab.js
//   ROUNDS=4 SECONDS=30 IDLE_SECONDS=15 WEDDINGS=2000 RATE=200
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { BIN, fmt, median, seededCluster } from './lib.js';
import { keepBackupsRunning, readPaths, runLoad, startAgentProcess } from './load.js';

const BEFORE = process.env.BEFORE;
if (!BEFORE) throw new Error('set BEFORE to the directory of the build to compare (with bin/ and dist/)');
const WEDDINGS = Number(process.env.WEDDINGS ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 4);
const SECONDS = Number(process.env.SECONDS ?? 30);
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 15);
const RATE = Number(process.env.RATE ?? 200);
const builds = [
  { name: 'before', bin: join(BEFORE, 'bin/wedsync-backup.js') },
  { name: 'after', bin: BIN },
];

/** CPU time (user + system, ms) the process has used: a figure the machine's load does not stretch. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime in clock ticks (USER_HZ = 100)
}

const cluster = await seededCluster(WEDDINGS, { photoFiles: 1 });
const runs = [];
try {
  process.stderr.write(`seeded ${WEDDINGS} weddings (${cluster.rows} rows) in ${(cluster.seedMs / 1000).toFixed(1)} s\n`);
  await cluster.cli(['init']);
  const first = JSON.parse((await cluster.cli(['backup', '--json'])).stdout);
  const paths = readPaths(first.snapshotId);
  for (let round = 0; round < ROUNDS; round++) {
    for (const build of round % 2 ? [...builds].reverse() : builds) {
      const agent = await startAgentProcess(cluster.env, [], [], build.bin);
      try {
        await runLoad({ url: agent.url, token: agent.token, rate: RATE, durationMs: 2_000, paths });
        const load = loadavg()[0];
        process.stderr.write(`round ${round + 1}, ${build.name}: ${RATE} req/s for ${SECONDS} s during backups, ${IDLE_SECONDS} s without (load average ${fmt(load, 1)})…\n`);
        const backups = await keepBackupsRunning(cluster.url);
        const during = await runLoad({ url: agent.url, token: agent.token, rate: RATE, durationMs: SECONDS * 1000, paths });
        const ran = await backups.stop();
        // With no backup running the agent's CPU is the API's alone: CPU ms per request.
        const cpu0 = cpuMs(agent.pid);
        const idle = await runLoad({ url: agent.url, token: agent.token, rate: RATE, durationMs: IDLE_SECONDS * 1000, paths });
        const idleCpuPerRequest = (cpuMs(agent.pid) - cpu0) / idle.requests;
        runs.push({ round: round + 1, build: build.name, load, during, idle, ran, idleCpuPerRequest });
      } finally {
        await agent.stop();
      }
    }
  }
  const row = (r) =>
    `| ${r.round} | ${r.build} | ${fmt(r.load, 1)} | ${r.ran.completed} (${fmt(r.ran.meanSeconds, 1)} s) | ${r.during.errors.length + r.idle.errors.length} | ${fmt(r.during.p50, 1)} | ${fmt(r.during.p90, 1)} | ${fmt(r.during.p99, 1)} | ${fmt(r.during.max, 1)} | ${fmt(r.idle.p50, 1)} | ${fmt(r.idle.p99, 1)} | ${fmt(r.idleCpuPerRequest, 2)} |`;
  console.log(`\nAPI reads at ${RATE} req/s (${paths.map((p) => p.replace(first.snapshotId, ':id')).join(', ')}), ${WEDDINGS} weddings (${cluster.rows.toLocaleString('en')} rows)\n`);
  console.log('| round | build | load avg | backups (mean) | errors | p50 ms | p90 ms | p99 ms | max ms | idle p50 ms | idle p99 ms | idle CPU ms/request |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of runs) console.log(row(r));
  console.log('\nmedians:');
  for (const b of builds) {
    const mine = runs.filter((r) => r.build === b.name);
    const m = (f) => fmt(median(mine.map(f)), 1);
    console.log(`  ${b.name}: during backups p50 ${m((r) => r.during.p50)} / p90 ${m((r) => r.during.p90)} / p99 ${m((r) => r.during.p99)} ms; idle p99 ${m((r) => r.idle.p99)} ms, CPU ${fmt(median(mine.map((r) => r.idleCpuPerRequest)), 2)} ms/request`);
  }
  process.exitCode = runs.some((r) => r.during.errors.length || r.idle.errors.length || r.ran.failed) ? 1 : 0;
} finally {
  await cluster.close();
}
