import type { CommandContext } from '../context.js';
import type { CommandResult } from '../output.js';
import { requireDatabaseUrl } from '../config.js';

/** `wedsync-backup seed`: deterministic sample weddings, photo files into the photo store. */
export async function run(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const url = requireDatabaseUrl(ctx.config);
  const { withClient } = await import('../../source/db.js');
  const { seed } = await import('../../source/seed.js');
  const { openBlobStore } = await import('../../storage/open.js');
  const photoFiles = opts.photoFilesPerWedding as number;
  const photos = photoFiles > 0 ? await openBlobStore(ctx.config.photoStore, { create: true }) : null;
  try {
    const result = await withClient(url, (db) =>
      seed(db, {
        weddings: opts.weddings as number,
        guestsPerWedding: opts.guestsPerWedding as number,
        timelineEventsPerWedding: opts.timelineEventsPerWedding as number,
        vendorsPerWedding: opts.vendorsPerWedding as number,
        photosPerWedding: opts.photosPerWedding as number,
        photoFilesPerWedding: photoFiles,
        seed: opts.seed as number,
        ...(opts.now ? { now: opts.now as Date } : {}),
        reset: Boolean(opts.reset),
        ...(photos ? { writePhoto: (key: string, bytes: Buffer) => photos.put(key, bytes) } : {}),
        log: (m) => ctx.logger.debug(m),
      }),
    );
    const total = Object.values(result.counts).reduce((a, b) => a + b, 0);
    return {
      json: { ok: true, counts: result.counts, rows: total, photoFiles: result.photoFiles.length, seed: result.seed, now: result.now, today: result.today, elapsedMs: result.elapsedMs },
      text: `seeded ${total} rows (${Object.entries(result.counts).map(([t, n]) => `${t} ${n}`).join(', ')}) and ${result.photoFiles.length} photo files in ${(result.elapsedMs / 1000).toFixed(1)} s`,
    };
  } finally {
    await photos?.close();
  }
}
