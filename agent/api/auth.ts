import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { readFile, writeFile, mkdir, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { WedsyncError } from '../contract/errors.js';
import type { Principal, UserPrincipal } from '../core/authz.js';

/**
 * Who is calling the API.
 *
 *  - The agent's own token: random, created on first start, kept under WEDSYNC_HOME with mode
 *    0600 → the service principal (the machine's operator, the console the agent opens,
 *    Electron). Compared in constant time.
 *  - A per-user token (`wedsync-backup token create --user EMAIL`) → that user_profile, with
 *    its current role and organization; looked up by hash, so the catalog never holds it.
 *  - Anything else → 401.
 * Every /api route needs `Authorization: Bearer <token>`; no cookies are read or set.
 */
export async function loadOrCreateAgentToken(home: string): Promise<string> {
  const path = join(home, 'agent-token');
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (token.length >= 32) return token;
  } catch {
    // first start
  }
  await mkdir(home, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return token;
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m ? m[1]! : null;
}

/** Constant-time comparison of a presented bearer token with the expected one. */
export function tokenMatches(header: string | undefined, expected: string): boolean {
  const presented = bearerToken(header);
  if (presented === null) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Resolves per-user tokens (the catalog's backup_api_tokens); absent: only the agent token works. */
export interface UserTokenResolver {
  resolveToken(token: string): Promise<UserPrincipal | null>;
}

export const SERVICE_PRINCIPAL: Principal = { kind: 'service', label: 'agent-token' };

/** The principal behind an Authorization header, or null (missing, malformed, unknown, revoked, expired). */
export async function resolvePrincipal(header: string | undefined, agentToken: string, users?: UserTokenResolver): Promise<Principal | null> {
  if (tokenMatches(header, agentToken)) return SERVICE_PRINCIPAL;
  const token = bearerToken(header);
  if (token === null || !users) return null;
  return users.resolveToken(token);
}

const principals = new WeakMap<FastifyRequest, Principal>();

export function setPrincipal(req: FastifyRequest, principal: Principal): void {
  principals.set(req, principal);
}

/** The authenticated principal of an /api request (set by the server's onRequest hook). */
export function principalOf(req: FastifyRequest): Principal {
  const p = principals.get(req);
  if (!p) throw new WedsyncError('UNAUTHENTICATED', 'missing or wrong bearer token');
  return p;
}

/** The principal if the request was authenticated, else null (public routes). */
export function maybePrincipalOf(req: FastifyRequest): Principal | null {
  return principals.get(req) ?? null;
}

/** How a principal is named in audit rows and recovery_operations.initiated_by_label. */
export function principalLabel(p: Principal): string {
  return p.kind === 'service' ? p.label : `user:${p.email}`;
}

/**
 * Browsers send Origin on cross-site requests. The API answers only its own origin (the console
 * it serves) and non-browser clients (no Origin): no CORS, so another site's page can neither
 * read answers nor — with a leaked token — drive the agent from a victim's browser.
 */
export function refuseCrossOrigin(req: FastifyRequest): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string | null = null;
  try {
    host = new URL(origin).host;
  } catch {
    // "null" (sandboxed frames, file://) and garbage: not our origin
  }
  if (host === null || host !== req.headers.host) throw new WedsyncError('FORBIDDEN', 'cross-origin requests are refused');
}
