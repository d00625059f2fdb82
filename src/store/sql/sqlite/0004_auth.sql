-- 0004: operators, their roles and designations, passwords, IC cards and the card ledger
-- (管理簿), login failures and sessions (regulation art. 11-16; src/auth/README.md).
--
-- operator     a person who may operate the node (staff id, name, department). Never deleted:
--              leaving is `disabled_at`.
-- grant_       a dated appointment to a role of the regulation (role = its token) or a handling
--              designation for 本人確認情報 (role = 'handler'), with who made it and who ended it.
-- password     every password an operator has had (Argon2id strings), newest = current; the
--              history enforces the no-reuse rule.
-- card         an operator IC card: the token's serial and label and the enrolled Ed25519
--              public key; status active | returned | lost | revoked | replaced.
-- card_event   the card ledger (管理簿): enrol, lend, return, lost, revoke, replace. Append-only.
-- login_state  consecutive failures and lockout per operator.
-- session      logins: only the SHA-256 of the token is kept.
CREATE TABLE operator (
  id          INTEGER PRIMARY KEY,
  staff_id    TEXT NOT NULL UNIQUE,
  name        TEXT NOT NULL,
  department  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  disabled_at TEXT,
  disabled_by TEXT
);

CREATE TABLE grant_ (
  id          INTEGER PRIMARY KEY,
  operator_id INTEGER NOT NULL REFERENCES operator(id),
  role        TEXT NOT NULL,
  from_date   TEXT NOT NULL,
  until_date  TEXT,
  granted_by  TEXT NOT NULL,
  granted_at  TEXT NOT NULL,
  ended_by    TEXT,
  ended_at    TEXT
);
CREATE INDEX grant_by_operator ON grant_(operator_id);

CREATE TABLE password (
  id          INTEGER PRIMARY KEY,
  operator_id INTEGER NOT NULL REFERENCES operator(id),
  hash        TEXT NOT NULL,
  set_at      TEXT NOT NULL,
  set_by      TEXT NOT NULL
);
CREATE INDEX password_by_operator ON password(operator_id, id);

CREATE TABLE card (
  id          INTEGER PRIMARY KEY,
  serial      TEXT NOT NULL,
  label       TEXT NOT NULL,
  pubkey      BLOB NOT NULL UNIQUE,
  operator_id INTEGER NOT NULL REFERENCES operator(id),
  status      TEXT NOT NULL,
  enrolled_at TEXT NOT NULL,
  enrolled_by TEXT NOT NULL,
  status_at   TEXT NOT NULL
);
CREATE INDEX card_by_token ON card(serial, label);

CREATE TABLE card_event (
  id      INTEGER PRIMARY KEY,
  card_id INTEGER NOT NULL REFERENCES card(id),
  event   TEXT NOT NULL,
  holder  TEXT NOT NULL,
  by_     TEXT NOT NULL,
  at      TEXT NOT NULL,
  note    TEXT NOT NULL
);
CREATE INDEX card_event_by_card ON card_event(card_id);

CREATE TABLE login_state (
  operator_id  INTEGER PRIMARY KEY REFERENCES operator(id),
  failures     INTEGER NOT NULL,
  locked_until TEXT
);

CREATE TABLE session (
  id           INTEGER PRIMARY KEY,
  token_hash   BLOB NOT NULL UNIQUE,
  operator_id  INTEGER NOT NULL REFERENCES operator(id),
  card_id      INTEGER NOT NULL REFERENCES card(id),
  terminal     TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  last_used_at TEXT NOT NULL,
  ended_at     TEXT,
  end_reason   TEXT
);

CREATE TRIGGER password_append_only_u BEFORE UPDATE ON password
BEGIN SELECT RAISE(ABORT, 'password history is append-only'); END;
CREATE TRIGGER password_append_only_d BEFORE DELETE ON password
BEGIN SELECT RAISE(ABORT, 'password history is append-only'); END;
CREATE TRIGGER card_event_append_only_u BEFORE UPDATE ON card_event
BEGIN SELECT RAISE(ABORT, 'the card ledger is append-only'); END;
CREATE TRIGGER card_event_append_only_d BEFORE DELETE ON card_event
BEGIN SELECT RAISE(ABORT, 'the card ledger is append-only'); END;
CREATE TRIGGER operator_never_deleted BEFORE DELETE ON operator
BEGIN SELECT RAISE(ABORT, 'operators are never deleted'); END;
CREATE TRIGGER grant_never_deleted BEFORE DELETE ON grant_
BEGIN SELECT RAISE(ABORT, 'appointments are never deleted'); END;
CREATE TRIGGER card_never_deleted BEFORE DELETE ON card
BEGIN SELECT RAISE(ABORT, 'cards are never deleted'); END;
