# Shell helpers for the devserver interop tests (sourced).
# devserver_start [args]: start instant-devserver on port 0 with a temp
# --data dir and one app; sets DS_PORT, DS_CONTROL, DS_APP, DS_DATA,
# DS_PID; everything is cleaned up on exit.  DEVSERVER may name another
# command to run instead of the built binary (e.g. a valgrind wrapper).
set -eu

: "${top_builddir:=.}" "${top_srcdir:=.}"
DEVSERVER=${DEVSERVER:-$top_builddir/instant-devserver}
DS_NODE_DIR="$top_srcdir/tests/node"
DS_APP=6f1c1f4e-5b7a-4c43-9e55-1d2a3b4c5d6e
DS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/devserver-test.XXXXXX")
DS_DATA="$DS_TMP/data"
DS_PID=
export DEVSERVER

devserver_cleanup() {
	if [ -n "$DS_PID" ]; then
		kill "$DS_PID" 2>/dev/null || :
		wait "$DS_PID" 2>/dev/null || :
	fi
	rm -rf "$DS_TMP"
}
trap devserver_cleanup EXIT
trap 'exit 1' INT TERM HUP

# Fail unless node and the pinned client are installed.
devserver_need_node() {
	if [ -z "${NODE:-}" ] || ! "$NODE" --version >/dev/null 2>&1; then
		echo "FAIL: node not found (configure looks for it)" >&2
		exit 1
	fi
	if [ ! -f "$DS_NODE_DIR/node_modules/@instantdb/core/package.json" ]; then
		echo "FAIL: @instantdb/core missing: run npm ci in tests/node" >&2
		exit 1
	fi
}

# Start the devserver and read its readiness lines.
devserver_start() {
	mkfifo "$DS_TMP/out"
	"$DEVSERVER" --listen 127.0.0.1:0 --data "$DS_DATA" --app "$DS_APP" \
	    "$@" >"$DS_TMP/out" &
	DS_PID=$!
	exec 3<"$DS_TMP/out"
	DS_PORT= DS_CONTROL=
	while read -r line <&3; do
		case $line in
		"instant-devserver listening on 127.0.0.1:"*)
			DS_PORT=${line##*:} ;;
		"instant-devserver control on 127.0.0.1:"*)
			DS_CONTROL=${line##*:} ;;
		esac
		[ -n "$DS_PORT" ] || continue
		case " $* " in
		*" --control "*) [ -n "$DS_CONTROL" ] && break ;;
		*) break ;;
		esac
	done
	if [ -z "$DS_PORT" ]; then
		echo "FAIL: instant-devserver did not start" >&2
		exit 1
	fi
}
