#!/bin/bash
# --light: no hook that runs for every timer or syscall of the host. The
# closes, who closed first and the TIME_WAIT entries stay exact (the kernel's
# counters say so); where only the timer/syscall tracepoints would do, the
# TIME_WAIT ends and accept() owner are reported unavailable (null), never as
# zeros. Function hooks (fentry/kprobe kernels) are kept.
. "$(dirname "$0")/lib.sh"
N=20
ns=$(netns_new light) || exit 1
in_ns "$ns" sysctl -qw net.ipv4.tcp_max_tw_buckets=30
out=$WORK/light.json
tracer_start "$out" report --json --light --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
c=$(in_ns "$ns" "$SCEN/closer" client-first 4 9801 "$N")
s=$(in_ns "$ns" "$SCEN/closer" server-first 4 9802 "$N")
r1=$(in_ns "$ns" "$SCEN/closer" server-reset 4 9803 5)
r2=$(in_ns "$ns" "$SCEN/closer" client-reset 4 9804 5)
ss_tw=$(in_ns "$ns" ss -Htan state time-wait | wc -l)
tracer_stop || check "tracer exit status" 0 $?
j() { jq -r "$1" "$out"; }
nst() { nstat_get "$ns" "$1"; }

check "scenarios ran cleanly" "true true true true" \
	"$(for r in "$c" "$s" "$r1" "$r2"; do jq -r .ok <<<"$r"; done | xargs)"
tw_hook=$(j '.hooks.time_wait // "none"')
owner_hook=$(j '.hooks.owner // "none"')
check_match "no timer tracepoints (TIME_WAIT hook: $tw_hook)" '^(none|fentry/|kprobe/)' "$tw_hook"
check_match "no syscall tracepoints (owner hook: $owner_hook)" '^(none|fexit/|kretprobe/)' "$owner_hook"
check "closes: 2 x $N + 2 x 5 connections, both ends" $((4 * N + 20)) "$(j '.totals.closed')"
# (a close whose run the kernel skipped is found unseen, of no kind)
unseen=$(j .totals.close.unseen)
for r in "$c" "$s"; do
	mode=$(jq -r .mode <<<"$r")
	within "$mode: the first closer's process sent FIN first $N times" "$N" \
		"$(jq --argjson p "$(jq .client_pid <<<"$r")" --argjson q "$(jq .server_pid <<<"$r")" \
			--arg m "$mode" '.processes[] | select(.pid == (if $m == "client-first" then $p else $q end)) | .close.local_first' "$out")" \
		"$unseen"
done
# 40 FINs sent first, 30 timewait buckets: 10 overflow.
check_ge "overflow happened (TcpExtTCPTimeWaitOverflow)" 1 "$(nst TcpExtTCPTimeWaitOverflow)"
if [ "$tw_hook" = none ]; then
	check "ends, lengths, overflow and reuse hits are unavailable (null), not 0" "null null null null" \
		"$(j '"\(.totals.time_wait.ended) \(.totals.time_wait.duration_ms) \(.totals.time_wait.overflow) \(.totals.connect.tw_reuse_hits)"')"
	# at ->CLOSE an overflowed socket reads like one a timewait socket replaced
	check "entered: every close that sent FIN first, overflows included" $((2 * N)) \
		"$(j .totals.time_wait.entered)"
else
	check "entered == nstat TW+TWKilled" $(( $(nst TcpExtTW) + $(nst TcpExtTWKilled) )) "$(j .totals.time_wait.entered)"
	within "overflow == TcpExtTCPTimeWaitOverflow" "$(nst TcpExtTCPTimeWaitOverflow)" "$(j .totals.time_wait.overflow)" \
		"$unseen"
	check "function hooks kept: the gauge == ss" "$ss_tw" "$(j .totals.time_wait.active)"
fi
# A server socket that ends in a reset never passes close()/shutdown(), where
# the owner is otherwise taken: without an accept() hook it has none.
want=0; [ "$owner_hook" = none ] && want=10
check "server sockets ending in a reset without an owner: counted, and charged to no process" \
	"$want $want" "$(j '"\(.tracer.owner_missing) \([.processes[] | select(.pid==0) | .closed] | add // 0)"')"
"$TCPCLOSE" report --from "$out" --light >/dev/null 2>"$WORK/from.err"
check "--light with --from: usage error (exit 2)" 2 $?
check_match "--light with --from: one-line reason" "no filters, -d, -i, --light" "$(cat "$WORK/from.err")"
finish
