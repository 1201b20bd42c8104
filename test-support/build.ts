import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Newest modification time of any .ts file under `dir` (skipping tests). */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * CLI tests run the compiled CLI, as users do. `npm ci` builds it (prepare); during development
 * the sources may be newer, so rebuild then.
 */
export function ensureBuilt(root: string): void {
  let built = 0;
  try {
    built = statSync(join(root, 'dist/agent/cli/main.js')).mtimeMs;
  } catch {
    built = 0;
  }
  if (built >= newestSource(join(root, 'agent')) && built > 0) return;
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'pipe' });
  } catch {
    // tsc still emits JavaScript when there are type errors; `npm run typecheck` reports them.
    process.stderr.write('test-support: the build reported type errors (run `npm run typecheck`); testing what it emitted\n');
  }
}
