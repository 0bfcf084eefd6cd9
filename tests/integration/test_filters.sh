#!/bin/bash
# -p, -c and --netns keep exactly the matching sockets.
. "$(dirname "$0")/lib.sh"
N=20
ns=$(netns_new filt) || exit 1
ns2=$(netns_new other) || exit 1

# --netns: traffic in another namespace is not seen at all.
out=$WORK/netns.json
tracer_start "$out" report --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
in_ns "$ns2" "$SCEN/closer" client-first 4 6001 "$N" >/dev/null
in_ns "$ns" "$SCEN/closer" client-first 4 6002 "$N" >/dev/null
ns_settle "$ns"; ns_settle "$ns2"
tracer_stop
check "--netns: only this namespace's sockets" $((2 * N)) "$(jq .totals.closed "$out")"
check "--netns: peers all on port 6002" "6002" \
	"$(jq -r '.peers[] | [.local_port, .remote_port] | max' "$out" | sort -u)"

# -p PID: the server process only.
out=$WORK/pid.json
tracer_start "$out" report --json --netns "/var/run/netns/$ns" -p 1 || { FAIL=1; finish; exit; }
tracer_stop
check "-p with a pid that makes no sockets: nothing" 0 "$(jq .totals.closed "$out")"

# The scenario's pids are only known after fork, so filter by comm, then
# check -p against a long-lived server whose pid is known up front.
out=$WORK/comm.json
tracer_start "$out" report --json --netns "/var/run/netns/$ns" -c tc-client || { FAIL=1; finish; exit; }
in_ns "$ns" "$SCEN/closer" server-first 4 6003 "$N" >/dev/null
ns_settle "$ns"
tracer_stop
check "-c tc-client: only client sockets" "$N tc-client" \
	"$(jq -r '"\(.totals.closed) \([.processes[].comm] | unique | join(","))"' "$out")"
check "-c: the server's sockets were counted as filtered" "$N" "$(jq .tracer.filtered "$out")"

# -p: a long-lived server whose pid is known before any traffic.
. "$(dirname "$0")/nginx.sh"
nginx_conf web 'listen 127.0.0.1:6004; keepalive_timeout 0; location / { return 200 "ok\n"; }'
srv=$(nginx_start "$ns" web) || { check "nginx starts" 0 1; finish; exit; }
out=$WORK/pid2.json all=$WORK/all.json
tracer_start "$all" report --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
allpid=$TRACER_PID
tracer_start "$out" report --json --netns "/var/run/netns/$ns" -p "$srv" || { FAIL=1; finish; exit; }
in_ns "$ns" wrk -t1 -c2 -d1s http://127.0.0.1:6004/ >"$WORK/wrk.out"
nginx_stop "$ns" web
ns_settle "$ns"
kill -INT "$allpid" 2>/dev/null	# both stop together, on a quiet namespace
tracer_stop
tracer_stop "$allpid"
# The filtered report must be exactly the worker's slice of an unfiltered
# one taken at the same time. Each tracer times lifetimes and stays with its
# own programs' clock reads, so their sums (whole ms) may differ by a little.
check "-p WORKER: only the worker's sockets" "$srv" "$(jq -r '[.processes[].pid] | unique | join(",")' "$out")"
check_ge "-p WORKER: it served requests" 100 "$(jq .totals.closed "$out")"
check "-p WORKER: process row identical to the unfiltered run's" \
	"$(jq -c --argjson p "$srv" '.processes[] | select(.pid==$p) | del(.avg_lifetime_ms, .time_wait.preexisting, .time_wait.active, .time_wait.duration_ms.sum)' "$all")" \
	"$(jq -c '.processes[0] | del(.avg_lifetime_ms, .time_wait.preexisting, .time_wait.active, .time_wait.duration_ms.sum)' "$out")"
check "-p WORKER: pre-existing TIME_WAIT (no owner) is unavailable, not 0" "null null" \
	"$(jq -r '.totals.time_wait | "\(.preexisting) \(.active)"' "$out")"
check "-p WORKER: everything else was filtered" \
	"$(jq --argjson p "$srv" '.totals.closed - ([.processes[] | select(.pid==$p) | .closed] | add)' "$all")" \
	"$(jq .tracer.filtered "$out")"
finish
