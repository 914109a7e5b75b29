#!/usr/bin/env bash
# Protocols a developer tunnels: WebSocket echo, HTTPS passed through
# untouched to a local TLS service, and a server-speaks-first service.
. "$(dirname "$0")/lib.sh"
standard_setup

# WebSocket: handshake, small messages and a 200 kB frame echoed.
python3 "$HELP" ws-client "$SPORT" hello "second message" || fail "websocket through the tunnel"

# HTTPS: the tunnel does not terminate TLS; the local service's certificate
# is what curl sees.
command -v openssl >/dev/null || skip "openssl missing"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
    -days 1 -subj "/CN=tunnel-test-local" >/dev/null 2>&1 || fail "openssl req"
TPORT=$(free_port)
(cd "$T" && exec openssl s_server -quiet -accept "$TPORT" -cert cert.pem -key key.pem -www) \
    >>"$T/tls.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$TPORT" || fail "openssl s_server did not start"
SPORT2=$(free_port)
write_server_config "$T/server2.yaml" "$SPORT2"
start_server "$T/server2.yaml"
start_client "$SPORT2" "$TPORT"
out=$(curl -sk -v "https://127.0.0.1:$SPORT2/" 2>&1) || fail "curl https: $out"
echo "$out" | grep -q "CN=tunnel-test-local" || fail "certificate is not the local service's: $out"
echo "$out" | grep -qi "s_server" || fail "no s_server page: $(echo "$out" | tail -n 5)"

# Server speaks first: the banner arrives although the visitor sends nothing.
BPORT=$(free_port)
start_helper banner banner-server "$BPORT"
wait_for port_open "$BPORT" || fail "banner service did not start"
SPORT3=$(free_port)
write_server_config "$T/server3.yaml" "$SPORT3"
start_server "$T/server3.yaml"
start_client "$SPORT3" "$BPORT"
python3 "$HELP" banner-client "$SPORT3" || fail "server-speaks-first through the tunnel"
log "websocket, https pass-through, server-speaks-first: ok"
