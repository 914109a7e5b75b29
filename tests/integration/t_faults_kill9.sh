#!/usr/bin/env bash
# Fault: the client is killed (kill -9) during a 200 MB download read
# slowly. The visitor must see a reset within 2 s, never a clean EOF that
# makes a cut-short download look complete; and a visitor arriving after
# it is told that no tunnel client is online. Both are checked and
# reported, so one failing cannot hide the other.
. "$(dirname "$0")/lib.sh"
LPORT=$(free_port)
start_xfer_service "$LPORT"
SPORT=$(free_port)
write_server_config "$T/server.yaml" "$SPORT" 5
start_server "$T/server.yaml"
start_client "$SPORT" "$LPORT"
bad=0

python3 - "$SPORT" >"$T/kill9.log" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.sendall(b"down %d\n" % (200 * 1024 * 1024))
got = 0
started = False
try:
    while True:
        d = s.recv(65536)
        if not d:
            print("EOF after %d bytes" % got); break
        got += len(d)
        if got < 50 * 1024 * 1024:
            time.sleep(0.001)
        if got >= 20 * 1024 * 1024 and not started:
            print("STARTED", flush=True); started = True
except ConnectionResetError:
    print("RESET after %d bytes at %.3f" % (got, time.time()), flush=True)
PY
DL=$!
wait_for grep -q STARTED "$T/kill9.log" || fail "download did not start: $(cat "$T/kill9.log")"
killed_at=$(date +%s.%N)
kill -9 "$CLIENT_PID"
wait "$DL" || true
if ! grep -q "RESET after" "$T/kill9.log"; then
	echo "FAIL: client killed mid-download: the visitor saw no reset: $(cat "$T/kill9.log")"
	bad=1
else
	reset_at=$(sed -n 's/.* at //p' "$T/kill9.log")
	took=$(python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$killed_at" "$reset_at")
	python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 2 else 1)" "$took" || {
		echo "FAIL: client killed mid-download: the reset reached the visitor $took s after the kill (limit 2 s)"
		bad=1; }
fi

out=$(curl -s --max-time 2 "http://127.0.0.1:$SPORT/") || true
echo "$out" | grep -q "no tunnel client is online" || {
	echo "FAIL: client killed: a new visitor got: $out"; bad=1; }
[ $bad -eq 0 ] || exit 1
log "kill -9 of the client: the visitor saw a reset ${took} s later; new visitors told no client is online: ok"
