import type { DatabaseConnectivity } from '../contract/offline.js';
import type { Logger } from '../logger.js';
import { isUnreachable } from './while-connected.js';

export interface DatabaseLinkOptions<T extends { close(): Promise<void> }> {
  /** Opens everything that needs the database; all or nothing (main/online.ts). */
  connect(): Promise<T>;
  logger: Logger;
  /** First delay between attempts, doubling up to the maximum; how long `start` waits for the first attempt. */
  retry: { minMs: number; maxMs: number; firstWaitMs: number };
  /** Tier 1's stream lost the database (its detail), or null: the link then reports unreachable too. */
  streamOffline(): string | null;
  /** Called on each (re)connection, once the connection is current. */
  onConnected(): void;
}

/**
 * The agent's link to its database (and main repository): connected now or — unreachable — later,
 * by itself, with backoff, for as long as the agent runs.
 *
 * Guarantees:
 *  - `start` waits for the first attempt, but at most `firstWaitMs`: a network that drops packets
 *    (no answer, not a refusal) or a stalled S3 never keeps the wedding-day routes from coming up.
 *    It throws only when the first attempt failed for a reason other than "unreachable" (a bad
 *    passphrase, a catalog without its migrations): that stops the start.
 *  - `current()` is the open connection or null; `database()` is its state for /healthz, and says
 *    unreachable while tier 1's stream has lost the database too.
 *  - after `stopTrying()` no attempt starts and none in flight becomes current (it is closed);
 *    `closeCurrent()` closes the connection in use.
 */
export class DatabaseLink<T extends { close(): Promise<void> }> {
  private online: T | null = null;
  private closing = false;
  private readonly aborter = new AbortController();
  private reconnect: Promise<void> = Promise.resolve();
  private readonly connectivity: DatabaseConnectivity = { state: 'unreachable', since: new Date().toISOString(), lastError: null, nextAttemptAt: null, attempts: 0 };

  constructor(private readonly o: DatabaseLinkOptions<T>) {}

  current(): T | null {
    return this.online;
  }

  /** Connected, and tier 1's stream (when it runs) has not lost the database. */
  connected(): boolean {
    return this.online !== null && this.o.streamOffline() === null;
  }

  database(): DatabaseConnectivity {
    const lost = this.o.streamOffline();
    if (this.online && lost !== null) return { ...this.connectivity, state: 'unreachable', lastError: lost };
    return { ...this.connectivity };
  }

  async start(): Promise<void> {
    this.connectivity.attempts = 1;
    const first = this.o.connect().then(
      (o) => ({ ok: true as const, o }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([first, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), this.o.retry.firstWaitMs)))]);
    clearTimeout(timer);
    if (waited?.ok) {
      this.use(waited.o);
    } else if (waited) {
      if (!isUnreachable(waited.e)) throw waited.e;
      this.offlineStart((waited.e as Error).message);
      this.reconnect = this.keepTrying();
    } else {
      this.offlineStart('no answer from the database yet');
      this.reconnect = first.then(async (r) => {
        if (r.ok && this.closing) await r.o.close();
        else if (r.ok) this.use(r.o);
        else if (!this.closing) {
          this.connectivity.lastError = (r.e as Error).message;
          await this.keepTrying();
        }
      });
    }
  }

  /** Stops reconnecting and waits for an attempt in flight (closed if it succeeds now). */
  async stopTrying(): Promise<void> {
    this.closing = true;
    this.aborter.abort();
    await this.reconnect;
  }

  async closeCurrent(): Promise<void> {
    await this.online?.close();
  }

  private use(o: T): void {
    this.online = o;
    Object.assign(this.connectivity, { state: 'connected', since: new Date().toISOString(), lastError: null, nextAttemptAt: null });
    this.o.onConnected();
  }

  private offlineStart(why: string): void {
    this.connectivity.lastError = why;
    this.connectivity.nextAttemptAt = new Date(Date.now() + this.o.retry.minMs).toISOString();
    this.o.logger.warn({ err: why }, 'agent starting offline: database unreachable; serving the local cache, reconnecting by itself');
  }

  private async keepTrying(): Promise<void> {
    const { default: pRetry } = await import('p-retry');
    const { minMs, maxMs } = this.o.retry;
    await pRetry(
      async () => {
        if (this.closing) return;
        this.connectivity.attempts++;
        const o = await this.o.connect();
        if (this.closing) {
          await o.close();
          return;
        }
        this.use(o);
        this.o.logger.info({ attempts: this.connectivity.attempts }, 'agent connected to the database: scheduling, restores and validation resume');
      },
      {
        retries: Number.POSITIVE_INFINITY,
        factor: 2,
        minTimeout: minMs,
        maxTimeout: maxMs,
        signal: this.aborter.signal,
        onFailedAttempt: ({ error, attemptNumber }) => {
          this.connectivity.lastError = error.message;
          const delay = Math.min(minMs * 2 ** (attemptNumber - 1), maxMs);
          this.connectivity.nextAttemptAt = new Date(Date.now() + delay).toISOString();
          if (!isUnreachable(error)) this.o.logger.error({ err: error.message }, 'agent: connecting failed; trying again');
        },
      },
    ).catch((err: unknown) => {
      if (!this.closing) this.o.logger.error({ err: (err as Error).message }, 'agent: gave up connecting');
    });
  }
}
