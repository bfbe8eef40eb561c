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
