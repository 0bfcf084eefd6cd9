#!/bin/bash
# Rows and -c go by the process's name, as ps, pidof and top say it, not by
# the name of the thread that happened to connect, accept or close (a Java
# or thread-pool server's "http-nio-8080-exec-1"); the thread's own name is
# kept in trace records. threaded: one process "tc-threads", its threads
# "tc-acceptor", "tc-worker" (answers, closes first) and "tc-pool" (client).
. "$(dirname "$0")/lib.sh"
N=10
ns=$(netns_new thr) || exit 1
[ -x "$SCEN/threaded" ] || { check "build/scenario/threaded is built" yes no; finish; exit; }

out=$WORK/all.json
tracer_start "$out" report --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
r=$(in_ns "$ns" "$SCEN/threaded" 7301 "$N")
check "threaded ran: $N connections, no error" "$N 0" "$(jq -r '"\(.ok) \(.errors)"' <<<"$r")"
pid=$(jq .pid <<<"$r")
tracer_stop
check "one process row for it, named as the process: $((2 * N)) closes, seen + unseen" "1 tc-threads $((2 * N))" \
	"$(jq -r --argjson p "$pid" '[.processes[] | select(.pid == $p)] | "\(length) \(.[0].comm) \(.[0].closed)"' "$out")"
check "no row carries a thread's name" 0 \
	"$(jq '[.processes[], .peers[] | select(.comm | test("^tc-(worker|pool|acceptor)$"))] | length' "$out")"
check "its peer rows too: client and server, each $N" "client $N server $N" \
	"$(jq -r --argjson p "$pid" '[.peers[] | select(.pid == $p)] | sort_by(.role) | map("\(.role) \(.closed)") | join(" ")' "$out")"

# -c matches the process's name; a thread's name selects nothing.
out=$WORK/c.json
tracer_start "$out" report --json --netns "/var/run/netns/$ns" -c tc-threads || { FAIL=1; finish; exit; }
r=$(in_ns "$ns" "$SCEN/threaded" 7302 "$N")
tracer_stop
check "-c tc-threads: all of it" $((2 * N)) "$(jq .totals.closed "$out")"
out=$WORK/cw.json
tracer_start "$out" report --json --netns "/var/run/netns/$ns" -c tc-worker || { FAIL=1; finish; exit; }
r=$(in_ns "$ns" "$SCEN/threaded" 7303 "$N")
tracer_stop
check "-c tc-worker (a thread's name): nothing" 0 "$(jq .totals.closed "$out")"

# trace: the process, and the thread that did it.
out=$WORK/t.jsonl
tracer_start "$out" trace --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
r=$(in_ns "$ns" "$SCEN/threaded" 7304 "$N")
tracer_stop
check "trace: every record names the process" "tc-threads" "$(jq -r .comm "$out" | sort -u)"
check "trace: the client's records name its thread" "$N tc-pool" \
	"$(jq -r 'select(.role == "client") | .thread' "$out" | sort | uniq -c | awk '{print $1, $2}')"
check "trace: the server's records name the thread that closed" "$N tc-worker" \
	"$(jq -r 'select(.role == "server") | .thread' "$out" | sort | uniq -c | awk '{print $1, $2}')"
out=$WORK/t.txt
tracer_start "$out" trace --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
r=$(in_ns "$ns" "$SCEN/threaded" 7305 "$N")
tracer_stop
check "trace text: process(thread)" "$N" "$(grep -c 'tc-threads(tc-pool)' "$out")"
finish
