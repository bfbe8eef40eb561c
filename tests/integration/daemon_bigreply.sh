#!/bin/sh
# A reply larger than max-output reaches a client that keeps reading: the
# limit is on the backlog a client leaves unread, not on one message.
. "$top_srcdir/tests/lib.sh"

printf 'max-output = 65536\n' > "$T/cfg"
: > "$T/d.log"
"$INSTANTD" --foreground --socket "$T/d.sock" --data-dir "$T/d.data" \
    --config "$T/cfg" 2>>"$T/d.log" &
_pids="$_pids $!"
wait_for_line "$T/d.log" "instantd: listening on"
SOCK=$T/d.sock

pad=$(head -c 400 /dev/zero | tr '\0' 'x')
steps=$(i=0; while [ $i -lt 400 ]; do
	[ $i -gt 0 ] && printf ','
	printf '["update","notes","%s",{"n":%d,"pad":"%s"}]' "$(cat /proc/sys/kernel/random/uuid)" "$i" "$pad"
	i=$((i + 1))
done)
send "$SOCK" "{\"op\":\"transact\",\"id\":1,\"steps\":[$steps]}" | grep -q '"ok":true' || fail "transact"
out=$(send "$SOCK" '{"op":"query","id":2,"q":{"notes":{}}}' | grep '"id":2,') || fail "no reply"
[ "$(printf '%s' "$out" | wc -c)" -gt 65536 ] || fail "the reply is not larger than max-output"
assert_eq "$(jqr "$out" '.data.notes|length')" 400 "a 160 KB reply with max-output 64 KiB"
pass "a reply larger than max-output reaches a reading client"
