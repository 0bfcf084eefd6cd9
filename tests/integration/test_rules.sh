#!/bin/bash
# The Prometheus alert rules (tools/prometheus/tcpclose.rules.yml): promtool
# checks them and runs their unit tests (tests/prometheus/rules_test.yml,
# synthetic series), and every metric they use is one a live `tcpclose
# export` serves.
. "$(dirname "$0")/lib.sh"
rules=$ROOT/tools/prometheus/tcpclose.rules.yml
if ! command -v promtool >/dev/null; then
	note "promtool not installed here (the test VM): skipped"
	finish
	exit
fi
promtool check rules "$rules" >"$WORK/check.out" 2>&1
check "promtool check rules" "0 " "$? $(grep -i error "$WORK/check.out")"
(cd "$ROOT/tests/prometheus" && promtool test rules rules_test.yml) >"$WORK/test.out" 2>&1
rc=$?
check "promtool test rules: every alert fires where it should, nowhere else" 0 $rc
[ $rc = 0 ] || sed 's/^/    /' "$WORK/test.out" | head -40
check_ge "the unit tests cover every alert" "$(grep -c -- '- alert:' "$rules")" \
	"$(grep -o 'alertname: [A-Za-z]*' "$ROOT/tests/prometheus/rules_test.yml" | sort -u | wc -l)"

# a live exporter with traffic of each role, then its names
ns=$(netns_new rules) || exit 1
port=$((21000 + $$ % 1000))
tracer_start "$WORK/export.out" export --listen "127.0.0.1:$port" --netns "/var/run/netns/$ns" ||
	{ FAIL=1; finish; exit; }
line=$(in_ns "$ns" "$SCEN/closer" client-first 4 7501 3)
check "traffic ran" true "$(jq -r .ok <<<"$line")"
sleep 1.1
curl -sf "http://127.0.0.1:$port/metrics" >"$WORK/m.txt"
check "GET /metrics answers" 0 $?
tracer_stop
missing=
for name in $(grep -oE '\btcpclose_[a-z_]+' "$rules" | sort -u); do
	grep -q "^# TYPE $name " "$WORK/m.txt" && continue
	# served only while some destination's ports run out at the current rate
	[ "$name" = tcpclose_peer_ports_exhaustion_seconds ] && continue
	missing="$missing $name"
done
check "every metric the rules use is served by tcpclose export" "" "$missing"
check "exhaustion_seconds is a name render_prom.c writes" 1 \
	"$(grep -c '"tcpclose_peer_ports_exhaustion_seconds"' "$ROOT/user/render/render_prom.c")"
finish
