import { Writable } from 'node:stream';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupWorld, type BackupWorld } from '../../test-support/fixtures.js';
import { resolveConfig } from '../cli/config.js';
import { createLogger } from '../logger.js';
import { startAgent } from '../main.js';
import { startLockedAgent, type LockedAgent } from './locked.js';
import { AttemptLimiter } from './routes/unlock.js';

/** The agent started without its passphrase, unlocked over the loopback API: real repository, real PostgreSQL. */
describe('locked agent (agent --unlock)', () => {
  let world: BackupWorld;
  let locked: LockedAgent;
  const logLines: string[] = [];
  let config: ReturnType<typeof resolveConfig>;
  let logger: Awaited<ReturnType<typeof createLogger>>;

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 3 });
    await world.backup({ type: 'full' });
    config = resolveConfig({ databaseUrl: world.db.url, repo: join(world.dir, 'repo'), photoStore: join(world.dir, 'photos'), home: join(world.dir, 'home') }, { WEDSYNC_TIER1: 'off' });
    expect(config.passphrase).toBeUndefined();
    logger = await createLogger('debug', 'locked-test', new Writable({ write: (c: Buffer, _e, cb) => (logLines.push(c.toString('utf8')), cb()) }) as never);
    locked = await startLockedAgent({ config, logger, port: 0, tier1: false }, startAgent);
  });
  afterAll(async () => {
    await locked?.close();
    await world?.close();
  });

  const call = (path: string, init: { method?: string; body?: unknown; token?: string | null } = {}) =>
    fetch(`${locked.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? locked.token}` }), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  const error = async (r: Response) => ((await r.json()) as { error: { code: string; message: string; fields?: { field: string }[] } }).error;

  it('locked: says so, refuses everything else with PASSPHRASE_REQUIRED, and serves the console', async () => {
    expect(await (await call('/api/unlock')).json()).toEqual({ locked: true, reason: 'the agent was started without the repository passphrase' });
    const list = await call('/api/backup/snapshots');
    expect(list.status).toBe(400);
    expect((await error(list)).code).toBe('PASSPHRASE_REQUIRED');
    expect((await call('/api/unlock', { token: null })).status).toBe(401);
    expect(locked.consoleUrl()).toMatch(new RegExp(`^${locked.url}/#login=`));
  });

  it('bad bodies name the field; a wrong passphrase is 401 WRONG_PASSPHRASE and it stays locked', async () => {
    const empty = await call('/api/unlock', { method: 'POST', body: { passphrase: '' } });
    expect(empty.status).toBe(400);
    expect((await error(empty)).fields?.map((f) => f.field)).toEqual(['body.passphrase']);
    expect((await call('/api/unlock', { method: 'POST', body: { passphrase: 'x', extra: 1 } })).status).toBe(400);
    const wrong = await call('/api/unlock', { method: 'POST', body: { passphrase: 'not the passphrase' } });
    expect(wrong.status).toBe(401);
    expect((await error(wrong)).code).toBe('WRONG_PASSPHRASE');
    expect(await (await call('/api/unlock')).json()).toMatchObject({ locked: true });
    // Without the agent's token nobody may try.
    expect((await call('/api/unlock', { method: 'POST', body: { passphrase: world.passphrase }, token: 'wsb_someone' })).status).toBe(401);
  });

  it('the right passphrase starts the full agent on the same address; the passphrase never reaches the log', async () => {
    const ok = await call('/api/unlock', { method: 'POST', body: { passphrase: world.passphrase } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ unlocked: true });
    const agent = await locked.unlocked;
    expect(agent.url).toBe(locked.url);
    expect(agent.token).toBe(locked.token);
    expect(await (await call('/api/unlock')).json()).toEqual({ locked: false, reason: null });
    const list = await call('/api/backup/snapshots');
    expect(list.status).toBe(200);
    expect(((await list.json()) as { snapshots: unknown[] }).snapshots.length).toBeGreaterThan(0);
    const again = await call('/api/unlock', { method: 'POST', body: { passphrase: world.passphrase } });
    expect(again.status).toBe(409);
    expect(logLines.join('')).not.toContain(world.passphrase);
    expect(logLines.join('')).not.toContain('not the passphrase');
  });

  it('attempts are rate-limited: the sixth within a minute is 429 RATE_LIMITED, whatever the passphrase', async () => {
    const other = await startLockedAgent({ config: { ...config, home: join(world.dir, 'home2') }, logger, port: 0, tier1: false }, startAgent);
    try {
      const post = (passphrase: string) => fetch(`${other.url}/api/unlock`, { method: 'POST', headers: { authorization: `Bearer ${other.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ passphrase }) });
      for (let i = 0; i < 5; i++) expect((await post(`wrong ${i}`)).status).toBe(401);
      const limited = await post(world.passphrase);
      expect(limited.status).toBe(429);
      expect((await error(limited)).code).toBe('RATE_LIMITED');
      expect(await (await fetch(`${other.url}/api/unlock`, { headers: { authorization: `Bearer ${other.token}` } })).json()).toMatchObject({ locked: true });
    } finally {
      await other.close();
    }
    // The window slides: attempts older than a minute no longer count.
    let t = 0;
    const limiter = new AttemptLimiter(2, 60_000, () => t);
    limiter.take();
    limiter.take();
    expect(() => limiter.take()).toThrow(/try again in 60 s/);
    t = 60_000;
    expect(() => limiter.take()).not.toThrow();
  });

  it('refuses to serve the passphrase prompt on a non-loopback address', async () => {
    await expect(startLockedAgent({ config, logger, host: '0.0.0.0', port: 0 }, startAgent)).rejects.toThrow(/loopback only/);
  });
});
