#!/bin/bash
# Slow client: a client that is subscribed but stops reading while 10,000
# transactions change its result costs the daemon little memory (its
# results coalesce: when it reads again it gets a few, the newest equal
# to the current state, and it is not cut off), a client whose unread
# backlog cannot coalesce (replies to its own pipelined requests) gets
# one overflow event and is closed, and the other clients' p99 round trip
# stays within 2x of a run without the stuck client.
#
# Runs with and without the stuck client alternate in the order ABBA, and
# each kind's round trips are pooled: whatever else loads the machine
# (make check runs other tests beside this one) then weighs on both kinds
# alike.
#
# RELIABILITY_FULL=1 (make check-reliability): 10,000 results per run,
# at least 1,000 probes per run, 4 pairs of runs; else 1,000, 200 and 4
# pairs.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/reliability/rel_lib.sh"

NRESULTS=1000
NPROBES=200
PAIRS=4
PIPELINE=10000
if [ -n "${RELIABILITY_FULL:-}" ]; then
	NRESULTS=10000
	NPROBES=1000
fi
NITEMS=20
PAD=800 # a result is about 18 KB: 1,000 of them held would be 18 MB
MAXOUT=262144
Q='{"items":{}}'

printf 'max-output = %s\n' "$MAXOUT" > "$T/cfg"
: > "$T/d.log"
# Under AddressSanitizer freed memory waits in a quarantine, which RSS
# would count as growth: keep none (no effect on a plain build).
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0 \
"$INSTANTD" --foreground --socket "$T/d.sock" --data-dir "$T/d.data" \
    --config "$T/cfg" 2>>"$T/d.log" &
DAEMON_PID=$!
_pids="$_pids $DAEMON_PID"
wait_for_line "$T/d.log" "instantd: listening on"
SOCK=$T/d.sock

# vm FIELD: the daemon's VmRSS or VmHWM in kB.
vm() {
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$DAEMON_PID/status"
}

# p99 FILE: the 99th percentile of the numbers in FILE.
p99() {
	sort -n "$1" | awk '{ a[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; print a[i] }'
}

# A subscriber that keeps up, in every run, at the load's priority (see
# run): the subscription's work is the same with and without the stuck
# client, and it counts the results produced.
nice -n 10 "$NODE" "$RELCLIENT" count "$SOCK" "$Q" "$T/fast.count" > "$T/fast.ctl" 2>&1 &
_pids="$_pids $!"
wait_for_line "$T/fast.ctl" '^ready$' 20

# settled_count: the fast subscriber's count once it stops changing.
settled_count() {
	_sc_prev=-1
	_sc_n=0
	while [ "$(cat "$T/fast.count")" != "$_sc_prev" ] && [ "$_sc_n" -lt 100 ]; do
		_sc_prev=$(cat "$T/fast.count")
		sleep 0.3
		_sc_n=$((_sc_n + 1))
	done
	cat "$T/fast.count"
}

# Items exist before the runs.
"$NODE" "$RELCLIENT" produce "$SOCK" "$NITEMS" "$NITEMS" 4 "$PAD" > /dev/null ||
    fail "creating the items"

# run NAME: NRESULTS updates of the items, one at a time so that each
# is a result of its own, while a prober measures round trips (at least
# NPROBES, and on until the updates are done); the prober's latencies go
# to $T/NAME.lat and the number of results the fast subscriber got to
# $T/NAME.results.  The load's clients run at a lower priority than the
# daemon and the prober: on two cores they would otherwise make the
# prober wait for a CPU, which measures the machine, not the daemon.
run() {
	_c0=$(settled_count)
	nice -n 10 "$NODE" "$RELCLIENT" produce "$SOCK" "$NRESULTS" "$NITEMS" 1 "$PAD" > "$T/$1.produce" 2>&1 &
	_ppid=$!
	"$NODE" "$RELCLIENT" probe "$SOCK" "$NPROBES" "$T/$1.lat" "$T/$1.done" &
	_qpid=$!
	wait "$_ppid" || fail "produce $1: $(cat "$T/$1.produce")"
	: > "$T/$1.done"
	wait "$_qpid" || fail "probe $1"
	echo $(($(settled_count) - _c0)) > "$T/$1.results"
}

# Overflow: a client pipelines replies it never reads.  Its results
# would coalesce, its replies cannot: past max-output it gets one
# overflow event and is closed.
"$NODE" "$RELCLIENT" stuck "$SOCK" "$T/over.out" "$Q" "$PIPELINE" > "$T/over.ctl" 2>&1 &
opid=$!
_pids="$_pids $opid"
wait_for_line "$T/over.ctl" '^ready$' 20
wait_for_line "$T/d.log" 'output over [0-9]+ bytes, closing' 60
kill -USR2 "$opid"
wait "$opid" || fail "overflowing client: $(cat "$T/over.ctl")"
assert_eq "$(tail -n 1 "$T/over.ctl")" eof "the overflowing client is closed"
assert_eq "$(grep -c '"event":"overflow"' "$T/over.out")" 1 "one overflow event"
last=$(tail -n 1 "$T/over.out")
assert_eq "$(jqr "$last" '.event')" overflow "the overflow event comes last"
dropped=$(jqr "$last" '.dropped')
[ "$dropped" -ge 1 ] || fail "overflow dropped $dropped"
oreplies=$(grep -c '"id":"p' "$T/over.out" || true)
[ "$oreplies" -lt "$PIPELINE" ] || fail "all $oreplies replies reached a client that never read"
# The replies it did get are the first ones, in order.
assert_eq "$(jq -r 'select(.id != null) | .id' "$T/over.out" | tail -n +2 | awk '{ if ($0 != "p" NR - 1) { print "gap at " NR; exit } }')" "" "replies in order"
pass "a client that does not read its replies gets one overflow event (dropped $dropped) after $oreplies replies, then is closed"

# slow_run I: run slowI with a client that subscribes, then stops
# reading; once it reads again its results must have coalesced, the newest
# equal to the current state, and it must not have been cut off.
slow_run() {
	nice -n 10 "$NODE" "$RELCLIENT" stuck "$SOCK" "$T/stuck$1.out" "$Q" > "$T/stuck$1.ctl" 2>&1 &
	_spid=$!
	_pids="$_pids $_spid"
	wait_for_line "$T/stuck$1.ctl" '^ready$' 20
	run "slow$1"
	kill -USR2 "$_spid"
	wait "$_spid" || fail "stuck client: $(cat "$T/stuck$1.ctl")"
	assert_eq "$(tail -n 1 "$T/stuck$1.ctl")" open "the stuck client is not cut off"
	grep -q '"event":"overflow"' "$T/stuck$1.out" && fail "the stuck client got an overflow event"
	grep -q '"id":"after","ok":true' "$T/stuck$1.out" || fail "the stuck client gets replies again"
	_nres=$(grep -c '"event":"result"' "$T/stuck$1.out" || true)
	_produced=$(cat "$T/slow$1.results")
	# The fast subscriber's results coalesce too when it falls behind,
	# as it may on a loaded machine: half of them is enough to show
	# that the changes were results of their own.
	[ "$_produced" -ge $((NRESULTS / 2)) ] ||
	    fail "only $_produced results for $NRESULTS changes reached the fast subscriber"
	[ "$_nres" -lt $((_produced / 10)) ] ||
	    fail "the stuck client got $_nres of $_produced results: they did not coalesce"
	# The newest result is the current state.
	_newest=$(grep '"event":"result"' "$T/stuck$1.out" | tail -n 1 | jq -cS '.data.items | sort_by(.id)')
	_now=$(send "$SOCK" "{\"op\":\"query\",\"id\":1,\"q\":$Q}" | grep '"id":1,' | jq -cS '.data.items | sort_by(.id)')
	assert_eq "$_newest" "$_now" "the stuck client's newest result"
	echo "slow run $1: $_produced results produced, the stuck client got $_nres; the newest equals the current state"
}

rss0=$(vm VmRSS)
i=1
while [ "$i" -le "$PAIRS" ]; do
	if [ $((i % 2)) -eq 1 ]; then
		run "base$i"
		slow_run "$i"
	else
		slow_run "$i"
		run "base$i"
	fi
	i=$((i + 1))
done
hwm=$(vm VmHWM)
growth=$(((hwm - rss0) / 1024))

# Latency: the p99 of all round trips of the runs of each kind (pooled:
# steadier than any one run's), and each run's, in microseconds.
for i in $(seq "$PAIRS"); do
	printf '%s ' "$(p99 "$T/base$i.lat")"
	cat "$T/base$i.lat" >> "$T/base.all"
done > "$T/base.p99"
for i in $(seq "$PAIRS"); do
	printf '%s ' "$(p99 "$T/slow$i.lat")"
	cat "$T/slow$i.lat" >> "$T/slow.all"
done > "$T/slow.p99"
base=$(p99 "$T/base.all")
slow=$(p99 "$T/slow.all")
limit=$((2 * base))
[ "$limit" -lt $((base + 1000)) ] && limit=$((base + 1000))

echo
echo "| results per run | probes without / with | runs | RSS before (kB) | VmHWM after (kB) | growth (MiB) | p99 without stuck client (us) | p99 with (us) | limit (us) | overflow dropped |"
echo "|---|---|---|---|---|---|---|---|---|---|"
echo "| $NRESULTS | $(wc -l < "$T/base.all") / $(wc -l < "$T/slow.all") | $PAIRS+$PAIRS | $rss0 | $hwm | $growth | $base (runs: $(cat "$T/base.p99")) | $slow (runs: $(cat "$T/slow.p99")) | $limit | $dropped |"
echo

[ "$growth" -lt 16 ] || fail "RSS grew by $growth MiB"
[ "$slow" -le "$limit" ] || fail "p99 $slow us with the stuck client, $base us without"
pass "a stuck subscriber: RSS +$growth MiB, results coalesced, p99 $slow us vs $base us"
