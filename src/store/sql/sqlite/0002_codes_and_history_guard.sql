-- 0002: codes retired by 住民票コード変更 are kept for good (a code is never reused), the
-- history becomes append-only at the database level, and addresses get a search index.
CREATE TABLE retired_code (
  code        TEXT PRIMARY KEY,
  resident_id INTEGER NOT NULL,
  retired_on  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER resident_version_append_only_u BEFORE UPDATE ON resident_version
BEGIN SELECT RAISE(ABORT, 'resident_version is append-only'); END;
CREATE TRIGGER resident_version_append_only_d BEFORE DELETE ON resident_version
BEGIN SELECT RAISE(ABORT, 'resident_version is append-only'); END;
CREATE TRIGGER retired_code_append_only_u BEFORE UPDATE ON retired_code
BEGIN SELECT RAISE(ABORT, 'retired_code is append-only'); END;
CREATE TRIGGER retired_code_append_only_d BEFORE DELETE ON retired_code
BEGIN SELECT RAISE(ABORT, 'retired_code is append-only'); END;

CREATE INDEX resident_address_key ON resident(address_key);

-- A resident is never deleted: removal (消除) is a version with status 2, and the row keeps
-- the code assigned for good (REQ-CODE-2, REQ-HIST-1).
CREATE TRIGGER resident_never_deleted BEFORE DELETE ON resident
BEGIN SELECT RAISE(ABORT, 'residents are never deleted; removal (消除) is a move'); END;
