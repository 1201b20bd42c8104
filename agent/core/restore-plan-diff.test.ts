import { describe, expect, it } from 'vitest';
import { copyLines, decodeCopyField, decodeCopyRow, diffRows, keyIndexes, rowKey } from './restore-plan-diff.js';

const cols = [{ name: 'id' }, { name: 'wedding_id' }, { name: 'name' }];

describe('restore diff (COPY text rows)', () => {
  it('matches rows by primary key: unchanged, updated, deleted, inserted', () => {
    const snapshot = ['1\tw\tAnn', '2\tw\tBen', '3\tw\tCy'];
    const live = ['1\tw\tAnn', '2\tw\tBenjamin', '4\tw\tDee'];
    const d = diffRows(snapshot, live, keyIndexes(cols, ['id']), true);
    expect(d.counts).toEqual({ inserted: 1, updated: 1, deleted: 1, unchanged: 1 });
    expect(d.changes).toEqual([
      { change: 'updated', before: '2\tw\tBenjamin', after: '2\tw\tBen' },
      { change: 'deleted', before: '4\tw\tDee', after: null },
      { change: 'inserted', before: null, after: '3\tw\tCy' },
    ]);
    expect(d).toMatchObject({ snapshotRows: 3, liveRows: 3 });
    expect(diffRows(snapshot, live, [0]).changes).toBeUndefined();
  });

  it('composite keys take the key columns wherever they are', () => {
    const idx = keyIndexes(cols, ['wedding_id', 'name']);
    expect(idx).toEqual([1, 2]);
    expect(rowKey('1\tw\tAnn', idx)).toBe('w\tAnn');
    expect(diffRows(['1\tw\tAnn'], ['9\tw\tAnn'], idx).counts).toEqual({ inserted: 0, updated: 1, deleted: 0, unchanged: 0 });
  });

  it('tables without a key compare rows as a multiset', () => {
    expect(keyIndexes(cols, [])).toBeNull();
    const d = diffRows(['a', 'a', 'b'], ['a', 'c'], null);
    expect(d.counts).toEqual({ inserted: 2, updated: 0, deleted: 1, unchanged: 1 });
  });

  it('splits COPY text into lines and decodes fields', () => {
    expect(copyLines('')).toEqual([]);
    expect(copyLines('a\tb\nc\td\n')).toEqual(['a\tb', 'c\td']);
    expect(decodeCopyField('\\N')).toBeNull();
    expect(decodeCopyField('tab\\there\\nnew\\\\slash')).toBe('tab\there\nnew\\slash');
    expect(decodeCopyField('\\101\\x42')).toBe('AB');
    expect(decodeCopyRow('1\t\\N\tA\\tB', cols)).toEqual({ id: '1', wedding_id: null, name: 'A\tB' });
    expect(() => keyIndexes(cols, ['nope'])).toThrow(/nope/);
  });
});
