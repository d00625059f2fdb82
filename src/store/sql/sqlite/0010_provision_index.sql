-- 0010: the provision records' code index, built in sorted batches (docs/provision.md).
--
-- Why: the agency query service writes one provision row per answer, in group commits. The
-- index provision_by_code (0007) cost one random index insert per answer, each dirtying a page
-- of its own (the WAL wrote ~70 pages per commit): with 1.6 M rows, dropping it raised the
-- service from 8,300 to 13,500-14,000 answers/s. The index serves only the resident's
-- disclosure (jk_store_provision_each by code), which is rare. So the rows are indexed
-- afterwards, a few thousand at a time, in one sorted INSERT (neighbouring keys share pages):
-- jk_store_provision_index, which the query service calls every few thousand answers.
--
-- provision_code     (code, id) of every provision row with a non-empty code and an id up to
--            the watermark; nothing else. Rows are only added (the triggers stop accidents).
--            No foreign key: the rows come from provision itself, and a check per row is the
--            cost this table exists to avoid.
-- provision_indexed  the watermark: one row (one = 1); upto the highest provision id indexed
--            (0 when none). Only ever raised. A one-row table rather than a node_meta key: an
--            integer the SQL compares directly (a disclosure reads the index up to it and scans
--            the rows after it, in one statement), and out of reach of jk_store_meta_set.
--
-- A disclosure of code C: the provision_code rows of C with id <= upto, plus the provision
-- rows with id > upto and code C (the unindexed tail, read by rowid: small).
--
-- The backfill reads the old index (already in (code, id) order) before dropping it.
CREATE TABLE provision_code (
  bucket INTEGER NOT NULL,  -- id >> 16: a batch lands in one bucket's small subtree
  code   TEXT NOT NULL,
  id     INTEGER NOT NULL,
  PRIMARY KEY (bucket, code, id)
) WITHOUT ROWID;

INSERT INTO provision_code (bucket, code, id)
  SELECT id >> 16, code, id FROM provision WHERE code <> '' ORDER BY id >> 16, code, id;

DROP INDEX provision_by_code;

CREATE TABLE provision_indexed (
  one  INTEGER PRIMARY KEY CHECK (one = 1),
  upto INTEGER NOT NULL
);
INSERT INTO provision_indexed (one, upto) SELECT 1, coalesce(max(id), 0) FROM provision;

CREATE TRIGGER provision_code_append_only_u BEFORE UPDATE ON provision_code
BEGIN SELECT RAISE(ABORT, 'the provision index is append-only'); END;
CREATE TRIGGER provision_code_append_only_d BEFORE DELETE ON provision_code
BEGIN SELECT RAISE(ABORT, 'the provision index is append-only'); END;
CREATE TRIGGER provision_indexed_only_up BEFORE UPDATE ON provision_indexed
WHEN NEW.one IS NOT OLD.one OR NEW.upto IS NULL OR NEW.upto < OLD.upto
BEGIN SELECT RAISE(ABORT, 'the provision watermark only moves up'); END;
CREATE TRIGGER provision_indexed_kept BEFORE DELETE ON provision_indexed
BEGIN SELECT RAISE(ABORT, 'the provision watermark only moves up'); END;
