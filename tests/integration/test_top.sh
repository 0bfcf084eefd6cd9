#!/bin/bash
# top: piped, it prints one block per interval whose rates add up to the
# closes of a known scenario, and the final report has the exact counts; on
# a terminal it redraws in place and takes keys (s: next sort column, q).
. "$(dirname "$0")/lib.sh"
ns=$(netns_new top) || exit 1
out=$WORK/top.out
tracer_start "$out" top -i 1 -n 10 --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
sleep 1.2
a=$(in_ns "$ns" "$SCEN/closer" client-first 4 7201 20)
sleep 2.2
b=$(in_ns "$ns" "$SCEN/closer" server-first 4 7202 10)
sleep 2.2
tracer_stop
check "SIGINT: exit 0" 0 $?
apid=$(jq .client_pid <<<"$a"); bpid=$(jq .client_pid <<<"$b"); bsrv=$(jq .server_pid <<<"$b")

blocks=$(grep -c '^tcpclose top - ' "$out")
check_ge "a block per interval (5 s at -i 1)" 4 "$blocks"
check "blocks say their sort column" "$blocks" "$(grep -c '^tcpclose top - .* sort closed,' "$out")"
# integrate: each block's CLOSE/s of a process row times that block's interval
integrate() {	# integrate PID: closes seen through the rates
	awk -v pid="$1" '
		/^tcpclose top - / { split($0, a, "every "); dt = a[2] + 0; inproc = 0; top = 1 }
		/^tcpclose: / { top = 0 }	# the final report
		/^PID / { inproc = top; next }
		/^ROLE / { inproc = 0 }
		inproc && $1 == pid { s += $(NF - 9) * dt }
		END { printf "%.0f\n", s }' "$out"
}
check "client of run 1: its rates add up to its 20 closes" 20 "$(integrate "$apid")"
check "client of run 2: its rates add up to its 10 closes" 10 "$(integrate "$bpid")"
# in the block where run 2 closed, its server closed first: LOCAL/s there
check_ge "run 2's server shows local-first closes in a block" 1 \
	"$(awk -v pid="$bsrv" '/^tcpclose: / {exit} /^PID / {p=1; next} /^ROLE / {p=0} p && $1 == pid && $(NF-8) > m {m=$(NF-8)} END {print m+0}' "$out")"
check_match "peer table names the destination" "client +tc-client +-> 127.0.0.1:7201" "$(cat "$out")"
# what was gathered, as report prints it
final=$(sed -n '/^PROCESSES/,/^$/p' "$out")
check "final report: run 1's client, 20 closed, 20 local first" "20 20" \
	"$(awk -v pid="$apid" '$1 == pid {print $3, $4}' <<<"$final")"
check "final report: run 2's client, 10 closed, 10 remote first" "10 10" \
	"$(awk -v pid="$bpid" '$1 == pid {print $3, $5}' <<<"$final")"

# --- on a terminal ------------------------------------------------------------------
if command -v script >/dev/null; then
	tty_out=$WORK/tty.out
	: >"$tty_out"
	# keys only once the first frame is up (loading takes seconds on a busy host)
	{ for _ in $(seq 100); do grep -q "tcpclose top" "$tty_out" && break; sleep 0.2; done
	  sleep 1.5; printf s; sleep 2; printf q; t0=$(date +%s%N)
	  # top's final report once it has quit
	  for _ in $(seq 50); do grep -q PROCESSES "$tty_out" && break; sleep 0.2; done
	  echo $(( ($(date +%s%N) - t0) / 1000000 )) >"$WORK/q.ms"; } |
		timeout 40 script -qfec "$TCPCLOSE top -i 1 --netns /var/run/netns/$ns ${TCPCLOSE_ATTACH:+--attach $TCPCLOSE_ATTACH}" /dev/null >"$tty_out" 2>&1
	rc=$?
	took=$(cat "$WORK/q.ms" 2>/dev/null || echo 99999)
	check "tty: q quits, exit 0" 0 "$rc"
	[ "$took" -le 3000 ] || check "tty: q quit at once (its report ${took} ms after it)" yes no
	check_ge "tty: redraws in place (home + clear)" 2 "$(grep -o $'\e\[H\e\[2J' "$tty_out" | wc -l)"
	check_match "tty: s moved the sort to the next column" 'sort local,' "$(cat "$tty_out")"
	check_match "tty: the sort column is marked" '\*LOCAL/s' "$(cat "$tty_out")"
	# SIGHUP (the terminal or ssh session gone) ends top like q or Ctrl-C:
	# the terminal's modes restored, the final report printed
	cat >"$WORK/hup.sh" <<-EOF
	stty -g >"$WORK/tty.before"
	"$TCPCLOSE" top -i 1 --netns /var/run/netns/$ns ${TCPCLOSE_ATTACH:+--attach $TCPCLOSE_ATTACH} </dev/tty &
	p=\$!
	# wait for raw mode (loading the programs takes seconds on a busy host)
	for _ in \$(seq 75); do
		stty -g >"$WORK/tty.during"
		cmp -s "$WORK/tty.before" "$WORK/tty.during" || break
		sleep 0.2
	done
	kill -HUP \$p
	wait \$p
	echo \$? >"$WORK/hup.rc"
	stty -g >"$WORK/tty.after"
	EOF
	timeout 30 script -qfec "bash $WORK/hup.sh" /dev/null >"$WORK/hup.out" 2>&1
	check "tty, SIGHUP: exit 0" 0 "$(cat "$WORK/hup.rc" 2>/dev/null)"
	check "tty, SIGHUP: top had the terminal in raw mode" yes \
		"$([ "$(cat "$WORK/tty.during")" != "$(cat "$WORK/tty.before")" ] && echo yes || echo no)"
	check "tty, SIGHUP: the terminal's modes restored" "$(cat "$WORK/tty.before")" "$(cat "$WORK/tty.after" 2>/dev/null)"
	check_match "tty, SIGHUP: the final report printed" "PROCESSES" "$(cat "$WORK/hup.out")"
else
	note "script(1) not installed: terminal checks skipped"
fi

"$TCPCLOSE" top -s nope >"$WORK/bad.out" 2>&1
check "a bad sort column: exit 2" 2 $?
check_match "a bad sort column: one line" "^tcpclose: error: invalid sort column 'nope'" "$(cat "$WORK/bad.out")"
finish
