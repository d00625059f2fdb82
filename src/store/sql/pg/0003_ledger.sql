-- 0003: the ledger (操作履歴), PostgreSQL dialect of sql/sqlite/0003_ledger.sql (read that file:
-- the meaning of every table and column is the same). Hashes and signatures are BYTEA.
CREATE TABLE ledger (
  seq      BIGINT PRIMARY KEY,
  at       TEXT NOT NULL,
  operator TEXT NOT NULL,
  role     TEXT NOT NULL,
  terminal TEXT NOT NULL,
  action   TEXT NOT NULL,
  object   TEXT NOT NULL,
  result   TEXT NOT NULL,
  detail   BYTEA NOT NULL,
  leaf     BYTEA NOT NULL
);
-- The same segmented object index as on SQLite (seq >> 14: 16,384 entries per segment), an
-- expression index; the backend's search names the same expression, segment by segment.
CREATE INDEX ledger_by_object ON ledger((seq >> 14), object);

CREATE TABLE ledger_subtree (
  level INTEGER NOT NULL,
  idx   BIGINT NOT NULL,
  hash  BYTEA NOT NULL,
  PRIMARY KEY (level, idx)
);

CREATE TABLE ledger_head (
  size BIGINT PRIMARY KEY,
  root BYTEA NOT NULL,
  at   TEXT NOT NULL,
  sig  BYTEA NOT NULL
);

CREATE TRIGGER ledger_append_only_u BEFORE UPDATE ON ledger
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('the ledger is append-only');
CREATE TRIGGER ledger_append_only_d BEFORE DELETE ON ledger
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('the ledger is append-only');
CREATE TRIGGER ledger_append_only_t BEFORE TRUNCATE ON ledger
  FOR EACH STATEMENT EXECUTE FUNCTION jk_refuse('the ledger is append-only');
CREATE TRIGGER ledger_subtree_append_only_u BEFORE UPDATE ON ledger_subtree
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('the ledger is append-only');
CREATE TRIGGER ledger_subtree_append_only_d BEFORE DELETE ON ledger_subtree
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('the ledger is append-only');
CREATE TRIGGER ledger_subtree_append_only_t BEFORE TRUNCATE ON ledger_subtree
  FOR EACH STATEMENT EXECUTE FUNCTION jk_refuse('the ledger is append-only');
CREATE TRIGGER ledger_head_append_only_u BEFORE UPDATE ON ledger_head
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('the ledger is append-only');
CREATE TRIGGER ledger_head_append_only_d BEFORE DELETE ON ledger_head
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('the ledger is append-only');
CREATE TRIGGER ledger_head_append_only_t BEFORE TRUNCATE ON ledger_head
  FOR EACH STATEMENT EXECUTE FUNCTION jk_refuse('the ledger is append-only');
