import { resolve } from 'node:path';
import type { RunSheetFormat } from '../../contract/offline.js';
import type { CommandContext } from '../context.js';
import type { CommandResult } from '../output.js';

/**
 * `wedsync-backup export --wedding ID --format csv|json|pdf [--out FILE]`: the wedding's run
 * sheet (guest list, timeline, vendor contacts) from the local cache. Needs no database, no
 * network, no passphrase: it is what a coordinator prints in a barn with no signal.
 */
export async function run(ctx: CommandContext, opts: Record<string, unknown>): Promise<CommandResult> {
  const weddingId = opts.wedding as string;
  const format = opts.format as RunSheetFormat;
  const [{ openLocalCache }, { readOfflineWedding }, { renderRunSheet, writeFileAtomic }] = await Promise.all([
    import('./stream.js'),
    import('../../jobs/offline.js'),
    import('../../jobs/export-run-sheet.js'),
  ]);
  const { store, rebuilt } = await openLocalCache(ctx.config, ctx.logger);
  try {
    const wedding = readOfflineWedding(store, weddingId);
    const bytes = await renderRunSheet(wedding, format);
    const slug = (wedding.wedding.couple_names ?? weddingId).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || weddingId;
    const out = resolve((opts.out as string | undefined) ?? `run-sheet-${slug}-${wedding.wedding.wedding_date ?? 'wedding'}.${format}`);
    await writeFileAtomic(out, bytes);
    const info = {
      ok: true,
      weddingId,
      format,
      file: out,
      bytes: bytes.length,
      guests: wedding.guests.length,
      timeline: wedding.timeline.length,
      vendors: wedding.vendors.length,
      dataAsOf: wedding.cache.lastChangeAt ?? wedding.cache.baseAt,
      ...(rebuilt ? { cacheRebuilt: rebuilt } : {}),
    };
    return {
      json: info,
      text: `wrote ${out} (${format}, ${bytes.length} bytes): ${info.guests} guests, ${info.timeline} timeline events, ${info.vendors} vendors; data as of ${info.dataAsOf ?? 'unknown'}`,
    };
  } finally {
    store.close();
  }
}
