#!/bin/bash
# Seed report 002's port arithmetic against a real database: a client that
# opens one PostgreSQL connection per transaction (pgbench -C, as a PHP
# script without persistent connections does) closes first, holds the
# TIME_WAIT, and with 100 ephemeral ports and no tcp_tw_reuse runs out of
# them: connect() fails with EADDRNOTAVAIL. PostgreSQL forks a backend per
# connection: the postmaster accepts, the backend closes, and each backend
# is a process of its own.
# (a) tcpclose must count every connect failure exactly as pgbench reports
#     them, charge every server socket to the backend that closed it (never
#     the postmaster), mirror the two sides, match nstat's TIME_WAIT; doctor
#     says eaddrnotavail, names pgbench and gives PostgreSQL's fix (a pool:
#     PgBouncer), knowing the server by its process name.
# (b) pgbench keeping its connections: doctor has nothing to say.
# Host only: the VM's initramfs carries no PostgreSQL (its kernels and
# attach modes are proven by the other seeds).
. "$(dirname "$0")/lib.sh"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ] && [ "${TCPCLOSE_VM:-0}" = 1 ]; then
	note "no PostgreSQL in the VM's initramfs: skipped"; finish; exit
fi
[ -x "$PGBIN/postgres" ] && [ -x "$PGBIN/pgbench" ] && id postgres >/dev/null 2>&1 || {
	check "PostgreSQL installed (Makefile TEST_PKGS: make test-deps)" yes no; finish; exit; }

# pg_start NS: a cluster of its own in $WORK/pg (initdb, trust, no fsync),
# listening on 127.0.0.1:5432 in NS as the postgres user; PG_PID is the
# postmaster once it takes connections.
pg_start() {
	local ns=$1 d=$WORK/pg
	chmod o+x "$WORK"
	mkdir -p "$d" && chown postgres "$d"
	runuser -u postgres -- "$PGBIN/initdb" -D "$d/data" -A trust -U postgres >"$d/initdb.log" 2>&1 || {
		cat "$d/initdb.log"; return 1; }
	ip netns exec "$ns" runuser -u postgres -- "$PGBIN/postgres" -D "$d/data" \
		-c listen_addresses=127.0.0.1 -c unix_socket_directories="$d" -c max_connections=20 \
		-c fsync=off -c logging_collector=off >"$d/server.log" 2>&1 &
	PG_RUNNER=$!
	for _ in $(seq 200); do	# bounded: 20 s
		PG_PID=$(head -1 "$d/data/postmaster.pid" 2>/dev/null)
		[ -n "$PG_PID" ] && in_ns "$ns" runuser -u postgres -- "$PGBIN/pg_isready" -q -h 127.0.0.1 && return 0
		sleep 0.1
	done
	echo "postgres did not start:"; cat "$d/server.log"
	return 1
}
pg_stop() { server_stop INT "$PG_PID"; wait "$PG_RUNNER" 2>/dev/null; }	# a fast shutdown
pgbench() { in_ns "$ns" runuser -u postgres -- timeout 30 "$PGBIN/pgbench" -h 127.0.0.1 -U postgres "$@" postgres; }

ns=$(netns_new postgres) || exit 1
in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="40000 40099"
in_ns "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=0	# as toward a remote database
pg_start "$ns" || { check "postgres starts" 0 1; finish; exit; }
pgbench -i -s 1 -q >"$WORK/pginit.log" 2>&1 || { cat "$WORK/pginit.log"; check "pgbench -i" 0 1; finish; exit; }

# ---------------------------------------------------------------- (a)
# Only now: the set-up's connections took ports, which the run must not see
# as its own. They wait out their TIME_WAIT outside the count (the budget
# counts them as in use: exactly what the kernel does).
tw0=$(( $(nstat_get "$ns" TcpExtTW) + $(nstat_get "$ns" TcpExtTWKilled) ))
out=$WORK/report.json doc=$WORK/doctor.json txt=$WORK/report.txt
tracer_start "$txt" report --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
txt_pid=$TRACER_PID
tracer_start "$out" report --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
doctor_start "$ns" "$doc" || { FAIL=1; finish; exit; }
pgbench -C -S -T 5 -c 2 >"$WORK/pgbench.out" 2>&1
failed=$(grep -c "Cannot assign requested address" "$WORK/pgbench.out")
ns_settle "$ns"
doctor_stop
tracer_stop
tracer_stop "$txt_pid"
pg_stop
cli=$(jq -c '[.peers[] | select(.comm=="pgbench" and .role=="client" and .remote_port==5432)] | .[0]' "$out")
srv_rows='[.peers[] | select(.comm=="postgres" and .role=="server" and .local_port==5432)]'
ssum() { jq "$srv_rows | map($1) | add // 0" "$out"; }
srv_kinds=$(kinds_sum "$out" "$srv_rows")
# (a connect() that found no port closes its socket too: never_established)
closed=$(jq .closed <<<"$cli") unseen=$(jq .totals.close.unseen "$out")
conns=$((closed - $(jq .close.never_established <<<"$cli")))
read -r c_l c_r _ _ _ c_u _ <<<"$(kinds "$cli")"
note "pgbench: $conns connections (local_first $c_l, remote_first $c_r, unseen $c_u), $failed connect() failures: $(grep -m1 'Cannot assign' "$WORK/pgbench.out")"
check_ge "pgbench ran transactions over new connections" 20 "$conns"
check_ge "pgbench hit the port limit" 1 "$failed"
check "connect() failures with EADDRNOTAVAIL == pgbench's (no free port), each a close never established" \
	"$failed $failed" "$(jq -r '"\(.connect.port_exhausted) \(.close.never_established)"' <<<"$cli")"
check "connect attempts == connections + failures" $((conns + failed)) "$(jq .connect.attempts <<<"$cli")"
check "every server socket is a backend's, one connection each (rows, closes, pids)" \
	"$conns $conns $conns" \
	"$(jq "$srv_rows | length" "$out") $(ssum .closed) $(jq "$srv_rows | map(.pid) | unique | length" "$out")"
check "none charged to the postmaster that accepted them" 0 \
	"$(jq --argjson p "$PG_PID" '[.peers[] | select(.pid==$p)] | length' "$out")"
mirror "pgbench" "$(kinds "$cli")" "postgres" "$srv_kinds"
# the text tables: a backend per connection is one line, not one each
check_match "text report: the backends folded into one process line" "^\($conns\) +postgres +$conns " \
	"$(sed -n '/^PROCESSES/,/^$/p' "$txt")"
check_match "text report: ... and one peer line" "^\($conns\) +postgres +server +127\.0\.0\.1:5432 <- 127\.0\.0\.1 +$conns " \
	"$(sed -n '/^PEERS/,/^$/p' "$txt")"
check_ge "pgbench closed first on most (Terminate, then close)" $((conns / 2)) "$c_l"
within "nstat timewait creations (TW+TWKilled) during the run == tcpclose timewait" \
	$(( $(nstat_get "$ns" TcpExtTW) + $(nstat_get "$ns" TcpExtTWKilled) - tw0 )) "$(jq .totals.timewait "$out")" \
	"$(tw_slack "$unseen")"
note "doctor's findings: $(jq -c '[.findings[] | "\(.severity) \(.id): \(.title)"]' "$doc")"
check "doctor: eaddrnotavail, critical (exit 3)" "1 critical 3" \
	"$(has "$doc" eaddrnotavail) $(field "$doc" eaddrnotavail severity) $DOC_RC"
check_match "doctor: toward 127.0.0.1:5432, every failure" \
	"^connect\\(\\) to 127\\.0\\.0\\.1 -> 127\\.0\\.0\\.1:5432 failed $failed times with EADDRNOTAVAIL$" \
	"$(field "$doc" eaddrnotavail title)"
check_match "doctor: pgbench named" "^by pgbench \\(pid [0-9]+\\): $failed found no free ephemeral port" \
	"$(field "$doc" eaddrnotavail evidence)"
check_match "doctor: PostgreSQL's fix, the server known by its process name" \
	"^PostgreSQL: pool connections \\(PgBouncer in transaction mode" "$(field "$doc" eaddrnotavail fix)"

# ---------------------------------------------------------------- (b)
ns=$(netns_new postgresok) || exit 1
rm -rf "$WORK/pg"
pg_start "$ns" || { check "postgres starts (pooled)" 0 1; finish; exit; }
pgbench -i -s 1 -q >"$WORK/pginit.log" 2>&1 || { cat "$WORK/pginit.log"; check "pgbench -i (pooled)" 0 1; finish; exit; }
out=$WORK/ok.json doc=$WORK/ok-doctor.json
tracer_start "$out" report --json --netns "/var/run/netns/$ns" || { FAIL=1; finish; exit; }
doctor_start "$ns" "$doc" || { FAIL=1; finish; exit; }
pgbench -S -T 2 -c 2 >"$WORK/pgbench-ok.out" 2>&1
ns_settle "$ns"
doctor_stop
tracer_stop
pg_stop
tx=$(awk '/number of transactions actually processed/ {print $NF}' "$WORK/pgbench-ok.out")
cli=$(jq -c '[.peers[] | select(.comm=="pgbench" and .role=="client" and .remote_port==5432)] | .[0]' "$out")
note "pooled: $tx transactions over $(jq .closed <<<"$cli") connections"
check_ge "pooled: pgbench ran transactions" 100 "${tx:-0}"
check "pooled: three connections carried them (one per client, and pgbench's first look at the tables)" \
	3 "$(jq .closed <<<"$cli")"
check "pooled: doctor has nothing above info (exit 0)" "0 []" \
	"$DOC_RC $(jq -c '[.findings[] | select(.severity != "info") | "\(.id): \(.evidence)"]' "$doc")"
finish
