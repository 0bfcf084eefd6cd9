#!/bin/bash
# Why sockets were reset or timed out: each cause per process and peer,
# against the kernel's own counters (nstat, this namespace): close() with
# unread data == TcpExtTCPAbortOnClose, SO_LINGER 0 == TcpExtTCPAbortOnData
# (nothing else here aborts on data), keepalive, retransmission, user and
# SYN timeouts (timeouter: a path that drops everything) ==
# TcpExtTCPAbortOnTimeout; in report, trace and a recording's replay alike.
. "$(dirname "$0")/lib.sh"
N=20
ns=$(netns_new causes) || exit 1
# short timeouts: retransmissions give up after ~1.4 s, a SYN after 1 + 2 s
in_ns "$ns" sysctl -qw net.ipv4.tcp_retries2=2
[ -e /proc/sys/net/ipv4/tcp_syn_linear_timeouts ] &&
	in_ns "$ns" sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0
NT=4	# connections per timeout kind (threads of one client each)
# nginx answering a client that pipelines more than nginx reads (pipeliner):
# with lingering_close off its close() finds those bytes unread and resets;
# with lingering close (the default) it reads them away and sends a FIN.
. "$(dirname "$0")/nginx.sh"
NG=5
nginx_conf abrupt 'listen 127.0.0.1:7010; keepalive_timeout 0; lingering_close off;
	location / { return 200 "ok\n"; }'
nginx_conf lingering 'listen 127.0.0.1:7011; keepalive_timeout 0;
	location / { return 200 "ok\n"; }'
ngx_off=$(nginx_start "$ns" abrupt) || { check "nginx (lingering_close off) starts" 0 1; finish; exit; }
ngx_on=$(nginx_start "$ns" lingering) || { check "nginx (lingering close) starts" 0 1; finish; exit; }
out=$WORK/report.json tr=$WORK/trace.json rec=$WORK/causes.tcrec
tracer_start "$out" report --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
rpid=$TRACER_PID
tracer_start "$tr" trace --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
tpid=$TRACER_PID
tracer_start "$WORK/rec.out" record -o "$rec" --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
in_ns "$ns" "$SCEN/timeouter" 7100 "$NT" keepalive retransmits user-timeout syn \
	>"$WORK/timeouts.json" 2>"$WORK/timeouts.err" &
tmo=$!
unread=$(in_ns "$ns" "$SCEN/closer" unread-reset 4 7001 "$N")
cl0=$(in_ns "$ns" "$SCEN/closer" client-reset 6 7002 "$N")
sl0=$(in_ns "$ns" "$SCEN/closer" server-reset 4 7003 "$N")
fin=$(in_ns "$ns" "$SCEN/closer" client-first 4 7004 "$N")
refused=$(in_ns "$ns" "$SCEN/closer" refused 4 7005 "$N")
# ss -K: the kernel's tcp_abort() on sockets held open; the oracle is how
# many of them ss no longer finds (no MIB counts them). Where ss cannot kill
# (the test VM: tcp_diag is a module it lacks, ss reads /proc) none go.
held() { in_ns "$ns" ss -Htn state established dport = :7400 | wc -l; }
exec 3> >(in_ns "$ns" "$ROOT/build/bench/hold" -c 5 -a 1 -p 7400 >"$WORK/hold.out")
hpid=$!
for _ in $(seq 100); do [ -s "$WORK/hold.out" ] && break; sleep 0.1; done
before=$(held)
in_ns "$ns" ss -HK state established dport = :7400 >/dev/null 2>&1
killed=$((before - $(held)))
exec 3>&-	# hold exits; the kernel closes what is left
wait "$hpid" 2>/dev/null
pl_off=$(in_ns "$ns" "$SCEN/pipeliner" 7010 "$NG")
pl_on=$(in_ns "$ns" "$SCEN/pipeliner" 7011 "$NG")
nginx_stop "$ns" abrupt
nginx_stop "$ns" lingering
wait "$tmo"
check "timeouter: every connection timed out as its mode says" "4 true" \
	"$(jq -sr '"\(length) \(all(.ok))"' "$WORK/timeouts.json")$(head -c 300 "$WORK/timeouts.err")"
for l in "$unread" "$cl0" "$sl0" "$fin" "$refused"; do
	check "scenario $(jq -r .mode <<<"$l") ran cleanly" true "$(jq -r .ok <<<"$l")"
done
ns_settle "$ns"
kill -INT "$rpid" "$tpid" 2>/dev/null	# all three stop on a quiet namespace
tracer_stop
tracer_stop "$tpid"
tracer_stop "$rpid"

on_close=$(nstat_get "$ns" TcpExtTCPAbortOnClose)
on_data=$(nstat_get "$ns" TcpExtTCPAbortOnData)
on_timeout=$(nstat_get "$ns" TcpExtTCPAbortOnTimeout)
# A close the kernel skipped has no cause (kind unseen): the sums hold on
# closes seen, which every check below allows for.
unseen=$(jq '.totals.close.unseen' "$out")
check "kernel: one abort on close per unread-data close (closer's, nginx's)" $((N + NG)) "$on_close"
check "kernel: one abort on data per SO_LINGER 0 close" $((2 * N)) "$on_data"
within "totals: unread_data == TcpExtTCPAbortOnClose" "$on_close" "$(jq .totals.reset_cause.unread_data "$out")" "$unseen"
within "totals: linger_zero == TcpExtTCPAbortOnData" "$on_data" "$(jq .totals.reset_cause.linger_zero "$out")" "$unseen"
check "kernel: one abort on timeout per connection timed out" $((4 * NT)) "$on_timeout"
within "totals: timeout causes (but FIN_WAIT2's, no abort) == TcpExtTCPAbortOnTimeout" "$on_timeout" \
	"$(jq '[.totals.timeout_cause | del(.fin_wait2)[]] | add' "$out")" "$unseen"
ngx() {	# ngx PID: the worker's "unread_data closes reset_sent unseen"
	jq -r --argjson p "$1" '[.processes[] | select(.pid==$p)][0] |
		"\(.reset_cause.unread_data) \(.closed) \(.close.reset_sent) \(.close.unseen)"' "$out"
}
check "pipeliner: reset by nginx without lingering close, EOF with it" "0 $NG $NG 0" \
	"$(jq -r '"\(.eof) \(.reset)"' <<<"$pl_off") $(jq -r '"\(.eof) \(.reset)"' <<<"$pl_on")"
read -r u c r un <<<"$(ngx "$ngx_off")"
within "nginx, lingering_close off: every close reset, the pipelined bytes unread" "$NG" "$u" "$unseen"
check "nginx, lingering_close off: its closes, each a reset sent (+ unseen)" "$NG $NG" "$c $((r + un))"
read -r u c r un <<<"$(ngx "$ngx_on")"
check "nginx, lingering close: the pipelined bytes read away, its closes, no reset sent" "0 $NG 0" "$u $c $r"
check "hold's 5 client sockets were up" 5 "$before"
if [ "$killed" = 0 ]; then	# not a pass: nothing to compare
	note "ss -K killed none here (no sock_diag destroy): killed not checked"
else
	within "totals: killed == the sockets ss -K killed" "$killed" "$(jq .totals.reset_cause.killed "$out")" "$unseen"
fi
check "totals: no other reset cause" 0 "$(jq .totals.reset_cause.reset_other "$out")"
# Each timeout's client: its cause alone (on the closes seen); a SYN's is a
# connect that never got established.
for m in keepalive retransmits user-timeout syn; do
	cpid=$(jq --arg m "$m" 'select(.mode == $m) | .client_pid' "$WORK/timeouts.json")
	cause=${m/-/_}; [ "$m" = syn ] && kind=never_established || kind=timeout
	check "$m: client's timeout cause, its close kind (+ unseen)" "$NT $NT $NT" \
		"$(jq -r --argjson p "${cpid:-0}" --arg c "$cause" --arg k "$kind" '.processes[] | select(.pid==$p) |
			"\(.timeout_cause[$c] + .close.unseen) \(.close[$k] + .close.unseen) \(([.timeout_cause[]] | add) + .close.unseen)"' "$out")"
done

# How long the peer had been silent when an established connection timed
# out (a SYN's has none): counted for every such timeout, where the kernel's
# config says its HZ; keepalive gives up after 1 s idle + 2 probes 1 s apart,
# so after 3 s of silence (whole seconds: 2 when 2.99, up to 8 when timers
# run late under emulation).
if [ -r "/boot/config-$(uname -r)" ] || [ -r /proc/config.gz ]; then
	within "idle: one per established connection timed out (all but the SYNs)" \
		$((on_timeout - NT)) "$(jq .totals.timeout_idle_s.count "$out")" "$unseen"
	kpid=$(jq 'select(.mode == "keepalive") | .client_pid' "$WORK/timeouts.json")
	read -r kc ks km ku <<<"$(jq -r --argjson p "${kpid:-0}" '.processes[] | select(.pid==$p) |
		"\(.timeout_idle_s.count) \(.timeout_idle_s.sum) \(.timeout_idle_s.max) \(.close.unseen)"' "$out")"
	check "idle: keepalive client, one each (+ unseen)" "$NT" $((${kc:-0} + ${ku:-0}))
	ok=yes
	[ "${ks:-0}" -ge $((2 * ${kc:-0})) ] && [ "${ks:-0}" -le $((8 * ${kc:-0})) ] || ok="no: sum $ks of $kc"
	[ "${km:-0}" -ge 2 ] && [ "${km:-0}" -le 8 ] || ok="$ok, no: max $km"
	check "idle: keepalive's peers silent 2-8 s each (3 s of silence by its settings)" yes "$ok"
	spid_syn=$(jq 'select(.mode == "syn") | .client_pid' "$WORK/timeouts.json")
	check "idle: trace's idle_s == report's (count, sum)" \
		"$(jq -r '"\(.totals.timeout_idle_s.count) \(.totals.timeout_idle_s.sum)"' "$out")" \
		"$(jq -rs '[.[] | select(.idle_s != null) | .idle_s] | "\(length) \(add // 0)"' "$tr")"
	check "idle: none for the SYNs never answered" 0 \
		"$(jq --argjson p "${spid_syn:-0}" '.processes[] | select(.pid==$p) | .timeout_idle_s.count' "$out")"
else
	check "idle: null without the kernel's config (HZ unknown)" null "$(jq -c .totals.timeout_idle_s "$out")"
fi

# Per process: the closer that reset is charged, its peer is not.
expect() {	# expect NAME PID UNREAD LINGER0: exact on the closes seen
	local u l s
	read -r u l s <<<"$(jq -r --argjson p "$2" '.processes[] | select(.pid==$p) |
		"\(.reset_cause.unread_data) \(.reset_cause.linger_zero) \(.close.unseen)"' "$out")"
	check "$1: unread_data linger_zero (seen: $((N - ${s:-0})))" \
		"$(( $3 ? N - ${s:-0} : 0 )) $(( $4 ? N - ${s:-0} : 0 ))" "$u $l"
}
expect "unread-reset server" "$(jq .server_pid <<<"$unread")" 1 0
expect "unread-reset client (reset received)" "$(jq .client_pid <<<"$unread")" 0 0
expect "SO_LINGER 0 client" "$(jq .client_pid <<<"$cl0")" 0 1
expect "SO_LINGER 0 client's server" "$(jq .server_pid <<<"$cl0")" 0 0
expect "SO_LINGER 0 server" "$(jq .server_pid <<<"$sl0")" 0 1
expect "orderly closes" "$(jq .client_pid <<<"$fin")" 0 0
spid=$(jq .server_pid <<<"$unread")
check "unread-reset server's peer row carries the cause" \
	"$(jq --argjson p "$spid" '[.processes[] | select(.pid==$p) | .reset_cause.unread_data] | add' "$out")" \
	"$(jq --argjson p "$spid" '[.peers[] | select(.pid==$p) | .reset_cause.unread_data] | add' "$out")"
check "unread-reset server: each cause a reset_sent close" \
	"$(jq --argjson p "$spid" '.processes[] | select(.pid==$p) | .close.reset_sent' "$out")" \
	"$(jq --argjson p "$spid" '.processes[] | select(.pid==$p) | .reset_cause.unread_data' "$out")"

# Resets received, by the state they hit (no kernel counter tells them
# apart: the workload does): the unread-reset client, the peers of both
# SO_LINGER 0 closers and hold's servers (ss -K resets them) in
# ESTABLISHED; the timeouter servers' FINs answered by a reset (their
# clients gone); the refused connects in the handshake.
within "resets received in ESTABLISHED" $((3 * N + killed + NG)) "$(jq .totals.reset_received_in.established "$out")" "$unseen"
within "resets received after our FIN" $((3 * NT)) "$(jq .totals.reset_received_in.fin_sent "$out")" "$unseen"
within "resets received in the handshake" "$N" "$(jq .totals.reset_received_in.handshake "$out")" "$unseen"
check "resets received in CLOSE_WAIT: none here" 0 "$(jq .totals.reset_received_in.close_wait "$out")"
check "refused client: every connect a reset in the handshake (+ unseen)" "$N" \
	"$(jq --argjson p "$(jq .client_pid <<<"$refused")" '.processes[] | select(.pid==$p) | .reset_received_in.handshake + .close.unseen' "$out")"

# trace: the same causes, one event each.
check "trace: unread_data events == report's" "$(jq .totals.reset_cause.unread_data "$out")" \
	"$(jq -s '[.[] | select(.cause == "unread_data")] | length' "$tr")"
check "trace: linger_zero events == report's" "$(jq .totals.reset_cause.linger_zero "$out")" \
	"$(jq -s '[.[] | select(.cause == "linger_zero")] | length' "$tr")"
check "trace: orderly closes have no cause" 0 \
	"$(jq -s '[.[] | select(.close == "local_first" or .close == "remote_first") | select(.cause != null)] | length' "$tr")"

# A recording rebuilds the same causes. (A shared row's longest idle time
# can lose a race between two CPUs, as TIME_WAIT's longest stay can: the
# rows' maxima are not compared, the totals' are, per CPU and exact.)
"$TCPCLOSE" report --from "$rec" --json >"$WORK/from.json" 2>"$WORK/from.err"
check "replay: the recording reads" 0 $?
check "replay: reset and timeout causes, idle times, as reported live" \
	"$(jq -c '[.totals.reset_cause, .totals.timeout_cause, .totals.reset_received_in, ([.processes[] | select(([.reset_cause[], .timeout_cause[], .reset_received_in[]] | add) > 0) | {pid, r: .reset_cause, t: .timeout_cause, x: .reset_received_in, i: (.timeout_idle_s | del(.max?))}] | sort_by(.pid)), .totals.timeout_idle_s]' "$out")" \
	"$(jq -c '[.totals.reset_cause, .totals.timeout_cause, .totals.reset_received_in, ([.processes[] | select(([.reset_cause[], .timeout_cause[], .reset_received_in[]] | add) > 0) | {pid, r: .reset_cause, t: .timeout_cause, x: .reset_received_in, i: (.timeout_idle_s | del(.max?))}] | sort_by(.pid)), .totals.timeout_idle_s]' "$WORK/from.json")"
"$TCPCLOSE" report --from "$rec" >"$WORK/from.txt"
check_match "text: the WHY section gives the unread-reset server its cause" \
	"^$spid +tc-server +unread_data $(jq --argjson p "$spid" '.processes[] | select(.pid==$p) | .reset_cause.unread_data' "$out")( |$)" \
	"$(sed -n '/^WHY/,/^$/p' "$WORK/from.txt" | grep "^$spid ")"
# doctor names each: the process that resets with unread data, the one that
# lingers 0, and the destinations whose connections timed out.
"$TCPCLOSE" doctor --from "$rec" --json >"$WORK/doc.json"
check "doctor: unread_resets names the server, linger_resets both SO_LINGER 0 closers" \
	"tc-server 2" "$(jq -r '"\([.findings[] | select(.id == "unread_resets") | .title | capture("^(?<c>[^ ]+) ").c] | join(",")) \([.findings[] | select(.id == "linger_resets")] | length)"' "$WORK/doc.json")"
check "doctor: a timeouts finding per destination that timed out, each with its fix" "4 4" \
	"$(jq -r '[.findings[] | select(.id == "timeouts")] | "\(length) \([.[] | select(.fix != "")] | length)"' "$WORK/doc.json")"
if [ "$(jq -c .totals.timeout_idle_s "$out")" != null ]; then
	check "doctor: how long the peers were silent, where connections were up (all but the SYN's)" 3 \
		"$(jq '[.findings[] | select(.id == "timeouts") | select(.evidence | test("silent [0-9.]+ s on average"))] | length' "$WORK/doc.json")"
fi

# Resets for no socket of ours: the refused connects above each got one, to
# port 7005 from 127.0.0.1. Told by the kernel's reason at tcp_send_reset
# (6.10+), before that by tcp_v4/v6_send_reset (fentry or kprobe); a kernel
# with neither is the one where they are null, never 0.
kv=$(uname -r); kmaj=${kv%%.*}; kmin=${kv#*.}; kmin=${kmin%%[!0-9]*}
rst_hook=$(jq -r '.hooks.reset // empty' "$out")
if [ "$kmaj" -gt 6 ] || { [ "$kmaj" -eq 6 ] && [ "$kmin" -ge 10 ]; } ||
	[ -e /sys/bus/event_source/devices/kprobe/type ]; then
	check_match "resets for no socket: hooked here" "^(tp_btf/tcp_send_reset|fentry/tcp_v4_send_reset|kprobe/tcp_v4_send_reset)" "$rst_hook"
fi
if [ -n "$rst_hook" ]; then
	check "resets for no socket: one per refused connect, to its port and from its address" \
		"$N 127.0.0.1" "$(jq -r '[.resets_no_socket.rows[] | select(.local_port == 7005)] | "\(map(.resets) | add) \(map(.remote_addr) | unique | join(","))"' "$out")"
	nosock_sum() { jq -c '.resets_no_socket | .rows |= sort_by(.local_port, .remote_addr, .reason)' "$1" |
		sha1sum | cut -c1-12; }
	check "replay: resets for no socket as reported live (digest)" "$(nosock_sum "$out")" \
		"$(nosock_sum "$WORK/from.json")"
	check "doctor: no_socket_resets names port 7005" 1 \
		"$(jq '[.findings[] | select(.id == "no_socket_resets") | select(.title | test("port 7005 "))] | length' "$WORK/doc.json")"
	check_match "text: the section lists port 7005" "^[0-9]+ +7005 +127\.0\.0\.1 +no_socket +$N\$" \
		"$(sed -n '/^RESETS FOR NO SOCKET/,/^$/p' "$WORK/from.txt")"
	# alone in a namespace of its own, every reset is one of these: the
	# kernel's TcpOutRsts is the oracle for the total
	ns2=$(netns_new nosock) || exit 1
	out2=$WORK/nosock.json
	tracer_start "$out2" report --json --netns "/var/run/netns/$ns2" || { FAIL=1; finish; exit; }
	r2=$(in_ns "$ns2" "$SCEN/closer" refused 4 7006 "$N")
	check "nosock: the refused connects ran" true "$(jq -r .ok <<<"$r2")"
	tracer_stop
	check "nosock: resets for no socket == TcpOutRsts (kernel), rows add up" \
		"$(nstat_get "$ns2" TcpOutRsts) $N 0 0" \
		"$(jq -r '.resets_no_socket | "\(.no_socket) \([.rows[].resets] | add) \(.time_wait) \(.other)"' "$out2")"
else
	check "resets for no socket: unknown without a hook (null, never 0)" "null null null" \
		"$(jq -c '[.hooks.reset, .resets_no_socket]' "$out" | tr -d '[]' | tr ',' ' ') $(jq -c .resets_no_socket "$WORK/from.json")"
fi
finish
