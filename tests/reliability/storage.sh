#!/bin/sh
# Storage faults: a full disk (a 4 MB tmpfs as the data directory), a
# read-only data directory (the tmpfs remounted read-only, which binds
# root too) and a corrupt store file.  Clients get clear errors naming the
# storage problem and never a hang; the daemon does not crash and keeps
# serving what it can; nothing acknowledged is lost and nothing is
# silently deleted: a corrupt file is moved aside (logged, shown by
# status) and a fresh store is made.  Needs root (CI runs as root) to
# mount.
. "$top_srcdir/tests/lib.sh"

[ "$(id -u)" -eq 0 ] || fail "this test must run as root to mount a tmpfs"

MOUNTS=""
# Unmount (lazily: a process may still hold a file) before lib.sh
# removes $T, keeping the exit status.
_storage_cleanup() {
	for m in $MOUNTS; do
		umount -l "$m" 2>/dev/null || true
	done
}
trap '_rc=$?; set +e; _storage_cleanup; (exit $_rc); _cleanup' EXIT INT TERM

# tmpfs_at NAME SIZE: a tmpfs as $T/NAME.data (start_daemon NAME's data).
tmpfs_at() {
	mkdir -p "$T/$1.data"
	mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$T/$1.data" ||
	    fail "cannot mount a tmpfs"
	MOUNTS="$MOUNTS $T/$1.data"
}

uuid() { cat /proc/sys/kernel/random/uuid; }
A=$(uuid)
B=$(uuid)

# req APP LINE: one request on its own connection bound to APP; prints
# the reply to the request with "id":1 (empty when there is none).
req() {
	send "$SOCK" "{\"op\":\"hello\",\"id\":0,\"app\":\"$1\"}" "$2" |
	    grep '"id":1,' || true
}

# put APP TITLE [SIZE]: transact a todo; prints the reply.
put() {
	_v=$2
	[ -z "${3:-}" ] || _v="$2$(head -c "$3" /dev/zero | tr '\0' x)"
	req "$1" "{\"op\":\"transact\",\"id\":1,\"steps\":[[\"update\",\"todos\",\"$(uuid)\",{\"title\":\"$_v\"}]]}"
}

# titles APP: the app's todo titles (cut to 20 bytes), sorted, one line.
titles() {
	req "$1" '{"op":"query","id":1,"q":{"todos":{}}}' |
	    jq -r '[.data.todos[].title[0:20]] | sort | join(",")'
}

# alive: the daemon runs and answers.
alive() {
	kill -0 "$DAEMON_PID" 2>/dev/null || fail "the daemon died ($1)"
	[ "$(send "$SOCK" '{"op":"status","id":1}' | jq -r 'select(.id == 1) | .ok')" = true ] ||
	    fail "the daemon does not answer ($1)"
}

# --- full disk --------------------------------------------------------------
tmpfs_at full 4m
start_daemon full --app "$A"
r=$(put "$A" milk)
assert_eq "$(jqr "$r" .ok)" true "a write before the disk fills"
assert_eq "$(jqr "$(put "$B" bread)" .ok)" true "app B's write before the disk fills"
dd if=/dev/zero of="$T/full.data/filler" bs=64k 2>/dev/null || true
[ "$(df --output=avail "$T/full.data" | tail -n 1 | tr -d ' ')" -eq 0 ] ||
    fail "the tmpfs is not full"
# Values big enough that SQLite must grow its files.
for i in 1 2 3; do
	r=$(put "$A" "big$i" 300000)
	[ -n "$r" ] || fail "no reply to a write on a full disk (a hang?)"
	assert_eq "$(jqr "$r" .error.code)" internal "a write on a full disk"
	case $(jqr "$r" .error.message) in
	*"storage failed, the transaction was not saved"*"disk is full"*) ;;
	*) fail "unclear full-disk error: $(jqr "$r" .error.message)" ;;
	esac
done
pass "full disk: writes get 'internal: storage failed ... disk is full'"
alive "full disk"
assert_eq "$(titles "$A")" milk "app A's data on a full disk"
assert_eq "$(titles "$B")" bread "app B is still served on a full disk"
pass "full disk: no crash; reads and other apps still served"
rm -f "$T/full.data/filler"
assert_eq "$(jqr "$(put "$A" eggs)" .ok)" true "a write after space is freed"
assert_eq "$(jqr "$(put "$B" jam)" .ok)" true "app B's write after space is freed"
stop_daemon "$DAEMON_PID"
start_daemon full --app "$A"
assert_eq "$(titles "$A")" eggs,milk "app A after a restart"
assert_eq "$(titles "$B")" bread,jam "app B after a restart"
assert_eq "$(req "$A" '{"op":"pending","id":1}' | jq -c '[.txs[].status]')" \
    '["enqueued","enqueued"]' "app A's outbox: the acknowledged writes only"
pass "full disk freed: writes work again, acknowledged ones intact"
stop_daemon "$DAEMON_PID"

# --- read-only data directory -----------------------------------------------
tmpfs_at ro 4m
start_daemon ro --app "$A"
assert_eq "$(jqr "$(put "$A" milk)" .ok)" true "a write before read-only"
stop_daemon "$DAEMON_PID"
(cd "$T/ro.data" && find . -type f -exec md5sum {} + | sort) > "$T/ro.sums"
mount -o remount,ro "$T/ro.data" || fail "cannot remount read-only"
start_daemon ro --app "$A"
r=$(put "$A" bread)
[ -n "$r" ] || fail "no reply to a write on a read-only data directory"
assert_eq "$(jqr "$r" .error.code)" internal "a write on a read-only data directory"
case $(jqr "$r" .error.message) in
*"cannot open the store"*"data directory is not writable"*) ;;
*) fail "unclear read-only error: $(jqr "$r" .error.message)" ;;
esac
r=$(req "$A" '{"op":"query","id":1,"q":{"todos":{}}}')
assert_eq "$(jqr "$r" .error.code)" internal "a query on a read-only data directory"
r=$(req "$A" '{"op":"status","id":1}')
assert_eq "$(jqr "$r" .ok)" true "status on a read-only data directory"
case $(jqr "$r" .storage.error) in
*"not writable"*) ;;
*) fail "status does not show the storage error: $r" ;;
esac
grep -q "not writable" "$T/ro.log" || fail "the storage error is not logged"
alive "read-only"
pass "read-only: clear errors to clients, in status and the log; no crash"
stop_daemon "$DAEMON_PID"
(cd "$T/ro.data" && find . -type f -exec md5sum {} + | sort) > "$T/ro.sums2"
cmp -s "$T/ro.sums" "$T/ro.sums2" || fail "files changed on a read-only mount"
mount -o remount,rw "$T/ro.data" || fail "cannot remount read-write"
start_daemon ro --app "$A"
assert_eq "$(titles "$A")" milk "data after the directory is writable again"
assert_eq "$(jqr "$(put "$A" bread)" .ok)" true "a write once writable again"
pass "read-only: files untouched; all works again once writable"
stop_daemon "$DAEMON_PID"

# --- corrupt store ----------------------------------------------------------
C=$(uuid)
start_daemon c --app "$A"
assert_eq "$(jqr "$(put "$A" milk)" .ok)" true "app A's write"
assert_eq "$(jqr "$(put "$C" tea)" .ok)" true "app C's write"
stop_daemon "$DAEMON_PID"
DB="$T/c.data/apps/$C.db"
[ -f "$DB" ] && [ ! -e "$DB-wal" ] || fail "unexpected store files: $(ls "$T/c.data/apps")"
# Keep the SQLite header, trash everything after it.
{ head -c 100 "$DB"; head -c 200000 /dev/urandom; } > "$T/garbage"
cp "$T/garbage" "$DB"
start_daemon c --app "$A"
assert_eq "$(titles "$A")" milk "app A next to a corrupt app"
r=$(req "$C" '{"op":"status","id":1}')
moved=$(jqr "$r" '.storage.moved_aside // empty')
[ -n "$moved" ] || fail "status does not report the move: $r"
case $moved in
"$DB.corrupt-"*) ;;
*) fail "moved to an unexpected place: $moved" ;;
esac
cmp -s "$moved" "$T/garbage" || fail "the corrupt file was not kept as it was"
[ -n "$(jqr "$r" '.storage.reason // empty')" ] || fail "no reason for the move: $r"
grep -q "app $C: the store is unusable .*moved it aside to $moved" "$T/c.log" ||
    fail "the move is not logged"
assert_eq "$(titles "$C")" "" "app C starts from a fresh store"
assert_eq "$(jqr "$(put "$C" coffee)" .ok)" true "a write to the fresh store"
assert_eq "$(titles "$C")" coffee "app C's fresh store"
alive "corrupt store"
pass "corrupt store: moved aside intact (logged, in status), a fresh one made, other apps unaffected"
! grep -Eq "AddressSanitizer|runtime error" "$T"/*.log || fail "sanitizer report"
