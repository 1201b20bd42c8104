// The pieces of the agent's hot reads, timed in one process for two builds (bench/load-ab.js
// measures the whole API): the status's schedule maths (nextRuns) and the snapshot list's catalog
// read, at 2000 weddings with 10 full snapshots. BEFORE: a directory with another build's dist/.
//
//   npm run build && BEFORE=/tmp/wsb-before node bench/hot-reads-micro.js
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT, fmt, median, seededCluster } from './lib.js';

const BEFORE = process.env.BEFORE;
if (!BEFORE) throw new Error('set BEFORE to the directory of the build to compare (with dist/)');
const imp = (root, p) => import(join(root, 'dist/agent', p));
const timed = async (fn, n = 15) => {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await fn();
    ms.push(performance.now() - s);
  }
  return fmt(median(ms), 1);
};

const cluster = await seededCluster(Number(process.env.WEDDINGS ?? 2000));
try {
  await cluster.cli(['init']);
  for (let i = 0; i < 10; i++) await cluster.cli(['backup', '--json']);
  const { DEFAULT_SCHEMA_MAP } = await imp(ROOT, 'contract/schema-map.js');
  const { openSchedulingCatalog } = await imp(ROOT, 'catalog/queue-catalog.js');
  const { scheduleConfig } = await imp(ROOT, 'jobs/scheduler-cron.js');
  const { openCatalog } = await imp(ROOT, 'catalog/catalog.js');
  const { SnapshotListReader } = await imp(ROOT, 'main/snapshot-list.js');
  const sched = openSchedulingCatalog(cluster.url, DEFAULT_SCHEMA_MAP);
  const schedule = scheduleConfig({ offsiteConfigured: false });
  const catalog = await openCatalog(cluster.url);
  const now = new Date();
  const weddings = await sched.loadSchedulingWeddings({ from: now, to: new Date(now.getTime() + 30 * 86_400_000) });
  const snapshots = (await catalog.listSnapshots({ limit: 200, brief: true })).length;
  for (let round = 1; round <= 2; round++) {
    for (const [name, root] of [['before', BEFORE], ['after', ROOT]]) {
      const { nextRuns } = await imp(root, 'core/schedule.js');
      console.log(`round ${round} ${name}: nextRuns (${weddings.length} weddings within 30 days, 8 days ahead) ${await timed(() => nextRuns({ now, hours: 24 * 8, weddings, config: schedule }))} ms`);
    }
    console.log(`round ${round} before: snapshot list read (${snapshots} snapshots with their wedding ids, limit 200) ${await timed(() => catalog.listSnapshots({ limit: 200 }))} ms`);
    const reader = new SnapshotListReader();
    await reader.list(catalog, { limit: 200 });
    console.log(`round ${round} after: snapshot list read, rows unchanged (SnapshotListReader) ${await timed(() => reader.list(catalog, { limit: 200 }))} ms`);
    console.log(`round ${round}: a whole status (queries included, wall) ${await timed(() => sched.status({ now: new Date(), schedule, days: 30 }), 5)} ms`);
  }
  await sched.close();
  await catalog.close();
} finally {
  await cluster.close();
}
