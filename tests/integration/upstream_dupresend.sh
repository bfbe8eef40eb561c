#!/bin/sh
# A transaction whose ack was lost is resent on the next session and
# refused there because its first send was committed: it is synced, and
# it stays in the local view until a server result covers it (it must not
# vanish locally in between, nor after a restart).
. "$top_srcdir/tests/lib.sh"

APP=$(cat /proc/sys/kernel/random/uuid)
X=$(cat /proc/sys/kernel/random/uuid)

start_devserver dev
start_daemon d --app "$APP" --api-uri "http://127.0.0.1:$DEV_PORT"
n=0
until send "$SOCK" '{"op":"status","id":1}' | grep -q '"state":"authenticated"'; do
	n=$((n + 1)); [ $n -lt 200 ] || fail "never authenticated"; sleep 0.05
done

# Committed by the server, ack dropped; no query covers it.
set_faults '{"drop-ack":1}'
r=$(send "$SOCK" "{\"op\":\"transact\",\"id\":1,\"steps\":[[\"create\",\"notes\",\"$X\",{\"t\":\"dup\"}]]}" | grep '"id":1,')
assert_eq "$(jqr "$r" '.ok')" true "transact"
n=0
until [ "$(sqlite3 -readonly "$T/dev.data/$APP.sqlite" "SELECT count(*) FROM triples WHERE e = '$X'" 2>/dev/null)" -gt 0 ]; do
	n=$((n + 1)); [ $n -lt 200 ] || fail "the server never committed it"; sleep 0.05
done

# The next session resends it; the server refuses the second create.
send "$SOCK" '{"op":"disconnect","id":1}' '{"op":"connect","id":2}' > /dev/null
n=0
until [ "$(send "$SOCK" '{"op":"status","id":1}' | grep '"id":1,' | jq -r '"\(.pending) \(.connection.state)"')" = "0 authenticated" ] &&
    grep -q 'committed by an earlier send' "$T/d.log"; do
	n=$((n + 1)); [ $n -lt 200 ] || fail "not synced: $(send "$SOCK" '{"op":"pending","id":1}')"; sleep 0.05
done
pass "a resend refused as already committed counts as synced"

# check_visible WHAT: offline (so only the local store answers), the
# note is there.
check_visible() {
	send "$SOCK" '{"op":"disconnect","id":1}' > /dev/null
	n=0
	until send "$SOCK" '{"op":"status","id":1}' | grep -q '"state":"offline"'; do
		n=$((n + 1)); [ $n -lt 200 ] || fail "$1: never offline"; sleep 0.05
	done
	all=$(send "$SOCK" '{"op":"query","id":2,"q":{"notes":{}}}')
	out=$(printf '%s\n' "$all" | grep '"id":2,') || fail "$1: no query reply: $all"
	assert_eq "$(jqr "$out" '[.data.notes[].t]|@json')" '["dup"]' "$1"
}
check_visible "still visible locally after the refused resend"
stop_daemon "$DAEMON_PID"
start_daemon d --app "$APP" --api-uri "http://127.0.0.1:$DEV_PORT"
check_visible "still visible locally after a restart"
pass "an acknowledged transaction never vanishes locally after its resend is refused"
