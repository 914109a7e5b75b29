#!/usr/bin/env bash
# Routing and the visitor's answers: a user's own port, the main port going
# to the newest login without an own port, a second login of the same user
# taking over (on the main port and on an own port), a visitor waiting
# connect_timeout for a free connection, the client's FAIL turned into a
# 502 with its reason, a client that never answers, escaped usernames in
# the log, and clean SIGTERM exits.
. "$(dirname "$0")/lib.sh"
P="python3 $TOP/tests/integration/tunnelproto.py"
SPORT=$(free_port); BOBPORT=$(free_port); LPORT=$(free_port); L2=$(free_port)
start_helper http http-server "$LPORT"
start_helper banner banner-server "$L2"
wait_for port_open "$LPORT" && wait_for port_open "$L2" || fail "local services"
cat >"$T/server.yaml" <<YAML
port: $SPORT
pool_size: 3
connect_timeout: 2
users:
  - username: admin
    password: "$PASSWORD"
  - username: carol
    password: "$PASSWORD"
  - username: bob
    password: "$PASSWORD"
    port: $BOBPORT
log:
  enable: false
YAML
start_server "$T/server.yaml"
wait_for port_open "$BOBPORT" || fail "bob's own port is not listening"

# admin on the main port, bob on his own port with another service.
start_client "$SPORT" "$LPORT"
ADMIN=$CLIENT_PID
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec "$CLIENT_BIN" -s "127.0.0.1:$SPORT" -u bob -p "$L2") >>"$T/bob.log" 2>&1 &
PIDS="$PIDS $!"; BOB=$!
wait_for grep -q "tunnel up: 127.0.0.1:$BOBPORT" "$T/bob.log" || fail "bob's client does not show his port"
[ "$(curl -sf "http://127.0.0.1:$SPORT/")" = "hello from local" ] || fail "main port -> admin"
python3 "$HELP" banner-client "$BOBPORT" || fail "bob's port -> bob's service"

# A newer login without an own port takes the main port: carol (python)
# answers "fail", so visitors see her reason in a 502.
$P serve "$SPORT" carol "$PASSWORD" fail 3 >>"$T/carol.log" 2>&1 &
CAROL=$!; PIDS="$PIDS $CAROL"
wait_for grep -q "logged in" "$T/carol.log" || fail "carol login"
sleep 0.3
out=$(curl -s -w '\n%{http_code}' "http://127.0.0.1:$SPORT/")
echo "$out" | tail -n 1 | grep -qx 502 || fail "carol's FAIL: want 502: $out"
echo "$out" | grep -q "test says no" || fail "carol's reason not in the 502: $out"
kill "$CAROL"; wait "$CAROL" 2>/dev/null || true
# carol gone: the main port falls back to admin.
wait_for sh -c "curl -sf http://127.0.0.1:$SPORT/ | grep -q 'hello from local'" || fail "fallback to admin"

# A login with no proxy connections: the visitor waits connect_timeout (2 s).
$P serve "$SPORT" carol "$PASSWORD" none >>"$T/carol2.log" 2>&1 &
CAROL=$!; PIDS="$PIDS $CAROL"
wait_for grep -q "logged in" "$T/carol2.log" || fail "carol login 2"
start=$(date +%s%N)
out=$(curl -s -w '\n%{http_code}' "http://127.0.0.1:$SPORT/")
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "$out" | grep -q "no free tunnel connection within 2 s" || fail "waiting visitor: $out"
[ $ms -ge 1800 ] || fail "visitor answered after $ms ms, before connect_timeout"
# A waiting visitor that shut its write side after the request is still
# waiting for the answer, not gone.
python3 - "$SPORT" <<'PY' || fail "half-closed waiting visitor was dropped"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
s.shutdown(socket.SHUT_WR)
s.settimeout(10)
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
assert b"502" in data and b"no free tunnel connection" in data, data
PY
kill "$CAROL"; wait "$CAROL" 2>/dev/null || true

# A client that takes the visitor and never answers: bounded as well.
$P serve "$SPORT" carol "$PASSWORD" silent 1 >>"$T/carol3.log" 2>&1 &
CAROL=$!; PIDS="$PIDS $CAROL"
wait_for grep -q "logged in" "$T/carol3.log" || fail "carol login 3"
sleep 0.3
out=$(curl -s --max-time 15 -w '\n%{http_code}' "http://127.0.0.1:$SPORT/")
# It read START (it says so when asked): the answer is its own lateness.
echo "$out" | grep -q "did not answer in time" || fail "silent client: $out"
kill "$CAROL"; wait "$CAROL" 2>/dev/null || true

# The same user logging in again takes over; the old client says so and
# exits 1; visitors go to the new one; the old session's clean-up leaves
# the new session alone.
before=$(ups)
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec "$CLIENT_BIN" -s "127.0.0.1:$SPORT" -u admin -p "$LPORT") >>"$T/client.log" 2>&1 &
NEW=$!; PIDS="$PIDS $NEW"
wait_for client_up "$before" || fail "second admin login"
set +e; wait "$ADMIN"; rc=$?; set -e
[ $rc -eq 1 ] || fail "replaced client exit $rc"
grep -q "taken over" "$T/client.log" || fail "replaced client did not say why"
grep -q "replacing its previous session" "$T/server.log" || fail "server log does not say replaced"
sleep 0.3
for i in 1 2 3 4 5 6; do
	[ "$(curl -sf "http://127.0.0.1:$SPORT/")" = "hello from local" ] || fail "visitor $i after take-over"
done

# Bob logs in again from a second client: his own port follows the new
# session, which the old session's clean-up leaves alone.
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec "$CLIENT_BIN" -s "127.0.0.1:$SPORT" -u bob -p "$L2") >>"$T/bob2.log" 2>&1 &
BOB2=$!; PIDS="$PIDS $BOB2"
wait_for grep -q "tunnel up: 127.0.0.1:$BOBPORT" "$T/bob2.log" || fail "bob's second login"
set +e; wait "$BOB"; rc=$?; set -e
[ $rc -eq 1 ] || fail "bob's replaced client exit $rc"
sleep 0.3
python3 "$HELP" banner-client "$BOBPORT" || fail "bob's port after his take-over"
BOB=$BOB2

# Bob's client gone: a visitor on his port that sends its request a moment
# after connecting still gets the 502 (it is judged by its first bytes).
bob_ended() { [ "$(grep -c "user 'bob' session ended" "$T/server.log")" -ge "$1" ]; }
kill "$BOB"; wait "$BOB" 2>/dev/null || true
wait_for bob_ended 2 || fail "bob's session did not end"
python3 - "$BOBPORT" <<'PY' || fail "late request on an own port"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
time.sleep(0.1)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(5)
data = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    data += d
assert data.startswith(b"HTTP/1.1 502") and b"no tunnel client is online" in data, data
PY

# Peer-supplied strings reach the log escaped.
$P hello-raw "$SPORT" 1b5b33316d6576696c0a696e6a >/dev/null 2>&1 || true
wait_for grep -q 'login failed for user .\\x1b\[31mevil\\x0ainj' "$T/server.log" || fail "username not escaped in the log"
grep -q "$(printf '\033')" "$T/server.log" && fail "raw escape byte in the log"

# SIGTERM: both exit 0.
kill -TERM "$NEW"; set +e; wait "$NEW"; rc=$?; set -e
[ $rc -eq 0 ] || fail "client SIGTERM exit $rc"
kill -TERM "$SERVER_PID"; set +e; wait "$SERVER_PID"; rc=$?; set -e
[ $rc -eq 0 ] || fail "server SIGTERM exit $rc"
grep -q "stopped:" "$T/server.log" || fail "server did not log its stop"
log "own port, newest login routing, 502 reasons, connect_timeout, take-over, escaping, SIGTERM: ok"
