#!/usr/bin/env bash
# Every visitor is forwarded, including one that sends nothing: a visitor
# that connects and shuts its writing side at once (`nc -N host port
# </dev/null`, a banner grab) reaches the local service, which sees a
# connection and EOF, and its reply reaches the visitor. On the main port
# (where EOF before the first byte means "a visitor", like silence) and on
# a user's own port. And a half-close is not a departure: a visitor that
# sent its request and shut its writing side, then had to wait for a new
# pool connection (its first one was dead), is still served.
. "$(dirname "$0")/lib.sh"
TP="$TOP/tests/integration/tunnelproto.py"

# The service reads to EOF, then says what it saw, then closes.
LPORT=$(free_port)
python3 - "$LPORT" "$T/conns" >"$T/service.log" 2>&1 <<'PY' &
import socketserver, sys
port, conns = int(sys.argv[1]), sys.argv[2]
class H(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        got = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
        with open(conns, "a") as f:
            f.write("%d\n" % len(got))
        s.sendall(b"saw %d bytes, then EOF\n" % len(got))
class Srv(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
Srv(("127.0.0.1", port), H).serve_forever()
PY
PIDS="$PIDS $!"
wait_for port_open "$LPORT" || fail "local service"

# shut_first PORT [BYTES]: connects, sends BYTES (maybe none), shuts its
# writing side, prints what comes back before EOF.
shut_first() {
	python3 - "$1" "${2:-}" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
if sys.argv[2]:
    s.sendall(sys.argv[2].encode())
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
sys.stdout.write(out.decode(errors="replace"))
PY
}

OWN=$(free_port)
SPORT=$(free_port)
cat >"$T/server.yaml" <<YAML
port: $SPORT
pool_size: 4
users:
  - username: admin
    password: "$PASSWORD"
  - username: own
    password: "$PASSWORD"
    port: $OWN
log:
  enable: false
YAML
start_server "$T/server.yaml"
start_client "$SPORT" "$LPORT"
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec ${TUNNEL_WRAP:-} "$CLIENT_BIN" \
    -s "127.0.0.1:$SPORT" -u own -p "$LPORT") >>"$T/client-own.log" 2>&1 &
PIDS="$PIDS $!"
wait_for grep -q "tunnel up" "$T/client-own.log" || fail "client of 'own'"
sleep 0.3

before=$(grep -c "^0$" "$T/conns" || true)	# wait_for's own probe
for p in "$SPORT" "$OWN"; do
	out=$(shut_first "$p")
	[ "$out" = "saw 0 bytes, then EOF" ] ||
	    fail "port $p: a visitor that sent nothing and shut writing got '$out'"
done
[ "$(grep -c "^0$" "$T/conns")" = $((before + 2)) ] ||
    fail "the service did not see both empty visitors: $(cat "$T/conns")"
log "empty visitors on the main port and on a user's own port: forwarded, answered"

# nc -N, as a user would type it.
if command -v nc >/dev/null 2>&1 && nc -h 2>&1 | grep -q -- ' -N'; then
	out=$(nc -N 127.0.0.1 "$SPORT" </dev/null)
	[ "$out" = "saw 0 bytes, then EOF" ] || fail "nc -N: got '$out'"
	log "nc -N: answered"
fi

# A half-closed visitor that waits for a fresh pool: the idle pool goes
# silent behind a relay, so its first proxy connection is withdrawn.
S=$(free_port); R=$(free_port)
write_server_config "$T/s2.yaml" "$S" 4
(cd "$T" && exec ${TUNNEL_WRAP:-} "$SERVER_BIN" -c "$T/s2.yaml") >>"$T/server2.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$S" || fail "server 2"
python3 "$TP" freeze-relay "$R" "$S" "$T/freeze" pool >>"$T/relay.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$R" || fail "relay"
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec ${TUNNEL_WRAP:-} "$CLIENT_BIN" \
    -s "127.0.0.1:$R" -u admin -p "$LPORT") >>"$T/client2.log" 2>&1 &
PIDS="$PIDS $!"
wait_for grep -q "tunnel up" "$T/client2.log" || fail "client 2"
sleep 0.5
touch "$T/freeze"; sleep 0.3
out=$(shut_first "$S" "PING-after-a-dead-pool")
[ "$out" = "saw 22 bytes, then EOF" ] ||
    fail "a half-closed visitor whose first pool connection was dead got '$out'"
grep -q "dispatching it again" "$T/server2.log" || fail "no re-dispatch logged"
grep -q "left while waiting" "$T/server2.log" && fail "a half-closed visitor was taken for gone"
log "half-closed visitor re-dispatched after a dead pool connection: served"
