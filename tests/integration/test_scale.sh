#!/bin/bash
# Bounded memory under any cardinality: 100k connections, each to its own
# address (200k peer rows' worth), traced by report with --max-peers 4096 and
# by export with -n 20. The rows stay bounded, the overflow is folded into
# "other" and counted exactly, and RSS and map memory stay within the bounds
# tests/README.md documents. (The test VM runs 3000: TCG is ~10x slower.)
. "$(dirname "$0")/lib.sh"
N=${TCPCLOSE_SCALE_PEERS:-100000}
[ -n "${TCPCLOSE_ATTACH:-}" ] && N=${TCPCLOSE_SCALE_PEERS:-3000}
MAXP=4096
# every live socket followed (2N are open at once): this test is about peers.
# The socket table takes every birth up to about two-thirds full (README).
MAXS=$(( (N * 2 * 3 / 2 + 1023) / 1024 * 1024 ))
[ "$MAXS" -lt 131072 ] && MAXS=131072
RSS_MAX_KIB=$((64 * 1024))	# tests/README.md: user RSS bound, default map sizes
MAPS_MAX_KIB=$((160 * 1024))	# tests/README.md: BPF maps with 250k sockets, --max-peers 4096
ns=$(netns_new scale) || exit 1
in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
in_ns "$ns" sysctl -qw net.core.somaxconn=65535
in_ns "$ns" sysctl -qw net.ipv4.tcp_max_syn_backlog=65535
hold=$ROOT/build/bench/hold
[ -x "$hold" ] || { check "build/bench/hold is built" yes no; finish; exit; }

out=$WORK/scale.json
tracer_start "$out" report --json --max-peers $MAXP --max-sockets $MAXS --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
rpid=$TRACER_PID
port=$((20000 + $$ % 1000))
tracer_start "$WORK/exp.out" export --listen "127.0.0.1:$port" -n 20 --max-sockets $MAXS --netns "/var/run/netns/$ns" ||
	{ FAIL=1; finish; exit; }
epid=$TRACER_PID

exec 3> >(in_ns "$ns" "$hold" -c "$N" -a "$N" -p 80 >"$WORK/hold.out")
hpid=$!
for _ in $(seq 1200); do [ -s "$WORK/hold.out" ] && break; sleep 0.5; done
check "hold connected to $N addresses" "$N" "$(jq .held "$WORK/hold.out" 2>/dev/null)"
exec 3>&-	# hold closes everything
wait "$hpid" 2>/dev/null
ns_settle "$ns" 1200	# until the last close
sleep 1
curl -sf "http://127.0.0.1:$port/metrics" >"$WORK/m.txt"
check "scraped" 0 $?
ehwm=$(awk '/^VmHWM/ {print $2}' "/proc/$epid/status")
tracer_stop "$epid"
# the report's peak RSS, its final report included
kill -INT "$rpid"
rhwm=0
for _ in $(seq 600); do
	h=$(awk '/^VmHWM/ {print $2}' "/proc/$rpid/status" 2>/dev/null)
	[ -n "$h" ] || break
	rhwm=$h; sleep 0.05
done
tracer_stop "$rpid"
check "report: exit 0" 0 $?

total=$((2 * N))
# Under this burst the kernel may skip program runs: counted as missed_runs
# (its recursion guard), or not counted at all (seen on 6.18 in a Firecracker
# VM). A socket whose close was skipped is found by the survey's sweep
# (closes_unseen) and charged to its rows as kind "unseen", so every socket
# followed is accounted for, exactly, in totals and in every row.
closed=$(jq .totals.closed "$out")
missed=$(jq .tracer.missed_runs "$out")
unseen=$(jq .tracer.closes_unseen "$out")
# kprobes on kernels before 6.7 skip nested runs without counting them
# (no recursion_misses for kprobe programs): a small loss, not reported.
want=$total
if [ "$(jq -r .attach "$out")" = kprobe ]; then
	want=$((total * 98 / 100))
	note "kprobe mode: $unseen closes not run; the sweep must find them (never-followed sockets allowed: 2%)"
fi
note "report: $((closed - unseen)) closes seen, $unseen found unseen, $missed runs skipped and counted"
check "report: no socket record left: each close seen or found unseen" 0 "$(jq .tracer.sockets_open "$out")"
check "report: the unseen closes are in the totals as kind unseen" "$unseen" "$(jq .totals.close.unseen "$out")"
check "report: closes seen + found unseen = sockets followed" "$(jq .tracer.sockets_followed "$out")" \
	"$closed"
check "report: process rows + other: seen + unseen = sockets followed" "$closed" \
	"$(jq '([.processes[].closed] | add) + .other.processes.closed' "$out")"
check "report: process rows + other: unseen closes" "$unseen" \
	"$(jq '([.processes[].close.unseen] | add) + .other.processes.close.unseen' "$out")"
check_ge "report: every close counted, found unseen, or its skipped run reported" "$want" \
	$((closed + missed))
check_ge "report: never more closes than there were" 0 $((total - closed))
check "report: no socket record evicted (--max-sockets $MAXS)" 0 "$(jq .tracer.evicted.sockets "$out")"
rows=$(jq '.peers | length' "$out")
check_ge "report: peer rows bounded by --max-peers $MAXP ($rows)" 0 $((MAXP - rows))
# other = totals - rows, exactly; every address and side is a row of its
# own, so all but the rows kept were evicted into it
check "report: other = totals - rows" "$(jq '.totals.closed - ([.peers[].closed] | add)' "$out")" \
	"$(jq .other.peers.closed "$out")"
check_ge "report: other holds every close beyond the rows kept" $((closed - rows)) \
	"$(jq .other.peers.closed "$out")"
check_ge "report: evicted rows counted" $((closed - rows)) "$(jq .other.peers.rows_evicted "$out")"
maps=$(jq .tracer.memory.maps_kib "$out")
check_ge "report: BPF maps within the documented $((MAPS_MAX_KIB / 1024)) MiB ($maps KiB)" 0 $((MAPS_MAX_KIB - maps))
check_ge "report: peak RSS within the documented $((RSS_MAX_KIB / 1024)) MiB ($rhwm KiB)" 0 $((RSS_MAX_KIB - rhwm))

check "export: -n 20 peer series" 20 \
	"$(grep -E '^tcpclose_peer_closes_total\{.*kind="local_first"' "$WORK/m.txt" | grep -vc 'role="other"')"
etotal=$(awk 'index($1, "tcpclose_closes_total{") == 1 {s += $2} END {printf "%d\n", s}' "$WORK/m.txt")
emissed=$(awk '$1 == "tcpclose_missed_runs_total" {print $2}' "$WORK/m.txt")
eunseen=$(awk '$1 == "tcpclose_closes_unseen_total" {print $2}' "$WORK/m.txt")
check_ge "export: every close counted, found unseen, or its skipped run reported" "$want" \
	$((etotal + emissed))
check "export: the unseen closes are the kind=\"unseen\" series" "$eunseen" \
	"$(awk '$1 == "tcpclose_closes_total{kind=\"unseen\"}" {print $2}' "$WORK/m.txt")"
check "export: series + other = totals" "$etotal" \
	"$(awk 'index($1, "tcpclose_peer_closes_total{") == 1 {s += $2} END {printf "%d\n", s}' "$WORK/m.txt")"
check_ge "export: the rest folded and counted" 1000 \
	"$(awk '$1 == "tcpclose_series_folded{table=\"peers\"}" {print $2}' "$WORK/m.txt")"
size=$(wc -c <"$WORK/m.txt")
check_ge "export: the exposition stays small ($size bytes)" 0 $((200000 - size))
check_ge "export: peak RSS within $((RSS_MAX_KIB / 1024)) MiB ($ehwm KiB)" 0 $((RSS_MAX_KIB - ehwm))
finish
