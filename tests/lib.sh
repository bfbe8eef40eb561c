# tests/lib.sh: helpers for shell tests; source it.
#
# Each test gets a private temporary directory ($T), removed on exit with
# every process the helpers started.  Nothing listens on a fixed port and
# nothing sleeps where a readiness line exists.

set -eu

: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"
: "${SOCAT:=socat}"
: "${NODE:=node}"

INSTANTD="$top_builddir/instantd"
INSTANTCTL="$top_builddir/instantctl"
DEVSERVER="$top_builddir/instant-devserver"

T=$(mktemp -d "${TMPDIR:-/tmp}/instantd-test.XXXXXX")
chmod 0700 "$T"
_pids=""

# Kill what we started and remove the temporary directory.
_cleanup() {
	rc=$?
	for p in $_pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $_pids; do
		wait "$p" 2>/dev/null || true
	done
	if [ "$rc" -ne 0 ] && [ -n "${KEEP_LOGS:-}" ]; then
		echo "logs kept in $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap _cleanup EXIT INT TERM

# fail MESSAGE: print and exit 1.
fail() {
	echo "FAIL: $*" >&2
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f" >&2
		tail -n 30 "$f" >&2
	done
	exit 1
}

# pass MESSAGE: print progress.
pass() {
	echo "ok: $*"
}

# wait_for_line FILE PATTERN [SECONDS]: wait until FILE has a line matching
# the extended regex PATTERN.
wait_for_line() {
	_f=$1 _pat=$2 _secs=${3:-10}
	_n=$((_secs * 20))
	while [ "$_n" -gt 0 ]; do
		if [ -f "$_f" ] && grep -Eq "$_pat" "$_f"; then
			return 0
		fi
		sleep 0.05
		_n=$((_n - 1))
	done
	fail "timed out waiting for /$_pat/ in $_f"
}

# start_daemon NAME [ARGS...]: start instantd in the foreground on
# $T/NAME.sock with data in $T/NAME.data; sets DAEMON_PID and SOCK.
start_daemon() {
	_name=$1
	shift
	SOCK="$T/$_name.sock"
	: > "$T/$_name.log"
	${INSTANTD_WRAPPER:-} "$INSTANTD" --foreground --socket "$SOCK" \
	    --data-dir "$T/$_name.data" --config /dev/null "$@" \
	    2>>"$T/$_name.log" &
	DAEMON_PID=$!
	_pids="$_pids $DAEMON_PID"
	wait_for_line "$T/$_name.log" "instantd: listening on" 20
}

# stop_daemon PID: SIGTERM and wait.
stop_daemon() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# send SOCK LINES...: send lines on one connection, print all output.
send() {
	_s=$1
	shift
	printf '%s\n' "$@" | "$SOCAT" -t 5 - "UNIX-CONNECT:$_s"
}

# jqr JSON FILTER: run a jq filter on JSON text, raw output.
jqr() {
	printf '%s\n' "$1" | jq -r "$2"
}

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}
