#!/bin/bash
# Container labels: closes of processes in cgroups laid out as docker's
# systemd scope, the kubelet's systemd slices (containerd) and its cgroupfs
# tree carry the container id, the pod UID and the QoS class derived from
# the path: in the JSON, the Prometheus labels and top's columns. No
# container runtime: the cgroups are made here, below a test-owned one.
. "$(dirname "$0")/lib.sh"
need_cgroup2
root=$CGROUP2
ID1=4f1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef
ID2=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ID3=fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210
UID1=8f3e5b2a-1c4d-4e6f-9a0b-7c2d1e3f4a5b
UID3=11111111-2222-4333-8444-555555555555
top=tcpc-ctr-$$
base=$root/$top
k8s=kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID1//-/_}.slice/cri-containerd-$ID1.scope
dock=system.slice/docker-$ID2.scope
cgfs=kubepods/besteffort/pod$UID3/$ID3
for d in "$k8s" "$dock" "$cgfs"; do
	mkdir -p "$base/$d" || { check "create cgroup $d" 0 1; finish; exit; }
done
rm_cgroups() { find "$base" -depth -type d -exec rmdir {} + 2>/dev/null; }
ns=$(netns_new containers) || { rm_cgroups; exit 1; }
port=$((20000 + $$ % 1000))
url="http://127.0.0.1:$port/metrics"
json=$WORK/ctr.json
tracer_start "$json" report --json --cgroup "/$top" --netns "/var/run/netns/$ns" || { rm_cgroups; FAIL=1; finish; exit; }
rpid=$TRACER_PID
tracer_start "$WORK/export.out" export --listen "127.0.0.1:$port" --cgroup "/$top" \
	--netns "/var/run/netns/$ns" || { rm_cgroups; FAIL=1; finish; exit; }
epid=$TRACER_PID

# run_in CGROUP PORT: a client in that cgroup (its server too: both count)
run_in() {
	bash -c "echo \$\$ >'$base/$1/cgroup.procs' && exec ip netns exec '$ns' '$SCEN/closer' client-first 4 $2 5"
}
n=0
for spec in "$k8s:7401" "$dock:7402" "$cgfs:7403"; do
	line=$(run_in "${spec%:*}" "${spec##*:}")
	[ "$(jq -r .ok <<<"$line")" = true ] && n=$((n + 1))
done
check "the three clients ran, each in its cgroup" 3 "$n"
sleep 1.1	# a scrape collects afresh at most once a second
curl -sf "$url" >"$WORK/m.txt"
check "GET /metrics answers" 0 $?
tracer_stop "$epid"
tracer_stop "$rpid"
check "report exits 0" 0 $?

# JSON: one object per process row, by its cgroup
ctr() { jq -c --arg cg "/$top/$1" '[.processes[] | select(.cgroup == $cg) | .container] | unique' "$json"; }
check "JSON: kubelet systemd slices + containerd scope" \
	"[{\"id\":\"$ID1\",\"runtime\":\"containerd\",\"pod_uid\":\"$UID1\",\"qos_class\":\"burstable\"}]" "$(ctr "$k8s")"
check "JSON: docker's systemd scope" \
	"[{\"id\":\"$ID2\",\"runtime\":\"docker\",\"pod_uid\":null,\"qos_class\":null}]" "$(ctr "$dock")"
check "JSON: kubelet cgroupfs tree (runtime not in the path)" \
	"[{\"id\":\"$ID3\",\"runtime\":null,\"pod_uid\":\"$UID3\",\"qos_class\":\"besteffort\"}]" "$(ctr "$cgfs")"
check "JSON: every process row is in one of them" 0 \
	"$(jq '[.processes[] | select(.container == null)] | length' "$json")"

# Prometheus: the labels after cgroup, on the process series
lab() { grep -c "^tcpclose_process_closes_total{comm=\"tc-client\",pid=\"[0-9]*\",cgroup=\"/$top/$1\"$2,kind=\"local_first\"} [1-9]" "$WORK/m.txt"; }
check "metrics: container_id, pod_uid, qos_class (kubelet systemd)" 1 \
	"$(lab "$k8s" ",container_id=\"$ID1\",pod_uid=\"$UID1\",qos_class=\"burstable\"")"
check "metrics: container_id only (docker)" 1 "$(lab "$dock" ",container_id=\"$ID2\"")"
check "metrics: container_id, pod_uid, qos_class (kubelet cgroupfs)" 1 \
	"$(lab "$cgfs" ",container_id=\"$ID3\",pod_uid=\"$UID3\",qos_class=\"besteffort\"")"
if command -v promtool >/dev/null; then
	promtool check metrics <"$WORK/m.txt" >"$WORK/promtool.out" 2>&1
	check "promtool check metrics: no problem" "0 " "$? $(cat "$WORK/promtool.out")"
fi

# top: the columns
tracer_start "$WORK/top.out" top -d 3 -i 1 --cgroup "/$top" --netns "/var/run/netns/$ns" || { rm_cgroups; FAIL=1; finish; exit; }
tpid=$TRACER_PID
bash -c "echo \$\$ >'$base/$k8s/cgroup.procs' && exec ip netns exec '$ns' '$SCEN/closer' client-first 4 7404 5" >/dev/null
wait "$tpid" 2>/dev/null
check_match "top: the CONTAINER, POD and QOS columns" ' CONTAINER +POD +QOS ' "$(cat "$WORK/top.out")"
check_match "top: the short id, the pod UID's first group, the QoS class" \
	" ${ID1:0:12} ${UID1:0:8} burstable " "$(cat "$WORK/top.out")"
rm_cgroups
check "the test's cgroups are gone" no "$([ -d "$base" ] && echo yes || echo no)"
finish
