#!/bin/sh
# Socket and directory modes; a connection from another uid is refused.
# Needs root (CI runs as root) to act as a throwaway user.
. "$top_srcdir/tests/lib.sh"

[ "$(id -u)" -eq 0 ] || fail "this test must run as root to create a throwaway user"

# Default location rules: $XDG_RUNTIME_DIR/instantd is created 0700 and the
# socket is 0600.
export XDG_RUNTIME_DIR="$T/run"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
: > "$T/def.log"
"$INSTANTD" --foreground --data-dir "$T/def.data" --config /dev/null 2>>"$T/def.log" &
def=$!
_pids="$_pids $def"
wait_for_line "$T/def.log" "listening on $XDG_RUNTIME_DIR/instantd/socket"
assert_eq "$(stat -c %a "$XDG_RUNTIME_DIR/instantd")" 700 "directory mode"
assert_eq "$(stat -c %a "$XDG_RUNTIME_DIR/instantd/socket")" 600 "socket mode"
stop_daemon "$def"
pass "default directory 0700, socket 0600"

# A default directory open to others, or a symlink, is refused.
chmod 0755 "$XDG_RUNTIME_DIR/instantd"
set +e
"$INSTANTD" --foreground --data-dir "$T/def.data" --config /dev/null 2>"$T/open.err"; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "started with an open directory"
grep -q "is open to others" "$T/open.err" || fail "open directory message: $(cat "$T/open.err")"
rm -rf "$XDG_RUNTIME_DIR/instantd"
mkdir -m 0700 "$T/elsewhere"
ln -s "$T/elsewhere" "$XDG_RUNTIME_DIR/instantd"
set +e
"$INSTANTD" --foreground --data-dir "$T/def.data" --config /dev/null 2>"$T/link.err"; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "started with a symlinked directory"
grep -q "symbolic link" "$T/link.err" || fail "symlink message: $(cat "$T/link.err")"
pass "unsafe socket directories refused"
unset XDG_RUNTIME_DIR

# Another uid: with the socket made reachable by hand, SO_PEERCRED refuses.
user="instantd-t$$"
useradd --system --no-create-home --shell /usr/sbin/nologin "$user" 2>/dev/null ||
    fail "cannot create user $user"
# Keep the exit status for _cleanup: a failure must not pass.
trap '_rc=$?; set +e; userdel "$user" 2>/dev/null; (exit $_rc); _cleanup' EXIT INT TERM
start_daemon d
chmod 0755 "$T"
chmod 0777 "$SOCK"
# The client only reads: the daemon answers at once and closes, so a
# request written after that would fail with EPIPE before the reply is
# read.
out=$(setpriv --reuid="$user" --regid="$user" --clear-groups timeout 5 \
    "$SOCAT" -u "UNIX-CONNECT:$SOCK" - 2>&1 || true)
assert_eq "$(echo "$out" | jq -r .error.code)" forbidden "other uid refused"
assert_eq "$(echo "$out" | jq -r .id)" null "refusal id"
pass "another uid gets forbidden and is closed"
# The owner still gets served.
assert_eq "$(send "$SOCK" '{"op":"status","id":1}' | tail -n 1 | jq -r .ok)" true "owner served"
pass "the owner is still served"
