# lib.sh — helpers for the CLI tests (sourced). Each test runs in its own temp dir, removed at exit.
set -u
JUKINET=${JUKINET:?set by CTest}
export JUKINET_TODAY=${JUKINET_TODAY:-2026-11-23}
T=$(mktemp -d /tmp/jukinet-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
FAILS=0

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }

# expect_exit CODE CMD... : run, capture stdout/stderr in $T/out $T/err, check the exit code
expect_exit() {
  local want=$1; shift
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
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
