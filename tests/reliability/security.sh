#!/bin/sh
# Security: file modes of the socket and the store (which holds the
# refresh token), another uid refused (by the modes and by SO_PEERCRED),
# a foreign-owned or symlinked socket directory refused, the refresh token
# in no log line at any level and in nothing sent to clients, and TLS
# verification of the auth API (a self-signed server refused without
# --ca-file, a certificate for another name refused with it).
#
# Also covered elsewhere, not repeated here: the default directory's 0700
# and the socket's 0600, a directory open to others and a symlinked
# default directory (tests/integration/daemon_peercred.sh); wss to a
# private CA refused by default and accepted with --ca-file
# (tests/integration/upstream_tls.sh); TLS in the WebSocket client
# (tests/integration/ws_tls.sh).  Needs root (CI runs as root) to act as
# a throwaway user.
. "$top_srcdir/tests/lib.sh"

[ "$(id -u)" -eq 0 ] || fail "this test must run as root to create a throwaway user"
command -v sqlite3 > /dev/null || fail "the sqlite3 command is needed"
command -v openssl > /dev/null || fail "the openssl command is needed"

user="instantd-s$$"
useradd --system --no-create-home --shell /usr/sbin/nologin "$user" 2>/dev/null ||
    fail "cannot create user $user"
# Keep the exit status for _cleanup: a failure must not pass.
trap '_rc=$?; set +e; userdel "$user" 2>/dev/null; (exit $_rc); _cleanup' EXIT INT TERM

uuid() { cat /proc/sys/kernel/random/uuid; }

# as_user CMD...: run CMD as the throwaway user.
as_user() {
	setpriv --reuid="$user" --regid="$user" --clear-groups "$@"
}

# --- modes and other uids ---------------------------------------------------
APP=$(uuid)
start_daemon m --app "$APP"
assert_eq "$(send "$SOCK" '{"op":"transact","id":1,"steps":[["update","t","6f0c2b1e-8a52-4d3f-9f0e-2a0f4c2b1a10",{"a":1}]]}' |
    jq -r 'select(.id == 1) | .ok')" true "a write"
assert_eq "$(stat -c %a "$SOCK")" 600 "socket mode with --socket"
assert_eq "$(stat -c %a "$T/m.data")" 700 "data directory mode"
assert_eq "$(stat -c %a "$T/m.data/apps")" 700 "apps directory mode"
assert_eq "$(stat -c %a "$T/m.data/apps/$APP.db")" 600 "store mode"
assert_eq "$(stat -c %a "$T/m.data/apps/$APP.db-view")" 600 "view mode"
pass "socket 0600, data and apps directories 0700, store and view 0600"

# With the modes as made, another user cannot even connect.
chmod 0755 "$T"
as_user timeout 5 "$SOCAT" -u "UNIX-CONNECT:$SOCK" - > "$T/other1.out" 2>&1 &&
    fail "another uid connected through a 0600 socket"
grep -q "Permission denied" "$T/other1.out" || fail "other uid: $(cat "$T/other1.out")"
# Opened up by hand, SO_PEERCRED still refuses it before reading a byte
# (the client only reads: an accepted one would wait for the timeout).
chmod 0777 "$SOCK"
out=$(as_user timeout 5 "$SOCAT" -u "UNIX-CONNECT:$SOCK" - 2>&1 || true)
assert_eq "$(jqr "$out" .error.code)" forbidden "another uid through an open socket"
grep -q "refused a connection from uid $(id -u "$user")" "$T/m.log" ||
    fail "the refusal is not logged"
chmod 0600 "$SOCK"
chmod 0700 "$T"
pass "another uid: no access by mode, forbidden by SO_PEERCRED"
stop_daemon "$DAEMON_PID"

# --- unsafe socket directories ----------------------------------------------
export XDG_RUNTIME_DIR="$T/run"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
# refused DIR-SETUP WHAT PATTERN: the default directory prepared by the
# shell command DIR-SETUP makes the daemon exit non-zero with PATTERN.
refused() {
	rm -rf "$XDG_RUNTIME_DIR/instantd"
	eval "$1"
	"$INSTANTD" --foreground --data-dir "$T/def.data" --config /dev/null 2> "$T/dir.err" &
	_p=$!
	_pids="$_pids $_p"
	# It must exit at once; one that starts is stopped, not waited for.
	_n=0
	while kill -0 "$_p" 2>/dev/null && ! grep -q "listening on" "$T/dir.err"; do
		_n=$((_n + 1))
		[ $_n -lt 200 ] || break
		sleep 0.05
	done
	kill "$_p" 2>/dev/null && fail "started with $2"
	set +e
	wait "$_p"
	_rc=$?
	set -e
	[ "$_rc" -ne 0 ] || fail "exit status 0 with $2"
	grep -Eq "$3" "$T/dir.err" || fail "$2: $(cat "$T/dir.err")"
	[ ! -S "$XDG_RUNTIME_DIR/instantd/socket" ] || fail "a socket was made in $2"
}
refused 'mkdir -m 0700 "$XDG_RUNTIME_DIR/instantd"; chown "$user" "$XDG_RUNTIME_DIR/instantd"' \
    "a directory owned by another user" "refusing .*/instantd: owned by uid $(id -u "$user")"
refused 'mkdir -m 0700 "$T/elsewhere"; chown "$user" "$T/elsewhere"; ln -s "$T/elsewhere" "$XDG_RUNTIME_DIR/instantd"' \
    "a symlink to another user's directory" "symbolic link"
refused 'mkdir -m 0700 "$XDG_RUNTIME_DIR/instantd"; chmod 0711 "$XDG_RUNTIME_DIR/instantd"' \
    "a directory others may traverse" "open to others"
# An explicit --socket in a symlinked directory is refused too.
mkdir -m 0700 "$T/real"
ln -s "$T/real" "$T/link"
set +e
timeout 10 "$INSTANTD" --foreground --socket "$T/link/s" --data-dir "$T/def.data" --config /dev/null 2> "$T/link.err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "started with --socket in a symlinked directory"
grep -q "symbolic link" "$T/link.err" || fail "--socket symlink: $(cat "$T/link.err")"
unset XDG_RUNTIME_DIR
pass "foreign-owned, symlinked and traversable socket directories refused"

# --- the refresh token in no log, at every level ----------------------------
start_devserver dev
API="http://127.0.0.1:$DEV_PORT"

# state_of: the app's connection state.
state_of() {
	send "$SOCK" '{"op":"status","id":1}' | jq -r 'select(.id == 1) | .connection.state'
}

# wait_authenticated WHAT
wait_authenticated() {
	_n=0
	until [ "$(state_of)" = authenticated ]; do
		_n=$((_n + 1))
		[ $_n -lt 200 ] || fail "not authenticated ($1)"
		sleep 0.05
	done
}

# session LEVEL: sign in, sync, subscribe, restart (init with the stored
# token), sign out; every client line goes to $T/tok-LEVEL.out and the
# daemon's log to $T/tok-LEVEL.log.  Prints the refresh token.
session() {
	_l=$1 _app=$(uuid)
	start_daemon "tok-$_l" --app "$_app" --api-uri "$API" --log-level "$_l"
	wait_authenticated "$_l"
	send "$SOCK" '{"op":"sign-in-guest","id":1}' \
	    "{\"op\":\"transact\",\"id\":2,\"wait\":\"synced\",\"steps\":[[\"update\",\"notes\",\"$(uuid)\",{\"n\":1}]]}" \
	    '{"op":"whoami","id":3}' '{"op":"pending","id":4}' \
	    > "$T/tok-$_l.out"
	assert_eq "$(jq -r 'select(.id == 1) | .user.type' "$T/tok-$_l.out")" guest "sign-in-guest at $_l"
	wait_authenticated "$_l, signed in"
	_tok=$(sqlite3 "$T/tok-$_l.data/apps/$_app.db" "SELECT v FROM kv WHERE k = 'auth.user'" |
	    jq -r '.refresh_token // empty')
	[ -n "$_tok" ] || fail "no refresh token stored at $_l"
	stop_daemon "$DAEMON_PID"
	mv "$T/tok-$_l.log" "$T/tok-$_l.log1"
	start_daemon "tok-$_l" --app "$_app" --api-uri "$API" --log-level "$_l"
	wait_authenticated "$_l, restarted"
	send "$SOCK" '{"op":"subscribe","id":1,"q":{"notes":{}}}' '{"op":"status","id":2}' \
	    '{"op":"whoami","id":3}' '{"op":"sign-out","id":4}' >> "$T/tok-$_l.out"
	grep -q '"id":4,"ok":true' "$T/tok-$_l.out" || fail "sign-out at $_l"
	stop_daemon "$DAEMON_PID"
	cat "$T/tok-$_l.log1" >> "$T/tok-$_l.log"
	echo "$_tok"
}
for level in error warn info debug; do
	tok=$(session "$level")
	[ ${#tok} -ge 16 ] || fail "an implausible token at $level: $tok"
	! grep -qF "$tok" "$T/tok-$level.log" || fail "the refresh token is in the $level log"
	! grep -qF "$tok" "$T/tok-$level.out" || fail "the refresh token was sent to a client at $level"
	[ "$(jq -s '[.[] | .. | objects | keys[] | select(test("token"))] | length' "$T/tok-$level.out")" = 0 ] ||
	    fail "a token-like field was sent to a client at $level"
	lines=$(wc -l < "$T/tok-$level.log")
	echo "level $level: $lines log lines, $(wc -l < "$T/tok-$level.out") client lines, no token"
done
# The debug log did see the sign-in and the session that carried the token.
grep -q "sent init" "$T/tok-debug.log" || fail "the debug log did not log the init"
pass "the refresh token is in no log line at any level and in nothing sent to clients"

# --- TLS verification of the auth API ---------------------------------------
# A private CA, a server certificate for localhost and one for another name.
ossl() { openssl "$@" 2>> "$T/openssl.log"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj "/CN=instantd security CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
for name in localhost elsewhere.example; do
	printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$name" > "$T/$name.ext"
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/$name.key" -out "$T/$name.csr" -subj "/CN=$name"
	ossl x509 -req -in "$T/$name.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
	    -CAcreateserial -out "$T/$name.pem" -days 2 -extfile "$T/$name.ext"
done
# tls_proxy NAME: a TLS front for the devserver with NAME's certificate;
# sets TLS_PORT.
tls_proxy() {
	"$SOCAT" -d -d "OPENSSL-LISTEN:0,bind=127.0.0.1,fork,reuseaddr,verify=0,cert=$T/$1.pem,key=$T/$1.key" \
	    "TCP:127.0.0.1:$DEV_PORT" 2> "$T/socat-$1.log" &
	_pids="$_pids $!"
	wait_for_line "$T/socat-$1.log" "listening on AF=2 127.0.0.1:[0-9]+"
	TLS_PORT=$(sed -n 's/.*listening on AF=2 127.0.0.1:\([0-9]*\).*/\1/p' "$T/socat-$1.log" | head -n 1)
}
# guest_reply: the sign-in-guest reply.
guest_reply() {
	send "$SOCK" '{"op":"sign-in-guest","id":1}' | grep '"id":1,' || true
}
# cert_refusal REPLY: REPLY is an error about the certificate.
cert_refusal() {
	echo "refused: $(jqr "$1" '.error.code + ": " + .error.message')"
	case $(jqr "$1" .error.message) in
	*"certificate verification failed"*) ;;
	*) fail "the refusal does not name the certificate: $1" ;;
	esac
}
tls_proxy localhost
start_daemon tls1 --app "$(uuid)" --api-uri "https://localhost:$TLS_PORT"
r=$(guest_reply)
assert_eq "$(jqr "$r" .ok)" false "sign-in over https to a private CA without --ca-file"
cert_refusal "$r"
stop_daemon "$DAEMON_PID"
start_daemon tls2 --app "$(uuid)" --api-uri "https://localhost:$TLS_PORT" --ca-file "$T/ca.pem"
assert_eq "$(jqr "$(guest_reply)" .ok)" true "sign-in over https with --ca-file"
stop_daemon "$DAEMON_PID"
tls_proxy elsewhere.example
start_daemon tls3 --app "$(uuid)" --api-uri "https://localhost:$TLS_PORT" --ca-file "$T/ca.pem"
r=$(guest_reply)
assert_eq "$(jqr "$r" .ok)" false "a trusted certificate for another name"
cert_refusal "$r"
pass "https auth calls: a private CA refused by default; a wrong name refused with --ca-file"
! grep -Eq "AddressSanitizer|runtime error" "$T"/*.log || fail "sanitizer report"
