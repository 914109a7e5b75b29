#!/usr/bin/env bash
# Fault: the server goes away. The client waiting to reconnect backs off
# and spends (almost) no CPU, and logs in again once the server is back.
. "$(dirname "$0")/lib.sh"
LPORT=$(free_port)
start_xfer_service "$LPORT"
SPORT=$(free_port)
write_server_config "$T/server.yaml" "$SPORT" 5
start_server "$T/server.yaml"
start_client "$SPORT" "$LPORT"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
sleep 1
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
c0=$(cpu "$CLIENT_PID"); sleep 8; c1=$(cpu "$CLIENT_PID")
[ $((c1 - c0)) -le 5 ] || fail "client used $((c1 - c0)) ticks in 8 s while waiting for the server"
before=$(ups)
start_server "$T/server.yaml"
SLOW=$((3 * SLOW)) wait_for client_up "$before" || fail "client did not come back after the server restarted"
log "client idle while the server was down ($((c1 - c0)) ticks in 8 s), back once it returned: ok"
