-- 0002: retired codes kept for good, the history append-only at the database level, and an
-- address search index (PostgreSQL dialect of sql/sqlite/0002_codes_and_history_guard.sql).
-- jk_refuse() is the RAISE(ABORT, ...) of the SQLite triggers: it raises SQLSTATE 23000
-- (integrity_constraint_violation), which the backend maps to JK_ECONFLICT as SQLite's
-- SQLITE_CONSTRAINT is. TRUNCATE skips row triggers, so it gets a statement trigger too.
CREATE TABLE retired_code (
  code        TEXT PRIMARY KEY,
  resident_id BIGINT NOT NULL,
  retired_on  TEXT NOT NULL
);

CREATE FUNCTION jk_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER resident_version_append_only_u BEFORE UPDATE ON resident_version
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('resident_version is append-only');
CREATE TRIGGER resident_version_append_only_d BEFORE DELETE ON resident_version
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('resident_version is append-only');
CREATE TRIGGER resident_version_append_only_t BEFORE TRUNCATE ON resident_version
  FOR EACH STATEMENT EXECUTE FUNCTION jk_refuse('resident_version is append-only');
CREATE TRIGGER retired_code_append_only_u BEFORE UPDATE ON retired_code
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('retired_code is append-only');
CREATE TRIGGER retired_code_append_only_d BEFORE DELETE ON retired_code
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('retired_code is append-only');
CREATE TRIGGER retired_code_append_only_t BEFORE TRUNCATE ON retired_code
  FOR EACH STATEMENT EXECUTE FUNCTION jk_refuse('retired_code is append-only');

CREATE INDEX resident_address_key ON resident(address_key);

-- A resident is never deleted: removal (消除) is a version with status 2 (REQ-CODE-2, REQ-HIST-1).
CREATE TRIGGER resident_never_deleted BEFORE DELETE ON resident
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('residents are never deleted; removal (消除) is a move');
CREATE TRIGGER resident_never_truncated BEFORE TRUNCATE ON resident
  FOR EACH STATEMENT EXECUTE FUNCTION jk_refuse('residents are never deleted; removal (消除) is a move');
