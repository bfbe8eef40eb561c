#!/bin/sh
# The auth ops against instant-devserver: guest and magic-code sign-in,
# sign-in with a refresh token, sign-out, a token the server forgot, what
# a user change does to cached results and pending transactions, and the
# refresh token never leaving the daemon (not in replies, events, status
# or the debug log; only in the store, which is private).
. "$top_srcdir/tests/lib.sh"

command -v sqlite3 > /dev/null || fail "the sqlite3 command is needed"

APP=$(cat /proc/sys/kernel/random/uuid)
uuid() { cat /proc/sys/kernel/random/uuid; }

start_devserver dev --log-level debug
API="http://127.0.0.1:$DEV_PORT"
start_daemon d --app "$APP" --api-uri "$API" --log-level debug
DB="$T/d.data/apps/$APP.db"

# req LINE: one request on its own connection; prints its reply (every
# line any client got is kept in $T/seen.txt for the final check).
req() {
	send "$SOCK" "$1" | tee -a "$T/seen.txt" | grep '"id":1,' || true
}

# dev_post PATH JSON: POST to the devserver's HTTP API; prints the body.
dev_post() {
	_len=$(printf '%s' "$2" | wc -c)
	printf 'POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
	    "$1" "$_len" "$2" | "$SOCAT" -t 5 - "TCP:127.0.0.1:$DEV_PORT" |
	    sed -n '/^\r*$/,$p' | tail -n +2
}

# stored_token: the refresh token in the store (empty when signed out).
stored_token() {
	sqlite3 "$DB" "SELECT v FROM kv WHERE k = 'auth.user'" |
	    jq -r '.refresh_token // empty'
}

# no_token_fields JSON WHAT: no key anywhere in JSON mentions a token.
no_token_fields() {
	_n=$(jqr "$1" '[.. | objects | keys[] | select(test("token"))] | length')
	assert_eq "$_n" 0 "token-like fields in $2"
}

# last_titles CLIENT: the titles in CLIENT's last result event, sorted.
last_titles() {
	grep '"event":"result"' "$T/$1.out" | tail -n 1 |
	    jq -c '[.data.todos[].title] | sort'
}

# wait_authenticated: a new upstream session is authenticated.
wait_authenticated() {
	_n=0
	while [ "$(req '{"op":"status","id":1}' | jq -r .connection.state)" != authenticated ]; do
		_n=$((_n + 1))
		[ $_n -lt 200 ] || fail "the upstream session never authenticated"
		sleep 0.05
	done
}

client W '{"op":"hello","id":0,"name":"watcher"}'
wait_for_line "$T/W.out" '"state":"authenticated"' 20

# Signed out at first.
assert_eq "$(req '{"op":"whoami","id":1}' | jq -c .user)" null "whoami at start"
assert_eq "$(req '{"op":"status","id":1}' | jq -c .user)" null "status.user at start"
pass "signed out at first"

# Field validation names the field.
for line in '{"op":"send-magic-code","id":1}|email' \
    '{"op":"send-magic-code","id":1,"email":42}|email' \
    '{"op":"verify-magic-code","id":1,"email":"a@example.com"}|code' \
    '{"op":"sign-in-token","id":1,"refresh_token":""}|refresh_token'; do
	r=$(req "${line%|*}")
	assert_eq "$(jqr "$r" .error.code)" bad-request "${line%|*}"
	jqr "$r" .error.message | grep -q "^${line#*|} " ||
	    fail "the error does not name ${line#*|}: $r"
done
pass "bad requests name the field"

# sign-in-guest: a user without its token, everywhere.
r=$(req '{"op":"sign-in-guest","id":1}')
assert_eq "$(jqr "$r" '.ok,.user.type' | tr '\n' ' ')" "true guest " "sign-in-guest"
G1=$(jqr "$r" .user.id)
no_token_fields "$r" "the sign-in reply"
w=$(req '{"op":"whoami","id":1}')
s=$(req '{"op":"status","id":1}')
assert_eq "$(jqr "$w" .user.id)" "$G1" "whoami after sign-in"
assert_eq "$(jqr "$s" .user.id)" "$G1" "status.user after sign-in"
no_token_fields "$w" whoami
no_token_fields "$s" status
TOK_G1=$(stored_token)
[ -n "$TOK_G1" ] || fail "no refresh token in the store"
assert_eq "$(stat -c %a "$DB")" 600 "store file mode"
for f in "$DB-wal" "$DB-shm"; do
	[ ! -e "$f" ] || assert_eq "$(stat -c %a "$f")" 600 "$f mode"
done
pass "sign-in-guest: user $G1, token only in the store (mode 600)"

# The user change started a new upstream session, whose init carried the
# token: the server accepted it (an unknown one is refused, see below).
wait_for_line "$T/W.out" '"reason":"the user changed"'
wait_authenticated
v=$(dev_post /runtime/auth/verify_refresh_token \
    "{\"app-id\":\"$APP\",\"refresh-token\":\"$TOK_G1\"}")
assert_eq "$(jqr "$v" .user.id)" "$G1" "the server knows the stored token"
pass "a new upstream session under the new user"

# A user change keeps pending transactions (sent under the new user) and
# drops the server results cached for the previous user.
t1=$(uuid) t2=$(uuid)
r=$(req "{\"op\":\"transact\",\"id\":1,\"wait\":\"synced\",\"steps\":[[\"update\",\"todos\",\"$t1\",{\"title\":\"before\"}]]}")
assert_eq "$(jqr "$r" .status)" synced "a synced write"
q=$(req '{"op":"query","id":1,"q":{"todos":{}},"timeout_ms":5000}')
assert_eq "$(jqr "$q" '.from_cache,(.data.todos|length)' | tr '\n' ' ')" "false 1 " "server result"
client P '{"op":"hello","id":0,"name":"P"}' '{"op":"disconnect","id":1}' \
    '{"op":"subscribe","id":3,"q":{"todos":{}}}' \
    "{\"op\":\"transact\",\"id\":2,\"steps\":[[\"update\",\"todos\",\"$t2\",{\"title\":\"pending\"}]]}"
wait_for_line "$T/P.out" '"id":2,"ok":true'
n=0
until [ "$(last_titles P)" = '["before","pending"]' ]; do
	n=$((n + 1))
	[ $n -lt 100 ] || fail "the subscriber shows $(last_titles P)"
	sleep 0.05
done
r=$(req '{"op":"sign-in-guest","id":1}')
G2=$(jqr "$r" .user.id)
[ "$G2" != "$G1" ] || fail "a second guest should be a new user"
TOK_G2=$(stored_token)
q=$(req '{"op":"query","id":1,"q":{"todos":{}}}')
assert_eq "$(jqr "$q" '.from_cache,([.data.todos[].title]|@json)' | tr '\n' ' ')" 'true ["pending"] ' "after the user change, offline"
n=0
until [ "$(last_titles P)" = '["pending"]' ]; do
	n=$((n + 1))
	[ $n -lt 100 ] || fail "the subscriber still shows $(last_titles P)"
	sleep 0.05
done
assert_eq "$(req '{"op":"status","id":1}' | jq -r .pending)" 1 "the transaction is still pending"
req '{"op":"connect","id":1}' > /dev/null
wait_for_line "$T/P.out" '"event":"tx".*"status":"synced"' 20
q=$(req '{"op":"query","id":1,"q":{"todos":{}},"timeout_ms":5000}')
assert_eq "$(jqr "$q" '.from_cache,(.data.todos|length)' | tr '\n' ' ')" "false 2 " "after reconnecting"
stop_client P
pass "user change: cached results dropped, the pending write synced under the new user"

# Magic codes: a wrong code is the server's error, the right one signs in.
r=$(req '{"op":"send-magic-code","id":1,"email":"alice@example.com"}')
assert_eq "$(jqr "$r" '.ok,.sent' | tr '\n' ' ')" "true true " "send-magic-code"
wait_for_line "$T/dev.log" "magic code for alice@example.com in app $APP: "
code=$(sed -n "s/.*magic code for alice@example.com in app $APP: \([0-9]*\).*/\1/p" "$T/dev.log" | tail -n 1)
bad=000000
[ "$code" != "$bad" ] || bad=111111
r=$(req "{\"op\":\"verify-magic-code\",\"id\":1,\"email\":\"alice@example.com\",\"code\":\"$bad\"}")
assert_eq "$(jqr "$r" '.error.code,.error.hint.status,.error.hint.type' | tr '\n' ' ')" \
    "upstream 400 record-not-found " "a wrong code"
assert_eq "$(req '{"op":"whoami","id":1}' | jq -r .user.id)" "$G2" "a wrong code changes nothing"
r=$(req "{\"op\":\"verify-magic-code\",\"id\":1,\"email\":\"alice@example.com\",\"code\":\"$code\"}")
assert_eq "$(jqr "$r" '.ok,.user.email,.user.type' | tr '\n' ' ')" "true alice@example.com user " "verify-magic-code"
no_token_fields "$r" "the verify reply"
ALICE=$(jqr "$r" .user.id)
TOK_A=$(stored_token)
pass "magic code sign-in as alice ($ALICE)"

# sign-in-token: a bogus token is refused, alice's token signs her in.
req '{"op":"sign-in-guest","id":1}' > /dev/null
G3=$(req '{"op":"whoami","id":1}' | jq -r .user.id)
TOK_G3=$(stored_token)
r=$(req '{"op":"sign-in-token","id":1,"refresh_token":"not-a-token"}')
assert_eq "$(jqr "$r" '.error.code,.error.hint.type' | tr '\n' ' ')" "upstream record-not-found " "a bogus token"
assert_eq "$(req '{"op":"whoami","id":1}' | jq -r .user.id)" "$G3" "a bogus token changes nothing"
r=$(req "{\"op\":\"sign-in-token\",\"id\":1,\"refresh_token\":\"$TOK_A\"}")
echo "$r" >> "$T/seen.txt"
assert_eq "$(jqr "$r" '.ok,.user.id' | tr '\n' ' ')" "true $ALICE " "sign-in-token"
no_token_fields "$r" "the sign-in-token reply"
wait_authenticated
pass "sign-in-token"

# sign-out: forgotten here at once, and by the server soon after.
r=$(req '{"op":"sign-out","id":1}')
assert_eq "$(jqr "$r" .ok)" true "sign-out"
assert_eq "$(req '{"op":"whoami","id":1}' | jq -c .user)" null "whoami after sign-out"
assert_eq "$(req '{"op":"status","id":1}' | jq -c .user)" null "status.user after sign-out"
assert_eq "$(sqlite3 "$DB" "SELECT count(*) FROM kv WHERE k = 'auth.user'")" 0 "stored user after sign-out"
n=0
until dev_post /runtime/auth/verify_refresh_token \
    "{\"app-id\":\"$APP\",\"refresh-token\":\"$TOK_A\"}" | grep -q record-not-found; do
	n=$((n + 1))
	[ $n -lt 100 ] || fail "the server still knows the signed-out token"
	sleep 0.05
done
assert_eq "$(req '{"op":"sign-out","id":1}' | jq -r .ok)" true "a second sign-out"
wait_authenticated
pass "sign-out, and the server forgot the token"

# A token the server no longer knows: the daemon signs out by itself.
req '{"op":"sign-in-guest","id":1}' > /dev/null
TOK_G4=$(stored_token)
[ -n "$TOK_G4" ] || fail "no token for the last guest"
stop_client W
stop_daemon "$DAEMON_PID"
dev_post /runtime/signout "{\"app_id\":\"$APP\",\"refresh_token\":\"$TOK_G4\"}" > /dev/null
mv "$T/d.log" "$T/d1.log"
start_daemon d --app "$APP" --api-uri "$API" --log-level debug
req '{"op":"hello","id":1}' > /dev/null
wait_for_line "$T/d.log" "does not know our refresh token"
wait_authenticated
assert_eq "$(req '{"op":"whoami","id":1}' | jq -c .user)" null "whoami after the server forgot us"
assert_eq "$(sqlite3 "$DB" "SELECT count(*) FROM kv WHERE k = 'auth.user'")" 0 "stored user after the server forgot us"
pass "an unknown token signs the daemon out"

# No server: unavailable.
stop_daemon "$DEV_PID"
r=$(req '{"op":"sign-in-guest","id":1}')
assert_eq "$(jqr "$r" .error.code)" unavailable "sign-in without a server"
pass "no server: unavailable"

# The tokens never left the daemon.
cat "$T"/*.out >> "$T/seen.txt"
for tok in "$TOK_G1" "$TOK_G2" "$TOK_A" "$TOK_G3" "$TOK_G4"; do
	[ -n "$tok" ] || fail "a token was not captured"
	! grep -qF "$tok" "$T/d1.log" "$T/d.log" || fail "a refresh token is in the daemon's log"
	! grep -qF "$tok" "$T/seen.txt" || fail "a refresh token reached a client"
done
grep -q "instantd debug: http_request: POST .*verify_refresh_token" "$T/d1.log" || fail "the daemon did not log at debug"
pass "no refresh token in the debug log nor in any client output"
