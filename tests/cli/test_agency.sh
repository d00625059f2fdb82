#!/usr/bin/env bash
# jukinet agency add|list|show|revoke: the registry of national agencies at a national node
# (docs/provision.md). Only the セキュリティ総括責任者 / 副総括責任者 register and revoke; every
# purpose must be in the law's table and name the agency; a revoked id never comes back; a
# municipal node keeps no registry. Every refusal is recorded and changes nothing.
. "$(dirname "$0")/lib.sh"
D=$T/nation
devnode "$D" --role national --lgcode 131016 --name 国
A() { as_admin --lang en "$@"; }
expect_exit 0 as_admin operator appoint admin01 security_chief   # (devnode's admin is システム管理者)

expect_exit 0 as_admin agency add mhlw-nenkin --name 日本年金機構 --purposes B1-77 --rate 500
expect_in "$T/out" "mhlw-nenkin"
expect_exit 0 A --json agency show mhlw-nenkin
[ "$(jq -r '.purposes, .rate, .revoked_at' "$T/out" | tr '\n' ' ')" = "B1-77 500 null " ] || fail "show: $(cat "$T/out")"
# a change keeps the registration time
added=$(jq -r .added_at "$T/out")
expect_exit 0 A agency add mhlw-nenkin --name 厚生労働省 --purposes B1-77,B1-74 --rate 800
expect_exit 0 A --json agency show mhlw-nenkin
expect_eq "$(jq -r '.purposes + " " + (.rate|tostring) + " " + .added_at' "$T/out")" "B1-77,B1-74 800 $added"

# refusals: the law's table decides who may receive what
expect_exit 6 A agency add mofa --name 外務省 --purposes B1-77
expect_in "$T/err" "B1-77 is for 厚生労働省及び日本年金機構"
expect_exit 1 A agency add x --name 日本年金機構 --purposes B1-99
expect_in "$T/err" "B1-99 is not in the table"
expect_exit 1 A agency add x --name 日本年金機構 --purposes B1-77,
expect_exit 2 A agency add x --name 日本年金機構 --purposes B1-77 --rate 0
expect_exit 2 A agency add x --purposes B1-77
expect_exit 1 A agency add "bad id" --name 日本年金機構 --purposes B1-77
expect_exit 6 "$JUKINET" --lang en agency list          # the clerk (操作者) holds no role for it
expect_exit 0 A --json agency list
expect_eq "$(jq -r '[.agencies[].id] | join(",")' "$T/out")" "mhlw-nenkin"

# revoked: for good
expect_exit 0 A agency revoke mhlw-nenkin
expect_exit 4 A agency revoke mhlw-nenkin
expect_in "$T/err" "already revoked"
expect_exit 4 A agency add mhlw-nenkin --name 日本年金機構 --purposes B1-77
expect_in "$T/err" "never registered again"
expect_exit 3 A agency show nobody
expect_exit 0 A --json audit log --limit 40
for r in "agency.add ok" "agency.add PERM" "agency.add INVALID" "agency.revoke ok" "agency.revoke CONFLICT"; do
  [ "$(jq --arg a "${r% *}" --arg r "${r#* }" '[.[] | select(.action == $a and .result == $r)] | length' "$T/out")" -ge 1 ] ||
    fail "no ledger entry $r"
done

# a municipal node keeps no agency registry
M=$T/city
devnode "$M"
as_admin operator appoint admin01 security_chief >/dev/null
expect_exit 6 as_admin --lang en agency add mhlw-nenkin --name 日本年金機構 --purposes B1-77
expect_in "$T/err" "municipal node keeps no agency registry"
finish
