# tests/reliability/rel_lib.sh: helpers shared by the reliability suites;
# source it after tests/lib.sh.

# Run it as "$NODE" "$RELCLIENT" MODE ... (not from a function: a
# function in the background is a subshell, and signals meant for the
# client would end the subshell instead).
RELCLIENT="$top_srcdir/tests/reliability/relclient.mjs"
command -v "$NODE" > /dev/null || fail "node ($NODE) is needed"
command -v sqlite3 > /dev/null || fail "sqlite3 is needed"
[ -d "$top_srcdir/tests/node/node_modules/@instantdb/core" ] ||
    fail "run npm ci in tests/node first"

# now_ms: milliseconds since the epoch.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# rel_status SOCK FILTER: a jq filter over the daemon's status reply.
rel_status() {
	send "$1" '{"op":"status","id":"st"}' | grep '"id":"st"' | jq -r "$2"
}

# wait_state SOCK STATE SECONDS: until the app's connection is STATE.
wait_state() {
	_ws_end=$(($(now_ms) + $3 * 1000))
	until [ "$(rel_status "$1" '.connection.state')" = "$2" ]; do
		[ "$(now_ms)" -lt "$_ws_end" ] ||
		    fail "connection not $2 after $3 s: $(send "$1" '{"op":"status","id":1}' | grep '"id":1,')"
		sleep 0.05
	done
}

# wait_drained SOCK SECONDS: until the outbox is empty and the session
# authenticated; fails when the count of unsynced transactions has not
# gone down for SECONDS (a stall, not a slow drain), or after 30 minutes.
wait_drained() {
	_wd_end=$(($(now_ms) + 1800000))
	_wd_stall=$(($(now_ms) + $2 * 1000))
	_wd_min=""
	while :; do
		_wd=$(rel_status "$1" '"\(.pending) \(.connection.state)"')
		[ "$_wd" = "0 authenticated" ] && return 0
		_wd_n=${_wd%% *}
		case $_wd_n in '' | *[!0-9]*) _wd_n=999999999 ;; esac
		if [ -z "$_wd_min" ] || [ "$_wd_n" -lt "$_wd_min" ]; then
			_wd_min=$_wd_n
			_wd_stall=$(($(now_ms) + $2 * 1000))
		fi
		[ "$(now_ms)" -lt "$_wd_stall" ] && [ "$(now_ms)" -lt "$_wd_end" ] ||
		    fail "not drained, no progress for $2 s: $(send "$1" '{"op":"status","id":1}' | grep '"id":1,')"
		sleep 0.2
	done
}

# server_markers APP: "marker count" for every marker on the devserver
# (the m attribute of the rel* namespaces), read from its database: the
# count is the number of distinct entities carrying that marker.
server_markers() {
	sqlite3 -readonly -separator ' ' "$T/dev.data/$1.sqlite" \
	    "SELECT json_extract(t.v, '\$'), count(DISTINCT t.e) FROM triples t
	     WHERE t.a IN (SELECT id FROM attrs
	         WHERE json_extract(json, '\$.\"forward-identity\"[2]') = 'm'
	         AND json_extract(json, '\$.\"forward-identity\"[1]') LIKE 'rel%')
	     GROUP BY t.v ORDER BY 1"
}
