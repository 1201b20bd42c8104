import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { send } from './http.js';
import { ReadCache } from './read-cache.js';

describe('ReadCache (hot reads under load)', () => {
  it('computes once per key per ttl, shares one computation between concurrent callers, keeps no failure', async () => {
    let now = 0;
    let calls = 0;
    const cache = new ReadCache<number>(1000, 64, () => now);
    const slow = () => new Promise<number>((r) => setTimeout(() => r(++calls), 5));
    const burst = await Promise.all(Array.from({ length: 200 }, () => cache.get('status', slow)));
    expect(new Set(burst)).toEqual(new Set([1]));
    expect(calls).toBe(1);
    now = 999;
    expect(await cache.get('status', slow)).toBe(1);
    now = 1000;
    expect(await cache.get('status', slow)).toBe(2);
    expect(await cache.get('other', slow)).toBe(3);
    await expect(cache.get('bad', () => Promise.reject(new Error('db away')))).rejects.toThrow('db away');
    expect(await cache.get('bad', slow)).toBe(4);
    cache.clear();
    expect(await cache.get('status', slow)).toBe(5);
  });

  it('with staleMs, answers an expired value at once while one recomputation runs, never hides a failure, and clear() still waits for a fresh one', async () => {
    let now = 0;
    let calls = 0;
    const cache = new ReadCache<number>(1000, 64, () => now, 10_000);
    let release: () => void = () => undefined;
    const gated = () => new Promise<number>((r) => (release = () => r(++calls)));
    const first = cache.get('status', gated);
    release();
    expect(await first).toBe(1);
    now = 1500; // expired, within the stale window: the old answer, and one refresh behind it
    const during = await Promise.all(Array.from({ length: 50 }, () => cache.get('status', gated)));
    expect(new Set(during)).toEqual(new Set([1]));
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toBe(2);
    expect(await cache.get('status', gated)).toBe(2); // fresh again (its clock started at 1500)
    now = 2600;
    expect(await cache.get('status', () => Promise.reject(new Error('db away')))).toBe(2); // stale, the refresh fails…
    await new Promise((r) => setTimeout(r, 0));
    await expect(cache.get('status', () => Promise.reject(new Error('db away')))).rejects.toThrow('db away'); // …and is not hidden
    const slow = () => Promise.resolve(++calls);
    expect(await cache.get('status', slow)).toBe(3);
    now = 4000;
    const stale = cache.get('status', gated); // refresh started…
    cache.clear(); // …then this agent wrote something
    expect(await stale).toBe(3);
    expect(await cache.get('status', slow)).toBe(4); // waits for a new answer
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(await cache.get('status', slow)).toBe(4); // the refresh from before the clear was dropped
    now = 20_000; // past the stale window: computed while the caller waits
    expect(await cache.get('status', slow)).toBe(6);
  });

  it('send() validates one body once, however often it is sent', () => {
    let checks = 0;
    const schema = z.object({ n: z.number().refine(() => ++checks > 0) });
    const sent: unknown[] = [];
    const reply = { code: () => reply, type: () => reply, serializer: () => reply, send: (b: unknown) => (sent.push(b), reply) } as never;
    const body = { n: 1 };
    for (let i = 0; i < 100; i++) send(reply, schema, body);
    expect(checks).toBe(1);
    expect(sent).toHaveLength(100);
    send(reply, schema, { n: 2 });
    expect(checks).toBe(2);
  });
});
