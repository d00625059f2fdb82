#!/usr/bin/env bash
# The operation ledger: verify, proofs, export and the offline bundle check, searches; and
# tampering with node.db behind jukinet's back (edit, delete, swap, forged signature) is found
# and the first bad entry named.
. "$(dirname "$0")/lib.sh"
J() { "$JUKINET" --lang en "$@"; }
A() { as_admin --lang en "$@"; }
sql() { sqlite3 "$JUKINET_DIR/node.db" "$@"; }
hexcol() { sql "SELECT lower(hex($1)) FROM ledger WHERE seq = $2"; }

# some_work : operations by the clerk and the administrator, about 30 entries
some_work() {
  local i
  expect_exit 0 "$JUKINET" gen residents --count 20 --seed 3 --out "$T/g.csv"
  expect_exit 0 J resident import --format csv "$T/g.csv"
  for i in 1 2 3; do
    expect_exit 0 J --json resident add --name "山田　太郎$i" --kana "ヤマダ　タロウ" --birth 1980-01-0$i --sex 男 \
      --address "大阪府枚方市大垣内町2丁目1番20号"
  done
  CODE=$(jq -r .code "$T/out")
  expect_exit 0 J resident move "$CODE" --kind 転居 --address "大阪府枚方市岡東町12番5号"
  expect_exit 0 J resident show "$CODE"
  expect_exit 0 J resident history "$CODE"
  expect_exit 0 J resident search --kana やまだ
  expect_exit 1 J resident add --name "山田" --kana "ヤマダ" --birth 2099-01-01 --sex 男 --address 大阪府   # refused: recorded too
  for i in 1 2 3 4 5 6 7 8 9 10; do expect_exit 0 J whoami; done
  expect_exit 0 A operator list
  expect_exit 0 A card list
}

# ---- a node with some history: intact ----
devnode "$T/n0"
some_work
expect_exit 0 A audit verify
expect_in "$T/out" "ledger intact"
expect_exit 0 A --json audit verify
expect_eq "$(jq -r '.intact, .first_bad' "$T/out" | tr '\n' ' ')" "true 0 "
size=$(jq .entries "$T/out")
[ "$size" -ge 30 ] || fail "expected at least 30 entries, got $size"

# the append-only triggers refuse edits made with plain SQL
sql "UPDATE ledger SET object = 'x' WHERE seq = 5" 2>"$T/sql.err" && fail "UPDATE on ledger was allowed"
expect_in "$T/sql.err" "append-only"
sql "DELETE FROM ledger WHERE seq > 20" 2>"$T/sql.err" && fail "DELETE on ledger was allowed"
expect_in "$T/sql.err" "append-only"
sql "UPDATE ledger_head SET sig = zeroblob(64)" 2>"$T/sql.err" && fail "UPDATE on ledger_head was allowed"
expect_eq "$(sql "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name GLOB 'ledger*append_only_[ud]'")" 6 \
  "(append-only triggers on ledger, ledger_head, ledger_subtree)"
expect_exit 0 A audit verify

# ---- inclusion proofs ----
expect_exit 0 A audit prove 5
expect_in "$T/out" "proof verified"
expect_exit 0 A --json audit prove 5
expect_eq "$(jq .entry "$T/out")" 5
expect_eq "$(jq -r .leaf "$T/out")" "$(hexcol leaf 5)" "(proof leaf = the stored leaf)"
[ "$(jq '.path | length' "$T/out")" -ge 1 ] || fail "the proof has no path"
small=$(sql "SELECT min(size) FROM ledger_head WHERE size >= 12")
expect_exit 0 A --json audit prove 5 --size "$small"
expect_eq "$(jq .tree_size "$T/out")" "$small"
expect_exit 0 A audit prove "$size"                  # the last entry before this audit
expect_exit 3 A audit prove 5 --size 3               # no head was signed at size 3
expect_exit 1 A audit prove 0
[ "$(A audit prove 100000 >/dev/null 2>&1; echo $?)" != 0 ] || fail "prove of a future entry succeeded"

# ---- consistency proofs ----
big=$(sql "SELECT max(size) FROM ledger_head")
expect_exit 0 A audit consistency "$small" "$big"
expect_in "$T/out" "consistent"
expect_exit 0 A --json audit consistency "$small" "$big"
expect_eq "$(jq '.old_size, .new_size' "$T/out" | tr '\n' ' ')" "$small $big "
[ "$(jq '.path | length' "$T/out")" -ge 1 ] || fail "the consistency proof has no path"
expect_exit 0 A audit consistency 9 "$small"
expect_exit 1 A audit consistency "$big" "$small"

# ---- export, public key, offline check ----
expect_exit 0 A audit export --output "$T/bundle.jsonl"
expect_exit 0 A audit pubkey --output "$T/node.pub"
expect_in "$T/node.pub" "jukinet-ed25519 "
expect_exit 0 A audit pubkey
expect_eq "$(cat "$T/out")" "$(cat "$T/node.pub")"
expect_exit 0 A audit verify --pubkey "$T/node.pub"
expect_exit 0 J audit check-bundle "$T/bundle.jsonl" "$T/node.pub"
expect_in "$T/out" "ledger intact"
expect_exit 0 J --json audit check-bundle "$T/bundle.jsonl" "$T/node.pub"
expect_eq "$(jq .intact "$T/out")" true
n=$(tail -n 1 "$T/bundle.jsonl" | jq .end.entries)
[ "$n" -gt "$size" ] || fail "the bundle has $n entries (want more than $size)"
# check-bundle needs no node, no session, no token
expect_exit 0 env -u JUKINET_DIR -u JUKINET_SESSION -u SOFTHSM2_CONF "$JUKINET" --lang en \
  audit check-bundle "$T/bundle.jsonl" "$T/node.pub"
# one field of entry 12 changed
line=$(grep -n '^{"seq":12,' "$T/bundle.jsonl" | cut -d: -f1)
sed "${line}s/\"result\":\"ok\"/\"result\":\"PERM\"/" "$T/bundle.jsonl" > "$T/edited.jsonl"
cmp -s "$T/bundle.jsonl" "$T/edited.jsonl" && fail "the sed edit changed nothing"
expect_exit 8 J audit check-bundle "$T/edited.jsonl" "$T/node.pub"
expect_in "$T/out" "first bad entry 12"
expect_exit 8 J --json audit check-bundle "$T/edited.jsonl" "$T/node.pub"
expect_eq "$(jq .first_bad "$T/out")" 12
# cut short, at a line end and inside a line
head -n 20 "$T/bundle.jsonl" > "$T/cut.jsonl"
expect_exit 8 J audit check-bundle "$T/cut.jsonl" "$T/node.pub"
expect_in "$T/err" "cut short"
head -c 3000 "$T/bundle.jsonl" > "$T/cut2.jsonl"
rc=0; J audit check-bundle "$T/cut2.jsonl" "$T/node.pub" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" != 0 ] || fail "a bundle cut inside a line was accepted"
expect_in "$T/err" "bundle line"
: > "$T/empty.jsonl"
rc=0; J audit check-bundle "$T/empty.jsonl" "$T/node.pub" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" != 0 ] || fail "an empty bundle was accepted"
[ -s "$T/err" ] || fail "an empty bundle is refused without a message"
# not a key file
echo "not a key" > "$T/bad.pub"
expect_exit 1 J audit check-bundle "$T/bundle.jsonl" "$T/bad.pub"
expect_in "$T/err" "public key"

# ---- searches (and each search is itself in the ledger) ----
expect_exit 0 A --json audit log --operator clerk01 --limit 1000
nclerk=$(jq length "$T/out")
[ "$nclerk" -ge 20 ] || fail "audit log --operator clerk01: $nclerk entries"
expect_eq "$(jq -r '[.[].operator] | unique | join(",")' "$T/out")" clerk01
expect_eq "$(jq -r '[.[].seq] | . == (sort | reverse)' "$T/out")" true "(newest first)"
expect_exit 0 A --json audit log --operator clerk01 --limit 3
expect_eq "$(jq length "$T/out")" 3 "(--limit 3)"
expect_exit 0 A --json audit log --action resident.add
expect_eq "$(jq -r '[.[] | .result] | sort | join(",")' "$T/out")" "INVALID,ok,ok,ok" "(resident.add entries)"
expect_exit 0 A --json audit log --resident "$CODE"
expect_eq "$(jq -r '[.[] | .action] | join(",")' "$T/out")" \
  "resident.history,resident.show,resident.move,resident.add" "(entries about $CODE)"
wide=$(printf '%s' "$CODE" | sed 's/0/０/g;s/1/１/g;s/2/２/g;s/3/３/g;s/4/４/g;s/5/５/g;s/6/６/g;s/7/７/g;s/8/８/g;s/9/９/g')
expect_exit 0 A --json audit log --resident "$wide"
expect_eq "$(jq length "$T/out")" 4 "(--resident in full-width digits)"
expect_exit 0 A --json audit log --limit 1000
cp "$T/out" "$T/all.json"
from=$(jq -r '.[] | select(.seq == 12) | .at' "$T/all.json")
to=$(jq -r '.[] | select(.seq == 20) | .at' "$T/all.json")
want=$(jq -r --arg f "$from" --arg t "$to" '[.[] | select(.at >= $f and .at <= $t) | .seq] | sort | join(",")' "$T/all.json")
expect_exit 0 A --json audit log --from "$from" --to "$to"
expect_eq "$(jq -r '[.[].seq] | sort | join(",")' "$T/out")" "$want" "(--from/--to)"
expect_in "$T/out" '"seq": 12'
expect_in "$T/out" '"seq": 20'
expect_exit 0 A --json audit log --from "$from" --to "$to" --operator clerk01
expect_eq "$(jq -r '[.[].seq] | sort | join(",")' "$T/out")" \
  "$(jq -r --arg f "$from" --arg t "$to" '[.[] | select(.at >= $f and .at <= $t and .operator == "clerk01") | .seq] | sort | join(",")' "$T/all.json")" \
  "(--from/--to with --operator)"
expect_exit 0 A --json audit log --to 2020-01-01
expect_eq "$(jq length "$T/out")" 0 "(--to 2020-01-01)"
expect_exit 0 A --json audit log --from 2099-01-01
expect_eq "$(jq length "$T/out")" 0 "(--from 2099-01-01)"
expect_exit 2 A audit log --limit 0
# a date means that whole day in Japan (JST); 和暦 works; anything else is refused
# (yesterday to tomorrow, so that a run across midnight in Japan cannot fail)
today_jst=$(TZ=Asia/Tokyo date -d yesterday +%F) tomorrow_jst=$(TZ=Asia/Tokyo date -d tomorrow +%F)
maxseq=$(jq '[.[].seq] | max' "$T/all.json")
expect_exit 0 A --json audit log --from "$today_jst" --to "$tomorrow_jst" --limit 1000
expect_eq "$(jq --argjson m "$maxseq" '[.[] | select(.seq <= $m)] | length' "$T/out")" "$(jq length "$T/all.json")" \
  "(yesterday to tomorrow in JST covers every entry)"
expect_exit 0 A --json audit log --from 令和2年1月1日 --limit 1000
expect_eq "$(jq --argjson m "$maxseq" '[.[] | select(.seq <= $m)] | length' "$T/out")" "$(jq length "$T/all.json")" \
  "(--from 令和2年1月1日)"
expect_exit 1 A audit log --from garbage
expect_exit 1 A audit log --to 2026-13-45
expect_exit 0 A --json audit log --action audit.log --limit 100
for o in "clerk01||||" "||resident.add||" "|$CODE|||" "|||$from|$to" "||||2020-01-01"; do
  expect_eq "$(jq --arg o "$o" '[.[] | select(.object == $o and .operator == "admin01" and .result == "ok")] | length > 0' "$T/out")" \
    true "(the search '$o' is recorded)"
done
expect_exit 0 A audit verify

# ---- tampering, one fresh node per case ----
# tamper NAME [SQL] : a fresh node with some history, its ledger triggers dropped, SQL run on it
tamper() {
  devnode "$T/n$1"
  some_work
  sql "DROP TRIGGER ledger_append_only_u; DROP TRIGGER ledger_append_only_d;
       DROP TRIGGER ledger_head_append_only_u; ${2:-}" || fail "tamper $1: the SQL failed"
}
pub0=$T/node.pub

# (a) one entry's object edited
tamper a "UPDATE ledger SET object = 'clerk99' WHERE seq = 17"
expect_exit 8 A audit verify
expect_in "$T/out" "first bad entry 17"
expect_exit 8 A --json audit verify
expect_eq "$(jq -r '.intact, .first_bad' "$T/out" | tr '\n' ' ')" "false 17 "
# the refusal to trust the ledger is stable: asking again gives the same answer
expect_exit 8 A --json audit verify
expect_eq "$(jq .first_bad "$T/out")" 17
# a bundle exported from the damaged node is refused as well (with this node's key)
expect_exit 0 A audit pubkey --output "$T/a.pub"
expect_exit 0 A audit export --output "$T/a.jsonl"
expect_exit 8 J audit check-bundle "$T/a.jsonl" "$T/a.pub"
expect_in "$T/out" "first bad entry 17"

# (b) the last 10 entries deleted
tamper b "DELETE FROM ledger WHERE seq > (SELECT max(seq) - 10 FROM ledger)"
first=$(( $(sql "SELECT max(seq) FROM ledger") + 1 ))
# nothing can be recorded on top of a ledger that lost entries: the finding is shown anyway
expect_exit 8 A audit verify
expect_in "$T/out" "first bad entry $first"
expect_exit 8 A --json audit verify
expect_eq "$(jq -r '.intact, .first_bad' "$T/out" | tr '\n' ' ')" "false $first "

# (c) the contents of two entries swapped (seq kept)
tamper c
l14=$(hexcol leaf 14) l19=$(hexcol leaf 19)
[ "$l14" != "$l19" ] || fail "entries 14 and 19 should differ"
cols="at, operator, role, terminal, action, object, result, detail, leaf"
sql "CREATE TEMP TABLE s AS SELECT * FROM ledger WHERE seq IN (14, 19);
     UPDATE ledger SET ($cols) = (SELECT $cols FROM s WHERE s.seq = 33 - ledger.seq) WHERE seq IN (14, 19);"
expect_eq "$(hexcol leaf 14) $(hexcol leaf 19)" "$l19 $l14" "(entries 14 and 19 swapped)"
expect_exit 8 A audit verify
expect_in "$T/out" "first bad entry 14"
expect_exit 8 A --json audit verify
expect_eq "$(jq .first_bad "$T/out")" 14

# (d) one tree head's signature with one byte changed; and the wrong public key
tamper d
expect_exit 0 A audit pubkey --output "$T/d.pub"
expect_exit 0 A audit verify --pubkey "$T/d.pub"
expect_exit 8 A audit verify --pubkey "$pub0"                    # another node's key
expect_exit 8 J audit check-bundle "$T/bundle.jsonl" "$T/d.pub"   # another node's bundle
h=$(sql "SELECT hex(sig) FROM ledger_head WHERE size = 20")
b=${h:0:2}; nb=$(printf '%02X' $(( 0x$b ^ 0x01 )))
sql "UPDATE ledger_head SET sig = X'$nb${h:2}' WHERE size = 20"
expect_exit 8 A audit verify
expect_in "$T/out" "tree head at size 20"
expect_exit 8 A --json audit verify
expect_eq "$(jq '.bad_head, .first_bad' "$T/out" | tr '\n' ' ')" "20 20 "
finish
