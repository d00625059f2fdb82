#!/usr/bin/env bash
# kill -9 of every node at random moments while notices flow, then restart: the nation's and the
# prefecture's records equal the municipalities' exactly, nothing is applied twice (the notice
# logs are contiguous and their digests equal), and every ledger verifies.
#   KILLS    kills (default 20)          NOTICES  notices to make, at least (default 8,000)
#   CHUNK    residents per import (default 250)
# `make soak` runs it with KILLS=40 NOTICES=100000 CHUNK=2500.
. "$(dirname "$0")/lib.sh"
JUKINETD=${JUKINETD:?set by CTest}
KILLS=${KILLS:-20} NOTICES=${NOTICES:-8000} CHUNK=${CHUNK:-250}
N=$T/net
export JUKINET JUKINETD
trap '"$SRC/scripts/devnet" stop "$N" >/dev/null 2>&1; kill $writer 2>/dev/null; rm -rf "$T"' EXIT
"$SRC/scripts/devnet" create "$N" >"$T/create.out" 2>&1 || { cat "$T/create.out"; fail "devnet create"; finish; }
"$SRC/scripts/devnet" start "$N" || { fail "devnet start"; finish; }
NODES=(national osaka hirakata kadoma)

made() { # notices made so far by both cities
  echo $(( $(sqlite3 -cmd ".timeout 10000" "$N/hirakata/node.db" "SELECT count(*) FROM notice_log") + \
           $(sqlite3 -cmd ".timeout 10000" "$N/kadoma/node.db" "SELECT count(*) FROM notice_log") ))
}
jk hirakata login >/dev/null && jk kadoma login >/dev/null || { fail "clerk login"; finish; }

# the writers: imports of CHUNK residents, alternately at each city, with a move now and then,
# until the killer is done and NOTICES are made
touch "$T/writing"
(
  i=0
  while [ -e "$T/writing" ] || [ "$(made)" -lt "$NOTICES" ]; do
    city=hirakata; [ $((i % 2)) = 1 ] && city=kadoma
    jk $city gen residents --count "$CHUNK" --seed $((1000 + i)) --out "$T/w.csv" >/dev/null 2>&1
    jk $city resident import --format csv "$T/w.csv" >/dev/null 2>&1 || echo "import $i at $city failed" >>"$T/w.log"
    if [ $((i % 3)) = 0 ]; then
      code=$(jk $city --json resident list --limit 1 2>/dev/null | jq -r '.[0].code // empty')
      [ -n "$code" ] && jk $city resident move "$code" --kind 転居 --address "大阪府大阪市北区梅田$i番" >/dev/null 2>&1
    fi
    i=$((i + 1))
  done
) &
writer=$!

# the killer: a random node, at a random moment; restarted after a random pause
for k in $(seq "$KILLS"); do
  sleep "0.$((RANDOM % 6 + 3))"
  n=${NODES[$((RANDOM % 4))]}
  kill -9 "$(cat "$N/$n.pid")" 2>/dev/null || true
  echo "kill $k: $n after $(made) notices" >>"$T/kills.log"
  sleep "0.$((RANDOM % 3))"
  "$SRC/scripts/devnet" start "$N" >/dev/null 2>&1 || { sleep 1; "$SRC/scripts/devnet" start "$N" || fail "restart after kill $k"; }
done
rm -f "$T/writing"
wait $writer
total=$(made)
echo "$KILLS kills while $total notices were made ($(sort "$T/kills.log" | awk '{print $3}' | sort | uniq -c | tr '\n' ' '))"
[ "$total" -ge "$NOTICES" ] || fail "only $total notices made"

# let everything arrive, then compare every tier with every registry
ok=0
for _ in $(seq 600); do
  if "$JUKINET" --lang en --json demo --net "$N" >"$T/demo.json" 2>/dev/null; then ok=1; break; fi
  sleep 0.2
done
[ $ok = 1 ] || { fail "the tiers do not agree"; jq -c '.checks[]' "$T/demo.json" >&2; tail -n 3 "$N"/*.log >&2; }
for n in osaka national; do
  for c in hirakata kadoma; do
    src=$(cat "$N/$c/node-id")
    # contiguous: seq 1..count, each once (the primary key makes a repeat impossible; a gap shows here)
    expect_eq "$(sqlite3 "$N/$n/node.db" "SELECT count(*) = max(seq) FROM notice_log WHERE source = '$src'")" 1 "($n: notices of $c contiguous)"
  done
done
for n in "${NODES[@]}"; do
  expect_exit 0 ja "$n" audit verify
done
finish
