-- 003: the change journal, so an incremental backup knows which weddings changed since a snapshot.
--
-- Each change to a sample table writes one row: the table, the wedding it belongs to and the
-- 64-bit id of the writing transaction. Why the transaction id and not seq or changed_at:
-- sequence values and clock times are taken when a row is written, not when its transaction
-- commits, so a transaction that started before snapshot S and commits after it would carry a
-- seq/time "older than S" and be missed by every later incremental. A backup instead records the
-- pg_snapshot it exported (pg_current_snapshot()); the next one reads the journal in its own
-- snapshot and keeps the rows whose writer was NOT visible to the previous one:
--     NOT pg_visible_in_snapshot(xid, prev_snapshot)
-- which is exactly "committed after prev was taken", whatever the interleaving.
-- wedsync_changes_since() below packages that query.
--
-- wedding_id NULL means "any row of table_name may have changed": statement-level entries for the
-- tables that are not wedding-scoped, TRUNCATE, and bulk loads that bypass the triggers (the
-- seed runs with session_replication_role = replica and then writes one such row per table).
-- Anything that writes these tables with triggers disabled must do the same.
--
-- Roles that write the wedding tables need INSERT on wedsync_change_journal and USAGE on its
-- sequence (the triggers run as the writer); this migration grants nothing because it cannot
-- know the application's roles.
-- Pruning: rows with xid < pg_snapshot_xmin(oldest snapshot still used as a base) are dead weight.

CREATE TABLE wedsync_change_journal (
  seq         bigserial   PRIMARY KEY,
  -- The top-level transaction, also when written from a subtransaction (savepoint).
  xid         xid8        NOT NULL DEFAULT pg_current_xact_id(),
  table_name  text        NOT NULL,
  wedding_id  uuid,
  op          char(1)     NOT NULL CHECK (op IN ('I', 'U', 'D', 'T')),
  changed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- Serves "xid >= pg_snapshot_xmin(prev)": everything older is visible to prev by definition.
CREATE INDEX wedsync_change_journal_xid_idx ON wedsync_change_journal (xid);

-- Row level, on wedding-scoped tables. TG_ARGV[0] names the column holding the wedding id
-- ('id' for weddings itself, 'wedding_id' elsewhere). An UPDATE that moves a row to another
-- wedding changed both weddings, so it writes two rows; otherwise one row per row change.
-- AFTER, not BEFORE: only changes that really happened are recorded, and COPY keeps its batched
-- insert path (BEFORE ROW triggers force row-at-a-time inserts).
CREATE FUNCTION wedsync_journal_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  old_wedding uuid;
  new_wedding uuid;
BEGIN
  -- Separate branches, not one CASE: a record field is resolved when the expression is first
  -- run, and weddings has no wedding_id column (nor do the others carry the wedding in id).
  IF TG_ARGV[0] = 'id' THEN
    IF TG_OP <> 'INSERT' THEN old_wedding := OLD.id; END IF;
    IF TG_OP <> 'DELETE' THEN new_wedding := NEW.id; END IF;
  ELSE
    IF TG_OP <> 'INSERT' THEN old_wedding := OLD.wedding_id; END IF;
    IF TG_OP <> 'DELETE' THEN new_wedding := NEW.wedding_id; END IF;
  END IF;

  IF TG_OP = 'UPDATE' AND old_wedding IS DISTINCT FROM new_wedding THEN
    INSERT INTO wedsync_change_journal (table_name, wedding_id, op)
    VALUES (TG_TABLE_NAME, old_wedding, 'U'), (TG_TABLE_NAME, new_wedding, 'U');
  ELSE
    INSERT INTO wedsync_change_journal (table_name, wedding_id, op)
    VALUES (TG_TABLE_NAME, coalesce(new_wedding, old_wedding), left(TG_OP, 1));
  END IF;
  RETURN NULL; -- AFTER trigger: the return value is ignored
END
$$;

-- Statement level: tables without a wedding (organizations, user_profiles) and TRUNCATE anywhere.
CREATE FUNCTION wedsync_journal_statement() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO wedsync_change_journal (table_name, wedding_id, op)
  VALUES (TG_TABLE_NAME, NULL, left(TG_OP, 1));
  RETURN NULL;
END
$$;

CREATE TRIGGER wedsync_journal AFTER INSERT OR UPDATE OR DELETE ON weddings
  FOR EACH ROW EXECUTE FUNCTION wedsync_journal_row('id');
CREATE TRIGGER wedsync_journal AFTER INSERT OR UPDATE OR DELETE ON guests
  FOR EACH ROW EXECUTE FUNCTION wedsync_journal_row('wedding_id');
CREATE TRIGGER wedsync_journal AFTER INSERT OR UPDATE OR DELETE ON timeline_events
  FOR EACH ROW EXECUTE FUNCTION wedsync_journal_row('wedding_id');
CREATE TRIGGER wedsync_journal AFTER INSERT OR UPDATE OR DELETE ON vendors
  FOR EACH ROW EXECUTE FUNCTION wedsync_journal_row('wedding_id');
CREATE TRIGGER wedsync_journal AFTER INSERT OR UPDATE OR DELETE ON photos
  FOR EACH ROW EXECUTE FUNCTION wedsync_journal_row('wedding_id');
-- Per-wedding backup settings are backed up with the wedding, so they are journalled too.
CREATE TRIGGER wedsync_journal AFTER INSERT OR UPDATE OR DELETE ON wedding_backup_settings
  FOR EACH ROW EXECUTE FUNCTION wedsync_journal_row('wedding_id');

CREATE TRIGGER wedsync_journal AFTER INSERT OR UPDATE OR DELETE ON organizations
  FOR EACH STATEMENT EXECUTE FUNCTION wedsync_journal_statement();
CREATE TRIGGER wedsync_journal AFTER INSERT OR UPDATE OR DELETE ON user_profiles
  FOR EACH STATEMENT EXECUTE FUNCTION wedsync_journal_statement();

CREATE TRIGGER wedsync_journal_truncate AFTER TRUNCATE ON weddings
  FOR EACH STATEMENT EXECUTE FUNCTION wedsync_journal_statement();
CREATE TRIGGER wedsync_journal_truncate AFTER TRUNCATE ON guests
  FOR EACH STATEMENT EXECUTE FUNCTION wedsync_journal_statement();
CREATE TRIGGER wedsync_journal_truncate AFTER TRUNCATE ON timeline_events
  FOR EACH STATEMENT EXECUTE FUNCTION wedsync_journal_statement();
CREATE TRIGGER wedsync_journal_truncate AFTER TRUNCATE ON vendors
  FOR EACH STATEMENT EXECUTE FUNCTION wedsync_journal_statement();
CREATE TRIGGER wedsync_journal_truncate AFTER TRUNCATE ON photos
  FOR EACH STATEMENT EXECUTE FUNCTION wedsync_journal_statement();
CREATE TRIGGER wedsync_journal_truncate AFTER TRUNCATE ON wedding_backup_settings
  FOR EACH STATEMENT EXECUTE FUNCTION wedsync_journal_statement();
CREATE TRIGGER wedsync_journal_truncate AFTER TRUNCATE ON organizations
  FOR EACH STATEMENT EXECUTE FUNCTION wedsync_journal_statement();
CREATE TRIGGER wedsync_journal_truncate AFTER TRUNCATE ON user_profiles
  FOR EACH STATEMENT EXECUTE FUNCTION wedsync_journal_statement();

-- What changed since `prev` (a snapshot an earlier backup recorded), as seen by the caller's
-- snapshot: run it inside the new backup's REPEATABLE READ transaction. One row per
-- (table, wedding); wedding_id NULL means the whole table. The xmin bound only lets the index
-- skip rows that prev saw anyway; pg_visible_in_snapshot decides.
CREATE FUNCTION wedsync_changes_since(prev pg_snapshot)
RETURNS TABLE (table_name text, wedding_id uuid)
LANGUAGE sql STABLE AS $$
  SELECT DISTINCT j.table_name, j.wedding_id
  FROM wedsync_change_journal j
  WHERE j.xid >= pg_snapshot_xmin(prev)
    AND NOT pg_visible_in_snapshot(j.xid, prev)
$$;
