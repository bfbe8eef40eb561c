#!/bin/sh
# instantctl's auth commands against instantd and instant-devserver:
# whoami, sign-in-guest, send-magic-code, verify-magic-code, sign-in-token
# (the token read from standard input, never an argument) and sign-out;
# usage errors exit 2 before connecting, the server's refusals exit 1.
. "$top_srcdir/tests/lib.sh"

command -v sqlite3 > /dev/null || fail "the sqlite3 command is needed"

APP=$(cat /proc/sys/kernel/random/uuid)

start_devserver dev --log-level debug
start_daemon d --app "$APP" --api-uri "http://127.0.0.1:$DEV_PORT"
DB="$T/d.data/apps/$APP.db"

# ctl ARGS...: run instantctl on the daemon; output in $T/out and $T/err,
# exit status in $rc.
ctl() {
	rc=0
	"$INSTANTCTL" --socket "$SOCK" "$@" >"$T/out" 2>"$T/err" || rc=$?
}

# expect RC WHAT: the last ctl exited RC.
expect() {
	[ "$rc" -eq "$1" ] ||
	    fail "$2: exit $rc, expected $1: $(cat "$T/err") $(cat "$T/out")"
}

# stored_token: the refresh token in the store (empty when signed out).
stored_token() {
	sqlite3 "$DB" "SELECT v FROM kv WHERE k = 'auth.user'" |
	    jq -r '.refresh_token // empty'
}

# Usage errors, before any connection.
ctl send-magic-code
expect 2 "send-magic-code without an email"
ctl verify-magic-code a@example.com
expect 2 "verify-magic-code without a code"
grep -q "takes two arguments" "$T/err" || fail "verify-magic-code: $(cat "$T/err")"
ctl sign-in-token some-token
expect 2 "sign-in-token with an argument"
ctl sign-in-token < /dev/null
expect 2 "sign-in-token with nothing on stdin"
grep -q "reads the refresh token from standard input" "$T/err" ||
    fail "sign-in-token, empty stdin: $(cat "$T/err")"
printf '\n' > "$T/empty-line"
ctl sign-in-token < "$T/empty-line"
expect 2 "sign-in-token with an empty line"
head -c 5000 /dev/zero | tr '\0' a > "$T/long"
ctl sign-in-token < "$T/long"
expect 2 "sign-in-token with a 5000-byte token"
pass "usage errors exit 2"

ctl whoami
expect 0 whoami
assert_eq "$(jq -c .user "$T/out")" null "whoami when signed out"

ctl sign-in-guest
expect 0 sign-in-guest
assert_eq "$(jq -r .user.type "$T/out")" guest "sign-in-guest user type"
GUEST=$(jq -r .user.id "$T/out")
grep -q token "$T/out" && fail "the sign-in reply mentions a token: $(cat "$T/out")"
ctl whoami
assert_eq "$(jq -r .user.id "$T/out")" "$GUEST" "whoami after sign-in-guest"
pass "whoami and sign-in-guest"

ctl send-magic-code alice@example.com
expect 0 send-magic-code
assert_eq "$(jq -r .sent "$T/out")" true "send-magic-code sent"
wait_for_line "$T/dev.log" "magic code for alice@example.com in app $APP: "
code=$(sed -n "s/.*magic code for alice@example.com in app $APP: \([0-9]*\).*/\1/p" \
    "$T/dev.log" | tail -n 1)
bad=000000
[ "$code" != "$bad" ] || bad=111111
ctl verify-magic-code alice@example.com "$bad"
expect 1 "verify-magic-code with a wrong code"
grep -q "^instantctl: upstream: " "$T/err" || fail "wrong code: $(cat "$T/err")"
ctl verify-magic-code alice@example.com "$code"
expect 0 "verify-magic-code"
assert_eq "$(jq -r .user.email "$T/out")" alice@example.com "verify-magic-code user"
ALICE=$(jq -r .user.id "$T/out")
TOKEN=$(stored_token)
[ -n "$TOKEN" ] || fail "no refresh token stored for alice"
pass "send-magic-code and verify-magic-code"

ctl sign-in-guest
expect 0 "sign-in-guest again"
printf 'not-a-token\n' > "$T/bogus"
ctl sign-in-token < "$T/bogus"
expect 1 "sign-in-token with a bogus token"
# The token on stdin, with or without its newline (as $(...) leaves it).
printf '%s\n' "$TOKEN" > "$T/token"
ctl sign-in-token < "$T/token"
expect 0 "sign-in-token"
assert_eq "$(jq -r .user.id "$T/out")" "$ALICE" "sign-in-token user"
grep -q "$TOKEN" "$T/out" "$T/err" && fail "the token was printed"
ctl sign-in-guest
printf '%s' "$TOKEN" > "$T/token-bare"
ctl sign-in-token < "$T/token-bare"
expect 0 "sign-in-token without a newline"
assert_eq "$(jq -r .user.id "$T/out")" "$ALICE" "sign-in-token user (no newline)"
pass "sign-in-token reads the token from standard input"

# From a terminal (a pseudoterminal made by script(1), which echoes what
# it is given unless the program turns echo off): a prompt, no echo.
ctl sign-in-guest
mkfifo "$T/tty-in"
script -qec "$INSTANTCTL --socket $SOCK sign-in-token" /dev/null \
    < "$T/tty-in" > "$T/tty-out" 2>&1 &
spid=$!
exec 3> "$T/tty-in"
wait_for_line "$T/tty-out" "refresh token: "
printf '%s\n' "$TOKEN" >&3
src=0
wait "$spid" || src=$?
exec 3>&-
[ "$src" -eq 0 ] || fail "sign-in-token on a terminal: exit $src: $(cat "$T/tty-out")"
grep -q "$TOKEN" "$T/tty-out" && fail "the token was echoed: $(cat "$T/tty-out")"
grep -q "\"id\":\"$ALICE\"" "$T/tty-out" ||
    fail "sign-in-token on a terminal: $(cat "$T/tty-out")"
pass "from a terminal, sign-in-token prompts and does not echo"

# Killed at the prompt: the terminal gets its echo back.  (SIGTERM: a
# job started with & from a script ignores SIGINT, and so would its
# children without instantctl's handler.)
rm -f "$T/tty-in"
mkfifo "$T/tty-in"
# (dash goes on to run stty after a child dies of a signal; bash may not.)
SHELL=/bin/sh script -qc "$INSTANTCTL --socket $SOCK sign-in-token; stty -a" /dev/null \
    < "$T/tty-in" > "$T/tty-out" 2>&1 &
spid=$!
exec 3> "$T/tty-in"
wait_for_line "$T/tty-out" "refresh token: "
# (Only instantctl itself: script and the shell name it too.)
pkill -TERM -f "^[^ ]*instantctl --socket $SOCK sign-in-token" ||
    fail "no sign-in-token process to kill"
wait_for_line "$T/tty-out" "speed "
exec 3>&-
wait "$spid" || true
grep -Eq "(^| )-echo( |$)" "$T/tty-out" &&
    fail "echo stays off after SIGTERM: $(cat "$T/tty-out")"
grep -Eq "(^| )echo( |$)" "$T/tty-out" || fail "no stty output: $(cat "$T/tty-out")"
pass "killed at the prompt, the terminal echoes again"

ctl sign-out
expect 0 sign-out
ctl whoami
assert_eq "$(jq -c .user "$T/out")" null "whoami after sign-out"
pass "sign-out"
