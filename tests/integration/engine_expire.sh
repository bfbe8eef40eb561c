#!/bin/sh
# A transaction the server rejected stays listed by pending for a day;
# then the daemon forgets it, a few seconds after the app opens.  Rows of
# any other status stay however old they are, and so does a newer
# rejection.
. "$top_srcdir/tests/lib.sh"

start_daemon d
out=$(send "$SOCK" \
    '{"op":"transact","id":1,"steps":[["update","notes","00000000-0000-4000-8000-000000000001",{"t":1}]]}' \
    '{"op":"transact","id":2,"steps":[["update","notes","00000000-0000-4000-8000-000000000002",{"t":2}]]}' \
    '{"op":"transact","id":3,"steps":[["update","notes","00000000-0000-4000-8000-000000000003",{"t":3}]]}')
old_error=$(printf '%s\n' "$out" | jq -r 'select(.id == 1) | .tx')
new_error=$(printf '%s\n' "$out" | jq -r 'select(.id == 2) | .tx')
old_queued=$(printf '%s\n' "$out" | jq -r 'select(.id == 3) | .tx')
[ -n "$old_queued" ] || fail "transact: $out"
stop_daemon "$DAEMON_PID"

# Two are rejected; one of them, and one still enqueued, are 25 hours old.
db=$(ls "$T"/d.data/apps/*.db)
sqlite3 "$db" "UPDATE outbox SET status = 'error', error = '{\"message\":\"denied\"}' WHERE tx IN ('$old_error', '$new_error');
UPDATE outbox SET created = created - 25 * 3600 * 1000 WHERE tx IN ('$old_error', '$old_queued');" ||
    fail "editing the outbox"

listed() {
	send "$SOCK" '{"op":"pending","id":1}' | grep '"id":1,' | jq -r '[.txs[] | "\(.tx) \(.status)"] | sort | join(",")'
}
all=$(printf '%s\n' "$old_error error" "$new_error error" "$old_queued enqueued" | sort | paste -sd, -)
kept=$(printf '%s\n' "$new_error error" "$old_queued enqueued" | sort | paste -sd, -)

start_daemon d
assert_eq "$(listed)" "$all" "pending as the app opens"
pass "an old rejection is still listed as the app opens"
wait_for_line "$T/d.log" "forgot 1 rejected transactions older than a day" 15
assert_eq "$(listed)" "$kept" "pending after the app has been open a while"
assert_eq "$(sqlite3 "$db" 'SELECT count(*) FROM outbox')" 2 "outbox rows"
pass "it is forgotten after the app opens; newer rejections and old unsynced transactions stay"
