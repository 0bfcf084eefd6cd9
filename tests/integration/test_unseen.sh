#!/bin/bash
# Closes the kernel never showed the tracer are found afterwards: the
# survey's sweep finds socket records whose socket is gone (sweep.h). Two
# records are planted beside the real ones while connections are held: a
# copy of a live client's record with its remote port changed (a socket
# that is gone: its close was "missed") and an unchanged copy (its socket is
# alive). The sweep must count the first and only the first, and charge it
# to the rows the record names: the attempt, the process, the destination,
# a close of kind "unseen". A third planted record names the 4-tuple of a
# real TIME_WAIT socket: its row must tell it took one.
. "$(dirname "$0")/lib.sh"
ns=$(netns_new unseen) || exit 1
hold=$ROOT/build/bench/hold
[ -x "$hold" ] || { check "build/bench/hold is built" yes no; finish; exit; }
# a map of this test's tracer by name (not another tracer's running meanwhile)
tracer_map() {
	local ids
	ids=$(cat /proc/"$TRACER_PID"/fdinfo/* 2>/dev/null | awk '/^map_id:/ {print $2}' | sort -u)
	bpftool -j map show | jq --arg ids "$ids" --arg n "$1" \
		'[.[] | select(.name == $n and ((.id | tostring) as $i | $ids | split("\n") | index($i)))][0].id // empty'
}
# The socket table (bpf/tcpclose.h): tags by set in sock_sets, records by
# slot in socks. A small one (--max-sockets 1024: 128 sets) dumps quickly.
MAXS=1024
le() {	# le BYTES VALUE: VALUE as BYTES little-endian bytes for bpftool
	local i v=$2 out=()
	for ((i = 0; i < $1; i++)); do out+=("$(printf '0x%02x' $((v & 255)))"); v=$((v >> 8)); done
	echo "${out[@]}"
}
table_dump() {	# "slot used" lines (used: 0 or 1) in tags.txt; the raw sets, the records
	sets_id=$(tracer_map sock_sets) recs_id=$(tracer_map socks)
	bpftool -j map dump id "$recs_id" >"$WORK/recs.json"
	bpftool -j map dump id "$sets_id" >"$WORK/sets.json"
	# raw bytes: a tag is a 64-bit address, more than jq's numbers hold
	jq -r '.[] | .formatted.key as $s | [range(8)] | .[] as $w |
		"\($s * 8 + $w)"' "$WORK/sets.json" >"$WORK/slots.txt"
	jq -r '.[] | .value as $v | [range(8)] | .[] as $w |
		($v[$w * 8:$w * 8 + 8] | map(select(. != "0x00")) | length > 0) | if . then 1 else 0 end' \
		"$WORK/sets.json" | paste -d' ' "$WORK/slots.txt" - >"$WORK/tags.txt"
}
# plant SLOT ADDR BYTES...: a record at a free slot, tagged with ADDR
plant() {
	local slot=$1 addr=$2 set raw
	shift 2
	bpftool map update id "$recs_id" key $(le 4 "$slot") value "$@" || return 1
	set=$((slot / 8))
	read -ra raw <<<"$(jq -r --argjson s "$set" '.[] | select(.formatted.key == $s) | .value | join(" ")' \
		"$WORK/sets.json")"
	read -ra tag <<<"$(le 8 "$addr")"
	for i in {0..7}; do raw[$(( (slot % 8) * 8 + i ))]=${tag[$i]}; done
	bpftool map update id "$sets_id" key $(le 4 "$set") value "${raw[@]}"
}
free_slots() { awk '$2 == 0 {print $1}' "$WORK/tags.txt" | head -"$1"; }

out=$WORK/r.json
tracer_start "$out" report --json --max-sockets $MAXS --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
exec 3> >(in_ns "$ns" "$hold" -c 2 -a 2 -p 80 >"$WORK/hold.out")
hpid=$!
for _ in $(seq 100); do [ -s "$WORK/hold.out" ] && break; sleep 0.1; done
check "hold connected" 2 "$(jq .held "$WORK/hold.out" 2>/dev/null)"
sleep 0.5	# older than the sweep's minimum age
table_dump
check "the tracer's socket table found" yes "$([ -n "$sets_id" ] && [ -n "$recs_id" ] && echo yes || echo no)"
check "4 records: 2 connections, both ends" 4 "$(awk '$2 == 1' "$WORK/tags.txt" | wc -l)"
# a client's record: tuple.rport is bytes 34-35 of the value (tcpclose.h)
used=$(awk '$2 == 1 {print $1}' "$WORK/tags.txt" | paste -sd, -)
val=$(jq -r --arg used "$used" '[.[] | select((.formatted.key | tostring) as $k | $used | split(",") | index($k)) |
	select(.formatted.value.role == 1)][0].value | join(" ")' "$WORK/recs.json")
read -ra bytes <<<"$val"
alive=("${bytes[@]}")
bytes[34]=0x09; bytes[35]=0x00	# remote port 9: no such socket
# each plant into a slot free in a dump taken just before it
plant "$(free_slots 1)" 8 "${bytes[@]}"
check "planted the record of a gone socket" 0 $?
table_dump
plant "$(free_slots 1)" 16 "${alive[@]}"
check "planted a copy of a live socket's record" 0 $?
# a real TIME_WAIT at 127.0.0.1:45001 -> 127.0.0.1:9601 (the client closes
# first), and a record naming that 4-tuple whose close was "missed"
in_ns "$ns" "$SCEN/closer" client-first 4 9601 1 45001 >/dev/null
check "closer: client-first from port 45001" 0 $?
tw=("${alive[@]}")
tw[0]=0x7f; tw[1]=0; tw[2]=0; tw[3]=1; tw[16]=0x7f; tw[17]=0; tw[18]=0; tw[19]=1
tw[32]=0xc9; tw[33]=0xaf; tw[34]=0x81; tw[35]=0x25	# lport 45001, rport 9601
table_dump
plant "$(free_slots 1)" 24 "${tw[@]}"
check "planted the record of a gone socket now in TIME_WAIT" 0 $?
tracer_stop
check "report: exit 0" 0 $?
note "planted records: a gone one (port 9), a live copy, one in TIME_WAIT (port 9601)"
check "the two gone sockets' records: two closes found unseen" 2 "$(jq .tracer.closes_unseen "$out")"
check "the live copy and the 4 real records stay open" 5 "$(jq .tracer.sockets_open "$out")"
check "no record counted evicted" 0 "$(jq .tracer.evicted.sockets "$out")"
check "totals: the closer's 2 closes seen, 2 unseen" "2 2" \
	"$(jq -r '"\(.totals.closed - .totals.close.unseen) \(.totals.close.unseen)"' "$out")"
hpid_row='[.processes[] | select(.comm == "hold")]'
check "the holder's process row: 2 closes, both unseen, 2 connect attempts" "1 2 2 2" \
	"$(jq -r "$hpid_row"' | "\(length) \(.[0].closed) \(.[0].close.unseen) \(.[0].connect.attempts)"' "$out")"
check "its destination :9 row: 1 unseen close, 1 attempt, no TIME_WAIT" "1 1 1 0" \
	"$(jq -r '[.peers[] | select(.remote_port == 9)] | "\(length) \(.[0].close.unseen) \(.[0].connect.attempts) \(.[0].timewait)"' "$out")"
check "its destination :9601 row: 1 unseen close that left a TIME_WAIT (entered 1)" "1 1 1 1" \
	"$(jq -r '[.peers[] | select(.remote_port == 9601 and .comm == "hold")] | "\(length) \(.[0].close.unseen) \(.[0].timewait) \(.[0].time_wait.entered)"' "$out")"
check "the average lifetime is over the closes seen only" \
	"$(jq '[.processes[] | select(.comm == "hold")][0].avg_lifetime_ms' "$out")" 0

# the text report says so in a warning
out2=$WORK/r.txt
tracer_start "$out2" report --max-sockets $MAXS --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
sleep 0.5
table_dump
plant "$(free_slots 1)" 8 "${bytes[@]}"
tracer_stop
check "text report: a warning line for it" 1 \
	"$(grep -c '^WARNING: 1 sockets ended without their close reaching the tracer' "$out2")"
check "text report: the UNSEEN column" 1 "$(grep -c 'TIMEOUT UNSEEN TIMEWAIT' "$out2" | awk '{print ($1 > 0)}')"
exec 3>&-
wait "$hpid" 2>/dev/null
finish
