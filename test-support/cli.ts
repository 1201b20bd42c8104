import { execFile } from 'node:child_process';
import { join } from 'node:path';

/** The compiled CLI, as users run it (`bin/` loads `dist/`, which the test run builds first). */
export const CLI_BIN = join(process.cwd(), 'bin/wedsync-backup.js');

/** What one CLI run printed and how it ended. `code` 99: killed or not started (timeout). */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `wedsync-backup ARGS…` in a child process with exactly `env` plus PATH — nothing of the
 * test process's environment leaks in, so every test states the configuration it relies on.
 * Never rejects: a failing command is a result to assert on.
 */
export function runCli(args: readonly string[], env: Readonly<Record<string, string>> = {}, options: { timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: options.timeoutMs ?? 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 99) : 0, stdout, stderr });
    });
  });
}
