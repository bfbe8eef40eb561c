#!/bin/sh
# Socket activation: the daemon serves a listening fd passed with
# LISTEN_FDS and sends READY=1 to the NOTIFY_SOCKET the test listens on;
# WATCHDOG=1 follows at half WATCHDOG_USEC.
. "$top_srcdir/tests/lib.sh"

command -v systemd-socket-activate >/dev/null || fail "systemd-socket-activate is missing (install systemd)"

# The notify socket: a datagram socket read by socat into a file.
"$SOCAT" -u "UNIX-RECV:$T/notify" "OPEN:$T/notify.txt,creat,append" &
_pids="$_pids $!"
n=0
while [ ! -S "$T/notify" ] && [ "$n" -lt 100 ]; do sleep 0.05; n=$((n + 1)); done

: > "$T/act.log"
NOTIFY_SOCKET="$T/notify" WATCHDOG_USEC=400000 systemd-socket-activate \
    -l "$T/act.sock" -E NOTIFY_SOCKET -E WATCHDOG_USEC \
    "$INSTANTD" --foreground --data-dir "$T/act.data" --config /dev/null \
    2>>"$T/act.log" &
act=$!
_pids="$_pids $act"
wait_for_line "$T/act.log" "Listening on" 10

# The first connection starts the daemon (socket activation).
out=$(send "$T/act.sock" '{"op":"status","id":"a1"}' | tail -n 1)
assert_eq "$(echo "$out" | jq -r .ok)" true "served on the activated socket"
wait_for_line "$T/act.log" "instantd: listening on \\(socket activation\\)" 5
wait_for_line "$T/notify.txt" "READY=1" 5
wait_for_line "$T/notify.txt" "WATCHDOG=1" 5
pass "activated socket served; READY=1 and WATCHDOG=1 sent"

# The daemon does not remove a socket it did not create.
kill -TERM "$act"
wait "$act" 2>/dev/null || true
pass "shutdown under activation"
