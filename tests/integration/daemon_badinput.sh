#!/bin/sh
# Malformed requests get the documented error; the connection stays usable
# (except after too-large, which closes it) and other clients are unaffected.
. "$top_srcdir/tests/lib.sh"

start_daemon d

# A bystander holds a connection open during the whole test.
(
	echo '{"op":"status","id":"by1"}'
	while [ ! -e "$T/go" ] && [ ! -e "$T/.done" ]; do sleep 0.05; done
	echo '{"op":"status","id":"by2"}'
) | "$SOCAT" -t 5 - "UNIX-CONNECT:$SOCK" > "$T/by.out" &
by=$!
_pids="$_pids $by"
wait_for_line "$T/by.out" '"id":"by1"' 10

# One connection, many bad lines, each followed by a good request.
{
	printf '%s\n' '{"op":"status","id":' # invalid JSON
	printf '%s\n' '[1,2,3]'
	printf '%s\n' '42'
	printf '%s\n' '"status"'
	printf '{"op":"status","id":"\377"}\n'          # invalid UTF-8
	printf '{"op":"st\000atus","id":1}\n'           # NUL byte
	printf '%s\n' '{"op":"frobnicate","id":"u"}'
	printf '%s\n' '{"id":"noop"}'
	printf '%s\n' '{"op":7,"id":"t1"}'
	printf '%s\n' '{"op":"status","id":{"x":1}}'
	printf '%s\n' '{"op":"status","id":1.5}'
	printf '%s\n' '{"op":"uuid","id":"t2","count":"3"}'
	printf '%s\n' '{"op":"uuid","id":"t3","count":0}'
	printf '%s\n' '{"op":"uuid","id":"t4","count":100000}'
	printf '%s\n' '{"op":"hello","id":"t5","app":"not-a-uuid"}'
	printf '%s\n' '{"op":"hello","id":"t6","name":42}'
	printf '%s\n' '{"op":"hello","id":"t7","proto":"1"}'
	printf '%s\n' '{"op":"status","id":"after","extra":"ignored"}'
} | "$SOCAT" -t 5 - "UNIX-CONNECT:$SOCK" > "$T/bad.out"

# Decode and envelope errors come before the connection binds to its app
# (the connection event), op-specific errors after.
codes=$(jq -r 'if .event then "event" elif .ok then "ok:\(.id)" else .error.code end' "$T/bad.out" | tr '\n' ' ')
assert_eq "$codes" "bad-json bad-request bad-request bad-request bad-json bad-json unknown-op bad-request bad-request bad-request bad-request event bad-request bad-request bad-request bad-request bad-request bad-request ok:after " "error codes"
assert_eq "$(sed -n 7p "$T/bad.out" | jq -r .id)" u "unknown-op echoes the id"
assert_eq "$(sed -n 7p "$T/bad.out" | jq -r .error.hint.op)" frobnicate "unknown-op hint"
jq -s -e 'map(select(.ok == false)) | all(.error.message | length > 0)' "$T/bad.out" > /dev/null || fail "empty messages"
pass "malformed lines get errors and the connection stays usable"

# A 2 MiB line: too-large, then the connection is closed.
head -c 2097152 /dev/zero | tr '\0' 'a' > "$T/big"
{ printf '{"op":"status","id":"x","pad":"'; cat "$T/big"; printf '"}\n'; printf '%s\n' '{"op":"status","id":"never"}'; } |
    "$SOCAT" -t 5 - "UNIX-CONNECT:$SOCK" > "$T/big.out" || true
assert_eq "$(jq -r .error.code "$T/big.out" | tr '\n' ' ')" "too-large " "too-large and closed"
pass "2 MiB line: too-large, connection closed"

# The bystander was never disturbed and still answers.
touch "$T/go"
wait "$by" || fail "bystander failed"
assert_eq "$(jq -r 'select(.id) | .ok' "$T/by.out" | tr '\n' ' ')" "true true " "bystander replies"
pass "other clients unaffected"
kill -0 "$DAEMON_PID" || fail "daemon died"
