#!/usr/bin/env bash
# The cap on visitors waiting for a free proxy connection (4,096): with a
# logged-in client that offers no connections, 4,096 visitors wait and the
# next one is turned away at once with a 502 that says why; when they
# leave, their places are free again.
. "$(dirname "$0")/lib.sh"
SPORT=$(free_port)
cat >"$T/server.yaml" <<YAML
port: $SPORT
connect_timeout: 60
visitors_per_address: 0		# every visitor comes from 127.0.0.1 here
users:
  - username: carol
    password: "$PASSWORD"
log:
  enable: false
YAML
start_server "$T/server.yaml"
python3 "$TOP/tests/integration/tunnelproto.py" serve "$SPORT" carol "$PASSWORD" none >>"$T/carol.log" 2>&1 &
PIDS="$PIDS $!"
wait_for grep -q "logged in" "$T/carol.log" || fail "carol login"
python3 - "$SPORT" "$SLOW" <<'PY' || fail "waiting-visitor cap"
import socket, struct, sys, time
port = int(sys.argv[1])
held = []
for i in range(4096):
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.sendall(b"x")
    held.append(s)
time.sleep(float(sys.argv[2]))	# SLOW: longer under ASan/valgrind
s = socket.create_connection(("127.0.0.1", port), 10)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(5)
t0 = time.time()
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
assert data.startswith(b"HTTP/1.1 502") and b"too many visitors waiting" in data, data[:120]
assert time.time() - t0 < 2, "answer took %.1f s" % (time.time() - t0)
# Waiting visitors that leave (a reset: a FIN after bytes would still
# count as waiting for an answer) free their places in the cap.
for h in held:
    h.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.close()
time.sleep(float(sys.argv[2]))	# SLOW: longer under ASan/valgrind
s = socket.create_connection(("127.0.0.1", port), 10)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(2)
try:
    d = s.recv(4096)
    raise AssertionError("after 4,096 waiting visitors left, a new one got %r" % d[:120])
except socket.timeout:
    pass
print("4,096 waiting, the next one turned away at once; places freed when they left")
PY
kill -0 "$SERVER_PID" || fail "server died"
log "waiting-visitor cap: ok"
