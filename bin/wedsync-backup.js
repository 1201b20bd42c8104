#!/usr/bin/env node
// Runs the compiled CLI (built by `npm run build`, which `npm ci` runs through `prepare`).
// No TypeScript loader here: start-up time counts for emergency backups and restores.
import('../dist/agent/cli/main.js').then((cli) => cli.main(process.argv)).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/agent')) {
    process.stderr.write('wedsync-backup: not built yet; run `npm run build` (npm ci does it)\n');
    process.exit(3);
  }
  throw err;
});
