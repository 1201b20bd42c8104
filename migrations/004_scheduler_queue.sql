-- 004: the scheduler and the job queue shared by several agents.
--
-- backup_jobs gains:
--   slot_key    the schedule slot a job was planned for ("t2:2026-06-01T10:15:00.000Z",
--               "t1:<wedding>:<period start>"…). Unique when set: every agent plans the same slots
--               and inserts with ON CONFLICT DO NOTHING, so a slot becomes exactly one job whoever
--               gets there first — also after a database outage, when all agents catch up at once.
--               Jobs started by hand (CLI, API) have none.
--   not_before  a failed job waiting for its retry (backoff): not claimed before this instant.
-- backup_agents: one row per running agent (heartbeat), for status and for operators.
-- backup_maintenance_runs: once-per-slot tasks that are not backups (prune), claimed by the
--   insert of their (task, slot_key) row, so two agents never prune the same night.
-- Runs in one transaction (the migration runner opens it): no BEGIN/COMMIT here.

ALTER TABLE backup_jobs
  ADD COLUMN slot_key   text,
  ADD COLUMN not_before timestamptz;

CREATE UNIQUE INDEX backup_jobs_slot_key_key ON backup_jobs (slot_key) WHERE slot_key IS NOT NULL;

-- The claim query: the most urgent due job first. Partial: finished jobs (nearly all rows) are not in it.
CREATE INDEX backup_jobs_claim_idx ON backup_jobs (priority_level DESC, scheduled_at, id)
  WHERE status IN ('pending', 'running');

-- "Newest planned slot per tier" for the scheduler's catch-up.
CREATE INDEX backup_jobs_tier_scheduled_at_idx ON backup_jobs (tier, scheduled_at DESC) WHERE slot_key IS NOT NULL;

CREATE TABLE backup_agents (
  agent_id      text        PRIMARY KEY,
  hostname      text        NOT NULL,
  pid           integer     NOT NULL,
  version       text,
  started_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  stopped_at    timestamptz,
  -- Lanes and their concurrency, what it handles: for operators, never read back by agents.
  info          jsonb       NOT NULL DEFAULT '{}'
);

CREATE TABLE backup_maintenance_runs (
  task          text        NOT NULL CHECK (task IN ('prune', 'prune-offsite')),
  slot_key      text        NOT NULL,
  claimed_by    text        NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  completed_at  timestamptz,
  outcome       jsonb,
  PRIMARY KEY (task, slot_key)
);
