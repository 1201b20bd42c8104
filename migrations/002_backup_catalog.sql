-- 002: the WS-337 backup catalog.
--
-- The catalog lives in the wedding database itself so several agents can share it and claim work
-- through PostgreSQL (FOR UPDATE SKIP LOCKED on backup_jobs). Snapshot and job ids are not foreign
-- keys between recovery_operations and backup_snapshots on purpose: pruning forgets snapshots,
-- and the audit trail of a restore must outlive the snapshot it came from.
-- Runs in one transaction (the migration runner opens it): no BEGIN/COMMIT here.

CREATE TABLE backup_jobs (
  id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  backup_type       text        NOT NULL
                    CHECK (backup_type IN ('full', 'incremental', 'emergency', 'offsite', 'realtime', 'recovery-point')),
  tier              smallint    CHECK (tier BETWEEN 1 AND 4),
  status            text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  priority_level    integer     NOT NULL DEFAULT 5 CHECK (priority_level BETWEEN 1 AND 10),
  target_weddings   uuid[]      NOT NULL DEFAULT '{}',
  data_types        text[],
  scheduled_at      timestamptz NOT NULL DEFAULT now(),
  started_at        timestamptz,
  completed_at      timestamptz,
  -- Which agent holds the job, until when: an expired lease means the agent died and the job
  -- may be claimed again (attempts counts those claims, max_attempts bounds them).
  claimed_by        text,
  lease_expires_at  timestamptz,
  attempts          integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts      integer     NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  retention_until   timestamptz,
  error_details     jsonb,
  progress          jsonb,
  created_at        timestamptz NOT NULL DEFAULT now(),
  created_by        uuid
);
-- The claim query: pending jobs in schedule order.
CREATE INDEX backup_jobs_status_scheduled_at_idx ON backup_jobs (status, scheduled_at);
CREATE INDEX backup_jobs_created_at_idx ON backup_jobs (created_at);
CREATE INDEX backup_jobs_target_weddings_idx ON backup_jobs USING gin (target_weddings);

CREATE TABLE backup_snapshots (
  id                       uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
  backup_job_id            uuid          REFERENCES backup_jobs (id) ON DELETE SET NULL,
  snapshot_type            text          NOT NULL
                           CHECK (snapshot_type IN ('full', 'incremental', 'emergency', 'recovery-point')),
  tier                     smallint      CHECK (tier BETWEEN 1 AND 4),
  parent_snapshot_id       uuid,
  wedding_ids              uuid[]        NOT NULL DEFAULT '{}',
  organization_ids         uuid[]        NOT NULL DEFAULT '{}',
  data_types               text[],
  table_count              integer,
  wedding_count            integer,
  row_count                bigint,
  photo_count              integer,
  backup_size_bytes        bigint,
  -- Bytes this snapshot added to the repository (the rest was deduplicated).
  bytes_new                bigint,
  compression_ratio        numeric(8, 3),
  data_integrity_hash      text,
  encryption_key_id        text,
  storage_location         text,
  storage_provider         text          CHECK (storage_provider IN ('local', 's3', 'memory')),
  offsite_copies           jsonb         NOT NULL DEFAULT '[]',
  validation_status        text          NOT NULL DEFAULT 'pending'
                           CHECK (validation_status IN ('pending', 'valid', 'corrupted', 'incomplete')),
  validation_completed_at  timestamptz,
  validation_details       jsonb,
  retention_until          timestamptz,
  photo_problems           integer       NOT NULL DEFAULT 0,
  created_at               timestamptz   NOT NULL DEFAULT now(),
  completed_at             timestamptz,
  -- Set by prune: the row stays for the audit trail, the repository no longer has the snapshot.
  forgotten_at             timestamptz
);
CREATE INDEX backup_snapshots_created_at_idx ON backup_snapshots (created_at);
CREATE INDEX backup_snapshots_validation_status_idx ON backup_snapshots (validation_status);
CREATE INDEX backup_snapshots_wedding_ids_idx ON backup_snapshots USING gin (wedding_ids);
CREATE INDEX backup_snapshots_backup_job_id_idx ON backup_snapshots (backup_job_id);

CREATE TABLE recovery_operations (
  id                     uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  operation_type         text        NOT NULL
                         CHECK (operation_type IN ('full-restore', 'selective-restore', 'emergency-restore', 'point-in-time', 'undo')),
  recovery_scope         text        NOT NULL CHECK (recovery_scope IN ('complete', 'selective', 'wedding-only')),
  backup_snapshot_id     uuid,
  -- The recovery point taken before anything changed: what "undo" restores.
  pre_recovery_snapshot  uuid,
  initiated_by           uuid,
  initiated_by_label     text,
  authorized_by          uuid,
  affected_weddings      uuid[]      NOT NULL DEFAULT '{}',
  data_types             text[],
  data_restored          jsonb,
  estimated_duration_ms  integer,
  actual_duration_ms     integer,
  status                 text        NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'awaiting-approval', 'running', 'completed', 'failed', 'cancelled')),
  error_details          jsonb,
  success_metrics        jsonb,
  target_database        text,
  started_at             timestamptz,
  completed_at           timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recovery_operations_created_at_idx ON recovery_operations (created_at);
CREATE INDEX recovery_operations_status_idx ON recovery_operations (status);
CREATE INDEX recovery_operations_affected_weddings_idx ON recovery_operations USING gin (affected_weddings);

CREATE TABLE wedding_backup_settings (
  wedding_id                uuid        PRIMARY KEY REFERENCES weddings (id) ON DELETE CASCADE,
  backup_frequency_minutes  integer     NOT NULL DEFAULT 60 CHECK (backup_frequency_minutes >= 15),
  retention_policy          text        NOT NULL DEFAULT 'standard'
                            CHECK (retention_policy IN ('minimal', 'standard', 'extended', 'permanent')),
  high_priority_start       timestamptz,
  high_priority_end         timestamptz,
  offsite_backup_required   boolean     NOT NULL DEFAULT true,
  realtime_enabled          boolean     NOT NULL DEFAULT true,
  notification_preferences  jsonb       NOT NULL DEFAULT '{}',
  updated_at                timestamptz NOT NULL DEFAULT now(),
  updated_by                uuid,
  CHECK (high_priority_end IS NULL OR high_priority_start IS NULL OR high_priority_end > high_priority_start)
);
