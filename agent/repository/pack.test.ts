import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isWedsyncError } from '../contract/errors.js';
import { BlobCodec } from './codec.js';
import { AAD } from './format.js';
import { type PackBlob, assemblePack, decodePackHeader, encodePackHeader, parsePack } from './pack.js';

const codec = new BlobCodec({ encryption: randomBytes(32), mac: randomBytes(32) }, 3);

function buildPack(contents: Buffer[]) {
  const parts: Buffer[] = [];
  const blobs: PackBlob[] = [];
  let offset = 0;
  for (const [i, plain] of contents.entries()) {
    const id = codec.blobId(plain);
    const sealed = codec.sealParts(plain, AAD.blob(id));
    parts.push(...sealed.parts);
    blobs.push({ id, type: i % 2 === 0 ? 'segment' : 'photo', offset, length: sealed.length, rawLength: plain.length });
    offset += sealed.length;
  }
  return { ...assemblePack(codec, parts, offset, blobs), blobs };
}

describe('pack format', () => {
  it('encodes and decodes the header', () => {
    const blobs: PackBlob[] = [
      { id: 'a'.repeat(64), type: 'segment', offset: 0, length: 100, rawLength: 300 },
      { id: 'b'.repeat(64), type: 'photo', offset: 100, length: 50, rawLength: 21 },
    ];
    expect(decodePackHeader(encodePackHeader(blobs), 150)).toEqual(blobs);
    expect(() => decodePackHeader(encodePackHeader(blobs), 151)).toThrow(/describes 150 bytes/);
  });

  it('is self-describing: the header lists every blob where it is', () => {
    const contents = [Buffer.from('one'.repeat(100)), randomBytes(1000), Buffer.alloc(0)];
    const pack = buildPack(contents);
    const parsed = parsePack(codec, 'p', pack.bytes);
    expect(parsed).toEqual(pack.blobs);
    for (const [i, blob] of parsed.entries()) {
      const plain = codec.open(pack.bytes.subarray(blob.offset, blob.offset + blob.length), AAD.blob(blob.id));
      expect(plain.equals(contents[i]!)).toBe(true);
    }
  });

  it('reports a damaged header as INTEGRITY', () => {
    const pack = buildPack([Buffer.from('x')]);
    const bad = Buffer.from(pack.bytes);
    bad[bad.length - 10]! ^= 0xff;
    let error: unknown;
    try {
      parsePack(codec, 'packs/xx/yy', bad);
    } catch (err) {
      error = err;
    }
    expect(isWedsyncError(error, 'INTEGRITY')).toBe(true);
  });
});
