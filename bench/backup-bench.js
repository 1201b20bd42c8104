// Backup engine benchmark (issue 3): WedSync Backup against pg_dump -Fc on the same data in the
// same run. Usage: npm run build && node bench/backup-bench.js   (env: WEDDINGS=2000, LARGE=10000, RUNS=3)
import { join } from 'node:path';
import { fmt, median, pgBin, seededCluster, timed } from './lib.js';

const WEDDINGS = Number(process.env.WEDDINGS ?? 2000);
const LARGE = Number(process.env.LARGE ?? 0);
const RUNS = Number(process.env.RUNS ?? 3);

async function measure(weddings) {
  const w = await seededCluster(weddings);
  try {
    await w.cli(['init']);
    const dump = [];
    for (let i = 0; i < RUNS; i++) dump.push((await timed(pgBin('pg_dump'), ['-Fc', '-f', join(w.dir, `dump${i}.pgdump`), w.url])).ms);
    // First full backup into an empty repository, then repeated fulls of the unchanged database.
    const first = await w.cli(['backup', '--type', 'full', '--json']);
    const firstJson = JSON.parse(first.stdout);
    const fulls = [first.ms];
    const peaks = [first.peakMb];
    let again;
    // At least one repeat: the second full of unchanged data is itself a measure.
    for (let i = 1; i < Math.max(RUNS, 2); i++) {
      again = await w.cli(['backup', '--type', 'full', '--json']);
      fulls.push(again.ms);
      peaks.push(again.peakMb);
    }
    const againJson = JSON.parse(again.stdout);
    // Change 1% of the weddings, then an incremental.
    const changed = Math.max(1, Math.round(weddings / 100));
    await w.client.query(`UPDATE guests SET dietary_requirements = coalesce(dietary_requirements, '') || ' (updated)' WHERE wedding_id IN (SELECT id FROM weddings ORDER BY id LIMIT $1)`, [changed]);
    const inc = await w.cli(['backup', '--type', 'incremental', '--json']);
    const incJson = JSON.parse(inc.stdout);
    const { rows } = await w.client.query('SELECT id FROM weddings ORDER BY wedding_date DESC LIMIT 1');
    const emergencies = [];
    for (let i = 0; i < RUNS; i++) emergencies.push((await w.cli(['backup', '--type', 'emergency', '--wedding', rows[0].id, '--json'])).ms);
    return {
      weddings,
      rows: w.rows,
      seedMs: w.seedMs,
      pgDumpMs: median(dump),
      fullMs: median(fulls),
      fullPeakMb: Math.max(...peaks),
      firstBytes: firstJson.bytesNew,
      secondNewBytes: againJson.bytesNew,
      incMs: inc.ms,
      incJobMs: incJson.durationMs,
      incNewBytes: incJson.bytesNew,
      incRowsRead: incJson.rowsExported,
      changedWeddings: changed,
      emergencyMs: median(emergencies),
    };
  } finally {
    await w.close();
  }
}

const main = await measure(WEDDINGS);
const large = LARGE ? await measure(LARGE) : null;
const lines = [
  `### Backup engine — ${main.weddings} weddings, ${main.rows.toLocaleString('en')} rows (median of ${RUNS})`,
  '',
  '| measure | value | target |',
  '| --- | --- | --- |',
  `| pg_dump -Fc wall time | ${fmt(main.pgDumpMs / 1000)} s | — |`,
  `| full backup wall time (whole CLI process) | ${fmt(main.fullMs / 1000)} s = **${fmt(main.fullMs / main.pgDumpMs)}× pg_dump** | ≤ 1.0× (aim 0.8×) |`,
  `| second full of unchanged data: new bytes | ${main.secondNewBytes} B = ${fmt((100 * main.secondNewBytes) / main.firstBytes, 3)}% of the first | < 1% |`,
  `| incremental after changing ${main.changedWeddings} weddings (1%): wall time | ${fmt(main.incMs / 1000)} s = ${fmt((100 * main.incMs) / main.fullMs, 1)}% of full (whole process; the job itself ${fmt(main.incJobMs / 1000)} s) | ≤ 10% |`,
  `| incremental: new bytes | ${main.incNewBytes} B = ${fmt((100 * main.incNewBytes) / main.firstBytes, 2)}% of full (${main.incRowsRead} rows read) | ≤ 5% |`,
  `| emergency backup of one wedding (whole CLI process) | ${fmt(main.emergencyMs / 1000)} s | ≤ 2 s |`,
  `| peak memory of a full backup (RSS) | ${fmt(main.fullPeakMb, 0)} MB | ≤ 300 MB |`,
  ...(large
    ? [
        `| peak memory at ${large.weddings} weddings | ${fmt(large.fullPeakMb, 0)} MB = ${fmt((100 * (large.fullPeakMb - main.fullPeakMb)) / main.fullPeakMb, 1)}% more | ≤ 20% more, ≤ 300 MB |`,
        `| full backup at ${large.weddings} weddings | ${fmt(large.fullMs / 1000)} s = ${fmt(large.fullMs / large.pgDumpMs)}× pg_dump | |`,
        `| incremental at ${large.weddings} weddings after changing ${large.changedWeddings} (1%) | ${fmt(large.incMs / 1000)} s = ${fmt((100 * large.incMs) / large.fullMs, 1)}% of full (job ${fmt(large.incJobMs / 1000)} s) | |`,
      ]
    : []),
  '',
  `Seeding took ${fmt(main.seedMs / 1000, 1)} s. Command: \`npm run build && WEDDINGS=${WEDDINGS}${LARGE ? ` LARGE=${LARGE}` : ''} RUNS=${RUNS} node bench/backup-bench.js\``,
];
console.log(lines.join('\n'));
