import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { auditOnce, openAuditLog, type AuditLog } from './audit.js';
import { auditingRecoveryCatalog } from './audit-recovery.js';
import { migrate } from './migrate.js';
import { openRecoveryCatalog, type RecoveryCatalog } from './recovery.js';

describe('auditingRecoveryCatalog and auditOnce', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let recovery: RecoveryCatalog;
  let log: AuditLog;
  beforeAll(async () => {
    db = await createTestDatabase('arc');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await migrate(client);
    recovery = await openRecoveryCatalog(db.url);
    log = await openAuditLog(db.url);
  });
  afterAll(async () => {
    await recovery?.close();
    await log?.close();
    await client?.end();
    await db?.drop();
  });

  it('records the start and the outcome of restores and undos run outside the API', async () => {
    const audited = auditingRecoveryCatalog(recovery, log, 'cli:test@host');
    const wedding = '11111111-1111-4111-8111-111111111111';
    const op = { recoveryScope: 'wedding-only' as const, backupSnapshotId: null, affectedWeddings: [wedding], dataTypes: null, plan: {}, estimatedDurationMs: null, targetDatabase: null };
    const a = await audited.begin({ ...op, operationType: 'emergency-restore', initiatedByLabel: 'cli:alice', confirmationTokenId: 'tok-a' });
    await audited.complete(a, { dataRestored: {}, successMetrics: {}, actualDurationMs: 12.4 });
    const b = await audited.begin({ ...op, operationType: 'undo', confirmationTokenId: 'tok-b' });
    await audited.fail(b, { errorDetails: { code: 'CONFLICT', message: 'rows changed' }, actualDurationMs: 3 });
    await auditOnce(db.url, { action: 'prune', outcome: 'succeeded', actor: { label: 'agent:x' }, details: { forgotten: 2 } });
    const rows = (await log.list({ limit: 10 })).reverse();
    expect(rows.map((r) => [r.action, r.outcome, r.target, r.actorLabel])).toEqual([
      ['restore.start', 'succeeded', `recovery_operation:${a}`, 'cli:alice'],
      ['restore.complete', 'succeeded', `recovery_operation:${a}`, 'cli:alice'],
      ['undo.start', 'succeeded', `recovery_operation:${b}`, 'cli:test@host'],
      ['undo.complete', 'failed', `recovery_operation:${b}`, 'cli:test@host'],
      ['prune', 'succeeded', null, 'agent:x'],
    ]);
    expect(rows[0]!.weddingIds).toEqual([wedding]);
    expect((await log.verify()).ok).toBe(true);
  });
});
