#!/bin/sh
# 20 clients across 3 app ids: each app's store, outbox and subscriptions
# stay separate; identical queries are one subscription per app.  (The
# clients count is not checked: clients leave as soon as they are done.)
. "$top_srcdir/tests/lib.sh"

start_daemon d
apps="2f0a8d3c-1111-4a4a-9b9b-000000000001 2f0a8d3c-1111-4a4a-9b9b-000000000002 2f0a8d3c-1111-4a4a-9b9b-000000000003"

i=0
for n in $(seq 1 20); do
	app=$(echo $apps | cut -d' ' -f$(( (n % 3) + 1 )))
	(
		echo "{\"op\":\"hello\",\"id\":0,\"app\":\"$app\",\"name\":\"c$n\"}"
		echo '{"op":"subscribe","id":1,"q":{"notes":{}}}'
		echo "{\"op\":\"transact\",\"id\":2,\"steps\":[[\"update\",\"notes\",\"$(cat /proc/sys/kernel/random/uuid)\",{\"by\":\"c$n\",\"app\":\"$app\"}]]}"
		while [ ! -e "$T/done" ] && [ ! -e "$T/.done" ]; do sleep 0.05; done
		echo '{"op":"status","id":3}'
	) | "$SOCAT" -t 5 - "UNIX-CONNECT:$SOCK" > "$T/c$n.out" &
	_pids="$_pids $!"
done
for n in $(seq 1 20); do
	wait_for_line "$T/c$n.out" '"id":2,"ok":true' 10
done
touch "$T/done"
for n in $(seq 1 20); do
	wait_for_line "$T/c$n.out" '"id":3' 10
done

for n in $(seq 1 20); do
	app=$(echo $apps | cut -d' ' -f$(( (n % 3) + 1 )))
	want=$(seq 1 20 | while read -r m; do [ $(( m % 3 )) -eq $(( n % 3 )) ] && echo m; done | wc -l)
	st=$(grep '"id":3' "$T/c$n.out")
	assert_eq "$(jqr "$st" '.app,.pending,.subscriptions' | tr '\n' ' ')" "$app $want 1 " "status of c$n"
	last=$(grep '"event":"result"' "$T/c$n.out" | tail -n 1)
	assert_eq "$(jqr "$last" '.data.notes|length')" "$want" "c$n sees its app's notes"
	assert_eq "$(jqr "$last" "[.data.notes[].app] | unique | @json")" "[\"$app\"]" "c$n sees only its app"
done
for app in $apps; do
	[ -f "$T/d.data/apps/$app.db" ] || fail "no store file for $app"
done
pass "20 clients across 3 apps stay separate"
