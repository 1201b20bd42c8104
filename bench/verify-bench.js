// Integrity validation benchmark (issue 5): `verify --read-data` of a full snapshot against the
// backup that made it, and structure-only verify. Usage:
//   npm run build && node bench/verify-bench.js      (env: WEDDINGS=2000, PHOTO_FILES=3, RUNS=3)
// Target: verify --read-data ≤ the full backup's time; structure-only verify ≤ 1 s.
import { fmt, median, seededCluster } from './lib.js';

const WEDDINGS = Number(process.env.WEDDINGS ?? 2000);
const PHOTO_FILES = Number(process.env.PHOTO_FILES ?? 3);
const RUNS = Number(process.env.RUNS ?? 3);

const w = await seededCluster(WEDDINGS, { photoFiles: PHOTO_FILES });
let out;
try {
  await w.cli(['init']);
  const backup = await w.cli(['backup', '--type', 'full', '--json']);
  const b = JSON.parse(backup.stdout);
  const runs = { structure: [], readData: [], subset: [], validate: [] };
  const inProcess = { structure: [], readData: [] };
  let last = {};
  for (let i = 0; i < RUNS; i++) {
    const s = await w.cli(['verify', b.snapshotId, '--json']);
    const sj = JSON.parse(s.stdout);
    runs.structure.push(s);
    inProcess.structure.push(sj.snapshots[0].durationMs);
    const r = await w.cli(['verify', b.snapshotId, '--read-data', '--json']);
    const rj = JSON.parse(r.stdout);
    runs.readData.push(r);
    inProcess.readData.push(rj.snapshots[0].durationMs);
    runs.subset.push(await w.cli(['verify', b.snapshotId, '--read-data-subset', '10%', '--json']));
    last = { sj, rj };
  }
  const v = await w.cli(['validate-data', '--json', '--time-zone', 'UTC']);
  const vj = JSON.parse(v.stdout);
  const ms = (list) => median(list.map((x) => x.ms));
  const rd = last.rj.snapshots[0];
  if (last.sj.status !== 'valid' || last.rj.status !== 'valid') throw new Error(`verify found problems on a clean repository: ${JSON.stringify(last.rj).slice(0, 2000)}`);
  out = [
    `### Integrity validation — ${WEDDINGS} weddings, ${w.rows.toLocaleString('en')} rows, ${b.photoCount} photo files (median of ${RUNS})`,
    '',
    '| measure | value | target |',
    '| --- | --- | --- |',
    `| full backup wall time (whole CLI process) | ${fmt(backup.ms / 1000)} s (${b.segmentCount} segments, ${(b.bytesTotal / 1048576).toFixed(1)} MiB stored) | — |`,
    `| verify --read-data (whole CLI process) | ${fmt(ms(runs.readData) / 1000)} s = **${fmt(ms(runs.readData) / backup.ms)}× the backup** (in-process check ${fmt(median(inProcess.readData) / 1000)} s; ${rd.checked.packsRead} packs, ${(rd.checked.bytesRead / 1048576).toFixed(1)} MiB, ${rd.checked.rowsCounted.toLocaleString('en')} rows recounted) | ≤ 1.0× |`,
    `| verify --read-data peak memory (RSS) | ${fmt(Math.max(...runs.readData.map((x) => x.peakMb)), 0)} MB | — |`,
    `| verify (structure only, whole CLI process) | **${fmt(ms(runs.structure) / 1000)} s** (in-process check ${fmt(median(inProcess.structure) / 1000)} s) | ≤ 1 s |`,
    `| verify --read-data-subset 10% (whole CLI process) | ${fmt(ms(runs.subset) / 1000)} s | — |`,
    `| validate-data, all weddings (whole CLI process) | ${fmt(v.ms / 1000)} s (${vj.errors} errors, ${vj.warnings} warnings, ${vj.reports.reduce((n, r) => n + r.checked.photoFiles, 0)} photo files hashed) | — |`,
    '',
    `Seeding took ${fmt(w.seedMs / 1000, 1)} s. Command: \`npm run build && WEDDINGS=${WEDDINGS} PHOTO_FILES=${PHOTO_FILES} RUNS=${RUNS} node bench/verify-bench.js\``,
  ];
} finally {
  await w.close();
}
console.log(out.join('\n'));
