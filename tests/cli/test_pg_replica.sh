#!/usr/bin/env bash
# The national node on a PostgreSQL primary with a synchronous streaming replica: the failover
# procedure of docs/network.md ("The national node on PostgreSQL with a streaming replica"), run
# on the development network (scripts/devnet --pg-national: the nation on PostgreSQL, the
# prefecture and the cities on SQLite; tests/pg/pgserver replica: the standby).
#   1. notices flow; every commit of the primary is on the replica (synchronous replication)
#   2. the primary turns read-only under a running nation: batches are refused with a clear
#      error (503 IO, "read-only transaction"), nothing is applied, the prefecture keeps its
#      notices and retries; writable again, everything arrives
#   3. failover: the standby stops, so the nation's next batch commits on the primary but waits
#      for the standby (SyncRep) and is not acknowledged; the national jukinetd is killed (-9),
#      the primary crashes (pg_ctl stop -m immediate), the standby comes back. Everything the
#      prefecture holds a receipt for is on the replica; the batch that waited is not, and the
#      prefecture never had its receipt. Pointed at the replica while it is still a standby,
#      jukinetd refuses to start (read-only database); the prefecture keeps its notices and
#      retries
#   4. the replica is promoted, jukinetd starts on it: every tier agrees again, the nation holds
#      each city's notices exactly once (count = max(seq), no gap, no duplicate), every ledger
#      verifies. The old primary stays down.
. "$(dirname "$0")/lib.sh"
JUKINETD=${JUKINETD:?set by CTest}
PGSERVER=$SRC/tests/pg/pgserver
PGBIN=${JK_PG_BIN:-/usr/lib/postgresql/15/bin}
N=$T/net
export JUKINET JUKINETD PGCONNECT_TIMEOUT=5
t_start=$(date +%s)

# a watchdog: whatever hangs, the test ends (every command below has its own timeout too)
(
  trap 'kill "$s" 2>/dev/null; exit 0' TERM
  sleep 170 >/dev/null 2>&1 & s=$!
  wait "$s"
  echo "FAIL: test_pg_replica: still running after 170 s: giving up" >&2
  kill -TERM $$
) &
watchdog=$!
cleanup() {
  kill "$watchdog" 2>/dev/null
  timeout 60 "$SRC/scripts/devnet" down "$N" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' TERM INT

[ -x "$PGBIN/initdb" ] || { fail "PostgreSQL is not installed ($PGBIN/initdb; scripts/bootstrap installs it)"; finish; }
chmod 711 "$T"   # the postgres OS user must reach the servers' folders inside

port_of() { sed -n 's/.* port=\([0-9]*\) .*/\1/p' "$1/conninfo"; }
# sql PGDIR SQL: as the jukinet role; su_sql PGDIR SQL...: as the superuser (both on the socket)
sql() { timeout 15 psql -X -qtA -v ON_ERROR_STOP=1 "$(cat "$1/conninfo")" -c "$2"; }
su_sql() {
  local d=$1; shift
  local a=() c
  for c in "$@"; do a+=(-c "$c"); done
  timeout 15 psql -X -qtA -v ON_ERROR_STOP=1 -h "$d/sock" -p "$(port_of "$d")" -U postgres -d postgres "${a[@]}"
}
# nat_held PG SOURCE: the notices of SOURCE held by the nation, in the store on DIR/PG: "count max(seq) distinct seqs"
nat_held() {
  sql "$N/$1" "SELECT count(*) || ' ' || coalesce(max(seq), 0) || ' ' || count(DISTINCT seq)
            FROM national.notice_log WHERE source = '$(id_of "$2")'"
}
city_notices() { sqlite3 -cmd ".timeout 5000" "$N/$1/node.db" "SELECT count(*) FROM notice_log"; }
osaka_held() { sqlite3 -cmd ".timeout 5000" "$N/osaka/node.db" "SELECT count(*) FROM notice_log WHERE source = '$(id_of "$1")'"; }
osaka_has() { [ "$(osaka_held "$1")" -ge "$2" ]; }
# what the prefecture's sync status says: pending, or the acknowledged seq of a source
osaka_pending() { ja osaka --json sync status | jq .pending; }
osaka_acked() { ja osaka --json sync status | jq --arg s "$(id_of "$1")" '[.sources[] | select(.source == $s)][0].acknowledged // 0'; }
# wait_for SECONDS CMD...: until CMD succeeds
wait_for() {
  local s=$1; shift
  for _ in $(seq $(( s * 10 ))); do "$@" && return 0; sleep 0.1; done
  return 1
}
import() { # import CITY COUNT SEED
  jk "$1" gen residents --count "$2" --seed "$3" --out "$T/$1-$3.csv" >/dev/null
  expect_exit 0 jk "$1" resident import --format csv "$T/$1-$3.csv"
}
step() { echo "[$(( $(date +%s) - t_start )) s] $*"; }

# ---- the network: the nation on a PostgreSQL primary with a synchronous replica ----
step "devnet create --pg-national"
timeout 120 "$SRC/scripts/devnet" create "$N" --pg-national >"$T/create.out" 2>&1 ||
  { cat "$T/create.out"; fail "devnet create --pg-national"; finish; }
grep -q "^store = postgresql:host=$N/pg/sock .*options=-csearch_path=national" "$N/national/node.conf" ||
  fail "the nation is not on DIR/pg's server"
for n in osaka hirakata kadoma; do grep -q "^store = node.db" "$N/$n/node.conf" || fail "$n is not on SQLite"; done
step "pgserver replica"
timeout 120 "$PGSERVER" replica "$N/pg" "$N/pg-replica" >"$T/replica.out" 2>&1 ||
  { cat "$T/replica.out"; fail "pgserver replica"; finish; }
expect_eq "$(su_sql "$N/pg" "SELECT application_name || ' ' || state || ' ' || sync_state FROM pg_stat_replication")" \
  "jkreplica streaming sync" "(the primary's standby)"
expect_eq "$(su_sql "$N/pg" "SHOW synchronous_standby_names")" jkreplica
expect_eq "$(sql "$N/pg-replica" "SELECT pg_is_in_recovery()")" t "(the replica is a standby)"
timeout 60 "$SRC/scripts/devnet" start "$N" || { fail "devnet start"; finish; }
base=$(cat "$N/port")
jk hirakata login >/dev/null && jk kadoma login >/dev/null || { fail "clerk login"; finish; }

step "2,000 residents at 枚方市, 100 at 門真市"
import hirakata 2000 31
import kadoma 100 32
wait_agree 30
expect_eq "$(nat_held pg hirakata)" "2000 2000 2000"
expect_eq "$(nat_held pg kadoma)" "100 100 100"
# synchronous: what the primary committed is on the replica already (a hot standby reads)
expect_eq "$(nat_held pg-replica hirakata)" "2000 2000 2000" "(on the replica)"

# ---- the primary turns read-only under a running nation: refused, kept, retried ----
step "the primary read-only (default_transaction_read_only)"
su_sql "$N/pg" "ALTER SYSTEM SET default_transaction_read_only = on" "SELECT pg_reload_conf()" >/dev/null ||
  fail "ALTER SYSTEM read-only"
import hirakata 200 33
wait_for 20 grep -q "read-only transaction" "$N/national.log" || fail "the nation never refused a batch as read-only"
wait_for 20 grep -q "upstream answered 503 IO" "$N/osaka.log" || fail "the prefecture never saw 503 IO"
expect_in "$N/national.log" "refused (503): database"
wait_for 10 osaka_has hirakata 2200 || fail "the prefecture did not receive the 200 notices"
sleep 1
expect_eq "$(nat_held pg hirakata)" "2000 2000 2000" "(nothing applied at a read-only nation)"
p=$(osaka_pending)
[ "${p:-0}" -gt 0 ] || fail "the prefecture has nothing pending ($p)"
expect_eq "$(metric 1 jukinet_sync_link)" 1 "(the prefecture's link: retrying)"
curl -sf -m 5 "http://127.0.0.1:$base/healthz" >/dev/null || fail "the nation's daemon went down"
su_sql "$N/pg" "ALTER SYSTEM RESET default_transaction_read_only" "SELECT pg_reload_conf()" >/dev/null ||
  fail "ALTER SYSTEM RESET"
wait_agree 30
expect_eq "$(nat_held pg hirakata)" "2200 2200 2200" "(after the database is writable again)"
expect_eq "$(osaka_pending)" 0

# ---- failover: the nation's daemon is killed while a batch waits for the replica, the primary
# crashes. With the standby stopped, the primary cannot complete a commit: the nation's batch
# is committed in the primary's WAL but waits (SyncRep), unacknowledged. ----
step "the standby stops: the nation's commit waits for it"
timeout 60 "$PGSERVER" stop "$N/pg-replica" || fail "pgserver stop replica"
import hirakata 600 34
wait_for 10 osaka_has hirakata 2800 || fail "the prefecture did not receive the 600 notices"
syncrep() { [ "$(su_sql "$N/pg" "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'")" -ge 1 ]; }
wait_for 20 syncrep || fail "no commit of the nation waits for the standby"
# (the daemon's batch transaction holds its store: /healthz still answers, /metrics says BUSY)
if curl -sf -m 2 "http://127.0.0.1:$base/healthz" >/dev/null; then h=answers; else h="does not answer"; fi
echo "a commit of the nation waits for the standby; the nation's /healthz $h"
expect_eq "$(osaka_acked hirakata)" 2200 "(no receipt for a batch the replica does not have)"
step "kill -9 the nation's jukinetd, crash the primary, the standby back (still a standby)"
kill -9 "$(cat "$N/national.pid")"
timeout 60 "$PGSERVER" kill "$N/pg" || fail "pgserver kill"
rm -f "$N/national.pid"
[ -f "$N/pg/data/postmaster.pid" ] && fail "the primary still runs"
timeout 60 "$PGSERVER" restart "$N/pg-replica" >/dev/null || fail "pgserver restart replica"
expect_eq "$(sql "$N/pg-replica" "SELECT pg_is_in_recovery()")" t "(the replica is still a standby)"
rep=$(nat_held pg-replica hirakata)
read -r rc rmax rdist <<< "$rep"
expect_eq "$rc $rdist" "$rmax $rmax" "(the replica holds 枚方市's notices 1..$rmax without a gap)"
acked=$(osaka_acked hirakata)
echo "the replica holds notices 1..$rmax of 枚方市; the prefecture holds a receipt up to $acked"
[ "${acked:-0}" -le "${rmax:-0}" ] || fail "LOST: the prefecture holds a receipt up to $acked, the replica only $rmax"
expect_eq "$rmax" 2200 "(the batch that waited is not on the replica)"

# the nation pointed at the replica while it is still a standby: it refuses to start
step "jukinetd on the standby (read-only)"
sed -i "s#^store = .*#store = postgresql:$(cat "$N/pg-replica/conninfo") options=-csearch_path=national#" \
  "$N/national/node.conf"
grep -q "^store = postgresql:host=$N/pg-replica/sock " "$N/national/node.conf" || fail "node.conf not repointed"
import hirakata 300 35
( eval "$(cat "$N/national/hsm/env.sh")"; timeout 15 "$JUKINETD" --dir "$N/national" ) >"$T/standby.log" 2>&1
expect_eq "$?" 1 "(jukinetd on a standby exits 1)"
cat "$T/standby.log" >> "$N/national.log"
expect_in "$T/standby.log" "read-only standby (in recovery)"
echo "jukinetd on the standby: $(grep -m1 error "$T/standby.log")"
wait_for 10 osaka_has hirakata 3100 || fail "the prefecture did not receive 枚方市's notices"
p=$(osaka_pending)
[ "${p:-0}" -gt 0 ] || fail "the prefecture has nothing pending while the nation is down ($p)"
r1=$(grep -c "sending to $(id_of national)\|upstream $(id_of national)" "$N/osaka.log")
sleep 2
r2=$(grep -c "sending to $(id_of national)\|upstream $(id_of national)" "$N/osaka.log")
[ "$r2" -gt "$r1" ] || fail "the prefecture does not retry ($r1 → $r2 attempts)"
expect_eq "$(metric 1 jukinet_sync_link)" 1 "(the prefecture's link: retrying)"
expect_eq "$(nat_held pg-replica hirakata)" "$rep" "(nothing applied on the standby)"
echo "the prefecture keeps $p notices and retries"

# ---- promote the replica; the nation resumes on it ----
step "pgserver promote; jukinetd on the new primary"
timeout 90 "$PGSERVER" promote "$N/pg-replica" >/dev/null || fail "pgserver promote"
expect_eq "$(sql "$N/pg-replica" "SELECT pg_is_in_recovery()")" f "(promoted)"
timeout 60 "$SRC/scripts/devnet" start "$N" || fail "devnet start after the promotion"
[ -f "$N/pg/data/postmaster.pid" ] && fail "devnet start brought the old primary back"
import hirakata 300 36
import kadoma 50 37
wait_agree 30
expect_eq "$(jq '[.checks[] | select(.agrees)] | length' "$T/demo.json")" 4 "(municipality × upper tier checks)"
for c in hirakata kadoma; do
  n=$(city_notices $c)
  expect_eq "$(nat_held pg-replica $c)" "$n $n $n" "($c's $n notices at the nation: each once, no gap)"
done
expect_eq "$(osaka_pending)" 0
expect_not_in "$N/osaka.log" "HALTED"
resyncs=$(grep -c "asked to resume" "$N/osaka.log")
echo "the prefecture resumed: $resyncs resync receipt(s) (409) in its log"
[ "$resyncs" -le 5 ] || fail "the prefecture loops on resync receipts ($resyncs)"
for n in national osaka hirakata kadoma; do
  expect_exit 0 ja "$n" audit verify
done
step "done"
finish
