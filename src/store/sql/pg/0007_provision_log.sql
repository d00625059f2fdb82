-- 0007: provision records, PostgreSQL dialect of sql/sqlite/0007_provision_log.sql (read that
-- file: the meaning of every column is the same). id is an identity column (increasing, as
-- SQLite's rowid), query is BYTEA; codes, agencies and times use the "C" collation, so ORDER BY
-- and comparisons are byte order, as on SQLite.
CREATE TABLE provision (
  id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at      TEXT COLLATE "C" NOT NULL,
  agency  TEXT COLLATE "C" NOT NULL,
  purpose TEXT COLLATE "C" NOT NULL,
  code    TEXT COLLATE "C" NOT NULL,
  fields  TEXT NOT NULL,
  result  TEXT NOT NULL,
  query   BYTEA NOT NULL
);
CREATE INDEX provision_by_code ON provision(code);

CREATE INDEX holding_by_person ON holding(birth, sex);

CREATE TRIGGER provision_append_only_u BEFORE UPDATE ON provision
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('the provision records are append-only');
CREATE TRIGGER provision_append_only_d BEFORE DELETE ON provision
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('the provision records are append-only');
CREATE TRIGGER provision_append_only_t BEFORE TRUNCATE ON provision
  FOR EACH STATEMENT EXECUTE FUNCTION jk_refuse('the provision records are append-only');
