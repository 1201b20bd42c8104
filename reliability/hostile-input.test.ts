import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../agent/cli/config.js';
import { ERROR_CODES } from '../agent/contract/errors.js';
import { silentLogger } from '../agent/logger.js';
import { startAgent, type RunningAgent } from '../agent/main.js';
import { createBackupWorld, type BackupWorld } from '../test-support/fixtures.js';
import { CLI, runNode, type ChildResult } from './child.js';
import { tableDigests } from './invariants.js';
import { pick, report, seeded } from './profile.js';

/**
 * Hostile input (issue 10, item 6): every API route fuzzed (fast-check, seeded) with hostile path
 * parameters, query strings and bodies — random JSON, wrong types, malformed JSON, huge bodies,
 * path traversal, SQL meta-characters — and the command line with hostile ids, paths, URLs,
 * sizes and malformed config files. Always a clear error: HTTP 4xx with a JSON error, or exit 2
 * with one line on stderr; never a 5xx, a crash, a stack trace or a change to the data.
 */

const HOSTILE = [
  '../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '%2e%2e',
  "' OR 1=1 --",
  '"; DROP TABLE weddings; --',
  "'); DELETE FROM guests; --",
  '$(rm -rf /)',
  '`id`',
  '<script>alert(1)</script>',
  '\u0000',
  'a\nb',
  '💍👰🤵',
  'x'.repeat(5000),
  '-1',
  '1e9999',
  'NaN',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '{}',
  '[]',
];

const hostileString = fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 60 }), fc.uuid(), fc.string({ unit: 'grapheme', maxLength: 30 }));
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(hostileString, { maxLength: 4 }),
  fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
);
/** Field names the routes read, so bodies reach past "unknown field" into each field's checks. */
const FIELDS = ['backupId', 'snapshotId', 'recoveryScope', 'weddingId', 'weddingIds', 'dataTypes', 'confirmationToken', 'table', 'change', 'offset', 'limit', 'level', 'subset', 'reason', 'type', 'status', 'days', 'hours', 'now', 'email', 'code', 'backupFrequencyMinutes', 'retentionPolicy', 'notificationPreferences', '__proto__'];
const hostileBody = fc.oneof(
  fc.jsonValue(),
  fc.dictionary(fc.constantFrom(...FIELDS), hostileValue, { maxKeys: 6 }),
  fc.record({ backupId: hostileString, recoveryScope: fc.constantFrom('complete', 'selective', 'wedding-only', 'x'), weddingIds: fc.array(fc.uuid(), { maxLength: 3 }), confirmationToken: hostileString }),
);

describe('the API under fuzzing', () => {
  let world: BackupWorld;
  let agent: RunningAgent;
  let snapshotId: string;
  let requests = 0;

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 4 });
    snapshotId = (await world.backup({ type: 'full' })).snapshotId;
    const config = resolveConfig(
      { databaseUrl: world.db.url, repo: join(world.dir, 'repo'), photoStore: join(world.dir, 'photos'), home: join(world.dir, 'home') },
      { WEDSYNC_PASSPHRASE: world.passphrase },
    );
    agent = await startAgent({ config, logger: await silentLogger(), port: 0, tier1: false });
  });
  afterAll(async () => {
    await agent?.close();
    await world?.close();
  });

  async function call(method: string, path: string, opts: { body?: string; contentType?: string; token?: string | null } = {}) {
    requests++;
    const token = opts.token === undefined ? agent.token : opts.token;
    const res = await fetch(`${agent.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(opts.body !== undefined ? { 'content-type': opts.contentType ?? 'application/json' } : {}) },
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    return { status: res.status, text, type: res.headers.get('content-type') ?? '' };
  }

  /** 2xx/3xx, or a 4xx with `{ error: { code, message } }`: never a 5xx, never another shape. */
  function expectClean(r: { status: number; text: string; type: string }, what: string): void {
    expect(r.status, `${what} → ${r.status} ${r.text.slice(0, 300)}`).toBeLessThan(500);
    if (r.status < 400) return;
    expect(r.type, what).toMatch(/application\/json/);
    const body = JSON.parse(r.text) as { error?: { code?: string; message?: string } };
    expect(Object.keys(ERROR_CODES), what).toContain(body.error?.code);
    expect(typeof body.error?.message, what).toBe('string');
    expect(body.error!.message, what).not.toMatch(/\n\s+at /); // no stack traces
  }

  it('every route with hostile path parameters, queries and bodies: 4xx with a JSON error, never a 5xx; nothing changes', { timeout: pick(120_000, 1_200_000) }, async () => {
    const prng = seeded('api fuzz');
    const before = await tableDigests(world.client);
    const snapshotsBefore = (await world.catalog.listSnapshots({ brief: true })).length;
    const routes = agent.routes().filter((r) => !r.includes('/console/login') && r.includes('/api/'));
    expect(routes.length).toBeGreaterThan(20);
    const request = fc.record({
      route: fc.constantFrom(...routes),
      params: fc.array(hostileString, { minLength: 3, maxLength: 3 }),
      encode: fc.boolean(),
      real: fc.boolean(),
      query: fc.dictionary(fc.constantFrom('limit', 'offset', 'weddingId', 'type', 'days', 'hours', 'now', 'status', 'action', 'q', 'date'), hostileString, { maxKeys: 3 }),
      body: fc.oneof(hostileBody.map((b) => JSON.stringify(b)), fc.constantFrom('{"a":', 'not json', '', '[1,2', 'null', '"\\u0000"')),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ route, params, encode, real, query, body }) => {
        const [method, url] = route.split(' ') as [string, string];
        let i = 0;
        // GETs may also name the real snapshot (deeper code paths); writes only ever hostile ids.
        const fill = (p: string) => (method === 'GET' && real ? snapshotId : encode ? encodeURIComponent(p) : p.replace(/[?#\s]/g, '_'));
        const path = url.replace(/:[A-Za-z]+|\*/g, () => fill(params[i++ % params.length]!));
        const qs = new URLSearchParams(query).toString();
        const r = await call(method, `${path}${qs ? `?${qs}` : ''}`, method === 'GET' ? {} : { body });
        expectClean(r, `${method} ${path}`);
      }),
      { seed: prng.int(0, 2 ** 31 - 1), numRuns: pick(150, 3000), endOnFailure: true },
    );
    // The real snapshot with hostile queries and the real wedding ids in bodies reach deeper checks.
    for (const r of [`/api/backup/snapshots/${snapshotId}?limit=-1`, `/api/backup/snapshots/${snapshotId}/validation?x=' OR 1=1`]) expectClean(await call('GET', r), r);
    // Huge, wrongly typed and malformed bodies on every write route.
    for (const route of routes.filter((r) => !r.startsWith('GET'))) {
      const [method, url] = route.split(' ') as [string, string];
      const path = url.replace(/:[A-Za-z]+|\*/g, '00000000-0000-0000-0000-000000000000');
      expect((await call(method, path, { body: JSON.stringify({ big: 'x'.repeat(2 * 1024 * 1024) }) })).status, `${route} huge body`).toBe(413);
      expectClean(await call(method, path, { body: 'weddingId=1', contentType: 'application/x-www-form-urlencoded' }), `${route} form body`);
      expectClean(await call(method, path, { body: '{"weddingId":', contentType: 'application/json' }), `${route} malformed JSON`);
      expect((await call(method, path, { body: '{}', token: null })).status, `${route} without token`).toBe(401);
      expect((await call(method, path, { body: '{}', token: 'x'.repeat(64) })).status, `${route} wrong token`).toBe(401);
    }
    // Still alive, and nothing changed.
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect(await tableDigests(world.client)).toEqual(before);
    expect((await world.catalog.listSnapshots({ brief: true })).length).toBe(snapshotsBefore);
    expect((await world.client.query(`SELECT count(*)::int AS n FROM recovery_operations`)).rows[0].n).toBe(0);
    report('api fuzz', { routes: routes.length, requests, serverErrors: 0 });
  });
});

describe('the command line under hostile arguments and config files', () => {
  let dir: string;
  let runs = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wedsync-hostile-'));
    await writeFile(join(dir, 'pass'), 'a passphrase\n');
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    report('cli hostile input', { runs, crashes: 0 });
  });

  /** The compiled CLI with a clean environment: nothing configured unless the case says so. */
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildResult> => {
    runs++;
    return runNode([CLI, ...args], {
      env: { WEDSYNC_HOME: join(dir, 'home'), DATABASE_URL: '', WEDSYNC_REPO: '', WEDSYNC_PASSPHRASE: '', WEDSYNC_PASSPHRASE_FILE: '', WEDSYNC_CONFIG: '', WEDSYNC_LOG_LEVEL: '', ...env },
      timeoutMs: 30_000,
    });
  };
  /** What is wrong with the answer to a hostile input, or null: exit 2, one line, no stack. */
  function problem(r: ChildResult, exit = 2): string | null {
    // Log lines (JSON, e.g. a warning that the photo store is missing) are not the error.
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('{"level"'));
    if (r.code !== exit) return `exit ${r.code}: ${r.stderr.trim().slice(0, 300)}`;
    if (lines.length !== 1) return `${lines.length} lines on stderr: ${r.stderr.slice(0, 300)}`;
    if (!/^wedsync-backup: \S/.test(lines[0]!)) return `not a wedsync-backup error: ${lines[0]}`;
    if (/\n\s+at |TypeError|ReferenceError|Cannot read properties/.test(r.stderr)) return `a crash: ${r.stderr.slice(0, 300)}`;
    return null;
  }
  /** Runs cases four at a time (each is a process); every case is checked, failures listed together. */
  async function all(cases: Array<[string, string[], NodeJS.ProcessEnv?, number?]>): Promise<void> {
    const queue = [...cases];
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let c = queue.shift(); c; c = queue.shift()) {
          const p = problem(await cli(c[1], c[2]), c[3]);
          if (p) failures.push(`${c[0]}: ${p}`);
        }
      }),
    );
    expect(failures).toEqual([]);
  }

  it('hostile ids, paths, URLs and sizes: exit 2 with one line naming the problem', { timeout: 180_000 }, async () => {
    const pass = join(dir, 'pass');
    const db = 'postgres://u:secret@127.0.0.1:1/db';
    await all([
      ['show: path traversal as an id', ['show', '../../etc/passwd', '--database-url', db, '--passphrase-file', pass, '--repo', join(dir, 'r')]],
      ['show: SQL in an id', ['show', "' OR 1=1 --", '--database-url', db, '--passphrase-file', pass, '--repo', join(dir, 'r')]],
      ['verify: a 10,000-character id', ['verify', 'a'.repeat(10_000), '--passphrase-file', pass, '--repo', join(dir, 'r')]],
      ['undo: not a uuid', ['undo', '1; DROP TABLE x']],
      ['restore: wedding not a uuid', ['restore', 'latest', '--scope', 'wedding-only', '--wedding', '../x']],
      ['restore: unknown scope', ['restore', 'latest', '--scope', 'everything']],
      ['backup: unknown data type', ['backup', '--type', 'emergency', '--wedding', '00000000-0000-0000-0000-000000000000', '--data-types', 'guests,passwords']],
      ['backup: unknown type', ['backup', '--type', 'rm -rf']],
      ['seed: zero weddings', ['seed', '--weddings', '0']],
      ['seed: negative weddings', ['seed', '--weddings', '-5']],
      ['seed: astronomically many weddings', ['seed', '--weddings', '99999999999999999999999']],
      ['seed: 1e309 weddings', ['seed', '--weddings', '1e309']],
      ['--parallelism 0', ['snapshots', '--parallelism', '0']],
      ['--parallelism 65', ['snapshots', '--parallelism', '65', '--database-url', db]],
      ['--parallelism lots', ['snapshots', '--parallelism', 'lots']],
      ['verify: subset 150%', ['verify', 'latest', '--read-data-subset', '150%']],
      ['verify: subset -5%', ['verify', 'latest', '--read-data-subset', '-5%']],
      ['agent: port 70000', ['agent', '--port', '70000']],
      ['--database-url http://', ['snapshots', '--database-url', 'http://example.com/db']],
      ['--database-url garbage', ['snapshots', '--database-url', '%%%']],
      ['DATABASE_URL mysql://', ['snapshots'], { DATABASE_URL: 'mysql://root:pw@localhost/db' }],
      ['--repo ftp://', ['backup', '--repo', 'ftp://example.com/repo', '--database-url', db, '--passphrase-file', pass]],
      ['--repo s3:// without a bucket', ['backup', '--repo', 's3://', '--database-url', db, '--passphrase-file', pass]],
      ['--repo a file, not a folder', ['backup', '--repo', '/etc/hostname', '--database-url', db, '--passphrase-file', pass]],
      ['--passphrase-file missing', ['snapshots', '--passphrase-file', join(dir, 'nope')]],
      ['--passphrase-file empty', ['snapshots', '--passphrase-file', '/dev/null']],
      ['--config missing', ['snapshots', '--config', join(dir, 'nope.json')]],
      ['--log-level shout', ['snapshots', '--log-level', 'shout']],
      ['an unknown command', ['explode']],
      ['an unknown flag', ['snapshots', '--self-destruct']],
    ]);
  });

  it('malformed config files: exit 2 naming the file and the field', { timeout: 120_000 }, async () => {
    const cases: Array<[string, string]> = [
      ['not JSON', '{ "repo": '],
      ['a JSON array', '[1, 2, 3]'],
      ['a JSON string', '"repo"'],
      ['binary garbage', '\u0000\u0001\u0002\u00ff\u00fe'],
      ['a wrong type', '{ "parallelism": "lots" }'],
      ['out of range', '{ "parallelism": 1000 }'],
      ['an unknown field', '{ "passphrase": "in the config file" }'],
      ['a non-postgres URL', '{ "databaseUrl": "mysql://root@localhost/db" }'],
      ['a NUL in a location', '{ "repo": "/tmp/a\\u0000b" }'],
      ['a port out of range', '{ "api": { "port": 99999 } }'],
      ['a prototype-polluting key', '{ "__proto__": { "repo": "/" } }'],
      ['deeply nested', `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ];
    const files = await Promise.all(
      cases.map(async ([what, text], i) => {
        const file = join(dir, `config-${i}.json`);
        await writeFile(file, text);
        return [`config file: ${what}`, ['snapshots', '--config', file]] as [string, string[]];
      }),
    );
    await all(files);
    // Random bytes too (seeded): never a crash.
    const prng = seeded('config fuzz');
    const random = await Promise.all(
      Array.from({ length: pick(4, 40) }, async (_, i) => {
        const file = join(dir, `random-${i}.json`);
        const bytes = Buffer.from(Array.from({ length: prng.int(1, 300) }, () => prng.int(0, 255)));
        await writeFile(file, prng.chance(0.5) ? bytes : `{"repo": ${JSON.stringify(bytes.toString('latin1'))}, "x": ${prng.int(0, 9)}}`);
        return [`random config file ${i}`, ['snapshots', '--config', file]] as [string, string[]];
      }),
    );
    await all(random);
  });
});
