#!/usr/bin/env bash
# The residents' side end to end (docs/provision.md), over scripts/devnet: 枚方市 lets residents
# choose (resident-choice), 門真市 sends everyone (statutory). A non-participation notice at 枚方市
# holds the resident back, sends an erasure that the prefecture and the nation apply (content
# scrubbed, the agency answered "no match"), and the reply letter lists what was done with its
# dates; a consent sends the record again. At 門真市 the notice is recorded and answered, and the
# record is still sent. Only the chiefs set the policy; bad requests change nothing.
. "$(dirname "$0")/lib.sh"
JUKINETD=${JUKINETD:?set by CTest}
N=$T/net
export JUKINET JUKINETD
trap '"$SRC/scripts/devnet" stop "$N" >/dev/null 2>&1; rm -rf "$T"' EXIT
"$SRC/scripts/devnet" create "$N" >"$T/create.out" 2>&1 || { cat "$T/create.out"; fail "devnet create"; finish; }
"$SRC/scripts/devnet" start "$N" || { fail "devnet start"; finish; }
base=$(cat "$N/port")
q() { "$SRC/scripts/devnet" query "$N" "$@"; }
db() { sqlite3 "$N/$1/node.db" "$2"; }

jk hirakata login >/dev/null && jk kadoma login >/dev/null || { fail "clerk login"; finish; }
jk hirakata gen residents --count 30 --seed 31 --out "$T/h.csv" >/dev/null
jk kadoma gen residents --count 20 --seed 32 --out "$T/k.csv" >/dev/null
expect_exit 0 jk hirakata resident import --format csv "$T/h.csv"
expect_exit 0 jk kadoma resident import --format csv "$T/k.csv"
wait_agree 30
code=$(jk hirakata --json resident list --limit 1 | jq -r '.[0].code')
kcode=$(jk kadoma --json resident list --limit 1 | jq -r '.[0].code')
expect_exit 0 q national --purpose B1-77 --code "$code"

# ---- the policy: the chiefs decide it, per municipality ----
expect_exit 0 jk hirakata --json participation show
expect_eq "$(jq -r .policy "$T/out")" statutory
expect_exit 6 jk hirakata participation set resident-choice          # a clerk may not
expect_exit 0 ja hirakata participation set resident-choice
expect_exit 2 ja hirakata participation set sometimes
expect_exit 6 ja national participation set resident-choice          # not a municipality

# ---- bad requests: refused, nothing recorded ----
expect_exit 1 jk hirakata resident notice "$code" --date 2026-02-30 --channel letter
expect_exit 1 jk hirakata resident notice "$code" --date 2026-11-20 --channel pigeon
expect_exit 3 jk hirakata resident notice 12345678903 --date 2026-11-20 --channel letter
expect_exit 4 jk hirakata resident consent "$code" --date 2026-11-20 --channel letter   # not held back
expect_eq "$(db hirakata "SELECT count(*) FROM resident_request")" 0

# ---- resident-choice: held back, erased upstream, answered like nobody ----
expect_exit 0 jk hirakata --json resident notice "$code" --date 令和8年11月20日 --channel postcard --note "本人来庁なし"
req=$(jq -r .id "$T/out")
expect_eq "$(jq -r .decision "$T/out")" accepted
expect_exit 4 jk hirakata resident notice "$code" --date 2026-11-21 --channel letter     # already
wait_agree 30   # the tiers agree again: the held-back resident is in no digest
for n in osaka national; do
  expect_eq "$(db $n "SELECT status, name, address FROM holding WHERE code = '$code'")" "9||" "(the record at $n)"
done
# the nation scrubbed the content at once; the prefecture once the nation acknowledged it
expect_eq "$(db national "SELECT count(*) FROM notice_log WHERE code = '$code' AND enc IS NOT NULL")" 0
for _ in $(seq 50); do
  [ "$(db osaka "SELECT count(*) FROM notice_log WHERE code = '$code' AND enc IS NOT NULL")" = 0 ] && break
  sleep 0.1
done
expect_eq "$(db osaka "SELECT count(*) FROM notice_log WHERE code = '$code' AND enc IS NOT NULL")" 0 "(prefecture scrub)"
expect_eq "$(db osaka "SELECT count(*) FROM scrub_pending")" 0
expect_exit 3 q national --json --purpose B1-77 --code "$code"
expect_eq "$(jq -r .error.code "$T/out")" NOTFOUND
# a change while held back goes nowhere
expect_exit 0 jk hirakata resident move "$code" --kind 転居 --date 2026-11-22 --address "大阪府枚方市新町1丁目1番1号"
sleep 1
expect_eq "$(db osaka "SELECT status FROM holding WHERE code = '$code'")" 9
# the reply letter: what was done, with dates, including the prefecture's signed receipt
for _ in $(seq 50); do
  jk hirakata resident reply "$req" >"$T/reply.txt" 2>&1
  grep -q "（未着）" "$T/reply.txt" || break
  sleep 0.1
done
expect_in "$T/reply.txt" "本人確認情報の提供に関する申出について（回答）"
expect_in "$T/reply.txt" "送信の停止"
expect_in "$T/reply.txt" "消去の受領（都道府県）"
expect_in "$T/reply.txt" "消去の受領（機構）"
expect_not_in "$T/reply.txt" "（未着）"
expect_in "$T/reply.txt" "$(id_of osaka)"
expect_in "$T/reply.txt" "$(id_of national)"          # the nation's own signed receipt, carried down
expect_eq "$(db hirakata "SELECT receiver FROM receipt WHERE receiver = '$(id_of national)'")" "$(id_of national)"
[ "$(db national "SELECT count(*) FROM ledger WHERE action = 'sync.attest' AND result = 'ok'")" -ge 1 ] ||
  fail "the nation did not record its attestation"
expect_exit 0 jk hirakata resident reply "$req" --pdf "$T/reply.pdf"
head -c 4 "$T/reply.pdf" | grep -q "%PDF" || fail "the reply is not a PDF"
if command -v pdftotext >/dev/null; then
  pdftotext "$T/reply.pdf" - | tr -d ' ' | grep -q "本人確認情報の提供に関する申出について" || fail "the PDF lacks its title"
fi

# ---- consent: sent again, with the change made meanwhile ----
expect_exit 0 jk hirakata resident consent "$code" --date 2026-11-23 --channel counter
wait_agree 30
expect_exit 0 q national --json --purpose B1-77 --code "$code"
expect_eq "$(jq -r .resident.address "$T/out")" "大阪府枚方市新町1丁目1番1号"
expect_exit 0 jk hirakata --json resident requests "$code"
expect_eq "$(jq -r '[.[].kind] | join(",")' "$T/out")" "opt-out,consent"

# ---- disclosure: the record with its history under both codes, and every provision of it ----
q national --purpose B1-77 --kana "$(jk hirakata --json resident show "$code" | jq -r .kana)" \
  --birth "$(jk hirakata --json resident show "$code" | jq -r .birth.iso)" \
  --sex "$(jk hirakata --json resident show "$code" | jq -r .sex)" >/dev/null
q osaka --purpose B1-77 --code "$code" >/dev/null
expect_exit 1 jk hirakata resident change-code "$code" --date 2026-11-23 --channel telepathy
newcode=$(jk hirakata --json resident change-code "$code" --date 2026-11-23 --channel counter --pdf "$T/code.pdf" | jq -r .new)
expect_exit 3 jk hirakata resident show "$code"                     # the old code is retired
pdftotext "$T/code.pdf" "$T/code.txt"                                # the notice to the resident names both
expect_in "$T/code.txt" "住民票コードの変更について"
expect_in "$T/code.txt" "$newcode"
expect_in "$T/code.txt" "$code"
wait_agree 30
q national --purpose B1-77 --code "$newcode" >/dev/null
expect_exit 0 jk hirakata --json resident disclose "$newcode"
expect_eq "$(jq -r '[.history[].code] | unique | length' "$T/out")" 2 "(history under both codes)"
expect_eq "$(jq -r '[.tiers[].node] | join(" ")' "$T/out")" "$(id_of osaka) $(id_of national)"
# the nation: the first answer, the name search and the one after the code change (not the
# refused or unmatched ones); the prefecture: its one answer
nat_codes=$(jq -r --arg n "$(id_of national)" '[.tiers[] | select(.node == $n) | .provisions[] | select(.result == "ok") | .code] | join(" ")' "$T/out")
expect_eq "$(echo "$nat_codes" | wc -w)" 4 "(the nation's answers about the resident: $nat_codes)"
expect_in "$T/out" "$newcode"
expect_eq "$(jq -r --arg n "$(id_of osaka)" '[.tiers[] | select(.node == $n) | .provisions[]] | length' "$T/out")" 1
expect_eq "$(jq -r '[.tiers[].provisions[].agency_name] | unique | join(",")' "$T/out")" "日本年金機構"
expect_exit 0 jk hirakata resident disclose "$newcode" --pdf "$T/disclose.pdf"
if command -v pdftotext >/dev/null; then
  pdftotext "$T/disclose.pdf" - | tr -d ' \n' > "$T/disclose.txt"
  expect_in "$T/disclose.txt" "本人確認情報の開示について"
  expect_in "$T/disclose.txt" "日本年金機構"
  expect_in "$T/disclose.txt" "地方公共団体情報システム機構"
fi
expect_exit 3 jk hirakata resident disclose 12345678903              # nobody of ours
expect_exit 3 jk kadoma resident disclose "$newcode"                 # another city's resident
# every tier recorded the disclosure
for n in osaka national; do
  [ "$(db $n "SELECT count(*) FROM ledger WHERE action = 'provision.disclose' AND result = 'ok'")" -ge 1 ] ||
    fail "$n did not record the disclosure"
done

# ---- statutory (門真市): recorded and answered; still sent ----
expect_exit 0 jk kadoma --json resident notice "$kcode" --date 2026-11-20 --channel letter
expect_eq "$(jq -r '.decision + " " + .policy' "$T/out")" "recorded statutory"
kreq=$(jq -r .id "$T/out")
expect_exit 0 jk kadoma resident reply "$kreq"
expect_in "$T/out" "住民基本台帳法第30条の6"
wait_agree 30
expect_exit 0 q national --purpose B1-77 --code "$kcode"

# ---- 目的外利用の中止請求: recorded, decided, enforced for the purposes it names ----
expect_exit 1 jk kadoma resident stop-use "$kcode" --purposes B6-99 --date 2026-11-20 --channel letter   # not in the law
expect_exit 0 jk kadoma --json resident stop-use "$kcode" --purposes B1-77 --date 2026-11-20 --channel letter
sreq=$(jq -r .id "$T/out")
expect_eq "$(jq -r .decision "$T/out")" ""
expect_exit 0 q national --purpose B1-77 --code "$kcode"                   # pending: still answered
expect_exit 6 jk kadoma resident decide "$sreq" --accept --reason "認める"     # a clerk does not decide
expect_exit 1 ja kadoma resident decide "$kreq" --accept --reason "x"          # not a stop-use request
expect_exit 0 ja kadoma resident decide "$sreq" --accept --reason "申出のとおり中止する"
expect_exit 4 ja kadoma resident decide "$sreq" --reject --reason "again"
expect_exit 0 jk kadoma resident reply "$sreq"
expect_in "$T/out" "目的外利用の中止請求について（回答）"
expect_in "$T/out" "申出のとおり中止する"
expect_in "$T/out" "厚生労働省及び日本年金機構"
for _ in $(seq 50); do
  q national --purpose B1-77 --code "$kcode" >/dev/null 2>&1 || break
  sleep 0.1
done
expect_exit 3 q national --json --purpose B1-77 --code "$kcode"           # stopped: like no match
expect_eq "$(jq -r .error.code "$T/out")" NOTFOUND
expect_eq "$(db national "SELECT result FROM provision ORDER BY id DESC LIMIT 1")" STOPPED
expect_eq "$(db national "SELECT purposes FROM restriction WHERE code = '$kcode'")" B1-77

# ---- 支援措置: a provisional block at once, decided, extended; every agency query held for review ----
pcode=$(jk hirakata --json resident list --limit 5 | jq -r '.[3].code')
expect_exit 0 q national --purpose B1-77 --code "$pcode"
expect_exit 6 jk hirakata resident protect "$pcode" --offenders "元配偶者 山田一郎" --date 2026-11-20  # a clerk
expect_exit 0 ja hirakata --json resident protect "$pcode" --offenders "元配偶者 山田一郎(昭和50年1月1日生)" --date 2026-11-20
pid=$(jq -r .id "$T/out")
expect_eq "$(jq -r .status "$T/out")" provisional
for _ in $(seq 50); do
  q national --purpose B1-77 --code "$pcode" >/dev/null 2>&1 || break
  sleep 0.1
done
expect_exit 3 q national --purpose B1-77 --code "$pcode"
expect_exit 3 q osaka --purpose B1-77 --code "$pcode"
expect_eq "$(db national "SELECT result || ' ' || code FROM provision ORDER BY id DESC LIMIT 1")" "REVIEW $pcode"
expect_exit 0 ja hirakata --json resident protect --id "$pid" --accept
expect_eq "$(jq -r '.status + " " + .until' "$T/out")" "active 2027-11-22"
expect_exit 4 ja hirakata resident protect --id "$pid" --accept
expect_exit 0 ja hirakata --json resident protections --due 400
expect_eq "$(jq -r '.[0].id' "$T/out")" "$pid"
expect_exit 0 ja hirakata --json resident protections --due 30
expect_eq "$(jq -r 'length' "$T/out")" 0
expect_exit 0 ja hirakata --json resident protect --id "$pid" --extend
expect_eq "$(jq -r .until "$T/out")" "2028-11-21"
# ---- 住民票の写し, the municipality's own issuance path, while the measure is in force ----
ccode=$(jk hirakata --json resident list --limit 5 | jq -r '.[4].code')
paddr=$(jk hirakata --json resident show "$pcode" | jq -r .address)
[ -n "$paddr" ] && [ "$paddr" != null ] || fail "no address for $pcode"
expect_exit 0 jk hirakata resident copy "$ccode" --requester "株式会社債権回収" --relation third-party --reason "債権回収"
expect_in "$T/out" "住民票の写し"                                         # no measure: issued
expect_in "$T/out" "住民票の原本と相違ないことを証明します"
expect_not_in "$T/out" "$ccode"                                            # never the 住民票コード
# the offender, however written (full-width space, half-width kana folding) and whatever relation claimed
expect_exit 6 jk hirakata --json resident copy "$pcode" --requester "山田　一郎" --relation household
expect_in "$T/err" "支援措置"
expect_not_in "$T/out" "$paddr"
expect_eq "$(db hirakata "SELECT decision FROM resident_request WHERE kind = 'copy' ORDER BY id DESC LIMIT 1")" rejected
# a third party: held for review, nothing issued; issued only after the decision
expect_exit 0 jk hirakata --json resident copy "$pcode" --requester "弁護士 田中正" --relation third-party --reason "訴訟の相手方"
expect_eq "$(jq -r '.result + " " + .decision' "$T/out")" "review "
rid=$(jq -r .id "$T/out")
expect_not_in "$T/out" "$paddr"
expect_exit 6 jk hirakata resident copy "$pcode" --requester "弁護士 田中正" --relation third-party --reason "訴訟の相手方" --reviewed "$rid"
expect_exit 6 jk hirakata resident decide "$rid" --accept --reason "確認済み"        # a clerk may not decide
expect_exit 0 ja hirakata resident decide "$rid" --accept --reason "訴訟の相手方であることを書面で確認"
expect_exit 0 jk hirakata resident copy "$pcode" --requester "弁護士 田中正" --relation third-party --reason "訴訟の相手方" --reviewed "$rid" --pdf "$T/copy.pdf"
pdftotext "$T/copy.pdf" "$T/copy.txt" && expect_in "$T/copy.txt" "住民票の写し"
expect_exit 1 jk hirakata resident copy "$ccode" --requester "x" --relation third-party --reason r --reviewed "$rid"  # another's
expect_exit 0 jk hirakata resident copy "$pcode" --requester "山田花子" --relation self              # the resident herself
expect_in "$T/out" "$paddr"
# bad requests: refused, nothing recorded
n0=$(db hirakata "SELECT count(*) FROM resident_request WHERE kind = 'copy'")
expect_exit 1 jk hirakata resident copy "$ccode" --requester "x" --relation cousin
expect_exit 1 jk hirakata resident copy "$ccode" --requester "債権者" --relation third-party           # no reason
expect_exit 1 jk hirakata resident copy "$ccode" --requester "$(printf 'a\001b')" --relation self
expect_exit 1 jk hirakata resident copy "$ccode" --requester "$(printf 'a\377b')" --relation self
expect_exit 1 jk hirakata resident copy "$ccode" --requester "$(head -c 101 /dev/zero | tr '\0' x)" --relation self
expect_exit 1 jk hirakata resident copy "$ccode" --requester x --relation self --channel pigeon
expect_exit 3 jk hirakata resident copy 12345678903 --requester x --relation self
expect_exit 2 jk hirakata resident copy "$ccode" --relation self
expect_eq "$(db hirakata "SELECT count(*) FROM resident_request WHERE kind = 'copy'")" "$n0"
expect_exit 0 ja hirakata --json audit log --limit 40
expect_eq "$(jq -r '[.[] | select(.action == "resident.copy") | .result] | unique | join(",")' "$T/out")" "INVALID,NOTFOUND,PERM,REVIEW,TOOLARGE,ok"
# the resident's disclosure lists who asked for a copy, by relation, and what became of it — never
# the requester's name or reason (a third party's personal data)
expect_exit 0 jk hirakata --json resident disclose "$pcode"
expect_eq "$(jq -r '[.copies[] | .relation + ":" + .outcome] | join(",")' "$T/out")" \
  "同一世帯員:交付せず,第三者:審査の上、交付を認める決定,第三者:審査の上交付,本人:交付"
expect_not_in "$T/out" "田中"
expect_not_in "$T/out" "訴訟"
expect_exit 0 ja hirakata resident protect --id "$pid" --end --note "本人の申出により終了"
for _ in $(seq 50); do
  q national --purpose B1-77 --code "$pcode" >/dev/null 2>&1 && break
  sleep 0.1
done
expect_exit 0 q national --purpose B1-77 --code "$pcode"                  # answered again
expect_exit 2 ja hirakata resident protect "$pcode" --offenders x            # no date
# the resident's disclosure shows the held queries for what they were: nothing given
expect_exit 0 jk hirakata resident disclose "$pcode"
expect_in "$T/out" "提供せず（支援措置により保留し、市町村の確認に回付）"
expect_in "$T/out" "住民票の写しの交付の請求"

# every request is in the ledger
expect_exit 0 ja hirakata --json audit log --limit 100
for a in participation.set resident.notice resident.consent resident.reply resident.disclose resident.change-code; do
  [ "$(jq --arg a "$a" '[.[] | select(.action == $a and .result == "ok")] | length' "$T/out")" -ge 1 ] ||
    fail "no ledger entry $a ok"
done
[ "$(jq '[.[] | select(.action == "resident.notice" and .result != "ok")] | length' "$T/out")" -ge 3 ] ||
  fail "the refused notices are not recorded"
"$SRC/scripts/devnet" stop "$N" >/dev/null
for n in hirakata osaka national; do expect_exit 0 ja $n audit verify; done
finish
