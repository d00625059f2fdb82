-- 0010: the provision records' code index built in sorted batches, PostgreSQL dialect of
-- sql/sqlite/0010_provision_index.sql (read that file: why, and the meaning of every column, are
-- the same). One random index insert per answer (provision_by_code, 0007) was the query
-- service's largest cost; jk_store_provision_index now adds the codes a few thousand rows at a
-- time, sorted. provision_code.code uses the "C" collation as provision.code does (byte order,
-- as on SQLite); ids are BIGINT as provision.id. The guards are jk_refuse() triggers (0002),
-- TRUNCATE included. The backfill reads the old index before dropping it.
CREATE TABLE provision_code (
  bucket BIGINT NOT NULL,  -- id >> 16: a batch lands in one bucket's small subtree
  code   TEXT COLLATE "C" NOT NULL,
  id     BIGINT NOT NULL,
  PRIMARY KEY (bucket, code, id)
);

INSERT INTO provision_code (bucket, code, id)
  SELECT id >> 16, code, id FROM provision WHERE code <> '' ORDER BY id >> 16, code, id;

DROP INDEX provision_by_code;

CREATE TABLE provision_indexed (
  one  INTEGER PRIMARY KEY CHECK (one = 1),
  upto BIGINT NOT NULL
);
INSERT INTO provision_indexed (one, upto) SELECT 1, coalesce(max(id), 0) FROM provision;

CREATE TRIGGER provision_code_append_only_u BEFORE UPDATE ON provision_code
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('the provision index is append-only');
CREATE TRIGGER provision_code_append_only_d BEFORE DELETE ON provision_code
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('the provision index is append-only');
CREATE TRIGGER provision_code_append_only_t BEFORE TRUNCATE ON provision_code
  FOR EACH STATEMENT EXECUTE FUNCTION jk_refuse('the provision index is append-only');
CREATE TRIGGER provision_indexed_only_up BEFORE UPDATE ON provision_indexed FOR EACH ROW
  WHEN (NEW.one IS DISTINCT FROM OLD.one OR NEW.upto IS NULL OR NEW.upto < OLD.upto)
  EXECUTE FUNCTION jk_refuse('the provision watermark only moves up');
CREATE TRIGGER provision_indexed_kept BEFORE DELETE ON provision_indexed
  FOR EACH ROW EXECUTE FUNCTION jk_refuse('the provision watermark only moves up');
CREATE TRIGGER provision_indexed_kept_t BEFORE TRUNCATE ON provision_indexed
  FOR EACH STATEMENT EXECUTE FUNCTION jk_refuse('the provision watermark only moves up');
