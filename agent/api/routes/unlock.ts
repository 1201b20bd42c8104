import type { FastifyInstance } from 'fastify';
import { WedsyncError } from '../../contract/errors.js';
import { UnlockRequestSchema, UnlockResponseSchema, UnlockStatusSchema } from '../../contract/unlock.js';
import { principalOf } from '../auth.js';
import { parse, send } from '../http.js';

/**
 * GET/POST /api/unlock (shapes and rules: agent/contract/unlock.ts). A running agent answers
 * `{ locked: false }` and refuses an unlock with 409; a locked one (api/locked.ts) checks the
 * passphrase with `unlock` and starts in full.
 *
 * Guarantees: only an admin may try (the agent's own token, or a user token of role admin: the
 * route's authz rule is admin-only too); at most `limiter` attempts a minute, counted before the
 * passphrase is checked (each check costs a key derivation); the passphrase is never echoed,
 * logged or kept here.
 */
export interface UnlockRouteOptions {
  locked: () => boolean;
  reason?: () => string | null;
  /** Opens the repository with the passphrase (WRONG_PASSPHRASE if it opens no key), then starts the agent. */
  unlock?: (passphrase: string) => Promise<void>;
  limiter?: AttemptLimiter;
}

/** A sliding window of attempts: `max` per `windowMs`. */
export class AttemptLimiter {
  private readonly attempts: number[] = [];
  constructor(
    private readonly max = 5,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one attempt; RATE_LIMITED (429) when the window is full. */
  take(): void {
    const t = this.now();
    while (this.attempts.length && this.attempts[0]! <= t - this.windowMs) this.attempts.shift();
    if (this.attempts.length >= this.max) {
      const wait = Math.ceil((this.attempts[0]! + this.windowMs - t) / 1000);
      throw new WedsyncError('RATE_LIMITED', `too many unlock attempts: try again in ${wait} s`, { details: { retryAfterSeconds: wait } });
    }
    this.attempts.push(t);
  }
}

export function registerUnlockRoutes(app: FastifyInstance, options: UnlockRouteOptions): void {
  const limiter = options.limiter ?? new AttemptLimiter();
  app.get('/api/unlock', async (_req, reply) => send(reply, UnlockStatusSchema, { locked: options.locked(), reason: options.locked() ? (options.reason?.() ?? null) : null }));

  app.post('/api/unlock', async (req, reply) => {
    const principal = principalOf(req);
    // Users are checked by the authz rule too (admin only); this holds even where authz has no catalog.
    if (principal.kind === 'user' && principal.role !== 'admin') throw new WedsyncError('FORBIDDEN', 'only an admin may unlock the agent');
    const { passphrase } = parse(UnlockRequestSchema, req.body, 'body');
    if (!options.locked() || !options.unlock) throw new WedsyncError('CONFLICT', 'the agent is not locked: it already has its passphrase');
    limiter.take();
    await options.unlock(passphrase);
    return send(reply, UnlockResponseSchema, { unlocked: true });
  });
}
