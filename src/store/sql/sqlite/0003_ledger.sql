-- 0003: the ledger (操作履歴): every operation on the node, reads included, as the leaves of an
-- RFC 9162 Merkle tree (src/ledger/README.md, docs/ledger.md).
--
-- ledger          one row per entry; seq is contiguous from 1; `at` never decreases (the ledger
--                 module enforces it, so a time range maps to a seq range); leaf is the RFC 9162
--                 leaf hash of the entry's canonical encoding, kept so that verification can name
--                 the exact entry that was edited.
-- ledger_subtree  hashes of complete aligned subtrees of 256 leaves and more: proofs read
--                 O(log n) of them instead of every leaf. Derived data, checked by verification.
-- ledger_head     signed tree heads (size, root, time, Ed25519 signature by the node's key).
-- All three are append-only; the triggers stop accidents, the Merkle tree and the signatures
-- catch everything else (a determined editor can drop a trigger).
CREATE TABLE ledger (
  seq      INTEGER PRIMARY KEY,
  at       TEXT NOT NULL,
  operator TEXT NOT NULL,
  role     TEXT NOT NULL,
  terminal TEXT NOT NULL,
  action   TEXT NOT NULL,
  object   TEXT NOT NULL,
  result   TEXT NOT NULL,
  detail   BLOB NOT NULL,
  leaf     BLOB NOT NULL
);
-- Residents ask who saw their record (開示): entries are found by object through an index.
-- The index is segmented by time (seq >> 14: 16,384 entries per segment) so that appends touch
-- only the pages of the newest segment, not random pages of one huge index: resident codes are
-- random, and a plain index on them made a durable append 3.9x slower at 600k entries
-- (docs/decisions.md D8). A search visits the segments newest first. A search by operator or
-- action scans (an auditor's occasional query).
CREATE INDEX ledger_by_object ON ledger(seq >> 14, object);

CREATE TABLE ledger_subtree (
  level INTEGER NOT NULL,
  idx   INTEGER NOT NULL,
  hash  BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;

CREATE TABLE ledger_head (
  size INTEGER PRIMARY KEY,
  root BLOB NOT NULL,
  at   TEXT NOT NULL,
  sig  BLOB NOT NULL
);

CREATE TRIGGER ledger_append_only_u BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_append_only_d BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_subtree_append_only_u BEFORE UPDATE ON ledger_subtree
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_subtree_append_only_d BEFORE DELETE ON ledger_subtree
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_head_append_only_u BEFORE UPDATE ON ledger_head
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_head_append_only_d BEFORE DELETE ON ledger_head
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
