#!/usr/bin/env bash
# A receiver whose disk fills up: the prefecture's node.db on a small tmpfs. Batches are refused
# with a clear error (503 IO), nothing is applied half, the sender keeps its notices and retries;
# once there is room again everything arrives, exactly once. (A read-only database is tested on
# PostgreSQL, in tests/cli/test_pg_replica.sh: Linux will not remount a file system read-only
# under a writer.)
# Needs mount(8) for tmpfs (root here); without it the test says so and fails.
. "$(dirname "$0")/lib.sh"
JUKINETD=${JUKINETD:?set by CTest}
N=$T/net
M=$T/mnt
export JUKINET JUKINETD
cleanup() {
  "$SRC/scripts/devnet" stop "$N" >/dev/null 2>&1
  mountpoint -q "$M" && umount "$M"
  rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$M"
mount -t tmpfs -o size=3m,mode=0700 tmpfs "$M" || { fail "cannot mount a tmpfs (needs root)"; finish; }
"$SRC/scripts/devnet" create "$N" >"$T/create.out" 2>&1 || { cat "$T/create.out"; fail "devnet create"; finish; }
# the prefecture's store moves to the small file system
mv "$N/osaka/node.db" "$M/node.db"
sed -i "s#^store = .*#store = $M/node.db#" "$N/osaka/node.conf"
grep -q "^store = $M/node.db" "$N/osaka/node.conf" || fail "store setting"
"$SRC/scripts/devnet" start "$N" || { fail "devnet start"; finish; }

held() { sqlite3 -cmd ".timeout 5000" "$M/node.db" "SELECT count(*) FROM notice_log WHERE source = '$(cat "$N/hirakata/node-id")'"; }

jk hirakata login >/dev/null || { fail "login"; finish; }
# more than 3 MB of notices: the prefecture's disk fills up
jk hirakata gen residents --count 6000 --seed 21 --out "$T/h.csv" >/dev/null
expect_exit 0 jk hirakata resident import --format csv "$T/h.csv"
full=0
for _ in $(seq 100); do
  if grep -q "503 IO" "$N/hirakata.log" 2>/dev/null; then full=1; break; fi
  sleep 0.1
done
[ $full = 1 ] || fail "the sender never saw the prefecture's disk full"
expect_in "$N/osaka.log" "refused"
sleep 1
h1=$(held)
[ "$h1" -lt 6000 ] || fail "all notices fit: the disk never filled ($h1)"
# whole batches or nothing: what the prefecture holds is a prefix of the city's notices, contiguous
expect_eq "$(sqlite3 -cmd ".timeout 5000" "$M/node.db" "SELECT count(*) = coalesce(max(seq), 0) FROM notice_log")" 1
expect_eq "$(ja hirakata --json sync status | jq '.pending > 0')" true
# room again: everything arrives, once
mount -o remount,size=64m "$M" || fail "remount"
wait_agree 60
expect_eq "$(held)" 6000

expect_exit 0 ja osaka audit verify
finish
