#!/usr/bin/env bash
# A node from the command line: init, add, every move, show/history/search/list, import/export
# (UTF-8 and CP932), and bad input that must change nothing.
. "$(dirname "$0")/lib.sh"
D=$T/node
J() { "$JUKINET" --dir "$D" "$@"; }
count() { J --json node show | jq -r .residents; }

devnode "$D"                                     # node init + admin + clerk, both logged in
[ "$(stat -c %a "$D")" = 700 ] || fail "node dir should be 0700"
[ "$(stat -c %a "$D/node.db")" = 600 ] || fail "node.db should be 0600"
expect_exit 4 node_init "$D" 272108 枚方市             # never overwritten
expect_exit 1 node_init "$T/other" 272109 枚方市
[ ! -e "$T/other/node.conf" ] || fail "bad lgcode must not create a node"
expect_exit 2 "$JUKINET" node init --dir "$T/other" --lgcode 272108 --name 枚方市   # no key token, no admin
[ ! -e "$T/other" ] || fail "node init without a key token must not create anything"

expect_exit 0 J --json resident add --name "山田　太郎" --kana "ヤマダ　タロウ" --birth 昭和55年1月2日 --sex 男 \
  --address "大阪府枚方市大垣内町2丁目1番20号" --date 2002-08-05
code=$(jq -r .code "$T/out")
hh=$(jq -r .household "$T/out")
expect_exit 0 "$JUKINET" code check "$code"
expect_exit 0 J resident add --name "山田　花子" --kana "やまだ　はなこ" --birth 1982-03-04 --sex 女 \
  --address "大阪府枚方市大垣内町2丁目1番20号" --household "$hh" --relation 妻 --date 2002-08-05
expect_exit 1 J resident add --name "山田　花子" --kana "ヤマダ" --birth 2030-01-01 --sex 女 --address 大阪府
expect_exit 1 J resident add --name "$(printf 'bad\xff')" --kana "ヤマダ" --birth 1980-01-01 --sex 女 --address 大阪府
expect_exit 2 J resident add --name "山田"
expect_eq "$(count)" 2 "after refused adds"

expect_exit 0 J resident move "$code" --kind move-within --address "大阪府枚方市岡東町12番5号" --date 2010-04-01
expect_exit 0 J resident move "$code" --kind 職権修正 --kana "ヤマダ　タロウ" --name "山田　太朗" --date 2011-01-01
expect_exit 0 J --json resident move "$code" --kind code-change --date 2012-01-01
newcode=$(jq -r .code "$T/out")
[ "$newcode" != "$code" ] || fail "code change kept the code"
expect_exit 3 J resident show "$code"
expect_in "$T/err" "$newcode"
expect_exit 0 J resident show "$newcode"
expect_in "$T/out" "山田　太朗"
wide=$(printf '%s' "$newcode" | sed 's/0/０/g;s/1/１/g;s/2/２/g;s/3/３/g;s/4/４/g;s/5/５/g;s/6/６/g;s/7/７/g;s/8/８/g;s/9/９/g')
expect_exit 0 J resident show "$wide"                       # full-width digits as typed at a counter
expect_in "$T/out" "山田　太朗"
expect_exit 0 J resident move "$newcode" --kind move-out --note "転出先: 大阪府門真市" --date 2015-03-31
expect_exit 4 J resident move "$newcode" --kind move-within --address "大阪府枚方市" --date 2016-01-01
expect_exit 0 J --json resident history "$code"
[ "$(jq length "$T/out")" = 5 ] || fail "history should have 5 versions"
[ "$(jq -r '.[0].reason' "$T/out")" = move-in ] || fail "first version is 転入"
[ "$(jq -r '.[4].status' "$T/out")" = removed ] || fail "last version is removed"

expect_exit 0 J --json resident search --kana やまだ
[ "$(jq length "$T/out")" = 2 ] || fail "kana search"
expect_exit 0 J --json resident search --kana ﾔﾏﾀﾞ --sex 女
[ "$(jq length "$T/out")" = 1 ] || fail "half-width kana + sex search"
expect_exit 0 J --json resident list
[ "$(jq length "$T/out")" = 1 ] || fail "list shows residents on the register"
expect_exit 0 J --json resident list --status all
[ "$(jq length "$T/out")" = 2 ] || fail "list --status all"
expect_exit 0 J --json resident list --household "$hh" --status all
[ "$(jq length "$T/out")" = 2 ] || fail "household members"
expect_exit 1 J resident search --kana "$(printf '\xe3\x81')"
expect_exit 1 J resident search

# import / export
expect_exit 0 "$JUKINET" gen residents --count 500 --seed 7 --out "$T/gen.csv"
expect_exit 0 "$JUKINET" gen residents --count 500 --seed 7 --out "$T/gen2.csv"
cmp -s "$T/gen.csv" "$T/gen2.csv" || fail "gen is not deterministic"
expect_exit 0 J resident import --format csv "$T/gen.csv"
expect_eq "$(count)" 501 "after import"
# one bad row among good ones: nothing imported, the row is named
{ head -300 "$T/gen.csv"; echo ',山田　太郎,ヤマダ　タロウ,2001-02-30,男,大阪府枚方市,,,転入,'; tail -n +301 "$T/gen.csv"; } > "$T/bad.csv"
expect_exit 1 J --lang en resident import --format csv "$T/bad.csv"
expect_in "$T/err" "row 300 (line 301)"
expect_eq "$(count)" 501 "after refused import"
printf '氏名,氏名かな,生年月日,性別\n山田,ヤマダ,1980-01-01,男\n' > "$T/missing.csv"
expect_exit 1 J resident import --format csv "$T/missing.csv"
expect_in "$T/err" "住所"

expect_exit 0 J resident export --format csv --encoding cp932 --out "$T/sj.csv"
iconv -f CP932 -t UTF-8 "$T/sj.csv" > /dev/null || fail "export is not CP932"
devnode "$T/n2" --lgcode 272230 --name 門真市        # a second node, with its own tokens and sessions
J2() { ( use_node "$T/n2"; "$JUKINET" --dir "$T/n2" "$@" ); }
use_node "$D"
expect_exit 0 J2 resident import --format csv --encoding cp932 "$T/sj.csv"
J resident export --format csv > "$T/a.csv"
J2 resident export --format csv > "$T/b.csv"
cmp -s "$T/a.csv" "$T/b.csv" || fail "CP932 round trip changed the registry"
# a UTF-8 file given as CP932 is refused (nothing imported)
expect_exit 1 J2 resident import --format csv "$T/sj.csv"
expect_in "$T/err" "cp932"
# a name CP932 cannot hold: export refuses and says where
expect_exit 0 J resident add --name "𠮷田　一" --kana "ヨシダ　ハジメ" --birth 1990-01-01 --sex 男 --address 大阪府枚方市
expect_exit 1 J --lang en resident export --format csv --encoding cp932 --out "$T/x.csv"
expect_in "$T/err" "U+20BB7"
expect_in "$T/err" "line 504"
[ ! -e "$T/x.csv" ] || fail "a refused export must not leave a file"

# every operation above is in the node's ledger, which is intact; the refusals are there too
expect_exit 0 as_admin --lang en audit verify
expect_in "$T/out" "ledger intact"
expect_exit 0 as_admin --json audit log --action resident.import --limit 10
[ "$(jq '[.[] | select(.result == "INVALID")] | length' "$T/out")" -ge 2 ] || fail "refused imports are recorded"
[ "$(jq '[.[] | select(.result == "ok" and .operator == "clerk01")] | length' "$T/out")" = 1 ] || fail "the import is recorded"
finish
