-- 0008: the residents' side, PostgreSQL dialect of sql/sqlite/0008_rights.sql (read that file:
-- the meaning of every column is the same). resident_request.id is an identity column
-- (increasing, as SQLite's rowid); codes, node ids and times use the "C" collation, so ORDER BY
-- is byte order, as on SQLite. The guards are jk_refuse() triggers (0002), TRUNCATE included.
CREATE TABLE resident_request (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code        TEXT COLLATE "C" NOT NULL,
  kind        TEXT NOT NULL,
  channel     TEXT NOT NULL,
  filed_on    TEXT NOT NULL,
  recorded_at TEXT COLLATE "C" NOT NULL,
  recorded_by TEXT COLLATE "C" NOT NULL,
  policy      TEXT NOT NULL,
  purposes    TEXT NOT NULL,
  note        TEXT NOT NULL,
  decision    TEXT NOT NULL,
  decided_at  TEXT COLLATE "C" NOT NULL,
  decided_by  TEXT COLLATE "C" NOT NULL,
  reason      TEXT NOT NULL
);
CREATE INDEX resident_request_by_code ON resident_request(code);

CREATE TRIGGER resident_request_decide_once BEFORE UPDATE ON resident_request FOR EACH ROW
  WHEN (OLD.decision IS DISTINCT FROM '' OR NEW.decision IS NULL
        OR NEW.decision NOT IN ('accepted', 'rejected', 'recorded')
        OR NEW.id IS DISTINCT FROM OLD.id OR NEW.code IS DISTINCT FROM OLD.code
        OR NEW.kind IS DISTINCT FROM OLD.kind OR NEW.channel IS DISTINCT FROM OLD.channel
        OR NEW.filed_on IS DISTINCT FROM OLD.filed_on OR NEW.recorded_at IS DISTINCT FROM OLD.recorded_at
        OR NEW.recorded_by IS DISTINCT FROM OLD.recorded_by OR NEW.policy IS DISTINCT FROM OLD.policy
        OR NEW.purposes IS DISTINCT FROM OLD.purposes OR NEW.note IS DISTINCT FROM OLD.note)
  EXECUTE FUNCTION jk_refuse('a resident request is kept as filed (only a pending one may be decided, once)');
CREATE TRIGGER resident_request_never_deleted BEFORE DELETE ON resident_request
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('resident requests are never deleted');
CREATE TRIGGER resident_request_never_truncated BEFORE TRUNCATE ON resident_request
  FOR EACH STATEMENT EXECUTE FUNCTION jk_refuse('resident requests are never deleted');

CREATE TABLE holdback (
  code      TEXT COLLATE "C" PRIMARY KEY,
  since     TEXT COLLATE "C" NOT NULL,
  request   BIGINT NOT NULL,
  erase_seq BIGINT NOT NULL
);

CREATE TABLE scrub_pending (
  source TEXT COLLATE "C" NOT NULL,
  seq    BIGINT NOT NULL,
  code   TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (source, seq)
);
