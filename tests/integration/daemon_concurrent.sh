#!/bin/sh
# 50 concurrent clients each get their own replies, in order.
. "$top_srcdir/tests/lib.sh"

start_daemon d
N=50
M=40
clients=""
i=1
while [ "$i" -le "$N" ]; do
	(
		j=1
		while [ "$j" -le "$M" ]; do
			case $((j % 3)) in
			0) echo "{\"op\":\"uuid\",\"id\":\"c$i-$j\"}" ;;
			1) echo "{\"op\":\"status\",\"id\":\"c$i-$j\"}" ;;
			2) echo "{\"op\":\"uuid\",\"id\":\"c$i-$j\",\"count\":2}" ;;
			esac
			j=$((j + 1))
		done
	) | "$SOCAT" -t 10 - "UNIX-CONNECT:$SOCK" > "$T/client$i.out" &
	clients="$clients $!"
	i=$((i + 1))
done
for p in $clients; do
	wait "$p" || fail "a client failed"
done

i=1
while [ "$i" -le "$N" ]; do
	got=$(jq -r 'select(.id != null) | .id' "$T/client$i.out" | tr '\n' ' ')
	want=$(j=1; while [ "$j" -le "$M" ]; do printf 'c%s-%s ' "$i" "$j"; j=$((j + 1)); done)
	assert_eq "$got" "$want" "client $i reply order"
	bad=$(jq -r 'select(.id != null and .ok != true) | .id' "$T/client$i.out")
	assert_eq "$bad" "" "client $i errors"
	i=$((i + 1))
done
pass "$N clients x $M requests: every reply to its own client, in order"
