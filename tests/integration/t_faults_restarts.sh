#!/usr/bin/env bash
# Fault: the client is killed (kill -9) and restarted 20 times. Each dead
# session must be closed on the server: with one client up again, the
# server holds its baseline sockets plus one control connection and a
# pool of at most pool_size (5), not one socket more per restart.
. "$(dirname "$0")/lib.sh"
LPORT=$(free_port)
start_xfer_service "$LPORT"
SPORT=$(free_port)
write_server_config "$T/server.yaml" "$SPORT" 5
start_server "$T/server.yaml"
base=$(sock_count "$SERVER_PID")
for i in $(seq 1 20); do
	start_client "$SPORT" "$LPORT"
	kill -9 "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
done
start_client "$SPORT" "$LPORT"
# The server sees each death as a FIN or reset at once; give it a moment.
settled() { [ "$(sock_count "$SERVER_PID")" -le $((base + 6)) ]; }
wait_for settled || fail "after 20 kill -9 restarts: server sockets $(sock_count "$SERVER_PID"), baseline $base + 6: leak"
# The client still works: its pool was not confused by the dead ones.
out=$(python3 "$TOP/tests/integration/xfer.py" client "$SPORT" both 100000 2>&1) ||
	fail "after 20 restarts, a transfer failed: $out"
log "20 kill -9 restarts: server sockets $(sock_count "$SERVER_PID") (baseline $base + 6): ok"
