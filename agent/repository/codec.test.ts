import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobCodec, SEAL_OVERHEAD, UnsealError, looksCompressed } from './codec.js';

const key = { encryption: randomBytes(32), mac: randomBytes(32) };
const codec = new BlobCodec(key, 3);
const aad = Buffer.from('test-aad');

describe('BlobCodec', () => {
  it('round-trips compressible and incompressible data', () => {
    const text = Buffer.from('guest,confirmed,vegetarian\n'.repeat(1000));
    const sealedText = codec.seal(text, aad);
    expect(sealedText.length).toBeLessThan(text.length / 5);
    expect(codec.open(sealedText, aad).equals(text)).toBe(true);

    const noise = randomBytes(10_000);
    const sealedNoise = codec.seal(noise, aad);
    // Stored raw: exactly the fixed overhead, never a failed compression attempt's output.
    expect(sealedNoise.length).toBe(noise.length + SEAL_OVERHEAD);
    expect(codec.open(sealedNoise, aad).equals(noise)).toBe(true);

    expect(codec.open(codec.seal(Buffer.alloc(0), aad), aad).length).toBe(0);
  });

  it('uses a fresh nonce per seal', () => {
    const data = Buffer.from('same');
    expect(codec.seal(data, aad).equals(codec.seal(data, aad))).toBe(false);
  });

  it('rejects a flipped bit, another AAD, another key', () => {
    const sealed = codec.seal(Buffer.from('x'.repeat(500)), aad);
    for (const pos of [0, 13, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[pos]! ^= 1;
      expect(() => codec.open(bad, aad)).toThrow(UnsealError);
    }
    expect(() => codec.open(sealed, Buffer.from('other'))).toThrow(UnsealError);
    const other = new BlobCodec({ encryption: randomBytes(32), mac: key.mac }, 3);
    expect(() => other.open(sealed, aad)).toThrow(UnsealError);
    expect(() => codec.open(sealed.subarray(0, 10), aad)).toThrow(UnsealError);
  });

  it('derives keyed ids', () => {
    const data = Buffer.from('row');
    expect(codec.blobId(data)).toMatch(/^[0-9a-f]{64}$/);
    expect(codec.blobId(data)).toBe(codec.blobId(Buffer.from('row')));
    expect(new BlobCodec({ encryption: key.encryption, mac: randomBytes(32) }, 3).blobId(data)).not.toBe(codec.blobId(data));
  });

  it('recognises already-compressed photo formats', () => {
    expect(looksCompressed(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe(true);
    expect(looksCompressed(Buffer.from('\x89PNG\r\n\x1a\n\0\0\0\0', 'latin1'))).toBe(true);
    expect(looksCompressed(Buffer.from('plain text, not an image'))).toBe(false);
  });
});
