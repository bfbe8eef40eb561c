#!/bin/bash
# Crash: instantd is killed with SIGKILL at random moments while four
# clients stream transactions with the devserver attached.  After each
# restart every acknowledged transaction is visible locally (the daemon is
# kept off the server while this is checked, so only its own store can
# answer); at the end, with the outbox drained, each acknowledged
# transaction is on the server exactly once (checked by content in the
# devserver's database) and every subscription equals the result the
# official client gets from the server for the same query.
#
# RELIABILITY_FULL=1 (make check-reliability): 20 cycles; else 3.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/reliability/rel_lib.sh"

CYCLES=3
[ -n "${RELIABILITY_FULL:-}" ] && CYCLES=20
NCONN=4
APP=$(cat /proc/sys/kernel/random/uuid)
ALLQ='{"rel1":{},"rel2":{},"rel3":{},"rel4":{}}'
mkdir "$T/acc"
: > "$T/acc/sent"
: > "$T/acc/acked"
: > "$T/acc/errors"

start_devserver dev
DARGS="--app $APP --api-uri http://127.0.0.1:$DEV_PORT ${REL_DAEMON_ARGS:-}"
# shellcheck disable=SC2086
start_daemon d $DARGS
wait_state "$SOCK" authenticated 20

present_last=0
c=1
while [ "$c" -le "$CYCLES" ]; do
	# Stream with the server attached, then kill at a random moment.
	"$NODE" "$RELCLIENT" stream "$SOCK" "$T/acc" "c$c" "$NCONN" > "$T/stream$c.out" 2>&1 &
	spid=$!
	_pids="$_pids $spid"
	wait_for_line "$T/stream$c.out" '^ready$' 20
	delay=$((50 + RANDOM % 1450))
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	wait "$spid" || fail "stream client of cycle $c: $(cat "$T/stream$c.out")"
	[ -s "$T/acc/errors" ] && fail "failed replies: $(head -n 3 "$T/acc/errors")"

	# Restart with the server refusing us: what the daemon shows now
	# comes from its own store.
	set_faults '{"refuse-connections":true}'
	cp "$T/d.log" "$T/d.log.$c"
	# shellcheck disable=SC2086
	start_daemon d $DARGS
	send "$SOCK" '{"op":"disconnect","id":1}' > /dev/null
	wait_state "$SOCK" offline 20
	send "$SOCK" "{\"op\":\"query\",\"id\":\"q\",\"q\":$ALLQ}" | grep '"id":"q"' > "$T/local.json" ||
	    fail "no local query reply"
	assert_eq "$(jq -r '.ok' "$T/local.json")" true "local query"
	jq -r '.data[][] | .m' "$T/local.json" | sort > "$T/local.m"
	[ "$(sort "$T/local.m" | uniq -d | wc -l)" -eq 0 ] ||
	    fail "cycle $c: a marker shows twice locally: $(uniq -d "$T/local.m" | head -n 3)"
	sort -u "$T/acc/acked" > "$T/acked.s"
	missing=$(comm -23 "$T/acked.s" "$T/local.m" | wc -l)
	acked=$(wc -l < "$T/acked.s")
	present=$((acked - missing))
	pending=$(rel_status "$SOCK" '.pending')
	printf 'cycle %2d: killed after %4d ms; acked so far %5d, present locally %5d, pending %4d\n' \
	    "$c" "$delay" "$acked" "$present" "$pending"
	[ "$missing" -eq 0 ] ||
	    fail "cycle $c: $missing acknowledged transactions missing locally: $(comm -23 "$T/acked.s" "$T/local.m" | head -n 5 | tr '\n' ' ')"
	present_last=$present

	set_faults '{"refuse-connections":false}'
	send "$SOCK" '{"op":"connect","id":1}' > /dev/null
	wait_state "$SOCK" authenticated 20
	c=$((c + 1))
done

# Drained: the server holds each acknowledged transaction exactly once.
wait_drained "$SOCK" 60
server_markers "$APP" > "$T/server.txt"
awk '{ print $1 }' "$T/server.txt" | sort > "$T/server.m"
acked=$(wc -l < "$T/acked.s")
once=$(awk '$2 == 1 { print $1 }' "$T/server.txt" | sort | comm -12 "$T/acked.s" - | wc -l)
dups=$(awk '$2 > 1' "$T/server.txt" | wc -l)
lost=$(comm -23 "$T/acked.s" "$T/server.m" | wc -l)
strays=$(sort -u "$T/acc/sent" | comm -13 - "$T/server.m" | wc -l)
unacked_on_server=$(sort -u "$T/acc/sent" | comm -23 - "$T/acked.s" | comm -12 - "$T/server.m" | wc -l)

# Every subscription converges to the server's result.
"$NODE" "$RELCLIENT" watch "$SOCK" "$DEV_PORT" "$APP" 60000 \
    '{"rel1":{}}' '{"rel2":{}}' '{"rel3":{}}' '{"rel4":{}}' '{"heads":{}}' \
    '{"rel1":{"$":{"where":{"bucket":3}}}}' "$ALLQ" > "$T/watch.out" 2> "$T/watch.log" &
wpid=$!
_pids="$_pids $wpid"
wait_for_line "$T/watch.out" '^ready$' 20
kill -USR2 "$wpid"
converged=no
wait "$wpid" && converged=yes

echo
echo "| cycles | acked | present locally at the last restart | on server once | duplicates | lost | unacked on server | subscriptions equal server |"
echo "|---|---|---|---|---|---|---|---|"
echo "| $CYCLES | $acked | $present_last | $once | $dups | $lost | $unacked_on_server | $converged ($(cat "$T/watch.out" | tail -n 1)) |"
echo

[ "$acked" -gt 0 ] || fail "nothing was acknowledged"
[ "$strays" -eq 0 ] || fail "$strays markers on the server that no client sent"
[ "$dups" -eq 0 ] || fail "duplicated on the server: $(awk '$2 > 1' "$T/server.txt" | head -n 5 | tr '\n' ' ')"
[ "$lost" -eq 0 ] || fail "lost: $(comm -23 "$T/acked.s" "$T/server.m" | head -n 5 | tr '\n' ' ')"
assert_eq "$once" "$acked" "acknowledged transactions on the server exactly once"
[ "$converged" = yes ] || fail "subscriptions did not converge: $(cat "$T/watch.log")"
pass "$CYCLES kill -9 cycles: $acked acknowledged, all present locally after each restart, each on the server once, subscriptions equal the server's"
