# instantctl_raw.sh: instantctl raw sends each stdin line as it is, prints
# every reply and event line, and exits once stdin ended and every reply
# arrived: 0 if all were ok, 1 if any was an error.
. "$top_srcdir/tests/lib.sh"

start_daemon raw

# replies FILE: the reply lines of FILE (events dropped), compact.
replies() {
	jq -c 'select(has("event") | not)' "$1"
}

printf '%s\n' '{"op":"uuid","id":"a"}' '' '{"op":"uuid","id":7,"count":2}' \
    '{"op":"status","id":"s"}' | "$INSTANTCTL" --socket "$SOCK" raw \
    >"$T/ok.out" || fail "raw exited $?"
assert_eq "$(replies "$T/ok.out" | jq -r .id | tr '\n' ' ')" "a 7 s " \
    "reply ids in order"
assert_eq "$(replies "$T/ok.out" | jq -r .ok | sort -u)" true "all ok"
assert_eq "$(replies "$T/ok.out" | sed -n 2p | jq '.uuids | length')" 2 \
    "count"
# The daemon tells a newly bound connection its upstream state.
[ "$(jq -s 'map(select(.event == "connection")) | length' "$T/ok.out")" \
    -ge 1 ] || fail "no connection event printed"
pass "raw: replies in order, events printed"

rc=0
printf '%s\n' '{"op":"uuid","id":1}' 'not json' '{"op":"nope","id":3}' \
    '{"op":"uuid","id":4}' | "$INSTANTCTL" --socket "$SOCK" raw \
    >"$T/err.out" 2>"$T/err.err" || rc=$?
assert_eq "$rc" 1 "raw exit with error replies"
assert_eq "$(replies "$T/err.out" | jq -r '.error.code // "ok"' |
    tr '\n' ' ')" "ok bad-json unknown-op ok " "error replies"
grep -q "unknown-op" "$T/err.err" || fail "error reply not on stderr"
pass "raw: error replies exit 1, the connection stays usable"

printf '{"op":"uuid","id":"last"}' | "$INSTANTCTL" --socket "$SOCK" raw \
    >"$T/last.out" || fail "raw (unterminated line) exited $?"
assert_eq "$(replies "$T/last.out" | jq -r .id)" last "unterminated line"
: | "$INSTANTCTL" --socket "$SOCK" raw >"$T/empty.out" ||
    fail "raw (empty stdin) exited $?"
assert_eq "$(replies "$T/empty.out" | wc -l | tr -d ' ')" 0 "empty stdin"
pass "raw: a last line without newline, and empty stdin"

rc=0
echo '{"op":"uuid"}' | "$INSTANTCTL" --socket "$T/none.sock" raw \
    >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 69 "raw without a daemon"
pass "raw: no daemon exits 69"
