-- 008: API tokens no longer hold a foreign key to user_profiles.
--
-- 006 referenced user_profiles (ON DELETE CASCADE), which made `TRUNCATE user_profiles` — the
-- seed's --reset, a deployment reloading its users — fail ("cannot truncate a table referenced in
-- a foreign key constraint"). The key is not what keeps a token from outliving its user: every
-- request resolves a token by joining user_profiles (agent/catalog/tokens.ts), so a token whose
-- user is gone resolves to nobody (401), and `token list` shows it no more. The row stays for the
-- audit trail, like a revoked one.
-- Runs in one transaction (the migration runner opens it): no BEGIN/COMMIT here.

ALTER TABLE backup_api_tokens DROP CONSTRAINT IF EXISTS backup_api_tokens_user_id_fkey;
