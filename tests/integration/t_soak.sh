#!/usr/bin/env bash
# Soak: SOAK_SECS (default 180; `make soak` runs 1800) of mixed traffic:
# short requests, long-lived WebSockets, bulk transfers checked by SHA-256,
# with a client restart at one third and a server restart at two thirds.
# Every minute: fds and RSS of both daemons, pooled connections on the
# server side, the driver's ok/error/mismatch/hung counts. Mismatches and
# hung operations must be 0, and fds must come back to their baseline.
. "$(dirname "$0")/lib.sh"
SECS=${SOAK_SECS:-180}
SPORT=$(free_port); LPORT=$(free_port)
start_helper http http-server "$LPORT"
wait_for port_open "$LPORT" || fail "local service"
write_server_config "$T/server.yaml" "$SPORT"
start_server "$T/server.yaml"
start_client "$SPORT" "$LPORT"
sleep 1
base_fds=$(sock_count "$SERVER_PID")
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
pooled() { ss -Htn state established "( sport = :$SPORT )" 2>/dev/null | wc -l; }

python3 "$TOP/tests/integration/soak.py" "$SPORT" "$SECS" >"$T/soak.log" 2>&1 &
SOAK=$!
start=$(date +%s)
client_restarted=0; server_restarted=0; next_sample=60
while kill -0 "$SOAK" 2>/dev/null; do
	sleep 1
	t=$(( $(date +%s) - start ))
	if [ $client_restarted = 0 ] && [ $t -ge $((SECS / 3)) ]; then
		kill "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
		start_client "$SPORT" "$LPORT"
		client_restarted=1; log "t=${t}s client restarted"
	fi
	if [ $server_restarted = 0 ] && [ $t -ge $((2 * SECS / 3)) ]; then
		kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
		before=$(ups)
		start_server "$T/server.yaml"
		SLOW=4 wait_for client_up "$before" || fail "client did not come back after the server restart"
		server_restarted=1; log "t=${t}s server restarted"
	fi
	if [ $t -ge $next_sample ]; then
		log "t=${t}s server fds $(fd_count "$SERVER_PID") rss $(rss "$SERVER_PID") KiB, client fds $(fd_count "$CLIENT_PID") rss $(rss "$CLIENT_PID") KiB, tunnel-port connections $(pooled); $(tail -n 1 "$T/soak.log")"
		next_sample=$((next_sample + 60))
	fi
done
wait "$SOAK" || fail "soak: $(grep -E 'mismatch|hung|soak:' "$T/soak.log" | tail -n 5)"
sleep 2
fds=$(sock_count "$SERVER_PID")
fds_back "$SERVER_PID" "$base_fds" 2 || fail "server sockets $fds, pipes $(pipe_count "$SERVER_PID") after the soak, baseline $base_fds sockets"
log "$(tail -n 1 "$T/soak.log"); server sockets $fds (baseline $base_fds), pipes $(pipe_count "$SERVER_PID")"
