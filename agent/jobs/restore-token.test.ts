import { describe, expect, it } from 'vitest';
import { ConfirmationTokens } from './restore-token.js';

describe('restore confirmation tokens', () => {
  it('binds the plan and the live rows, expires, and cannot be forged', () => {
    let now = 1_000_000;
    const tokens = new ConfirmationTokens({ ttlMs: 60_000, now: () => now });
    const { token, claims, expiresAt } = tokens.issue('plan-a', 'live-1');
    expect(expiresAt).toBe(new Date(1_060_000).toISOString());
    expect(tokens.check(token, 'plan-a')).toEqual(claims);
    expect(tokens.check(token)).toEqual(claims);
    expect(claims.live).toBe('live-1');
    expect(() => tokens.check(token, 'plan-b')).toThrow(/another restore plan/);
    expect(() => new ConfirmationTokens().check(token, 'plan-a')).toThrow(/not issued by this agent/);
    const [prefix, body, mac] = token.split('.');
    const tampered = Buffer.from(JSON.stringify({ ...claims, plan: 'plan-b' })).toString('base64url');
    expect(() => tokens.check(`${prefix}.${tampered}.${mac}`, 'plan-b')).toThrow(/not issued by this agent/);
    expect(() => tokens.check(`${prefix}.${body}`)).toThrow(/not a restore confirmation token/);
    now += 60_001;
    expect(() => tokens.check(token, 'plan-a')).toThrow(/expired/);
    // Two tokens for the same plan are distinct (each single use).
    expect(tokens.issue('p', 'l').claims.id).not.toBe(tokens.issue('p', 'l').claims.id);
    // A shared key makes tokens work across processes.
    const key = Buffer.alloc(32, 7);
    expect(new ConfirmationTokens({ key }).check(new ConfirmationTokens({ key }).issue('p', 'l').token, 'p').plan).toBe('p');
  });
});
