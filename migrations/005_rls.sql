-- 005: row-level security on the backup catalog (WS-337 access control).
--
-- Backups hold every guest's name, email and phone number, so the catalog rows that describe
-- them (jobs, snapshots, restores, per-wedding settings) are visible only to the people of the
-- organization whose weddings they concern.
--
-- The acting user: current_setting('app.user_id', true), set per transaction by the agent
--   (SELECT set_config('app.user_id', $1, true)) or, on Supabase, mapped from auth.uid() when
--   app.user_id is unset. It is resolved through user_profiles (organization_id, role).
--   No user id, an id that is not a uuid, or no profile: no rows, no writes.
--
-- The matrix (each line is proved by agent/catalog/rls.test.ts with real non-superuser roles):
--   admin        sees and acts on (INSERT/UPDATE/DELETE) every row of their organization.
--   coordinator  sees the snapshots, jobs, operations and settings of their organization's
--                weddings; may start wedding-only restores of those weddings, ask for other
--                restores only as 'awaiting-approval' rows, and start emergency backup jobs of
--                those weddings.
--   viewer       reads only (the same rows a coordinator sees).
--   anyone       never sees another organization's rows; recovery_operations rows are never
--                deleted by a user (the audit trail).
-- Whose row is it:
--   backup_snapshots       organization_ids (written by the backup from the manifest): a row is
--                          visible to each organization it holds; writable by an admin only
--                          when it holds no other organization's data.
--   backup_jobs            the organizations of target_weddings. A job without target weddings
--                          covers the whole database, so every signed-in user may see it; only
--                          the service writes it.
--   recovery_operations    the organizations of affected_weddings (same rule as snapshots).
--   wedding_backup_settings the organization of wedding_id.
-- The wedding ids of a row that spans organizations (a nightly full snapshot) are opaque uuids;
-- the API trims them to the caller's organization before answering.
--
-- Who bypasses RLS, and why (only where it must: scheduling and the jobs it runs):
--   The agent's background work — the scheduler planning slots for every wedding and claiming
--   jobs of every organization (FOR UPDATE SKIP LOCKED), backups writing snapshot rows of every
--   organization, running restores, prune — must see every row. It runs as the role that owns
--   these tables (the one that ran the migrations; PostgreSQL exempts owners from RLS unless
--   FORCE ROW LEVEL SECURITY, which we do not set for that reason) or as a member of
--   wedsync_service, which has an explicit all-rows policy per table below.
--   Everything done on behalf of a person — API requests with a per-user token, Supabase
--   clients — runs as wedsync_app (the agent: SET LOCAL ROLE wedsync_app in the request's
--   transaction) or the client's own role, with app.user_id set: the policies apply.
--
-- Roles (cluster-wide, created here when missing; NOLOGIN — grant them to login roles):
--   wedsync_app      the acting-user role: table privileges below, rows decided by policies.
--   wedsync_service  the agent's background role: all rows of the catalog.
-- The wedding tables themselves (guests, …) are not granted to either: a deployment grants its
-- agent login what backup and restore need.
-- Runs in one transaction (the migration runner opens it): no BEGIN/COMMIT here.

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['wedsync_app', 'wedsync_service'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
        RAISE EXCEPTION 'migration 005 needs the role %: create it first (CREATE ROLE % NOLOGIN) or run the migrations as a role with CREATEROLE', r, r;
      END IF;
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        -- Another database of this cluster created it at the same moment: roles are cluster-wide.
        NULL;
      END;
    END IF;
  END LOOP;
  -- The agent switches to wedsync_app for requests made on a user's behalf (SET LOCAL ROLE),
  -- which needs membership; superusers need none.
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper)
     AND NOT pg_has_role(current_user, 'wedsync_app', 'MEMBER') THEN
    EXECUTE format('GRANT wedsync_app TO %I', current_user);
  END IF;
END
$$;

-- ---------------------------------------------------------------- who is acting

-- The acting user's id, or NULL. Never raises: a malformed app.user_id means "nobody".
CREATE FUNCTION wedsync_acting_user_id() RETURNS uuid
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $$
DECLARE
  v text := nullif(current_setting('app.user_id', true), '');
  uid uuid;
BEGIN
  IF v IS NULL AND to_regprocedure('auth.uid()') IS NOT NULL THEN
    -- Supabase: the signed-in user of the request (dynamic SQL: the function may not exist).
    EXECUTE 'SELECT auth.uid()::text' INTO v;
  END IF;
  IF v IS NULL OR v !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
    RETURN NULL;
  END IF;
  uid := v::uuid;
  RETURN uid;
END
$$;

-- SECURITY DEFINER: the acting role needs no privilege on user_profiles or weddings, and the
-- lookups cannot recurse into policies of those tables. search_path is pinned so a caller
-- cannot shadow the tables.
CREATE FUNCTION wedsync_acting_org() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT organization_id FROM user_profiles WHERE id = wedsync_acting_user_id()
$$;

CREATE FUNCTION wedsync_acting_role() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT role FROM user_profiles WHERE id = wedsync_acting_user_id()
$$;

-- True when every wedding of `ids` exists and belongs to `org` (and there is at least one).
CREATE FUNCTION wedsync_weddings_all_in_org(ids uuid[], org uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT org IS NOT NULL AND cardinality(ids) > 0
     AND (SELECT count(DISTINCT w.id) FROM weddings w WHERE w.id = ANY (ids) AND w.organization_id = org)
         = (SELECT count(DISTINCT i) FROM unnest(ids) i)
$$;

-- True when at least one wedding of `ids` belongs to `org`.
CREATE FUNCTION wedsync_weddings_any_in_org(ids uuid[], org uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT org IS NOT NULL AND EXISTS (SELECT 1 FROM weddings w WHERE w.id = ANY (ids) AND w.organization_id = org)
$$;

CREATE FUNCTION wedsync_wedding_org(id uuid) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT organization_id FROM weddings WHERE weddings.id = wedsync_wedding_org.id
$$;

-- ---------------------------------------------------------------- privileges

GRANT SELECT, INSERT, UPDATE, DELETE ON backup_jobs, backup_snapshots, wedding_backup_settings TO wedsync_app;
-- No DELETE: restores are the audit trail.
GRANT SELECT, INSERT, UPDATE ON recovery_operations TO wedsync_app;
-- The settings journal trigger (003) runs as the writer.
GRANT INSERT ON wedsync_change_journal TO wedsync_app;
GRANT USAGE ON SEQUENCE wedsync_change_journal_seq_seq TO wedsync_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON backup_jobs, backup_snapshots, wedding_backup_settings, backup_agents, backup_maintenance_runs TO wedsync_service;
GRANT SELECT, INSERT, UPDATE ON recovery_operations TO wedsync_service;
GRANT SELECT, INSERT ON wedsync_change_journal TO wedsync_service;
GRANT USAGE ON SEQUENCE wedsync_change_journal_seq_seq TO wedsync_service;

-- ---------------------------------------------------------------- policies

ALTER TABLE backup_snapshots ENABLE ROW LEVEL SECURITY;
ALTER TABLE backup_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE recovery_operations ENABLE ROW LEVEL SECURITY;
ALTER TABLE wedding_backup_settings ENABLE ROW LEVEL SECURITY;

-- The service: every row (scheduling, claiming, writing snapshot rows, running restores).
CREATE POLICY service_all ON backup_snapshots FOR ALL TO wedsync_service USING (true) WITH CHECK (true);
CREATE POLICY service_all ON backup_jobs FOR ALL TO wedsync_service USING (true) WITH CHECK (true);
CREATE POLICY service_all ON recovery_operations FOR ALL TO wedsync_service USING (true) WITH CHECK (true);
CREATE POLICY service_all ON wedding_backup_settings FOR ALL TO wedsync_service USING (true) WITH CHECK (true);

-- Acting users (policies TO PUBLIC: every role that is not the owner or the service).
-- `(SELECT f())` makes each lookup an InitPlan, evaluated once per statement, not per row.

-- backup_snapshots
CREATE POLICY member_read ON backup_snapshots FOR SELECT
  USING (organization_ids && ARRAY[(SELECT wedsync_acting_org())]);
CREATE POLICY admin_insert ON backup_snapshots FOR INSERT
  WITH CHECK ((SELECT wedsync_acting_role()) = 'admin'
              AND cardinality(organization_ids) > 0 AND organization_ids <@ ARRAY[(SELECT wedsync_acting_org())]);
CREATE POLICY admin_update ON backup_snapshots FOR UPDATE
  USING ((SELECT wedsync_acting_role()) = 'admin'
         AND cardinality(organization_ids) > 0 AND organization_ids <@ ARRAY[(SELECT wedsync_acting_org())])
  WITH CHECK (cardinality(organization_ids) > 0 AND organization_ids <@ ARRAY[(SELECT wedsync_acting_org())]);
CREATE POLICY admin_delete ON backup_snapshots FOR DELETE
  USING ((SELECT wedsync_acting_role()) = 'admin'
         AND cardinality(organization_ids) > 0 AND organization_ids <@ ARRAY[(SELECT wedsync_acting_org())]);

-- backup_jobs
CREATE POLICY member_read ON backup_jobs FOR SELECT
  USING ((SELECT wedsync_acting_org()) IS NOT NULL
         AND (cardinality(target_weddings) = 0 OR wedsync_weddings_any_in_org(target_weddings, (SELECT wedsync_acting_org()))));
CREATE POLICY staff_insert ON backup_jobs FOR INSERT
  WITH CHECK (wedsync_weddings_all_in_org(target_weddings, (SELECT wedsync_acting_org()))
              AND ((SELECT wedsync_acting_role()) = 'admin'
                   OR ((SELECT wedsync_acting_role()) = 'coordinator' AND backup_type = 'emergency')));
CREATE POLICY admin_update ON backup_jobs FOR UPDATE
  USING ((SELECT wedsync_acting_role()) = 'admin' AND wedsync_weddings_all_in_org(target_weddings, (SELECT wedsync_acting_org())))
  WITH CHECK (wedsync_weddings_all_in_org(target_weddings, (SELECT wedsync_acting_org())));
CREATE POLICY admin_delete ON backup_jobs FOR DELETE
  USING ((SELECT wedsync_acting_role()) = 'admin' AND wedsync_weddings_all_in_org(target_weddings, (SELECT wedsync_acting_org())));

-- recovery_operations: initiated_by is always the acting user; no DELETE policy (nor grant).
CREATE POLICY member_read ON recovery_operations FOR SELECT
  USING (wedsync_weddings_any_in_org(affected_weddings, (SELECT wedsync_acting_org())));
CREATE POLICY staff_insert ON recovery_operations FOR INSERT
  WITH CHECK (initiated_by = (SELECT wedsync_acting_user_id())
              AND wedsync_weddings_all_in_org(affected_weddings, (SELECT wedsync_acting_org()))
              AND ((SELECT wedsync_acting_role()) = 'admin'
                   OR ((SELECT wedsync_acting_role()) = 'coordinator'
                       AND authorized_by IS NULL
                       AND (recovery_scope = 'wedding-only' OR status = 'awaiting-approval'))));
CREATE POLICY admin_update ON recovery_operations FOR UPDATE
  USING ((SELECT wedsync_acting_role()) = 'admin' AND wedsync_weddings_all_in_org(affected_weddings, (SELECT wedsync_acting_org())))
  WITH CHECK (wedsync_weddings_all_in_org(affected_weddings, (SELECT wedsync_acting_org())));

-- wedding_backup_settings
CREATE POLICY member_read ON wedding_backup_settings FOR SELECT
  USING (wedsync_wedding_org(wedding_id) = (SELECT wedsync_acting_org()));
CREATE POLICY admin_insert ON wedding_backup_settings FOR INSERT
  WITH CHECK ((SELECT wedsync_acting_role()) = 'admin' AND wedsync_wedding_org(wedding_id) = (SELECT wedsync_acting_org()));
CREATE POLICY admin_update ON wedding_backup_settings FOR UPDATE
  USING ((SELECT wedsync_acting_role()) = 'admin' AND wedsync_wedding_org(wedding_id) = (SELECT wedsync_acting_org()))
  WITH CHECK (wedsync_wedding_org(wedding_id) = (SELECT wedsync_acting_org()));
CREATE POLICY admin_delete ON wedding_backup_settings FOR DELETE
  USING ((SELECT wedsync_acting_role()) = 'admin' AND wedsync_wedding_org(wedding_id) = (SELECT wedsync_acting_org()));
