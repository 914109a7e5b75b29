#!/usr/bin/env bash
# The login and the proxy registrations, from the outside: wrong password,
# the password never on the wire, no replay of a login or a registration,
# pool size enforced, "PROXY admin" (go-tunnel's registration) is just a
# public visitor, unknown user == wrong password, version mismatch, the
# client refusing a server that does not know the password, a login flood.
. "$(dirname "$0")/lib.sh"
P="python3 $TOP/tests/integration/tunnelproto.py"
SPORT=$(free_port)
LPORT=$(free_port)
start_helper http http-server "$LPORT"
wait_for port_open "$LPORT" || fail "local http service"
# "tester" is for the protocol-level checks, so they never replace the
# real client's session ("admin").
cat >"$T/server.yaml" <<YAML
port: $SPORT
pool_size: 5
users:
  - username: admin
    password: "$PASSWORD"
  - username: tester
    password: "$PASSWORD"
    port: $(free_port)
log:
  enable: false
YAML
start_server "$T/server.yaml"
start_client "$SPORT" "$LPORT"

# Wrong password: one clear line, however many retries (the refusal
# comes before the server has proven itself: t_fail_retry). From ::1, so
# that its failures do not slow down the checks below from 127.0.0.1.
set +e
(cd "$T" && TUNNEL_PASSWORD=wrong timeout $((4 * SLOW)) "$CLIENT_BIN" -s "[::1]:$SPORT" -u admin -p "$LPORT") \
    >"$T/wrong.log" 2>&1
rc=$?
set -e
[ $rc -eq 124 ] || fail "wrong password: exit $rc, want still retrying: $(cat "$T/wrong.log")"
[ "$(grep -c 'wrong username or password' "$T/wrong.log")" -eq 1 ] || fail "wrong password message: $(cat "$T/wrong.log")"
grep -q "reconnecting" "$T/wrong.log" || fail "wrong password not retried"

# The real client's bytes through a recording relay never hold the password.
RPORT=$(free_port)
python3 "$TOP/tests/integration/tunnelproto.py" relay "$RPORT" "$SPORT" "$T/wire.bin" >>"$T/relay.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$RPORT"
before=$(ups)
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec "$CLIENT_BIN" -s "127.0.0.1:$RPORT" -u admin -p "$LPORT") \
    >>"$T/client.log" 2>&1 &
PIDS="$PIDS $!"
wait_for client_up "$before" || fail "client through relay"
[ -s "$T/wire.bin" ] || fail "relay recorded nothing"
grep -q -a -- "$PASSWORD" "$T/wire.bin" && fail "the password crossed the wire"
[ "$(curl -sf "http://127.0.0.1:$SPORT/")" = "hello from local" ] || fail "visitor after relay login"

$P replay-login "$SPORT" tester "$PASSWORD" || fail "captured login replayed"
$P register "$SPORT" tester "$PASSWORD" 5 || fail "registration checks"
$P unknown-user "$SPORT" tester || fail "unknown user distinguishable"
$P version "$SPORT" || fail "version mismatch"
$P handshake-cap "$SPORT" 64 || fail "per-address handshake cap"
$P total-cap "$SPORT" 1024 60 || fail "total handshake cap"

# go-tunnel's registration line is no registration here: it is a public
# visitor's bytes and goes to the local service like any other.
python3 - "$SPORT" <<'PY' || fail "PROXY admin was treated as a registration"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(b"PROXY admin\n")
time.sleep(0.5)
s.settimeout(5)
import urllib.request
body = urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=10).read()
assert body == b"hello from local\n", body
s.settimeout(0.5)
try:
    d = s.recv(100)
except socket.timeout:
    d = b""
assert b"GET /" not in d, "PROXY admin received a visitor's request"
PY

# A login flood costs the server no crypt(3): visitors are still served.
$P flood "$SPORT" 100 >"$T/flood.log" 2>&1 &
FLOOD=$!
for i in 1 2 3 4 5; do
	[ "$(curl -sf --max-time 5 "http://127.0.0.1:$SPORT/")" = "hello from local" ] || fail "visitor $i during login flood"
done
wait "$FLOOD" || true
grep -q "login failed for user 'admin'" "$T/server.log" || fail "failed logins not logged"

# The client refuses a server that cannot prove it knows the password, and
# a server asking for an absurd pool.
FPORT=$(free_port)
python3 "$TOP/tests/integration/tunnelproto.py" fake-server "$FPORT" badsig >>"$T/fake.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$FPORT"
set +e
(cd "$T" && TUNNEL_PASSWORD=x timeout 20 "$CLIENT_BIN" -s "127.0.0.1:$FPORT" -u admin -p "$LPORT") >"$T/fake-client.log" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || fail "client accepted a server without the password (exit $rc): $(cat "$T/fake-client.log")"
grep -q "could not prove it knows the password" "$T/fake-client.log" || fail "impostor message: $(cat "$T/fake-client.log")"
log "auth: wrong password, no password on the wire, replays, pool size, unknown user, version, PROXY admin, flood, impostor: ok"
