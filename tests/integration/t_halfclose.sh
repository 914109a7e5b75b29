#!/usr/bin/env bash
# Half-close in each direction is forwarded only after the bytes before it.
. "$(dirname "$0")/lib.sh"
SPORT=$(free_port); EPORT=$(free_port); PPORT=$(free_port)
start_helper echo echo-server "$EPORT"
start_helper push push-server "$PPORT" 3000000
wait_for port_open "$EPORT" && wait_for port_open "$PPORT" || fail "local services"
write_server_config "$T/server.yaml" "$SPORT"
start_server "$T/server.yaml"

# Visitor shuts its write side first: echo of 5 MB still comes back, then EOF.
start_client "$SPORT" "$EPORT"
python3 "$HELP" halfclose "$SPORT" 5000000 || fail "visitor-side half-close"
python3 "$HELP" halfclose "$SPORT" 0 || fail "visitor-side half-close, no data"
kill "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true

# Local service shuts first: the visitor reads 3 MB + EOF, then still sends.
start_client "$SPORT" "$PPORT"
out=$(python3 "$HELP" push-client "$SPORT" 3000000 1000000) || fail "service-side half-close: $out"
want=$(echo "$out" | sed -n 's/.*sha256 //p')
wait_for grep -q "received 1000000 bytes sha256 $want" "$T/push.log" ||
    fail "bytes sent after the service's FIN did not arrive: $(cat "$T/push.log")"
log "half-close both ways: ok"
