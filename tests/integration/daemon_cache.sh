#!/bin/sh
# The store's cache never shows what a write changed: the same reads and
# writes give the same answers with the default cache, with a cache too
# small for the data, and with none.
. "$top_srcdir/tests/lib.sh"

steps=$(i=0; while [ $i -lt 300 ]; do
	[ $i -gt 0 ] && printf ','
	# The last one has a field the others get later: its attr exists.
	extra=; [ $i -eq 299 ] && extra=',"extra":"x"'
	printf '["update","notes","%s",{"n":%d,"title":"note %d","kind":"k%d"%s}]' \
	    "$(cat /proc/sys/kernel/random/uuid)" "$i" "$i" $((i % 3)) "$extra"
	i=$((i + 1))
done)
all='{"op":"query","id":9,"q":{"notes":{"$":{"order":{"n":"asc"}}}}}'
like='{"op":"query","id":9,"q":{"notes":{"$":{"where":{"title":{"$like":"%7%"}}}}}}'
kind='{"op":"query","id":9,"q":{"notes":{"$":{"where":{"kind":"k1"}}}}}'
# Reads every note by a where (so the cache holds them all): the next
# $all reads them one by one from there, not whole attrs.
every='{"op":"query","id":9,"q":{"notes":{"$":{"where":{"n":{"$gte":0}}}}}}'

# run NAME CONFIG: every answer of one daemon, one per line, into $T/NAME.
run() {
	name=$1
	printf '%s\n' "$2" > "$T/$name.cfg"
	DAEMON_CONFIG="$T/$name.cfg" start_daemon "$name"
	send "$SOCK" "{\"op\":\"transact\",\"id\":1,\"steps\":[$steps]}" |
	    grep -q '"ok":true' || fail "$name: transact"
	: > "$T/$name"
	for q in "$all" "$all" "$like" "$like" "$kind" "$kind" "$every" "$all"; do
		send "$SOCK" "$q" | grep '"id":9,' | jq -S -c .data >> "$T/$name"
	done
	# Change notes read above: fields, a merge, a delete, a null.
	set -- $(jqr "$(sed -n 1p "$T/$name")" '.notes[0:4][].id')
	# A field alone, on an entity the cache holds: no retract before it.
	send "$SOCK" "{\"op\":\"transact\",\"id\":3,\"steps\":[[\"update\",\"notes\",\"$4\",{\"extra\":\"x\"}]]}" |
	    grep -q '"ok":true' || fail "$name: transact 3"
	t2="[\"update\",\"notes\",\"$1\",{\"title\":\"seventy 77\",\"kind\":\"k1\"}]"
	t2="$t2,[\"merge\",\"notes\",\"$2\",{\"title\":\"merged 7\"}]"
	t2="$t2,[\"delete\",\"notes\",\"$3\"]"
	t2="$t2,[\"update\",\"notes\",\"$4\",{\"kind\":null}]"
	send "$SOCK" "{\"op\":\"transact\",\"id\":2,\"steps\":[$t2]}" |
	    tee "$T/$name.t2" | grep -q '"ok":true' ||
	    fail "$name: transact 2: $(cat "$T/$name.t2")"
	: > "$T/$name.after"
	for q in "$all" "$like" "$kind" "$every" "$all"; do
		send "$SOCK" "$q" | grep '"id":9,' | jq -S -c .data >> "$T/$name.after"
	done
	stop_daemon "$DAEMON_PID"
}

run default ''
run small 'cache-size = 65536'
run none 'cache-size = 0'
assert_eq "$(jq -c '.notes|length' < "$T/default" | tr '\n' ' ')" \
    "300 300 57 57 100 100 300 300 " "answers before the writes"
assert_eq "$(jq -c '.notes|length' < "$T/default.after" | tr '\n' ' ')" \
    "299 59 101 299 299 " "answers after the writes"
assert_eq "$(sed -n 1p "$T/default.after" | jq -c '[.notes[] | select(.extra)] | length')" \
    2 "a field new to a cached entity"
# The same steps made the same entity ids: the answers are equal, ids
# too (keys sorted: each daemon made its own attr ids, which order them).
cmp -s "$T/default" "$T/small" || fail "a small cache answers otherwise"
cmp -s "$T/default" "$T/none" || fail "the cache answers otherwise"
cmp -s "$T/default.after" "$T/small.after" ||
    fail "a small cache answers otherwise after writes"
cmp -s "$T/default.after" "$T/none.after" ||
    fail "the cache answers otherwise after writes"
pass "the cache answers as the database does, before and after writes"
