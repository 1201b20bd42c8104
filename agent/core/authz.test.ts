import { describe, expect, it } from 'vitest';
import { ACTIONS, decide, WEDDING_DAY_FLAG, type Action, type Role, type UserPrincipal } from './authz.js';
import { auditRowHash, GENESIS_HASH, verifyChain, type AuditFields } from './audit-chain.js';

const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const user = (role: Role, id = `${role}-id`): UserPrincipal => ({ kind: 'user', userId: id, email: `${role}@a.example`, role, organizationId: A, tokenId: 't' });

describe('authorisation decision table', () => {
  it('the service may do everything, on anything', () => {
    for (const action of ACTIONS) expect(decide({ kind: 'service', label: 'agent-token' }, action, { organizationIds: [B, null] }).effect).toBe('allow');
  });

  it('roles: the table of agent/core/authz.ts, line by line', () => {
    const table: Record<Action, Record<Role, boolean>> = {
      'self.read': { admin: true, coordinator: true, viewer: true },
      'snapshots.read': { admin: true, coordinator: true, viewer: true },
      'operations.read': { admin: true, coordinator: true, viewer: true },
      'weddings.read': { admin: true, coordinator: true, viewer: true },
      'restore.preview': { admin: true, coordinator: true, viewer: true },
      'backup.emergency': { admin: true, coordinator: true, viewer: false },
      'validation.run': { admin: true, coordinator: true, viewer: false },
      'restore.start': { admin: true, coordinator: true, viewer: false },
      'restore.approve': { admin: true, coordinator: false, viewer: false },
      'audit.read': { admin: true, coordinator: false, viewer: false },
      'settings.write': { admin: true, coordinator: false, viewer: false },
      'jobs.cancel': { admin: true, coordinator: false, viewer: false },
    };
    for (const action of ACTIONS) {
      for (const role of ['admin', 'coordinator', 'viewer'] as const) {
        const d = decide(user(role), action, { organizationIds: [A], recoveryScope: 'wedding-only', weddingDay: true });
        expect(d.effect !== 'deny', `${role} ${action}`).toBe(table[action][role]);
      }
    }
  });

  it('a restore (or preview) into another database or photo store: admins only, whatever the scope or day', () => {
    for (const otherTarget of ['targetUrl', 'targetPhotoStore'] as const) {
      const resource = { organizationIds: [A], recoveryScope: 'wedding-only' as const, weddingDay: true, otherTarget };
      for (const action of ['restore.preview', 'restore.start'] as const) {
        expect(decide(user('admin'), action, resource).effect).toBe('allow');
        expect(decide(user('coordinator'), action, resource)).toMatchObject({ effect: 'deny', reason: expect.stringContaining(otherTarget) });
        expect(decide(user('viewer'), action, resource).effect).toBe('deny');
      }
      expect(decide({ kind: 'service', label: 'agent-token' }, 'restore.start', resource).effect).toBe('allow');
    }
  });

  it('nothing that touches another organization, or a wedding of unknown organization, is allowed', () => {
    for (const action of ACTIONS.filter((a) => a !== 'self.read')) {
      expect(decide(user('admin'), action, { organizationIds: [A, B] })).toMatchObject({ effect: 'deny', reason: expect.stringMatching(/another organization/) });
      expect(decide(user('admin'), action, { organizationIds: [null] }).effect).toBe('deny');
      expect(decide(user('admin'), action, { organizationIds: [] }).effect).toBe('deny');
    }
  });

  it('restores: admins authorise their own; coordinators run wedding-only on the wedding day (flagged), anything else waits for approval', () => {
    expect(decide(user('admin'), 'restore.start', { organizationIds: [A], recoveryScope: 'complete' })).toEqual({ effect: 'allow', flags: [], authorizedBy: 'admin-id' });
    expect(decide(user('coordinator'), 'restore.start', { organizationIds: [A], recoveryScope: 'wedding-only', weddingDay: true })).toEqual({ effect: 'allow', flags: [WEDDING_DAY_FLAG], authorizedBy: null });
    expect(decide(user('coordinator'), 'restore.start', { organizationIds: [A], recoveryScope: 'wedding-only', weddingDay: false }).effect).toBe('approval-required');
    expect(decide(user('coordinator'), 'restore.start', { organizationIds: [A], recoveryScope: 'selective', weddingDay: true }).effect).toBe('approval-required');
    expect(decide(user('coordinator'), 'restore.start', { organizationIds: [A], recoveryScope: 'complete', weddingDay: true }).effect).toBe('approval-required');
    // The approver is a second user.
    expect(decide(user('admin'), 'restore.approve', { organizationIds: [A], requestedBy: 'admin-id' }).effect).toBe('deny');
    expect(decide(user('admin'), 'restore.approve', { organizationIds: [A], requestedBy: 'coordinator-id' })).toEqual({ effect: 'allow', flags: [], authorizedBy: 'admin-id' });
  });
});

describe('audit hash chain', () => {
  const row = (seq: number, prevHash: string, extra: Partial<AuditFields> = {}) => {
    const f: AuditFields = { seq, occurredAt: '2026-11-28T12:00:00.000Z', action: 'prune', outcome: 'succeeded', actorUserId: null, actorLabel: 'x', organizationId: null, weddingIds: [], target: null, flags: [], details: { b: 1, a: [1, 'x'] }, ...extra };
    return { ...f, prevHash, rowHash: auditRowHash(prevHash, f) };
  };
  it('hashes do not depend on key order; a chain verifies; edits, deletions and renumbering are each named', () => {
    expect(auditRowHash(GENESIS_HASH, row(1, GENESIS_HASH, { details: { a: [1, 'x'], b: 1 } }))).toBe(row(1, GENESIS_HASH).rowHash);
    const r1 = row(1, GENESIS_HASH);
    const r2 = row(2, r1.rowHash);
    const r3 = row(3, r2.rowHash);
    expect(verifyChain([r1, r2, r3])).toMatchObject({ ok: true, rows: 3, head: { seq: 3, hash: r3.rowHash } });
    expect(verifyChain([r1, { ...r2, actorLabel: 'evil' }, r3]).problems).toEqual([{ seq: 2, reason: expect.stringMatching(/modified/) }]);
    expect(verifyChain([r1, r3]).problems.map((p) => p.seq)).toEqual([3, 3]);
    expect(verifyChain([]).ok).toBe(true);
  });
});
