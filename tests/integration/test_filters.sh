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
tracer_stop
check "-c tc-client: only client sockets" "$N tc-client" \
	"$(jq -r '"\(.totals.closed) \([.processes[].comm] | unique | join(","))"' "$out")"
check "-c: the server's sockets were counted as filtered" "$N" "$(jq .tracer.filtered "$out")"

ip netns exec "$ns" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 6004)); s.listen(64)
print("ready", flush=True)
for _ in range(int(sys.argv[1])):
    c, _ = s.accept(); c.recv(1); c.send(b"r"); c.close()
' "$N" >"$WORK/py.out" &
srv=$!
for _ in $(seq 50); do grep -q ready "$WORK/py.out" 2>/dev/null && break; sleep 0.1; done
out=$WORK/pid2.json
tracer_start "$out" report --json --netns "/var/run/netns/$ns" -p "$srv" || { FAIL=1; finish; exit; }
in_ns "$ns" python3 -c '
import socket, sys
for _ in range(int(sys.argv[1])):
    c = socket.create_connection(("127.0.0.1", 6004)); c.send(b"q"); c.recv(1); c.recv(1); c.close()
' "$N"
wait "$srv"
tracer_stop
check "-p SERVER: only its sockets, all local_first" "$N $N $srv" \
	"$(jq -r '"\(.totals.closed) \(.totals.close.local_first) \([.processes[].pid] | unique | join(","))"' "$out")"
finish
