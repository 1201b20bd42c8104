import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BlobType } from './format.js';
import type { IndexEntry, IndexedPack } from './index-file.js';
import { MasterIndex } from './master-index.js';

const hex = (s: string) => createHash('sha256').update(s).digest('hex');
const TYPES: BlobType[] = ['segment', 'photo', 'tree'];

/** A pack of `n` blobs named `${name}:${i}`, laid out back to back. */
function packOf(name: string, n: number, ids: (i: number) => string = (i) => hex(`${name}:${i}`)): IndexedPack {
  let offset = 0;
  const blobs = Array.from({ length: n }, (_, i) => {
    const length = 30 + ((i * 37) % 5000);
    const blob = { id: ids(i), type: TYPES[i % 3]!, offset, length, rawLength: length * 3 + i };
    offset += length;
    return blob;
  });
  return { id: hex(`pack ${name}`), size: offset + 100, blobs };
}

describe('MasterIndex (compact, binary)', () => {
  it('finds every blob of every pack exactly as a Map of entries would, across many growths', () => {
    const index = new MasterIndex();
    const reference = new Map<string, IndexEntry>();
    for (let p = 0; p < 12; p++) {
      const pack = packOf(`p${p}`, 900 + p * 97);
      index.addPack(pack);
      for (const b of pack.blobs) if (!reference.has(b.id)) reference.set(b.id, { packId: pack.id, type: b.type, offset: b.offset, length: b.length, rawLength: b.rawLength });
    }
    expect(index.blobCount).toBe(reference.size);
    expect(index.packCount).toBe(12);
    for (const [id, entry] of reference) {
      expect(index.get(id)).toEqual(entry);
      expect(index.has(id)).toBe(true);
      expect(index.storedLength(id)).toBe(entry.length);
    }
    expect(index.get(hex('never stored'))).toBeUndefined();
    expect(index.storedLength(hex('never stored'))).toBeUndefined();
  });

  it('the first location seen wins; a pack is added once; sizes and counts per pack', () => {
    const index = new MasterIndex();
    const shared = hex('shared blob');
    const a = packOf('a', 3, (i) => (i === 1 ? shared : hex(`a${i}`)));
    const b = packOf('b', 2, (i) => (i === 0 ? shared : hex(`b${i}`)));
    index.addPack(a);
    index.addPack(b);
    index.addPack(a);
    expect(index.get(shared)).toMatchObject({ packId: a.id, offset: a.blobs[1]!.offset });
    expect(index.blobCount).toBe(4);
    expect(index.packList()).toEqual([
      { id: a.id, size: a.size, blobCount: 3 },
      { id: b.id, size: b.size, blobCount: 2 },
    ]);
    expect(index.packBytes).toBe(a.size + b.size);
    expect(index.hasPack(b.id)).toBe(true);
    expect(index.hasPack(hex('other pack'))).toBe(false);
  });

  it('anything but a 64-digit hex id finds nothing', () => {
    const index = new MasterIndex();
    const pack = packOf('x', 5);
    index.addPack(pack);
    const id = pack.blobs[2]!.id;
    for (const bad of [id.slice(0, 63), `${id}0`, `${id.slice(0, 63)}g`, `g${id.slice(1)}`, `${id.slice(0, 30)}-${id.slice(31)}`, '', 'nonexistent']) {
      expect(index.has(bad)).toBe(false);
      expect(index.get(bad)).toBeUndefined();
    }
  });

  it('clear() forgets blobs, packs and loaded files; the index fills again after it', () => {
    const index = new MasterIndex();
    const pack = packOf('c', 2000);
    index.addPack(pack);
    index.loadedFiles.add('f1');
    index.clear();
    expect(index.blobCount).toBe(0);
    expect(index.packCount).toBe(0);
    expect(index.loadedFiles.size).toBe(0);
    expect(index.has(pack.blobs[0]!.id)).toBe(false);
    index.addPack(pack);
    expect(index.get(pack.blobs[1999]!.id)).toMatchObject({ packId: pack.id, offset: pack.blobs[1999]!.offset });
  });
});
