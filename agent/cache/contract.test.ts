import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { cacheStoreContract } from './contract.js';
import { openSqliteCache } from './sqlite-store.js';

// The same suite against both backings the agent uses: a WAL-mode file and an in-memory database.
const dir = mkdtempSync(join(tmpdir(), 'wedsync-cache-contract-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

cacheStoreContract('SQLite file (WAL)', {
  factory: () => openSqliteCache(join(dir, `cache-${++n}.sqlite`)),
  reopen: (store) => {
    store.close();
    return openSqliteCache(store.location);
  },
});

cacheStoreContract('SQLite in memory', { factory: () => openSqliteCache(':memory:') });
