-- 009: snapshots of kind point-in-time.
--
-- A point-in-time restore (`wedsync-backup restore --wedding ID --at T`) rebuilds the wedding's
-- rows as they were at T from its tier 1 base snapshot and the local cache's change log, and keeps
-- them as a snapshot of their own in the local repository. Recording it here, with its kind, makes
-- it browsable like every other snapshot (what was restored, from which base), and lets retention
-- forget it like an emergency snapshot (30 days).
-- Runs in one transaction (the migration runner opens it): no BEGIN/COMMIT here.

ALTER TABLE backup_snapshots DROP CONSTRAINT IF EXISTS backup_snapshots_snapshot_type_check;
ALTER TABLE backup_snapshots ADD CONSTRAINT backup_snapshots_snapshot_type_check
  CHECK (snapshot_type IN ('full', 'incremental', 'emergency', 'recovery-point', 'point-in-time'));
