#!/bin/bash
# The Debian package (make deb): lintian-clean, the unit passes
# `systemd-analyze verify`, and installed by dpkg into a throwaway root
# (never this host) the exporter starts as the unit says - its
# /etc/default file, its capability bounding set and ambient set,
# no_new_privs, its MemoryMax where cgroup v2 has the memory controller -
# drops to nobody and serves metrics.
. "$(dirname "$0")/lib.sh"
deb=$(ls "$ROOT"/build/deb/tcpclose_*_amd64.deb 2>/dev/null | tail -1)
if [ -z "$deb" ] || ! command -v dpkg-deb >/dev/null || ! command -v lintian >/dev/null; then
	note "no package or no dpkg-deb/lintian here (make deb; the test VM has neither): skipped"
	finish
	exit
fi
lintian --fail-on error,warning "$deb" >"$WORK/lintian.out" 2>&1
check "lintian: no error, no warning" "0 " "$? $(grep -E '^[EW]:' "$WORK/lintian.out")"

# dpkg's own install into a throwaway root (no maintainer script runs: unpack)
R=$WORK/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" && touch "$R/var/lib/dpkg/status"
dpkg --root="$R" --unpack "$deb" >"$WORK/dpkg.out" 2>&1
check "dpkg --root --unpack" 0 $?
check "dpkg knows it there" "install ok unpacked" "$(dpkg --root="$R" -s tcpclose | sed -n 's/^Status: //p')"
# what --configure does with a new conffile (its postinst, deb-systemd-helper,
# is not run: that would need systemd in the root)
check "the conffile waits as .dpkg-new" yes "$([ -f "$R/etc/default/tcpclose.dpkg-new" ] && echo yes)"
mv "$R/etc/default/tcpclose.dpkg-new" "$R/etc/default/tcpclose"
for f in usr/sbin/tcpclose usr/share/man/man8/tcpclose.8.gz lib/systemd/system/tcpclose-exporter.service \
	etc/default/tcpclose usr/share/tcpclose/grafana-dashboard.json usr/share/tcpclose/tcpclose.rules.yml \
	usr/share/doc/tcpclose/copyright usr/share/doc/tcpclose/deploy.md; do
	[ -s "$R/$f" ] || missing="${missing:-} $f"
done
check "the binary, man page, unit, default file, dashboard, rules, docs" "" "${missing:-}"
check "/etc/default/tcpclose is a conffile" /etc/default/tcpclose "$(dpkg-deb -I "$deb" conffiles)"
check "the packaged binary is the static one: no shared library" "" \
	"$(readelf -d "$R/usr/sbin/tcpclose" 2>/dev/null | grep NEEDED)"

unit=$R/lib/systemd/system/tcpclose-exporter.service
# systemd-analyze resolves the unit's dependencies in --root: systemd's own units
mkdir -p "$R/usr/lib/systemd" && cp -r /usr/lib/systemd/system "$R/usr/lib/systemd/"
systemd-analyze verify --root="$R" --man=no tcpclose-exporter.service >"$WORK/verify.out" 2>&1
check "systemd-analyze verify: clean" "0 " "$? $(cat "$WORK/verify.out")"
for d in CapabilityBoundingSet AmbientCapabilities NoNewPrivileges=yes ProtectSystem=strict \
	ProtectHome=yes PrivateTmp=yes RestrictAddressFamilies MemoryMax; do
	grep -q "^$d" "$unit" || nod="${nod:-} $d"
done
check "hardened: every directive there" "" "${nod:-}"

# the unit's settings, as systemd would apply them
key() { sed -n "s/^$1=//p" "$unit" | tail -1; }
caps=$(key CapabilityBoundingSet | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
check "ambient set = bounding set" "$(key CapabilityBoundingSet)" "$(key AmbientCapabilities)"
port=$((22000 + $$ % 1000))
sed -i "s/^TCPCLOSE_LISTEN=.*/TCPCLOSE_LISTEN=127.0.0.1:$port/" "$R/etc/default/tcpclose"
# Environment= first, then EnvironmentFile= overrides it; ExecStart's words
# with ${VAR} and $VAR expanded (ours are one word each, or none)
eval "$(key Environment)"
. "$R/etc/default/tcpclose"
exec_start=$(key ExecStart | sed "s|^/usr/sbin/tcpclose|$R/usr/sbin/tcpclose|")
read -r -a argv <<<"$(eval echo "$exec_start")"
mem=$(key MemoryMax | sed 's/M$//')
cgdir=
need_cgroup2
if grep -qw memory "$CGROUP2/cgroup.controllers" && grep -qw memory "$CGROUP2/cgroup.subtree_control"; then
	cgdir=$CGROUP2/tcpc-deb-$$
	mkdir "$cgdir" && echo $((mem * 1024 * 1024)) >"$cgdir/memory.max"
else
	note "no memory controller in cgroup v2 here: MemoryMax not enforced in this run"
fi
out=$WORK/exporter.out
(
	[ -n "$cgdir" ] && echo $BASHPID >"$cgdir/cgroup.procs"
	exec setpriv --bounding-set "-all,$caps" --inh-caps "-all,$caps" --ambient-caps "-all,$caps" \
		--no-new-privs "${argv[@]}"
) >"$out" 2>"$out.err" &
epid=$!
TRACERS+=("$epid")
for _ in $(seq 100); do grep -q "serving http" "$out.err" 2>/dev/null && break; kill -0 $epid 2>/dev/null || break; sleep 0.1; done
# the exporter is the subshell's exec: its pid
check_match "started as the unit runs it, listening on the /etc/default address" "serving http://127.0.0.1:$port/metrics" "$(cat "$out.err")"
sleep 1.1
curl -sf "http://127.0.0.1:$port/metrics" >"$WORK/m.txt"
check "scraped" 0 $?
check_match "it is the packaged version" "tcpclose_tracer_info\{version=\"$(dpkg-deb -f "$deb" Version)\"" "$(grep '^tcpclose_tracer_info' "$WORK/m.txt")"
st=/proc/$epid/status
check "dropped to nobody, no capability, no_new_privs, seccomp" "65534 0000000000000000 1 2" \
	"$(awk '/^Uid:/ {u=$2} /^CapEff:/ {c=$2} /^NoNewPrivs:/ {n=$2} /^Seccomp:/ {s=$2} END {print u, c, n, s}' "$st")"
if [ -n "$cgdir" ]; then
	maps=$(awk '$1 == "tcpclose_tracer_memory_bytes{kind=\"maps\"}" {print $2}' "$WORK/m.txt")
	used=$(cat "$cgdir/memory.peak" 2>/dev/null || cat "$cgdir/memory.current")
	check_ge "MemoryMax (MiB) holds the cgroup's peak, maps included (MiB)" $((used / 1048576)) "$mem"
	check_ge "the cgroup was charged the maps" "$maps" "$used"
	check "no OOM kill under MemoryMax" 0 "$(awk '$1 == "oom_kill" {print $2}' "$cgdir/memory.events")"
fi
kill -INT "$epid"; wait "$epid" 2>/dev/null
check "it ends cleanly on SIGINT" 0 $?
[ -n "$cgdir" ] && rmdir "$cgdir"
finish
