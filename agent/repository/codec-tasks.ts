import { BlobCodec, type CompressMode, UnsealError } from './codec.js';
import { AAD } from './format.js';

/**
 * The CPU-heavy codec work on many blobs at once, as plain synchronous functions over one byte
 * buffer: the codec pool's workers run exactly these (codec-worker.ts), and the inline path for
 * small work runs the same code on the calling thread, so both give the same bytes and the same
 * failure reasons.
 */

/** One blob inside a buffer: `length` bytes at `offset`. */
export interface BlobSpan {
  /** The blob id (64 hex digits): its AAD, and what its plaintext must hash to. */
  id: string;
  offset: number;
  length: number;
}

export interface SealSpan extends BlobSpan {
  compress: CompressMode;
}

/** A blob opened: its plaintext at [offset, offset + length) of the result buffer, or why it is damaged. */
export type OpenedSpan = { offset: number; length: number } | { error: string };

export interface OpenBatchResult {
  /** Every good plaintext, one after another (one allocation, transferable as a whole). */
  plain: Buffer;
  /** One per input span, in input order. */
  results: OpenedSpan[];
}

export interface SealBatchResult {
  /** The sealed blobs, one after another, in input order. */
  sealed: Buffer;
  lengths: number[];
  /**
   * The plaintext batch itself, handed back by a worker it was transferred to (the caller may
   * fill it again: a backup then allocates no new batch buffers); absent when sealed inline.
   */
  input?: Buffer;
}

/** A sealed blob's plaintext, checked against its id, or why it is refused (the caller names blob and place). */
export function openChecked(codec: BlobCodec, id: string, sealed: Uint8Array): { plain: Buffer } | { error: string } {
  let plain: Buffer;
  try {
    plain = codec.open(sealed, AAD.blob(id));
  } catch (err) {
    if (err instanceof UnsealError) return { error: err.message };
    throw err;
  }
  if (codec.blobId(plain) !== id) return { error: 'content does not match its id (HMAC)' };
  return { plain };
}

/** Decrypts, decompresses and checks every span of `bytes` against its id. */
export function openBatch(codec: BlobCodec, bytes: Uint8Array, spans: readonly BlobSpan[]): OpenBatchResult {
  const opened = spans.map((s) => openChecked(codec, s.id, bytes.subarray(s.offset, s.offset + s.length)));
  let total = 0;
  for (const o of opened) if ('plain' in o) total += o.plain.length;
  // allocUnsafeSlow: never a slice of Node's shared pool, so the whole buffer can be transferred.
  const plain = Buffer.allocUnsafeSlow(total);
  let pos = 0;
  const results = opened.map((o): OpenedSpan => {
    if (!('plain' in o)) return o;
    o.plain.copy(plain, pos);
    pos += o.plain.length;
    return { offset: pos - o.plain.length, length: o.plain.length };
  });
  return { plain, results };
}

/** Compresses (per span's mode) and encrypts every span of `bytes`, AAD = its id. */
export function sealBatch(codec: BlobCodec, bytes: Uint8Array, spans: readonly SealSpan[]): SealBatchResult {
  const sealed = spans.map((s) => codec.sealParts(bytes.subarray(s.offset, s.offset + s.length), AAD.blob(s.id), s.compress));
  const total = sealed.reduce((a, s) => a + s.length, 0);
  const out = Buffer.allocUnsafeSlow(total);
  let pos = 0;
  for (const s of sealed) for (const part of s.parts) pos += part.copy(out, pos);
  return { sealed: out, lengths: sealed.map((s) => s.length) };
}

/** The master key as it crosses to a worker (structured clone turns Buffers into Uint8Arrays). */
export interface WireKey {
  encryption: Uint8Array;
  mac: Uint8Array;
}

/** What crosses to a worker: the key travels with each task (64 bytes), so one pool serves every repository. */
export type CodecTask =
  | { op: 'open'; key: WireKey; level: number; bytes: Uint8Array; spans: BlobSpan[] }
  | { op: 'seal'; key: WireKey; level: number; bytes: Uint8Array; spans: SealSpan[] };

/** A worker keeps a codec per key (zstd contexts are worth reusing); a handful of repositories at most. */
const codecs = new Map<string, BlobCodec>();
const MAX_CODECS = 8;

export function codecFor(key: WireKey, level: number): BlobCodec {
  const k = `${level}:${Buffer.from(key.encryption).toString('base64')}:${Buffer.from(key.mac).toString('base64')}`;
  let codec = codecs.get(k);
  if (!codec) {
    if (codecs.size >= MAX_CODECS) codecs.delete(codecs.keys().next().value!);
    codec = new BlobCodec({ encryption: Buffer.from(key.encryption), mac: Buffer.from(key.mac) }, level);
    codecs.set(k, codec);
  }
  return codec;
}

export function runCodecTask(task: CodecTask): OpenBatchResult | SealBatchResult {
  const codec = codecFor(task.key, task.level);
  return task.op === 'open' ? openBatch(codec, task.bytes, task.spans) : sealBatch(codec, task.bytes, task.spans);
}
