import { describe, expect, it } from 'vitest';
import { opening, openTogether } from './open-together.js';

describe('openTogether', () => {
  it('returns every opened resource by name', async () => {
    const got = await openTogether({ a: opening(Promise.resolve(1), () => undefined), b: opening(Promise.resolve('x'), () => undefined) });
    expect(got).toEqual({ a: 1, b: 'x' });
  });

  it('when one fails, closes the others that opened (not the null ones) and throws its error', async () => {
    const closed: string[] = [];
    const failure = new Error('catalog refused');
    const attempt = openTogether({
      repo: opening(Promise.resolve('repo'), (v) => closed.push(v)),
      catalog: opening(Promise.reject(failure), () => closed.push('catalog')),
      photos: opening(Promise.resolve(null), () => closed.push('photos')),
      slow: opening(new Promise<string>((r) => setTimeout(() => r('slow'), 20)), async (v) => closed.push(v)),
    });
    await expect(attempt).rejects.toBe(failure);
    expect(closed.sort()).toEqual(['repo', 'slow']);
  });
});
