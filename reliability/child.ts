import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The compiled CLI, as users run it. */
export const CLI = join(ROOT, 'bin/wedsync-backup.js');
export const CHILDREN = join(ROOT, 'reliability/children');

export interface ChildResult {
  code: number | null;
  /** 'SIGKILL' when we killed it. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  ms: number;
  /** True when the kill was sent before the process had exited on its own. */
  killed: boolean;
}

/**
 * Runs `node <args>` and waits for it to exit. With `killAfterMs`, sends SIGKILL that long after
 * the spawn (a crash at a random moment); with `killOn`, as soon as stdout matches it (a crash at
 * a known point, e.g. a marker the child prints mid-transaction).
 */
export function runNode(args: string[], opts: { env?: NodeJS.ProcessEnv; killAfterMs?: number; killOn?: RegExp; timeoutMs?: number } = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    let exited = false;
    const kill = () => {
      if (exited || killed) return;
      killed = true;
      child.kill('SIGKILL');
    };
    const timers: NodeJS.Timeout[] = [];
    if (opts.killAfterMs !== undefined) timers.push(setTimeout(kill, opts.killAfterMs));
    timers.push(
      setTimeout(() => {
        if (!exited) {
          child.kill('SIGKILL');
          reject(new Error(`node ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 120_000} ms; stderr: ${stderr.slice(-2000)}`));
        }
      }, opts.timeoutMs ?? 120_000),
    );
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.killOn && opts.killOn.test(stdout)) kill();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      for (const t of timers) clearTimeout(t);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started, killed: killed && signal === 'SIGKILL' });
    });
  });
}
