#!/usr/bin/env bash
# Operators: IC card + PIN + password, roles, designation, sessions. Every refusal below has its
# exit code, is recorded in the ledger (seen by the administrator with audit log) and changes
# nothing else on the node. SQL metacharacters are data, and no secret is ever printed or stored.
. "$(dirname "$0")/lib.sh"
D=$T/node
devnode "$D"                                    # clerk01 and admin01 logged in
J() { "$JUKINET" --lang en "$@"; }
A() { as_admin --lang en "$@"; }
remember_session() { cat "${1:-$JUKINET_SESSION}" >> "$T/secrets"; }

# refused WANT ACTION RESULT OPERATOR CMD... : CMD exits WANT; the ledger then has an entry
# (ACTION, RESULT, OPERATOR) and the node is otherwise unchanged. CMD's output: $T/r.out, $T/r.err
refused() {
  local want=$1 action=$2 result=$3 who=$4 since; shift 4
  since=$(ledger_last)
  node_state > "$T/before"
  expect_exit "$want" "$@"
  cp "$T/out" "$T/r.out"; cp "$T/err" "$T/r.err"
  expect_recorded "$since" "$action" "$result" "$who"
  node_state > "$T/after"
  cmp -s "$T/before" "$T/after" || { fail "the node changed: $*"; diff "$T/before" "$T/after" | head -6 >&2; }
}

# new_clerk STAFF LABEL PIN PASSWORD : a new IC card (SoftHSM token with an Ed25519 key pair) and
# an operator holding it (操作者, designated to handle 本人確認情報), logged in with its own session
declare -A CARD PIN PW
new_clerk() {
  local staff=$1 label=$2 pin=$3 pw=$4
  CARD[$staff]=$label PIN[$staff]=$pin PW[$staff]=$pw
  printf '%s\n' "$pin" "$pw" >> "$T/secrets"
  softhsm2-util --init-token --free --label "$label" --so-pin 12345678 --pin "$pin" >/dev/null &&
    pkcs11-tool --module "$JUKINET_PKCS11_MODULE" --login --pin "$pin" --token-label "$label" --keypairgen \
      --key-type EC:edwards25519 --label jukinet-operator >/dev/null 2>&1 || { fail "cannot make card $label"; finish; }
  expect_exit 0 A operator add --staff-id "$staff" --name "試験 $staff" --department 市民課
  expect_exit 0 A operator appoint "$staff" operator
  expect_exit 0 A operator designate "$staff"
  JUKINET_CARD_PIN=$pin expect_exit 0 A card enrol "$staff" --card "$label"
  JUKINET_NEW_PASSWORD=$pw expect_exit 0 A operator password "$staff"
  expect_exit 0 as "$staff" login
  remember_session "$T/s-$staff"
}
# as STAFF ARGS... : jukinet ARGS as an operator made by new_clerk ($AS_PASSWORD: another password)
as() {
  local s=$1; shift
  JUKINET_SESSION=$T/s-$s JUKINET_STAFF_ID=$s JUKINET_CARD=${CARD[$s]} JUKINET_PIN=${PIN[$s]} \
    JUKINET_PASSWORD=${AS_PASSWORD:-${PW[$s]}} "$JUKINET" --lang en "$@"
}
card_of() { A --json card list | jq -r --arg s "$1" '[.[] | select(.holder == $s and .status == "active")][0].card'; }

[ "$(stat -c %a "$JUKINET_SESSION")" = 600 ] || fail "the session file should be 0600"
expect_exit 0 J --json whoami
expect_eq "$(jq -r .staff_id "$T/out")" clerk01
cp "$JUKINET_SESSION" "$T/session.kept"

# ---- no terminal, no PIN: a clear message, never a prompt that hangs ----
expect_exit 1 env -u JUKINET_PIN timeout 20 "$JUKINET" --lang en login </dev/null
expect_in "$T/err" "JUKINET_PIN"
expect_exit 1 env -u JUKINET_PASSWORD timeout 20 "$JUKINET" --lang en login </dev/null
expect_in "$T/err" "JUKINET_PASSWORD"

# ---- wrong PIN ----
refused 5 login AUTH clerk01 env JUKINET_PIN=000000 "$JUKINET" --lang en login
expect_in "$T/r.err" "PIN"
cmp -s "$JUKINET_SESSION" "$T/session.kept" || fail "a failed login replaced the session file"
expect_exit 0 J whoami                          # the session from before still works

# ---- the right PIN (the clerk's) on another operator's card (the admin's) ----
refused 5 login AUTH clerk01 env JUKINET_CARD="$JUKINET_ADMIN_CARD" "$JUKINET" --lang en login --staff-id clerk01
expect_in "$T/r.err" "not enrolled to clerk01"

# ---- wrong password ----
refused 5 login AUTH clerk01 env JUKINET_PASSWORD=Wrong-password-99 "$JUKINET" --lang en login
expect_in "$T/r.err" "password"
expect_exit 0 J login                           # the right one (and the failure counter starts again)
remember_session

# ---- a card whose key is not the enrolled one (same token, same key label, a new key pair) ----
new_clerk clerk03 jk-card-3 314159 Clerk3-dev-password-9
for t in privkey pubkey; do
  pkcs11-tool --module "$JUKINET_PKCS11_MODULE" --login --pin 314159 --token-label jk-card-3 --delete-object \
    --type "$t" --label jukinet-operator >/dev/null 2>&1 || fail "cannot delete the $t of jk-card-3"
done
pkcs11-tool --module "$JUKINET_PKCS11_MODULE" --login --pin 314159 --token-label jk-card-3 --keypairgen \
  --key-type EC:edwards25519 --label jukinet-operator >/dev/null 2>&1 || fail "cannot make a new key on jk-card-3"
refused 5 login AUTH clerk03 as clerk03 login
expect_in "$T/r.err" "not the one enrolled"

# ---- lockout: 3 failures lock the operator; then even the right credentials are refused ----
expect_exit 0 A policy set --lockout-threshold 3
expect_exit 0 A --json policy show
expect_eq "$(jq .lockout_threshold "$T/out")" 3
new_clerk clerk05 jk-card-5 271828 Clerk5-dev-password-9
AS_PASSWORD=Wrong-password-1 refused 5 login AUTH clerk05 as clerk05 login
AS_PASSWORD=Wrong-password-2 refused 5 login AUTH clerk05 as clerk05 login
since=$(ledger_last)
AS_PASSWORD=Wrong-password-3 expect_exit 6 as clerk05 login                # the third locks
expect_in "$T/err" "locked"
expect_recorded "$since" login.lockout ok clerk05
refused 6 login PERM clerk05 as clerk05 login
expect_in "$T/r.err" "locked"
expect_exit 0 A policy set --lockout-threshold 5

# ---- an idle session expires ----
expect_exit 0 A --json policy show
idle=$(jq .idle_minutes "$T/out")
expect_exit 0 A policy set --idle-minutes 1
expect_exit 0 J whoami
sqlite3 "$D/node.db" "UPDATE session SET last_used_at = '2020-01-01T00:00:00.000000Z'
  WHERE ended_at IS NULL AND operator_id = (SELECT id FROM operator WHERE staff_id = 'clerk01')" ||
  fail "cannot age the session"
refused 5 session.resume AUTH clerk01 J --json resident list
expect_in "$T/r.err" "expired"
refused 5 session.resume AUTH clerk01 J --json resident list     # and it has ended for good
expect_in "$T/r.err" "ended"
expect_exit 0 J login
remember_session
expect_exit 0 J --json resident list
expect_exit 0 A policy set --idle-minutes "$idle"

# ---- a lost card and a revoked card: the right PIN and password are not enough ----
new_clerk clerk04 jk-card-4 161803 Clerk4-dev-password-9
id4=$(card_of clerk04)
expect_exit 0 A card lost "$id4"
refused 6 session.resume PERM clerk04 as clerk04 whoami           # its open session ends
expect_in "$T/r.err" "lost"
refused 6 login PERM clerk04 as clerk04 login
expect_in "$T/r.err" "lost"
new_clerk clerk02 jk-card-2 141421 Clerk2-dev-password-9
id2=$(card_of clerk02)
expect_exit 0 A card revoke "$id2"
refused 6 login PERM clerk02 as clerk02 login
expect_in "$T/r.err" "revoked"
expect_exit 0 A --json card list
expect_eq "$(jq -r --argjson i "$id4" '.[] | select(.card == $i) | .status' "$T/out")" lost
expect_eq "$(jq -r --argjson i "$id2" '.[] | select(.card == $i) | .status' "$T/out")" revoked

# ---- a returned card cannot log in until lent again; a replaced card never again ----
new_clerk clerk06 jk-card-6 271828 Clerk6-dev-password-9
id6=$(card_of clerk06)
expect_exit 0 A card return "$id6"
expect_exit 4 A card return "$id6"                                  # returned already
refused 6 login PERM clerk06 as clerk06 login
expect_in "$T/r.err" "returned"
expect_exit 0 A card lend "$id6"
expect_exit 0 as clerk06 login
softhsm2-util --init-token --free --label jk-card-6b --so-pin 12345678 --pin 577215 >/dev/null &&
  pkcs11-tool --module "$JUKINET_PKCS11_MODULE" --login --pin 577215 --token-label jk-card-6b --keypairgen \
    --key-type EC:edwards25519 --label jukinet-operator >/dev/null 2>&1 || fail "cannot make card jk-card-6b"
printf '%s\n' 577215 >> "$T/secrets"
JUKINET_CARD_PIN=577215 expect_exit 0 A card replace "$id6" --card jk-card-6b --note 破損
refused 6 login PERM clerk06 as clerk06 login
expect_in "$T/r.err" "replaced"
CARD[clerk06]=jk-card-6b PIN[clerk06]=577215
expect_exit 0 as clerk06 login
expect_exit 0 A --json card ledger "$id6"
expect_eq "$(jq -r '[.[].event] | join(",")' "$T/out")" "enrol,return,lend,replace" "(the card ledger of card $id6)"

# ---- an expired password: refused, unless a new one (meeting the rules) is given at login ----
new_clerk clerk07 jk-card-7 662607 Clerk7-dev-password-9
sqlite3 "$D/node.db" "DROP TRIGGER password_append_only_u; UPDATE password SET set_at = '2020-01-01T00:00:00.000000Z' WHERE operator_id = (SELECT id FROM operator WHERE staff_id = 'clerk07')" ||
  fail "cannot age the password"
refused 6 login PERM clerk07 as clerk07 login
expect_in "$T/r.err" "expired"
JUKINET_NEW_PASSWORD=short1 expect_exit 1 as clerk07 login                       # the rules still apply
JUKINET_NEW_PASSWORD=Clerk7-dev-password-9 expect_exit 1 as clerk07 login        # no reuse
printf '%s\n' Clerk7-new-password-2 >> "$T/secrets"
JUKINET_NEW_PASSWORD=Clerk7-new-password-2 expect_exit 0 as clerk07 login
AS_PASSWORD=Clerk7-new-password-2 expect_exit 0 as clerk07 login
refused 5 login AUTH clerk07 as clerk07 login                                   # the old one is gone

# ---- an operator without the role ----
A --json operator list > "$T/ops.before"
refused 6 operator.add PERM clerk01 J operator add --staff-id x99 --name "試験 太郎" --department 市民課
A --json operator list > "$T/ops.after"
cmp -s "$T/ops.before" "$T/ops.after" || fail "operator list changed after a refused operator add"
refused 6 policy.set PERM clerk01 J policy set --lockout-threshold 99
refused 6 designation.grant PERM clerk01 J operator designate clerk01
refused 6 card.lost PERM clerk01 J card lost 1
refused 6 audit.log PERM clerk01 J audit log

# ---- an operator without the designation (本人確認情報の取扱者) ----
expect_exit 0 J --json resident add --name "山田　太郎" --kana "ヤマダ　タロウ" --birth 1980-01-02 --sex 男 \
  --address "大阪府枚方市大垣内町2丁目1番20号"
expect_exit 0 A operator undesignate clerk01
expect_exit 0 A --json node show
residents=$(jq .residents "$T/out")
refused 6 resident.list PERM clerk01 J --json resident list
expect_in "$T/r.err" "designated"
[ ! -s "$T/r.out" ] || fail "a refused list printed something"
refused 6 resident.add PERM clerk01 J resident add --name "山田　次郎" --kana "ヤマダ　ジロウ" --birth 1985-01-02 \
  --sex 男 --address "大阪府枚方市大垣内町2丁目1番20号"
expect_exit 0 A --json node show
expect_eq "$(jq .residents "$T/out")" "$residents" "(residents after refused add)"
expect_exit 0 A operator designate clerk01
expect_exit 0 J --json resident list
expect_eq "$(jq length "$T/out")" "$residents"

# ---- a tampered session file ----
cp "$JUKINET_SESSION" "$T/session.kept"
tok=$(cat "$JUKINET_SESSION")
c=${tok:10:1}; [ "$c" = a ] && n=b || n=a
printf '%s%s%s\n' "${tok:0:10}" "$n" "${tok:11}" > "$JUKINET_SESSION"
refused 5 session.resume AUTH - J whoami
printf 'not a token'"'"'; DROP TABLE session;--\n' > "$JUKINET_SESSION"
refused 5 session.resume AUTH - J whoami
: > "$JUKINET_SESSION"
refused 5 session.resume AUTH - J whoami
rm -f "$JUKINET_SESSION"
refused 5 session.resume AUTH - J whoami
ln -s "$T/session.kept" "$JUKINET_SESSION"                          # a symlink is not followed
refused 5 session.resume AUTH - J whoami
rm -f "$JUKINET_SESSION"
cp "$T/session.kept" "$JUKINET_SESSION"
expect_exit 0 J whoami                                            # the real session is untouched

# ---- SQL metacharacters are data ----
tables=$(sqlite3 "$D/node.db" "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master ORDER BY name)")
evil_name="x'); DROP TABLE operator;--"
evil_dept="'\"%_\\"
expect_exit 0 A operator add --staff-id sq01 --name "$evil_name" --department "$evil_dept"
expect_exit 0 A --json operator list
expect_eq "$(jq -r '.[] | select(.staff_id == "sq01") | .name' "$T/out")" "$evil_name"
expect_eq "$(jq -r '.[] | select(.staff_id == "sq01") | .department' "$T/out")" "$evil_dept"
nops=$(jq length "$T/out")
expect_exit 1 A operator add --staff-id "sq'01 OR 1=1" --name x --department y      # not a staff id
expect_exit 0 A --json operator list
expect_eq "$(jq length "$T/out")" "$nops"
r_name="x'); DROP TABLE resident;--"
r_addr="大阪府枚方市'\"%_\\"
expect_exit 0 J --json resident add --name "$r_name" --kana "ヤマダ　イチロウ" --birth 1990-01-01 --sex 男 --address "$r_addr"
c1=$(jq -r .code "$T/out")
expect_exit 0 J --json resident show "$c1"
expect_eq "$(jq -r .name "$T/out")" "$r_name"
expect_eq "$(jq -r .address "$T/out")" "$r_addr"
r_name2="山田　'%_\\\""
r_addr2="大阪府枚方市'); DELETE FROM resident;--"
expect_exit 0 J --json resident add --name "$r_name2" --kana "ヤマダ　サブロウ" --birth 1990-01-01 --sex 男 --address "$r_addr2"
c2=$(jq -r .code "$T/out")
expect_exit 0 J --json resident show "$c2"
expect_eq "$(jq -r .name "$T/out")" "$r_name2"
expect_eq "$(jq -r .address "$T/out")" "$r_addr2"
expect_exit 0 J --json resident search --kana ヤマダ
expect_eq "$(jq length "$T/out")" 3 "(kana ヤマダ)"
for k in "%" "_" "ヤ%" "ヤマダ_"; do
  expect_exit 0 J --json resident search --kana "$k"
  expect_eq "$(jq length "$T/out")" 0 "(kana '$k' is not a pattern)"
done
for o in "' OR 1=1 --" "%" "_lerk01" "clerk01' --"; do
  expect_exit 0 A --json audit log --operator "$o"
  expect_eq "$(jq length "$T/out")" 0 "(audit log --operator \"$o\")"
done
expect_exit 0 A --json audit log --object "x'); DROP TABLE ledger;--"
expect_eq "$(jq length "$T/out")" 0 "(audit log --object)"
expect_exit 0 A --json audit log --operator clerk01 --limit 3
expect_eq "$(jq length "$T/out")" 3 "(audit log --operator clerk01)"
expect_exit 0 A --json audit log --action audit.log --limit 20
jq -e '[.[] | select(.object | startswith("'"' OR 1=1 --"'|"))] | length == 1' "$T/out" >/dev/null ||
  fail "the search for \"' OR 1=1 --\" is recorded literally"
expect_eq "$(sqlite3 "$D/node.db" "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master ORDER BY name)")" \
  "$tables" "(tables after the metacharacters)"
expect_eq "$(sqlite3 "$D/node.db" 'PRAGMA integrity_check')" ok
expect_exit 0 A --lang en audit verify

# ---- no secret anywhere: output, database, exported ledger ----
# one more session with failures, everything through expect_exit (so in $T/transcript)
expect_exit 0 J logout
expect_exit 5 J whoami
expect_exit 5 env JUKINET_PIN=999999 "$JUKINET" --lang en login
expect_exit 5 env JUKINET_PASSWORD=Not-the-password-1 "$JUKINET" --lang en login
expect_exit 0 J --json login
remember_session
expect_exit 0 J --json whoami
expect_exit 0 J --json resident list
expect_exit 1 J resident add --name "山田" --kana "ヤマダ" --birth 2099-01-01 --sex 男 --address 大阪府
JUKINET_NEW_PASSWORD=short expect_exit 1 J operator password
expect_exit 0 A --json audit log --limit 100
expect_exit 0 A audit export --output "$T/bundle.jsonl"
expect_exit 0 A --json card list
expect_exit 0 A --json operator list
expect_exit 0 A --json policy show
remember_session "$ADMIN_SESSION"
expect_exit 0 A logout
sqlite3 "$D/node.db" .dump > "$T/dump.sql"
[ -s "$T/transcript" ] && [ -s "$T/dump.sql" ] && [ -s "$T/bundle.jsonl" ] || fail "nothing to search for secrets"
expect_in "$T/transcript" "logged in"
sort -u "$T/secrets" | while IFS= read -r s; do
  [ -n "$s" ] || continue
  for f in "$T/transcript" "$T/dump.sql" "$T/bundle.jsonl"; do
    if [[ $s =~ ^[0-9]+$ ]]; then
      # a numeric PIN: as text, not as a run of digits inside hex or a timestamp's microseconds
      grep -qE "(^|[^0-9A-Fa-f.])$s([^0-9A-Fa-f]|$)" "$f" && echo "FAIL: a secret ($s) is in ${f##*/}" >&2 && echo x
    else
      grep -qF -- "$s" "$f" && echo "FAIL: a secret ($s) is in ${f##*/}" >&2 && echo x
    fi
    # stored hex-encoded (a BLOB in the dump)
    h=$(printf '%s' "$s" | od -An -tx1 | tr -d ' \n')
    grep -qi -- "$h" "$f" && echo "FAIL: a secret ($s) is in ${f##*/}, hex-encoded" >&2 && echo x
  done
done > "$T/leaks"
[ ! -s "$T/leaks" ] || fail "$(wc -l < "$T/leaks") secret(s) found"
[ "$(sort -u "$T/secrets" | wc -l)" -ge 15 ] || fail "too few secrets collected: $(sort -u "$T/secrets" | wc -l)"

finish
