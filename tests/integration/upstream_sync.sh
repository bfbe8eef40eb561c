#!/bin/sh
# Offline writes reach the server in order once it appears; tx events,
# wait:"synced", server results replacing cached ones, and a second device.
. "$top_srcdir/tests/lib.sh"

APP=$(cat /proc/sys/kernel/random/uuid)
uuid() { cat /proc/sys/kernel/random/uuid; }

# Learn a free port, then keep the server down: everything starts offline.
start_devserver dev
stop_daemon "$DEV_PID"

start_daemon d --app "$APP" --api-uri "http://127.0.0.1:$DEV_PORT"
D1=$SOCK

client A '{"op":"hello","id":0,"name":"A"}' \
    '{"op":"subscribe","id":1,"q":{"todos":{"$":{"order":{"n":"asc"}}}}}'
wait_for_line "$T/A.out" '"event":"result"'

t1=$(uuid) t2=$(uuid)
client B '{"op":"hello","id":0,"name":"B"}' \
    "{\"op\":\"transact\",\"id\":1,\"steps\":[[\"create\",\"todos\",\"$t1\",{\"title\":\"first\",\"n\":1}]]}" \
    "{\"op\":\"transact\",\"id\":2,\"steps\":[[\"update\",\"todos\",\"$t2\",{\"title\":\"second\",\"n\":2}]]}"
wait_for_line "$T/B.out" '"id":2,"ok":true'
assert_eq "$(grep '"id":1,' "$T/B.out" | jq -r .status)" enqueued "offline status"
out=$(send "$D1" '{"op":"status","id":1}' '{"op":"pending","id":2}')
assert_eq "$(echo "$out" | grep '"id":1,' | jq -r '.pending')" 2 "pending count offline"
assert_eq "$(echo "$out" | grep '"id":2,' | jq -r '[.txs[].client]|@json')" '["B","B"]' "outbox order"
wait_for_line "$T/A.out" '"title":"second"'
pass "offline: durable, enqueued, visible to subscribers at once"

# The server appears: everything syncs, in order.
start_devserver dev
wait_for_line "$T/B.out" '"event":"tx".*"status":"synced"' 30
n=0
while [ "$(grep -c '"status":"synced"' "$T/B.out")" -lt 2 ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
assert_eq "$(grep -c '"status":"synced"' "$T/B.out")" 2 "both synced"
first=$(grep '"status":"synced"' "$T/B.out" | head -n 1 | jq -r .tx_id)
second=$(grep '"status":"synced"' "$T/B.out" | tail -n 1 | jq -r .tx_id)
[ "$first" -lt "$second" ] || fail "server order: $first then $second"
pass "the server got both, in order (tx $first, $second)"

# The server's answer equals what A already shows, so A gets no new
# result (never twice with equal data); a one-shot query shows the answer
# came from the server.
q=$(send "$D1" '{"op":"query","id":1,"q":{"todos":{"$":{"order":{"n":"asc"}}}}}' | grep '"id":1,') ||
    fail "no reply with id 1"
assert_eq "$(jqr "$q" '.from_cache,([.data.todos[].title]|@json)' | tr '\n' ' ')" 'false ["first","second"] ' "server results"
last=$(grep '"event":"result"' "$T/A.out" | tail -n 1)
assert_eq "$(jqr "$last" '.data|@json')" "$(jqr "$q" '.data|@json')" "A shows the server's result"
out=$(send "$D1" '{"op":"status","id":1}' '{"op":"pending","id":2}')
assert_eq "$(echo "$out" | grep '"id":1,' | jq -r '.connection.state,.pending' | tr '\n' ' ')" "authenticated 0 " "status online"
assert_eq "$(echo "$out" | grep '"id":2,' | jq -r '.txs|length')" 0 "nothing pending"
pass "subscribers switched to the server's results"

# wait:"synced" holds the reply until the server's transact-ok.
t3=$(uuid)
r=$(send "$D1" "{\"op\":\"transact\",\"id\":1,\"wait\":\"synced\",\"steps\":[[\"update\",\"todos\",\"$t3\",{\"title\":\"third\",\"n\":3}]]}" | grep '"id":1,') ||
    fail "no reply with id 1"
assert_eq "$(jqr "$r" '.ok,.status' | tr '\n' ' ')" "true synced " "wait synced"
[ "$(jqr "$r" .tx_id)" -gt "$second" ] || fail "tx_id after wait synced: $r"
pass "wait:synced replies after transact-ok"

# Another device: its own daemon and data dir on the same app.
start_daemon d2 --app "$APP" --api-uri "http://127.0.0.1:$DEV_PORT"
D2=$SOCK
out=$(send "$D2" '{"op":"query","id":1,"q":{"todos":{"$":{"order":{"n":"asc"}}}},"timeout_ms":5000}')
SOCK=$D1
n=0
while :; do
	out=$(send "$D2" '{"op":"query","id":1,"q":{"todos":{"$":{"order":{"n":"asc"}}}}}' | grep '"id":1,') || true
	[ "$(jqr "$out" '.data.todos|length')" = 3 ] && break
	n=$((n + 1))
	[ $n -lt 100 ] || fail "device 2 never saw the data: $out"
	sleep 0.1
done
t4=$(uuid)
send "$D2" "{\"op\":\"transact\",\"id\":1,\"wait\":\"synced\",\"steps\":[[\"update\",\"todos\",\"$t4\",{\"title\":\"from device 2\",\"n\":4}]]}" > /dev/null
wait_for_line "$T/A.out" '"title":"from device 2"' 20
pass "a second device sees our changes and its changes reach our subscribers"
stop_client A
stop_client B
