#!/bin/bash
# export: /metrics and the textfile against closes of a known order, checked
# by promtool and scraped by a real Prometheus server; the series beyond -n
# fold into "other" with nothing lost; the running exporter holds no
# capability (its survey helper only the survey's).
. "$(dirname "$0")/lib.sh"
N=6		# connections per destination
PORTS=5		# destinations, more than -n 3
ns=$(netns_new export) || exit 1
port=$((19000 + $$ % 1000))
url="http://127.0.0.1:$port/metrics"
# the textfile's directory belongs to nobody: the exporter runs as its owner
tfd=$WORK/tf
mkdir -m 755 "$tfd" && chown nobody: "$tfd" && chmod 711 "$WORK"
prom="$tfd/tc.prom"
out=$WORK/export.out
tracer_start "$out" export --listen "127.0.0.1:$port" --textfile "$prom" -i 1 -n 3 \
	--netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
epid=$TRACER_PID

# value SERIES FILE: the sample of exactly that series (0 when absent)
value() { awk -v s="$1" '$1 == s { v = $2 } END { print v == "" ? 0 : v }' "$2"; }
# sum of every sample of a metric with the given label fragment
sum_of() { awk -v m="$1" -v f="$2" 'index($1, m "{") == 1 && index($1, f) { s += $2 } END { printf "%d\n", s }' "$3"; }

# --- privileges, while it runs ----------------------------------------------
st=/proc/$epid/status
# Reading maps through open fds needs nothing since 5.19 (only creating maps
# and loading programs stay privileged); before, with unprivileged BPF
# disabled, the bpf() syscall itself wants CAP_BPF (39).
caps=0000000000000000
kv=$(uname -r | awk -F. '{print $1 * 1000 + $2}')
if [ "$kv" -lt 5019 ] && [ "$(cat /proc/sys/kernel/unprivileged_bpf_disabled)" != 0 ]; then
	caps=0000008000000000
fi
check "the exporter holds no capability it does not use (CapEff, CapPrm, CapBnd)" "$caps $caps $caps" \
	"$(awk '/^Cap(Eff|Prm|Bnd):/ {printf "%s%s", sep, $2; sep=" "}' "$st")"
check "the exporter cannot gain any (NoNewPrivs)" 1 "$(awk '/^NoNewPrivs:/ {print $2}' "$st")"
# Without capabilities uid 0 still owns root's files: the long-lived
# process runs as nobody (--user), under a seccomp allow-list (mode 2).
check "the exporter runs as its textfile directory's owner, nobody; no supplementary groups" "65534 65534 " \
	"$(awk '/^Uid:/ {u=$2} /^Gid:/ {g=$2} /^Groups:/ {$1=""; gr=$0} END {print u, g, gr}' "$st" | sed 's/ *$/ /')"
check "the exporter is under its seccomp filter" 2 "$(awk '/^Seccomp:/ {print $2}' "$st")"
helper=$(pgrep -P "$epid" | head -1)
if [ -n "$helper" ]; then
	# CAP_DAC_READ_SEARCH 2, SYS_PTRACE 19, SYS_ADMIN 21, PERFMON 38, BPF 39
	check "its survey helper keeps only the survey's capabilities" 000000c000280004 \
		"$(awk '/^CapEff:/ {print $2}' "/proc/$helper/status")"
	check "the survey helper holds no BPF link (one fd: the iterator program)" 1 \
		"$(ls -l "/proc/$helper/fd" | grep -c 'anon_inode:bpf')"
	check "the survey helper: uid 0 (setns wants it), seccomp filter, no_new_privs" "0 2 1" \
		"$(awk '/^Uid:/ {u=$2} /^Seccomp:/ {s=$2} /^NoNewPrivs:/ {n=$2} END {print u, s, n}' "/proc/$helper/status")"
else
	check "a survey helper runs" yes no
fi

# --- known traffic -------------------------------------------------------------
for i in $(seq $PORTS); do
	line=$(in_ns "$ns" "$SCEN/closer" client-first 4 $((7100 + i)) "$N")
	[ "$(jq -r .ok <<<"$line")" = true ] || check "closer run $i" true false
done
sleep 2.5	# at least two textfile rewrites
curl -sf "$url" >"$WORK/m1.txt"
check "GET /metrics answers" 0 $?
check_match "content type is the text format 0.0.4" "version=0.0.4" \
	"$(curl -sI "$url" | tr -d '\r' | grep -i '^content-type')"
check "GET / points at /metrics" "tcpclose exporter: the metrics are at /metrics" "$(curl -sf "http://127.0.0.1:$port/")"
check "an unknown path is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")"
if command -v promtool >/dev/null; then
	promtool check metrics <"$WORK/m1.txt" >"$WORK/promtool.out" 2>&1
	check "promtool check metrics: no problem" "0 " "$? $(cat "$WORK/promtool.out")"
else
	note "promtool not installed here: format check skipped"
fi

total=$((N * PORTS))
# A close whose run the kernel skipped is kind "unseen" (lib.sh: within)
unseen=$(value 'tcpclose_closes_total{kind="unseen"}' "$WORK/m1.txt")
lf=$(value 'tcpclose_closes_total{kind="local_first"}' "$WORK/m1.txt")
within "closes: local first = client-first connections" "$total" "$lf" "$unseen"
within "closes: remote first = their server side" "$total" "$(value 'tcpclose_closes_total{kind="remote_first"}' "$WORK/m1.txt")" "$unseen"
check "TIME_WAIT entered = one per connection (client side)" "$total" "$(value 'tcpclose_timewait_entered_total' "$WORK/m1.txt")"
check "connect attempts" "$total" "$(value 'tcpclose_connect_attempts_total' "$WORK/m1.txt")"
# Which rows get the 3 series depends on when each was first scraped (a
# series, once shown, stays): any 3 of the 10, each with its 6 closes.
shown='^tcpclose_peer_closes_total\{role="(client|server)"'
check "peer series cut to -n 3" 3 "$(grep -cE "$shown.*kind=\"local_first\"" "$WORK/m1.txt")"
check "each shown row has its $N closes" $((3 * N)) \
	"$(grep -E "$shown" "$WORK/m1.txt" | awk '{s += $2} END {print s + 0}')"
# 5 client + 5 server rows, 3 shown: 7 folded, nothing lost
check "rows folded into other" 7 "$(value 'tcpclose_series_folded{table="peers"}' "$WORK/m1.txt")"
check "peer series + other = the totals (local first)" "$lf" "$(sum_of tcpclose_peer_closes_total 'kind="local_first"' "$WORK/m1.txt")"
check "peer series + other = the totals (remote first)" "$(value 'tcpclose_closes_total{kind="remote_first"}' "$WORK/m1.txt")" \
	"$(sum_of tcpclose_peer_closes_total 'kind="remote_first"' "$WORK/m1.txt")"
check "process series + other = the totals" "$((2 * total))" "$(sum_of tcpclose_process_closes_total 'kind=' "$WORK/m1.txt")"
check_match "every shown destination's ports were surveyed" '^tcpclose_peer_ports_in_use\{role="client".* [0-9]' \
	"$(grep '^tcpclose_peer_ports_in_use' "$WORK/m1.txt")"

# --- the Grafana dashboard is built on these metrics ----------------------------------
dash="$ROOT/tools/grafana/tcpclose.json"
exprs=$(jq -r '.panels[].targets[].expr' "$dash")
check_ge "dashboard: panels with queries" 8 "$(wc -l <<<"$exprs")"
missing=
for name in $(grep -o 'tcpclose_[a-z_]*' <<<"$exprs" | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
	grep -q "^# TYPE $name " "$WORK/m1.txt" && continue
	# only emitted where the port search is hooked / when a destination runs out
	[ "$name" = tcpclose_connect_port_retries ] && grep -q 'port_hook=""' "$WORK/m1.txt" && continue
	[ "$name" = tcpclose_peer_ports_exhaustion_seconds ] && continue
	missing="$missing $name"
done
check "dashboard: every metric it queries is exported" "" "$missing"
if command -v promtool >/dev/null; then
	# each query, Grafana's variables filled in, as a recording rule promtool parses
	{
		echo "groups: [ { name: dashboard, rules: ["
		i=0
		while IFS= read -r e; do
			e=${e//\$__rate_interval/5m}; e=${e//\$instance/.*}
			printf '  { record: "tcpclose:q%d", expr: %s },\n' $((i += 1)) "$(jq -Rn --arg e "$e" '$e')"
		done <<<"$exprs"
		echo "] } ]"
	} >"$WORK/dash-rules.yml"
	promtool check rules "$WORK/dash-rules.yml" >"$WORK/rules.out" 2>&1
	check "dashboard: every query parses (promtool check rules)" "0 " "$? $(grep -i error "$WORK/rules.out")"
fi

# --- the textfile ------------------------------------------------------------------
check "textfile: the same totals" "$lf" "$(value 'tcpclose_closes_total{kind="local_first"}' "$prom")"
if command -v promtool >/dev/null; then
	promtool check metrics <"$prom" >/dev/null 2>&1
	check "textfile: promtool check metrics" 0 $?
fi
check "textfile: world-readable for node_exporter" 644 "$(stat -c %a "$prom")"

# --- a real Prometheus server scrapes it --------------------------------------------
if command -v prometheus >/dev/null; then
	pport=$((port + 1))
	mkdir -p "$WORK/prom"
	cat >"$WORK/prom.yml" <<-EOF
	global: { scrape_interval: 1s, scrape_timeout: 1s }
	scrape_configs:
	  - job_name: tcpclose
	    static_configs: [ { targets: ['127.0.0.1:$port'] } ]
	EOF
	prometheus --config.file="$WORK/prom.yml" --storage.tsdb.path="$WORK/prom" \
		--web.listen-address="127.0.0.1:$pport" >"$WORK/prometheus.log" 2>&1 &
	ppid_=$!
	TRACERS+=("$ppid_")
	got=
	q='tcpclose_closes_total{job="tcpclose",kind="local_first"}'
	for _ in $(seq 60); do
		got=$(curl -sf -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$q" |
			jq -r '.data.result[0].value[1] // empty' 2>/dev/null)
		[ -n "$got" ] && break
		sleep 0.5
	done
	check "Prometheus scraped it and answers the query" "$lf" "${got:-none}"
	up=$(curl -sf -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode 'query=up{job="tcpclose"}' |
		jq -r '.data.result[0].value[1] // empty')
	check "Prometheus sees the target up" 1 "$up"
	kill "$ppid_" 2>/dev/null; wait "$ppid_" 2>/dev/null
else
	note "prometheus not installed here: scrape check skipped"
fi

# --- a taken port, then the end -------------------------------------------------------
"$TCPCLOSE" export --listen "127.0.0.1:$port" >"$WORK/dup.out" 2>&1
rc=$?
check "a taken port: exit 1" 1 "$rc"
check_match "a taken port: one clear line" "^tcpclose: error: cannot listen on 127.0.0.1 port $port: Address already in use$" \
	"$(cat "$WORK/dup.out")"

tracer_stop "$epid"
check "SIGINT: exit 0" 0 $?
check "SIGINT: the helper is gone with it" "" "$(pgrep -P "$epid" 2>/dev/null)"
check "no temporary file left next to the textfile" "tc.prom" "$(ls "$tfd")"
within "the final textfile has the final counts" "$total" "$(value 'tcpclose_closes_total{kind="local_first"}' "$prom")" \
	"$(value 'tcpclose_closes_total{kind="unseen"}' "$prom")"
check_match "stderr says how many scrapes were served" "scrapes served" "$(cat "$out.err")"

# --- hostile names and clients, failing writes, a stop by the group (issue 16) ---------
port2=$((port + 2))
url2="http://127.0.0.1:$port2/metrics"
tdir=$WORK/tdir
mkdir -m 755 "$tdir"
prom2=$tdir/tc.prom
out2=$WORK/export2.out
# setsid: a process group of its own, as under systemd (the TERM at the end goes to all of it)
setsid "$TCPCLOSE" export --listen "127.0.0.1:$port2" --textfile "$prom2" -i 1 -n 20 \
	--netns "/var/run/netns/$ns" ${TCPCLOSE_ATTACH:+--attach $TCPCLOSE_ATTACH} >"$out2" 2>"$out2.err" &
e2=$!
TRACERS+=("$e2")
for _ in $(seq 200); do
	grep -q "tracing TCP closes" "$out2.err" 2>/dev/null && break
	kill -0 "$e2" 2>/dev/null || break
	sleep 0.1
done
# the process group from /proc (the VM's busybox ps has no -o pgid)
check "second exporter: its own process group" "$e2" "$(awk '{print $5}' "/proc/$e2/stat")"

# A comm is any bytes a process chose: \xff\xfe is not UTF-8. The exposition
# says charset=utf-8, and one bad byte fails the whole scrape in Prometheus.
in_ns "$ns" timeout 10 sh -c 'sleep 3 | busybox nc -l -p 7300 >/dev/null' &
nc_pid=$!
for _ in $(seq 20); do
	in_ns "$ns" bash -c 'printf "\xff\xfe" >/proc/self/comm
		exec 3<>/dev/tcp/127.0.0.1/7300 && echo hi >&3 && exec 3>&-' 2>/dev/null && break
	sleep 0.2
done
wait "$nc_pid" 2>/dev/null
sleep 1.2	# a fresh collection
curl -sf "$url2" >"$WORK/m2.txt"
check_ge "a comm of invalid bytes: its series, the bytes as U+FFFD" 1 \
	"$(grep -c $'^tcpclose_process_closes_total{comm="\xef\xbf\xbd\xef\xbf\xbd"' "$WORK/m2.txt")"
check "a comm of invalid bytes: no raw byte in the scrape" 0 "$(LC_ALL=C grep -c $'\xff' "$WORK/m2.txt")"
if command -v promtool >/dev/null; then
	promtool check metrics <"$WORK/m2.txt" >"$WORK/promtool2.out" 2>&1
	check "a comm of invalid bytes: promtool check metrics accepts the scrape" "0 " "$? $(cat "$WORK/promtool2.out")"
	promtool check metrics <"$prom2" >"$WORK/promtool3.out" 2>&1
	check "a comm of invalid bytes: and the textfile" "0 " "$? $(cat "$WORK/promtool3.out")"
fi

# Slow clients: 20 connections from 127.0.0.1 that send a request line one
# byte every 4 s (idle under any timeout of 5 s or more), as in the audit.
slow() {	# slow ID PERIOD SECONDS: prints "ID cut MS" when the server closed it, or "ID held"
	local t0=${EPOCHREALTIME/./} x rc
	exec 3<>"/dev/tcp/127.0.0.1/$port2" || { echo "$1 refused"; return; }
	printf G >&3
	while (( (${EPOCHREALTIME/./} - t0) / 1000000 < $3 )); do
		read -r -t "$2" -n 1 -u 3 x; rc=$?
		if [ "$rc" -le 128 ]; then	# EOF or reset, not the timeout
			echo "$1 cut $(( (${EPOCHREALTIME/./} - t0) / 1000 ))"; return
		fi
		printf E >&3 2>/dev/null || { echo "$1 cut $(( (${EPOCHREALTIME/./} - t0) / 1000 ))"; return; }
	done
	echo "$1 held"
}
slow_pids=()
for i in $(seq 20); do
	( trap '' PIPE; slow "$i" 4 12 ) >"$WORK/slow.$i" 2>/dev/null &
	slow_pids+=($!)
done
sleep 0.8
# another host (source 127.0.0.2) scrapes while they hold their connections
code=$(curl -s -o "$WORK/m3.txt" -w '%{http_code}' -m 3 --interface 127.0.0.2 "$url2")
check "20 slow clients of one host: another host's scrape is served at once" 200 "$code"
# the same host: once the slow ones are cut, within a few seconds
t0=${EPOCHREALTIME/./}; code=000
while (( (${EPOCHREALTIME/./} - t0) / 1000000 < 9 )); do
	code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$url2")
	[ "$code" = 200 ] && break
	sleep 0.3
done
took=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
check "20 slow clients: a scrape from their own host too, within 6 s" "200 yes" \
	"$code $([ "$took" -le 6000 ] && echo yes || echo "no (${took} ms)")"
wait "${slow_pids[@]}"
cat "$WORK"/slow.* >"$WORK/slow.all"
check "20 slow clients: every one cut by the exporter" 20 "$(grep -c ' cut ' "$WORK/slow.all")"
check "20 slow clients: none held more than 5 s" 0 "$(awk '$2 == "cut" && $3 > 5000 || $2 != "cut"' "$WORK/slow.all" | wc -l)"

# A textfile write that fails (the directory turns read-only to a root
# without capabilities) is said once and counted; HTTP and the rest go on.
chmod 555 "$tdir"
sleep 3.5
check "textfile failing: the exporter still runs" 0 "$(kill -0 "$e2" 2>/dev/null; echo $?)"
curl -sf "$url2" >"$WORK/m4.txt"
check "textfile failing: /metrics still served" 0 $?
check_ge "textfile failing: the failures counted" 2 \
	"$(value tcpclose_textfile_write_failures_total "$WORK/m4.txt")"
check "textfile failing: said once, not every -i" 1 "$(grep -c 'cannot write --textfile' "$out2.err")"
mt=$(stat -c %y "$prom2")
chmod 755 "$tdir"
sleep 2
check_match "textfile failing: its recovery said" "written again" "$(cat "$out2.err")"
check "textfile failing: rewritten since" yes \
	"$([ "$(stat -c %y "$prom2")" != "$mt" ] && echo yes || echo no)"

# A stop by the whole process group (systemd's TERM): the survey helper
# must not die first, the last textfile keeps its port data.
in_ns "$ns" "$SCEN/closer" client-first 4 7301 3 >/dev/null
helper2=$(pgrep -P "$e2" | head -1)
kill -TERM -- "-$e2"
for _ in $(seq 100); do kill -0 "$e2" 2>/dev/null || break; sleep 0.1; done
wait "$e2"
check "TERM to the process group: exit 0" 0 $?
check "TERM to the process group: the helper is gone too" no \
	"$([ -n "${helper2:-}" ] && [ -d "/proc/$helper2" ] && echo yes || echo no)"
check_match "TERM to the process group: the final write happened" "scrapes served" "$(cat "$out2.err")"
check_ge "TERM to the process group: the last textfile has the port survey" 1 \
	"$(grep -c '^tcpclose_peer_ports_usable{role="client"' "$prom2")"
check "TERM to the process group: no error said" "" "$(grep -v 'cannot write --textfile\|written again' "$out2.err" | grep -i error)"

# A textfile directory root can write to only with CAP_DAC_OVERRIDE (its
# own, but read-only): once the capabilities are dropped it cannot. Refused
# at start, before any BPF load, in one line that says why.
mkdir -m 555 "$WORK/ro"
timeout 20 "$TCPCLOSE" export --textfile "$WORK/ro/tc.prom" -d 1 >"$WORK/ro.out" 2>&1
check "a textfile directory not writable without capabilities: exit 1" 1 $?
check_match "... one line naming the directory and why" \
	"^tcpclose: error: --textfile directory $WORK/ro is not writable .*\(owner uid 0, mode 0555\)" \
	"$(cat "$WORK/ro.out")"
check "... and only that line, before any BPF load" "1 " "$(wc -l <"$WORK/ro.out") $(grep 'tracing TCP' "$WORK/ro.out")"
timeout 20 "$TCPCLOSE" export --textfile "$WORK/nodir/tc.prom" -d 1 >"$WORK/nodir.out" 2>&1
check "a textfile directory that does not exist: exit 1, one line" \
	"1 tcpclose: error: --textfile directory $WORK/nodir: does not exist" "$? $(cat "$WORK/nodir.out")"
finish
