-- 0005: sync (docs/protocol.md; src/sync gives the rows their meaning, the store keeps them).
--
-- notice_log      every change notice this node made (its outbox: source = its own node id) or
--                 applied (source = the municipality that made it). Per source, seq is
--                 contiguous from 1 (the store refuses anything else). enc is the notice's
--                 canonical encoding, leaf its RFC 9162 leaf hash, code the resident code it is
--                 about (copied out of enc, so notices are found by code). Append-only, except
--                 that an erasure may set enc to NULL (scrub): the leaf stays, so the Merkle tree
--                 and its proofs do not change.
-- notice_subtree  hashes of complete aligned subtrees of a source's notice tree (as
--                 ledger_subtree). Derived data; append-only.
-- outbox_head     signed outbox tree heads per source node. The same (node, size) again with the
--                 same root only refreshes at/sig; the root of a head never changes.
-- holding         at the prefecture and the nation: per (code, source) the latest version that
--                 municipality sent for that code. status 1 active, 2 removed, 9 erased (content
--                 cleared; birth may then be NULL and sex 0).
-- peer            peer nodes' certificates (verified by the caller before they are put).
-- sync_ack        the receiver's side: per sender, the ledger head it countersigned last.
-- receipt         the sender's side: the latest signed receipt per (receiver, source).
-- Node ids and resident codes are ASCII: BINARY order is byte order, as on PostgreSQL ("C").
-- notice_log is a rowid table on purpose: appends go to the end of the rowid b-tree (SQLite's
-- append fast path) and to the end of the small (source, seq) index. As a WITHOUT ROWID table
-- it measured 2x slower per append at 200-300 byte encodings, and a 1,119-byte encoding
-- overflowed the index b-tree's local payload limit (one extra page per row, 3x the file size).
CREATE TABLE notice_log (
  source TEXT NOT NULL,
  seq    INTEGER NOT NULL,
  code   TEXT NOT NULL,
  enc    BLOB,                -- NULL once scrubbed
  leaf   BLOB NOT NULL,
  PRIMARY KEY (source, seq)
);
CREATE INDEX notice_log_code ON notice_log(code);

CREATE TABLE notice_subtree (
  source TEXT NOT NULL,
  level  INTEGER NOT NULL,
  idx    INTEGER NOT NULL,
  hash   BLOB NOT NULL,
  PRIMARY KEY (source, level, idx)
) WITHOUT ROWID;

CREATE TABLE outbox_head (
  node TEXT NOT NULL,
  size INTEGER NOT NULL,
  root BLOB NOT NULL,
  at   TEXT NOT NULL,
  sig  BLOB NOT NULL,
  PRIMARY KEY (node, size)
) WITHOUT ROWID;

-- holding is a rowid table with a UNIQUE (code, source) index and no index by source: a
-- receiver upserts one row per notice at random codes, and as a WITHOUT ROWID table (its rows
-- carry name, kana and address) with a (source, code) index it applied 42,000 notices/s where
-- this shape applies 58,000 (bench_sync). Listing one source's rows scans the code index.
CREATE TABLE holding (
  code      TEXT NOT NULL,
  source    TEXT NOT NULL,
  seq       INTEGER NOT NULL,  -- the notice that wrote this row
  version   INTEGER NOT NULL,
  name      TEXT NOT NULL,
  kana      TEXT NOT NULL,
  address   TEXT NOT NULL,
  prev_code TEXT,              -- a 住民票コード変更's retired code, else NULL
  birth     TEXT,              -- ISO 8601; NULL only when erased
  moved_on  TEXT,              -- ISO 8601
  sex       INTEGER NOT NULL,
  reason    INTEGER NOT NULL,  -- jk_move_kind
  status    INTEGER NOT NULL,  -- jk_status, or 9 = erased
  UNIQUE (code, source)
);

CREATE TABLE peer (
  node     TEXT PRIMARY KEY,
  lgcode   TEXT NOT NULL,
  role     TEXT NOT NULL,
  pubkey   BLOB NOT NULL,
  cert_pem TEXT NOT NULL,
  seen_at  TEXT NOT NULL
);

CREATE TABLE sync_ack (
  sender TEXT PRIMARY KEY,
  size   INTEGER NOT NULL,
  root   BLOB NOT NULL,
  at     TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE receipt (
  receiver    TEXT NOT NULL,
  source      TEXT NOT NULL,
  sender      TEXT NOT NULL,
  highest_seq INTEGER NOT NULL,
  ledger_size INTEGER NOT NULL,
  ledger_root BLOB NOT NULL,
  at          TEXT NOT NULL,
  sig         BLOB NOT NULL,
  PRIMARY KEY (receiver, source)
) WITHOUT ROWID;

-- The notice log is append-only; the one change allowed is the scrub (enc set to NULL, every
-- other column as it was).
CREATE TRIGGER notice_log_append_only_u BEFORE UPDATE ON notice_log
WHEN NEW.enc IS NOT NULL OR NEW.source IS NOT OLD.source OR NEW.seq IS NOT OLD.seq
  OR NEW.code IS NOT OLD.code OR NEW.leaf IS NOT OLD.leaf
BEGIN SELECT RAISE(ABORT, 'the notice log is append-only (only an encoding may be scrubbed)'); END;
CREATE TRIGGER notice_log_append_only_d BEFORE DELETE ON notice_log
BEGIN SELECT RAISE(ABORT, 'the notice log is append-only'); END;
CREATE TRIGGER notice_subtree_append_only_u BEFORE UPDATE ON notice_subtree
BEGIN SELECT RAISE(ABORT, 'the notice log is append-only'); END;
CREATE TRIGGER notice_subtree_append_only_d BEFORE DELETE ON notice_subtree
BEGIN SELECT RAISE(ABORT, 'the notice log is append-only'); END;
CREATE TRIGGER outbox_head_keep_root BEFORE UPDATE ON outbox_head
WHEN NEW.node IS NOT OLD.node OR NEW.size IS NOT OLD.size OR NEW.root IS NOT OLD.root
BEGIN SELECT RAISE(ABORT, 'a signed outbox head keeps its root'); END;
CREATE TRIGGER outbox_head_never_deleted BEFORE DELETE ON outbox_head
BEGIN SELECT RAISE(ABORT, 'signed outbox heads are never deleted'); END;
