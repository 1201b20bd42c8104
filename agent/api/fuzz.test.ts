import { request } from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupWorld, type BackupWorld } from '../../test-support/fixtures.js';
import { issueToken } from '../catalog/tokens.js';
import { resolveConfig } from '../cli/config.js';
import { silentLogger } from '../logger.js';
import { startAgent, type RunningAgent } from '../main.js';
import { ROUTE_RULES } from './authz.js';

/**
 * Property-based fuzzing of every route the agent serves (enumerated from the running server,
 * so a route added later is fuzzed too): random and malformed JSON, wrong types, huge bodies,
 * path traversal in ids, SQL meta-characters in every string, random query strings, with the
 * agent token, a user token, a garbage token and none. Always: no 5xx, a JSON error for every
 * 4xx, and — since every input is bad by construction — nothing changed in the database.
 */
const NASTY = [
  "' OR 1=1 --",
  "'; DROP TABLE guests; --",
  '"; SELECT pg_sleep(10); --',
  '../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f%2e%2e%2f',
  '..\\..\\windows\\win.ini',
  '\u0000',
  '%00',
  '$1',
  '\\x00\\N',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  '🎉💍',
  'a'.repeat(5000),
  '-1',
  '1e309',
  'NaN',
  'null',
  '[]',
  '{}',
  '00000000-0000-4000-8000-00000000000G',
  '00000000-0000-4000-8000-000000000000',
];

const nastyString = fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }));
/** A value of the wrong type (or a nasty string) for any field. */
const wrongValue = fc.oneof(
  nastyString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(nastyString, { maxLength: 3 }),
  fc.dictionary(nastyString, nastyString, { maxKeys: 3 }),
);
const FIELDS = ['backupId', 'recoveryScope', 'weddingIds', 'dataTypes', 'confirmationToken', 'weddingId', 'table', 'change', 'offset', 'limit', 'level', 'subset', 'code', 'reason', 'type', 'id', 'date', 'q', 'action', '__proto__', 'constructor'];

type Body = { kind: 'none' } | { kind: 'raw'; text: string; type: string } | { kind: 'huge' };
const body: fc.Arbitrary<Body> = fc.oneof(
  fc.constant<Body>({ kind: 'none' }),
  fc.constant<Body>({ kind: 'huge' }),
  // Malformed JSON.
  fc.constantFrom('{', '{"a":', '[1,2', '{"weddingId": }', 'null', '"just a string"', '{"a":1}{"b":2}', '\u0000', 'undefined').map((text): Body => ({ kind: 'raw', text, type: 'application/json' })),
  // Valid JSON of any shape.
  fc.jsonValue({ maxDepth: 3 }).map((v): Body => ({ kind: 'raw', text: JSON.stringify(v) ?? 'null', type: 'application/json' })),
  // Objects with the fields routes know, holding wrong types and nasty strings.
  fc.dictionary(fc.constantFrom(...FIELDS), wrongValue, { minKeys: 1, maxKeys: 5 }).map((o): Body => ({ kind: 'raw', text: JSON.stringify(o), type: 'application/json' })),
  // Right JSON, wrong content type.
  fc.jsonValue({ maxDepth: 2 }).map((v): Body => ({ kind: 'raw', text: JSON.stringify(v) ?? 'null', type: 'text/plain' })),
);
const query = fc.dictionary(fc.constantFrom('limit', 'weddingId', 'type', 'status', 'q', 'date', 'action', 'x', 'limit[]'), nastyString, { maxKeys: 3 });

interface Answer {
  status: number;
  type: string;
  text: string;
}

/** Raw HTTP (fetch would normalise "../" in paths before sending). */
function send(base: URL, method: string, path: string, headers: Record<string, string>, payload?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, method, path, headers: { ...headers, ...(payload !== undefined ? { 'content-length': String(Buffer.byteLength(payload)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
    });
    // A server may close early on a body it refuses (413): that is an answer, not a test failure.
    req.on('error', (err) => ((err as { code?: string }).code === 'EPIPE' || (err as { code?: string }).code === 'ECONNRESET' ? resolve({ status: 413, type: 'application/json', text: '{"error":{"code":"BAD_INPUT","message":"closed"}}' }) : reject(err)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

describe('fuzzing every API route', () => {
  let world: BackupWorld;
  let agent: RunningAgent;
  let viewerToken: string;
  let snapshotId: string;
  let weddingId: string;

  const TABLES = ['backup_jobs', 'backup_snapshots', 'recovery_operations', 'wedding_backup_settings', 'backup_audit_log', 'weddings', 'guests', 'timeline_events', 'vendors', 'photos', 'organizations', 'user_profiles'];
  async function fingerprint(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const t of TABLES) {
      const { rows } = await world.client.query<{ h: string | null; n: string }>(`SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) AS h, count(*) AS n FROM ${t} x`);
      out[t] = `${rows[0]!.n}:${rows[0]!.h}`;
    }
    const tokens = await world.client.query<{ h: string }>(`SELECT md5(string_agg(id::text || coalesce(revoked_at::text, ''), '|' ORDER BY id)) AS h FROM backup_api_tokens`);
    out.backup_api_tokens = tokens.rows[0]!.h;
    return out;
  }

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 3, seed: { organizations: 1 } });
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    weddingId = (await world.client.query<{ id: string }>('SELECT id::text FROM weddings LIMIT 1')).rows[0]!.id;
    const viewer = (await world.client.query<{ email: string }>(`SELECT email FROM user_profiles WHERE role = 'viewer' LIMIT 1`)).rows[0]!.email;
    viewerToken = (await issueToken(world.client, { email: viewer, issuedBy: 'fuzz' })).token;
    const config = resolveConfig(
      { databaseUrl: world.db.url, repo: join(world.dir, 'repo'), photoStore: join(world.dir, 'photos'), home: join(world.dir, 'home') },
      { WEDSYNC_PASSPHRASE: world.passphrase },
    );
    agent = await startAgent({ config, logger: await silentLogger(), port: 0, tier1: false });
    // Mark the viewer's token used once now, so its last_used_at is not a change made during the run.
    await fetch(`${agent.url}/api/me`, { headers: { authorization: `Bearer ${viewerToken}` } });
  });
  afterAll(async () => {
    await agent?.close();
    await world?.close();
  });

  it('every /api route has an authorisation rule for user tokens (a new route must decide who may call it)', () => {
    const missing = agent.routes().filter((r) => r.split(' ')[1]!.startsWith('/api/') && !ROUTE_RULES[r]);
    expect(missing).toEqual([]);
  });

  it('bad input to any route: never a 5xx, always a JSON error, nothing changed in the database', async () => {
    const routes = agent.routes();
    expect(routes.length).toBeGreaterThan(15);
    const before = await fingerprint();
    const base = new URL(agent.url);
    const seen = new Map<string, Set<number>>();

    for (const route of routes) {
      const [method, template] = route.split(' ') as [string, string];
      const mutating = method !== 'GET';
      // Reads may get real ids (deeper paths); writes only bad ones, so no valid write can slip through.
      const idValue = mutating ? nastyString : fc.oneof(nastyString, fc.constantFrom(snapshotId, weddingId));
      const tokenValue = fc.constantFrom<string | null>(agent.token, agent.token, viewerToken, null, `wsb_${'x'.repeat(43)}`);
      await fc.assert(
        fc.asyncProperty(idValue, query, body, tokenValue, async (id, q, b, token) => {
          const path =
            template.replace(/:[A-Za-z]+|\*/g, () => (NASTY.includes(id) && id.includes('..') ? id : encodeURIComponent(id))) +
            (Object.keys(q).length ? `?${Object.entries(q).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}` : '');
          const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
          let payload: string | Buffer | undefined;
          if (b.kind === 'huge') {
            payload = Buffer.alloc(2 * 1024 * 1024 + 1, 'a');
            headers['content-type'] = 'application/json';
          } else if (b.kind === 'raw' && method !== 'GET') {
            payload = b.text;
            headers['content-type'] = b.type;
          }
          let answer: Answer;
          try {
            answer = await send(base, method, path, headers, method === 'GET' && b.kind === 'huge' ? undefined : payload);
          } catch (err) {
            throw new Error(`${method} ${JSON.stringify(path)}: ${(err as Error).message}`);
          }
          const statuses = seen.get(route) ?? new Set<number>();
          statuses.add(answer.status);
          seen.set(route, statuses);
          // The console's files answer 503 with a hint where the console was not built (npm run build): a state, not a crash.
          const unbuiltConsole = answer.status === 503 && /has not been built/.test(answer.text);
          if (!unbuiltConsole) expect(answer.status, `${method} ${path} → ${answer.text.slice(0, 300)}`).toBeLessThan(500);
          if (mutating && template.startsWith('/api/')) expect(answer.status, `${method} ${path} → ${answer.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
          if (answer.status >= 400 && !(template === '/' || template.startsWith('/assets') || template === '/index.html')) {
            const what = `${method} ${path.slice(0, 120)} → ${answer.status} ${answer.text.slice(0, 200)}`;
            expect(answer.type, what).toMatch(/application\/json/);
            const err = JSON.parse(answer.text) as { error?: { code?: unknown; message?: unknown } };
            expect(typeof err.error?.code, what).toBe('string');
            expect(typeof err.error?.message, what).toBe('string');
          }
        }),
        { numRuns: 50, seed: 337 },
      );
    }
    // Unknown routes, including traversal attempts outside the API.
    for (const path of ['/api/../../etc/passwd', '/api/%2e%2e/%2e%2e/etc/passwd', '/api/backup/snapshots/../../../x', "/api/backup/'%20OR%201=1--", '/api/nope']) {
      const a = await send(base, 'GET', path, { authorization: `Bearer ${agent.token}` });
      expect(a.status, path).toBeGreaterThanOrEqual(400);
      expect(a.status, path).toBeLessThan(500);
    }
    expect(await fingerprint()).toEqual(before);
    // The fuzz reached past authentication on every route (not only 401s).
    for (const [route, statuses] of seen) expect([...statuses].some((s) => s !== 401), route).toBe(true);
  });
});
