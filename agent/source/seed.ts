import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import pg from 'pg';
import { z } from 'zod';
import { WedsyncError } from '../contract/errors.js';
import { photoBytes, photoStorageKey, seedUuid, sha256Hex } from './seed-photos.js';
import { allParams, bind, DROP_HELPERS, HELPERS, INSERTS, JOURNALED_TABLES, SEED_TABLES, WEDDINGS_STAGE, type SeedParams, type SeedTable } from './seed-sql.js';

export { photoBytes, photoStorageKey, seedUuid } from './seed-photos.js';
export { SEED_TABLES, type SeedTable } from './seed-sql.js';

/**
 * `wedsync-backup seed`: fills the sample schema (migration 001) with deterministic, realistic
 * wedding data, generated inside PostgreSQL (see seed-sql.ts), plus real files for the first
 * photos of each wedding, handed to `writePhoto` (the caller puts them in the photo store).
 *
 * Guarantees:
 *  - Same options (seed, now, timeZone and the counts) → byte-identical rows, uuids included,
 *    and identical photo bytes (photoBytes).
 *  - All rows in one transaction: a failure leaves the database as it was. Photo files are
 *    written before the commit; a failed seed may leave some behind, and a re-run writes the
 *    same bytes under the same keys.
 *  - Refuses a schema that already holds sample data (BAD_INPUT) unless `reset`, which
 *    truncates the sample tables first (in the same transaction).
 *  - The change journal (migration 003) sees the load: triggers are bypassed for speed
 *    (session_replication_role = replica, when the role may set it) and replaced by one
 *    whole-table journal row per table, so the next incremental backup takes every table.
 *    Without that privilege the triggers stay on and journal every row (slower, same meaning).
 */

export type WritePhoto = (storageKey: string, bytes: Buffer) => Promise<void> | void;

export interface SeedOptions {
  /** How many weddings; the other counts are per wedding. */
  weddings: number;
  guestsPerWedding?: number;
  timelineEventsPerWedding?: number;
  vendorsPerWedding?: number;
  photosPerWedding?: number;
  /** How many of each wedding's photos get a real file (the first ones). */
  photoFilesPerWedding?: number;
  /** Default ≈ weddings / 50, at least 1. Each gets an admin, a coordinator and a viewer. */
  organizations?: number;
  /** Default 1. */
  seed?: number;
  /** Default: the current time. Wedding dates and timestamps are placed relative to it. */
  now?: Date;
  /** IANA zone of the venues (wedding days run 08:00–23:00 there, "today" is its date). Default: this process's zone. */
  timeZone?: string;
  /** Truncate the sample tables first instead of refusing a non-empty database. */
  reset?: boolean;
  writePhoto?: WritePhoto;
  log?: (message: string) => void;
}

export interface SeedPhotoFile {
  storageKey: string;
  sha256: string;
  sizeBytes: number;
}

export interface SeedResult {
  /** Rows inserted per table. */
  counts: Record<SeedTable, number>;
  /** The files behind the photos that have one, in (wedding, photo) order. */
  photoFiles: SeedPhotoFile[];
  seed: number;
  /** ISO timestamp used as "now". */
  now: string;
  /** YYYY-MM-DD in `timeZone`: the date of the weddings that are "today". */
  today: string;
  timeZone: string;
  /** true when triggers were off during the load (one journal row per table instead of per row). */
  triggersBypassed: boolean;
  elapsedMs: number;
}

export type ResolvedSeedOptions = Required<Omit<SeedOptions, 'writePhoto' | 'log'>> & Pick<SeedOptions, 'writePhoto' | 'log'>;

/** Inclusive bounds of the numeric options: generous, but a typo should not fill the disk. */
const LIMITS = {
  weddings: [1, 100_000],
  guestsPerWedding: [0, 2_000],
  timelineEventsPerWedding: [0, 1_000],
  vendorsPerWedding: [0, 200],
  photosPerWedding: [0, 10_000],
  photoFilesPerWedding: [0, 100],
  organizations: [1, 10_000],
  seed: [-2_147_483_648, 2_147_483_647],
} as const satisfies Record<string, readonly [number, number]>;
type IntOption = keyof typeof LIMITS;

/** Numbers, or strings of digits as a CLI hands them over. */
const int = (name: IntOption) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : v), z.number().int().min(LIMITS[name][0]).max(LIMITS[name][1]));

const fn = <T>() => z.custom<T>((v) => typeof v === 'function');

const OptionsSchema = z.strictObject({
  weddings: int('weddings'),
  guestsPerWedding: int('guestsPerWedding').default(150),
  timelineEventsPerWedding: int('timelineEventsPerWedding').default(50),
  vendorsPerWedding: int('vendorsPerWedding').default(20),
  photosPerWedding: int('photosPerWedding').default(100),
  photoFilesPerWedding: int('photoFilesPerWedding').default(3),
  organizations: int('organizations').optional(),
  seed: int('seed').default(1),
  now: z.date().optional(),
  timeZone: z.string().refine(isTimeZone).optional(),
  reset: z.boolean().default(false),
  writePhoto: fn<WritePhoto>().optional(),
  log: fn<(message: string) => void>().optional(),
});

/** Validates and completes the options; BAD_INPUT naming the option (as its CLI flag) otherwise. */
export function parseSeedOptions(raw: unknown): ResolvedSeedOptions {
  const parsed = OptionsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const input = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    throw new WedsyncError('BAD_INPUT', issue ? describeIssue(issue, input) : 'invalid seed options');
  }
  const o = parsed.data;
  if (o.photoFilesPerWedding > o.photosPerWedding) {
    throw new WedsyncError('BAD_INPUT', `--photo-files-per-wedding (${o.photoFilesPerWedding}) cannot exceed --photos-per-wedding (${o.photosPerWedding})`);
  }
  return {
    ...o,
    organizations: o.organizations ?? Math.max(1, Math.round(o.weddings / 50)),
    now: o.now ?? new Date(),
    timeZone: o.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
  };
}

function describeIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>): string {
  if (issue.code === 'unrecognized_keys') return `unknown seed option${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
  const key = String(issue.path[0] ?? '');
  const value = input[key];
  const got = `(got ${value === undefined ? 'nothing' : typeof value === 'string' ? JSON.stringify(value) : String(value)})`;
  if (key in LIMITS) {
    const [min, max] = LIMITS[key as IntOption];
    const flag = `--${kebab(key)}`;
    if (typeof value === 'number' && Number.isInteger(value) && value > max) return `${flag} must be at most ${max} ${got}`;
    if (min === 1) return `${flag} must be a positive integer ${got}`;
    if (min === 0) return `${flag} must be a non-negative integer ${got}`;
    return `${flag} must be an integer from ${min} to ${max} ${got}`;
  }
  if (key === 'timeZone') return `--time-zone must be an IANA time zone such as Europe/Dublin ${got}`;
  if (key === 'now') return `now must be a valid Date ${got}`;
  return `seed option ${key || '(options)'}: ${issue.message}`;
}

export async function seed(target: pg.ClientBase | string, options: SeedOptions): Promise<SeedResult> {
  const started = Date.now();
  const o = parseSeedOptions(options);
  const log = o.log ?? (() => undefined);
  const today = calendarDate(o.now, o.timeZone);
  const { client, release } = await connect(target);
  try {
    await checkReady(client, o.timeZone);
    await client.query('BEGIN');
    let result: Awaited<ReturnType<typeof load>>;
    try {
      result = await load(client, o, today, log);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err instanceof WedsyncError ? err : new WedsyncError('INTERNAL', `seed failed: ${firstLine(err)}`, { cause: err });
    }
    // Fresh statistics: the first backup's queries would otherwise plan against empty tables.
    // Best effort: the rows are committed, and autovacuum will analyse later anyway.
    await client.query(`ANALYZE ${SEED_TABLES.join(', ')}`).catch((err: unknown) => log(`ANALYZE skipped: ${firstLine(err)}`));
    return { ...result, seed: o.seed, now: o.now.toISOString(), today, timeZone: o.timeZone, elapsedMs: Date.now() - started };
  } finally {
    await release();
  }
}

async function load(client: pg.ClientBase, o: ResolvedSeedOptions, today: string, log: (m: string) => void) {
  // Self-exclusive lock: a second seed waits here, then finds the rows and refuses.
  await client.query(`LOCK TABLE ${SEED_TABLES.join(', ')} IN SHARE ROW EXCLUSIVE MODE`);
  if (o.reset) {
    // Before the triggers are switched off, so the journal records the TRUNCATE.
    await client.query(`TRUNCATE ${SEED_TABLES.join(', ')}`);
  } else {
    await refuseNonEmpty(client);
  }
  const triggersBypassed = await bypassTriggers(client);

  let aborted = false;
  const photoTask = preparePhotos(o, () => aborted);
  photoTask.catch(() => undefined); // awaited below; this only stops an unhandled-rejection report meanwhile
  try {
    const params: SeedParams = {
      seed: o.seed,
      now: o.now.toISOString(),
      today,
      tz: o.timeZone,
      weddings: o.weddings,
      organizations: o.organizations,
      guests: o.guestsPerWedding,
      events: o.timelineEventsPerWedding,
      vendors: o.vendorsPerWedding,
      photos: o.photosPerWedding,
      photoFiles: o.photoFilesPerWedding,
      photoSha: [],
      photoSize: [],
    };
    await client.query(HELPERS);
    const exec = async (sql: string) => {
      const { sql: text, values } = bind(sql, allParams(params));
      return (await client.query(text, values)).rowCount ?? 0;
    };
    await exec(WEDDINGS_STAGE);

    const counts = {} as Record<SeedTable, number>;
    for (const table of SEED_TABLES) {
      if (table === 'photos') {
        const files = await photoTask;
        params.photoSha = files.map((f) => f.sha256);
        params.photoSize = files.map((f) => f.sizeBytes);
      }
      const t = Date.now();
      counts[table] = await exec(INSERTS[table]);
      log(`seeded ${table}: ${counts[table]} rows in ${Date.now() - t} ms`);
    }

    await client.query(
      `INSERT INTO wedsync_change_journal (table_name, wedding_id, op) SELECT unnest($1::text[]), NULL, 'I'`,
      [JOURNALED_TABLES],
    );
    await client.query(DROP_HELPERS);
    return { counts, photoFiles: await photoTask, triggersBypassed };
  } catch (err) {
    aborted = true;
    await photoTask.catch(() => undefined);
    throw err;
  }
}

/**
 * Generates, hashes and hands over the photo files, a few writes in flight at a time. Runs while
 * PostgreSQL generates the other tables; yields to the event loop so the queries keep flowing.
 */
async function preparePhotos(o: ResolvedSeedOptions, aborted: () => boolean): Promise<SeedPhotoFile[]> {
  const total = o.weddings * o.photoFilesPerWedding;
  const files = new Array<SeedPhotoFile>(total);
  let next = 0;
  const worker = async () => {
    while (next < total && !aborted()) {
      const i = next++;
      const n = Math.floor(i / o.photoFilesPerWedding) + 1;
      const j = (i % o.photoFilesPerWedding) + 1;
      const storageKey = photoStorageKey(seedUuid(o.seed, 'wedding', n), j);
      const bytes = photoBytes(o.seed, storageKey);
      files[i] = { storageKey, sha256: sha256Hex(bytes), sizeBytes: bytes.length };
      if (o.writePhoto) await o.writePhoto(storageKey, bytes);
      // A synchronous writer (or none) would otherwise keep the event loop, and the queries, waiting.
      if (i % 64 === 0) await yieldToEventLoop();
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, total) }, worker));
  if (aborted()) throw new WedsyncError('CANCELLED', 'seed aborted');
  return files;
}

async function checkReady(client: pg.ClientBase, timeZone: string): Promise<void> {
  const { rows } = await client.query<{ missing: string[] }>(
    `SELECT array_remove(ARRAY[${[...SEED_TABLES, 'wedsync_change_journal'].map((t) => `CASE WHEN to_regclass('${t}') IS NULL THEN '${t}' END`).join(', ')}], NULL) AS missing`,
  );
  const missing = rows[0]?.missing ?? [];
  if (missing.length > 0) {
    throw new WedsyncError('BAD_INPUT', `the sample schema is missing (no ${missing.join(', ')}); run \`wedsync-backup init\` first`);
  }
  try {
    await client.query('SELECT now() AT TIME ZONE $1', [timeZone]);
  } catch (cause) {
    throw new WedsyncError('BAD_INPUT', `--time-zone ${JSON.stringify(timeZone)} is not known to the database server`, { cause });
  }
}

async function refuseNonEmpty(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ weddings: number; nonempty: string[] }>(
    `SELECT (SELECT count(*)::int FROM weddings) AS weddings,
            array_remove(ARRAY[${SEED_TABLES.map((t) => `CASE WHEN EXISTS (SELECT 1 FROM ${t}) THEN '${t}' END`).join(', ')}], NULL) AS nonempty`,
  );
  const { weddings = 0, nonempty = [] } = rows[0] ?? {};
  if (weddings > 0) throw new WedsyncError('BAD_INPUT', `database already has ${weddings} weddings; use --reset or a fresh database`);
  if (nonempty.length > 0) throw new WedsyncError('BAD_INPUT', `database already has rows in ${nonempty.join(', ')}; use --reset or a fresh database`);
}

/**
 * Triggers off for this transaction only. replica mode skips every ordinary trigger, the change
 * journal's and also the foreign-key checks: the generated rows are consistent by construction
 * (the tests check it), and checking 600,000 rows one by one would dominate the load.
 */
async function bypassTriggers(client: pg.ClientBase): Promise<boolean> {
  await client.query('SAVEPOINT ws_replica');
  try {
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query('RELEASE SAVEPOINT ws_replica');
    return true;
  } catch {
    // Not a superuser (nor granted SET on the parameter): load with triggers on.
    await client.query('ROLLBACK TO SAVEPOINT ws_replica');
    return false;
  }
}

/** YYYY-MM-DD of `now` on the wall calendar of `timeZone`. */
export function calendarDate(now: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(now);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

async function connect(target: pg.ClientBase | string): Promise<{ client: pg.ClientBase; release: () => Promise<void> }> {
  if (typeof target !== 'string') return { client: target, release: async () => undefined };
  const client = new pg.Client({ connectionString: target });
  try {
    await client.connect();
  } catch (cause) {
    await client.end().catch(() => undefined);
    throw new WedsyncError('DB_UNREACHABLE', `cannot connect to the database: ${firstLine(cause)}`, { cause });
  }
  return { client, release: () => client.end() };
}
