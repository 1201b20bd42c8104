import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../test-support/cli.js';
import { createBackupWorld, type BackupWorld } from '../test-support/fixtures.js';
import { issueToken } from './catalog/tokens.js';
import { resolveConfig } from './cli/config.js';
import { DEFAULT_SCHEMA_MAP } from './contract/schema-map.js';
import { runBackup } from './jobs/backup.js';
import { createLogger, redactSecrets } from './logger.js';
import { startAgent, type RunningAgent } from './main.js';
import { openBackupSource } from './source/backup-source.js';

/**
 * Secret hygiene: a full backup/restore cycle — through the agent's API and the CLI, at trace
 * level, with failures on purpose — is captured whole (logs, CLI output, and what the catalog
 * stored: error_details, audit details), then grepped for the repository passphrase, the API
 * tokens and the database password. None may appear.
 */
describe('secrets never reach logs, errors or the catalog', () => {
  let world: BackupWorld;
  let agent: RunningAgent;
  const captured: string[] = [];
  const dbPassword = `db-pw-${randomBytes(12).toString('hex')}`;
  const agentToken = `agent-${randomBytes(24).toString('base64url')}`;
  let userToken = '';
  let role = '';
  let url = '';

  const capture = new Writable({
    write(chunk: Buffer, _enc, done) {
      captured.push(chunk.toString('utf8'));
      done();
    },
  });
  const secrets = () => ({ passphrase: world.passphrase, agentToken, userToken, dbPassword });

  async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
    const run = await runCli(args, env);
    captured.push(run.stdout, run.stderr);
    return { code: run.code, out: run.stdout + run.stderr };
  }

  beforeAll(async () => {
    world = await createBackupWorld({ weddings: 4, seed: { organizations: 1 } });
    // A login with a real password, for the agent and the CLI to put in their URLs.
    role = `secrets_${randomBytes(4).toString('hex')}`;
    await world.client.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${dbPassword}'`);
    const u = new URL(world.db.url);
    u.username = role;
    u.password = dbPassword;
    url = u.toString();
    const admin = (await world.client.query<{ email: string }>(`SELECT email FROM user_profiles WHERE role = 'admin' LIMIT 1`)).rows[0]!.email;
    userToken = (await issueToken(world.client, { email: admin, issuedBy: 'test' })).token;
  });
  afterAll(async () => {
    await agent?.close();
    await world?.close();
    const c = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await c.connect();
    await c.query(`DROP ROLE IF EXISTS ${role}`);
    await c.end();
  });

  it('a backup/restore cycle with failures leaves no passphrase, token or database password anywhere', async () => {
    const logger = await createLogger('trace', 'wedsync-backup', capture);
    // A backup through the job API, logging at trace level.
    await runBackup({ openSource: () => openBackupSource(url, DEFAULT_SCHEMA_MAP, 2), catalog: world.catalog, repo: world.repo, photoStore: world.photoStore, map: DEFAULT_SCHEMA_MAP, logger }, { type: 'full' });

    const config = resolveConfig({ databaseUrl: url, repo: join(world.dir, 'repo'), photoStore: join(world.dir, 'photos'), home: join(world.dir, 'home'), logLevel: 'trace' }, { WEDSYNC_PASSPHRASE: world.passphrase });
    agent = await startAgent({ config, logger, port: 0, token: agentToken, tier1: false });
    const call = (path: string, token: string, body?: unknown) =>
      fetch(`${agent.url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

    const wedding = (await world.client.query<{ id: string }>('SELECT id::text FROM weddings LIMIT 1')).rows[0]!.id;
    expect((await call('/api/backup/emergency-backup', agentToken, { weddingId: wedding })).status).toBe(201);
    const snapshots = (await (await call('/api/backup/snapshots', userToken)).json()) as { snapshots: { id: string }[] };
    const snapshotId = snapshots.snapshots[0]!.id;
    const plan = { backupId: snapshotId, recoveryScope: 'wedding-only', weddingIds: [wedding] };
    const preview = (await (await call('/api/backup/restore/preview', userToken, plan)).json()) as { confirmationToken: string };
    const started = (await (await call('/api/backup/emergency-restore', userToken, { ...plan, confirmationToken: preview.confirmationToken })).json()) as { operation: { id: string } };
    for (;;) {
      const op = (await (await call(`/api/backup/recovery-operations/${started.operation.id}`, agentToken)).json()) as { operation: { status: string } };
      if (op.operation.status !== 'running') {
        expect(op.operation.status).toBe('completed');
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // Failures on purpose: a reused confirmation token, wrong tokens (one resembling a user token), a bad body.
    expect((await call('/api/backup/emergency-restore', userToken, { ...plan, confirmationToken: preview.confirmationToken })).status).toBeGreaterThanOrEqual(400);
    expect((await call('/api/backup/snapshots', `${userToken.slice(0, -2)}xx`)).status).toBe(401);
    expect((await call('/api/backup/snapshots', `${agentToken}x`)).status).toBe(401);
    expect((await call('/api/backup/emergency-backup', agentToken, { weddingId: dbPassword })).status).toBe(400);
    logger.info({ databaseUrl: url, nested: { url, header: `Bearer ${agentToken}`, note: `token ${userToken}` } }, `connecting to ${url}`);
    logger.error(new Error(`connection to ${url} failed`), 'failure with a URL inside');

    // The CLI, at trace level: a backup, a restore preview, and a wrong database password.
    const env = { DATABASE_URL: url, WEDSYNC_HOME: join(world.dir, 'cli-home'), WEDSYNC_PASSPHRASE: world.passphrase, WEDSYNC_REPO: join(world.dir, 'repo'), WEDSYNC_PHOTO_STORE: join(world.dir, 'photos'), WEDSYNC_LOG_LEVEL: 'trace' };
    expect((await cli(['backup', '--type', 'full'], env)).code).toBe(0);
    expect((await cli(['restore', 'latest', '--scope', 'wedding-only', '--wedding', wedding, '--dry-run'], env)).code).toBe(0);
    const wrong = new URL(url);
    wrong.password = `${dbPassword}-wrong`;
    expect((await cli(['snapshots', '--verbose'], { ...env, DATABASE_URL: wrong.toString() })).code).not.toBe(0);
    expect((await cli(['snapshots'], { ...env, WEDSYNC_PASSPHRASE: `${world.passphrase}-wrong` })).code).toBe(0);
    expect((await cli(['verify', 'latest'], { ...env, WEDSYNC_PASSPHRASE: `${world.passphrase}-wrong` })).code).not.toBe(0);

    // What the catalog keeps.
    for (const sql of [
      'SELECT error_details::text, progress::text FROM backup_jobs',
      'SELECT error_details::text, data_restored::text, success_metrics::text, target_database, initiated_by_label FROM recovery_operations',
      'SELECT details::text, actor_label, target FROM backup_audit_log',
      'SELECT storage_location, validation_details::text FROM backup_snapshots',
    ]) {
      captured.push(JSON.stringify((await world.client.query(sql)).rows));
    }

    const all = captured.join('\n');
    expect(all.length).toBeGreaterThan(10_000); // trace logs of a whole cycle, not an empty capture
    for (const [name, secret] of Object.entries(secrets())) {
      expect(secret.length, name).toBeGreaterThan(10);
      expect(all.includes(secret), `${name} leaked`).toBe(false);
    }
    // The database password's URL form is masked, not dropped: the host stays useful.
    expect(all).toContain(`${role}:***@`);
  });

  it('redactSecrets masks URL passwords, bearer tokens and API tokens in free text', () => {
    expect(redactSecrets('postgres://u:p%40ss@h:5432/db and Bearer abc.def-ghi and wsb_ABCDEFGHIJKLMNOP')).toBe('postgres://u:***@h:5432/db and Bearer *** and wsb_***');
  });
});
