-- 0006: provision to national agencies (docs/provision.md).
--
-- agency   a national agency that may query this node (a national or prefectural node): its
--          certificate identity, its name as 住民基本台帳法 別表 names it, the purpose codes it may
--          use (comma-separated, e.g. "B1-77,B1-74"), its rate limit (answers per second),
--          when it was registered and, once revoked, when (an id is never registered again).
CREATE TABLE agency (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  purposes   TEXT NOT NULL,
  rate       INTEGER NOT NULL,
  added_at   TEXT NOT NULL,
  revoked_at TEXT
) WITHOUT ROWID;
