import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  BackupHistoryQuerySchema,
  BackupHistoryResponseSchema,
  WeddingDiffParamsSchema,
  WeddingDiffQuerySchema,
  WeddingDiffResponseSchema,
  WeddingListQuerySchema,
  WeddingListResponseSchema,
  type BackupHistoryPoint,
  type WeddingDiffResponse,
  type WeddingListItem,
  type WeddingListQuery,
} from '../../contract/console.js';
import { WedsyncError } from '../../contract/errors.js';
import { parse, send } from '../http.js';

/**
 * Serves the desktop console (renderer/dist, built by Vite) at `/` to any browser, and the
 * few routes only the console needs.
 *
 * How a browser gets the API token — never in a cookie, never in a URL the server sees, never
 * logged: `loginUrl()` mints a one-time login code (256 random bits, valid 10 minutes, single
 * use) and returns `http://host:port/#login=CODE`. The fragment is never sent to the server;
 * the console posts the code to `POST /console/login` once and gets the token in the response
 * body, keeping it in sessionStorage (that tab only). A code that was used, expired or never
 * existed is refused with 401. Tests and Electron's main process, which already hold the token,
 * may open `/#token=TOKEN` directly.
 *
 * Every console response carries a strict Content-Security-Policy (scripts and styles only from
 * the agent itself, no inline script, no framing, no plugins, fetch only to the agent), plus
 * nosniff and no-referrer. Only files inside the dist folder are served; a path that resolves
 * outside it is a 404.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

const LOGIN_CODE_TTL_MS = 10 * 60 * 1000;
const MAX_OPEN_CODES = 100;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export interface ConsoleOptions {
  /** The agent's API token, handed out only in exchange for a login code. */
  token: string;
  /** The built console (default: renderer/dist of this package). */
  distDir?: string;
  /** The wedding directory (GET /api/weddings); absent: the route answers 404 like any unknown route. */
  listWeddings?: (query: WeddingListQuery) => Promise<WeddingListItem[]>;
  /** The dashboard's history chart (GET /api/console/history); absent: 404 like any unknown route. */
  backupHistory?: (limit: number) => Promise<BackupHistoryPoint[]>;
  /** One wedding compared between two snapshots; absent: 404 like any unknown route. */
  diffWedding?: (snapshotId: string, againstId: string, weddingId: string, rows: number) => Promise<WeddingDiffResponse>;
  /** Clock, for tests of code expiry. */
  now?: () => number;
}

export interface ConsoleRoutes {
  register(app: FastifyInstance): void;
  /** A fresh one-time URL that opens the console already signed in: `${baseUrl}/#login=CODE`. */
  loginUrl(baseUrl: string): string;
  /** Where the console's files are served from, or null when it has not been built. */
  readonly distDir: string | null;
}

/** renderer/dist of this package, from the source tree (agent/api/routes) or the compiled one (dist/agent/api/routes). */
export function defaultConsoleDir(): string | null {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const up of ['../../..', '../../../..']) {
    const dir = resolve(here, up, 'renderer', 'dist');
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return null;
}

const LoginBodySchema = z.object({ code: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/, { error: 'must be a login code' }) }).strict();

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin');
}

export function createConsoleRoutes(options: ConsoleOptions): ConsoleRoutes {
  const distDir = options.distDir ?? defaultConsoleDir();
  const now = options.now ?? Date.now;
  const codes = new Map<string, number>();

  function sweep(): void {
    const t = now();
    for (const [code, expires] of codes) if (expires <= t) codes.delete(code);
  }

  async function serveFile(reply: FastifyReply, relative: string): Promise<FastifyReply> {
    secure(reply);
    if (!distDir || !existsSync(join(distDir, 'index.html'))) {
      return reply.code(503).type('text/plain; charset=utf-8').send('The console has not been built: run `npm run build:renderer` (or `npm run build`).\n');
    }
    const root = resolve(distDir);
    const file = resolve(root, relative);
    if (file !== root && !file.startsWith(root + sep)) throw new WedsyncError('NOT_FOUND', 'no such console file');
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) throw new WedsyncError('NOT_FOUND', 'no such console file');
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    // Vite names assets by content hash: cache them for good; the page itself never.
    const cache = relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-store';
    return reply.code(200).type(type).header('cache-control', cache).send(await readFile(file));
  }

  return {
    distDir,
    loginUrl(baseUrl) {
      sweep();
      // Bounded: an agent printing URLs in a loop cannot grow this without limit.
      while (codes.size >= MAX_OPEN_CODES) codes.delete(codes.keys().next().value!);
      const code = randomBytes(32).toString('base64url');
      codes.set(code, now() + LOGIN_CODE_TTL_MS);
      return `${baseUrl}/#login=${code}`;
    },
    register(app) {
      app.get('/', (_req, reply) => serveFile(reply, 'index.html'));
      app.get('/index.html', (_req, reply) => serveFile(reply, 'index.html'));
      app.get('/assets/*', (req, reply) => serveFile(reply, `assets/${(req.params as { '*': string })['*']}`));
      app.get('/favicon.ico', (_req, reply) => secure(reply).code(204).send());

      app.post('/console/login', async (req, reply) => {
        const { code } = parse(LoginBodySchema, req.body, 'body');
        sweep();
        const expires = codes.get(code);
        // Single use: gone whether or not it was still valid.
        codes.delete(code);
        if (expires === undefined || expires <= now()) throw new WedsyncError('UNAUTHENTICATED', 'this login link was already used or has expired: ask the agent for a new one');
        return secure(reply).header('cache-control', 'no-store').send({ token: options.token });
      });

      if (options.backupHistory) {
        const history = options.backupHistory;
        app.get('/api/console/history', async (req, reply) => {
          const { limit } = parse(BackupHistoryQuerySchema, req.query, 'query');
          return send(reply, BackupHistoryResponseSchema, { points: await history(limit) });
        });
      }

      if (options.diffWedding) {
        const diff = options.diffWedding;
        app.get('/api/console/snapshots/:id/weddings/:weddingId/diff', async (req, reply) => {
          const { id, weddingId } = parse(WeddingDiffParamsSchema, req.params, 'params');
          const { against, rows } = parse(WeddingDiffQuerySchema, req.query, 'query');
          return send(reply, WeddingDiffResponseSchema, await diff(id.toLowerCase(), against.toLowerCase(), weddingId.toLowerCase(), rows));
        });
      }

      if (options.listWeddings) {
        const list = options.listWeddings;
        app.get('/api/weddings', async (req, reply) => {
          const query = parse(WeddingListQuerySchema, req.query, 'query');
          return send(reply, WeddingListResponseSchema, { weddings: await list(query) });
        });
      }
    },
  };
}
