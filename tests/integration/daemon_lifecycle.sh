#!/bin/sh
# A second daemon on the same socket refuses to start; a stale socket left
# by a killed daemon is replaced; SIGINT shuts down cleanly.
. "$top_srcdir/tests/lib.sh"

start_daemon d
first=$DAEMON_PID
set +e
"$INSTANTD" --foreground --socket "$SOCK" --data-dir "$T/d2.data" --config /dev/null 2>"$T/second.err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "second daemon started"
grep -q "another instantd is already serving $SOCK" "$T/second.err" ||
    fail "second daemon message: $(cat "$T/second.err")"
assert_eq "$(send "$SOCK" '{"op":"status","id":1}' | tail -n 1 | jq -r .ok)" true "first still serves"
pass "a second daemon refuses to start"

kill -9 "$first"
wait "$first" 2>/dev/null || true
[ -S "$SOCK" ] || fail "expected a stale socket after kill -9"
start_daemon d
grep -q "replacing stale socket" "$T/d.log" || fail "stale socket not reported"
assert_eq "$(send "$SOCK" '{"op":"status","id":1}' | tail -n 1 | jq -r .ok)" true "serves after stale"
pass "a stale socket is replaced"

# A non-socket file at the path is never deleted.
kill -INT "$DAEMON_PID"
wait "$DAEMON_PID" || fail "SIGINT exit status"
[ ! -e "$SOCK" ] || fail "socket left after SIGINT"
echo precious > "$SOCK"
set +e
"$INSTANTD" --foreground --socket "$SOCK" --data-dir "$T/d.data" --config /dev/null 2>"$T/file.err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "started over a regular file"
assert_eq "$(cat "$SOCK")" precious "regular file kept"
grep -q "exists and is not a socket" "$T/file.err" || fail "message: $(cat "$T/file.err")"
pass "clean SIGINT shutdown; a regular file at the path is refused, not deleted"

# Relative --socket and --data-dir are the working directory's, even after
# the daemon detaches (and leaves it) and opens a store later.
mkdir "$T/rel"
(cd "$T/rel" && "$INSTANTD" --socket rel.sock --data-dir rel.data \
    --config /dev/null) || fail "detached start with relative paths"
[ -S "$T/rel/rel.sock" ] || fail "no socket at $T/rel/rel.sock"
out=$(send "$T/rel/rel.sock" \
    '{"op":"transact","id":1,"steps":[["update","notes","00000000-0000-4000-8000-000000000001",{"t":"x"}]]}')
assert_eq "$(echo "$out" | tail -n 1 | jq -r .ok)" true "transact after detaching"
ls "$T/rel/rel.data/apps/"*.db >/dev/null 2>&1 || fail "store not under the relative data dir"
relpid=$(pgrep -f -- "--data-dir rel.data") || fail "detached daemon not found"
kill -TERM "$relpid"
for _ in $(seq 1 100); do
	kill -0 "$relpid" 2>/dev/null || break
	sleep 0.1
done
[ ! -e "$T/rel/rel.sock" ] || fail "relative socket left after SIGTERM"
pass "relative paths hold after detaching"
