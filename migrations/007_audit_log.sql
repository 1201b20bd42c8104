-- 007: the append-only, hash-chained audit log of sensitive actions.
--
-- One row per sensitive action — restore and undo (started, denied, approved), prune, key
-- changes, API token issue and revoke, settings changes — with who did it (user and label),
-- which organization and weddings it concerned, the outcome and details.
--
-- Append-only, enforced in the database:
--   - privileges: the application roles (wedsync_service, wedsync_app) get SELECT and (service
--     only) INSERT; nobody is granted UPDATE, DELETE or TRUNCATE;
--   - triggers that raise on UPDATE, DELETE and TRUNCATE, which also stop the table's owner.
--     (A superuser can still disable triggers; that is what the hash chain is for.)
-- Hash chain: row_hash = sha256_hex(prev_hash || "\n" || canonical JSON of the row), where
-- prev_hash is the previous row's row_hash (64 zeros for the first row) and seq counts 1, 2, 3…
-- without gaps. The writer (agent/catalog/audit.ts) computes the hash; the insert trigger takes
-- the chain lock and refuses a row that does not extend the current head (wrong seq or
-- prev_hash), so concurrent writers from several agents can never fork the chain.
-- `wedsync-backup audit verify` recomputes every hash: an edited row breaks its own hash, a
-- deleted row breaks the link or the numbering, and the first bad row is named. Deleting the
-- newest rows is only detectable against a head recorded elsewhere (verify prints the head).
-- Runs in one transaction (the migration runner opens it): no BEGIN/COMMIT here.

CREATE TABLE backup_audit_log (
  seq              bigint      PRIMARY KEY CHECK (seq >= 1),
  occurred_at      timestamptz NOT NULL,
  -- restore.start, restore.denied, restore.request, restore.approve, undo.start, prune,
  -- key.add, key.remove, key.rotate-passphrase, token.issue, token.revoke, settings.change…
  action           text        NOT NULL CHECK (action ~ '^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$'),
  outcome          text        NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'denied', 'requested')),
  actor_user_id    uuid,
  -- Who, readable: "user:alice@venue.example", "agent-token", "cli:root@host"…
  actor_label      text        NOT NULL,
  organization_id  uuid,
  wedding_ids      uuid[]      NOT NULL DEFAULT '{}',
  -- What it acted on: "recovery_operation:<id>", "api_token:<id>", "key:<id>"…
  target           text,
  -- Marks for reviewers, e.g. wedding-day-emergency (a coordinator's restore without approver).
  flags            text[]      NOT NULL DEFAULT '{}',
  details          jsonb       NOT NULL DEFAULT '{}',
  prev_hash        text        NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  row_hash         text        NOT NULL CHECK (row_hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX backup_audit_log_occurred_at_idx ON backup_audit_log (occurred_at);
CREATE INDEX backup_audit_log_organization_id_idx ON backup_audit_log (organization_id);

-- The chain lock: the same key agent/catalog/audit.ts takes before reading the head.
CREATE FUNCTION wedsync_audit_check_link() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
  head_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock(8603393110282494722);
  SELECT seq, row_hash INTO head_seq, head_hash FROM backup_audit_log ORDER BY seq DESC LIMIT 1;
  IF NEW.seq IS DISTINCT FROM coalesce(head_seq, 0) + 1
     OR NEW.prev_hash IS DISTINCT FROM coalesce(head_hash, repeat('0', 64)) THEN
    RAISE EXCEPTION 'audit row % does not extend the chain head (seq %)', NEW.seq, coalesce(head_seq, 0)
      USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN NEW;
END
$$;

CREATE FUNCTION wedsync_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'backup_audit_log is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER chain BEFORE INSERT ON backup_audit_log
  FOR EACH ROW EXECUTE FUNCTION wedsync_audit_check_link();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON backup_audit_log
  FOR EACH ROW EXECUTE FUNCTION wedsync_audit_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON backup_audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION wedsync_audit_append_only();

REVOKE ALL ON backup_audit_log FROM PUBLIC;
GRANT SELECT, INSERT ON backup_audit_log TO wedsync_service;
GRANT SELECT ON backup_audit_log TO wedsync_app;

-- Admins read their organization's audit trail; the service reads and appends everything.
ALTER TABLE backup_audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_all ON backup_audit_log FOR ALL TO wedsync_service USING (true) WITH CHECK (true);
CREATE POLICY admin_read ON backup_audit_log FOR SELECT
  USING ((SELECT wedsync_acting_role()) = 'admin' AND organization_id = (SELECT wedsync_acting_org()));
