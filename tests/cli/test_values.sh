#!/usr/bin/env bash
# jukinet code|lgcode|date: exit 0 valid, 1 invalid with the reason, 2 usage; ja and en.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$JUKINET" code check 00000000019
expect_exit 1 "$JUKINET" code check 00000000018
expect_in "$T/err" "検査数字"
expect_exit 1 "$JUKINET" --lang en code check 00000000018
expect_in "$T/err" "wrong check digit"
LANG=en_US.UTF-8 expect_exit 1 "$JUKINET" code check 00000000018
expect_in "$T/err" "wrong check digit"
JUKINET_LANG=en expect_exit 1 "$JUKINET" code check 00000000018
expect_in "$T/err" "wrong check digit"
expect_exit 1 "$JUKINET" code check 1234
expect_in "$T/err" "11桁"
expect_exit 0 "$JUKINET" code check ０００００００００１９            # full-width digits
expect_exit 2 "$JUKINET" code check
expect_exit 2 "$JUKINET" code frobnicate
expect_exit 0 "$JUKINET" code new
code=$(cat "$T/out"); expect_exit 0 "$JUKINET" code check "$code"
expect_exit 1 "$JUKINET" code check 0000000001x --json
[ "$(jq -r .valid "$T/out")" = false ] || fail "json valid should be false"

expect_exit 0 "$JUKINET" lgcode check 272108
expect_exit 0 "$JUKINET" lgcode check 272230
expect_exit 1 "$JUKINET" lgcode check 272109
expect_exit 1 "$JUKINET" --lang en lgcode check 27210
expect_in "$T/err" "272108"

expect_exit 0 "$JUKINET" date convert 平成14年8月5日
expect_in "$T/out" "2002-08-05"
expect_exit 0 "$JUKINET" date convert 2019-05-01
expect_in "$T/out" "令和元年5月1日"
expect_exit 0 "$JUKINET" date convert 昭和64年1月7日
expect_in "$T/out" "1989-01-07"
expect_exit 1 "$JUKINET" date convert 昭和64年1月8日
expect_exit 1 "$JUKINET" date convert 2001-02-29
expect_exit 1 "$JUKINET" --lang en date convert 天保3年1月1日
expect_in "$T/err" "era"
expect_exit 0 "$JUKINET" --json date convert Ｈ１４．８．５
[ "$(jq -r .iso "$T/out")" = 2002-08-05 ] || fail "json iso"
[ "$(jq -r .era "$T/out")" = 平成 ] || fail "json era"

expect_exit 0 "$JUKINET" help exit-codes
expect_in "$T/out" "10"
expect_exit 0 "$JUKINET" --lang en help
expect_in "$T/out" "usage: jukinet"
expect_exit 2 "$JUKINET" nonsense

# jukinet purpose list | show: the lawful purposes (住民基本台帳法 別表第一), no login needed
expect_exit 0 "$JUKINET" purpose list --json
[ "$(jq .count "$T/out")" -ge 30 ] || fail "fewer than 30 purposes"
[ "$(jq '[.purposes[] | select(.fields | index("code"))] | length' "$T/out")" = 0 ] ||
  fail "a 別表第一 agency would receive the 住民票コード (法30条の9 gives it without)"
expect_exit 0 "$JUKINET" purpose show B1-77
expect_in "$T/out" "日本年金機構"
expect_in "$T/out" "提供項目: 氏名・生年月日・性別・住所・異動等の情報"
expect_in "$T/out" "七十七の項"
expect_exit 0 "$JUKINET" --lang en purpose show B1-77 --json
[ "$(jq -r '.fields | join(",")' "$T/out")" = "name,birth,sex,address,change" ] || fail "B1-77 fields"
expect_exit 3 "$JUKINET" purpose show B1-99
expect_in "$T/err" "B1-99 は表にありません"
expect_exit 3 "$JUKINET" --lang en purpose show "B1-01'; DROP TABLE x;--"
expect_exit 2 "$JUKINET" purpose show
expect_exit 2 "$JUKINET" purpose frobnicate
finish
