#!/bin/sh
# A server that falls silent (no pings, no answers: a half-open socket) is
# taken for dead after dead-timeout, not the default 20 s: the daemon
# connects again and sends what the silent session never acknowledged,
# and the server commits it once.  A quiet but healthy session, pinged
# more often than dead-timeout, is kept; one whose init the server leaves
# unanswered while it goes on pinging is not.
. "$top_srcdir/tests/lib.sh"

APP=$(cat /proc/sys/kernel/random/uuid)
X=$(cat /proc/sys/kernel/random/uuid)

printf 'dead-timeout = 2\n' > "$T/cfg"
start_devserver dev --ping-interval 200
DAEMON_CONFIG="$T/cfg"
start_daemon d --app "$APP" --api-uri "http://127.0.0.1:$DEV_PORT"
unset DAEMON_CONFIG
wait_until 10 "never authenticated" state_is "$SOCK" authenticated

# Idle for three dead-timeouts, with pings: the session stays up.
sleep 6
state_is "$SOCK" authenticated || fail "an idle session was dropped"
assert_eq "$(grep -c 'upstream closed' "$T/d.log")" 0 "closes of a pinged idle session"
pass "a quiet session the server pings is kept"

# The server falls silent; a transaction goes out on the silent session.
set_faults '{"no-ping":true,"no-answer":true}'
r=$(send "$SOCK" "{\"op\":\"transact\",\"id\":1,\"steps\":[[\"create\",\"notes\",\"$X\",{\"t\":\"once\"}]]}" | grep '"id":1,')
assert_eq "$(jqr "$r" '.ok')" true "transact"
wait_for_line "$T/d.log" 'upstream closed: nothing received from the server for 2 s' 8
set_faults '{"no-ping":false,"no-answer":false}'
pass "a silent server is taken for dead after dead-timeout"

# The next session sends it again; the server has it exactly once.
synced() {
	[ "$(send "$SOCK" '{"op":"status","id":1}' | grep '"id":1,' | jq -r '"\(.pending) \(.connection.state)"')" = "0 authenticated" ]
}
wait_until 20 "not synced" synced
assert_eq "$(sqlite3 -readonly "$T/dev.data/$APP.sqlite" "SELECT count(*) FROM triples WHERE e = '$X' AND v = '\"once\"'")" 1 \
    "the note's triples on the server"
grep -q 'committed by an earlier send' "$T/d.log" && fail "the silent session committed it"
pass "what the silent session never acknowledged is sent again and committed once"

# A server that keeps pinging but never answers init: that session is
# given up after dead-timeout, and a later one is authenticated.
set_faults '{"no-answer":true}'
send "$SOCK" '{"op":"disconnect","id":1}' '{"op":"connect","id":2}' > /dev/null
wait_for_line "$T/d.log" 'upstream closed: the server did not answer init in 2 s' 8
set_faults '{"no-answer":false}'
wait_until 20 "never authenticated again" state_is "$SOCK" authenticated
pass "a session whose init goes unanswered is given up after dead-timeout"
