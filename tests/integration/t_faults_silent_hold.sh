#!/usr/bin/env bash
# Fault: a local service that accepts and never answers, and no
# idle_timeout in the configuration. Nothing times the visitor out: it is
# still open after 4 s (idle_timeout defaults to off).
. "$(dirname "$0")/lib.sh"
LPORT=$(free_port)
start_silent_service "$LPORT"
SPORT=$(free_port)
write_server_config "$T/server.yaml" "$SPORT" 5
start_server "$T/server.yaml"
start_client "$SPORT" "$LPORT"
out=$(python3 - "$SPORT" 2>&1 <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.sendall(b"hello?")
s.settimeout(4)
t0 = time.time()
try:
    d = s.recv(10)
    raise SystemExit("got %r after %.1f s" % (d, time.time() - t0))
except socket.timeout:
    pass
except ConnectionResetError:
    raise SystemExit("reset after %.1f s" % (time.time() - t0))
PY
) || fail "silent service timed out without idle_timeout: $out; server: $(grep 'closed after' "$T/server.log" | tail -n 1 | sed 's/.*bytes out: //')"
log "silent service held 4 s without idle_timeout: ok"
