#!/usr/bin/env bash
# Fault: a local service that accepts and never answers, with
# idle_timeout: 2. The server closes the silent visitor after about 2 s
# (between 1.5 and 5) and logs why.
. "$(dirname "$0")/lib.sh"
LPORT=$(free_port)
start_silent_service "$LPORT"
SPORT=$(free_port)
write_server_config "$T/server.yaml" "$SPORT" 5
echo "idle_timeout: 2" >>"$T/server.yaml"
start_server "$T/server.yaml"
start_client "$SPORT" "$LPORT"
out=$(python3 - "$SPORT" 2>&1 <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.sendall(b"hello?")
t0 = time.time()
s.settimeout(10)
try:
    d = s.recv(10)
except ConnectionResetError:
    d = b""
except socket.timeout:
    raise SystemExit("still open after 10 s")
took = time.time() - t0
if d != b"" or not 1.5 < took < 5:
    raise SystemExit("got %r after %.1f s" % (d, took))
print("closed after %.1f s" % took)
PY
) || fail "idle_timeout 2 did not close a silent connection: $out"
grep -q "idle timeout" "$T/server.log" || fail "idle timeout not logged"
log "idle_timeout 2: silent visitor $out: ok"
