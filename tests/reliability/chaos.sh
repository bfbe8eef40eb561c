#!/bin/bash
# Chaos: upstream faults one after another while four clients stream
# transactions: devserver restarts (SIGKILL), sockets closed after a
# commit, dropped acks, delayed refreshes, pings stopped (with the server
# answering nothing either: a half-open socket the daemon must take for
# dead after its dead-timeout of 1 s), refused connections.  After each
# fault is cleared the daemon must be back to authenticated; at the end,
# with the outbox drained, each acknowledged transaction is on the server
# exactly once (checked by content in the devserver's database), nothing
# is reported failed, and every subscription converges to the official
# client's result.
#
# RELIABILITY_FULL=1 (make check-reliability): 100 faults; else 15.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/reliability/rel_lib.sh"

NFAULTS=15
[ -n "${RELIABILITY_FULL:-}" ] && NFAULTS=100
NFAULTS=${RELIABILITY_FAULTS:-$NFAULTS}
NCONN=4
KINDS="restart close-after-commit drop-ack refresh-delay silent refuse"
# Pings every 250 ms, so that a session is dead after 1 s of silence.
DEV_ARGS="--ping-interval 250"
APP=$(cat /proc/sys/kernel/random/uuid)
mkdir "$T/acc"
: > "$T/acc/sent"
: > "$T/acc/acked"
: > "$T/acc/errors"

start_devserver dev $DEV_ARGS
printf 'dead-timeout = 1\n' > "$T/cfg"
DAEMON_CONFIG="$T/cfg"
start_daemon d --app "$APP" --api-uri "http://127.0.0.1:$DEV_PORT" ${REL_DAEMON_ARGS:-}
unset DAEMON_CONFIG
wait_state "$SOCK" authenticated 20

# Subscribers that live through the chaos, and the load.
"$NODE" "$RELCLIENT" watch "$SOCK" "$DEV_PORT" "$APP" 120000 \
    '{"heads":{}}' '{"rel1":{"$":{"where":{"bucket":1}}}}' \
    '{"rel2":{"$":{"where":{"bucket":2}}}}' '{"rel3":{"$":{"where":{"bucket":3}}}}' \
    '{"rel4":{"$":{"where":{"bucket":4}}}}' '{"rel1":{"$":{"where":{"bucket":7}}},"heads":{}}' \
    > "$T/watch.out" 2> "$T/watch.err" &
wpid=$!
_pids="$_pids $wpid"
wait_for_line "$T/watch.out" '^ready$' 20
"$NODE" "$RELCLIENT" stream "$SOCK" "$T/acc" x "$NCONN" 80 \
    '{"rel%k":{"$":{"where":{"bucket":%k}}},"heads":{}}' > "$T/stream.out" 2>&1 &
spid=$!
_pids="$_pids $spid"
wait_for_line "$T/stream.out" '^ready$' 20

# ms_sleep MIN MAX: sleep a random time in [MIN, MAX) milliseconds.
ms_sleep() {
	_ms=$(($1 + RANDOM % ($2 - $1)))
	sleep "$(printf '%d.%03d' $((_ms / 1000)) $((_ms % 1000)))"
}

# gave_up: the sessions the daemon has given up for silence so far.
gave_up() {
	grep -Ec 'upstream closed: (nothing received from the server|the server did not answer init)' "$T/d.log" || true
}

noticed=0
declare -A count maxrec
for k in $KINDS; do
	count[$k]=0
	maxrec[$k]=0
done
read -r -a KINDA <<< "$KINDS"
i=1
while [ "$i" -le "$NFAULTS" ]; do
	# Round robin over the kinds, so each gets its share.
	kind=${KINDA[$(((i - 1) % ${#KINDA[@]}))]}
	ms_sleep 100 400 # load between faults
	case $kind in
	restart)
		kill -KILL "$DEV_PID"
		wait "$DEV_PID" 2>/dev/null || true
		ms_sleep 50 500
		start_devserver dev $DEV_ARGS
		;;
	close-after-commit)
		set_faults "{\"close-before-ack\":$((1 + RANDOM % 3))}"
		ms_sleep 200 1000
		set_faults '{"close-before-ack":0}'
		;;
	drop-ack)
		set_faults "{\"drop-ack\":$((1 + RANDOM % 3))}"
		ms_sleep 200 1000
		set_faults '{"drop-ack":0}'
		;;
	refresh-delay)
		set_faults "{\"refresh-delay-ms\":$((100 + RANDOM % 1400))}"
		ms_sleep 200 1000
		set_faults '{"refresh-delay-ms":0}'
		;;
	silent)
		# Longer than the dead-timeout plus the longest refresh a
		# refresh-delay fault may still have in flight.  Under this
		# load the daemon reads the server's replies seconds late,
		# and a silence it only reaches after the fault is over is
		# no silence: noticed counts the faults that ended a session.
		given_up=$(gave_up)
		set_faults '{"no-ping":true,"no-answer":true}'
		ms_sleep 3500 5000
		set_faults '{"no-ping":false,"no-answer":false}'
		[ "$(gave_up)" -gt "$given_up" ] && noticed=$((noticed + 1))
		;;
	refuse)
		# New connections are refused; the next commit closes the
		# current one, so the daemon has to knock.
		set_faults '{"refuse-connections":true,"close-before-ack":1}'
		ms_sleep 200 1000
		set_faults '{"refuse-connections":false,"close-before-ack":0}'
		;;
	esac
	t0=$(now_ms)
	wait_state "$SOCK" authenticated 30
	rec=$(($(now_ms) - t0))
	count[$kind]=$((count[$kind] + 1))
	[ "$rec" -gt "${maxrec[$kind]}" ] && maxrec[$kind]=$rec
	i=$((i + 1))
done

# Stop the load; acks a live socket dropped are resent by the next
# session (the transport never resends on a socket that is alive).
kill -TERM "$spid"
wait "$spid" || fail "stream client: $(cat "$T/stream.out")"
t_clear=$(now_ms)
backlog=$(rel_status "$SOCK" '.pending')
echo "load stopped after $NFAULTS faults: $(sort -u "$T/acc/acked" | wc -l) acknowledged, $backlog not yet synced"
send "$SOCK" '{"op":"disconnect","id":1}' '{"op":"connect","id":2}' > /dev/null
wait_drained "$SOCK" 60
t_drained=$(now_ms)
failed=$(send "$SOCK" '{"op":"pending","id":"p"}' | grep '"id":"p"' | jq '[.txs[] | select(.status == "error")] | length')

server_markers "$APP" > "$T/server.txt"
awk '{ print $1 }' "$T/server.txt" | sort > "$T/server.m"
sort -u "$T/acc/acked" > "$T/acked.s"
acked=$(wc -l < "$T/acked.s")
once=$(awk '$2 == 1 { print $1 }' "$T/server.txt" | sort | comm -12 "$T/acked.s" - | wc -l)
dups=$(awk '$2 > 1' "$T/server.txt" | wc -l)
lost=$(comm -23 "$T/acked.s" "$T/server.m" | wc -l)
strays=$(sort -u "$T/acc/sent" | comm -13 - "$T/server.m" | wc -l)

kill -USR2 "$wpid"
converged=no
wait "$wpid" && converged=yes
watch_ms=$(tail -n 1 "$T/watch.out" | jq -r '.ms // empty' 2>/dev/null || true)

echo
echo "| fault | injected | longest recovery to authenticated (ms) |"
echo "|---|---|---|"
for k in $KINDS; do
	echo "| $k | ${count[$k]} | ${maxrec[$k]} |"
done
echo "silent faults that ended a session (1 s of silence, or init unanswered): $noticed of ${count[silent]}"
echo
echo "| faults | acked | on server once | lost | duplicated | failed | converged | unsynced when the load stopped | drain (ms) | drain rate (tx/s) | subscriptions equal after drain (ms) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
echo "| $NFAULTS | $acked | $once | $lost | $dups | $failed | $converged | $backlog | $((t_drained - t_clear)) | $((backlog * 1000 / (t_drained - t_clear + 1))) | ${watch_ms:--} |"
echo

# Too few silent faults in the short form to require one.
[ "${count[silent]}" -lt 5 ] || [ "$noticed" -gt 0 ] ||
    fail "no silent fault ended a session"
[ -s "$T/acc/errors" ] && fail "failed replies: $(head -n 3 "$T/acc/errors")"
[ "$acked" -gt 0 ] || fail "nothing was acknowledged"
[ "$strays" -eq 0 ] || fail "$strays markers on the server that no client sent"
[ "$dups" -eq 0 ] || fail "duplicated on the server: $(awk '$2 > 1' "$T/server.txt" | head -n 5 | tr '\n' ' ')"
[ "$lost" -eq 0 ] || fail "lost: $(comm -23 "$T/acked.s" "$T/server.m" | head -n 5 | tr '\n' ' ')"
assert_eq "$once" "$acked" "acknowledged transactions on the server exactly once"
assert_eq "$failed" 0 "transactions reported failed"
[ "$converged" = yes ] || fail "subscriptions did not converge: $(cat "$T/watch.err")"
pass "$NFAULTS upstream faults: $acked acknowledged, each on the server once, none failed, subscriptions converged"
