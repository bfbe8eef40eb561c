#!/bin/sh
# Two devices create the same new namespace offline, each with its own
# fresh attr ids; the second to connect finds the server already has
# tasks.title and rewrites its pending transaction to the server's attr.
. "$top_srcdir/tests/lib.sh"

APP=$(cat /proc/sys/kernel/random/uuid)
uuid() { cat /proc/sys/kernel/random/uuid; }
start_devserver dev
stop_daemon "$DEV_PID"

start_daemon one --app "$APP" --api-uri "http://127.0.0.1:$DEV_PORT"
ONE=$SOCK
start_daemon two --app "$APP" --api-uri "http://127.0.0.1:$DEV_PORT"
TWO=$SOCK
send "$ONE" "{\"op\":\"transact\",\"id\":1,\"steps\":[[\"update\",\"tasks\",\"$(uuid)\",{\"title\":\"from one\"}]]}" | grep -q '"ok":true' || fail "one"
send "$TWO" "{\"op\":\"transact\",\"id\":1,\"steps\":[[\"update\",\"tasks\",\"$(uuid)\",{\"title\":\"from two\"}]]}" | grep -q '"ok":true' || fail "two"
send "$TWO" '{"op":"disconnect","id":1}' > /dev/null

start_devserver dev
# One syncs first and creates the attrs on the server.
n=0
until send "$ONE" '{"op":"status","id":1}' | grep -q '"pending":0'; do
	n=$((n + 1)); [ $n -lt 200 ] || fail "one never synced"; sleep 0.05
done
# Two connects second: its add-attr for tasks.title must be rewritten.
send "$TWO" '{"op":"connect","id":1}' > /dev/null
n=0
until send "$TWO" '{"op":"status","id":1}' | grep -q '"pending":0'; do
	n=$((n + 1)); [ $n -lt 200 ] || fail "two never synced: $(send "$TWO" '{"op":"pending","id":1}')"; sleep 0.05
done
pend=$(send "$TWO" '{"op":"pending","id":1}' | grep '"id":1,')
assert_eq "$(jqr "$pend" '.txs|length')" 0 "no rejected transaction"
n=0
while :; do
	q=$(send "$ONE" '{"op":"query","id":1,"q":{"tasks":{"$":{"order":{"title":"asc"}}}}}' | grep '"id":1,') || true
	[ "$(jqr "$q" '[.data.tasks[].title]|@json')" = '["from one","from two"]' ] && break
	n=$((n + 1)); [ $n -lt 100 ] || fail "server state: $q"; sleep 0.1
done
pass "the second device's pending transaction was rewritten to the server's attrs"
