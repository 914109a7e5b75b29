#!/usr/bin/env bash
# Fault: a local service that accepts and never answers. The client's
# STATUS waits (corked) for the service's first bytes; with none coming it
# must still go out, or the server gives the live proxy up after 1 s (+ 2
# RTT) and sends the visitor again: the service would see the visitor
# twice. Held 2.5 s, past that deadline; whether the visitor is closed
# later is t_faults_silent_hold's business.
. "$(dirname "$0")/lib.sh"
LPORT=$(free_port)
start_silent_service "$LPORT"
SPORT=$(free_port)
write_server_config "$T/server.yaml" "$SPORT" 5
start_server "$T/server.yaml"
start_client "$SPORT" "$LPORT"
n0=$(silent_accepts)	# port_open's probe
python3 - "$SPORT" <<'PY' || fail "could not reach the tunnel"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.sendall(b"hello?")
time.sleep(2.5)
PY
n=$(( $(silent_accepts) - n0 ))
bad=0
[ "$n" -eq 1 ] || { echo "FAIL: the visitor reached the silent service $n times, want 1 (STATUS never sent?)"; bad=1; }
! grep -q "silent after START" "$T/server.log" || {
	echo "FAIL: the server gave up a live proxy of a silent service: $(grep -m1 'silent after START' "$T/server.log")"; bad=1; }
[ $bad -eq 0 ] || exit 1
log "silent service: the visitor reached it once, its proxy kept: ok"
