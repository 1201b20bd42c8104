#!/usr/bin/env node
// Runs the compiled CLI (built by `npm run build`, which `npm ci` runs through `prepare`).
// No TypeScript loader here: start-up time counts for emergency backups and restores.
// `cache` (a wedding read offline from the local cache) first tries its fast path, which loads
// neither commander nor zod nor the logger (dist/agent/cli/fast-cache.js); it hands anything
// unusual to the full command line.
const full = () => import('../dist/agent/cli/main.js').then((cli) => cli.main(process.argv));
const start = process.argv[2] === 'cache' ? import('../dist/agent/cli/fast-cache.js').then((fast) => fast.tryFastCache(process.argv)).then((done) => (done ? undefined : full())) : full();
start.catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/agent')) {
    process.stderr.write('wedsync-backup: not built yet; run `npm run build` (npm ci does it)\n');
    process.exit(3);
  }
  throw err;
});
