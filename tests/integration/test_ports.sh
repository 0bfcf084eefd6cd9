#!/bin/bash
# connect() running out of ephemeral ports, with every outcome known from
# porthog: EADDRNOTAVAIL per process and destination, by cause (range used
# up vs. a bind()-fixed port whose 4-tuple is taken), the rejected
# candidate ports where fentry/kprobe reach the port search (null where
# they do not), and each destination's port budget against ss.
. "$(dirname "$0")/lib.sh"
j() { jq -r "$1" "$out"; }
proc() { jq -r --argjson p "$1" ".processes[] | select(.pid==\$p) | $2" "$out"; }

ns=$(netns_new ports) || exit 1
# 8 usable ports (even already: connect() rounds the range down to even).
in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="40000 40007"
in_ns "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=0
out=$WORK/ports.json
tracer_start "$out" report --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
r1=$(in_ns "$ns" "$SCEN/porthog" range 9900 8 5)
r2=$(in_ns "$ns" "$SCEN/porthog" bind 9901 1 3 45000)
# connects are counted at their socket's close: wait (bounded) until every
# socket toward the two destinations is closed or in TIME_WAIT (TCG is slow)
for _ in $(seq 100); do
	[ "$(in_ns "$ns" ss -Htan dst 127.0.0.1 | grep -v TIME-WAIT | grep -c -e ':9900' -e ':9901')" = 0 ] && break
	sleep 0.1
done
ss_9900=$(in_ns "$ns" ss -Htan dst 127.0.0.1:9900 | wc -l)
ss_9900_tw=$(in_ns "$ns" ss -Htan state time-wait dst 127.0.0.1:9900 | wc -l)
tracer_stop
late1=$(jq .late_pid <<<"$r1") late2=$(jq .late_pid <<<"$r2") hog=$(jq .hog_pid <<<"$r1")
check "porthog range ran: 8 held, 5 of 5 late connects got EADDRNOTAVAIL" "true 8 5" \
	"$(jq -r '"\(.ok) \(.held) \(.eaddrnotavail)"' <<<"$r1")"
check "porthog bind ran: 3 of 3 got EADDRNOTAVAIL" "true 3" "$(jq -r '"\(.ok) \(.eaddrnotavail)"' <<<"$r2")"
check "range used up: eaddrnotavail == what tc-late saw, all port_exhausted" "5 5 0" \
	"$(proc "$late1" '.connect | "\(.eaddrnotavail) \(.port_exhausted) \(.bind_conflict)"')"
check "bind conflict: eaddrnotavail == what tc-late saw, all bind_conflict" "3 0 3" \
	"$(proc "$late2" '.connect | "\(.eaddrnotavail) \(.port_exhausted) \(.bind_conflict)"')"
check "per destination: 127.0.0.1:9900 saw 5, 127.0.0.1:9901 saw 3" "5 3" \
	"$(j '[.peers[] | select(.role=="client" and .remote_port==9900) | .connect.eaddrnotavail] | add') $(j '[.peers[] | select(.role=="client" and .remote_port==9901) | .connect.eaddrnotavail] | add')"
# Attempts are counted at each socket's close, seen or not: a close the
# kernel skipped (its per-program recursion guard: a state change in a
# softirq that interrupted the same program on that CPU) is charged by the
# sweep as kind "unseen" with its attempt. So these sums are exact whatever
# was skipped; the kind of close is asserted only for the closes seen.
hog_unseen=$(proc "$hog" '.close.unseen')
[ "${hog_unseen:-0}" = 0 ] || note "the holder: $hog_unseen of its 8 closes unseen (charged by the sweep)"
check "the holder's 8 connects all succeeded (closes seen + unseen; no failure counted)" "8 8 0" \
	"$(proc "$hog" '"\(.closed) \(.connect.attempts) \(.connect.eaddrnotavail + .connect.other_failed)"')"
check "totals: 8 EADDRNOTAVAIL, 17 attempts (8 + 5 + 1 + 3; closes seen + unseen)" "8 17" \
	"$(j '.totals.connect | "\(.eaddrnotavail) \(.attempts)"')"
if [ "$(j .hooks.port_search)" != null ]; then
	# every one of the 8 ports was in use toward 9900: each failing
	# connect rejected all 8; a bind()-fixed port is checked once
	check "port retries: 8 per failed connect (all 8 candidates rejected)" 40 "$(proc "$late1" .connect.port_retries)"
	check "retry histogram: 5 connects in the 8-15 bucket" 5 "$(proc "$late1" '.connect.retries_hist[4]')"
	check "port retries: 1 per bind() conflict" 3 "$(proc "$late2" .connect.port_retries)"
else
	check "port retries unavailable on this kernel/mode: null, not 0" "null null" \
		"$(proc "$late1" '"\(.connect.port_retries) \(.connect.retries_hist)"')"
fi
row='.peers[] | select(.role=="client" and .remote_port==9900 and .pid=='"$late1"') | .ports'
check "budget toward :9900: range 8 (the netns's), in use == ss, TIME_WAIT == ss" "8 $ss_9900 $ss_9900_tw" \
	"$(j "$row"' | "\(.range) \(.in_use) \(.time_wait)"')"
if [ "$ss_9900_tw" = 8 ]; then
	check "budget: the holder's 8 ports are still in TIME_WAIT, utilisation 1, exhausted now" "8 1 0" \
		"$(j "$row"' | "\(.time_wait) \(.utilisation) \(.exhaustion_s)"')"
else	# TCG can be slow enough for some of their 60 s to run out first
	note "only $ss_9900_tw of the holder's 8 TIME_WAIT sockets were left (ss)"
	check "budget: utilisation == in use / range (ss: $ss_9900 of 8)" \
		"$(awk -v n="$ss_9900" 'BEGIN { print n / 8 }')" "$(j "$row"' | .utilisation')"
fi
check "netns settings read inside it" "40000 40007 8 0" \
	"$(j '.netns[0] | "\(.ip_local_port_range[0]) \(.ip_local_port_range[1]) \(.usable_ports) \(.tcp_tw_reuse)"')"

# --- the estimate: 30 ports, tcp_tw_reuse off, 12 client-first connections
# leave 12 TIME_WAIT; at that rate, the rest fill in (30-12)/(rate-12/60) s.
ns=$(netns_new ports2) || exit 1
in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="41000 41029"
in_ns "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=0
out=$WORK/ports2.json
tracer_start "$out" report --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
in_ns "$ns" "$SCEN/closer" client-first 4 9910 12 >/dev/null
sleep 0.3	# a traced time long enough for its printed 3 decimals
ss_tw=$(in_ns "$ns" ss -Htan state time-wait dst 127.0.0.1:9910 | wc -l)
tracer_stop
p=$(j '.peers[] | select(.role=="client" and .remote_port==9910) | .ports')
dur=$(j .duration_s)
check "estimate: 30 usable, 12 in use, all TIME_WAIT (ss: $ss_tw)" "30 12 12 12" \
	"$(jq -r '"\(.range) \(.in_use) \(.time_wait)"' <<<"$p") $ss_tw"
check "estimate: rate == 12 connects / traced seconds (to the printed digits)" 1 \
	"$(jq --argjson d "$dur" 'if ((.rate_per_s - 12 / $d) | fabs) <= 0.005 + 12 * 0.0005 / ($d * ($d - 0.0005)) then 1 else 0 end' <<<"$p")"
# steady state 60 s * rate > 30 ports unless the rate is under 0.5/s
check "estimate: exhaustion_s == (30 - 12) / (rate - 12/60)" 1 \
	"$(jq 'if .rate_per_s * 60 <= 30 then (if .exhaustion_s == null then 1 else 0 end)
	       else (((30 - 12) / (.rate_per_s - 12 / 60)) as $e |
		     if ((.exhaustion_s - $e) | fabs) < 0.2 then 1 else 0 end) end' <<<"$p")"
finish
