// Backup engine benchmark (issue 3): WedSync Backup against pg_dump -Fc on the same data in the
// same run. Usage: npm run build && node bench/backup-bench.js
//   env: WEDDINGS=2000, LARGE=10000 (a second, bigger database; 0 = none), RUNS=5 (rounds),
//        AGENT=1 (also measure backups as the agent runs them; 0 = command line only)
//
// Each round interleaves, on the same database: pg_dump -Fc; a full backup (whole CLI process);
// 1% of the weddings changed, then an incremental (whole CLI process); and, with AGENT=1, a full
// and an incremental run by a real `wedsync-backup agent` process (scheduler off, tier 1 off):
// jobs are queued in backup_jobs as the scheduler would queue them, and timed from the runner's
// claim (started_at) to its completion (completed_at): the agent's key is unwrapped once, its
// code loaded, its pools connected — what the hourly incrementals of a deployment cost.
// Figures are medians over the rounds; the load average is printed (2 shared cores here).
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { BIN, fmt, median, pgBin, seededCluster, timed } from './lib.js';

const WEDDINGS = Number(process.env.WEDDINGS ?? 2000);
const LARGE = Number(process.env.LARGE ?? 0);
const RUNS = Number(process.env.RUNS ?? 5);
const AGENT = process.env.AGENT !== '0';

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** Changes the guests of `n` weddings (a different 1% each round: round mixes into the order). */
async function changeWeddings(w, n, round) {
  await w.client.query(
    `UPDATE guests SET dietary_requirements = coalesce(dietary_requirements, '') || ' (updated)'
      WHERE wedding_id IN (SELECT id FROM weddings ORDER BY md5(id::text || $2) LIMIT $1)`,
    [n, String(round)],
  );
}

/** A real agent process over the bench database and repository; resolves once it serves. */
function startAgent(w) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'agent', '--json', '--no-scheduler', '--prune-cron', 'off', '--port', '0'], {
      env: { ...process.env, ...w.env, WEDSYNC_TIER1: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve({ child, info: JSON.parse(out.split('\n')[0]), stop: () => new Promise((done) => (child.once('exit', done), child.kill('SIGTERM'))) });
    });
    child.on('exit', (code) => reject(new Error(`agent exited ${code}: ${err.slice(-2000)}`)));
  });
}

/**
 * Queues one job as the scheduler would (tier 2 incremental, tier 3 full) and waits for the
 * agent's runner to finish it; returns the job's run time (claim → completed, database clock).
 */
async function agentJob(w, type) {
  const { rows } = await w.client.query(
    `INSERT INTO backup_jobs (backup_type, tier, status, priority_level, target_weddings, scheduled_at, max_attempts, created_at)
     VALUES ($1, $2, 'pending', 5, '{}', now(), 1, now()) RETURNING id`,
    [type, type === 'full' ? 3 : 2],
  );
  const id = rows[0].id;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const { rows: s } = await w.client.query(
      `SELECT j.status, j.error_details, extract(epoch FROM j.completed_at - j.started_at) * 1000 AS ms, b.snapshot_type, b.bytes_new
         FROM backup_jobs j LEFT JOIN backup_snapshots b ON b.backup_job_id = j.id WHERE j.id = $1`,
      [id],
    );
    const job = s[0];
    if (job.status === 'completed') return { ms: Number(job.ms), type: job.snapshot_type, bytesNew: Number(job.bytes_new) };
    if (job.status === 'failed' || job.status === 'cancelled') throw new Error(`agent ${type} job ${id} ${job.status}: ${JSON.stringify(job.error_details)}`);
  }
}

async function measure(weddings) {
  const w = await seededCluster(weddings);
  const loadBefore = load();
  try {
    await w.cli(['init']);
    // The first full backup into an empty repository, then one of the unchanged database.
    const first = JSON.parse((await w.cli(['backup', '--type', 'full', '--json'])).stdout);
    const again = JSON.parse((await w.cli(['backup', '--type', 'full', '--json'])).stdout);
    const changed = Math.max(1, Math.round(weddings / 100));
    const agent = AGENT ? await startAgent(w) : null;
    const r = { dump: [], full: [], peaks: [], inc: [], incJob: [], incBytes: [], incRows: [], agentFull: [], agentInc: [], agentIncBytes: [] };
    try {
      // The agent's first job loads its backup code and unwraps the key (once per agent): not a round.
      if (agent) {
        await changeWeddings(w, changed, 'warm-up');
        const warm = await agentJob(w, 'incremental');
        r.agentWarmUp = warm.ms;
      }
      for (let round = 0; round < RUNS; round++) {
        r.dump.push((await timed(pgBin('pg_dump'), ['-Fc', '-f', join(w.dir, `dump${round}.pgdump`), w.url])).ms);
        const full = await w.cli(['backup', '--type', 'full', '--json']);
        r.full.push(full.ms);
        r.peaks.push(full.peakMb);
        await changeWeddings(w, changed, `cli-${round}`);
        const inc = await w.cli(['backup', '--type', 'incremental', '--json']);
        const incJson = JSON.parse(inc.stdout);
        if (incJson.type !== 'incremental') throw new Error(`the incremental ran as ${incJson.type}: ${incJson.note}`);
        r.inc.push(inc.ms);
        r.incJob.push(incJson.durationMs);
        r.incBytes.push(incJson.bytesNew);
        r.incRows.push(incJson.rowsExported);
        if (agent) {
          r.agentFull.push((await agentJob(w, 'full')).ms);
          await changeWeddings(w, changed, `agent-${round}`);
          const ai = await agentJob(w, 'incremental');
          if (ai.type !== 'incremental') throw new Error(`the agent's incremental ran as ${ai.type}`);
          r.agentInc.push(ai.ms);
          r.agentIncBytes.push(ai.bytesNew);
        }
      }
    } finally {
      await agent?.stop();
    }
    const { rows } = await w.client.query('SELECT id FROM weddings ORDER BY wedding_date DESC LIMIT 1');
    const emergencies = [];
    for (let i = 0; i < RUNS; i++) emergencies.push((await w.cli(['backup', '--type', 'emergency', '--wedding', rows[0].id, '--json'])).ms);
    return {
      weddings,
      rows: w.rows,
      seedMs: w.seedMs,
      changed,
      loadBefore,
      loadAfter: load(),
      firstBytes: first.bytesNew,
      secondNewBytes: again.bytesNew,
      pgDumpMs: median(r.dump),
      fullMs: median(r.full),
      fullPeakMb: Math.max(...r.peaks),
      incMs: median(r.inc),
      incJobMs: median(r.incJob),
      incNewBytes: median(r.incBytes),
      incRowsRead: median(r.incRows),
      agentWarmUpMs: r.agentWarmUp,
      agentFullMs: agent ? median(r.agentFull) : null,
      agentIncMs: agent ? median(r.agentInc) : null,
      raw: r,
      emergencyMs: median(emergencies),
    };
  } finally {
    await w.close();
  }
}

const pct = (a, b) => `${fmt((100 * a) / b, 1)}%`;
const s = (ms) => `${fmt(ms / 1000)} s`;

function rowsFor(m, label) {
  const out = [
    `| ${label}pg_dump -Fc wall time | ${s(m.pgDumpMs)} | — |`,
    `| ${label}full backup, whole CLI process | ${s(m.fullMs)} = **${fmt(m.fullMs / m.pgDumpMs)}× pg_dump** | ≤ 1.0× (aim 0.8×) |`,
    `| ${label}incremental after changing ${m.changed} weddings (1%), whole CLI process | ${s(m.incMs)} = **${pct(m.incMs, m.fullMs)} of the CLI full** (the job itself ${s(m.incJobMs)}) | ≤ 10% |`,
  ];
  if (m.agentFullMs !== null) {
    out.push(
      `| ${label}full backup run by the agent (job claim → completed) | ${s(m.agentFullMs)} = ${fmt(m.agentFullMs / m.pgDumpMs)}× pg_dump | — |`,
      `| ${label}incremental run by the agent, ${m.changed} weddings changed | ${s(m.agentIncMs)} = **${pct(m.agentIncMs, m.agentFullMs)} of the agent's full** (${pct(m.agentIncMs, m.fullMs)} of the CLI full; first job of the agent, not counted: ${s(m.agentWarmUpMs)}) | ≤ 10% |`,
    );
  }
  return out;
}

const main = await measure(WEDDINGS);
const large = LARGE ? await measure(LARGE) : null;
const lines = [
  `### Backup engine — ${main.weddings} weddings, ${main.rows.toLocaleString('en')} rows (medians of ${RUNS} interleaved rounds)`,
  '',
  '| measure | value | target |',
  '| --- | --- | --- |',
  ...rowsFor(main, ''),
  `| second full of unchanged data: new bytes | ${main.secondNewBytes} B = ${fmt((100 * main.secondNewBytes) / main.firstBytes, 3)}% of the first | < 1% |`,
  `| incremental: new bytes | ${main.incNewBytes} B = ${fmt((100 * main.incNewBytes) / main.firstBytes, 2)}% of full (${main.incRowsRead} rows read) | ≤ 5% |`,
  `| emergency backup of one wedding (whole CLI process) | ${s(main.emergencyMs)} | ≤ 2 s |`,
  `| peak memory of a full backup (RSS) | ${fmt(main.fullPeakMb, 0)} MB | ≤ 300 MB |`,
  ...(large
    ? [
        `| peak memory at ${large.weddings} weddings | ${fmt(large.fullPeakMb, 0)} MB = ${fmt((100 * (large.fullPeakMb - main.fullPeakMb)) / main.fullPeakMb, 1)}% more | ≤ 20% more, ≤ 300 MB |`,
        ...rowsFor(large, `${large.weddings} weddings: `),
      ]
    : []),
  '',
  `Load average (1/5/15 min): ${main.loadBefore} before, ${main.loadAfter} after${large ? `; ${large.weddings} weddings: ${large.loadBefore} → ${large.loadAfter}` : ''}. Seeding took ${fmt(main.seedMs / 1000, 1)} s.`,
  `Command: \`npm run build && WEDDINGS=${WEDDINGS}${LARGE ? ` LARGE=${LARGE}` : ''} RUNS=${RUNS}${AGENT ? '' : ' AGENT=0'} node bench/backup-bench.js\``,
  '',
  `Per round (ms): ${JSON.stringify({ pgDump: main.raw.dump.map(Math.round), full: main.raw.full.map(Math.round), incremental: main.raw.inc.map(Math.round), incrementalJob: main.raw.incJob, agentFull: main.raw.agentFull.map(Math.round), agentIncremental: main.raw.agentInc.map(Math.round) })}`,
];
console.log(lines.join('\n'));
