-- 0009: residents' restrictions (issue 5: 目的外利用の中止請求 and 支援措置; src/rights gives the
-- rows their meaning, the store keeps them).
--
-- restriction  at a prefecture and the nation: per (code, source) the latest restriction a
--            municipality sent for a resident (a RESTRICT notice): code the resident code;
--            source the municipality's node id; seq the notice that wrote the row; protect 0 or
--            1: a 支援措置 is in force (the address is withheld and every agency query is held
--            for review); since the date the restriction applies from and until the date the
--            protection ends (ISO 8601; until '' when protect is 0); purposes '' or the purpose
--            codes the resident stopped (目的外利用の中止), comma-separated. Replaced by the next
--            RESTRICT notice of the same (code, source).
-- protection at a municipality: 支援措置 (support measures for victims of DV, stalking and the
--            like) of its residents: id assigned by the store, increasing (a rowid); code the
--            resident code; offenders who the resident is protected from (UTF-8, names and
--            details, 1 .. 1023 bytes); status provisional, active, rejected or ended;
--            applied_on the date the application was filed and until the date the measure ends
--            (ISO 8601; until '' while provisional or rejected); recorded_at (a time, UTC) and
--            recorded_by (staff id) who entered it; decided_at and decided_by ('' until
--            decided); note (UTF-8, may be '').
--            Never deleted; code, offenders, applied_on, recorded_at and recorded_by are kept as
--            entered (the triggers stop anything else).
--
-- provision.result (0007) may now also be REVIEW (a query about a protected resident, held for
-- review) and STOPPED (a purpose the resident stopped). 0007 has no CHECK on it: the store
-- checks the values (store.c), so nothing changes in the table.
CREATE TABLE restriction (
  code     TEXT NOT NULL,
  source   TEXT NOT NULL,
  seq      INTEGER NOT NULL,
  protect  INTEGER NOT NULL,
  since    TEXT NOT NULL,
  until    TEXT NOT NULL,
  purposes TEXT NOT NULL,
  PRIMARY KEY (code, source)
) WITHOUT ROWID;

CREATE TABLE protection (
  id          INTEGER PRIMARY KEY,
  code        TEXT NOT NULL,
  offenders   TEXT NOT NULL,
  status      TEXT NOT NULL,
  applied_on  TEXT NOT NULL,
  until       TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  recorded_by TEXT NOT NULL,
  decided_at  TEXT NOT NULL,
  decided_by  TEXT NOT NULL,
  note        TEXT NOT NULL
);
CREATE INDEX protection_by_code ON protection(code);

CREATE TRIGGER protection_kept_as_entered BEFORE UPDATE ON protection
WHEN NEW.id IS NOT OLD.id OR NEW.code IS NOT OLD.code OR NEW.offenders IS NOT OLD.offenders
  OR NEW.applied_on IS NOT OLD.applied_on OR NEW.recorded_at IS NOT OLD.recorded_at
  OR NEW.recorded_by IS NOT OLD.recorded_by
BEGIN SELECT RAISE(ABORT, 'a support measure keeps its resident, offenders, application date and entry'); END;
CREATE TRIGGER protection_never_deleted BEFORE DELETE ON protection
BEGIN SELECT RAISE(ABORT, 'support measures are never deleted'); END;
