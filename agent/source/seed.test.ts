import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test-support/db.js';
import { migrate } from '../catalog/migrate.js';
import { isWedsyncError } from '../contract/errors.js';
import { parseSeedOptions, photoBytes, seed, SEED_TABLES, seedUuid, type SeedOptions, type SeedResult } from './seed.js';
import { sha256Hex } from './seed-photos.js';

// A fixed "now" and zone: the rows depend on them, and so do the date assertions.
const NOW = new Date('2026-06-13T10:30:00Z');
const TZ = 'Europe/Dublin';
const TODAY = '2026-06-13';
const BASE: SeedOptions = { weddings: 12, seed: 7, now: NOW, timeZone: TZ };

async function withClient<T>(url: string, body: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await body(c);
  } finally {
    await c.end();
  }
}

async function rows<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  return withClient(url, async (c) => (await c.query<T>(sql, values)).rows);
}

/** md5 of every row of every seeded table, in id order: equal only if the data is byte-identical. */
async function tableHashes(url: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of SEED_TABLES) {
    const key = t === 'wedding_backup_settings' ? 'wedding_id' : 'id';
    const r = await rows<{ h: string }>(url, `SELECT md5(string_agg(t::text, ',' ORDER BY ${key})) AS h FROM ${t} t`);
    out[t] = r[0]!.h;
  }
  return out;
}

async function freshDatabase(dbs: TestDatabase[]): Promise<TestDatabase> {
  const db = await createTestDatabase('seed');
  dbs.push(db);
  await migrate(db.url);
  return db;
}

describe('seed', () => {
  const dbs: TestDatabase[] = [];
  let a: TestDatabase;
  let first: SeedResult;
  const written = new Map<string, Buffer>();

  beforeAll(async () => {
    a = await freshDatabase(dbs);
    first = await seed(a.url, { ...BASE, writePhoto: (k, b) => void written.set(k, b) });
  });
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it('inserts exactly the requested rows', async () => {
    const expected = {
      organizations: 1,
      user_profiles: 3,
      weddings: 12,
      wedding_backup_settings: 12,
      vendors: 12 * 20,
      guests: 12 * 150,
      timeline_events: 12 * 50,
      photos: 12 * 100,
    };
    expect(first.counts).toEqual(expected);
    for (const [table, n] of Object.entries(expected)) {
      const [r] = await rows<{ n: number }>(a.url, `SELECT count(*)::int AS n FROM ${table}`);
      expect(r!.n, table).toBe(n);
    }
    expect(first).toMatchObject({ seed: 7, now: NOW.toISOString(), today: TODAY, timeZone: TZ, triggersBypassed: true });
  });

  it('derives the same uuids as seedUuid, all v4-shaped', async () => {
    const ids = await rows<{ id: string }>(a.url, 'SELECT id FROM weddings');
    const expected = Array.from({ length: 12 }, (_, i) => seedUuid(7, 'wedding', i + 1));
    expect(ids.map((r) => r.id).sort()).toEqual(expected.sort());
    for (const t of SEED_TABLES.filter((t) => t !== 'wedding_backup_settings')) {
      const [r] = await rows<{ bad: number }>(
        a.url,
        `SELECT count(*)::int AS bad FROM ${t} WHERE id::text !~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'`,
      );
      expect(r!.bad, t).toBe(0);
    }
  });

  it('is deterministic: same seed and now give byte-identical tables, another seed does not', async () => {
    const b = await freshDatabase(dbs);
    const c = await freshDatabase(dbs);
    await seed(b.url, BASE);
    await seed(c.url, { ...BASE, seed: 8 });
    const [ha, hb, hc] = await Promise.all([tableHashes(a.url), tableHashes(b.url), tableHashes(c.url)]);
    expect(hb).toEqual(ha);
    for (const t of SEED_TABLES) expect(hc[t], t).not.toBe(ha[t]);
  });

  it('writes the first photos of each wedding, with sha256 and size matching the bytes', async () => {
    const photos = await rows<{ storage_key: string; sha256: string; size_bytes: string; wedding_id: string }>(
      a.url,
      'SELECT storage_key, sha256, size_bytes, wedding_id FROM photos WHERE sha256 IS NOT NULL ORDER BY storage_key',
    );
    expect(photos).toHaveLength(12 * 3);
    expect(first.photoFiles).toHaveLength(12 * 3);
    expect(written.size).toBe(12 * 3);
    for (const p of photos) {
      expect(p.storage_key).toMatch(new RegExp(`^weddings/${p.wedding_id}/photos/[123]\\.jpg$`));
      const bytes = photoBytes(7, p.storage_key);
      expect(p.sha256).toBe(sha256Hex(bytes));
      expect(Number(p.size_bytes)).toBe(bytes.length);
      expect(written.get(p.storage_key)?.equals(bytes)).toBe(true);
    }
    const [meta] = await rows<{ n: number; bad_key: number }>(
      a.url,
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE storage_key !~ '^weddings/[0-9a-f-]{36}/photos/[0-9]+\\.jpg$')::int AS bad_key
         FROM photos WHERE sha256 IS NULL`,
    );
    expect(meta).toEqual({ n: 12 * 97, bad_key: 0 });
  });

  it('puts a wedding today, two more within a week, none beyond a year', async () => {
    const [r] = await rows<{ today: number; week: number; min: string; max: string }>(
      a.url,
      `SELECT count(*) FILTER (WHERE wedding_date = $1::date)::int AS today,
              count(*) FILTER (WHERE wedding_date > $1::date AND wedding_date <= $1::date + 7)::int AS week,
              min(wedding_date)::text AS min, max(wedding_date)::text AS max
         FROM weddings`,
      [TODAY],
    );
    expect(r!.today).toBeGreaterThanOrEqual(1);
    expect(r!.week).toBeGreaterThanOrEqual(2);
    expect(r!.min >= '2025-06-13' && r!.max <= '2027-06-13').toBe(true);
    // The weddings of the coming week are backed up every 15–30 minutes and are high priority.
    const settings = await rows<{ soon: boolean; freq: number; hp: boolean }>(
      a.url,
      `SELECT w.wedding_date BETWEEN $1::date AND $1::date + 7 AS soon, s.backup_frequency_minutes AS freq,
              s.high_priority_start IS NOT NULL AS hp
         FROM weddings w JOIN wedding_backup_settings s ON s.wedding_id = w.id`,
      [TODAY],
    );
    for (const s of settings) {
      if (s.soon) expect(s.freq >= 15 && s.freq <= 30 && s.hp).toBe(true);
      else expect(s).toMatchObject({ freq: 60, hp: false });
    }
  });

  it('spreads larger sets over two years, with several weddings today and this week', async () => {
    const d = await freshDatabase(dbs);
    const res = await seed(d.url, {
      weddings: 300, guestsPerWedding: 2, timelineEventsPerWedding: 5, vendorsPerWedding: 3, photosPerWedding: 2, photoFilesPerWedding: 1,
      seed: 2, now: NOW, timeZone: TZ,
    });
    expect(res.counts.organizations).toBe(6);
    expect(res.counts.user_profiles).toBe(18);
    const [r] = await rows<{ today: number; week: number; month: number; old: number; far: number; past: number; future: number; min: string; max: string }>(
      d.url,
      `SELECT count(*) FILTER (WHERE wedding_date = $1::date)::int AS today,
              count(*) FILTER (WHERE wedding_date BETWEEN $1::date + 1 AND $1::date + 7)::int AS week,
              count(*) FILTER (WHERE wedding_date BETWEEN $1::date + 8 AND $1::date + 30)::int AS month,
              count(*) FILTER (WHERE wedding_date < $1::date - 300)::int AS old,
              count(*) FILTER (WHERE wedding_date > $1::date + 300)::int AS far,
              count(*) FILTER (WHERE wedding_date < $1::date)::int AS past,
              count(*) FILTER (WHERE wedding_date > $1::date)::int AS future,
              min(wedding_date)::text AS min, max(wedding_date)::text AS max
         FROM weddings`,
      [TODAY],
    );
    expect(r!.today).toBeGreaterThanOrEqual(3);
    expect(r!.week).toBeGreaterThanOrEqual(5);
    expect(r!.month).toBeGreaterThanOrEqual(10);
    expect(r!.old).toBeGreaterThan(0);
    expect(r!.far).toBeGreaterThan(0);
    expect(r!.past).toBeGreaterThan(100);
    expect(r!.future).toBeGreaterThan(100);
    expect(r!.min >= '2025-06-13' && r!.max <= '2027-06-13').toBe(true);
    const admins = await rows<{ email: string; role: string }>(d.url, `SELECT email, role FROM user_profiles ORDER BY email`);
    expect(admins.filter((u) => u.role === 'admin')).toHaveLength(6);
    for (const u of admins) expect(u.email).toMatch(new RegExp(`^${u.role}@[a-z0-9-]+\\.example$`));
  });

  it('looks real: accents, apostrophes, NULLs, jsonb, arrays, diets, RSVPs, vendor contacts', async () => {
    const [w] = await rows<{ couple_names: string }>(a.url, `SELECT couple_names FROM weddings WHERE id = $1`, [seedUuid(7, 'wedding', 1)]);
    expect(w!.couple_names).toBe("Zoë O'Brien & José Núñez");
    const [g] = await rows<Record<string, number>>(
      a.url,
      `SELECT count(*) FILTER (WHERE first_name ~ '[^\\x01-\\x7f]' OR last_name ~ '[^\\x01-\\x7f]')::int AS accented,
              count(*) FILTER (WHERE last_name LIKE '%''%')::int AS apostrophes,
              count(*) FILTER (WHERE email IS NULL)::int AS no_email,
              count(*) FILTER (WHERE email !~ '^[a-z0-9.]+@[a-z.]+$')::int AS bad_email,
              count(*) FILTER (WHERE phone IS NULL)::int AS no_phone,
              count(*) FILTER (WHERE dietary_requirements = 'nut allergy — severe')::int AS nuts,
              count(*) FILTER (WHERE dietary_requirements IS NULL)::int AS no_diet,
              count(DISTINCT rsvp_status)::int AS rsvps,
              count(*) FILTER (WHERE metadata ? 'relationship')::int AS meta,
              count(*) FILTER (WHERE metadata IS NULL)::int AS no_meta,
              count(*) FILTER (WHERE cardinality(tags) >= 2)::int AS tagged,
              count(*) FILTER (WHERE table_number IS NULL)::int AS no_table,
              max(table_number)::int AS max_table,
              count(*) FILTER (WHERE plus_one)::int AS plus_ones
         FROM guests`,
    );
    for (const k of ['accented', 'apostrophes', 'no_email', 'no_phone', 'nuts', 'no_diet', 'meta', 'no_meta', 'tagged', 'no_table', 'plus_ones']) {
      expect(g![k], k).toBeGreaterThan(0);
    }
    expect(g!.bad_email).toBe(0);
    expect(g!.rsvps).toBe(4);
    expect(g!.max_table).toBe(15);

    const [v] = await rows<Record<string, number>>(
      a.url,
      `SELECT count(DISTINCT category)::int AS categories,
              count(*) FILTER (WHERE category IN ('photographer', 'florist', 'caterer', 'dj', 'venue', 'cake'))::int AS core,
              count(*) FILTER (WHERE email ~ '^[a-z0-9]+@[a-z0-9-]+\\.example$')::int AS emails,
              count(*) FILTER (WHERE phone ~ '^(\\+|0)[0-9 ()-]+$')::int AS phones,
              count(*) FILTER (WHERE notes IS NULL)::int AS no_notes
         FROM vendors`,
    );
    expect(v!.categories).toBe(20);
    expect(v!.core).toBe(12 * 6);
    expect(v!.emails).toBeGreaterThan(150);
    expect(v!.phones).toBeGreaterThan(150);
    expect(v!.no_notes).toBeGreaterThan(0);

    const [d] = await rows<{ details: number; tags: number }>(
      a.url,
      `SELECT count(*) FILTER (WHERE details ? 'theme')::int AS details, count(*) FILTER (WHERE tags IS NOT NULL)::int AS tags FROM weddings`,
    );
    expect(d!.details).toBeGreaterThan(6);
    expect(d!.tags).toBeGreaterThan(6);
  });

  it('keeps every foreign key intact (the load runs with FK triggers off)', async () => {
    const [r] = await rows<Record<string, number>>(
      a.url,
      `SELECT (SELECT count(*) FROM user_profiles u LEFT JOIN organizations o ON o.id = u.organization_id WHERE o.id IS NULL)::int AS profiles,
              (SELECT count(*) FROM weddings w LEFT JOIN organizations o ON o.id = w.organization_id WHERE o.id IS NULL)::int AS weddings,
              (SELECT count(*) FROM guests x LEFT JOIN weddings w ON w.id = x.wedding_id WHERE w.id IS NULL)::int AS guests,
              (SELECT count(*) FROM vendors x LEFT JOIN weddings w ON w.id = x.wedding_id WHERE w.id IS NULL)::int AS vendors,
              (SELECT count(*) FROM photos x LEFT JOIN weddings w ON w.id = x.wedding_id WHERE w.id IS NULL)::int AS photos,
              (SELECT count(*) FROM timeline_events x LEFT JOIN weddings w ON w.id = x.wedding_id WHERE w.id IS NULL)::int AS events,
              (SELECT count(*) FROM wedding_backup_settings x LEFT JOIN weddings w ON w.id = x.wedding_id WHERE w.id IS NULL)::int AS settings,
              -- an event's vendor is one of the same wedding's vendors
              (SELECT count(*) FROM timeline_events e LEFT JOIN vendors v ON v.id = e.vendor_id AND v.wedding_id = e.wedding_id
                WHERE e.vendor_id IS NOT NULL AND v.id IS NULL)::int AS event_vendors,
              (SELECT count(*) FROM timeline_events WHERE vendor_id IS NOT NULL)::int AS with_vendor`,
    );
    const { with_vendor: withVendor, ...orphans } = r!;
    expect(Object.values(orphans).every((n) => n === 0), JSON.stringify(orphans)).toBe(true);
    expect(withVendor).toBeGreaterThan(100);
  });

  it('schedules each wedding day between 08:00 and 23:00 with no overlaps at a location', async () => {
    const [r] = await rows<{ outside: number; overlaps: number; locations: number }>(
      a.url,
      `SELECT (SELECT count(*) FROM timeline_events e JOIN weddings w ON w.id = e.wedding_id
                WHERE (e.starts_at AT TIME ZONE $1)::date <> w.wedding_date
                   OR (e.starts_at AT TIME ZONE $1)::time < '08:00'
                   OR e.ends_at > ((w.wedding_date + time '23:00') AT TIME ZONE $1)
                   OR e.ends_at <= e.starts_at)::int AS outside,
              (SELECT count(*) FROM timeline_events x JOIN timeline_events y
                 ON x.wedding_id = y.wedding_id AND x.location = y.location AND x.id < y.id
                AND tstzrange(x.starts_at, x.ends_at) && tstzrange(y.starts_at, y.ends_at))::int AS overlaps,
              (SELECT count(DISTINCT location) FROM timeline_events)::int AS locations`,
      [TZ],
    );
    expect(r).toEqual({ outside: 0, overlaps: 0, locations: 5 });
  });

  it('refuses to seed a database twice, and reseeds the same rows with reset', async () => {
    const err = await seed(a.url, BASE).catch((e: unknown) => e);
    expect(isWedsyncError(err, 'BAD_INPUT')).toBe(true);
    expect((err as Error).message).toBe('database already has 12 weddings; use --reset or a fresh database');

    const before = await tableHashes(a.url);
    const res = await seed(a.url, { ...BASE, reset: true });
    expect(res.counts.weddings).toBe(12);
    expect(await tableHashes(a.url)).toEqual(before);
    // The TRUNCATE reached the change journal.
    const t = await rows<{ table_name: string }>(a.url, `SELECT DISTINCT table_name FROM wedsync_change_journal WHERE op = 'T' ORDER BY 1`);
    expect(t.map((x) => x.table_name)).toEqual(['guests', 'organizations', 'photos', 'timeline_events', 'user_profiles', 'vendors', 'wedding_backup_settings', 'weddings']);
  });

  it('refuses a database without the schema, pointing at init', async () => {
    const empty = await createTestDatabase('seed');
    dbs.push(empty);
    const err = await seed(empty.url, BASE).catch((e: unknown) => e);
    expect(isWedsyncError(err, 'BAD_INPUT')).toBe(true);
    expect((err as Error).message).toMatch(/run `wedsync-backup init` first/);
  });
});

describe('change journal', () => {
  let db: TestDatabase;
  let load: SeedResult;
  beforeAll(async () => {
    db = await createTestDatabase('journal');
    await migrate(db.url);
    load = await seed(db.url, { weddings: 3, guestsPerWedding: 5, timelineEventsPerWedding: 5, vendorsPerWedding: 3, photosPerWedding: 2, photoFilesPerWedding: 1, seed: 3, now: NOW, timeZone: TZ });
  });
  afterAll(async () => db.drop());

  const w1 = seedUuid(3, 'wedding', 1);
  const w2 = seedUuid(3, 'wedding', 2);
  const w3 = seedUuid(3, 'wedding', 3);

  /** Journal rows written after `since` (a seq), as "table wedding op". */
  async function journalAfter(since: number): Promise<string[]> {
    const r = await rows<{ e: string }>(
      db.url,
      `SELECT table_name || ' ' || coalesce(wedding_id::text, '*') || ' ' || op AS e FROM wedsync_change_journal WHERE seq > $1 ORDER BY seq`,
      [since],
    );
    return r.map((x) => x.e);
  }
  async function lastSeq(): Promise<number> {
    const [r] = await rows<{ s: string | null }>(db.url, 'SELECT max(seq) AS s FROM wedsync_change_journal');
    return Number(r!.s ?? 0);
  }

  it('records the bulk load as one whole-table entry per table', async () => {
    expect(load.triggersBypassed).toBe(true);
    expect(await journalAfter(0)).toEqual([
      'organizations * I', 'user_profiles * I', 'weddings * I', 'wedding_backup_settings * I', 'vendors * I', 'guests * I', 'timeline_events * I', 'photos * I',
    ]);
  });

  it('records ordinary writes against the wedding they belong to', async () => {
    const since = await lastSeq();
    await withClient(db.url, async (c) => {
      await c.query(`UPDATE guests SET dietary_requirements = 'vegan' WHERE id = (SELECT id FROM guests WHERE wedding_id = $1 ORDER BY id LIMIT 1)`, [w2]);
      await c.query(`UPDATE weddings SET venue_name = 'The Boathouse' WHERE id = $1`, [w3]);
      await c.query(`INSERT INTO guests (wedding_id, first_name) VALUES ($1, 'Late Addition')`, [w1]);
      await c.query(`DELETE FROM photos WHERE id = (SELECT id FROM photos WHERE wedding_id = $1 ORDER BY id LIMIT 1)`, [w1]);
      await c.query(`UPDATE organizations SET name = name || ' Ltd'`);
    });
    expect(await journalAfter(since)).toEqual([
      `guests ${w2} U`,
      `weddings ${w3} U`,
      `guests ${w1} I`,
      `photos ${w1} D`,
      'organizations * U',
    ]);
  });

  it('records both weddings when a row moves, and cascaded changes', async () => {
    const since = await lastSeq();
    await withClient(db.url, async (c) => {
      await c.query(`UPDATE guests SET wedding_id = $2 WHERE id = (SELECT id FROM guests WHERE wedding_id = $1 ORDER BY id LIMIT 1)`, [w1, w2]);
    });
    expect(await journalAfter(since)).toEqual([`guests ${w1} U`, `guests ${w2} U`]);

    const since2 = await lastSeq();
    // Deleting a vendor nulls the events that pointed at it (ON DELETE SET NULL): both are journalled.
    const [v] = await rows<{ id: string }>(db.url, `SELECT vendor_id AS id FROM timeline_events WHERE wedding_id = $1 AND vendor_id IS NOT NULL LIMIT 1`, [w3]);
    await withClient(db.url, (c) => c.query('DELETE FROM vendors WHERE id = $1', [v!.id]));
    const entries = await journalAfter(since2);
    expect(entries[0]).toBe(`vendors ${w3} D`);
    expect(entries.length).toBeGreaterThan(1);
    expect(new Set(entries.slice(1))).toEqual(new Set([`timeline_events ${w3} U`]));
  });

  it('tells an incremental about a transaction that was open when the previous snapshot was taken', async () => {
    const slow = new pg.Client({ connectionString: db.url });
    const other = new pg.Client({ connectionString: db.url });
    const backup = new pg.Client({ connectionString: db.url });
    await Promise.all([slow.connect(), other.connect(), backup.connect()]);
    try {
      // Began before the snapshot, writes first (lower seq, earlier changed_at), commits after it.
      await slow.query('BEGIN');
      await slow.query(`UPDATE guests SET phone = NULL WHERE wedding_id = $1`, [w1]);
      // Committed before the snapshot: the previous backup already has it.
      await other.query(`UPDATE vendors SET notes = 'seen' WHERE wedding_id = $1`, [w2]);
      const [{ snap }] = (await backup.query<{ snap: string }>('SELECT pg_current_snapshot()::text AS snap')).rows as [{ snap: string }];
      await slow.query('COMMIT');
      // Committed after the snapshot.
      await other.query(`UPDATE photos SET caption = 'Confetti!' WHERE wedding_id = $1`, [w3]);

      await backup.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const changes = (await backup.query<{ t: string }>(
        `SELECT table_name || ' ' || coalesce(wedding_id::text, '*') AS t FROM wedsync_changes_since($1::pg_snapshot) ORDER BY 1`,
        [snap],
      )).rows.map((r) => r.t);
      await backup.query('COMMIT');
      expect(changes).toEqual([`guests ${w1}`, `photos ${w3}`].sort());
    } finally {
      await slow.query('ROLLBACK').catch(() => undefined);
      await Promise.all([slow.end(), other.end(), backup.end()]);
    }
  });
});

describe('seed without the privilege to switch triggers off', () => {
  let db: TestDatabase;
  const role = `ws_seed_${randomBytes(4).toString('hex')}`;
  beforeAll(async () => {
    db = await createTestDatabase('seedrole');
    await migrate(db.url);
    await withClient(db.url, async (c) => {
      await c.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
      await c.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
      await c.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
      // wedding_backup_settings is under row-level security (005_rls.sql): a loader without a
      // user is the service, which has the all-rows policy.
      await c.query(`GRANT wedsync_service TO ${role}`);
    });
  });
  afterAll(async () => {
    await withClient(db.url, async (c) => {
      await c.query(`DROP OWNED BY ${role}`);
      await c.query(`DROP ROLE ${role}`);
    });
    await db.drop();
  });

  it('loads the same rows with the triggers on, journalling every row', async () => {
    const url = new URL(db.url);
    url.username = role;
    url.password = 'pw';
    const opts: SeedOptions = { weddings: 2, guestsPerWedding: 4, timelineEventsPerWedding: 3, vendorsPerWedding: 2, photosPerWedding: 2, photoFilesPerWedding: 1, seed: 5, now: NOW, timeZone: TZ };
    const res = await seed(url.toString(), opts);
    expect(res.triggersBypassed).toBe(false);
    const [r] = await rows<{ guests: number }>(db.url, `SELECT count(*) FILTER (WHERE table_name = 'guests' AND wedding_id IS NOT NULL)::int AS guests FROM wedsync_change_journal`);
    expect(r!.guests).toBe(8);

    const ref = await createTestDatabase('seedref');
    try {
      await migrate(ref.url);
      await seed(ref.url, opts);
      expect(await tableHashes(url.toString())).toEqual(await tableHashes(ref.url));
    } finally {
      await ref.drop();
    }
  });
});

describe('seed options', () => {
  const bad = async (options: Record<string, unknown>): Promise<string> => {
    // Validation happens before connecting: no database needed.
    const err = await seed('postgres://nobody@127.0.0.1:1/none', options as unknown as SeedOptions).catch((e: unknown) => e);
    expect(isWedsyncError(err, 'BAD_INPUT')).toBe(true);
    return (err as Error).message;
  };

  it('names the option and the value in one line', async () => {
    expect(await bad({ weddings: -3 })).toBe('--weddings must be a positive integer (got -3)');
    expect(await bad({ weddings: 0 })).toBe('--weddings must be a positive integer (got 0)');
    expect(await bad({ weddings: 2.5 })).toBe('--weddings must be a positive integer (got 2.5)');
    expect(await bad({ weddings: 'lots' })).toBe('--weddings must be a positive integer (got "lots")');
    expect(await bad({})).toBe('--weddings must be a positive integer (got nothing)');
    expect(await bad({ weddings: 1_000_000 })).toBe('--weddings must be at most 100000 (got 1000000)');
    expect(await bad({ weddings: 5, guestsPerWedding: -1 })).toBe('--guests-per-wedding must be a non-negative integer (got -1)');
    expect(await bad({ weddings: 5, photosPerWedding: 2, photoFilesPerWedding: 3 })).toBe('--photo-files-per-wedding (3) cannot exceed --photos-per-wedding (2)');
    expect(await bad({ weddings: 5, timeZone: 'Mars/Olympus_Mons' })).toBe('--time-zone must be an IANA time zone such as Europe/Dublin (got "Mars/Olympus_Mons")');
    expect(await bad({ weddings: 5, wedings: 5 })).toBe('unknown seed option: wedings');
    expect(await bad({ weddings: 5, now: new Date('nope') })).toMatch(/^now must be a valid Date/);
  });

  it('fills in the defaults and accepts digit strings from a command line', () => {
    const o = parseSeedOptions({ weddings: '120', seed: '-4' });
    expect(o).toMatchObject({
      weddings: 120, guestsPerWedding: 150, timelineEventsPerWedding: 50, vendorsPerWedding: 20, photosPerWedding: 100,
      photoFilesPerWedding: 3, organizations: 2, seed: -4, reset: false,
    });
    expect(o.now).toBeInstanceOf(Date);
    expect(typeof o.timeZone).toBe('string');
    expect(parseSeedOptions({ weddings: 10 }).organizations).toBe(1);
  });
});
