#!/bin/sh
# hello, status and uuid over socat; the connection event; ids echoed.
. "$top_srcdir/tests/lib.sh"

start_daemon d
out=$(send "$SOCK" \
    '{"op":"hello","id":1,"name":"basic-test","proto":1}' \
    '{"op":"status","id":"two"}' \
    '{"op":"uuid","id":3}' \
    '{"op":"uuid","id":4,"count":5}' \
    '{"op":"status"}')
echo "$out" > "$T/out.jsonl"

ev=$(sed -n 1p "$T/out.jsonl")
assert_eq "$(jqr "$ev" .event)" connection "first line is the connection event"
assert_eq "$(jqr "$ev" .state)" offline "local-only state"
pass "connection event"

hello=$(sed -n 2p "$T/out.jsonl")
assert_eq "$(jqr "$hello" '.id,.ok,.proto,.daemon.name' | tr '\n' ' ')" "1 true 1 instantd " "hello reply"
app=$(jqr "$hello" .app)
echo "$app" | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' ||
    fail "hello app is not a UUID v4: $app"
assert_eq "$(cat "$T/d.data/default-app")" "$app" "default app kept in the data dir"
assert_eq "$(jqr "$hello" .status.connection.state)" offline "hello status"
pass "hello"

st=$(sed -n 3p "$T/out.jsonl")
assert_eq "$(jqr "$st" '[.id,.ok,.app,.upstream,.pending,.clients,.subscriptions,.user]|@json')" \
    "[\"two\",true,\"$app\",null,0,1,0,null]" "status reply"
jqr "$st" .connection.since | grep -Eq '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T' || fail "since is not a timestamp"
pass "status"

u=$(sed -n 4p "$T/out.jsonl")
assert_eq "$(jqr "$u" '.id')" 3 "uuid id"
jqr "$u" .uuid | grep -Eq '^[0-9a-f-]{36}$' || fail "uuid: $u"
us=$(sed -n 5p "$T/out.jsonl")
assert_eq "$(jqr "$us" '.uuids|length')" 5 "uuid count"
assert_eq "$(jqr "$us" '.uuids|unique|length')" 5 "uuids distinct"
pass "uuid"

last=$(sed -n 6p "$T/out.jsonl")
assert_eq "$(jqr "$last" '.id')" null "omitted id comes back null"
assert_eq "$(wc -l < "$T/out.jsonl")" 6 "line count"

# The same app after a restart: the default app persists.
stop_daemon "$DAEMON_PID"
[ ! -e "$SOCK" ] || fail "socket not removed on SIGTERM"
start_daemon d
again=$(send "$SOCK" '{"op":"status","id":1}' | tail -n 1)
assert_eq "$(jqr "$again" .app)" "$app" "default app after restart"
pass "restart keeps the default app; socket removed on exit"

# hello binds a named app; a connection cannot switch apps.
other=2f0a8d3c-1111-4a4a-9b9b-000000000001
out=$(send "$SOCK" "{\"op\":\"hello\",\"id\":1,\"app\":\"$other\"}" \
    "{\"op\":\"hello\",\"id\":2,\"app\":\"$app\"}" '{"op":"status","id":3}')
assert_eq "$(echo "$out" | sed -n 2p | jq -r .app)" "$other" "hello app"
assert_eq "$(echo "$out" | sed -n 3p | jq -r .error.code)" bad-request "rebinding refused"
assert_eq "$(echo "$out" | sed -n 4p | jq -r .app)" "$other" "still bound"
pass "hello binds an app"

# --version and --help
"$INSTANTD" --version | grep -q '^instantd ' || fail "--version"
"$INSTANTD" --help | grep -q -- '--socket' || fail "--help"
set +e
"$INSTANTD" --bogus 2>/dev/null; rc=$?
set -e
assert_eq "$rc" 64 "usage error exit code"
printf 'bogus line\n' > "$T/bad.conf"
set +e
"$INSTANTD" --foreground --config "$T/bad.conf" --socket "$T/x.sock" 2>"$T/err.txt"; rc=$?
set -e
assert_eq "$rc" 78 "config error exit code"
grep -q "$T/bad.conf:1: expected key = value" "$T/err.txt" || fail "config error names file:line"
pass "flags and exit codes"
