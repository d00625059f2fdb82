-- 0009: residents' restrictions, PostgreSQL dialect of sql/sqlite/0009_restrictions.sql (read
-- that file: the meaning of every column is the same). protection.id is an identity column
-- (increasing, as SQLite's rowid); codes, node ids and times use the "C" collation, so ORDER BY
-- is byte order, as on SQLite. The guards are jk_refuse() triggers (0002), TRUNCATE included.
-- provision.result (0007) has no CHECK: REVIEW and STOPPED need no change here.
CREATE TABLE restriction (
  code     TEXT COLLATE "C" NOT NULL,
  source   TEXT COLLATE "C" NOT NULL,
  seq      BIGINT NOT NULL,
  protect  INTEGER NOT NULL,
  since    TEXT NOT NULL,
  until    TEXT NOT NULL,
  purposes TEXT NOT NULL,
  PRIMARY KEY (code, source)
);

CREATE TABLE protection (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code        TEXT COLLATE "C" NOT NULL,
  offenders   TEXT NOT NULL,
  status      TEXT NOT NULL,
  applied_on  TEXT NOT NULL,
  until       TEXT NOT NULL,
  recorded_at TEXT COLLATE "C" NOT NULL,
  recorded_by TEXT COLLATE "C" NOT NULL,
  decided_at  TEXT COLLATE "C" NOT NULL,
  decided_by  TEXT COLLATE "C" NOT NULL,
  note        TEXT NOT NULL
);
CREATE INDEX protection_by_code ON protection(code);

CREATE TRIGGER protection_kept_as_entered BEFORE UPDATE ON protection FOR EACH ROW
  WHEN (NEW.id IS DISTINCT FROM OLD.id OR NEW.code IS DISTINCT FROM OLD.code
        OR NEW.offenders IS DISTINCT FROM OLD.offenders OR NEW.applied_on IS DISTINCT FROM OLD.applied_on
        OR NEW.recorded_at IS DISTINCT FROM OLD.recorded_at OR NEW.recorded_by IS DISTINCT FROM OLD.recorded_by)
  EXECUTE FUNCTION jk_refuse('a support measure keeps its resident, offenders, application date and entry');
CREATE TRIGGER protection_never_deleted BEFORE DELETE ON protection
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('support measures are never deleted');
CREATE TRIGGER protection_never_truncated BEFORE TRUNCATE ON protection
  FOR EACH STATEMENT EXECUTE FUNCTION jk_refuse('support measures are never deleted');
