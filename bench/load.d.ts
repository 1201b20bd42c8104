// Types of bench/load.js (plain JS, run by node over dist/), for reliability/load.test.ts.
export interface AgentProcess {
  url: string;
  token: string;
  pid: number | undefined;
  stderr(): string;
  stop(): Promise<number | null>;
}
export function startAgentProcess(env: Record<string, string>, extraArgs?: string[], nodeArgs?: string[], bin?: string): Promise<AgentProcess>;

export interface BackupLoop {
  stop(): Promise<{ queued: number; completed: number; failed: number; meanSeconds: number }>;
}
export function keepBackupsRunning(databaseUrl: string, opts?: { pollMs?: number }): Promise<BackupLoop>;

export interface LoadResult {
  requests: number;
  answered: number;
  errors: string[];
  statuses: Record<string, number>;
  achievedRate: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}
export function runLoad(opts: { url: string; token: string; rate?: number; durationMs?: number; paths: string[]; timeoutMs?: number }): Promise<LoadResult>;
export function readPaths(snapshotId: string): string[];
