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

# make check-valgrind sets INSTANTD_VALGRIND=1: every instantd of the
# test runs under memcheck, and any error or leak it reports fails the test.
SEND_WAIT=5
if [ -n "${INSTANTD_VALGRIND:-}" ]; then
	SEND_WAIT=30 # replies take longer under memcheck
	INSTANTD_WRAPPER="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --log-file=$T/valgrind.%p"
fi

# Kill what we started and remove the temporary directory.
_cleanup() {
	rc=$?
	: > "$T/.done" 2>/dev/null # ends the loops of client()
	for p in $_pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $_pids; do
		wait "$p" 2>/dev/null || true
	done
	for _v in "$T"/valgrind.*; do
		[ -s "$_v" ] || continue
		echo "FAIL: valgrind reported:" >&2
		cat "$_v" >&2
		rc=1
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

# wait_until SECONDS WHAT COMMAND [ARGS...]: run COMMAND every 50 ms until
# it succeeds; after SECONDS, fail with "timed out: WHAT".
wait_until() {
	_wu_n=$(($1 * 20)) _wu_what=$2
	shift 2
	until "$@"; do
		_wu_n=$((_wu_n - 1))
		[ "$_wu_n" -gt 0 ] || fail "timed out: $_wu_what"
		sleep 0.05
	done
}

# state_is SOCK STATE: the default app's upstream connection is in STATE.
state_is() {
	send "$1" '{"op":"status","id":1}' | grep -q "\"state\":\"$2\""
}

# start_daemon NAME [ARGS...]: start instantd in the foreground on
# $T/NAME.sock with data in $T/NAME.data (config: $DAEMON_CONFIG, else
# none); sets DAEMON_PID and SOCK.
start_daemon() {
	_name=$1
	shift
	SOCK="$T/$_name.sock"
	: > "$T/$_name.log"
	${INSTANTD_WRAPPER:-} "$INSTANTD" --foreground --socket "$SOCK" \
	    --data-dir "$T/$_name.data" --config "${DAEMON_CONFIG:-/dev/null}" \
	    "$@" \
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
	printf '%s\n' "$@" | "$SOCAT" -t "$SEND_WAIT" - "UNIX-CONNECT:$_s"
}

# jqr JSON FILTER: run a jq filter on JSON text, raw output.
jqr() {
	printf '%s\n' "$1" | jq -r "$2"
}

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

# start_devserver NAME [ARGS...]: start instant-devserver with data in
# $T/NAME.data on $DEV_PORT (a free port when unset); sets DEV_PID,
# DEV_PORT and DEV_CTL (the control port).
start_devserver() {
	_name=$1
	shift
	: > "$T/$_name.out"
	${DEVSERVER_WRAPPER:-} "$DEVSERVER" --listen "127.0.0.1:${DEV_PORT:-0}" \
	    --control 127.0.0.1:0 --data "$T/$_name.data" "$@" \
	    > "$T/$_name.out" 2>>"$T/$_name.log" &
	DEV_PID=$!
	_pids="$_pids $DEV_PID"
	wait_for_line "$T/$_name.out" "control on" 20
	DEV_PORT=$(sed -n 's/^instant-devserver listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/$_name.out")
	DEV_CTL=$(sed -n 's/^instant-devserver control on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/$_name.out")
}

# set_faults JSON: change the running devserver's faults.
set_faults() {
	_len=$(printf '%s' "$1" | wc -c)
	printf 'POST /faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
	    "$_len" "$1" | "$SOCAT" -t 5 - "TCP:127.0.0.1:$DEV_CTL" > "$T/faults.out"
	grep -q '^HTTP/1.1 200' "$T/faults.out" || fail "set_faults $1: $(head -n 1 "$T/faults.out")"
}

# client NAME LINES...: a connection that sends LINES, then stays open
# until $T/NAME.stop exists, then sends the lines in $T/NAME.more (if any);
# its output goes to $T/NAME.out.
client() {
	_c=$1
	shift
	: > "$T/$_c.out"
	(
		printf '%s\n' "$@"
		while [ ! -e "$T/$_c.stop" ] && [ ! -e "$T/.done" ] &&
		    [ -d "$T" ]; do
			sleep 0.05
		done
		[ -f "$T/$_c.more" ] && cat "$T/$_c.more"
		true
	) | "$SOCAT" -t 10 - "UNIX-CONNECT:$SOCK" > "$T/$_c.out" &
	_pids="$_pids $!"
}

# stop_client NAME: let a client finish.
stop_client() {
	touch "$T/$1.stop"
}
