#!/bin/bash
# Closes the kernel never showed the tracer are found afterwards: the
# survey's sweep finds socket records whose socket is gone (sweep.h). Two
# records are planted beside the real ones while connections are held: a
# copy of a live client's record with its remote port changed (a socket
# that is gone: its close was "missed") and an unchanged copy (its socket is
# alive). The sweep must count the first and only the first.
. "$(dirname "$0")/lib.sh"
ns=$(netns_new unseen) || exit 1
hold=$ROOT/build/bench/hold
[ -x "$hold" ] || { check "build/bench/hold is built" yes no; finish; exit; }
before=$(bpftool -j map show | jq '[.[] | select(.name == "socks") | .id] | max // 0')

out=$WORK/r.json
tracer_start "$out" report --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
exec 3> >(in_ns "$ns" "$hold" -c 2 -a 2 -p 80 >"$WORK/hold.out")
hpid=$!
for _ in $(seq 100); do [ -s "$WORK/hold.out" ] && break; sleep 0.1; done
check "hold connected" 2 "$(jq .held "$WORK/hold.out" 2>/dev/null)"
sleep 0.5	# older than the sweep's minimum age
id=$(bpftool -j map show | jq --argjson b "$before" \
	'[.[] | select(.name == "socks" and .id > $b) | .id] | max // empty')
check "the tracer's socks map found" yes "$([ -n "$id" ] && echo yes || echo no)"
bpftool -j map dump id "$id" >"$WORK/socks.json"
check "4 records: 2 connections, both ends" 4 "$(jq length "$WORK/socks.json")"
# a client's record: tuple.rport is bytes 34-35 of the value (tcpclose.h)
val=$(jq -r '[.[] | select(.formatted.value.role == 1)][0].value | join(" ")' "$WORK/socks.json")
read -ra bytes <<<"$val"
alive=("${bytes[@]}")
bytes[34]=0x09; bytes[35]=0x00	# remote port 9: no such socket
bpftool map update id "$id" key 0x08 0 0 0 0 0 0 0 value "${bytes[@]}"
check "planted the record of a gone socket" 0 $?
bpftool map update id "$id" key 0x10 0 0 0 0 0 0 0 value "${alive[@]}"
check "planted a copy of a live socket's record" 0 $?
tracer_stop
check "report: exit 0" 0 $?
check "the gone socket's record: one close found unseen" 1 "$(jq .tracer.closes_unseen "$out")"
check "the live copy and the 4 real records stay open" 5 "$(jq .tracer.sockets_open "$out")"
check "no record counted evicted" 0 "$(jq .tracer.evicted.sockets "$out")"
check "nothing closed yet" 0 "$(jq .totals.closed "$out")"

# the text report says so in a warning
out2=$WORK/r.txt
before=$(bpftool -j map show | jq '[.[] | select(.name == "socks") | .id] | max // 0')
tracer_start "$out2" report --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
sleep 0.5
id=$(bpftool -j map show | jq --argjson b "$before" \
	'[.[] | select(.name == "socks" and .id > $b) | .id] | max // empty')
bpftool map update id "$id" key 0x08 0 0 0 0 0 0 0 value "${bytes[@]}"
tracer_stop
check "text report: a warning line for it" 1 \
	"$(grep -c '^WARNING: 1 sockets ended without their close reaching the tracer' "$out2")"
exec 3>&-
wait "$hpid" 2>/dev/null
finish
