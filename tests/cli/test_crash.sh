#!/usr/bin/env bash
# Nothing is half-done: an import killed with SIGKILL at any moment leaves the node with all
# of the file or none of it, the database intact, the ledger intact and agreeing with what was
# committed, and the node usable (moves still work). The import runs as the logged-in clerk.
. "$(dirname "$0")/lib.sh"
D=$T/node
J() { "$JUKINET" --dir "$D" "$@"; }
count() { J --json node show | jq -r '.residents + .removed'; }

devnode "$D"                                                       # the clerk is logged in
expect_exit 0 "$JUKINET" gen residents --count 60000 --seed 11 --out "$T/a.csv"
expect_exit 0 J resident import --format csv "$T/a.csv"           # 60,000 already there
base=$(count)
expect_eq "$base" 60000
expect_exit 0 "$JUKINET" gen residents --count 120000 --seed 12 --out "$T/b.csv"

kills=0 complete=0
for delay in 0.05 0.15 0.3 0.5 0.8 1.2 1.8 2.5; do
  "$JUKINET" --dir "$D" resident import --format csv "$T/b.csv" >/dev/null 2>&1 &   # not J: $! must be jukinet itself
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null
  st=0; wait "$pid" 2>/dev/null || st=$?
  [ "$st" = 137 ] && kills=$((kills + 1))                          # really died of SIGKILL
  n=$(count)
  if [ "$n" = "$base" ]; then :                                  # rolled back
  elif [ "$n" = $((base + 120000)) ]; then base=$n; complete=$((complete + 1))   # it finished first
  else fail "after kill at ${delay}s: $n residents (want $base or $((base + 120000)))"; break; fi
  ok=$(sqlite3 "$D/node.db" 'PRAGMA integrity_check')
  expect_eq "$ok" ok "(integrity after kill at ${delay}s)"
done
echo "killed $kills imports, $complete finished before the kill"
[ "$kills" -ge 3 ] || fail "too few imports were actually killed ($kills)"
# the node still works after the crashes
code=$(J --json resident list --limit 1 | jq -r '.[0].code')
expect_exit 0 J resident move "$code" --kind 転居 --address "大阪府枚方市岡東町1番1号"
# the ledger survived the kills: intact, and it records exactly the imports that were committed
expect_exit 0 as_admin --lang en audit verify
expect_in "$T/out" "ledger intact"
expect_exit 0 as_admin --json audit log --action resident.import --limit 100
expect_eq "$(jq '[.[] | select(.result == "ok")] | length' "$T/out")" $((1 + complete)) "(imports recorded as done)"
finish
