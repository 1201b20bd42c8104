import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { WedsyncError } from '../contract/errors.js';

/**
 * Confirmation tokens: no token, no restore. A preview issues one bound to its exact plan (a
 * fingerprint of snapshot, scope, weddings, tables, target) and to the live rows it saw (their
 * digest), signed with HMAC-SHA-256, valid for a short time (default 10 minutes).
 *
 * Key: random per agent process by default, so a token works only with the agent (or the CLI
 * process) that issued it; pass `key` to share tokens between processes that share a secret.
 * Single use is enforced by the recovery catalog (it records each used token id; see
 * catalog/recovery.ts), which also holds across processes.
 *
 * Format: `wsr1.<base64url(JSON claims)>.<base64url(HMAC)>`.
 */
export interface TokenClaims {
  /** Token id: recorded by the operation that uses it. */
  id: string;
  /** Plan fingerprint. */
  plan: string;
  /** Digest of the live rows in scope when the preview was made. */
  live: string;
  /** Expiry, ms since the epoch. */
  exp: number;
}

export const DEFAULT_TOKEN_TTL_MS = 10 * 60_000;
const PREFIX = 'wsr1';

export class ConfirmationTokens {
  private readonly key: Buffer;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: { key?: Buffer; ttlMs?: number; now?: () => number } = {}) {
    this.key = options.key ?? randomBytes(32);
    this.ttlMs = options.ttlMs ?? DEFAULT_TOKEN_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  issue(plan: string, live: string): { token: string; claims: TokenClaims; expiresAt: string } {
    const claims: TokenClaims = { id: randomUUID(), plan, live, exp: this.now() + this.ttlMs };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { token: `${PREFIX}.${body}.${this.sign(body).toString('base64url')}`, claims, expiresAt: new Date(claims.exp).toISOString() };
  }

  /**
   * The claims of a genuine, unexpired token issued for `plan` (any plan when omitted); BAD_INPUT
   * otherwise, naming why (malformed, not issued here, expired, another plan). Use is not recorded here.
   */
  check(token: string, plan?: string): TokenClaims {
    const parts = token.split('.');
    const bad = (why: string) => new WedsyncError('BAD_INPUT', `confirmationToken ${why}: preview the restore again for a new token`);
    if (parts.length !== 3 || parts[0] !== PREFIX) throw bad('is not a restore confirmation token');
    const [, body, mac] = parts as [string, string, string];
    const given = Buffer.from(mac, 'base64url');
    const want = this.sign(body);
    if (given.length !== want.length || !timingSafeEqual(given, want)) throw bad('was not issued by this agent (or was altered)');
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      throw bad('is malformed');
    }
    if (!(claims.exp > this.now())) throw bad(`expired at ${new Date(claims.exp).toISOString()}`);
    if (plan !== undefined && claims.plan !== plan) throw bad('was issued for another restore plan (snapshot, scope, weddings, data types or target differ)');
    return claims;
  }

  private sign(body: string): Buffer {
    return createHmac('sha256', this.key).update(`${PREFIX}.${body}`).digest();
  }
}
