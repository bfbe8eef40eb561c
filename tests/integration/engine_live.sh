#!/bin/sh
# Client A subscribes; client B transacts through socat; A gets the result
# event.  kill -9 right after B's reply: after a restart the data and the
# outbox are intact and A sees the change again when it resubscribes.
. "$top_srcdir/tests/lib.sh"

start_daemon d

# A: subscribe and stay connected until $T/a.done exists.
(
	echo '{"op":"hello","id":1,"name":"A"}'
	echo '{"op":"subscribe","id":2,"q":{"todos":{"$":{"order":{"serverCreatedAt":"asc"}}}}}'
	while [ ! -e "$T/a.done" ] && [ ! -e "$T/.done" ]; do sleep 0.05; done
) | "$SOCAT" -t 5 - "UNIX-CONNECT:$SOCK" > "$T/a.out" &
a=$!
_pids="$_pids $a"
wait_for_line "$T/a.out" '"event":"result"' 10
first=$(grep '"event":"result"' "$T/a.out" | head -n 1)
assert_eq "$(jqr "$first" '.sub,.from_cache,(.data.todos|length)' | tr '\n' ' ')" "1 true 0 " "first result"
pass "subscribe: reply then an empty first result"

id1=$(send "$SOCK" '{"op":"uuid","id":1}' | tail -n 1 | jq -r .uuid)
out=$(send "$SOCK" "{\"op\":\"hello\",\"id\":0,\"name\":\"B\"}" \
    "{\"op\":\"transact\",\"id\":1,\"steps\":[[\"update\",\"todos\",\"$id1\",{\"title\":\"milk\",\"done\":false}]]}" | tail -n 1)
assert_eq "$(jqr "$out" '.ok,.status' | tr '\n' ' ')" "true enqueued " "transact reply"
tx=$(jqr "$out" .tx)

# kill -9 right after the reply: the transaction must survive.
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
wait_for_line "$T/a.out" '"title":"milk"' 5 || true
touch "$T/a.done"
wait "$a" 2>/dev/null || true
grep -q '"title":"milk"' "$T/a.out" || fail "A did not get B's change before the crash"
res=$(grep '"title":"milk"' "$T/a.out" | head -n 1)
assert_eq "$(jqr "$res" '.sub,.pending,.data.todos[0].id,.data.todos[0].done' | tr '\n' ' ')" "1 true $id1 false " "result event"
pass "A got B's change as a result event"

start_daemon d
out=$(send "$SOCK" '{"op":"pending","id":1}' '{"op":"query","id":2,"q":{"todos":{}}}')
pend=$(echo "$out" | grep '"id":1')
assert_eq "$(jqr "$pend" '.txs|length')" 1 "outbox after restart"
assert_eq "$(jqr "$pend" '.txs[0].tx,.txs[0].status,.txs[0].client' | tr '\n' ' ')" "$tx enqueued B " "outbox row"
q=$(echo "$out" | grep '"id":2')
assert_eq "$(jqr "$q" '.data.todos[0].title,.from_cache' | tr '\n' ' ')" "milk true " "data after restart"
sub=$(send "$SOCK" '{"op":"subscribe","id":1,"q":{"todos":{}}}' | grep '"event":"result"')
assert_eq "$(jqr "$sub" '.data.todos[0].title')" milk "resubscribe after restart"
pass "kill -9 after the reply: data and outbox intact"

# Unsubscribe: unknown sub -> not-found; a known one -> ok.
out=$(send "$SOCK" '{"op":"subscribe","id":1,"q":{"todos":{}}}' '{"op":"unsubscribe","id":2,"sub":1}' '{"op":"unsubscribe","id":3,"sub":1}' '{"op":"status","id":4}')
assert_eq "$(echo "$out" | grep '"id":2' | jq -r .ok)" true "unsubscribe"
assert_eq "$(echo "$out" | grep '"id":3' | jq -r .error.code)" not-found "unsubscribe twice"
assert_eq "$(echo "$out" | grep '"id":4' | jq -r .subscriptions)" 0 "no subscriptions left"
pass "unsubscribe"
