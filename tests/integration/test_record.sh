#!/bin/bash
# record / --from: a recording of every kind of event (all close orders over
# IPv4 and IPv6, pre-existing TIME_WAIT, tw_reuse takeovers, FIN_WAIT2
# expiries, EADDRNOTAVAIL, stays killed by a netns teardown) replays to the
# very report the recorder printed live, byte for byte, in text and JSON;
# doctor --from gives the same verdict; damaged files get one clear line.
. "$(dirname "$0")/lib.sh"
a=$(netns_new reca) || exit 1
in_ns "$a" sysctl -qw net.ipv4.ip_local_port_range="40000 40003"
in_ns "$a" sysctl -qw net.ipv4.tcp_tw_reuse=1
in_ns "$a" sysctl -qw net.ipv4.tcp_fin_timeout=1
# TIME_WAIT made before the recorder starts: the snapshot's events
in_ns "$a" "$SCEN/closer" client-first 4 9301 4 >/dev/null
sleep 1.5	# older than tcp_tw_reuse_delay: the next round takes them over

rec=$WORK/r.tcrec
live=$WORK/live.json
tracer_start "$live" record -o "$rec" --json --netns "/var/run/netns/$a" || { FAIL=1; finish; exit; }
rpid=$TRACER_PID
in_ns "$a" "$SCEN/closer" client-first 4 9301 4 >/dev/null	# takes over the 4 stays
sleep 1.5
in_ns "$a" "$SCEN/closer" client-first 4 9301 4 >/dev/null	# and its own ones
port=9310
for fam in 4 6; do
	for mode in client-first server-first client-reset server-reset simultaneous refused; do
		port=$((port + 1))
		in_ns "$a" "$SCEN/closer" "$mode" "$fam" "$port" 3 >/dev/null
	done
done
in_ns "$a" "$SCEN/closer" half-close 4 9330 3 >/dev/null	# FIN_WAIT2 substate, 1 s
in_ns "$a" "$SCEN/porthog" range 9340 4 3 >/dev/null		# EADDRNOTAVAIL
sleep 2.5
# the netns torn down with stays in it: they are killed
ip netns pids "$a" | xargs -r kill -9 2>/dev/null
ip netns del "$a"
sleep 1
tracer_stop "$rpid"
check "record: exit 0" 0 $?
check_match "record: says what it wrote" "recorded [0-9]+ closes and [0-9]+ timewait events to $rec \(0 lost\)" "$(cat "$live.err")"
check "record: the file is private (0600)" 600 "$(stat -c %a "$rec")"

j() { jq -r "$1" "$live"; }
check_ge "the recording has reuse hits" 1 "$(j .totals.connect.tw_reuse_hits)"
check_ge "... stays ended by reuse" 1 "$(j .totals.time_wait.ended.reused)"
check_ge "... pre-existing stays" 4 "$(j .totals.time_wait.preexisting)"
check_ge "... FIN_WAIT2 expiries" 3 "$(j .totals.time_wait.ended.expired)"
check_ge "... killed stays" 2 "$(j .totals.time_wait.ended.killed)"
check_ge "... EADDRNOTAVAIL" 3 "$(j .totals.connect.eaddrnotavail)"
check_ge "... resets both ways and refused connects" 1 \
	"$(j '[.totals.close.reset_sent, .totals.close.reset_received, .totals.close.never_established] | min')"

"$TCPCLOSE" report --from "$rec" --json >"$WORK/from.json" 2>"$WORK/from.err"
check "report --from: exit 0, no warning" "0 " "$? $(cat "$WORK/from.err")"
check "report --from --json is byte for byte the live report" "" "$(cmp "$live" "$WORK/from.json" 2>&1)"
if ! cmp -s "$live" "$WORK/from.json"; then	# where: 150 bytes around the first difference
	at=$(cmp "$live" "$WORK/from.json" 2>/dev/null | sed -n 's/.* char \([0-9]*\),.*/\1/p')
	note "live:   $(cut -c "$(( ${at:-1} > 150 ? at - 150 : 1 ))-$(( ${at:-1} + 150 ))" "$live")"
	note "replay: $(cut -c "$(( ${at:-1} > 150 ? at - 150 : 1 ))-$(( ${at:-1} + 150 ))" "$WORK/from.json")"
fi
[ -n "$(cmp "$live" "$WORK/from.json" 2>&1)" ] && diff <(jq -S . "$live") <(jq -S . "$WORK/from.json") | head -20
# text from the same model: the live recorder's text equals --from's text too
"$TCPCLOSE" report --from "$rec" >"$WORK/from.txt"
check_match "report --from text has the tables" "^PROCESSES" "$(cat "$WORK/from.txt")"
"$TCPCLOSE" doctor --from "$rec" --json >"$WORK/doc.json"
drc=$?
check "doctor --from: its exit status is its verdict" "$drc" \
	"$(jq 'if any(.findings[]; .severity == "critical") then 3 elif any(.findings[]; .severity == "warning") then 2 else 0 end' "$WORK/doc.json")"
check_match "doctor --from: EADDRNOTAVAIL found" "eaddrnotavail" "$(jq -r '[.findings[].id] | join(",")' "$WORK/doc.json")"

# the header: where and when it was recorded
hdr=$(dd if="$rec" bs=1 skip=16 count="$(od -An -tu4 -j12 -N4 "$rec" | tr -d ' ')" 2>/dev/null)
check "header: this kernel" "$(uname -r)" "$(jq -r .kernel.release <<<"$hdr")"
check "header: this host" "$(hostname)" "$(jq -r .hostname <<<"$hdr")"
check "header: the sysctls at start" "$(tr '\t' ' ' </proc/sys/net/ipv4/ip_local_port_range)" \
	"$(jq -r '.sysctls.ip_local_port_range' <<<"$hdr" | tr '\t' ' ')"

# damaged files
head -c $(( $(stat -c %s "$rec") - 40 )) "$rec" >"$WORK/cut.tcrec"
"$TCPCLOSE" report --from "$WORK/cut.tcrec" --json >"$WORK/cut.json" 2>"$WORK/cut.err"
check "a cut recording: still read, exit 0" 0 $?
check_match "a cut recording: says so in one line" "ends early \(the recorder was killed\)" "$(cat "$WORK/cut.err")"
check "a cut recording: the rows of its events" "$(j .totals.closed)" "$(jq .totals.closed "$WORK/cut.json")"
echo "not a recording at all" >"$WORK/junk"
"$TCPCLOSE" report --from "$WORK/junk" >/dev/null 2>"$WORK/junk.err"
check "not a recording: exit 1" 1 $?
check "not a recording: one line" "tcpclose: error: $WORK/junk: not a tcpclose recording" "$(cat "$WORK/junk.err")"
"$TCPCLOSE" report --from "$WORK/nope.tcrec" >/dev/null 2>"$WORK/nope.err"
check "a missing file: exit 1" 1 $?
check_match "a missing file: one line" "^tcpclose: error: cannot open .*nope.tcrec: No such file or directory$" "$(cat "$WORK/nope.err")"
# crafted files (issue 16): a value of the wrong type is one line and exit 1, never a crash
le32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"; }
craft() {	# craft FILE HEADER_JSON [TRAILER_JSON]
	local LC_ALL=C
	{ printf TCPCLREC; le32 1; le32 ${#2}; printf %s "$2"
	  [ -z "${3:-}" ] || { le32 9; le32 ${#3}; printf %s "$3"; }; } >"$1"
}
craft "$WORK/bo.tcrec" "$(jq -c '.byte_order = null' <<<"$hdr")"
"$TCPCLOSE" report --from "$WORK/bo.tcrec" >/dev/null 2>"$WORK/bo.err"
check "byte_order null: exit 1, one line" "1 tcpclose: error: $WORK/bo.tcrec: the recording's header is damaged (byte_order)" \
	"$? $(cat "$WORK/bo.err")"
craft "$WORK/stat.tcrec" "$hdr" '{"duration_s":1,"health":{"stat":{"a":1}}}'
"$TCPCLOSE" doctor --from "$WORK/stat.tcrec" >/dev/null 2>"$WORK/stat.err"
check "doctor --from, health.stat an object: exit 1, one line" \
	"1 tcpclose: error: $WORK/stat.tcrec: the recording's trailer is damaged (health.stat)" "$? $(cat "$WORK/stat.err")"
mkfifo "$WORK/fifo"
timeout 5 "$TCPCLOSE" report --from "$WORK/fifo" >/dev/null 2>"$WORK/fifo.err"
check "report --from a FIFO: exit 1 at once, not waiting for a writer" 1 $?
check "report --from a FIFO: one line" "tcpclose: error: $WORK/fifo: not a regular file (a recording is one)" \
	"$(cat "$WORK/fifo.err")"

# record -o over what is there: root must not write through a planted
# symlink, and the file is 0600 whatever mode an older one had
echo precious >"$WORK/victim"; chmod 644 "$WORK/victim"
ln -s "$WORK/victim" "$WORK/planted.tcrec"
"$TCPCLOSE" record -o "$WORK/planted.tcrec" -d 0.5 >/dev/null 2>"$WORK/planted.err"
check "record -o over a symlink: exit 0" 0 $?
check "record -o over a symlink: its target untouched" "precious 644" "$(cat "$WORK/victim") $(stat -c %a "$WORK/victim")"
check "record -o over a symlink: the path is now a regular 0600 file" "regular file 600" \
	"$(stat -c '%F %a' "$WORK/planted.tcrec")"
"$TCPCLOSE" report --from "$WORK/planted.tcrec" >/dev/null 2>&1
check "record -o over a symlink: a recording there" 0 $?
echo old >"$WORK/old.tcrec"; chmod 644 "$WORK/old.tcrec"
"$TCPCLOSE" record -o "$WORK/old.tcrec" -d 0.5 >/dev/null 2>&1
check "record -o over a 0644 file: now 0600" 600 "$(stat -c %a "$WORK/old.tcrec")"
check "record -o: no temporary file left" "" "$(ls "$WORK" | grep -E '\.tcrec\.[A-Za-z0-9]{6}$')"
# --from needs no privileges, BPF or BTF: it reads a file
if command -v setpriv >/dev/null; then
	cp "$rec" "$WORK/pub.tcrec"; chmod 644 "$WORK/pub.tcrec"; chmod 755 "$WORK"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$TCPCLOSE" report --from "$WORK/pub.tcrec" --json >"$WORK/nobody.json" 2>&1
	check "report --from as nobody: the same report" "" "$(cmp "$live" "$WORK/nobody.json" 2>&1)"
fi
# SIGHUP (the terminal or ssh session gone) ends a recording like Ctrl-C:
# the recording is finished (its trailer written), the report printed.
b=$(netns_new recb) || exit 1
tracer_start "$WORK/hup.json" record -o "$WORK/hup.tcrec" --json --netns "/var/run/netns/$b" ||
	{ FAIL=1; finish; exit; }
hpid=$TRACER_PID
in_ns "$b" "$SCEN/closer" client-first 4 9350 3 >/dev/null
kill -HUP "$hpid"
for _ in $(seq 100); do kill -0 "$hpid" 2>/dev/null || break; sleep 0.1; done
wait "$hpid"
check "record, SIGHUP: exit 0" 0 $?
TRACER_PID=
check_match "record, SIGHUP: says what it wrote" "recorded [0-9]+ closes" "$(cat "$WORK/hup.json.err")"
"$TCPCLOSE" report --from "$WORK/hup.tcrec" --json >"$WORK/hup-from.json" 2>"$WORK/hup-from.err"
check "record, SIGHUP: the recording is whole (exit 0, no warning)" "0 " "$? $(cat "$WORK/hup-from.err")"
check "record, SIGHUP: it replays to the live report" "" "$(cmp "$WORK/hup.json" "$WORK/hup-from.json" 2>&1)"
check "record, SIGHUP: the closes are in it" 3 "$(jq .totals.close.local_first "$WORK/hup-from.json" 2>/dev/null)"
finish
