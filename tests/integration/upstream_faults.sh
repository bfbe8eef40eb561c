#!/bin/sh
# Server rejections roll back; lost acks and sockets closed after commit
# lose nothing and duplicate nothing; a server restart mid-stream.
. "$top_srcdir/tests/lib.sh"

APP=$(cat /proc/sys/kernel/random/uuid)
uuid() { cat /proc/sys/kernel/random/uuid; }

start_devserver dev
start_daemon d --app "$APP" --api-uri "http://127.0.0.1:$DEV_PORT"
D1=$SOCK
n=0
until send "$SOCK" '{"op":"status","id":1}' | grep -q '"state":"authenticated"'; do
	n=$((n + 1)); [ $n -lt 200 ] || fail "never authenticated"; sleep 0.05
done

client A '{"op":"subscribe","id":1,"q":{"secrets":{}}}' '{"op":"subscribe","id":2,"q":{"notes":{"$":{"order":{"n":"asc"}}}}}'
wait_for_line "$T/A.out" '"sub":2'

# A rejected transaction: error tx event and reply, rolled back for all.
set_faults '{"deny-namespaces":["secrets"]}'
s1=$(uuid)
r=$(send "$SOCK" "{\"op\":\"transact\",\"id\":1,\"wait\":\"synced\",\"steps\":[[\"update\",\"secrets\",\"$s1\",{\"v\":\"x\"}]]}" | grep '"id":1,') ||
    fail "no reply with id 1"
assert_eq "$(jqr "$r" '.ok,.error.code,.error.hint.type' | tr '\n' ' ')" "false upstream permission-denied " "rejection reply"
wait_for_line "$T/A.out" '"v":"x"' 5
n=0
until [ "$(grep '"sub":1' "$T/A.out" | tail -n 1 | jq -r '.data.secrets|length')" = 0 ]; do
	n=$((n + 1)); [ $n -lt 100 ] || fail "not rolled back: $(tail -n 2 "$T/A.out")"; sleep 0.05
done
set_faults '{"deny-namespaces":[]}'
pass "a rejected transaction is reported and rolled back"

# The rejected transaction carried the only add-attr for secrets.v: the
# next one that uses the attr must send it again, or the server would not
# know it.
r=$(send "$SOCK" "{\"op\":\"transact\",\"id\":1,\"wait\":\"synced\",\"steps\":[[\"update\",\"secrets\",\"$(uuid)\",{\"v\":\"y\"}]]}" | grep '"id":1,') ||
    fail "no reply with id 1"
assert_eq "$(jqr "$r" '.ok,.status' | tr '\n' ' ')" "true synced " "unsynced attrs are sent again"
pass "attrs a rejected transaction would have created are sent with the next one"

# A read-only app: local writes are refused until the server allows them.
set_faults '{"app-status":"read-only"}'
n=0
until send "$SOCK" '{"op":"status","id":1}' | grep -q '"app_status":"read-only"'; do
	n=$((n + 1)); [ $n -lt 100 ] || fail "read-only not seen"; sleep 0.05
done
r=$(send "$SOCK" "{\"op\":\"transact\",\"id\":1,\"steps\":[[\"update\",\"notes\",\"$(uuid)\",{\"n\":0}]]}" | grep '"id":1,') ||
    fail "no reply with id 1"
assert_eq "$(jqr "$r" '.error.code')" unavailable "read-only refuses writes"
echo "$r" | grep -q "read-only" || fail "read-only message: $r"
set_faults '{"app-status":"active"}'
n=0
until send "$SOCK" '{"op":"status","id":1}' | grep -q '"app_status":"active"'; do
	n=$((n + 1)); [ $n -lt 100 ] || fail "active not seen"; sleep 0.05
done
pass "a read-only app refuses local writes until it is active again"

# Lost acks and sockets closed after commit, then a server restart in the
# middle of a stream: every note arrives exactly once.
set_faults '{"drop-ack":2}'
i=1
while [ $i -le 5 ]; do
	send "$SOCK" "{\"op\":\"transact\",\"id\":$i,\"steps\":[[\"create\",\"notes\",\"$(uuid)\",{\"n\":$i}]]}" > /dev/null
	i=$((i + 1))
done
set_faults '{"close-before-ack":1}'
while [ $i -le 10 ]; do
	send "$SOCK" "{\"op\":\"transact\",\"id\":$i,\"steps\":[[\"create\",\"notes\",\"$(uuid)\",{\"n\":$i}]]}" > /dev/null
	i=$((i + 1))
done
# Force a new session so the unacknowledged ones are resent.
send "$SOCK" '{"op":"disconnect","id":1}' '{"op":"connect","id":2}' > /dev/null
kill "$DEV_PID"; wait "$DEV_PID" 2>/dev/null || true
while [ $i -le 15 ]; do
	send "$SOCK" "{\"op\":\"transact\",\"id\":$i,\"steps\":[[\"update\",\"notes\",\"$(uuid)\",{\"n\":$i}]]}" > /dev/null
	i=$((i + 1))
done
start_devserver dev
n=0
until send "$SOCK" '{"op":"pending","id":1}' | grep '"id":1,' | jq -e '[.txs[]|select(.status != "error")]|length == 0' > /dev/null; do
	n=$((n + 1)); [ $n -lt 400 ] || fail "still pending: $(send "$SOCK" '{"op":"pending","id":1}')"; sleep 0.05
done
# What the server holds, seen by a fresh device.
start_daemon d2 --app "$APP" --api-uri "http://127.0.0.1:$DEV_PORT"
n=0
while :; do
	out=$(send "$SOCK" '{"op":"query","id":1,"q":{"notes":{"$":{"order":{"n":"asc"}}}}}' | grep '"id":1,') || true
	[ "$(jqr "$out" '.from_cache')" = false ] && [ "$(jqr "$out" '.data.notes|length')" -ge 15 ] && break
	n=$((n + 1)); [ $n -lt 100 ] || fail "server state: $out"; sleep 0.1
done
assert_eq "$(jqr "$out" '[.data.notes[].n]|@json')" "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]" "every note exactly once"
assert_eq "$(send "$D1" '{"op":"pending","id":1}' | grep '"id":1,' | jq -r '[.txs[].error.type]|@json')" '["permission-denied"]' "only the denied one failed"
pass "lost acks, closes after commit and a restart: nothing lost, nothing duplicated"
stop_client A

# A query op waiting for the server is answered from the cache as soon as
# the session closes, not when its timeout runs out.
SOCK=$D1
set_faults '{"no-answer":true}'
client Q '{"op":"query","id":7,"q":{"notes":{"$":{"where":{"n":3}}}},"timeout_ms":30000}'
wait_for_line "$T/dev.log" "fault: no answer to a message" 10
t0=$(date +%s)
send "$SOCK" '{"op":"disconnect","id":1}' > /dev/null
wait_for_line "$T/Q.out" '"id":7' 10
[ $(( $(date +%s) - t0 )) -le 5 ] || fail "the waiting query was answered late"
q=$(grep '"id":7' "$T/Q.out")
assert_eq "$(jqr "$q" '.ok,.from_cache,(.data.notes|length)' | tr '\n' ' ')" "true true 1 " "answered from the cache"
stop_client Q
set_faults '{"no-answer":false}'
send "$SOCK" '{"op":"connect","id":1}' > /dev/null
pass "a waiting query is answered from the cache when the session closes"
