import * as W from './seed-words.js';

/**
 * The seed's SQL: one INSERT … SELECT … FROM generate_series per table, so PostgreSQL generates
 * the rows itself (hundreds of thousands per second) instead of Node sending them one by one.
 *
 * Determinism: every "random" choice reads bytes of md5(seed:tag:n) (ws_rand), every id is
 * ws_uuid(seed, tag, n), and every time is derived from :now, :today and :tz. Nothing reads the
 * clock, random() or the session time zone, so the same parameters give byte-identical rows.
 * The md5-per-row is wrapped in `OFFSET 0` subqueries: without that fence the planner would
 * inline the subquery and recompute the hash for every column that uses it.
 *
 * Statements use `:name` placeholders, bound by `bind` to $1, $2… in order of first use.
 */

export interface SeedParams {
  seed: number;
  /** ISO timestamp: "now" for every created_at/updated_at. */
  now: string;
  /** YYYY-MM-DD: the wedding-day calendar's today in `tz`. */
  today: string;
  /** IANA zone in which wedding days run 08:00–23:00. */
  tz: string;
  weddings: number;
  organizations: number;
  guests: number;
  events: number;
  vendors: number;
  photos: number;
  photoFiles: number;
  /** sha256 and size of photo file (wedding n, photo j ≤ photoFiles) at index (n-1)*photoFiles + j. */
  photoSha: string[];
  photoSize: number[];
}

export interface Statement {
  sql: string;
  values: unknown[];
}

/** Replaces `:name` (not `::type`) with positional parameters. Unknown names are an error. */
export function bind(sql: string, params: Record<string, unknown>): Statement {
  const order: string[] = [];
  const text = sql.replace(/(?<![:\w]):([a-z_]+)\b/g, (_, name: string) => {
    if (!(name in params)) throw new Error(`seed SQL uses unknown parameter :${name}`);
    let i = order.indexOf(name);
    if (i < 0) i = order.push(name) - 1;
    return `$${i + 1}`;
  });
  return { sql: text, values: order.map((n) => params[n]) };
}

/** Everything a statement may refer to: the options plus the word lists, typed for PostgreSQL. */
export function allParams(p: SeedParams): Record<string, unknown> {
  return {
    seed: p.seed,
    now: p.now,
    today: p.today,
    tz: p.tz,
    n_weddings: p.weddings,
    n_orgs: p.organizations,
    n_guests: p.guests,
    n_events: p.events,
    n_vendors: p.vendors,
    n_photos: p.photos,
    n_files: p.photoFiles,
    photo_sha: p.photoSha,
    photo_size: p.photoSize,
    first_names: W.FIRST_NAMES,
    last_names: W.LAST_NAMES,
    // ASCII twins for email addresses: ws_pick with the same bytes picks the same index.
    first_ascii: W.FIRST_NAMES.map(asciiFold),
    last_ascii: W.LAST_NAMES.map(asciiFold),
    prefix_ascii: W.VENDOR_PREFIXES.map(asciiFold),
    first_couple: W.FIRST_COUPLE,
    org_names: W.ORGANIZATION_NAMES,
    org_slugs: W.ORGANIZATION_NAMES.map(slugify),
    venues: W.VENUES,
    themes: W.THEMES,
    colours: W.COLOURS,
    wedding_notes: W.WEDDING_NOTES,
    wedding_tags: W.WEDDING_TAGS,
    categories: W.VENDOR_CATEGORIES,
    category_labels: W.VENDOR_CATEGORY_LABELS,
    vendor_prefixes: W.VENDOR_PREFIXES,
    vendor_notes: W.VENDOR_NOTES,
    diets: W.DIETS,
    groups: W.GUEST_GROUPS,
    sides: W.GUEST_SIDES,
    extra_tags: W.GUEST_EXTRA_TAGS,
    relationships: W.RELATIONSHIPS,
    invited_via: W.INVITED_VIA,
    songs: W.SONGS,
    domains: W.EMAIL_DOMAINS,
    locations: W.TIMELINE_LOCATIONS,
    titles: W.TIMELINE_TITLES,
    event_notes: W.TIMELINE_NOTES,
    captions: W.PHOTO_CAPTIONS,
  };
}

/** "Château Lumière Events" → "chateau-lumiere-events"; "O'Connell & Daughters" → "oconnell-daughters". */
export function slugify(name: string): string {
  return latin(name).replace(/'/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** "Siobhán" → "siobhan", "D'Arcy" → "darcy", "Ó Súilleabháin" → "osuilleabhain": email-safe. */
export function asciiFold(name: string): string {
  return latin(name).replace(/[^a-z0-9]/g, '');
}

/** Lowercase without accents; letters that do not decompose (ł, ø, æ, ß…) folded by hand. */
function latin(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[łđøæœß]/g, (c) => ({ ł: 'l', đ: 'd', ø: 'o', æ: 'ae', œ: 'oe', ß: 'ss' })[c] ?? '');
}

/**
 * Session-local helpers (pg_temp: invisible to other sessions, gone with the session; the seed
 * also drops them before committing). Plain SQL expressions, so the planner inlines them. Each
 * comes after the ones it calls: SQL function bodies are checked when they are created.
 */
export const HELPERS = `
-- Version nibble 4 and RFC variant, as seedUuid() does in Node.
CREATE OR REPLACE FUNCTION pg_temp.ws_hex_uuid(m text) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $f$
  SELECT (substr(m, 1, 12) || '4' || substr(m, 14, 3)
          || translate(substr(m, 17, 1), '0123456789abcdef', '89ab89ab89ab89ab') || substr(m, 18))::uuid
$f$;
CREATE OR REPLACE FUNCTION pg_temp.ws_md5(s int, tag text, n bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$ SELECT md5(s::text || ':' || tag || ':' || n::text) $f$;
-- For ids of other rows. A row's own id is ws_hex_uuid(m) with m = ws_md5(…) computed once
-- behind the OFFSET 0 fence: inlined, ws_hex_uuid would evaluate its argument four times.
CREATE OR REPLACE FUNCTION pg_temp.ws_uuid(s int, tag text, n bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $f$ SELECT pg_temp.ws_hex_uuid(pg_temp.ws_md5(s, tag, n)) $f$;
-- 48 pseudo-random bytes for row n of tag.
CREATE OR REPLACE FUNCTION pg_temp.ws_rand(s int, tag text, n bigint) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $f$
  SELECT decode(md5(s::text || ':' || tag || ':' || n::text || ':a')
             || md5(s::text || ':' || tag || ':' || n::text || ':b')
             || md5(s::text || ':' || tag || ':' || n::text || ':c'), 'hex')
$f$;
-- 0..65535 from bytes i, i+1.
CREATE OR REPLACE FUNCTION pg_temp.ws_u16(h bytea, i int) RETURNS int
LANGUAGE sql IMMUTABLE AS $f$ SELECT (get_byte(h, i) << 8) | get_byte(h, i + 1) $f$;
-- 0..99 from bytes i, i+1: "pct < 10" is true for 10% of rows.
CREATE OR REPLACE FUNCTION pg_temp.ws_pct(h bytea, i int) RETURNS int
LANGUAGE sql IMMUTABLE AS $f$ SELECT pg_temp.ws_u16(h, i) % 100 $f$;
CREATE OR REPLACE FUNCTION pg_temp.ws_pick(a text[], h bytea, i int) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$ SELECT a[1 + pg_temp.ws_u16(h, i) % cardinality(a)] $f$;
-- len (≤ 9) decimal digits from bytes i..i+3.
CREATE OR REPLACE FUNCTION pg_temp.ws_digits(h bytea, i int, len int) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
  SELECT lpad(((pg_temp.ws_u16(h, i)::bigint * 65536 + pg_temp.ws_u16(h, i + 2)) % (10::bigint ^ len)::bigint)::text, len, '0')
$f$;
-- A phone number in one of a few national formats, from bytes i..i+5.
CREATE OR REPLACE FUNCTION pg_temp.ws_phone(h bytea, i int) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE get_byte(h, i) % 4
    WHEN 0 THEN '+44 7' || pg_temp.ws_digits(h, i + 1, 3) || ' ' || pg_temp.ws_digits(h, i + 2, 6)
    WHEN 1 THEN '+1 (555) ' || pg_temp.ws_digits(h, i + 1, 3) || '-' || pg_temp.ws_digits(h, i + 2, 4)
    WHEN 2 THEN '+353 8' || (get_byte(h, i + 5) % 10)::text || ' ' || pg_temp.ws_digits(h, i + 1, 3) || ' ' || pg_temp.ws_digits(h, i + 2, 4)
    ELSE '07' || pg_temp.ws_digits(h, i + 1, 3) || ' ' || pg_temp.ws_digits(h, i + 2, 6)
  END
$f$;
`;

export const DROP_HELPERS = `
DROP FUNCTION pg_temp.ws_uuid(int, text, bigint), pg_temp.ws_md5(int, text, bigint), pg_temp.ws_hex_uuid(text),
  pg_temp.ws_rand(int, text, bigint), pg_temp.ws_u16(bytea, int), pg_temp.ws_pct(bytea, int),
  pg_temp.ws_pick(text[], bytea, int), pg_temp.ws_digits(bytea, int, int), pg_temp.ws_phone(bytea, int);
`;

export const ORGANIZATIONS = `
INSERT INTO organizations (id, name, slug, created_at)
SELECT pg_temp.ws_uuid(:seed, 'organization', i),
       (:org_names::text[])[1 + k % cardinality(:org_names::text[])] || CASE WHEN round > 0 THEN ' ' || (round + 1)::text ELSE '' END,
       (:org_slugs::text[])[1 + k % cardinality(:org_slugs::text[])] || CASE WHEN round > 0 THEN '-' || (round + 1)::text ELSE '' END,
       :now::timestamptz - make_interval(days => 400 + pg_temp.ws_u16(h, 0) % 1000, secs => pg_temp.ws_u16(h, 2))
FROM (
  -- k walks the name list from a seed-dependent start; round numbers the laps so slugs stay unique.
  SELECT i, (i - 1 + ((:seed % 1000) + 1000)) % cardinality(:org_names::text[]) AS k,
         (i - 1) / cardinality(:org_names::text[]) AS round,
         pg_temp.ws_rand(:seed, 'organization', i) AS h
  FROM generate_series(1, :n_orgs::int) i OFFSET 0
) g
ORDER BY i`;

export const USER_PROFILES = `
INSERT INTO user_profiles (id, organization_id, email, full_name, role, created_at)
SELECT pg_temp.ws_uuid(:seed, 'user_profile', (i - 1) * 3 + r.n),
       o.id,
       r.role || '@' || o.slug || '.example',
       CASE WHEN pg_temp.ws_pct(h, 4) < 5 THEN NULL
            ELSE pg_temp.ws_pick(:first_names, h, 0) || ' ' || pg_temp.ws_pick(:last_names, h, 2) END,
       r.role,
       o.created_at + make_interval(days => pg_temp.ws_u16(h, 6) % 300, secs => pg_temp.ws_u16(h, 8))
FROM (
  SELECT i, r.n, pg_temp.ws_rand(:seed, 'user_profile', (i - 1) * 3 + r.n) AS h
  FROM generate_series(1, :n_orgs::int) i
  CROSS JOIN (VALUES (1), (2), (3)) r (n) OFFSET 0
) g
JOIN (VALUES (1, 'admin'), (2, 'coordinator'), (3, 'viewer')) r (n, role) ON r.n = g.n
JOIN organizations o ON o.id = pg_temp.ws_uuid(:seed, 'organization', g.i)
ORDER BY i, r.n`;

/**
 * Weddings go into a temporary table first, numbered n, so the per-wedding tables can join
 * on n (their ids derive from n) and reuse each wedding's date without recomputing it.
 * Dates: wedding 1 is today, 2 within 1–3 days, 3 within 4–7, 4 within the month, 5 last week;
 * of the rest 1% are today, 3% this week, 6% this month, and the others spread evenly over
 * a year either side of today.
 */
export const WEDDINGS_STAGE = `
CREATE TEMP TABLE ws_wedding ON COMMIT DROP AS
SELECT n, id, organization_id, couple_names, wedding_date, venue_name, type,
       CASE
         WHEN wedding_date BETWEEN :today::date AND :today::date + 7 THEN 'confirmed'
         WHEN wedding_date < :today::date THEN CASE WHEN pg_temp.ws_pct(h, 20) < 6 THEN 'cancelled' ELSE 'completed' END
         WHEN wedding_date <= :today::date + 90 THEN CASE WHEN pg_temp.ws_pct(h, 20) < 3 THEN 'cancelled' ELSE 'confirmed' END
         ELSE CASE WHEN pg_temp.ws_pct(h, 20) < 40 THEN 'confirmed' WHEN pg_temp.ws_pct(h, 20) < 97 THEN 'planning' ELSE 'cancelled' END
       END AS status,
       CASE WHEN pg_temp.ws_pct(h, 22) < 5 THEN NULL
            WHEN type = 'elopement' THEN 2 + pg_temp.ws_u16(h, 24) % 20
            ELSE greatest(2, :n_guests::int * 3 / 4 + pg_temp.ws_u16(h, 24) % (:n_guests::int / 2 + 1)) END AS guest_count_estimate,
       CASE WHEN pg_temp.ws_pct(h, 26) < 10 THEN NULL
            ELSE (15000 + pg_temp.ws_u16(h, 28) % 60000)::bigint * 100 * CASE type WHEN 'luxury' THEN 4 WHEN 'elopement' THEN 1 ELSE 2 END / 2 END AS budget_cents,
       CASE WHEN pg_temp.ws_pct(h, 30) < 5 THEN NULL
            ELSE jsonb_strip_nulls(jsonb_build_object(
              'theme', pg_temp.ws_pick(:themes, h, 32),
              'colours', jsonb_build_array(pg_temp.ws_pick(:colours, h, 34), pg_temp.ws_pick(:colours, h, 36)),
              'ceremony', jsonb_build_object(
                 'time', to_char(time '11:00' + make_interval(mins => 30 * (get_byte(h, 38) % 12)), 'HH24:MI'),
                 'indoor', get_byte(h, 39) % 2 = 0,
                 'officiant', pg_temp.ws_pick(:first_names, h, 40) || ' ' || pg_temp.ws_pick(:last_names, h, 42)),
              'notes', CASE WHEN pg_temp.ws_pct(h, 44) < 40 THEN pg_temp.ws_pick(:wedding_notes, h, 46) END)) END AS details,
       CASE WHEN get_byte(h, 5) % 10 = 0 THEN NULL
            WHEN get_byte(h, 5) % 10 < 3 THEN '{}'::text[]
            ELSE ARRAY[(:wedding_tags::text[])[1 + t1]]
                 || CASE WHEN get_byte(h, 7) % 2 = 0 THEN ARRAY[(:wedding_tags::text[])[1 + (t1 + 1 + get_byte(h, 9) % (cardinality(:wedding_tags::text[]) - 1)) % cardinality(:wedding_tags::text[])]]
                         ELSE '{}'::text[] END END AS tags,
       created_at,
       created_at + (:now::timestamptz - created_at) * (pg_temp.ws_u16(h, 10) / 65535.0) AS updated_at
FROM (
  SELECT *,
         least(:now::timestamptz - make_interval(hours => 1 + pg_temp.ws_u16(h, 12) % 720),
               (wedding_date - 60 - pg_temp.ws_u16(h, 14) % 400)::timestamp AT TIME ZONE :tz + make_interval(secs => pg_temp.ws_u16(h, 16))) AS created_at
  FROM (
    SELECT n, h, pg_temp.ws_uuid(:seed, 'wedding', n) AS id,
           pg_temp.ws_uuid(:seed, 'organization', 1 + (n - 1) % :n_orgs::int) AS organization_id,
           CASE WHEN n = 1 THEN :first_couple
                ELSE pg_temp.ws_pick(:first_names, h, 0) || ' ' || pg_temp.ws_pick(:last_names, h, 2)
                     || ' & ' || pg_temp.ws_pick(:first_names, h, 4) || ' ' || pg_temp.ws_pick(:last_names, h, 6) END AS couple_names,
           :today::date + CASE
             WHEN n = 1 THEN 0
             WHEN n = 2 THEN 1 + x % 3
             WHEN n = 3 THEN 4 + x % 4
             WHEN n = 4 THEN 8 + x % 23
             WHEN n = 5 THEN -1 - x % 7
             WHEN b < 10 THEN 0
             WHEN b < 40 THEN 1 + x % 7
             WHEN b < 100 THEN 8 + x % 23
             ELSE -365 + x % 731
           END AS wedding_date,
           CASE WHEN pg_temp.ws_pct(h, 18) < 5 THEN NULL ELSE pg_temp.ws_pick(:venues, h, 8) END AS venue_name,
           CASE WHEN ty < 60 THEN 'standard' WHEN ty < 72 THEN 'destination' WHEN ty < 80 THEN 'elopement'
                WHEN ty < 92 THEN 'luxury' ELSE 'multi_day' END AS type,
           (get_byte(h, 3) + get_byte(h, 11)) % cardinality(:wedding_tags::text[]) AS t1
    FROM (
      SELECT n, h, pg_temp.ws_u16(h, 46) AS x, pg_temp.ws_u16(h, 44) % 1000 AS b, pg_temp.ws_pct(h, 42) AS ty
      FROM (SELECT n, pg_temp.ws_rand(:seed, 'wedding', n) AS h FROM generate_series(1, :n_weddings::int) n OFFSET 0) r
    ) r
  ) w
) w`;

export const WEDDINGS = `
INSERT INTO weddings (id, organization_id, couple_names, wedding_date, venue_name, type, status,
                      guest_count_estimate, budget_cents, details, tags, created_at, updated_at)
SELECT id, organization_id, couple_names, wedding_date, venue_name, type, status,
       guest_count_estimate, budget_cents, details, tags, created_at, updated_at
FROM ws_wedding ORDER BY n`;

/**
 * Defaults, except weddings in the next 7 days: backed up every 15–30 minutes and high
 * priority (real-time tier) from the day before until the day after, in the venue's zone.
 */
export const SETTINGS = `
INSERT INTO wedding_backup_settings (wedding_id, backup_frequency_minutes, high_priority_start, high_priority_end, updated_at)
SELECT id,
       CASE WHEN soon THEN 15 + get_byte(uuid_send(id), 15) % 16 ELSE 60 END,
       CASE WHEN soon THEN (wedding_date - 1)::timestamp AT TIME ZONE :tz END,
       CASE WHEN soon THEN (wedding_date + 2)::timestamp AT TIME ZONE :tz END,
       :now::timestamptz
FROM (SELECT n, id, wedding_date, wedding_date BETWEEN :today::date AND :today::date + 7 AS soon FROM ws_wedding) w
ORDER BY n`;

/** Vendor j of a wedding has category j (cycling), so every wedding gets a photographer, a florist… */
export const VENDORS = `
INSERT INTO vendors (id, wedding_id, name, category, contact_name, email, phone, notes, created_at)
SELECT pg_temp.ws_hex_uuid(m), wedding_id,
       prefix || ' ' || (:category_labels::text[])[c],
       (:categories::text[])[c],
       CASE WHEN pg_temp.ws_pct(h, 4) < 10 THEN NULL ELSE first || ' ' || pg_temp.ws_pick(:last_names, h, 6) END,
       CASE WHEN pg_temp.ws_pct(h, 8) < 12 THEN NULL
            ELSE pg_temp.ws_pick(:first_ascii, h, 2) || '@' || pg_temp.ws_pick(:prefix_ascii, h, 0) || '-' || (:categories::text[])[c] || '.example' END,
       CASE WHEN pg_temp.ws_pct(h, 10) < 15 THEN NULL ELSE pg_temp.ws_phone(h, 12) END,
       CASE WHEN pg_temp.ws_pct(h, 18) < 60 THEN NULL ELSE pg_temp.ws_pick(:vendor_notes, h, 20) END,
       least(:now::timestamptz, w_created + make_interval(days => pg_temp.ws_u16(h, 22) % 90, secs => pg_temp.ws_u16(h, 24)))
FROM (
  SELECT k, m, wedding_id, w_created, h, 1 + (j - 1) % cardinality(:categories::text[]) AS c,
         pg_temp.ws_pick(:vendor_prefixes, h, 0) AS prefix, pg_temp.ws_pick(:first_names, h, 2) AS first
  FROM (
    SELECT (w.n - 1) * :n_vendors::int + j AS k, j, w.id AS wedding_id, w.created_at AS w_created,
           pg_temp.ws_md5(:seed, 'vendor', (w.n - 1) * :n_vendors::int + j) AS m,
           pg_temp.ws_rand(:seed, 'vendor', (w.n - 1) * :n_vendors::int + j) AS h
    FROM ws_wedding w CROSS JOIN generate_series(1, :n_vendors::int) j OFFSET 0
  ) r
) v
ORDER BY k`;

export const GUESTS = `
INSERT INTO guests (id, wedding_id, first_name, last_name, email, phone, rsvp_status, dietary_requirements,
                    plus_one, table_number, tags, metadata, created_at, updated_at)
SELECT pg_temp.ws_hex_uuid(m), wedding_id, first, last,
       CASE WHEN pg_temp.ws_pct(h, 6) < 15 THEN NULL
            ELSE pg_temp.ws_pick(:first_ascii, h, 0) || '.' || CASE WHEN last IS NULL THEN 'guest' ELSE pg_temp.ws_pick(:last_ascii, h, 2) END
                 || CASE WHEN get_byte(h, 8) % 3 = 0 THEN (k % 100)::text ELSE '' END
                 || '@' || pg_temp.ws_pick(:domains, h, 9) END,
       CASE WHEN pg_temp.ws_pct(h, 11) < 30 THEN NULL ELSE pg_temp.ws_phone(h, 13) END,
       rsvp,
       CASE WHEN pg_temp.ws_pct(h, 20) < 72 THEN NULL ELSE pg_temp.ws_pick(:diets, h, 22) END,
       plus_one,
       -- Ten to a table, the first ten at table 1 (the top table); none yet for some, none for decliners.
       CASE WHEN rsvp = 'declined' OR get_byte(h, 25) % 20 = 0 THEN NULL ELSE least(500, 1 + (j - 1) / 10) END,
       CASE WHEN get_byte(h, 26) % 12 = 0 THEN NULL
            ELSE ARRAY[pg_temp.ws_pick(:groups, h, 27), pg_temp.ws_pick(:sides, h, 29)]
                 || CASE WHEN get_byte(h, 31) % 6 = 0 THEN ARRAY[pg_temp.ws_pick(:extra_tags, h, 32)] ELSE '{}'::text[] END END,
       CASE WHEN pg_temp.ws_pct(h, 34) < 20 THEN NULL
            ELSE jsonb_strip_nulls(jsonb_build_object(
              'invited_via', pg_temp.ws_pick(:invited_via, h, 36),
              'relationship', pg_temp.ws_pick(:relationships, h, 38),
              'song_request', CASE WHEN get_byte(h, 40) % 4 = 0 THEN pg_temp.ws_pick(:songs, h, 41) END,
              'plus_one_name', CASE WHEN plus_one AND get_byte(h, 43) % 2 = 0 THEN pg_temp.ws_pick(:first_names, h, 44) END,
              'accessibility', CASE WHEN get_byte(h, 46) % 25 = 0 THEN jsonb_build_object('wheelchair', true, 'notes', 'Step-free access to the marquee, please') END)) END,
       created_at,
       created_at + (:now::timestamptz - created_at) * (pg_temp.ws_u16(h, 16) / 65535.0)
FROM (
  SELECT k, m, j, wedding_id, h,
         pg_temp.ws_pick(:first_names, h, 0) AS first,
         CASE WHEN pg_temp.ws_pct(h, 4) < 2 THEN NULL ELSE pg_temp.ws_pick(:last_names, h, 2) END AS last,
         CASE WHEN past THEN CASE WHEN pg_temp.ws_pct(h, 18) < 83 THEN 'accepted' ELSE 'declined' END
              ELSE CASE WHEN pg_temp.ws_pct(h, 18) < 45 THEN 'accepted' WHEN pg_temp.ws_pct(h, 18) < 75 THEN 'pending'
                        WHEN pg_temp.ws_pct(h, 18) < 87 THEN 'declined' ELSE 'tentative' END END AS rsvp,
         get_byte(h, 24) % 5 = 0 AS plus_one,
         least(:now::timestamptz, w_created + make_interval(days => pg_temp.ws_u16(h, 14) % 200, secs => pg_temp.ws_u16(h, 12))) AS created_at
  FROM (
    SELECT (w.n - 1) * :n_guests::int + j AS k, j, w.id AS wedding_id, w.created_at AS w_created,
           w.wedding_date < :today::date AS past,
           pg_temp.ws_md5(:seed, 'guest', (w.n - 1) * :n_guests::int + j) AS m,
           pg_temp.ws_rand(:seed, 'guest', (w.n - 1) * :n_guests::int + j) AS h
    FROM ws_wedding w CROSS JOIN generate_series(1, :n_guests::int) j OFFSET 0
  ) r
) g
ORDER BY k`;

/**
 * The wedding day runs 08:00–23:00 (54,000 s) in :tz. Event j is at location (j-1) mod L, in
 * that location's slot (j-1) div L; the day is cut into equal slots per location and an event
 * starts in the first quarter of its slot and lasts half to three quarters of it, so events at
 * one location never overlap and the last one ends by 23:00.
 */
export const TIMELINE_EVENTS = `
INSERT INTO timeline_events (id, wedding_id, vendor_id, title, location, starts_at, ends_at, notes, sort_order, created_at)
SELECT pg_temp.ws_hex_uuid(m), wedding_id,
       CASE WHEN :n_vendors::int = 0 OR pg_temp.ws_pct(h, 2) >= 60 THEN NULL
            ELSE pg_temp.ws_uuid(:seed, 'vendor', (n - 1) * :n_vendors::int + 1 + pg_temp.ws_u16(h, 4) % greatest(:n_vendors::int, 1)) END,
       -- Titles are listed in the order of a wedding day: early slots get early titles.
       (:titles::text[])[1 + least(cardinality(:titles::text[]) - 1, slot * cardinality(:titles::text[]) / slots + get_byte(h, 0) % 3)],
       (:locations::text[])[1 + (j - 1) % cardinality(:locations::text[])],
       day_start + make_interval(secs => slot * len + pg_temp.ws_u16(h, 6) % (len / 4 + 1)),
       day_start + make_interval(secs => slot * len + pg_temp.ws_u16(h, 6) % (len / 4 + 1)
                                       + len / 2 + pg_temp.ws_u16(h, 8) % (len / 4 + 1)),
       CASE WHEN pg_temp.ws_pct(h, 10) < 70 THEN NULL ELSE pg_temp.ws_pick(:event_notes, h, 12) END,
       j,
       least(:now::timestamptz, w_created + make_interval(days => pg_temp.ws_u16(h, 14) % 120, secs => pg_temp.ws_u16(h, 16)))
FROM (
  SELECT (w.n - 1) * :n_events::int + j AS k, w.n, j, w.id AS wedding_id, w.created_at AS w_created,
         (w.wedding_date + time '08:00') AT TIME ZONE :tz AS day_start,
         (j - 1) / cardinality(:locations::text[]) AS slot,
         slots, 54000 / slots AS len,
         pg_temp.ws_md5(:seed, 'timeline_event', (w.n - 1) * :n_events::int + j) AS m,
         pg_temp.ws_rand(:seed, 'timeline_event', (w.n - 1) * :n_events::int + j) AS h
  FROM ws_wedding w CROSS JOIN generate_series(1, :n_events::int) j
  -- Slots per location; greatest(1, …) because the planner folds constants: 0 would fail even with no rows.
  CROSS JOIN (SELECT greatest(1, (:n_events::int + cardinality(:locations::text[]) - 1) / cardinality(:locations::text[])) AS slots) s
  OFFSET 0
) e
ORDER BY k`;

/**
 * The first :n_files photos of each wedding have a file in the photo store: their sha256 and
 * size come from Node (photoBytes). The others are metadata only: no hash, a plausible size.
 */
export const PHOTOS = `
INSERT INTO photos (id, wedding_id, storage_key, sha256, size_bytes, content_type, caption, taken_at, created_at)
SELECT pg_temp.ws_hex_uuid(m), wedding_id,
       'weddings/' || wedding_id || '/photos/' || j || '.jpg',
       CASE WHEN j <= :n_files::int THEN (:photo_sha::text[])[(n - 1) * :n_files::int + j] END,
       CASE WHEN j <= :n_files::int THEN (:photo_size::bigint[])[(n - 1) * :n_files::int + j]
            WHEN pg_temp.ws_pct(h, 0) < 20 THEN NULL
            ELSE 1500000 + (pg_temp.ws_u16(h, 2)::bigint * 100) END,
       CASE WHEN j > :n_files::int AND pg_temp.ws_pct(h, 4) < 5 THEN NULL ELSE 'image/jpeg' END,
       CASE WHEN pg_temp.ws_pct(h, 6) < 50 THEN NULL ELSE pg_temp.ws_pick(:captions, h, 8) END,
       taken_at,
       least(:now::timestamptz, coalesce(taken_at, w_created) + make_interval(hours => 1 + pg_temp.ws_u16(h, 10) % 72))
FROM (
  SELECT k, m, n, j, wedding_id, w_created, h,
         -- On the day for weddings that happened; an engagement shoot for the others; sometimes unknown.
         CASE WHEN pg_temp.ws_pct(h, 12) < 10 THEN NULL
              WHEN wedding_date <= :today::date
                THEN least(:now::timestamptz, (wedding_date + time '10:00') AT TIME ZONE :tz + make_interval(secs => pg_temp.ws_u16(h, 14) % 43200))
              ELSE least(:now::timestamptz, (wedding_date - 30 - pg_temp.ws_u16(h, 16) % 200 + time '15:00') AT TIME ZONE :tz
                         + make_interval(secs => pg_temp.ws_u16(h, 14) % 7200)) END AS taken_at
  FROM (
    SELECT (w.n - 1) * :n_photos::int + j AS k, w.n, j, w.id AS wedding_id, w.wedding_date, w.created_at AS w_created,
           pg_temp.ws_md5(:seed, 'photo', (w.n - 1) * :n_photos::int + j) AS m,
           pg_temp.ws_rand(:seed, 'photo', (w.n - 1) * :n_photos::int + j) AS h
    FROM ws_wedding w CROSS JOIN generate_series(1, :n_photos::int) j OFFSET 0
  ) r
) p
ORDER BY k`;

/** The tables the seed fills, children last: also the order of the counts it reports. */
export const SEED_TABLES = [
  'organizations', 'user_profiles', 'weddings', 'wedding_backup_settings', 'vendors', 'guests', 'timeline_events', 'photos',
] as const;
export type SeedTable = (typeof SEED_TABLES)[number];

/** Tables with change-journal triggers (migration 003) that the seed loads with triggers off. */
export const JOURNALED_TABLES: readonly SeedTable[] = ['organizations', 'user_profiles', 'weddings', 'wedding_backup_settings', 'vendors', 'guests', 'timeline_events', 'photos'];

export const INSERTS: Record<SeedTable, string> = {
  organizations: ORGANIZATIONS,
  user_profiles: USER_PROFILES,
  weddings: WEDDINGS,
  wedding_backup_settings: SETTINGS,
  vendors: VENDORS,
  guests: GUESTS,
  timeline_events: TIMELINE_EVENTS,
  photos: PHOTOS,
};
