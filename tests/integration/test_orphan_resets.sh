#!/bin/bash
# The resets the kernel sends after a close, whose cause only the reset
# itself tells (pending.bpf.c): new data after shutdown(SHUT_RDWR) or after
# close() == TcpExtTCPAbortOnData, TCP_LINGER2 -1 == TcpExtTCPAbortOnLinger
# (close() in FIN_WAIT2) or ...OnData (close() in ESTABLISHED: the ACK of
# the FIN comes to an orphan), per process, in report, trace and a
# recording's replay alike; a reset really received after our FIN keeps
# its cause. In the test VM (the orphan limit is global to the kernel) a
# close() that finds too many orphans, and an orphan's timer that does, ==
# TcpExtTCPAbortOnMemory. Where our
# sockets' resets cannot be hooked: null, never 0.
. "$(dirname "$0")/lib.sh"
N=20
ns=$(netns_new orphans) || exit 1
# an orphan in FIN_WAIT2 stays a full socket (keepalive timer) when the
# FIN_WAIT2 timeout is over TIME_WAIT's 60 s; else it is a timewait socket
# by the time the client's data comes, which resets as TIME_WAIT
in_ns "$ns" sysctl -qw net.ipv4.tcp_fin_timeout=120
out=$WORK/report.json tr=$WORK/trace.json rec=$WORK/orphans.tcrec
tracer_start "$out" report --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
rpid=$TRACER_PID
tracer_start "$tr" trace --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
tpid=$TRACER_PID
tracer_start "$WORK/rec.out" record -o "$rec" --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
das=$(in_ns "$ns" "$SCEN/closer" data-after-shutdown 4 7301 "$N")
dac=$(in_ns "$ns" "$SCEN/closer" data-after-close 6 7302 "$N")
l2=$(in_ns "$ns" "$SCEN/closer" linger2 4 7303 "$N")
l2c=$(in_ns "$ns" "$SCEN/closer" linger2-close 4 7304 "$N")
# a reset really received after close(), in FIN_WAIT2: no reset of ours
# follows, so it keeps its cause (charged when user space looks)
ftr=$(in_ns "$ns" "$SCEN/closer" fin-then-reset 4 7305 "$N")
# those wait for a reset of theirs that never comes: charged while tracing
# (tcpclose's settling thread, every 100 ms), not only when it stops
ftr_seen=0
for _ in $(seq 30); do
	# (the tracer may be writing a line: only whole ones count)
	ftr_seen=$(jq -nR --argjson p "$(jq .client_pid <<<"$ftr")" \
		'[inputs | fromjson? | select(.pid == $p)] | length' "$tr")
	[ "$ftr_seen" -ge "$N" ] && break
	sleep 0.1
done
# memory: close() finds more orphans than tcp_max_orphans allows. The limit
# is the kernel's, not the namespace's: only in the test VM, nothing else
# running. half-close's clients wait as orphans in FIN_WAIT2 (full sockets:
# tcp_fin_timeout 120) while its server holds its ends (stopped once the
# limit is back: its own closes then leave no orphan over it); the kernel
# counts orphans every 100 ms.
mem=
if [ "${TCPCLOSE_VM:-0}" = 1 ]; then
	in_ns "$ns" env CLOSER_HOLD_S=60 "$SCEN/closer" half-close 4 7306 2 >"$WORK/hc.json" &
	hc=$!
	for _ in $(seq 50); do
		[ "$(in_ns "$ns" ss -Htn state fin-wait-2 | wc -l)" -ge 2 ] && break
		sleep 0.1
	done
	sleep 0.3
	max_orphans=$(sysctl -n net.ipv4.tcp_max_orphans)
	sysctl -qw net.ipv4.tcp_max_orphans=0
	mem=$(in_ns "$ns" "$SCEN/closer" memory 4 7307 "$N")
	sysctl -qw net.ipv4.tcp_max_orphans="$max_orphans"
	pkill -f "closer half-close 4 7306" 2>/dev/null
	wait "$hc" 2>/dev/null
	# ... and found by an orphan's own retransmission timer: its reset comes
	# before its end (tcp_out_of_resources). orphan-stuck's clients wait in
	# FIN_WAIT1, their FINs unheard, until the limit drops under them.
	NS=5
	in_ns "$ns" env CLOSER_HOLD_S=30 CLOSER_RELEASE="$WORK/os.release" \
		"$SCEN/closer" orphan-stuck 4 7308 "$NS" >"$WORK/os.json" &
	osp=$!
	fw1() { in_ns "$ns" ss -Htn state fin-wait-1 dport = :7308 | wc -l; }
	for _ in $(seq 50); do [ "$(fw1)" -ge "$NS" ] && break; sleep 0.1; done
	sleep 0.3
	sysctl -qw net.ipv4.tcp_max_orphans=0
	for _ in $(seq 100); do [ "$(fw1)" = 0 ] && break; sleep 0.1; done
	sysctl -qw net.ipv4.tcp_max_orphans="$max_orphans"
	touch "$WORK/os.release"
	wait "$osp"
	ostuck=$(cat "$WORK/os.json")
fi
for l in "$das" "$dac" "$l2" "$l2c" "$ftr" ${mem:+"$mem" "$ostuck"}; do
	check "scenario $(jq -r .mode <<<"$l") ran cleanly" true "$(jq -r .ok <<<"$l")"
done
ns_settle "$ns"
kill -INT "$rpid" "$tpid" 2>/dev/null
tracer_stop
tracer_stop "$tpid"
tracer_stop "$rpid"

on_data=$(nstat_get "$ns" TcpExtTCPAbortOnData)
on_linger=$(nstat_get "$ns" TcpExtTCPAbortOnLinger)
check "kernel: one abort on data per data-after-*, linger2-close and SO_LINGER 0 close" \
	$((4 * N)) "$on_data"
check "kernel: one abort on linger per linger2 close" "$N" "$on_linger"
unseen=$(jq '.totals.close.unseen' "$out")
pid_of() { jq -r .server_pid <<<"$1"; }
causes() {	# causes PID: data_after_close linger2 memory fin_sent fin_then_reset+unseen closed unseen
	jq -r --argjson p "$1" '[.processes[] | select(.pid==$p)][0] |
		"\(.reset_cause.data_after_close) \(.reset_cause.linger2) \(.reset_cause.memory) \(.reset_received_in.fin_sent) \(.fin_then_reset + .close.unseen) \(.closed) \(.close.unseen)"' "$out"
}
# every kernel of the test VM (6.1+) has the tracepoint and syscall programs
[ "${TCPCLOSE_VM:-0}" = 1 ] &&
	check "our sockets' resets hooked (the VM's kernels all can)" yes \
		"$([ -n "$(jq -r '.hooks.own_reset // empty' "$out")" ] && echo yes || echo no)"
if [ "$(jq -r '.hooks.own_reset // empty' "$out")" = "" ]; then
	check "our sockets' resets not hooked here: their causes null, never 0" "null null null" \
		"$(jq -r '.totals.reset_cause | "\(.data_after_close) \(.linger2) \(.memory)"' "$out")"
	finish
	exit
fi
# exact on the closes seen (a close the kernel skipped has no cause): within
within "totals: data_after_close + linger2 + linger_zero == TcpExtTCPAbortOnData + ...OnLinger" \
	$((on_data + on_linger)) \
	"$(jq '.totals.reset_cause | .data_after_close + .linger2 + .linger_zero' "$out")" "$unseen"
on_memory=$(nstat_get "$ns" TcpExtTCPAbortOnMemory)
if [ -n "$mem" ]; then
	# The limit is the kernel's and the orphan count it is held to a sample
	# (every 100 ms): another of the test's sockets closing or timing out
	# meanwhile can meet it too (seen once in 6.1's VM: 27). The tracer's
	# count is held to the kernel's exactly below.
	check_ge "kernel: an abort on memory per memory close and per orphan stuck" \
		$((N + NS)) "$on_memory"
	[ "$on_memory" -gt $((N + NS)) ] && note "aborts on memory beyond the scenario's, by process:" \
		"$(jq -c '[.processes[] | select(.reset_cause.memory > 0) | {pid, comm, m: .reset_cause.memory}]' "$out")"
else
	check "kernel: no abort on memory outside the VM" 0 "$on_memory"
fi
within "totals: memory == TcpExtTCPAbortOnMemory; no timewait refused" "$on_memory" \
	"$(jq -r '.totals.reset_cause.memory' "$out")" "$unseen"
check "totals: no timewait refused" 0 "$(jq -r '.totals.time_wait.overflow' "$out")"
# every reset here is one of ours with a cause, or one for no socket (the
# orphan-stuck servers' FINs, once heard, find their clients gone)
if [ "$(jq -c .resets_no_socket "$out")" != null ]; then
	within "totals: resets by cause + resets for no socket == TcpOutRsts (kernel)" \
		"$(nstat_get "$ns" TcpOutRsts)" \
		"$(jq '([.totals.reset_cause[]] | add) + .resets_no_socket.no_socket + .resets_no_socket.time_wait' "$out")" "$unseen"
fi
check "tracer: every close that waited for a reset had room to (pending_full)" 0 \
	"$(jq -r '.tracer.pending_full' "$out")"
if [ -n "$mem" ]; then
	for l in "$mem" "$ostuck"; do
		n=$([ "$l" = "$mem" ] && echo "$N" || echo "$NS")
		check "$(jq -r .mode <<<"$l"): the client's closes, each memory's, reset after its FIN (+ unseen)" \
			"$n $n" "$(jq -r --argjson p "$(jq .client_pid <<<"$l")" '.processes[] | select(.pid==$p) |
			"\(.reset_cause.memory + .close.unseen) \(.fin_then_reset + .close.unseen)"' "$out")"
	done
fi
# per process: each server its cause alone; the FIN came first from it and
# the close ended in a reset it sent, never one received
for s in "das data" "dac data" "l2 linger2" "l2c linger2"; do
	set -- $s
	read -r d l m f r c un <<<"$(causes "$(pid_of "${!1}")")"
	if [ "$2" = data ]; then got="$d $l"; else got="$l $d"; fi
	# this server's closes never seen, or whose CLOSE run the kernel
	# skipped (found by the sweep: no cause)
	u=$((N - c + un))
	check "$(jq -r .mode <<<"${!1}"): the server's cause ($2), none other, reset after its FIN" \
		"$N 0 0 0 $N" "$(( ${got%% *} + u )) ${got#* } $m $f $r"
done
# the clients: the reset received after the server's FIN (CLOSE_WAIT)
check "clients: each a reset received in close_wait" $((4 * N)) \
	"$(jq --argjson p "$(jq -s '[.[].client_pid]' <<<"$das$dac$l2$l2c")" \
		'[.processes[] | select(.pid as $x | $p | index($x)) | .reset_received_in.close_wait + .close.unseen] | add' "$out")"
# (checked here: a close whose run the kernel skipped is in no trace)
within "fin-then-reset: trace shows the client's closes while it runs (no reset followed them)" \
	"$N" "$ftr_seen" "$unseen"
within "fin-then-reset: the client's reset received after its FIN (fin_sent)" "$N" \
	"$(jq --argjson p "$(jq .client_pid <<<"$ftr")" '.processes[] | select(.pid==$p) | .reset_received_in.fin_sent' "$out")" "$unseen"
check "fin-then-reset: the server's SO_LINGER 0 (from CLOSE_WAIT)" "$N" \
	"$(jq --argjson p "$(pid_of "$ftr")" '.processes[] | select(.pid==$p) | .reset_cause.linger_zero + .close.unseen' "$out")"
# trace: one event each, with its cause; a recording rebuilds the same
check "trace: data_after_close and linger2 events == report's" \
	"$(jq -r '.totals.reset_cause | "\(.data_after_close) \(.linger2)"' "$out")" \
	"$(jq -rs '"\([.[] | select(.cause == "data_after_close")] | length) \([.[] | select(.cause == "linger2")] | length)"' "$tr")"
"$TCPCLOSE" report --from "$rec" --json >"$WORK/from.json" 2>"$WORK/from.err"
check "replay: the recording reads" 0 $?
check "replay: causes per process as reported live" \
	"$(jq -c '[.totals.reset_cause, .totals.reset_received_in, ([.processes[] | {pid, r: .reset_cause, x: .reset_received_in, f: .fin_then_reset}] | sort_by(.pid))]' "$out")" \
	"$(jq -c '[.totals.reset_cause, .totals.reset_received_in, ([.processes[] | {pid, r: .reset_cause, x: .reset_received_in, f: .fin_then_reset}] | sort_by(.pid))]' "$WORK/from.json")"
# doctor names each server: peers that keep sending, TCP_LINGER2 < 0
"$TCPCLOSE" doctor --from "$rec" --json >"$WORK/doc.json"
pair() { printf '%s\n' "$@" | sort -n | paste -sd, -; }
check "doctor: data_after_close for both data-after-* servers, linger2_resets for both linger2 ones" \
	"$(pair "$(pid_of "$das")" "$(pid_of "$dac")") $(pair "$(pid_of "$l2")" "$(pid_of "$l2c")")" \
	"$(jq -r 'def pids($id): [.findings[] | select(.id == $id) | .title |
		capture("pid (?<p>[0-9]+)").p | tonumber] | sort | map(tostring) | join(",");
		"\(pids("data_after_close")) \(pids("linger2_resets"))"' "$WORK/doc.json")"
finish
