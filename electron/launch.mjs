#!/usr/bin/env node
// `npm start`: opens the desktop app where Electron can run (its binary is installed and there is
// a display); otherwise runs the embedded demo in the terminal, which prints a one-time link that
// opens the same console in any browser. WEDSYNC_NO_DESKTOP=1 forces the terminal mode.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

/** The Electron binary, or why there is none (skipped download, no override, missing file). */
function electronBinary() {
  try {
    const path = createRequire(import.meta.url)('electron');
    if (typeof path === 'string' && existsSync(path)) return { path };
    return { why: `no Electron binary at ${path}` };
  } catch {
    return { why: 'the Electron binary is not installed (ELECTRON_SKIP_BINARY_DOWNLOAD, or no network)' };
  }
}

function run(command, argv) {
  const child = spawn(command, argv, { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
}

const electron = electronBinary();
const display = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
if (electron.path && display && process.env.WEDSYNC_NO_DESKTOP !== '1') {
  if (!existsSync(join(root, 'dist-electron', 'electron', 'main.js'))) {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.electron.json')], { stdio: 'inherit' });
  }
  run(electron.path, [root, ...args]);
} else {
  const why = process.env.WEDSYNC_NO_DESKTOP === '1' ? 'WEDSYNC_NO_DESKTOP=1' : (electron.why ?? 'no display');
  process.stderr.write(`Desktop app not started (${why}): running the agent with the embedded database; open the console link it prints.\n`);
  run(process.execPath, [join(root, 'bin', 'wedsync-backup.js'), 'demo', ...args]);
}
