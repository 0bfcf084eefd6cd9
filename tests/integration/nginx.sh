# nginx instances for the integration tests (sourced after lib.sh): each gets
# its own directory under $WORK, one worker, no access log, no shared state.
# nginx_conf NAME SERVER-BLOCK [HTTP-EXTRA]
nginx_conf() {
	local d=$WORK/$1; mkdir -p "$d"
	cat >"$d/nginx.conf" <<CONF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
user root;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $d/body; proxy_temp_path $d/proxy;
	${3:-}
	server { $2 }
}
CONF
}

nginx_start() {	# nginx_start NS NAME: start it; prints the worker pid
	local ns=$1 d=$WORK/$2
	in_ns "$ns" nginx -c "$d/nginx.conf" -e "$d/error.log" || return 1
	for _ in $(seq 50); do [ -s "$d/nginx.pid" ] && break; sleep 0.1; done
	for _ in $(seq 50); do pgrep -P "$(cat "$d/nginx.pid")" nginx && return 0; sleep 0.1; done
	return 1
}

nginx_stop() {	# nginx_stop NS NAME: graceful quit (SIGQUIT to the master), bounded wait
	local pid
	pid=$(cat "$WORK/$2/nginx.pid" 2>/dev/null) || return 0
	server_stop QUIT "$pid"
}
