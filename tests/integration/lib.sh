# Shared helpers for the integration tests (sourced). Each test file runs in
# its own network namespace(s), traces them with --netns from the host, and
# asserts exact numbers with check/check_ge.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TCPCLOSE="$ROOT/tcpclose"
SCEN="$ROOT/build/scenario"
WORK=$(mktemp -d /tmp/tcpclose-it.XXXXXX)
PASS=0
FAIL=0
NETNS_LIST=()
TRACER_PID=
TRACERS=()
declare -A TRACER_OUT=()

note() { printf '  %s\n' "$*"; }

check() {	# check NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then
		PASS=$((PASS + 1)); printf '  ok   %s (%s)\n' "$1" "$3"
	else
		FAIL=$((FAIL + 1)); printf '  FAIL %s: expected %s, got %s\n' "$1" "$2" "$3"
	fi
}

check_ge() {	# check_ge NAME MIN ACTUAL
	if [ "$3" -ge "$2" ] 2>/dev/null; then
		PASS=$((PASS + 1)); printf '  ok   %s (%s >= %s)\n' "$1" "$3" "$2"
	else
		FAIL=$((FAIL + 1)); printf '  FAIL %s: expected >= %s, got %s\n' "$1" "$2" "$3"
	fi
}

check_match() {	# check_match NAME REGEX TEXT
	if printf '%s' "$3" | grep -Eq -- "$2"; then
		PASS=$((PASS + 1)); printf '  ok   %s\n' "$1"
	else
		FAIL=$((FAIL + 1)); printf '  FAIL %s: /%s/ not in: %s\n' "$1" "$2" "$3"
	fi
}

# within NAME ORACLE COUNTED UNSEEN: exact but for the closes whose CLOSE
# run the kernel skipped (found by the sweep: kind unseen), which carry no
# cause, kind or flag: COUNTED <= ORACLE <= COUNTED + UNSEEN.
within() {
	local n='^[0-9]+$'
	if [[ "$2" =~ $n && "$3" =~ $n && "$4" =~ $n ]] && [ "$3" -le "$2" ] &&
		[ "$2" -le $(($3 + $4)) ]; then
		PASS=$((PASS + 1)); printf '  ok   %s (%s)\n' "$1" "$2"
	else
		FAIL=$((FAIL + 1))
		printf '  FAIL %s: expected %s (unseen closes at most %s), got %s\n' "$1" "$2" "$4" "$3"
	fi
}

# near NAME A B SLACK: two counts that agree but for up to SLACK closes
# one side saw and the other found unseen: |A - B| <= SLACK.
near() {
	local d=x n='^-?[0-9]+$'
	[[ "$2" =~ $n && "$3" =~ $n && "$4" =~ $n ]] && d=$(($2 - $3))
	if [ "${d#-}" -le "$4" ] 2>/dev/null; then
		PASS=$((PASS + 1)); printf '  ok   %s (%s ~ %s)\n' "$1" "$2" "$3"
	else
		FAIL=$((FAIL + 1))
		printf '  FAIL %s: %s and %s differ by more than %s (unseen closes)\n' "$1" "$2" "$3" "$4"
	fi
}

# tw_slack UNSEEN: how far TIME_WAIT stays entered may fall short of the
# kernel's creations. With kprobes one guard per CPU covers every kprobe
# program, so a close's skipped run takes its timewait birth with it, and a
# stay over before the sweep lists it is lost with its unseen close
# (docs/counting.md, skipped runs): UNSEEN there; elsewhere 0, exact.
tw_slack() { [ "${TCPCLOSE_ATTACH:-}" = kprobe ] && echo "${1:-0}" || echo 0; }

# peer_row REPORT PID ROLE LPORT RPORT: that peer row of a JSON report
# (null when there is none).
peer_row() {
	jq -c --argjson p "$2" --arg role "$3" --argjson lp "$4" --argjson rp "$5" \
		'[.peers[] | select(.pid==$p and .role==$role and .local_port==$lp and .remote_port==$rp)] | .[0]' "$1"
}

# kinds ROW: a peer row's close kinds "L R S RS RR U FR" (local_first,
# remote_first, simultaneous, reset_sent, reset_received, unseen) and its
# fin_then_reset, for mirror. kinds_sum REPORT ROWS [JQ-ARGS...]: the same
# summed over the rows a jq array expression selects (a server's workers).
KINDS_JQ='[.close.local_first, .close.remote_first, .close.simultaneous, .close.reset_sent,
	.close.reset_received, .close.unseen, .fin_then_reset]'
kinds() { jq -r "$KINDS_JQ | map(tostring) | join(\" \")" <<<"$1"; }
kinds_sum() {
	local report=$1 rows=$2
	shift 2
	jq -r "$@" "reduce ($rows | .[] | $KINDS_JQ) as \$k ([0, 0, 0, 0, 0, 0, 0];
		[., \$k] | transpose | map(.[0] + (.[1] // 0))) | join(\" \")" "$report"
}
# The two sockets of one connection: (local,remote), (remote,local),
# (simul,simul), and — when a side's FIN reaches the wire after the peer's
# although it called close() first — (simul,local) or (local,simul); a
# reset sent from ESTABLISHED meets the peer in ESTABLISHED (reset_sent,
# reset_received) or, crossing its FIN, after it (reset_sent, local_first
# counted in fin_then_reset: HAProxy's SO_LINGER 0 aborts). Hence, exactly:
# RR on one side <= RS on the other <= RR + FR there; R on one side <= L on
# the other; and, each crossing (RS - peer's RR) taken from the L it added,
# S + L - peer's R - (peer's RS - RR) is the same on both sides. A close
# whose run the kernel skipped (U: unseen, no kind) loosens each by the
# unseen closes of both sides.
mirror() {	# mirror NAME_A "L R S RS RR U FR" NAME_B "L R S RS RR U FR"
	local al ar as ars arr au af bl br bs brs brr bu bf u
	read -r al ar as ars arr au af <<<"$2"; read -r bl br bs brs brr bu bf <<<"$4"
	u=$((au + bu))
	check "$1/$3: same number of closes (seen and unseen)" $((al + ar + as + ars + arr + au)) \
		$((bl + br + bs + brs + brr + bu))
	check "$1/$3: resets sent ($ars) reach the peer as resets ($brr), or after its FIN ($bf) ($u unseen)" \
		1 $(( brr <= ars + u && ars <= brr + bf + u ))
	check "$3/$1: resets sent ($brs) reach the peer as resets ($arr), or after its FIN ($af) ($u unseen)" \
		1 $(( arr <= brs + u && brs <= arr + af + u ))
	check "$1/$3: each remote_first has a local_first peer" "1 1" \
		"$(( ar <= bl + u )) $(( br <= al + u ))"
	near "$1/$3: simultaneous pairs balance" $((as + al - br - (brs - arr))) \
		$((bs + bl - ar - (ars - brr))) "$u"
}

netns_new() {	# netns_new NAME: a namespace with loopback up
	local ns="tcpc-$1-$$"
	ip netns add "$ns" || return 1
	NETNS_LIST+=("$ns")
	ip -n "$ns" link set lo up
	echo "$ns"
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ns_settle NS [TENTHS]: wait (bounded, 10 s by default) until NS holds no TCP
# socket but listeners and TIME_WAIT. A close's last step can run after the
# process that closed has gone (the peer's ACK, processed by ksoftirqd on a
# slow VM), so a tracer stopped before it would miss the close.
ns_settle() {
	local ns=$1 n=${2:-100}
	for _ in $(seq "$n"); do
		[ "$(in_ns "$ns" ss -Htan | grep -cv -e TIME-WAIT -e LISTEN)" = 0 ] && return 0
		sleep 0.1
	done
	note "ns_settle: $ns still has open sockets: $(in_ns "$ns" ss -Htan | grep -v -e TIME-WAIT -e LISTEN | head -3 | tr -s ' ' | tr '\n' ';')"
	return 1
}

# server_stop SIG PID [PID...]: a server's own graceful stop (SIG to its
# main process PID), waited for (bounded: 10 s), then SIGKILL to it and the
# other PIDs (its workers).
server_stop() {
	local sig=$1 pid=$2
	shift 2
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid" "$@" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# need_cgroup2: CGROUP2, where the cgroup v2 hierarchy is mounted (mounted
# here in the test VM); without one the test ends here, skipped.
need_cgroup2() {
	CGROUP2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
	if [ -z "$CGROUP2" ] && [ -d /sys/fs/cgroup ] && ! mountpoint -q /sys/fs/cgroup 2>/dev/null; then
		mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null && CGROUP2=/sys/fs/cgroup
	fi
	if [ -z "$CGROUP2" ]; then
		note "no cgroup v2 hierarchy here: skipped"
		finish
		exit
	fi
}

# tracer_start OUTFILE ARGS...: run tcpclose in the background (host netns),
# return once it says it is tracing, or doctor that it is watching (or fail
# after 20 s).
tracer_start() {
	local out=$1; shift
	# TCPCLOSE_ATTACH (the VM matrix) runs every test in one attach mode,
	# unless the test forces a mode itself.
	local mode=()
	[ -n "${TCPCLOSE_ATTACH:-}" ] && [[ " $* " != *" --attach "* ]] && mode=(--attach "$TCPCLOSE_ATTACH")
	# gone before the start: the background shell truncates it only when it
	# runs, and an earlier run's "tracing" line must not pass for this one's
	rm -f "$out.err"
	"$TCPCLOSE" "$@" "${mode[@]}" >"$out" 2>"$out.err" &
	TRACER_PID=$!
	TRACERS+=("$TRACER_PID")
	TRACER_OUT[$TRACER_PID]=$out
	for _ in $(seq 200); do
		grep -q -e "tracing TCP closes" -e "doctor watching" "$out.err" 2>/dev/null && return 0
		kill -0 "$TRACER_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "tracer did not start:"; cat "$out.err"
	return 1
}

# tracer_stop [PID]: Ctrl-C, then wait (bounded) for the final report.
# Without PID, the last tracer started.
tracer_stop() {
	local pid=${1:-$TRACER_PID}
	[ -n "$pid" ] || return 0
	kill -INT "$pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "tracer ignored SIGINT; killing"; kill -9 "$pid"
	fi
	wait "$pid" 2>/dev/null
	local rc=$?
	[ "$pid" = "$TRACER_PID" ] && TRACER_PID=
	note_skips "${TRACER_OUT[$pid]:-}"
	return $rc
}

# doctor_start NS OUT [SECONDS]: doctor in the background, in the run's
# attach mode, watching for SECONDS (120: a verdict on SIGINT once the
# traffic is over, when it has seen the same closes as the report). DOC_PID;
# TRACER_PID stays the last tracer's. doctor_stop: its verdict now;
# doctor_wait: at the end of its watch; either sets its exit status, DOC_RC.
doctor_start() {
	local prev=$TRACER_PID
	tracer_start "$2" doctor --json -d "${3:-120}" --netns "/var/run/netns/$1" || return 1
	DOC_PID=$TRACER_PID TRACER_PID=$prev
}
doctor_stop() { tracer_stop "$DOC_PID"; DOC_RC=$?; }
doctor_wait() { wait "$DOC_PID"; DOC_RC=$?; }
# has FILE ID: how many findings ID doctor's JSON holds; field FILE ID KEY:
# the first one's KEY.
has() { jq -r --arg id "$2" '[.findings[] | select(.id==$id)] | length' "$1"; }
field() { jq -r --arg id "$2" "[.findings[] | select(.id==\$id)][0].$3" "$1"; }

# keepalive_verdict DOC CLOSER CLIENT CLOSES PORT FIX (regexes but CLOSES
# and PORT): doctor's JSON DOC holds one keepalive_defeated, a warning (exit
# 2), naming CLOSER as the upstream that closes first toward
# 127.0.0.1:PORT, CLIENT as the client over all CLOSES connections, and the
# fix beginning with FIX (the client's own).
keepalive_verdict() {
	note "doctor's findings: $(jq -c '[.findings[] | "\(.severity) \(.id): \(.title)"]' "$1")"
	check "doctor: keepalive_defeated found, a warning (exit 2)" "1 warning 2 2" \
		"$(has "$1" keepalive_defeated) $(field "$1" keepalive_defeated severity) $DOC_RC $(jq .exit_status "$1")"
	check_match "doctor: the upstream named as the closer, toward 127.0.0.1:$5" \
		"^$2 closes first after one request: keepalive to 127\\.0\\.0\\.1 -> 127\\.0\\.0\\.1:$5 is defeated$" \
		"$(field "$1" keepalive_defeated title)"
	check_match "doctor: the client named, over every one of its $4 connections" \
		"of $4 connections from $3 were closed first by the upstream" "$(field "$1" keepalive_defeated evidence)"
	check_match "doctor: the fix is the client's own" "^$6" "$(field "$1" keepalive_defeated fix)"
}

# note_skips FILE: a JSON report whose kernel skipped program runs says so
# (the checks then hold on closes seen + unseen: docs/counting.md, limits).
note_skips() {
	local s
	[ -s "${1:-}" ] || return 0
	s=$(jq -r 'select(.tracer != null) | .tracer |
		select(.missed_runs > 0 or .closes_unseen > 0) |
		"kernel skipped runs: missed_runs \(.missed_runs), closes_unseen \(.closes_unseen)"' \
		"$1" 2>/dev/null | head -1)
	[ -z "$s" ] || note "$s"
}

# nstat_get NS COUNTER: absolute value of a kernel MIB counter in NS.
nstat_get() {
	in_ns "$1" nstat -az "$2" | awk -v c="$2" '$1 == c {print $2; found=1} END {if (!found) print 0}'
}

cleanup() {
	for p in "${TRACERS[@]}"; do kill -9 "$p" 2>/dev/null; done
	# netns_new runs in $(...): its NETNS_LIST+= never reaches this shell,
	# so the names (tcpc-NAME-$$) are what finds them
	for ns in "${NETNS_LIST[@]}" $(ip netns list | awk -v s="-$$" '$1 ~ /^tcpc-/ && substr($1, length($1) - length(s) + 1) == s {print $1}'); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

finish() {
	echo "RESULT $PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
