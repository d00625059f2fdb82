#!/usr/bin/env bash
# The network end to end, over mutual TLS between four jukinetd on loopback (scripts/devnet):
# two municipalities → their prefecture → the nation. Registrations and a move between the
# cities reach every tier as one record; 接続の停止 stops both directions within a second and
# resuming catches up; only the chiefs may flip it; kill -9 of the prefecture loses nothing and
# applies nothing twice; a peer off the allowlist and a revoked certificate are refused; every
# ledger verifies.
. "$(dirname "$0")/lib.sh"
JUKINETD=${JUKINETD:?set by CTest}
N=$T/net
export JUKINET JUKINETD
trap '"$SRC/scripts/devnet" stop "$N" >/dev/null 2>&1; rm -rf "$T"' EXIT
"$SRC/scripts/devnet" create "$N" >"$T/create.out" 2>&1 || { cat "$T/create.out"; fail "devnet create"; finish; }
# the prefecture checks every second, while idle, that the nation still holds what it acknowledged
echo "check-interval = 1" >> "$N/osaka/node.conf"
"$SRC/scripts/devnet" start "$N" || { fail "devnet start"; finish; }
base=$(cat "$N/port")

held() { # held NODE SOURCE-NODE: notices of SOURCE at NODE
  sqlite3 "$N/$1/node.db" "SELECT count(*) FROM notice_log WHERE source = '$(id_of "$2")'"
}

jk hirakata login >/dev/null && jk kadoma login >/dev/null || { fail "clerk login"; finish; }

# ---- registrations flow up ----
jk hirakata gen residents --count 300 --seed 11 --out "$T/h.csv" >/dev/null
jk kadoma gen residents --count 150 --seed 12 --out "$T/k.csv" >/dev/null
expect_exit 0 jk hirakata resident import --format csv "$T/h.csv"
expect_exit 0 jk kadoma resident import --format csv "$T/k.csv"
wait_agree 30
expect_eq "$(jq '[.checks[] | select(.agrees)] | length' "$T/demo.json")" 4 "(municipality × upper tier checks)"
expect_eq "$(held national hirakata)" 300
expect_eq "$(held national kadoma)" 150
# each city mints resident codes in the slice its certificate names: never the same code twice
for c in hirakata kadoma; do
  slice=$(sqlite3 "$N/$c/node.db" "SELECT value FROM node_meta WHERE key = 'registry.code_slice'")
  [ -n "$slice" ] || fail "$c has no code slice"
  expect_eq "$(sqlite3 "$N/$c/node.db" "SELECT count(*) FROM resident WHERE CAST(substr(code, 1, 10) AS INTEGER) % 4096 != $slice")" 0 "($c's codes outside its slice $slice)"
done

# ---- a move from 枚方市 to 門真市: one record at the prefecture and the nation ----
code=$(jk hirakata --json resident list --limit 1 | jq -r '.[0].code')
jk hirakata --json resident show "$code" > "$T/rec.json"
expect_exit 0 jk hirakata resident move "$code" --kind 転出 --date 2026-11-20 --note "転出先: 門真市"
expect_exit 0 jk kadoma resident add --code "$code" --reason 転入 --date 2026-11-20 --name "$(jq -r .name "$T/rec.json")" \
  --kana "$(jq -r .kana "$T/rec.json")" --birth "$(jq -r .birth.iso "$T/rec.json")" --sex "$(jq -r .sex "$T/rec.json")" \
  --address "大阪府門真市中町1番1号"
wait_agree 20
for n in osaka national; do
  rows=$(sqlite3 -separator ' ' "$N/$n/node.db" \
    "SELECT source = '$(id_of kadoma)', status, reason, address FROM holding WHERE code = '$code' ORDER BY 1")
  expect_eq "$rows" "0 2 2 $(jq -r .address "$T/rec.json")
1 1 1 大阪府門真市中町1番1号" "(the resident's rows at $n: 転出 at 枚方市, 転入 at 門真市)"
done

# ---- 接続の停止: only the chiefs; takes effect within a second; resuming catches up ----
since=$(ja hirakata --json audit log --limit 1 | jq -r '.[0].seq')
expect_exit 6 jk hirakata connection stop --reason "test"                    # a clerk may not
t0=$(date +%s%N)
expect_exit 0 ja hirakata connection stop --reason "訓練: 不正アクセスの疑い"
stopped=0
for _ in $(seq 100); do
  if [ "$(metric 2 jukinet_connection_stopped)" = 1 ]; then stopped=1; break; fi
  sleep 0.01
done
t1=$(date +%s%N)
[ $stopped = 1 ] || fail "the daemon did not see the stop"
ms=$(( (t1 - t0) / 1000000 ))
[ $ms -lt 1000 ] || fail "the stop took $ms ms to take effect"
echo "stop took effect at the daemon after $ms ms"
ja hirakata --json audit log --limit 10 > "$T/log.json"
expect_eq "$(jq -r '[.[] | select(.action == "connection.stop" and .result == "ok")][0].object' "$T/log.json")" \
  "訓練: 不正アクセスの疑い"
expect_eq "$(jq -r '[.[] | select(.action == "connection.stop" and .result == "PERM")][0].operator' "$T/log.json")" clerk01
before=$(held osaka hirakata)
expect_exit 0 jk hirakata resident add --name "停止　中子" --kana "テイシ　ナカコ" --birth 1990-01-01 --sex 女 \
  --address "大阪府枚方市大垣内町1番"
sleep 1.5
expect_eq "$(held osaka hirakata)" "$before" "(nothing leaves a stopped node)"
ja hirakata --json connection status > "$T/st.json"
expect_eq "$(jq -r .state "$T/st.json")" stopped
expect_eq "$(jq -r .pending "$T/st.json")" 1
expect_exit 4 ja hirakata connection stop --reason "again"                  # already stopped
expect_exit 0 ja hirakata connection resume
wait_agree 10
expect_eq "$(held osaka hirakata)" $((before + 1))

# the other direction: a stopped prefecture accepts nothing
expect_exit 0 ja osaka connection stop --reason "府の機器更新"
sleep 0.3
kbefore=$(held osaka kadoma)
expect_exit 0 jk kadoma resident add --name "向上　一" --kana "コウジョウ　ハジメ" --birth 1985-05-05 --sex 男 \
  --address "大阪府門真市1番"
sleep 1.5
expect_eq "$(held osaka kadoma)" "$kbefore" "(a stopped node accepts nothing)"
expect_in "$N/kadoma.log" "DISCONNECTED"
expect_exit 0 ja osaka connection resume
wait_agree 10

# ---- kill -9 of the prefecture while notices flow: nothing lost, nothing twice ----
jk hirakata gen residents --count 1500 --seed 13 --out "$T/h2.csv" >/dev/null
expect_exit 0 jk hirakata resident import --format csv "$T/h2.csv"
for k in 1 2 3; do
  sleep 0.$((RANDOM % 4 + 1))
  kill -9 "$(cat "$N/osaka.pid")" 2>/dev/null
  sleep 0.2
  "$SRC/scripts/devnet" start "$N" || fail "restart after kill $k"
done
wait_agree 30
expect_eq "$(held national hirakata)" "$(sqlite3 "$N/hirakata/node.db" "SELECT count(*) FROM notice_log")"

# ---- the nation restored from a backup: the prefecture finds out and sends again ----
kill -TERM "$(cat "$N/national.pid")"
wait_gone "$(cat "$N/national.pid")"
sqlite3 "$N/national/node.db" ".backup '$T/national-backup.db'" || fail "backup of the nation"
"$SRC/scripts/devnet" start "$N" || fail "restart the nation"
jk hirakata gen residents --count 400 --seed 14 --out "$T/h3.csv" >/dev/null
expect_exit 0 jk hirakata resident import --format csv "$T/h3.csv"
wait_agree 20
after=$(held national hirakata)
kill -TERM "$(cat "$N/national.pid")"
wait_gone "$(cat "$N/national.pid")"
rm -f "$N/national/node.db-wal" "$N/national/node.db-shm"
cp "$T/national-backup.db" "$N/national/node.db"
[ "$(held national hirakata)" -lt "$after" ] || fail "the backup should hold fewer notices"
"$SRC/scripts/devnet" start "$N" || fail "restart the restored nation"
wait_agree 20
expect_eq "$(held national hirakata)" "$after" "(the restored nation caught up)"
expect_in "$N/osaka.log" "holds less than it acknowledged"

# ---- refusals: a node off the allowlist, a revoked certificate ----
# 守口市 is a real node with a valid certificate, but not on the prefecture's allowlist
env -u JUKINET_DIR -u SOFTHSM2_CONF -u JUKINET_SESSION JUKINET="$JUKINET" "$SRC/scripts/devnode" "$N/moriguchi" \
  --lgcode 272116 --name 守口市 > "$T/m.env" 2>"$T/m.err" || fail "devnode moriguchi"
mv "$T/m.env" "$N/moriguchi/hsm/env.sh"
( eval "$(cat "$N/moriguchi/hsm/env.sh")"
  JUKINET_SESSION=$JUKINET_DIR/hsm/session-admin JUKINET_PIN=$JUKINET_ADMIN_PIN JUKINET_PASSWORD=$JUKINET_ADMIN_PASSWORD \
    "$JUKINET" login --staff-id admin01 --card "$JUKINET_ADMIN_CARD" >/dev/null )
ja moriguchi pki issue --ca "$N/ca" >/dev/null || fail "pki issue moriguchi"
ja moriguchi --json node show | jq -r .id > "$N/moriguchi/node-id"
printf '\n[sync]\nupstream = https://127.0.0.1:%s\nupstream-node = %s\n' $((base + 11)) "$(id_of osaka)" >> "$N/moriguchi/node.conf"
sed -i "s/^listen = .*/listen = 127.0.0.1:$((base + 5))/" "$N/moriguchi/node.conf"
jk moriguchi login >/dev/null
expect_exit 0 jk moriguchi resident add --name "守口　太郎" --kana "モリグチ　タロウ" --birth 1970-07-07 --sex 男 \
  --address "大阪府守口市京阪本通2丁目5番5号"
( eval "$(cat "$N/moriguchi/hsm/env.sh")"; exec "$JUKINETD" --dir "$N/moriguchi" >>"$N/moriguchi.log" 2>&1 ) &
mpid=$!
sleep 2
kill -TERM $mpid; wait $mpid 2>/dev/null
expect_in "$N/osaka.log" "not in [sync] allow"
expect_in "$N/moriguchi.log" "upstream answered 403 PERM"
expect_eq "$(sqlite3 "$N/osaka/node.db" "SELECT count(*) FROM notice_log WHERE source = '$(id_of moriguchi)'")" 0
rm -rf "$N/moriguchi"   # (not part of the demo network's checks)

# 門真市's certificate is revoked: the prefecture refuses it once it has the new CRL
"$JUKINET" pki revoke --ca "$N/ca" "$(id_of kadoma)" --reason "鍵の漏洩の疑い" >/dev/null || fail "pki revoke"
cp "$N/ca/ca.crl" "$N/osaka/ca.crl"
kill -HUP "$(cat "$N/osaka.pid")"            # systemctl reload: the daemon reads the CRL again
for _ in $(seq 50); do grep -q "CRL .* reloaded" "$N/osaka.log" && break; sleep 0.1; done
expect_in "$N/osaka.log" "reloaded"
kbefore=$(held osaka kadoma)
expect_exit 0 jk kadoma resident add --name "失効　後子" --kana "シッコウ　ノチコ" --birth 1999-09-09 --sex 女 \
  --address "大阪府門真市2番"
sleep 2
expect_eq "$(held osaka kadoma)" "$kbefore" "(a revoked node's notices are refused)"
expect_in "$N/osaka.log" "revoked"

expect_eq "$(ja osaka --json audit log --limit 20 | jq '[.[] | select(.action == "daemon.reload")] | length')" 1

# ---- every ledger verifies ----
for n in national osaka hirakata kadoma; do
  expect_exit 0 ja "$n" audit verify
done
finish
