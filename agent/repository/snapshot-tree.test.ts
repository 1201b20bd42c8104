import { describe, expect, it } from 'vitest';
import { snapshotTreeSchema } from '../contract/manifest.js';
import { fastTree } from './snapshot-tree.js';

const hex = (c: string) => c.repeat(64);
const tree = () => ({
  kind: 'wedsync-tree',
  formatVersion: 2,
  bucket: 3,
  weddings: [
    {
      weddingId: '0b6f3c5e-1d2a-4c3b-9e8f-7a6b5c4d3e2f',
      organizationId: '1b6f3c5e-1d2a-4c3b-9e8f-7a6b5c4d3e2f',
      weddingDate: '2027-06-01',
      tables: { 'public.guests': [{ id: hex('a'), rows: 150, rawBytes: 20000 }], 'public.photos': [] },
      rowCounts: { guests: 150, photos: 0, wedding: 1 },
      photos: [{ photoId: 'p1', storageKey: 'w/p1.jpg', sha256: hex('b'), sizeBytes: 12, blobId: hex('c') }],
    },
    { weddingId: '2b6f3c5e-1d2a-4c3b-9e8f-7a6b5c4d3e2f', organizationId: null, tables: {}, rowCounts: {}, photos: [] },
  ],
});

/** Every value fastTree returns is exactly zod's (keys in the same order); it refuses what zod refuses. */
function agrees(json: unknown): 'fast' | 'zod' {
  const fast = fastTree(json);
  const parsed = snapshotTreeSchema.safeParse(json);
  if (fast) {
    expect(parsed.success).toBe(true);
    expect(JSON.stringify(fast)).toBe(JSON.stringify(parsed.data));
    return 'fast';
  }
  return 'zod';
}

describe('fastTree', () => {
  it('takes a tree as encodeTree writes it, giving what zod gives', () => {
    expect(agrees(tree())).toBe('fast');
    // Keys in another order come out in the schema's order, as zod's do.
    const t = tree();
    const w = t.weddings[1]!;
    (t.weddings as unknown[])[1] = { photos: w.photos, rowCounts: w.rowCounts, tables: w.tables, weddingId: w.weddingId, organizationId: null };
    expect(agrees(JSON.parse(JSON.stringify(t)))).toBe('fast');
  });

  it('leaves everything it is not sure of to zod, and never accepts what zod refuses', () => {
    const mutations: ((t: ReturnType<typeof tree>) => void)[] = [
      (t) => ((t as Record<string, unknown>).kind = 'other'),
      (t) => ((t as Record<string, unknown>).formatVersion = 1),
      (t) => ((t as Record<string, unknown>).bucket = -1),
      (t) => ((t as Record<string, unknown>).bucket = 1.5),
      (t) => ((t as Record<string, unknown>).extra = 1),
      (t) => ((t.weddings[0] as Record<string, unknown>).weddingId = 'not-a-uuid'),
      (t) => ((t.weddings[0] as Record<string, unknown>).organizationId = 'x'),
      (t) => ((t.weddings[0] as Record<string, unknown>).weddingDate = 5),
      (t) => ((t.weddings[0] as Record<string, unknown>).extra = true),
      (t) => ((t.weddings[0]!.tables as Record<string, unknown>)[''] = []),
      (t) => ((t.weddings[0]!.tables as Record<string, unknown>)['public.x'] = {}),
      (t) => ((t.weddings[0]!.tables['public.guests']![0] as Record<string, unknown>).id = hex('A')),
      (t) => ((t.weddings[0]!.tables['public.guests']![0] as Record<string, unknown>).rows = '1'),
      (t) => ((t.weddings[0]!.tables['public.guests']![0] as Record<string, unknown>).extra = 1),
      (t) => ((t.weddings[0]!.rowCounts as Record<string, unknown>).guests = -2),
      (t) => ((t.weddings[0]!.rowCounts as Record<string, unknown>).other = 2),
      (t) => ((t.weddings[0]!.photos[0] as Record<string, unknown>).photoId = ''),
      (t) => ((t.weddings[0]!.photos[0] as Record<string, unknown>).sha256 = 'ab'),
      (t) => ((t.weddings[0]!.photos[0] as Record<string, unknown>).sizeBytes = null),
      (t) => delete (t.weddings[0] as Record<string, unknown>).photos,
      (t) => delete (t.weddings[0] as Record<string, unknown>).weddingId,
      (t) => ((t as Record<string, unknown>).weddings = {}),
    ];
    for (const m of mutations) {
      const t = tree();
      m(t);
      expect(agrees(JSON.parse(JSON.stringify(t)))).toBe('zod');
    }
    for (const v of [null, [], 'x', 1]) expect(agrees(v)).toBe('zod');
  });
});
