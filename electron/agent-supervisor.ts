import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Starts the agent as a child process and keeps it running (the way a desktop UI runs its
 * local server): on loopback, port 0 (a free one), its API token read from the token file the
 * agent names (mode 0600) — never passed on a command line. If the agent exits unexpectedly it
 * is restarted with backoff (1 s, 2 s, 4 s … 30 s); `stop()` sends SIGTERM and waits for a
 * clean exit (SIGKILL after `stopTimeoutMs`). Secrets (the passphrase) go in the child's
 * environment, never in argv, so they do not show in process listings.
 *
 * Or attach: `attach(url, token)` uses an agent that already runs as a service instead.
 */
export type AgentState = 'starting' | 'running' | 'restarting' | 'stopped' | 'failed' | 'locked';

/** Why a start attempt ended before the agent was ready: the CLI's `--json` error line when it printed one. */
export interface StartFailure {
  code: string;
  message: string;
}
export type StartOutcome = { ok: true; agent: AgentHandle } | ({ ok: false } & StartFailure);

/** The CLI's error line on stdout with --json: `{ ok: false, error: { code, message } }`. */
export function parseFailure(line: string): StartFailure | null {
  try {
    const v = JSON.parse(line) as { ok?: unknown; error?: { code?: unknown; message?: unknown } };
    if (v.ok === false && typeof v.error?.code === 'string' && typeof v.error.message === 'string') return { code: v.error.code, message: v.error.message };
  } catch {
    // not an error line
  }
  return null;
}

export interface SupervisorOptions {
  /** Program and arguments: e.g. [process.execPath, [bin/wedsync-backup.js, 'agent', '--json', '--host', '127.0.0.1', '--port', '0']]. */
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  spawn?: typeof nodeSpawn;
  onState?: (state: AgentState, detail?: string) => void;
  onLog?: (line: string) => void;
  stopTimeoutMs?: number;
  /** Backoff base (ms); tests make it small. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  /** Give up (state 'failed') after this many starts in a row that exit before the agent is ready (bad config, wrong passphrase). */
  maxFailedStarts?: number;
}

export interface AgentHandle {
  url: string;
  token: string;
}

/**
 * The ready line on stdout: `wedsync-backup agent --json` prints { ok, url, tokenFile };
 * `wedsync-backup demo --json` prints { ok, agentUrl, home } (token in home/agent-token).
 * Only loopback URLs are accepted: the console never talks to an agent elsewhere this way.
 */
export function parseReady(line: string): { url: string; tokenFile: string } | null {
  try {
    const v = JSON.parse(line) as { ok?: unknown; url?: unknown; agentUrl?: unknown; tokenFile?: unknown; home?: unknown };
    const url = typeof v.url === 'string' ? v.url : typeof v.agentUrl === 'string' ? v.agentUrl : null;
    const tokenFile = typeof v.tokenFile === 'string' ? v.tokenFile : typeof v.home === 'string' ? join(v.home, 'agent-token') : null;
    if (v.ok === true && url && tokenFile && /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost):\d+$/.test(url)) return { url, tokenFile };
  } catch {
    // not the ready line
  }
  return null;
}

export class AgentSupervisor {
  private child: ChildProcess | null = null;
  private current: AgentHandle | null = null;
  private stopping = false;
  private restarts = 0;
  private failedStarts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stateValue: AgentState = 'stopped';
  private readyWaiters: ((h: AgentHandle) => void)[] = [];
  private failWaiters: ((f: StartFailure) => void)[] = [];
  private lastFailure: StartFailure | null = null;
  /** Secrets for the child's environment (the passphrase): kept for restarts, never in argv. */
  private secretEnv: Record<string, string> = {};

  constructor(private readonly opts: SupervisorOptions) {}

  get state(): AgentState {
    return this.stateValue;
  }

  /** The running agent, or null while it is (re)starting or stopped. */
  agent(): AgentHandle | null {
    return this.current;
  }

  /** Uses an agent that already runs (as a service); nothing is spawned or supervised. */
  attach(url: string, token: string): void {
    this.current = { url, token };
    this.setState('running', url);
  }

  /** Replaces the secret part of the child's environment from the next start on (restarts included). */
  setSecretEnv(env: Record<string, string>): void {
    this.secretEnv = { ...env };
  }

  /**
   * One start attempt: resolves with the agent once it is listening, or with why it exited
   * before (a wrong passphrase, a bad config) — then it is not restarted. Used by the unlock
   * screen: the answer goes back to the person who typed the passphrase.
   */
  tryStart(): Promise<StartOutcome> {
    this.stopping = false;
    this.failedStarts = 0;
    return new Promise<StartOutcome>((resolve) => {
      this.readyWaiters.push((agent) => resolve({ ok: true, agent }));
      this.failWaiters.push((f) => resolve({ ok: false, ...f }));
      this.spawnOnce();
    });
  }

  /** Says the agent waits for its passphrase (nothing runs). */
  markLocked(reason: string): void {
    this.setState('locked', reason);
  }

  /** Starts the agent; resolves once it is listening. */
  start(): Promise<AgentHandle> {
    this.stopping = false;
    const ready = new Promise<AgentHandle>((resolve) => this.readyWaiters.push(resolve));
    this.spawnOnce();
    return ready;
  }

  private setState(state: AgentState, detail?: string): void {
    this.stateValue = state;
    this.opts.onState?.(state, detail);
  }

  private spawnOnce(): void {
    this.setState(this.restarts ? 'restarting' : 'starting');
    this.lastFailure = null;
    const child = (this.opts.spawn ?? nodeSpawn)(this.opts.command, this.opts.args, { env: { ...this.opts.env, ...this.secretEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const failure = parseFailure(line);
      if (failure) this.lastFailure = failure;
      const ready = this.current ? null : parseReady(line);
      if (!ready) return;
      void readFile(ready.tokenFile, 'utf8').then(
        (token) => {
          if (this.child !== child) return;
          this.current = { url: ready.url, token: token.trim() };
          this.restarts = 0;
          this.failedStarts = 0;
          this.setState('running', ready.url);
          this.failWaiters = [];
          for (const w of this.readyWaiters.splice(0)) w(this.current);
        },
        (err: Error) => this.opts.onLog?.(`cannot read the agent token file: ${err.message}`),
      );
    });
    createInterface({ input: child.stderr! }).on('line', (line) => this.opts.onLog?.(line));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      this.current = null;
      if (this.stopping) {
        this.setState('stopped');
        return;
      }
      const wasReady = this.stateValue === 'running';
      if (!wasReady && this.failWaiters.length) {
        // A start attempt someone waits on (unlock): tell them why, do not retry by ourselves.
        const failure = this.lastFailure ?? { code: 'AGENT_EXITED', message: `the agent exited before it was ready (${signal ?? `code ${code}`})` };
        this.readyWaiters = [];
        this.setState('stopped', failure.message);
        for (const w of this.failWaiters.splice(0)) w(failure);
        return;
      }
      if (!wasReady && ++this.failedStarts >= (this.opts.maxFailedStarts ?? 5)) {
        // It never came up: restarting forever would only hide why. The tray and the window say so.
        this.setState('failed', `the agent exited ${this.failedStarts} times before it was ready (${signal ?? `code ${code}`}); see its log`);
        return;
      }
      const delay = Math.min(this.opts.maxRestartDelayMs ?? 30_000, (this.opts.restartDelayMs ?? 1000) * 2 ** this.restarts);
      this.restarts++;
      this.setState('restarting', `agent exited (${signal ?? `code ${code}`}); restarting in ${Math.round(delay / 1000)} s`);
      this.timer = setTimeout(() => this.spawnOnce(), delay);
    });
    child.on('error', (err) => this.opts.onLog?.(`cannot start the agent: ${err.message}`));
  }

  /** Stops the agent cleanly (SIGTERM, then SIGKILL after the timeout); no restart follows. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const child = this.child;
    this.current = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.setState('stopped');
      return;
    }
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), this.opts.stopTimeoutMs ?? 15_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
