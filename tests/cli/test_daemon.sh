#!/usr/bin/env bash
# jukinetd starts on a node, answers /healthz, and stops cleanly on SIGTERM; its start and stop
# are recorded in the node's ledger (signed with the node key, so it needs the key token).
. "$(dirname "$0")/lib.sh"
JUKINETD=${JUKINETD:?set by CTest}
D=$T/node
devnode "$D"                    # a node with operators, its key on a SoftHSM token (exports JUKINET_DIR)
# (timeout: a daemon that starts instead of refusing must not hang the test)
expect_exit 2 env -u JUKINET_DIR timeout 20 "$JUKINETD"             # no node: usage
expect_exit 2 timeout 20 "$JUKINETD" --frobnicate
expect_exit 1 timeout 20 "$JUKINETD" --dir "$T/nonode" --listen 127.0.0.1:1

# a free loopback port
port=$(( 20000 + RANDOM % 20000 ))
"$JUKINETD" --dir "$D" --listen "127.0.0.1:$port" 2>"$T/d.log" &
pid=$!
ok=0
for _ in $(seq 50); do
  if curl -sf "http://127.0.0.1:$port/healthz" > "$T/h.json" 2>/dev/null; then ok=1; break; fi
  sleep 0.1
done
[ $ok = 1 ] || fail "healthz did not answer"
[ "$(jq -r .status "$T/h.json")" = ok ] || fail "healthz status"
[ "$(jq -r .lgcode "$T/h.json")" = 272108 ] || fail "healthz lgcode"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")
expect_eq "$code" 404
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/healthz")
expect_eq "$code" 405
# /metrics: Prometheus text, counts only
curl -sf -D "$T/m.hdr" "http://127.0.0.1:$port/metrics" > "$T/m.txt" || fail "metrics did not answer"
expect_in "$T/m.hdr" "text/plain; version=0.0.4"
expect_in "$T/m.txt" 'jukinet_up{role="municipal",lgcode="272108"} 1'
expect_in "$T/m.txt" 'jukinet_residents{status="active"} 0'
grep -Eq '^jukinet_ledger_entries [0-9]+$' "$T/m.txt" || fail "metrics: ledger entries"
grep -Eq '^jukinet_http_responses_total\{class="4xx"\} 2$' "$T/m.txt" || fail "metrics: the 404 and the 405 are counted"
awk '!/^#/ && NF != 2 {bad=1} END {exit bad}' "$T/m.txt" || fail "metrics: not in the text format"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://127.0.0.1:$port/metrics")
expect_eq "$code" 405
# while the daemon holds the node open, the CLI still works on it
expect_exit 0 "$JUKINET" resident add --name "山田　太郎" --kana "ヤマダ　タロウ" --birth 1980-01-02 --sex 男 \
  --address "大阪府枚方市大垣内町2丁目1番20号"
curl -sf "http://127.0.0.1:$port/metrics" > "$T/m.txt"
expect_in "$T/m.txt" 'jukinet_residents{status="active"} 1'
kill -TERM $pid
rc=0; wait $pid || rc=$?
expect_eq "$rc" 0 "(jukinetd exit status after SIGTERM)"
expect_in "$T/d.log" "stopped"

# without --listen the address comes from node.conf [daemon]
port2=$(( port + 2 ))
sed -i "s/^listen = .*/listen = 127.0.0.1:$port2/" "$D/node.conf"
"$JUKINETD" --dir "$D" 2>"$T/d2.log" &
pid=$!
ok=0
for _ in $(seq 50); do
  if curl -sf "http://127.0.0.1:$port2/healthz" >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.1
done
[ $ok = 1 ] || fail "the daemon did not listen on node.conf's address"
kill -TERM $pid; wait $pid || true

# the start and the stop are in the ledger, which is intact
expect_exit 0 as_admin --json audit log --limit 10
expect_eq "$(jq -r '[.[] | select(.terminal == "jukinetd") | .action] | join(" ")' "$T/out")" \
  "daemon.stop daemon.start daemon.stop daemon.start" "(daemon entries, newest first)"
expect_exit 0 as_admin --lang en audit verify
expect_in "$T/out" "ledger intact"

# without the node key token the start cannot be recorded: it refuses to run, and says why
expect_exit 1 env -u SOFTHSM2_CONF timeout 20 "$JUKINETD" --dir "$D" --listen "127.0.0.1:$((port + 1))"
expect_in "$T/err" "cannot record the start in the ledger"
finish
