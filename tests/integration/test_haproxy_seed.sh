#!/bin/bash
# Seed report 000 with HAProxy as the proxy. `option http-server-close`
# (common in older configurations: the pre-1.5 way to keep the client side
# alive) makes HAProxy ask its server to close after every response: each
# upstream connection carries one request and the upstream closes it first,
# leaving its TIME_WAIT there. HAProxy aborts some of them itself with
# SO_LINGER 0 (a reset, no TIME_WAIT of its own) when the server has not
# closed yet, and a few of those resets cross the server's FIN.
# (a) http-server-close: tcpclose must name the upstream nginx as the
#     active closer and HAProxy (by name) as the client, with both sides of
#     every connection telling the same close (mirror), HAProxy's resets as
#     SO_LINGER 0 exactly as the kernel counts them, TIME_WAIT as nstat
#     counts it; doctor's keepalive_defeated gives HAProxy's own fix.
# (b) HAProxy's default (`option http-keep-alive`, `http-reuse safe`): a few
#     server connections carry every request, and doctor is quiet about it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"
for p in haproxy nginx wrk curl; do
	command -v $p >/dev/null || { check "$p installed (Makefile TEST_PKGS: make test-deps)" yes no; finish; exit; }
done

# haproxy_start NS NAME MODE-OPTION: HAProxy on 127.0.0.1:8080 in front of
# the nginx on 127.0.0.1:8081, in the foreground (-db) in the background
# here. Sets HAP_PID once it listens.
haproxy_start() {
	local ns=$1 d=$WORK/$2
	mkdir -p "$d"
	cat >"$d/haproxy.cfg" <<CONF
global
	maxconn 4096
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	$3
frontend fe
	bind 127.0.0.1:8080
	default_backend be
backend be
	server up 127.0.0.1:8081
CONF
	ip netns exec "$ns" haproxy -db -f "$d/haproxy.cfg" >"$d/out.log" 2>&1 &
	HAP_PID=$!	# ip netns exec execs: this is HAProxy
	for _ in $(seq 200); do	# bounded: 20 s (TCG)
		kill -0 "$HAP_PID" 2>/dev/null || break
		[ -n "$(in_ns "$ns" ss -Hltn '( sport = :8080 )')" ] && return 0
		sleep 0.1
	done
	echo "haproxy did not start:"; cat "$d/out.log"
	return 1
}
haproxy_stop() { server_stop USR1 "$HAP_PID"; HAP_PID=; }	# a soft stop
nginx_conf upstream 'listen 127.0.0.1:8081; keepalive_timeout 60s; keepalive_requests 100000;
	location / { return 200 "ok\n"; }'

# ---------------------------------------------------------------- (a)
ns=$(netns_new haproxy) || exit 1
# Every upstream connection leaves one TIME_WAIT: keep them all countable,
# and give HAProxy enough ports that a reused 4-tuple is rare.
in_ns "$ns" sysctl -qw net.ipv4.tcp_max_tw_buckets=262144
in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
out=$WORK/report.json doc=$WORK/doctor.json
tracer_start "$out" report --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
doctor_start "$ns" "$doc" || { FAIL=1; finish; exit; }
up=$(nginx_start "$ns" upstream) || { check "upstream nginx starts" 0 1; finish; exit; }
haproxy_start "$ns" close "option http-server-close" || { check "haproxy starts" 0 1; finish; exit; }
hap=$HAP_PID
note "HAProxy $hap ($(cat /proc/$hap/comm)), upstream nginx worker $up"
check "wrk -> HAProxy -> nginx answers" ok "$(in_ns "$ns" curl -s --max-time 5 http://127.0.0.1:8080/)"
# 8 connections: wrk's own resets at its exit (unread replies) stay under
# doctor's 20-close threshold, as a real client's would
in_ns "$ns" wrk -t1 -c8 -d2s --timeout 2s http://127.0.0.1:8080/ >"$WORK/wrk.out"
# HAProxy first (as the proxy in test_nginx_seed.sh): what it still had
# open toward the upstream then is closed by its stop, HAProxy first.
open_hap=$(in_ns "$ns" ss -Htan state established '( dport = :8081 )' | wc -l)
haproxy_stop
nginx_stop "$ns" upstream
ns_settle "$ns"	# every close's last step done before the tracers stop (nstat is read after)
doctor_stop
tracer_stop
reqs=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
hap_row=$(peer_row "$out" "$hap" client 0 8081)
up_row=$(peer_row "$out" "$up" server 8081 0)
read -r u_l _ u_s _ _ u_u _ <<<"$(kinds "$up_row")"
up_closed=$(jq .closed <<<"$up_row") hap_closed=$(jq .closed <<<"$hap_row")
unseen=$(jq .totals.close.unseen "$out")
note "wrk: $reqs requests; upstream connections: $up_closed (local_first $u_l, simultaneous $u_s, unseen $u_u), open in HAProxy at its stop: $open_hap"
check "wrk: every response 2xx" 0 "$(grep -c 'Non-2xx' "$WORK/wrk.out")"
check_ge "the upstream did real work (doctor judges from 20 closes)" 100 "$u_l"
check "process row names haproxy" haproxy \
	"$(jq -r --argjson p "$hap" '.processes[] | select(.pid==$p) | .comm' "$out")"
within "one request per upstream connection" "$up_closed" "$(jq .one_exchange <<<"$up_row")" "$u_u"
# The seed's finding: the upstream closes first (HAProxy said Connection:
# close), but where HAProxy's abort wins the race; not those open in HAProxy
# at its stop.
check_ge "upstream started the close (FIN first or simultaneous) on >= 90% of the rest" \
	$(( (up_closed - open_hap) * 90 / 100 )) $((u_l + u_s))
check "HAProxy/nginx: same number of closes, every kind (.closed)" "$up_closed" "$hap_closed"
mirror "HAProxy" "$(kinds "$hap_row")" "nginx" "$(kinds "$up_row")"
# HAProxy's resets are SO_LINGER 0 closes, each one a reset nginx received
# (in ESTABLISHED, or after its FIN); the kernel counts linger-0 closes in
# TcpExtTCPAbortOnData, with the resets for data after close (wrk's, at its
# exit): every one of them has its cause, but the closes found unseen.
hap_linger=$(jq '.reset_cause.linger_zero' <<<"$hap_row")
note "HAProxy's SO_LINGER 0 aborts: $hap_linger (a race with nginx's FIN: a few in a hundred here)"
near "HAProxy's SO_LINGER 0 resets == resets nginx received" "$hap_linger" \
	"$(jq '.reset_received_in | .established + .close_wait + .fin_sent + .handshake' <<<"$up_row")" "$unseen"
within "TcpExtTCPAbortOnData == linger_zero + data_after_close, every row" \
	"$(nstat_get "$ns" TcpExtTCPAbortOnData)" \
	"$(jq '[.peers[].reset_cause | .linger_zero + .data_after_close] | add' "$out")" "$unseen"
check "HAProxy left no TIME_WAIT of its own toward the upstream" 0 "$(jq .timewait <<<"$hap_row")"
within "nstat timewait creations (TW+TWKilled) == tcpclose timewait" \
	$(( $(nstat_get "$ns" TcpExtTW) + $(nstat_get "$ns" TcpExtTWKilled) )) "$(jq .totals.timewait "$out")" \
	"$(tw_slack "$unseen")"
keepalive_verdict "$doc" "nginx \\(pid $up\\)" "haproxy \\(pid $hap\\)" "$hap_closed" 8081 \
	"HAProxy: 'option http-keep-alive' \\(the default\\) instead of 'option http-server-close'"

# ---------------------------------------------------------------- (b)
# HAProxy's default: the server side kept alive and shared (http-reuse safe).
ns=$(netns_new haproxyok) || exit 1
out=$WORK/ok.json doc=$WORK/ok-doctor.json
tracer_start "$out" report --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
doctor_start "$ns" "$doc" || { FAIL=1; finish; exit; }
up=$(nginx_start "$ns" upstream) || { check "upstream nginx starts (keepalive)" 0 1; finish; exit; }
haproxy_start "$ns" keep "option http-keep-alive" || { check "haproxy starts (keepalive)" 0 1; finish; exit; }
hap=$HAP_PID
in_ns "$ns" wrk -t1 -c8 -d1s --timeout 2s http://127.0.0.1:8080/ >"$WORK/wrk-ok.out"
haproxy_stop	# closes its idle server connections: HAProxy first
nginx_stop "$ns" upstream
ns_settle "$ns"
doctor_stop
tracer_stop
reqs=$(awk '/requests in/ {print $1}' "$WORK/wrk-ok.out")
hap_row=$(peer_row "$out" "$hap" client 0 8081)
conns=$(jq .closed <<<"$hap_row")
note "keepalive: wrk $reqs requests over $conns upstream connections"
check "keepalive: wrk: every response 2xx" 0 "$(grep -c 'Non-2xx' "$WORK/wrk-ok.out")"
check_ge "keepalive: wrk did real work" 100 "${reqs:-0}"
# (how many: HAProxy's threads keep pools of their own; 8 to 20 seen)
check "keepalive: few upstream connections carried them (10 requests or more each, on average)" yes \
	"$([[ $conns =~ ^[0-9]+$ ]] && ((conns >= 1 && reqs >= 10 * conns)) && echo yes || echo "no: $conns")"
check_ge "keepalive: every request went over them (data segments HAProxy sent)" "$reqs" \
	"$(jq .segs_out <<<"$hap_row")"
check "keepalive: doctor quiet about keepalive_defeated, nothing worse than info (exit 0)" "0 0 []" \
	"$(has "$doc" keepalive_defeated) $DOC_RC $(jq -c '[.findings[] | select(.severity != "info") |
		"\(.id): \(.evidence)"]' "$doc")"
finish
