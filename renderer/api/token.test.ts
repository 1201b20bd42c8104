import { describe, expect, it } from 'vitest';
import { resolveBrowserToken, type TokenEnv } from './token.js';

function env(hash: string, stored: string | null = null, exchange: TokenEnv['exchange'] = async () => 'from-code'): TokenEnv & { urls: string[]; store: Map<string, string> } {
  const store = new Map<string, string>(stored ? [['wedsync.agentToken', stored]] : []);
  const urls: string[] = [];
  return {
    location: { hash, pathname: '/', search: '' },
    storage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v), removeItem: (k) => void store.delete(k) },
    replaceUrl: (u) => void urls.push(u),
    exchange,
    urls,
    store,
  };
}

describe('browser token (renderer/api/token.ts)', () => {
  it('trades a #login= code once, keeps the token in sessionStorage and removes the code from the URL', async () => {
    const e = env('#login=abcDEF123_-');
    expect(await resolveBrowserToken(e)).toEqual({ token: 'from-code' });
    expect(e.store.get('wedsync.agentToken')).toBe('from-code');
    expect(e.urls).toEqual(['/#/']);
  });

  it('takes #token= directly (tests, Electron-less runs) and keeps a following route', async () => {
    const e = env('#token=tok123&/snapshots');
    expect((await resolveBrowserToken(e)).token).toBe('tok123');
    expect(e.urls).toEqual(['/#/snapshots']);
  });

  it('a used or expired link falls back to the tab’s token and reports why', async () => {
    const e = env('#login=usedcode', 'older', async () => {
      throw new Error('this login link was already used or has expired');
    });
    expect(await resolveBrowserToken(e)).toEqual({ token: 'older', error: 'this login link was already used or has expired' });
    expect(e.urls).toEqual(['/#/']);
  });

  it('a normal route keeps the stored token and touches nothing', async () => {
    const e = env('#/audit', 'kept');
    expect(await resolveBrowserToken(e)).toEqual({ token: 'kept' });
    expect(e.urls).toEqual([]);
  });
});
