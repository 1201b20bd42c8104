-- 006: per-user API tokens.
--
-- The agent's HTTP API accepts its own token (the service, kept in WEDSYNC_HOME/agent-token) and
-- tokens issued to a user_profile by `wedsync-backup token create --user EMAIL`. A token is 256
-- random bits shown once; only its SHA-256 is stored (a fast hash is enough for a random secret
-- of that size: there is nothing to guess, unlike a password), so a stolen catalog yields no
-- usable token. A token is revoked by setting revoked_at; rows are kept for the audit trail.
-- A token acts as its user: role and organization come from user_profiles at each request, so
-- changing a user's role takes effect at once and deleting the user ends their tokens.
-- Runs in one transaction (the migration runner opens it): no BEGIN/COMMIT here.

CREATE TABLE backup_api_tokens (
  id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid        NOT NULL REFERENCES user_profiles (id) ON DELETE CASCADE,
  label         text        NOT NULL DEFAULT '' CHECK (length(label) <= 200),
  -- Lowercase hex SHA-256 of the whole token string.
  token_hash    text        NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  -- The first characters of the token, to tell tokens apart in `token list` (no secret: 4 of 43 random characters).
  token_prefix  text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    text,
  expires_at    timestamptz,
  last_used_at  timestamptz,
  revoked_at    timestamptz,
  revoked_by    text
);
CREATE INDEX backup_api_tokens_user_id_idx ON backup_api_tokens (user_id);

-- Tokens are the service's business: no user-facing policy, so under RLS a user sees none.
ALTER TABLE backup_api_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_all ON backup_api_tokens FOR ALL TO wedsync_service USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON backup_api_tokens TO wedsync_service;
