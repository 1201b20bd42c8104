import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { seed } from '../source/seed.js';
import { runCli, type CliRun as Run } from '../../test-support/cli.js';

const cli = runCli;
const json = (r: Run) => JSON.parse(r.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('wedsync-backup token, key and audit commands', () => {
  let db: TestDatabase;
  let home: string;
  let env: Record<string, string>;
  let admin: pg.Client;
  let adminEmail: string;

  beforeAll(async () => {
    db = await createTestDatabase('acli');
    home = await mkdtemp(join(tmpdir(), 'wedsync-acli-'));
    await writeFile(join(home, 'pass'), 'first passphrase 123\n');
    env = { DATABASE_URL: db.url, WEDSYNC_HOME: home, WEDSYNC_PASSPHRASE_FILE: join(home, 'pass') };
    const init = await cli(['init', '--json'], env);
    expect(init.code, init.stderr).toBe(0);
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await seed(admin, { weddings: 2, organizations: 1, guestsPerWedding: 1, timelineEventsPerWedding: 1, vendorsPerWedding: 1, photosPerWedding: 0, photoFilesPerWedding: 0 });
    adminEmail = (await admin.query<{ email: string }>(`SELECT email FROM user_profiles WHERE role = 'admin' LIMIT 1`)).rows[0]!.email;
  });
  afterAll(async () => {
    await admin?.end();
    await db?.drop();
    await rm(home, { recursive: true, force: true });
  });

  it('token create prints the token once; only its hash is stored; list shows no secret; revoke ends it', async () => {
    const created = await cli(['token', 'create', '--user', adminEmail, '--label', 'venue laptop', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const { token, tokenInfo } = json(created);
    expect(token).toMatch(/^wsb_[A-Za-z0-9_-]{43}$/);
    expect(tokenInfo).toMatchObject({ email: adminEmail, role: 'admin', label: 'venue laptop', revokedAt: null });
    const stored = await admin.query(`SELECT * FROM backup_api_tokens`);
    expect(JSON.stringify(stored.rows)).not.toContain(token.slice(8));

    const list = await cli(['token', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(tokenInfo.id);
    expect(list.stdout).not.toContain(token);

    const revoked = await cli(['token', 'revoke', tokenInfo.id, '--json'], env);
    expect(json(revoked)).toMatchObject({ ok: true, alreadyRevoked: false });
    expect((await cli(['token', 'list', '--json'], env)).stdout).not.toContain(tokenInfo.id);
    expect((await cli(['token', 'list', '--all', '--json'], env)).stdout).toContain(tokenInfo.id);
  });

  it('bad token input is exit 2 with one line', async () => {
    const unknown = await cli(['token', 'create', '--user', 'nobody@example.com'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no user_profile with email "nobody@example.com"/);
    const badId = await cli(['token', 'revoke', "1'; DROP TABLE backup_api_tokens; --"], env);
    expect(badId.code).toBe(2);
    expect(badId.stderr.trim().split('\n')).toHaveLength(1);
    const missing = await cli(['token', 'revoke', '00000000-0000-4000-8000-000000000000'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no API token/);
  });

  it('key add, rotate-passphrase and remove: new passphrases from a file or the environment, never argv', async () => {
    await writeFile(join(home, 'new'), 'second passphrase 456\n');
    const added = await cli(['key', 'add', '--label', 'backup admin', '--new-passphrase-file', join(home, 'new'), '--json'], env);
    expect(added.code, added.stderr).toBe(0);
    expect(json(added)).toMatchObject({ ok: true, audited: true, key: { label: 'backup admin' } });
    const newKeyId = json(added).key.id as string;

    // The new passphrase opens the repository too.
    const withNew = await cli(['key', 'list', '--json'], { ...env, WEDSYNC_PASSPHRASE_FILE: join(home, 'new') });
    expect(json(withNew).keys.map((k: { id: string; current: boolean }) => [k.id === newKeyId, k.current])).toContainEqual([true, true]);

    // Rotate the first key's passphrase from the environment.
    const rotated = await cli(['key', 'rotate-passphrase', '--json'], { ...env, WEDSYNC_NEW_PASSPHRASE: 'third passphrase 789' });
    expect(rotated.code, rotated.stderr).toBe(0);
    const firstKeyId = json(rotated).key.id as string;
    expect((await cli(['key', 'list'], env)).code).toBe(2); // the old passphrase no longer opens it
    const third = { ...env, WEDSYNC_PASSPHRASE_FILE: '', WEDSYNC_PASSPHRASE: 'third passphrase 789' };
    expect((await cli(['key', 'list'], third)).code).toBe(0);

    // A passphrase on the command line is not even an option; no new passphrase at all is exit 2.
    const argv = await cli(['key', 'add', '--new-passphrase', 'oops'], third);
    expect(argv.code).toBe(2);
    const none = await cli(['key', 'add'], third);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no new passphrase/);
    const short = await cli(['key', 'add'], { ...third, WEDSYNC_NEW_PASSPHRASE: 'short' });
    expect(short.stderr).toMatch(/at least 8/);

    // The key in use cannot be removed; another can.
    expect((await cli(['key', 'remove', firstKeyId], third)).code).not.toBe(0);
    const removed = await cli(['key', 'remove', newKeyId, '--json'], third);
    expect(json(removed)).toMatchObject({ ok: true, keyId: newKeyId, audited: true });
  });

  it('audit list shows the sensitive actions; audit verify passes, then names a tampered row (exit 1)', async () => {
    const list = json(await cli(['audit', 'list', '--json'], { ...env, WEDSYNC_PASSPHRASE_FILE: '' }));
    expect(list.entries.map((e: { action: string }) => e.action).reverse()).toEqual(['token.issue', 'token.revoke', 'key.add', 'key.rotate-passphrase', 'key.remove']);
    const secrets = JSON.stringify(list);
    for (const s of ['first passphrase', 'second passphrase', 'third passphrase', 'wsb_']) expect(secrets).not.toContain(s);

    const ok = await cli(['audit', 'verify'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/audit log intact: 5 rows, head: seq 5 [0-9a-f]{64}/);

    await admin.query('BEGIN');
    await admin.query('SET LOCAL session_replication_role = replica');
    await admin.query(`UPDATE backup_audit_log SET actor_label = 'someone else' WHERE seq = 2`);
    await admin.query('COMMIT');
    const bad = await cli(['audit', 'verify', '--json'], env);
    expect(bad.code).toBe(1);
    expect(json(bad)).toMatchObject({ ok: false, problems: [{ seq: 2 }] });
    expect((await cli(['audit', 'verify'], env)).stdout).toMatch(/AUDIT LOG TAMPERED[\s\S]*seq 2: row_hash does not match/);
  });
});
