-- 0005: sync, PostgreSQL dialect of sql/sqlite/0005_sync.sql (read that file: the meaning of
-- every table and column is the same). Hashes, signatures and encodings are BYTEA. Node ids,
-- resident codes and the times that are compared use the "C" collation, so ORDER BY and > compare
-- bytes as SQLite's BINARY does.
CREATE TABLE notice_log (
  source TEXT COLLATE "C" NOT NULL,
  seq    BIGINT NOT NULL,
  code   TEXT COLLATE "C" NOT NULL,
  enc    BYTEA,                -- NULL once scrubbed
  leaf   BYTEA NOT NULL,
  PRIMARY KEY (source, seq)
);
CREATE INDEX notice_log_code ON notice_log(code);

CREATE TABLE notice_subtree (
  source TEXT COLLATE "C" NOT NULL,
  level  INTEGER NOT NULL,
  idx    BIGINT NOT NULL,
  hash   BYTEA NOT NULL,
  PRIMARY KEY (source, level, idx)
);

CREATE TABLE outbox_head (
  node TEXT COLLATE "C" NOT NULL,
  size BIGINT NOT NULL,
  root BYTEA NOT NULL,
  at   TEXT COLLATE "C" NOT NULL,
  sig  BYTEA NOT NULL,
  PRIMARY KEY (node, size)
);

CREATE TABLE holding (
  code      TEXT COLLATE "C" NOT NULL,
  source    TEXT COLLATE "C" NOT NULL,
  seq       BIGINT NOT NULL,
  version   INTEGER NOT NULL,
  name      TEXT NOT NULL,
  kana      TEXT NOT NULL,
  address   TEXT NOT NULL,
  prev_code TEXT,
  birth     TEXT,
  moved_on  TEXT,
  sex       INTEGER NOT NULL,
  reason    INTEGER NOT NULL,
  status    INTEGER NOT NULL,
  PRIMARY KEY (code, source)
);
CREATE INDEX holding_source ON holding(source, code);

CREATE TABLE peer (
  node     TEXT COLLATE "C" PRIMARY KEY,
  lgcode   TEXT NOT NULL,
  role     TEXT NOT NULL,
  pubkey   BYTEA NOT NULL,
  cert_pem TEXT NOT NULL,
  seen_at  TEXT NOT NULL
);

CREATE TABLE sync_ack (
  sender TEXT COLLATE "C" PRIMARY KEY,
  size   BIGINT NOT NULL,
  root   BYTEA NOT NULL,
  at     TEXT NOT NULL
);

CREATE TABLE receipt (
  receiver    TEXT COLLATE "C" NOT NULL,
  source      TEXT COLLATE "C" NOT NULL,
  sender      TEXT COLLATE "C" NOT NULL,
  highest_seq BIGINT NOT NULL,
  ledger_size BIGINT NOT NULL,
  ledger_root BYTEA NOT NULL,
  at          TEXT COLLATE "C" NOT NULL,
  sig         BYTEA NOT NULL,
  PRIMARY KEY (receiver, source)
);

-- Append-only, except the scrub (enc set to NULL, every other column as it was).
CREATE TRIGGER notice_log_append_only_u BEFORE UPDATE ON notice_log FOR EACH ROW
  WHEN (NEW.enc IS NOT NULL OR NEW.source IS DISTINCT FROM OLD.source OR NEW.seq IS DISTINCT FROM OLD.seq
        OR NEW.code IS DISTINCT FROM OLD.code OR NEW.leaf IS DISTINCT FROM OLD.leaf)
  EXECUTE FUNCTION jk_refuse('the notice log is append-only (only an encoding may be scrubbed)');
CREATE TRIGGER notice_log_append_only_d BEFORE DELETE ON notice_log
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('the notice log is append-only');
CREATE TRIGGER notice_log_append_only_t BEFORE TRUNCATE ON notice_log
  FOR EACH STATEMENT EXECUTE FUNCTION jk_refuse('the notice log is append-only');
CREATE TRIGGER notice_subtree_append_only_u BEFORE UPDATE ON notice_subtree
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('the notice log is append-only');
CREATE TRIGGER notice_subtree_append_only_d BEFORE DELETE ON notice_subtree
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('the notice log is append-only');
CREATE TRIGGER notice_subtree_append_only_t BEFORE TRUNCATE ON notice_subtree
  FOR EACH STATEMENT EXECUTE FUNCTION jk_refuse('the notice log is append-only');
CREATE TRIGGER outbox_head_keep_root BEFORE UPDATE ON outbox_head FOR EACH ROW
  WHEN (NEW.node IS DISTINCT FROM OLD.node OR NEW.size IS DISTINCT FROM OLD.size
        OR NEW.root IS DISTINCT FROM OLD.root)
  EXECUTE FUNCTION jk_refuse('a signed outbox head keeps its root');
CREATE TRIGGER outbox_head_never_deleted BEFORE DELETE ON outbox_head
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('signed outbox heads are never deleted');
CREATE TRIGGER outbox_head_never_truncated BEFORE TRUNCATE ON outbox_head
  FOR EACH STATEMENT EXECUTE FUNCTION jk_refuse('signed outbox heads are never deleted');
