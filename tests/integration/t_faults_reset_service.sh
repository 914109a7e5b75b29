#!/usr/bin/env bash
# Fault: the local service sends 1 MB and then resets (SO_LINGER 0). The
# visitor must see a reset, not a clean EOF that makes a cut-short
# answer look complete.
. "$(dirname "$0")/lib.sh"
LPORT=$(free_port)
python3 - "$LPORT" >>"$T/rst.log" 2>&1 <<'PY' &
import socket, struct, sys, time
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1]))); ls.listen(8)
while True:
    c, _ = ls.accept()
    try:  # port probes connect and leave at once
        c.sendall(b"y" * 1_000_000)
        time.sleep(0.2)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    c.close()
PY
PIDS="$PIDS $!"
wait_for port_open "$LPORT" || fail "resetting service did not start"
SPORT=$(free_port)
write_server_config "$T/server.yaml" "$SPORT" 5
start_server "$T/server.yaml"
start_client "$SPORT" "$LPORT"
out=$(python3 - "$SPORT" 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.settimeout(10)
got = 0
try:
    while True:
        d = s.recv(65536)
        if not d:
            raise SystemExit("clean EOF after %d bytes" % got)
        got += len(d)
except ConnectionResetError:
    print("reset after %d bytes" % got)
PY
) || fail "service reset did not reach the visitor as a reset: $out"
log "service reset mid-download reached the visitor as a reset ($out): ok"
