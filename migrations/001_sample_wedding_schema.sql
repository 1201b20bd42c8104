-- 001: the sample wedding database of DESIGN.md.
--
-- A real WedSync deployment brings its own schema (the schema map says how to read it); this one
-- exists so the demo, the tests and the benchmarks have a realistic wedding database to protect.
-- Every wedding-scoped table carries wedding_id, indexed, because backups and restores cut the
-- data per wedding. Foreign keys from wedding-scoped tables cascade from weddings so a wedding
-- is deleted as a whole; organizations are never deleted implicitly (NO ACTION).
-- Runs in one transaction (the migration runner opens it): no BEGIN/COMMIT here.

CREATE TABLE organizations (
  id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text        NOT NULL,
  slug        text        NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_profiles (
  id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid        NOT NULL REFERENCES organizations (id),
  email            text        NOT NULL UNIQUE,
  full_name        text,
  role             text        NOT NULL CHECK (role IN ('admin', 'coordinator', 'viewer')),
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_profiles_organization_id_idx ON user_profiles (organization_id);

CREATE TABLE weddings (
  id                    uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id       uuid        NOT NULL REFERENCES organizations (id),
  couple_names          text        NOT NULL,
  wedding_date          date        NOT NULL,
  venue_name            text,
  type                  text        NOT NULL DEFAULT 'standard'
                        CHECK (type IN ('standard', 'destination', 'elopement', 'luxury', 'multi_day')),
  status                text        NOT NULL DEFAULT 'planning'
                        CHECK (status IN ('planning', 'confirmed', 'completed', 'cancelled')),
  guest_count_estimate  integer     CHECK (guest_count_estimate >= 0),
  budget_cents          bigint      CHECK (budget_cents >= 0),
  details               jsonb,
  tags                  text[],
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX weddings_organization_id_idx ON weddings (organization_id);
-- "Which weddings are today / this week" drives criticality and the schedule.
CREATE INDEX weddings_wedding_date_idx ON weddings (wedding_date);

CREATE TABLE vendors (
  id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  wedding_id    uuid        NOT NULL REFERENCES weddings (id) ON DELETE CASCADE,
  name          text        NOT NULL,
  category      text        NOT NULL,
  contact_name  text,
  email         text,
  phone         text,
  notes         text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vendors_wedding_id_idx ON vendors (wedding_id);

CREATE TABLE guests (
  id                    uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  wedding_id            uuid        NOT NULL REFERENCES weddings (id) ON DELETE CASCADE,
  first_name            text        NOT NULL,
  last_name             text,
  email                 text,
  phone                 text,
  rsvp_status           text        NOT NULL DEFAULT 'pending'
                        CHECK (rsvp_status IN ('pending', 'accepted', 'declined', 'tentative')),
  dietary_requirements  text,
  plus_one              boolean     NOT NULL DEFAULT false,
  table_number          integer     CHECK (table_number BETWEEN 1 AND 500),
  tags                  text[],
  metadata              jsonb,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX guests_wedding_id_idx ON guests (wedding_id);

CREATE TABLE timeline_events (
  id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  wedding_id  uuid        NOT NULL REFERENCES weddings (id) ON DELETE CASCADE,
  -- A vendor leaving the wedding must not delete the schedule: the event stays, unassigned.
  vendor_id   uuid        REFERENCES vendors (id) ON DELETE SET NULL,
  title       text        NOT NULL,
  location    text,
  starts_at   timestamptz,
  ends_at     timestamptz,
  notes       text,
  sort_order  integer     NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at >= starts_at)
);
CREATE INDEX timeline_events_wedding_id_idx ON timeline_events (wedding_id);
-- Without it, deleting a vendor (ON DELETE SET NULL) scans every timeline event.
CREATE INDEX timeline_events_vendor_id_idx ON timeline_events (vendor_id);

CREATE TABLE photos (
  id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  wedding_id    uuid        NOT NULL REFERENCES weddings (id) ON DELETE CASCADE,
  -- Key of the file in the photo store (S3 bucket or folder); the bytes never live in PostgreSQL.
  storage_key   text        NOT NULL,
  -- NULL while the file's hash is unknown (metadata-only rows); lowercase hex otherwise.
  sha256        char(64)    CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes    bigint      CHECK (size_bytes >= 0),
  content_type  text,
  caption       text,
  taken_at      timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX photos_wedding_id_idx ON photos (wedding_id);
