import type { Config } from '../contract/config.js';
import type { SchemaMap } from '../contract/schema-map.js';
import type { CacheStore } from '../cache/store.js';
import type { Logger } from '../logger.js';
import type { Repository } from '../repository/repository.js';
import type { AgentReadCaches } from './read-caches.js';
import type { SerialQueue } from './serial-queue.js';

/** What startAgent (agent/main.ts) hands every database-facing part it wires: one shape, stated once. */
export interface AgentParts {
  config: Config;
  logger: Logger;
  map: SchemaMap;
  /** The wedding database (and its catalog tables). */
  url: string;
  passphrase: string;
  /** The local (tier 1) repository, opened offline at start. */
  localRepo: Repository;
  /** The local SQLite cache. */
  store: CacheStore;
  /** Backups run one at a time through it. */
  backups: SerialQueue;
  caches: AgentReadCaches;
}
