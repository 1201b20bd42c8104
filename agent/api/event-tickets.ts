import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../core/authz.js';

/**
 * Short-lived tickets that open one event stream (agent/contract/events.ts): what a browser's
 * EventSource sends instead of the bearer token it cannot put in a header.
 *
 * Guarantees: a ticket is 256 random bits; it opens exactly the stream path it was issued for,
 * as the principal that asked for it (whose authorisation is checked again by the stream route);
 * it works once and only within `ttlMs` (default 30 s); at most `maxOpen` are outstanding (the
 * oldest go first). The long-lived token is never in a URL, and a ticket that reaches a log is
 * spent or expired by the time anyone reads it.
 */
export interface EventTicketOptions {
  ttlMs?: number;
  maxOpen?: number;
  now?: () => number;
}

interface Ticket {
  principal: Principal;
  path: string;
  expires: number;
}

export class EventTickets {
  private readonly open = new Map<string, Ticket>();
  private readonly ttlMs: number;
  private readonly maxOpen: number;
  private readonly now: () => number;

  constructor(options: EventTicketOptions = {}) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.maxOpen = options.maxOpen ?? 1000;
    this.now = options.now ?? Date.now;
  }

  issue(principal: Principal, path: string): { ticket: string; expiresAt: string } {
    this.sweep();
    while (this.open.size >= this.maxOpen) this.open.delete(this.open.keys().next().value!);
    const ticket = randomBytes(32).toString('base64url');
    const expires = this.now() + this.ttlMs;
    this.open.set(ticket, { principal, path, expires });
    return { ticket, expiresAt: new Date(expires).toISOString() };
  }

  /** The principal of a ticket for exactly `path`, spending it; null when unknown, spent, expired or for another path. */
  redeem(ticket: string, path: string): Principal | null {
    const t = this.open.get(ticket);
    if (!t) return null;
    // Spent whatever the outcome: a guessed path cannot probe a ticket twice.
    this.open.delete(ticket);
    if (t.expires <= this.now() || t.path !== path) return null;
    return t.principal;
  }

  /**
   * The server's fallback authentication (ApiOptions.authenticate): a GET whose query carries
   * `ticket=` for its own path. Any other request: null (the bearer token was required).
   */
  authenticate(req: FastifyRequest): Principal | null {
    if (req.method !== 'GET') return null;
    const [path = '', query = ''] = req.url.split('?', 2);
    const ticket = new URLSearchParams(query).get('ticket');
    if (!ticket) return null;
    return this.redeem(ticket, path.toLowerCase());
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, v] of this.open) if (v.expires <= t) this.open.delete(k);
  }
}
