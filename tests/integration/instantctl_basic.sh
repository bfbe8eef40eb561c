# instantctl_basic.sh: instantctl against a real instantd: status, hello,
# uuid, --pretty, --app, and finding the socket through INSTANTD_SOCKET.
. "$top_srcdir/tests/lib.sh"

start_daemon ctl
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'

out=$("$INSTANTCTL" --socket "$SOCK" status) || fail "status exited $?"
assert_eq "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 1 "status lines"
assert_eq "$(jqr "$out" .ok)" true "status ok"
assert_eq "$(jqr "$out" '.pending | type')" number "status pending"
jqr "$out" .app | grep -Eq "$UUID_RE" || fail "status app: $out"
pass "status"

out=$("$INSTANTCTL" --socket "$SOCK" hello) || fail "hello exited $?"
assert_eq "$(jqr "$out" .proto)" 1 "hello proto"
assert_eq "$(jqr "$out" .daemon.name)" instantd "hello daemon"
pass "hello"

app=00000000-0000-4000-8000-0000000000aa
out=$("$INSTANTCTL" --socket "$SOCK" --app "$app" status) ||
    fail "status --app exited $?"
assert_eq "$(jqr "$out" .app)" "$app" "status --app"
out=$("$INSTANTCTL" --socket "$SOCK" --app "$app" hello) ||
    fail "hello --app exited $?"
assert_eq "$(jqr "$out" .app)" "$app" "hello --app"
pass "--app binds the connection"

out=$("$INSTANTCTL" --socket "$SOCK" uuid) || fail "uuid exited $?"
jqr "$out" .uuid | grep -Eq "$UUID_RE" || fail "uuid: $out"
out=$("$INSTANTCTL" --socket "$SOCK" uuid 5) || fail "uuid 5 exited $?"
assert_eq "$(jqr "$out" '.uuids | length')" 5 "uuid 5 count"
assert_eq "$(jqr "$out" '.uuids | unique | length')" 5 "uuid 5 distinct"
pass "uuid"

out=$("$INSTANTCTL" --socket "$SOCK" --pretty uuid 2) ||
    fail "uuid --pretty exited $?"
[ "$(printf '%s\n' "$out" | wc -l)" -gt 1 ] || fail "--pretty: one line"
assert_eq "$(jqr "$out" '.uuids | length')" 2 "--pretty parses"
pass "--pretty"

out=$(INSTANTD_SOCKET="$SOCK" "$INSTANTCTL" status) ||
    fail "status via INSTANTD_SOCKET exited $?"
assert_eq "$(jqr "$out" .ok)" true "INSTANTD_SOCKET"
pass "INSTANTD_SOCKET"
