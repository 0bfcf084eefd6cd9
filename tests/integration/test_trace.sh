#!/bin/bash
# trace: one record per closed socket, JSON Lines and text, with real ports
# and the state path the kernel went through.
. "$(dirname "$0")/lib.sh"
N=30
ns=$(netns_new trace) || exit 1
out=$WORK/trace.jsonl
tracer_start "$out" trace --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
a=$(in_ns "$ns" "$SCEN/closer" client-first 4 7001 "$N")
b=$(in_ns "$ns" "$SCEN/closer" server-reset 6 7002 "$N")
tracer_stop || check "trace exit status" 0 $?
ca=$(jq .client_pid <<<"$a"); sa=$(jq .server_pid <<<"$a"); cb=$(jq .client_pid <<<"$b")

check "every line is JSON" "$(wc -l <"$out")" "$(jq -c . "$out" | wc -l)"
check "records total" $((4 * N)) "$(wc -l <"$out")"
check "client-first client records" "$N" \
	"$(jq --argjson p "$ca" 'select(.pid==$p and .close=="local_first" and .role=="client")' "$out" | jq -s length)"
check "client path" "CLOSE>SYN_SENT>ESTABLISHED>FIN_WAIT1>FIN_WAIT2>CLOSE" \
	"$(jq -r --argjson p "$ca" 'select(.pid==$p) | .path' "$out" | sort -u)"
check "server path" "LISTEN>SYN_RECV>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSE" \
	"$(jq -r --argjson p "$sa" 'select(.pid==$p) | .path' "$out" | sort -u)"
check "client ephemeral ports are real and distinct" "$N" \
	"$(jq --argjson p "$ca" 'select(.pid==$p and .local_port > 0) | .local_port' "$out" | sort -u | wc -l)"
check "server side sees port 7001 locally" "$N" \
	"$(jq --argjson p "$sa" 'select(.pid==$p and .local_port==7001 and .remote_port > 0)' "$out" | jq -s length)"
check "IPv6 reset received by client" "$N ::1" \
	"$(jq -r --argjson p "$cb" 'select(.pid==$p and .close=="reset_received") | .remote_addr' "$out" | sort | uniq -c | awk '{print $1, $2}')"
check "one byte each way" "1 1" \
	"$(jq -r --argjson p "$ca" 'select(.pid==$p) | "\(.bytes_in) \(.bytes_out)"' "$out" | sort -u)"
check_match "stderr summary counts the records, none lost" "$((4 * N)) closed sockets printed, 0 lost" "$(cat "$out.err")"

# Text mode: header plus one line per socket.
out=$WORK/trace.txt
tracer_start "$out" trace --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
in_ns "$ns" "$SCEN/closer" server-first 4 7003 "$N" >/dev/null
tracer_stop
check_match "text header" '^TIME\(s\) +PID +COMM +ROLE' "$(head -1 "$out")"
check "text lines" $((2 * N)) "$(grep -c 'remote_first\|local_first' "$out")"
finish
