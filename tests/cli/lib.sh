# lib.sh — helpers for the CLI tests (sourced). Each test runs in its own temp dir, removed at exit.
set -u
JUKINET=${JUKINET:?set by CTest}
export JUKINET_TODAY=${JUKINET_TODAY:-2026-11-23}
SRC=${JK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
T=$(mktemp -d /tmp/jukinet-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
FAILS=0
# the secrets a test must never see printed or stored (filled by devnode and the tests)
: > "$T/secrets"

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }

# expect_exit CODE CMD... : run, capture stdout/stderr in $T/out $T/err, check the exit code.
# Everything is also appended to $T/transcript (test_auth greps it for secrets).
expect_exit() {
  local want=$1; shift
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  { printf '$ %s\n' "$*"; cat "$T/out" "$T/err"; } >> "$T/transcript"
  if [ "$got" -ne "$want" ]; then
    fail "exit $got (want $want): $*"; sed 's/^/  out: /' "$T/out" | head -5 >&2; sed 's/^/  err: /' "$T/err" | head -5 >&2
  fi
}

# expect_in FILE TEXT : FILE contains TEXT
expect_in() { grep -qF -- "$2" "$1" || { fail "$1 lacks '$2'"; sed 's/^/  | /' "$1" | head -5 >&2; }; }
expect_not_in() { if grep -qF -- "$2" "$1"; then fail "$1 contains '$2'"; fi; }
expect_eq() { [ "$1" = "$2" ] || fail "got '$1', want '$2' ${3:-}"; }

finish() {
  if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
  echo "all checks passed"; exit 0
}

# ---- nodes with operators (scripts/devnode) ----

# devnode DIR [--lgcode CODE --name NAME]: a ready node in DIR made by scripts/devnode with this
# build's jukinet. Its exports are kept in DIR.env and loaded (use_node DIR switches back to the
# node later); the clerk (clerk01) is logged in with $JUKINET_SESSION, the administrator
# (admin01) with $ADMIN_SESSION (see as_admin). A node that cannot be made ends the test.
devnode() {
  local dir=$1; shift
  # scripts/devnode must not inherit another node's session, card or staff id
  if ! env -u JUKINET_STAFF_ID -u JUKINET_CARD -u JUKINET_PIN -u JUKINET_PASSWORD -u JUKINET_SESSION \
       -u JUKINET_DIR -u SOFTHSM2_CONF JUKINET="$JUKINET" "$SRC/scripts/devnode" "$dir" "$@" \
       >"$dir.env" 2>"$T/devnode.err"; then
    fail "scripts/devnode $dir $*"; sed 's/^/  err: /' "$T/devnode.err" >&2; finish
  fi
  use_node "$dir"
  printf '%s\n' "$JUKINET_PIN" "$JUKINET_ADMIN_PIN" "$JUKINET_PASSWORD" "$JUKINET_ADMIN_PASSWORD" \
    node-key-2468 >> "$T/secrets"
  login_clerk
  login_admin
}

# use_node DIR: the environment of the node made by devnode DIR (clerk's session, SoftHSM tokens)
use_node() {
  # shellcheck disable=SC1090
  . "$1.env"
  ADMIN_SESSION=$JUKINET_DIR/hsm/s-admin
}

login_clerk() {
  if ! "$JUKINET" login >"$T/login.out" 2>&1; then
    fail "clerk login on $JUKINET_DIR"; sed 's/^/  | /' "$T/login.out" >&2; finish
  fi
  cat "$JUKINET_SESSION" >> "$T/secrets"
}

login_admin() {
  if ! as_admin login >"$T/login.out" 2>&1; then
    fail "admin login on $JUKINET_DIR"; sed 's/^/  | /' "$T/login.out" >&2; finish
  fi
  cat "$ADMIN_SESSION" >> "$T/secrets"
}

# as_admin ARGS... : jukinet ARGS run by the administrator (admin01) of the current node
as_admin() {
  JUKINET_SESSION=$ADMIN_SESSION JUKINET_STAFF_ID=$JUKINET_ADMIN_STAFF_ID JUKINET_CARD=$JUKINET_ADMIN_CARD \
    JUKINET_PIN=$JUKINET_ADMIN_PIN JUKINET_PASSWORD=$JUKINET_ADMIN_PASSWORD "$JUKINET" "$@"
}

# node_init DIR LGCODE NAME [ARGS...] : `jukinet node init` by hand, with the current node's
# SoftHSM tokens (its node key token and the administrator's card) and devnode's secrets
node_init() {
  local dir=$1 lg=$2 name=$3; shift 3
  JUKINET_KEY_PIN=node-key-2468 JUKINET_PIN=$JUKINET_ADMIN_PIN JUKINET_PASSWORD=$JUKINET_ADMIN_PASSWORD \
    "$JUKINET" node init --dir "$dir" --lgcode "$lg" --name "$name" --key-token "$JUKINET_NODE_TOKEN" \
    --card-module "$JUKINET_PKCS11_MODULE" --key-module "$JUKINET_PKCS11_MODULE" --admin-staff-id admin01 \
    --admin-name "管理 太郎" --admin-department 情報政策課 --card "$JUKINET_ADMIN_CARD" "$@"
}

# the newest entry number of the current node's ledger (read by the administrator, whose own
# audit.log entry comes right after it)
ledger_last() { as_admin --json audit log --limit 1 | jq -r '.[0].seq'; }

# expect_recorded SINCE ACTION RESULT [OPERATOR] : an entry after entry SINCE has this action,
# result (ok, AUTH, PERM, …) and, when given, operator
expect_recorded() {
  local since=$1 action=$2 result=$3 who=${4:-}
  if ! as_admin --json audit log --limit 50 >"$T/ledger.json" 2>"$T/ledger.err"; then
    fail "audit log (looking for $action $result)"; sed 's/^/  err: /' "$T/ledger.err" >&2; return
  fi
  local n
  n=$(jq --argjson s "$since" --arg a "$action" --arg r "$result" --arg o "$who" \
    '[.[] | select(.seq > $s and .action == $a and .result == $r and ($o == "" or .operator == $o))] | length' \
    "$T/ledger.json")
  if [ "${n:-0}" -lt 1 ]; then
    fail "the ledger has no entry after $since: $action $result ${who}"
    jq -c --argjson s "$since" '.[] | select(.seq > $s) | [.seq, .operator, .action, .object, .result]' \
      "$T/ledger.json" | head -8 | sed 's/^/  | /' >&2
  fi
}

# state of the current node outside the ledger and the sessions: the registry, operators,
# appointments, cards and card ledger, passwords and settings (login counters excluded)
node_state() {
  sqlite3 "$JUKINET_DIR/node.db" \
    '.dump resident resident_version household retired_code operator grant_ card card_event password node_meta'
}

# ---- a network made by scripts/devnet in $N (test_sync, test_killnet, test_diskfull, test_pg_replica) ----

# jk NODE ARGS: jukinet as that node's clerk; ja NODE ARGS: as its administrator (admin01).
# Bounded by a timeout: a hung command must not hang CTest.
jk() { local n=$1; shift; ( eval "$(cat "$N/$n/hsm/env.sh")"; timeout 60 "$JUKINET" --lang en "$@" ); }
ja() {
  local n=$1; shift
  ( eval "$(cat "$N/$n/hsm/env.sh")"
    JUKINET_SESSION=$JUKINET_DIR/hsm/session-admin JUKINET_STAFF_ID=admin01 JUKINET_CARD=$JUKINET_ADMIN_CARD \
      JUKINET_PIN=$JUKINET_ADMIN_PIN JUKINET_PASSWORD=$JUKINET_ADMIN_PASSWORD timeout 60 "$JUKINET" --lang en "$@" )
}
id_of() { cat "$N/$1/node-id"; }
# metric I NAME: the value of NAME in /metrics of the node on port $base + I
metric() { curl -sf -m 5 "http://127.0.0.1:$((base + $1))/metrics" | awk -v k="$2" '$1 == k {print $2}'; }
# wait_agree SECONDS: until every tier holds exactly each municipality's registry ($T/demo.json)
wait_agree() {
  local i
  for i in $(seq $(( $1 * 10 ))); do
    if timeout 20 "$JUKINET" --lang en --json demo --net "$N" >"$T/demo.json" 2>"$T/demo.err"; then return 0; fi
    sleep 0.1
  done
  fail "the tiers do not agree after $1 s"; jq -c '.checks[]' "$T/demo.json" >&2; tail -n 5 "$N"/*.log >&2
  return 1
}
# wait_gone PID: until the process has exited (a zombie counts as gone: the daemons' parent,
# scripts/devnet, is not there to reap them)
wait_gone() {
  local i
  for i in $(seq 100); do
    [ -e "/proc/$1" ] || return 0
    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
    sleep 0.1
  done
}
