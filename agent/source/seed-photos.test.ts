import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { photoBytes, photoStorageKey, seedUuid, sha256Hex } from './seed-photos.js';

describe('seedUuid', () => {
  it('is deterministic, distinct per (seed, tag, n) and a valid v4-shaped uuid', () => {
    expect(seedUuid(1, 'wedding', 1)).toBe(seedUuid(1, 'wedding', 1));
    const ids = new Set<string>();
    for (const seed of [1, 2, -5]) for (const tag of ['wedding', 'guest']) for (let n = 1; n <= 200; n++) ids.add(seedUuid(seed, tag, n));
    expect(ids.size).toBe(3 * 2 * 200);
    for (const id of ids) expect(z.uuid().safeParse(id).success).toBe(true);
  });
});

describe('photoBytes', () => {
  const key = photoStorageKey(seedUuid(1, 'wedding', 1), 1);

  it('names photos weddings/<id>/photos/<n>.jpg', () => {
    expect(key).toMatch(/^weddings\/[0-9a-f-]{36}\/photos\/1\.jpg$/);
  });

  it('gives the same bytes for the same seed and key, other bytes otherwise', () => {
    const a = photoBytes(1, key);
    expect(photoBytes(1, key).equals(a)).toBe(true);
    expect(sha256Hex(photoBytes(2, key))).not.toBe(sha256Hex(a));
    expect(sha256Hex(photoBytes(1, photoStorageKey(seedUuid(1, 'wedding', 1), 2)))).not.toBe(sha256Hex(a));
  });

  it('looks like a 20–60 KiB JPEG', () => {
    for (let n = 1; n <= 50; n++) {
      const b = photoBytes(3, photoStorageKey(seedUuid(3, 'wedding', n), 1));
      expect(b.length).toBeGreaterThanOrEqual(20 * 1024);
      expect(b.length).toBeLessThanOrEqual(60 * 1024);
      expect([...b.subarray(0, 4)]).toEqual([0xff, 0xd8, 0xff, 0xe0]);
      expect(b.subarray(6, 11).toString('latin1')).toBe('JFIF\0');
      expect([...b.subarray(-2)]).toEqual([0xff, 0xd9]);
    }
  });

  it('pins the bytes: changing the generator changes every seeded database', () => {
    expect(sha256Hex(photoBytes(1, 'weddings/x/photos/1.jpg'))).toMatchInlineSnapshot(`"4a797c089aa37ffd5a2358207bc85a152b2ea0add9abebe859659b6889e2e30c"`);
  });
});
