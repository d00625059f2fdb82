#!/usr/bin/env bash
# The query service for national agencies end to end (docs/provision.md): scripts/devnet's
# nation and prefecture serve POST /api/v1/provision over mutual TLS 1.3; the development
# agency (日本年金機構, its key on its own token, a certificate of role agency) is registered for
# B1-77. An answer gives the purpose's fields and never the 住民票コード; a name search that
# matches two people says only that; unknown residents, unregistered purposes, bad bodies, a
# municipality's certificate, a revoked agency and an agency over its rate are refused — and
# every answer and refusal is a provision row and a ledger entry at the node that gave it.
. "$(dirname "$0")/lib.sh"
JUKINETD=${JUKINETD:?set by CTest}
N=$T/net
export JUKINET JUKINETD
trap '"$SRC/scripts/devnet" stop "$N" >/dev/null 2>&1; rm -rf "$T"' EXIT
"$SRC/scripts/devnet" create "$N" >"$T/create.out" 2>&1 || { cat "$T/create.out"; fail "devnet create"; finish; }
"$SRC/scripts/devnet" start "$N" || { fail "devnet start"; finish; }
base=$(cat "$N/port")
echo agency-pin-1357 >> "$T/secrets"
q() { "$SRC/scripts/devnet" query "$N" "$@"; }
rows() { sqlite3 "$N/$1/node.db" "SELECT count(*) FROM provision"; }

jk hirakata login >/dev/null && jk kadoma login >/dev/null || { fail "clerk login"; finish; }
jk hirakata gen residents --count 40 --seed 21 --out "$T/h.csv" >/dev/null
expect_exit 0 jk hirakata resident import --format csv "$T/h.csv"
# two people of the same kana, birth date and sex, in two cities: a name search must not choose
for c in hirakata kadoma; do
  expect_exit 0 jk "$c" resident add --name "同名　花子" --kana "ドウメイ　ハナコ" --birth 1990-05-05 --sex 女 \
    --address "大阪府${c}テスト町1番" --reason 転入 --date 2026-11-01
done
wait_agree 30
code=$(jk hirakata --json resident list --limit 1 | jq -r '.[0].code')
jk hirakata --json resident show "$code" > "$T/rec.json"

# ---- an answer: the purpose's fields, never the code ----
for n in national osaka; do
  expect_exit 0 q "$n" --json --purpose B1-77 --code "$code"
  expect_eq "$(jq -r '.resident | keys | join(",")' "$T/out")" "address,birth,change,name,sex" "(fields at $n)"
  expect_eq "$(jq -r .resident.name "$T/out")" "$(jq -r .name "$T/rec.json")"
  expect_eq "$(jq -r .resident.birth "$T/out")" "$(jq -r .birth.iso "$T/rec.json")"
  expect_not_in "$T/out" "$code"
  [ "$(jq -r .provision "$T/out")" -ge 1 ] || fail "no provision number at $n"
done
# by name: kana (hiragana and half-width forms are the same name), birth date (和暦 too), sex
kana=$(jq -r .kana "$T/rec.json")
expect_exit 0 q national --json --purpose B1-77 --kana "$kana" --birth "$(jq -r .birth.iso "$T/rec.json")" \
  --sex "$(jq -r .sex "$T/rec.json")"
expect_eq "$(jq -r .resident.name "$T/out")" "$(jq -r .name "$T/rec.json")" "(name search)"
# ambiguous: nothing but that
expect_exit 0 q national --json --purpose B1-77 --kana "どうめい はなこ" --birth 平成2年5月5日 --sex 女
expect_eq "$(jq -c 'del(.provision)' "$T/out")" '{"purpose":"B1-77","result":"ambiguous","status":200}'
expect_not_in "$T/out" "花子"
# the address tells them apart
expect_exit 0 q national --json --purpose B1-77 --kana "ドウメイ ハナコ" --birth 1990-05-05 --sex 女 \
  --address "大阪府kadomaテスト町1番"
expect_eq "$(jq -r .resident.address "$T/out")" "大阪府kadomaテスト町1番"

# ---- no match: the same answer for every reason ----
expect_exit 3 q national --json --purpose B1-77 --code 12345678903
expect_eq "$(jq -r .error.code "$T/out")" NOTFOUND
expect_exit 3 q national --purpose B1-77 --kana ダレモイナイ --birth 1990-05-05 --sex 女

# ---- refusals: clear, recorded, nothing disclosed ----
expect_exit 6 q national --purpose B1-74 --code "$code"                # not registered for it
expect_in "$T/out" "not registered for purpose B1-74"
expect_in "$T/out" "この機関はこの照会をできません"  # what it means, in Japanese
expect_exit 1 q national --purpose B6-99 --code "$code"               # not in the law's table
expect_in "$T/out" "B6-99 is not in 住民基本台帳法 別表第一"
expect_exit 1 q national --purpose B1-x --code "$code"                  # not a purpose code
expect_exit 1 q national --purpose B1-77 --code 12345678901            # wrong check digit
expect_exit 1 q national --purpose B1-77 --code "$code" --kana ヤマダ   # both ways at once
for body in '{"purpose":"B1-77","code":' '{"purpose":"B1-77","code":12345678903}' \
            '{"purpose":"B1-77","code":"12345678903","x":1}' '[]'; do
  printf '%s' "$body" > "$T/body"
  expect_exit 1 q national --json --body "$T/body"
  expect_eq "$(jq -r .error.code "$T/out" 2>/dev/null || cat "$T/out")" INVALID "(body $body)"
done
printf '{"purpose":"B1-77","kana":"\xff\xfe","birth":"1990-05-05","sex":"女"}' > "$T/body"
expect_exit 1 q national --body "$T/body"
head -c 6000 /dev/zero | tr '\0' 'a' | sed 's/^/{"purpose":"B1-77","address":"/; s/$/"}/' > "$T/body"
expect_exit 1 q national --body "$T/body"
for f in "$T"/out "$T"/err; do expect_not_in "$f" "$(jq -r .name "$T/rec.json")"; done

# a municipality's certificate may not call the agency API
(
  eval "$("$SRC/scripts/devnet" env "$N" hirakata)"
  JUKINET_AGENCY_PIN=node-key-2468 "$JUKINET" --lang en provision query --url "https://127.0.0.1:$((base + 12))" \
    --server "$(id_of national)" --cert "$N/hirakata/node.crt" --ca "$N/ca/ca.crt" --token jk-node-key \
    --key jukinet-node --purpose B1-77 --code "$code"
) >"$T/out" 2>"$T/err"
expect_eq "$?" 6 "(a municipal certificate)"
expect_in "$T/out" "only a national agency's certificate"

# over the agency's rate (1 answer/s at the prefecture): refused with 429, recorded
ja osaka agency add mhlw-nenkin --name 日本年金機構 --purposes B1-77 --rate 1 >/dev/null
sleep 1.2 # the service rereads the registry every second
busy=0
for _ in 1 2 3 4; do
  q osaka --purpose B1-77 --code "$code" >"$T/out" 2>&1
  [ $? = 7 ] && busy=$((busy + 1)) && cp "$T/out" "$T/busy"
done
[ $busy -ge 1 ] || fail "no 429 over the rate"
expect_in "$T/busy" "上限を超えました"

# a revoked agency is refused within a second
expect_exit 0 ja national agency revoke mhlw-nenkin
sleep 1.2
expect_exit 6 q national --purpose B1-77 --code "$code"
expect_in "$T/out" "not registered at this node"

# ---- every answer and refusal: a provision row and a ledger entry, the ledger intact ----
sqlite3 -separator ' ' "$N/national/node.db" "SELECT result, count(*) FROM provision GROUP BY result ORDER BY 1" > "$T/results"
for r in AMBIGUOUS INVALID NOTFOUND PERM ok; do expect_in "$T/results" "$r "; done
expect_eq "$(sqlite3 "$N/national/node.db" "SELECT count(*) FROM provision WHERE code != '' AND result = 'ok' AND fields = 'name,birth,sex,address,change'")" \
  "$(sqlite3 "$N/national/node.db" "SELECT count(*) FROM provision WHERE result = 'ok'")"
expect_eq "$(sqlite3 "$N/national/node.db" "SELECT count(*) FROM ledger WHERE action IN ('provision.answer', 'provision.refuse')")" \
  "$(rows national)" "(ledger entries = provision rows at the nation)"
expect_eq "$(sqlite3 "$N/osaka/node.db" "SELECT count(*) FROM provision WHERE result = 'BUSY'")" "$busy"
expect_eq "$(sqlite3 "$N/national/node.db" "SELECT count(*) FROM provision WHERE agency = '$(id_of hirakata)' AND result = 'PERM'")" 1
# the entry names its provision row, and the row names the resident
obj=$(sqlite3 "$N/national/node.db" "SELECT object FROM ledger WHERE action = 'provision.answer' AND result = 'ok' LIMIT 1")
expect_eq "$(sqlite3 "$N/national/node.db" "SELECT code FROM provision WHERE id = ${obj#provision:}")" "$code" "($obj)"
"$SRC/scripts/devnet" stop "$N" >/dev/null
expect_exit 0 ja national audit verify
grep -q "provision service for national agencies" "$N/national.log" || fail "the nation did not log its provision service"
finish
