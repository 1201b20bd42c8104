import { WedsyncError, isWedsyncError } from '../contract/errors.js';
import { redactSecrets } from '../logger.js';

/** What a command hands back: one JSON object for --json, and text for humans. */
export interface CommandResult {
  json: Record<string, unknown>;
  text: string;
  /** 0 by default; 1 when a check found problems. */
  exitCode?: number;
  /** The command already printed its output (long-running commands print at start). */
  printed?: boolean;
}

export function printResult(result: CommandResult, json: boolean): void {
  if (result.printed) return;
  if (json) process.stdout.write(`${JSON.stringify(result.json)}\n`);
  else if (result.text) process.stdout.write(result.text.endsWith('\n') ? result.text : `${result.text}\n`);
}

/** Prints an error as one line (or one JSON object) and returns the exit code to use. */
export function printError(err: unknown, json: boolean, verbose: boolean): number {
  const known = isWedsyncError(err);
  const error = known ? err : new WedsyncError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
  const message = redactSecrets(error.message.split('\n')[0] ?? '');
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: { code: error.code, message, ...(error.details ? { details: error.details } : {}) } })}\n`);
  }
  process.stderr.write(`wedsync-backup: ${message}\n`);
  if (verbose) {
    const stack = (known && error.cause instanceof Error ? error.cause.stack : error.stack) ?? '';
    process.stderr.write(`${redactSecrets(stack)}\n`);
  }
  return error.exitCode;
}

/** Aligned plain-text table for human output. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
