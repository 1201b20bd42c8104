import type { Config } from '../contract/config.js';
import type { Logger } from '../logger.js';
import type { BlobStore } from '../storage/blob-store.js';
import { DEFAULT_SCHEMA_MAP, type SchemaMap } from '../contract/schema-map.js';

/** The schema map in use (the sample's default; a deployment's own map later comes from config). */
export function schemaMap(_config: Config): SchemaMap {
  return DEFAULT_SCHEMA_MAP;
}

/** The photo store, or null (with a warning) when it is not there: rows are still backed up. */
export async function openPhotoStore(config: Config, logger: Logger): Promise<BlobStore | null> {
  const { openBlobStore } = await import('../storage/open.js');
  try {
    return await openBlobStore(config.photoStore, { create: false });
  } catch (err) {
    logger.warn({ photoStore: config.photoStore, err: (err as Error).message }, 'photo store not available: photo files are skipped');
    return null;
  }
}
