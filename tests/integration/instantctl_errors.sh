# instantctl_errors.sh: instantctl's exit codes: 2 for usage errors (before
# connecting), 1 for an error reply (described on stderr), 69 when no
# daemon listens or it went away.
. "$top_srcdir/tests/lib.sh"

# expect_exit CODE ARGS...: run instantctl, check its exit code; output in
# $T/out and $T/err.
expect_exit() {
	_want=$1
	shift
	_rc=0
	"$INSTANTCTL" "$@" >"$T/out" 2>"$T/err" || _rc=$?
	[ "$_rc" -eq "$_want" ] ||
	    fail "instantctl $*: exit $_rc, expected $_want: $(cat "$T/err")"
}

none="$T/none.sock"
expect_exit 2 --socket "$none"
expect_exit 2 --socket "$none" frobnicate
expect_exit 2 --socket "$none" status extra
expect_exit 2 --socket "$none" query '{"todos":'
expect_exit 2 --socket "$none" query '[1]'
expect_exit 2 --socket "$none" transact '{}'
expect_exit 2 --socket "$none" uuid 0
expect_exit 2 --socket "$none" --timeout soon status
expect_exit 2 --socket "$none" --wait later transact '[]'
expect_exit 2 --socket "$none" --wait synced status
expect_exit 2 --socket "$none" --no-such-option status
grep -q "instantctl --help" "$T/err" || fail "usage error without a hint"
pass "usage errors exit 2 without connecting"

expect_exit 0 --help
grep -q "^usage: instantctl" "$T/out" || fail "--help output"
expect_exit 0 --version
grep -q "^instantctl (instantd) " "$T/out" || fail "--version output"
pass "--help and --version"

expect_exit 69 --socket "$none" status
grep -q "$none" "$T/err" || fail "no daemon: stderr does not name the path"
[ ! -s "$T/out" ] || fail "no daemon: output on stdout"
pass "no daemon exits 69"

# A peer that reads requests and never answers: --timeout gives up (1).
"$SOCAT" -u "UNIX-LISTEN:$T/mute.sock" OPEN:/dev/null &
mute=$!
n=200
while [ ! -S "$T/mute.sock" ] && [ "$n" -gt 0 ]; do
	sleep 0.05
	n=$((n - 1))
done
expect_exit 1 --socket "$T/mute.sock" --timeout 200 status
grep -q "in time" "$T/err" || fail "timeout: $(cat "$T/err")"
wait "$mute" || true
pass "--timeout exits 1 when no reply comes"

start_daemon errs
expect_exit 1 --socket "$SOCK" --app not-an-app-id status
grep -q "bad-request" "$T/err" || fail "error reply not on stderr"
expect_exit 1 --socket "$SOCK" --app not-an-app-id hello
assert_eq "$(jq -r .ok "$T/out")" false "error reply printed"
assert_eq "$(jq -r .error.code "$T/out")" bad-request "error code"
pass "error reply exits 1"

stop_daemon "$DAEMON_PID"
expect_exit 69 --socket "$SOCK" status
pass "stopped daemon exits 69"
