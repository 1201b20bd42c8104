import { createCipheriv, createHash } from 'node:crypto';

/**
 * The deterministic parts of the seed that Node computes: ids it must know (to name photo
 * files) and the photo files themselves. The SQL side (seed-sql.ts) derives the same ids.
 */

/**
 * The uuid the seed gives row `n` (1-based) of `tag` ('wedding', 'guest', …): md5 of
 * "seed:tag:n", with the version and variant bits of a v4 uuid so strict validators
 * (zod's z.uuid()) accept it like one from gen_random_uuid(). Same as pg_temp.ws_uuid in SQL.
 */
export function seedUuid(seed: number, tag: string, n: number): string {
  const m = createHash('md5').update(`${seed}:${tag}:${n}`, 'utf8').digest('hex');
  const variant = '89ab'[parseInt(m[16]!, 16) % 4]!;
  return `${m.slice(0, 8)}-${m.slice(8, 12)}-4${m.slice(13, 16)}-${variant}${m.slice(17, 20)}-${m.slice(20, 32)}`;
}

/** Where photo `n` (1-based) of a wedding lives in the photo store. */
export function photoStorageKey(weddingId: string, n: number): string {
  return `weddings/${weddingId}/photos/${n}.jpg`;
}

const MIN_PHOTO_BYTES = 20 * 1024;
const MAX_PHOTO_BYTES = 60 * 1024;

/**
 * The bytes of a sample photo: 20–60 KiB that look like a JPEG to `file` and to anything that
 * sniffs magic numbers (SOI, JFIF APP0, a comment naming the photo, EOI), with an incompressible
 * body like real entropy-coded image data. Same seed and key → same bytes, on any machine:
 * the body is an AES-256-CTR keystream keyed by sha256 of (seed, key).
 */
export function photoBytes(seed: number, storageKey: string): Buffer {
  const key = createHash('sha256').update(`wedsync-sample-photo\0${seed}\0${storageKey}`, 'utf8').digest();
  const size = MIN_PHOTO_BYTES + (key.readUInt32BE(0) % (MAX_PHOTO_BYTES - MIN_PHOTO_BYTES + 1));

  const jfif = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
  const text = Buffer.from(`WedSync sample photo ${storageKey} (seed ${seed})`, 'utf8');
  const comment = Buffer.concat([Buffer.from([0xff, 0xfe, (text.length + 2) >> 8, (text.length + 2) & 0xff]), text]);
  const head = Buffer.concat([Buffer.from([0xff, 0xd8]), jfif, comment]);

  const body = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size - head.length - 2));
  // No 0xFF in the body: in a real JPEG it would start a marker, and a stray EOI would end the file early.
  for (let i = 0; i < body.length; i++) if (body[i] === 0xff) body[i] = 0xfe;

  return Buffer.concat([head, body, Buffer.from([0xff, 0xd9])], size);
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
