-- 0008: the residents' side (docs/provision.md "The residents' side"; src/rights gives the rows
-- their meaning, the store keeps them).
--
-- resident_request  every request a resident filed about their 本人確認情報 at this (municipal)
--            node: id assigned by the store, increasing (a rowid); code the resident code; kind
--            opt-out (不参加の申出), consent (再び送信することへの同意) or stop-use (目的外利用の
--            中止請求); channel letter, postcard, fax, mail or counter; filed_on the date the
--            resident filed it (ISO 8601); recorded_at (a time, UTC) and recorded_by (staff id)
--            who entered it; policy the participation policy in force when it was recorded
--            (statutory or resident-choice); purposes, for stop-use only, the purpose codes it
--            names (comma-separated; '' for the other kinds); note (UTF-8, may be '');
--            decision '' while pending, then accepted, rejected or recorded, with decided_at,
--            decided_by and reason ('' while pending).
--            Never deleted; an UPDATE may only decide a pending row (fill decision, decided_at,
--            decided_by and reason once, every other column unchanged): the triggers stop
--            anything else.
-- holdback   the residents this municipality does not send upstream (non-participants under
--            resident-choice): since when (a time), the opt-out request that put them here
--            (resident_request.id), erase_seq the outbox seq of the erasure notice sent for
--            them (0 = none yet). The outbox skips a held-back code; consent deletes the row.
-- scrub_pending  at a prefecture: erasure notices applied here, (source, seq) about code, whose
--            content is scrubbed from the notice log only once the nation has acknowledged
--            them (the prefecture must still forward them until then).
CREATE TABLE resident_request (
  id          INTEGER PRIMARY KEY,
  code        TEXT NOT NULL,
  kind        TEXT NOT NULL,
  channel     TEXT NOT NULL,
  filed_on    TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  recorded_by TEXT NOT NULL,
  policy      TEXT NOT NULL,
  purposes    TEXT NOT NULL,
  note        TEXT NOT NULL,
  decision    TEXT NOT NULL,
  decided_at  TEXT NOT NULL,
  decided_by  TEXT NOT NULL,
  reason      TEXT NOT NULL
);
CREATE INDEX resident_request_by_code ON resident_request(code);

CREATE TRIGGER resident_request_decide_once BEFORE UPDATE ON resident_request
WHEN OLD.decision IS NOT '' OR NEW.decision NOT IN ('accepted', 'rejected', 'recorded')
  OR NEW.id IS NOT OLD.id OR NEW.code IS NOT OLD.code OR NEW.kind IS NOT OLD.kind
  OR NEW.channel IS NOT OLD.channel OR NEW.filed_on IS NOT OLD.filed_on
  OR NEW.recorded_at IS NOT OLD.recorded_at OR NEW.recorded_by IS NOT OLD.recorded_by
  OR NEW.policy IS NOT OLD.policy OR NEW.purposes IS NOT OLD.purposes OR NEW.note IS NOT OLD.note
BEGIN SELECT RAISE(ABORT, 'a resident request is kept as filed (only a pending one may be decided, once)'); END;
CREATE TRIGGER resident_request_never_deleted BEFORE DELETE ON resident_request
BEGIN SELECT RAISE(ABORT, 'resident requests are never deleted'); END;

CREATE TABLE holdback (
  code      TEXT PRIMARY KEY,
  since     TEXT NOT NULL,
  request   INTEGER NOT NULL,
  erase_seq INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE scrub_pending (
  source TEXT NOT NULL,
  seq    INTEGER NOT NULL,
  code   TEXT NOT NULL,
  PRIMARY KEY (source, seq)
) WITHOUT ROWID;
