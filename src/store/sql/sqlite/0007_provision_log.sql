-- 0007: provision records (提供の記録, docs/provision.md).
--
-- provision  one row per query a national agency made at this node, answers and refusals
--            alike, written in the same transaction as the query's ledger entry: the resident
--            sees in it who received what about them, and an auditor finds every refusal.
--            id is assigned by the store, increasing (a rowid: appends go to the end of the
--            b-tree); at is the time (ISO 8601, UTC); agency the client certificate's identity
--            (agency.id); purpose the purpose code asked under ('' when the body was not
--            understood); code the resident code answered or matched ('' when none); fields the
--            comma-separated field tokens disclosed (name, birth, …; '' when none); result ok,
--            NOTFOUND, AMBIGUOUS, PERM, INVALID or BUSY; query the SHA-256 of the request body
--            (32 bytes: the body itself, a name and a birth date, is not kept).
--            Append-only; the triggers stop accidents, the ledger entry of the same query
--            catches everything else.
-- holding_by_person  the name search of a query (氏名かな + 生年月日 + 性別) finds the holdings
--            of one birth date and sex through this index and compares the kana itself.
CREATE TABLE provision (
  id      INTEGER PRIMARY KEY,
  at      TEXT NOT NULL,
  agency  TEXT NOT NULL,
  purpose TEXT NOT NULL,
  code    TEXT NOT NULL,
  fields  TEXT NOT NULL,
  result  TEXT NOT NULL,
  query   BLOB NOT NULL
);
CREATE INDEX provision_by_code ON provision(code);

CREATE INDEX holding_by_person ON holding(birth, sex);

CREATE TRIGGER provision_append_only_u BEFORE UPDATE ON provision
BEGIN SELECT RAISE(ABORT, 'the provision records are append-only'); END;
CREATE TRIGGER provision_append_only_d BEFORE DELETE ON provision
BEGIN SELECT RAISE(ABORT, 'the provision records are append-only'); END;
