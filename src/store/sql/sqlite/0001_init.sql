-- 0001: the resident registry (住民基本台帳) of a municipal node.
-- resident         the current version of each person (one row per person, searched)
-- resident_version every superseded version, append-only: a move first copies the current
--                  row here, then updates resident. History = resident_version ∪ resident.
--                  (Each version is written once: an import writes each row once.)
-- household        世帯
CREATE TABLE node_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE household (
  id         INTEGER PRIMARY KEY,
  created_at TEXT NOT NULL
);

CREATE TABLE resident (
  id           INTEGER PRIMARY KEY,
  code         TEXT NOT NULL UNIQUE,     -- 住民票コード (current)
  version      INTEGER NOT NULL,
  status       INTEGER NOT NULL,         -- 1 active, 2 removed (消除)
  name         TEXT NOT NULL,            -- 氏名
  kana         TEXT NOT NULL,            -- 氏名かな
  birth        TEXT NOT NULL,            -- 生年月日, ISO 8601
  sex          INTEGER NOT NULL,         -- 1 男, 2 女
  address      TEXT NOT NULL,            -- 住所
  household_id INTEGER,
  relation     TEXT,                     -- 続柄
  reason       INTEGER NOT NULL,         -- 異動事由 (jk_move_kind)
  moved_on     TEXT,                     -- 異動年月日
  note         TEXT,
  recorded_at  TEXT NOT NULL,
  name_key     TEXT NOT NULL,            -- search keys (NFKC, katakana, no spaces)
  kana_key     TEXT NOT NULL,
  address_key  TEXT NOT NULL
);
CREATE INDEX resident_kana_key ON resident(kana_key);
CREATE INDEX resident_name_key ON resident(name_key);
CREATE INDEX resident_birth ON resident(birth);

CREATE TABLE resident_version (
  resident_id  INTEGER NOT NULL,
  version      INTEGER NOT NULL,
  code         TEXT NOT NULL,
  status       INTEGER NOT NULL,
  name         TEXT NOT NULL,
  kana         TEXT NOT NULL,
  birth        TEXT NOT NULL,
  sex          INTEGER NOT NULL,
  address      TEXT NOT NULL,
  household_id INTEGER,
  relation     TEXT,
  reason       INTEGER NOT NULL,
  moved_on     TEXT,
  note         TEXT,
  recorded_at  TEXT NOT NULL,
  PRIMARY KEY (resident_id, version)
) WITHOUT ROWID;
