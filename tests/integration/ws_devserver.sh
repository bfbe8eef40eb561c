#!/bin/sh
# ws_devserver.sh: daemon/ws.c and daemon/http.c against instant-devserver:
# the init/init-ok exchange by address and by name, pings answered (the
# server's idle timeout would otherwise close us), dead-socket detection
# when the server stops pinging, the message size limit, and JSON GET/POST
# with a 404.
. "$top_srcdir/tests/lib.sh"

DRIVER="$top_builddir/tests/integration/ws_driver"
[ -x "$DRIVER" ] || fail "$DRIVER not built"
[ -x "$DEVSERVER" ] || fail "$DEVSERVER not built"

# start_devserver NAME ARGS...: start a devserver; sets PORT.
start_devserver() {
	_ds=$1
	shift
	"$DEVSERVER" --listen 127.0.0.1:0 --data "$T/$_ds.data" "$@" \
	    >"$T/$_ds.out" 2>"$T/$_ds.log" &
	_pids="$_pids $!"
	wait_for_line "$T/$_ds.out" "^instant-devserver listening on 127.0.0.1:[0-9]+$"
	PORT=$(sed -n 's/^instant-devserver listening on 127.0.0.1://p' \
	    "$T/$_ds.out")
}

# expect_line FILE PATTERN WHAT: FILE has a line matching the regex.
expect_line() {
	grep -Eq "$2" "$1" || { cat "$1" >&2; fail "$3: no /$2/"; }
}

APP=$(cat /proc/sys/kernel/random/uuid)
EV=$(cat /proc/sys/kernel/random/uuid)
INIT="{\"op\":\"init\",\"app-id\":\"$APP\",\"client-event-id\":\"$EV\",\"versions\":{\"@instantdb/core\":\"v1.0.67\"}}"

# Pings every 200 ms; a client silent for 1 s is dropped by the server.
start_devserver main --ping-interval 200 --idle-timeout 1000
URI="ws://127.0.0.1:$PORT/runtime/session?app_id=$APP"

"$DRIVER" ws "$URI" --send "$INIT" --until init-ok >"$T/init.txt"
expect_line "$T/init.txt" '^open$' "init"
expect_line "$T/init.txt" "^message: \{\"op\":\"init-ok\".*\"client-event-id\":\"$EV\"" "init"
expect_line "$T/init.txt" '^closed: done$' "init"
pass "init over ws://127.0.0.1"

"$DRIVER" ws "ws://localhost:$PORT/runtime/session?app_id=$APP" \
    --send "$INIT" --until init-ok >"$T/name.txt"
expect_line "$T/name.txt" '^message: \{"op":"init-ok"' "by name"
expect_line "$T/name.txt" '^closed: done$' "by name"
pass "init over ws://localhost"

# Stay 3 s with a 1 s dead timeout: the server's pings keep us alive, and
# our pongs keep the server from dropping us after its 1 s idle timeout.
rc=0
"$DRIVER" ws "$URI" --send "$INIT" --until never-sent --dead 1 \
    --timeout 3 >"$T/alive.txt" || rc=$?
assert_eq "$rc" 2 "driver exit status when still connected"
expect_line "$T/alive.txt" '^timeout$' "alive"
if grep -q '^closed' "$T/alive.txt"; then
	cat "$T/alive.txt" >&2
	fail "the connection closed although pings and pongs flowed"
fi
pass "pings answered, connection kept"

"$DRIVER" ws "$URI" --send "$INIT" --max-msg 100 >"$T/big.txt"
expect_line "$T/big.txt" '^closed: message from the server larger than 100 bytes$' "size limit"
if grep -q '^message' "$T/big.txt"; then
	fail "an oversized message was delivered"
fi
pass "oversized message closes"

"$DRIVER" http GET "http://127.0.0.1:$PORT/health/system" >"$T/health.txt"
expect_line "$T/health.txt" '^status: 200$' "health"
expect_line "$T/health.txt" '^body: \{"wal":"ok"\}$' "health"
if grep -q '^error' "$T/health.txt"; then
	fail "health: unexpected error"
fi
"$DRIVER" http GET "http://127.0.0.1:$PORT/no/such/path" >"$T/404.txt"
expect_line "$T/404.txt" '^status: 404$' "404"
"$DRIVER" http POST "http://127.0.0.1:$PORT/runtime/auth/sign_in_guest" \
    --body "{\"app-id\":\"$APP\"}" >"$T/guest.txt"
expect_line "$T/guest.txt" '^status: 200$' "guest sign-in"
expect_line "$T/guest.txt" '"refresh_token":"[^"]+"' "guest sign-in"
pass "http GET, 404 and POST"

# A server that stops pinging looks dead after 1 s.
start_devserver silent --fault no-ping
"$DRIVER" ws "ws://127.0.0.1:$PORT/runtime/session?app_id=$APP" \
    --send "$INIT" --dead 1 >"$T/dead.txt"
expect_line "$T/dead.txt" '^message: \{"op":"init-ok"' "dead socket"
expect_line "$T/dead.txt" '^closed: nothing received from the server for 1 s$' "dead socket"
pass "dead socket detected"
