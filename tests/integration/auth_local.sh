#!/bin/sh
# A local-only app has no server to sign in to: the server's auth ops are
# unavailable, whoami and sign-out still answer.
. "$top_srcdir/tests/lib.sh"

APP=$(cat /proc/sys/kernel/random/uuid)
start_daemon d --app "$APP"

for op in sign-in-guest '{"op":"send-magic-code","id":1,"email":"a@example.com"}' \
    '{"op":"verify-magic-code","id":1,"email":"a@example.com","code":"123456"}' \
    '{"op":"sign-in-token","id":1,"refresh_token":"t"}'; do
	case $op in
	'{'*) line=$op ;;
	*) line="{\"op\":\"$op\",\"id\":1}" ;;
	esac
	r=$(send "$SOCK" "$line" | grep '"id":1,')
	assert_eq "$(jqr "$r" '.ok,.error.code' | tr '\n' ' ')" "false unavailable " "$line"
	jqr "$r" .error.message | grep -q local-only || fail "the reason is not given: $r"
done
pass "the server's auth ops are unavailable"

out=$(send "$SOCK" '{"op":"whoami","id":1}' '{"op":"sign-out","id":2}' \
    '{"op":"status","id":3}')
assert_eq "$(echo "$out" | grep '"id":1,' | jq -c '[.ok,.user]')" '[true,null]' "whoami"
assert_eq "$(echo "$out" | grep '"id":2,' | jq -c .ok)" true "sign-out"
assert_eq "$(echo "$out" | grep '"id":3,' | jq -c .user)" null "status.user"
pass "whoami and sign-out answer"
