# instantctl_data.sh: instantctl's data commands against a real
# (local-only) instantd: transact, query, pending, subscribe streaming
# until SIGINT (exit 0) or until the daemon goes away (exit 69).
. "$top_srcdir/tests/lib.sh"

start_daemon data
id=6f0c0c2e-1111-4a4a-9b9b-000000000001

"$INSTANTCTL" --socket "$SOCK" subscribe '{"todos":{}}' >"$T/sub1.out" &
sub1=$!
wait_for_line "$T/sub1.out" '"event":"result"'
assert_eq "$(head -n 1 "$T/sub1.out" | jq -c .data)" '{"todos":[]}' \
    "first result"
pass "subscribe prints the first result"

out=$("$INSTANTCTL" --socket "$SOCK" transact \
    '[["update","todos","'$id'",{"title":"milk"}]]') ||
    fail "transact exited $?"
assert_eq "$(jqr "$out" .ok)" true "transact ok"
jqr "$out" .tx | grep -Eq '^[0-9a-f-]{36}$' || fail "transact tx: $out"
pass "transact"

wait_for_line "$T/sub1.out" '"title":"milk"'
pass "subscribe prints the new result"

out=$("$INSTANTCTL" --socket "$SOCK" query '{"todos":{}}') ||
    fail "query exited $?"
assert_eq "$(jqr "$out" '.data.todos[0].title')" milk "query"
out=$("$INSTANTCTL" --socket "$SOCK" pending) || fail "pending exited $?"
assert_eq "$(jqr "$out" '.txs | length')" 1 "pending count"
assert_eq "$(jqr "$out" '.txs[0].client')" instantctl "pending client"
pass "query and pending"

kill -INT "$sub1"
rc=0
wait "$sub1" || rc=$?
assert_eq "$rc" 0 "subscribe exit after SIGINT"
pass "subscribe ends with 0 on SIGINT"

"$INSTANTCTL" --socket "$SOCK" --pretty subscribe '{"todos":{}}' \
    >"$T/sub2.out" &
sub2=$!
wait_for_line "$T/sub2.out" '^}$'
assert_eq "$(jq -s '.[0].data.todos[0].title' "$T/sub2.out")" '"milk"' \
    "pretty result"
stop_daemon "$DAEMON_PID"
rc=0
wait "$sub2" || rc=$?
assert_eq "$rc" 69 "subscribe exit when the daemon stops"
pass "subscribe --pretty; exits 69 when the daemon goes away"
