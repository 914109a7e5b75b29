#!/usr/bin/env bash
# Fault: a visitor resets its connection (SO_LINGER 0) mid-upload. The
# server sees and logs the reset for what it is.
. "$(dirname "$0")/lib.sh"
LPORT=$(free_port)
start_xfer_service "$LPORT"
SPORT=$(free_port)
write_server_config "$T/server.yaml" "$SPORT" 5
start_server "$T/server.yaml"
start_client "$SPORT" "$LPORT"
python3 - "$SPORT" <<'PY' || fail "visitor could not upload"
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.sendall(b"echo\n" + b"x" * 4_000_000)
time.sleep(0.2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
PY
wait_for grep -q "visitor reset" "$T/server.log" || fail "server did not log the visitor's reset"
log "visitor reset mid-upload logged as a reset: ok"
