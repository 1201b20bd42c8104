import type { IpcResult } from '../renderer/api/ipc-transport.js';
import type { StartOutcome } from './agent-supervisor.js';
import type { PassphraseStore } from './passphrase-store.js';

/**
 * Whether the desktop app can start its agent, and the unlock screen's other end. The
 * repository passphrase comes from, in order: WEDSYNC_PASSPHRASE at launch (then kept with the
 * keychain for the next start), the keychain (safeStorage, electron/passphrase-store.ts), or the
 * admin typing it on the unlock screen (IPC `passphrase:unlock`). It reaches the agent child
 * only in its environment — never argv, never the renderer, never a log line — and is stored
 * only once the agent has started with it (so a typo is never remembered).
 *
 * Guarantees: a wrong passphrase answers WRONG_PASSPHRASE (401) and leaves the app locked; a
 * stored passphrase that stopped working is forgotten and the app asks again; at most 5
 * attempts a minute; where the OS has no keychain the passphrase works for this session and
 * the answer says it was not remembered.
 */
export interface GateSupervisor {
  setSecretEnv(env: Record<string, string>): void;
  tryStart(): Promise<StartOutcome>;
  markLocked(reason: string): void;
}

export interface GateOptions {
  store: Pick<PassphraseStore, 'load' | 'save' | 'forget'>;
  supervisor: GateSupervisor;
  /** WEDSYNC_PASSPHRASE as the app was launched with it. */
  envPassphrase?: string | undefined;
  /** False for the embedded demo (it makes its own repository). */
  needsPassphrase: boolean;
  now?: () => number;
}

const PASSPHRASE_ERRORS = new Set(['WRONG_PASSPHRASE', 'PASSPHRASE_REQUIRED']);

export class PassphraseGate {
  private readonly attempts: number[] = [];

  constructor(private readonly opts: GateOptions) {}

  /** At launch: starts the agent when a passphrase is at hand, else (or when it no longer works) locks. */
  async start(): Promise<'running' | 'locked' | 'failed'> {
    const { store, supervisor } = this.opts;
    if (!this.opts.needsPassphrase) return (await supervisor.tryStart()).ok ? 'running' : 'failed';
    const given = this.opts.envPassphrase;
    const passphrase = given || (await store.load());
    if (!passphrase) {
      supervisor.markLocked('enter the repository passphrase to start the agent');
      return 'locked';
    }
    supervisor.setSecretEnv({ WEDSYNC_PASSPHRASE: passphrase });
    const r = await supervisor.tryStart();
    if (r.ok) {
      if (given) await store.save(given);
      return 'running';
    }
    if (PASSPHRASE_ERRORS.has(r.code)) {
      supervisor.setSecretEnv({});
      if (!given) await store.forget();
      supervisor.markLocked(given ? 'WEDSYNC_PASSPHRASE does not open the repository: enter the right one' : 'the stored passphrase no longer opens the repository: enter it again');
      return 'locked';
    }
    return 'failed';
  }

  /** The unlock screen's passphrase: start the agent with it; remember it only if that worked. */
  async unlock(passphrase: string): Promise<IpcResult> {
    const now = (this.opts.now ?? Date.now)();
    while (this.attempts.length && this.attempts[0]! <= now - 60_000) this.attempts.shift();
    if (this.attempts.length >= 5) {
      return { ok: false, error: { code: 'RATE_LIMITED', message: `too many unlock attempts: try again in ${Math.ceil((this.attempts[0]! + 60_000 - now) / 1000)} s`, status: 429 } };
    }
    this.attempts.push(now);
    const { store, supervisor } = this.opts;
    supervisor.setSecretEnv({ WEDSYNC_PASSPHRASE: passphrase });
    const r = await supervisor.tryStart();
    if (!r.ok) {
      supervisor.setSecretEnv({});
      supervisor.markLocked(PASSPHRASE_ERRORS.has(r.code) ? 'that passphrase does not open the repository' : r.message);
      const message = r.message.split(passphrase).join('[passphrase]');
      return { ok: false, error: { code: r.code, message, status: PASSPHRASE_ERRORS.has(r.code) ? 401 : 500 } };
    }
    const remembered = await store.save(passphrase);
    return { ok: true, data: { remembered } };
  }
}
