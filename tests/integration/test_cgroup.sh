#!/bin/bash
# Containers: closes are attributed to the cgroup v2 path, and --cgroup PATH
# keeps exactly the sockets of tasks at or below PATH (a nested cgroup, as a
# container's workload sits below its scope), no matter the netns.
. "$(dirname "$0")/lib.sh"
need_cgroup2
root=$CGROUP2
cg=tcpc-cg-$$
mkdir -p "$root/$cg/inner" || { check "create a cgroup" 0 1; finish; exit; }
ns=$(netns_new cgroup) || exit 1
out=$WORK/cg.json
# given as "/$cg/inner/..": resolved, it is "/$cg" (unresolved, it matched
# nothing: the "inner/.." counted as two levels below the mount)
tracer_start "$out" report --json --cgroup "/$cg/inner/.." --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
IN=15 OUT=7
# the workload, in the nested cgroup; a neighbour outside it at the same time
inside=$(bash -c "echo \$\$ >'$root/$cg/inner/cgroup.procs' && exec ip netns exec '$ns' '$SCEN/closer' client-first 4 7301 $IN")
outside=$(in_ns "$ns" "$SCEN/closer" client-first 4 7302 $OUT)
tracer_stop
check "exit 0" 0 $?
check "scenario inside ran" true "$(jq -r .ok <<<"$inside")"
check "scenario outside ran" true "$(jq -r .ok <<<"$outside")"
check "only the cgroup's closes: client and server side" $((2 * IN)) "$(jq .totals.closed "$out")"
check "the neighbour's closes were filtered, and counted as such" $((2 * OUT)) "$(jq .tracer.filtered "$out")"
check "its processes are attributed to the cgroup's path" "/$cg/inner" \
	"$(jq -r '[.processes[].cgroup] | unique | join(",")' "$out")"
check "and its id is that directory's inode" "$(stat -c %i "$root/$cg/inner")" \
	"$(jq -r '[.processes[].cgroup_id] | unique | join(",")' "$out")"
check "only its destination in the peer table" 7301 \
	"$(jq -r '[.peers[] | select(.role == "client") | .remote_port] | unique | join(",")' "$out")"

# the path may also be given under the mount
"$TCPCLOSE" report -d 0.5 --cgroup "$root/$cg" >/dev/null 2>"$WORK/full.err"
check "a path under the mount works too" "0 " "$? $(cat "$WORK/full.err" | grep -v 'tracing TCP closes')"
"$TCPCLOSE" report -d 1 --cgroup "/$cg-nope" >/dev/null 2>"$WORK/bad.err"
check "a missing cgroup: exit 1" 1 $?
check_match "a missing cgroup: one clear line" "^tcpclose: error: --cgroup '/$cg-nope': not a cgroup \(No such file or directory\)$" \
	"$(cat "$WORK/bad.err")"
# resolved outside the mount, or to what is not a directory: a clear line
"$TCPCLOSE" report -d 1 --cgroup "../../.." >/dev/null 2>"$WORK/up.err"
check "above the mount: exit 1" 1 $?
check_match "above the mount: one clear line" "^tcpclose: error: --cgroup '../../..': outside the cgroup v2 hierarchy \(../../.. is /[^ ]*\)$" \
	"$(cat "$WORK/up.err")"
"$TCPCLOSE" report -d 1 --cgroup "/$cg/cgroup.procs" >/dev/null 2>"$WORK/file.err"
check "a file of the cgroup: exit 1" 1 $?
check_match "a file of the cgroup: one clear line" "^tcpclose: error: --cgroup '/$cg/cgroup.procs': not a cgroup \(not a directory\)$" \
	"$(cat "$WORK/file.err")"
rmdir "$root/$cg/inner" "$root/$cg" 2>/dev/null
finish
