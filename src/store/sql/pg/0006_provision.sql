-- 0006: provision to national agencies, PostgreSQL dialect of sql/sqlite/0006_provision.sql
-- (read that file: the meaning of every column is the same). Ids use the "C" collation, so
-- ORDER BY id is byte order, as on SQLite.
CREATE TABLE agency (
  id         TEXT COLLATE "C" PRIMARY KEY,
  name       TEXT NOT NULL,
  purposes   TEXT NOT NULL,
  rate       INTEGER NOT NULL,
  added_at   TEXT NOT NULL,
  revoked_at TEXT
);
