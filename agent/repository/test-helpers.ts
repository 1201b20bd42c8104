import { randomUUID } from 'node:crypto';
import type { ManifestDraft, SegmentRef } from '../contract/manifest.js';
import type { BlobInfo, BlobStore } from '../storage/blob-store.js';
import type { KdfParams } from './keys.js';

/** Cheap scrypt for tests: real code paths, ~1 ms instead of ~100 ms per derivation. */
export const TEST_KDF: KdfParams = { N: 2 ** 10, r: 8, p: 1 };

/**
 * A BlobStore wrapper that records every put and can delay or fail them: lets tests see what a
 * backup wrote, and how many uploads ran at once.
 */
export class RecordingStore implements BlobStore {
  readonly puts: Array<{ name: string; size: number }> = [];
  inFlight = 0;
  maxInFlight = 0;
  putDelayMs = 0;
  failPutsMatching: RegExp | null = null;

  constructor(readonly inner: BlobStore) {}

  get location(): string {
    return this.inner.location;
  }

  get provider(): BlobStore['provider'] {
    return this.inner.provider;
  }

  bytesPut(prefix: string): number {
    return this.puts.filter((p) => p.name.startsWith(prefix)).reduce((n, p) => n + p.size, 0);
  }

  async put(name: string, data: Buffer | Uint8Array): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.putDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.putDelayMs));
      if (this.failPutsMatching?.test(name)) throw new Error(`injected failure writing ${name}`);
      await this.inner.put(name, data);
      this.puts.push({ name, size: data.length });
    } finally {
      this.inFlight--;
    }
  }

  get(name: string): Promise<Buffer> {
    return this.inner.get(name);
  }

  getRange(name: string, offset: number, length: number): Promise<Buffer> {
    return this.inner.getRange(name, offset, length);
  }

  head(name: string): Promise<BlobInfo | null> {
    return this.inner.head(name);
  }

  list(prefix: string): Promise<BlobInfo[]> {
    return this.inner.list(prefix);
  }

  delete(name: string): Promise<void> {
    return this.inner.delete(name);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A minimal valid manifest draft referencing the given segments (one wedding) and photos. */
export function draftManifest(opts: {
  snapshotId?: string;
  segments: SegmentRef[];
  photos?: Array<{ blobId: string; sha256: string; sizeBytes: number }>;
}): ManifestDraft {
  const weddingId = '3f0c1d2e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';
  return {
    snapshotId: opts.snapshotId ?? randomUUID(),
    createdAt: new Date().toISOString(),
    type: 'full',
    parentSnapshotId: null,
    jobId: null,
    database: { name: 'wedsync', serverVersion: '16.4', journalSnapshot: '1000:1000:' },
    schema: {
      sql: 'CREATE TABLE public.guests (id uuid PRIMARY KEY, wedding_id uuid NOT NULL, name text);',
      tables: [
        {
          schema: 'public',
          name: 'guests',
          columns: [
            { name: 'id', type: 'uuid', nullable: false },
            { name: 'wedding_id', type: 'uuid', nullable: false },
            { name: 'name', type: 'text', nullable: true },
          ],
          primaryKey: ['id'],
          dataType: 'guests',
          weddingScoped: true,
          rowCount: opts.segments.reduce((n, s) => n + s.rows, 0),
          segments: [],
        },
      ],
      sequences: [{ schema: 'public', name: 'audit_id_seq', value: '9007199254740993', isCalled: true }],
    },
    weddings: [
      {
        weddingId,
        tables: { 'public.guests': opts.segments },
        rowCounts: { guests: opts.segments.reduce((n, s) => n + s.rows, 0) },
        photos: (opts.photos ?? []).map((p, i) => ({
          photoId: `photo-${i}`,
          storageKey: `weddings/${weddingId}/photo-${i}.jpg`,
          ...p,
        })),
      },
    ],
    photoProblems: [],
    totals: {
      rowCount: opts.segments.reduce((n, s) => n + s.rows, 0),
      weddingCount: 1,
      bytesRaw: opts.segments.reduce((n, s) => n + s.rawBytes, 0),
      bytesStored: 0,
      bytesNew: 0,
      segmentCount: opts.segments.length,
      photoCount: opts.photos?.length ?? 0,
    },
  };
}

/** Text that compresses like COPY output: rows of one table for one wedding. */
export function guestRows(weddingNo: number, rows: number): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    lines.push(`${weddingNo}-${i}\tGuest ${i} of wedding ${weddingNo}\tguest${i}.w${weddingNo}@example.com\t${i % 3 === 0 ? 'vegetarian' : '\\N'}\tconfirmed\n`);
  }
  return Buffer.from(lines.join(''));
}
