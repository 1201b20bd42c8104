import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';

/**
 * The console's own origin in Electron: `app://console/…` serves renderer/dist (a privileged,
 * standard, secure scheme registered before `ready`), with the same strict CSP the agent sends.
 * Pure request → response mapping, so it is tested without Electron.
 */
export const APP_ORIGIN = 'app://console';

export const ELECTRON_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  // The renderer talks to the agent only through IPC: no network at all.
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

export async function serveConsoleFile(distDir: string, requestUrl: string): Promise<Response> {
  const u = new URL(requestUrl);
  if (`${u.protocol}//${u.host}` !== APP_ORIGIN) return new Response('not found', { status: 404 });
  const root = resolve(distDir);
  const rel = decodeURIComponent(u.pathname).replace(/^\/+/, '') || 'index.html';
  const file = resolve(root, rel);
  if (!file.startsWith(root + sep)) return new Response('not found', { status: 404 });
  const body = await readFile(file).catch(() => null);
  if (!body) return new Response('not found', { status: 404 });
  return new Response(new Uint8Array(body), {
    status: 200,
    headers: { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': ELECTRON_CSP, 'x-content-type-options': 'nosniff' },
  });
}
