#!/usr/bin/env bash
# The HTTP front: with domain and http_port set, visitors on http_port are
# routed by the Host of their request to the client serving that name.
#  - one client serves several local services by name (services: in its
#    file, or --host NAME -p PORT), each told as a URL in "tunnel up";
#  - a name no user may claim gets a 404, a name whose client is away or
#    does not serve it a 502 with the reason; a name the user may not
#    claim is refused at login, and the raw port then serves nothing;
#  - keep-alive, an upload and a WebSocket pass through unchanged;
#  - a request head with no Host, garbage, one over 8 KiB, or one that
#    never ends get 400, 400, 431 and 408, and nobody else waits for them;
#  - a reload takes a name away and moves http_port;
#  - the config refuses what cannot route, with file:line:col.
. "$(dirname "$0")/lib.sh"
SPORT=$(free_port)
HPORT=$(free_port)
A=$(free_port)
B=$(free_port)
start_helper svca http-server "$A"
start_helper svcb http-server "$B"
wait_for port_open "$A" && wait_for port_open "$B" || fail "local services did not start"

server_conf() {
	cat >"$T/server.yaml" <<YAML
port: $SPORT
pool_size: 4
transport: $TRANSPORT
domain: Tunnel.Test
http_port: $1
users:
  - username: admin
    password: "$PASSWORD"
    hosts: [alice, alice-api, "localhost.", spare$2]
  - username: bob
    password: "bob-Pass-1"
    hosts: [bob, bob.example.org]
YAML
}
server_conf "$HPORT" ""
start_server "$T/server.yaml"
grep -q "http_port $HPORT: visitors are routed by the names of \*.tunnel.test" "$T/server.log" ||
    fail "no front line in the server log"

cat >"$T/client.yaml" <<YAML
server_addr: "127.0.0.1:$SPORT"
username: admin
password: "$PASSWORD"
transport: $TRANSPORT
services:
  - host: alice
    local_port: $A
  - host: alice-api
    local_port: $B
    local_host: 127.0.0.1
  - host: nothere
    local_port: $A
  - host: "LocalHost."
    local_port: $B
YAML
start_client_file "$T/client.yaml" 4
sleep 0.3
grep -q "tunnel up: 127.0.0.1:$SPORT -> nothing (no local_port)" "$T/client.log" || fail "raw port line"
grep -q "tunnel up: http://alice.tunnel.test:$HPORT/ -> 127.0.0.1:$A" "$T/client.log" || fail "alice's URL"
grep -q "tunnel up: http://alice-api.tunnel.test:$HPORT/ -> 127.0.0.1:$B" "$T/client.log" || fail "alice-api's URL"
grep -q "service nothere (-> 127.0.0.1:$A) refused by the server: nothere.tunnel.test is not among the hosts of user admin" "$T/client.log" ||
    fail "no refusal for a name the user may not claim"
log "one client, two names served, a third refused at login"

# get NAME PATH [curl args]: a request for http://NAME:HPORT/PATH, the name
# resolved to 127.0.0.1 as a wildcard DNS record would.
get() {
	name=$1 path=$2; shift 2
	curl -s --max-time 10 --resolve "$name:$HPORT:127.0.0.1" "$@" "http://$name:$HPORT/$path"
}
[ "$(get alice.tunnel.test who)" = "port $A host alice.tunnel.test:$HPORT" ] ||
    fail "alice: $(get alice.tunnel.test who)"
[ "$(get alice-api.tunnel.test who)" = "port $B host alice-api.tunnel.test:$HPORT" ] ||
    fail "alice-api: $(get alice-api.tunnel.test who)"
[ "$(get ALICE.Tunnel.TEST. who)" = "port $A host ALICE.Tunnel.TEST.:$HPORT" ] ||
    fail "a name in capitals with the root dot: $(get ALICE.Tunnel.TEST. who)"
# A single-label full name, written with its final dot.
[ "$(curl -s --max-time 10 "http://localhost:$HPORT/who")" = "port $B host localhost:$HPORT" ] ||
    fail "localhost.: $(curl -s --max-time 10 "http://localhost:$HPORT/who")"
log "routed by name: alice -> $A, alice-api -> $B, localhost -> $B, case and final dot ignored"

# Keep-alive: two requests on one connection, both answered by alice.
out=$(get alice.tunnel.test who -v -o /dev/null -o /dev/null \
    --resolve "alice.tunnel.test:$HPORT:127.0.0.1" "http://alice.tunnel.test:$HPORT/" 2>&1)
echo "$out" | grep -q "Re-using existing connection" || fail "keep-alive: $out"
# An upload of 3 MB.
head -c 3000000 /dev/urandom >"$T/up.bin"
want=$(sha256sum <"$T/up.bin" | cut -d' ' -f1)
[ "$(get alice-api.tunnel.test sha256 --data-binary @"$T/up.bin")" = "$want" ] || fail "upload through the front"
# A WebSocket: upgrade, three echoes, close.
python3 - "$HPORT" <<'PY' || fail "WebSocket through the front"
import base64, os, socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /ws HTTP/1.1\r\nHost: alice.tunnel.test\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
assert head.startswith(b"HTTP/1.1 101"), head
for msg in (b"one", b"two" * 1000, b"three"):
    mask = os.urandom(4)
    hdr = bytes([0x81, 0x80 | 126]) + struct.pack("!H", len(msg)) if len(msg) > 125 else bytes([0x81, 0x80 | len(msg)])
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
    h = s.recv(2, socket.MSG_WAITALL)
    n = h[1] & 0x7f
    if n == 126:
        n = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))[0]
    got = s.recv(n, socket.MSG_WAITALL)
    assert got == msg, (got[:20], msg[:20])
PY
log "keep-alive, a 3 MB upload and a WebSocket pass"

# Refusals, with the reason.
out=$(get nobody.tunnel.test who -D -)
echo "$out" | grep -q "^HTTP/1.1 404" && echo "$out" | grep -q "tunnel: no service is named nobody.tunnel.test here" ||
    fail "unknown name: $out"
out=$(get bob.example.org who -D -)
echo "$out" | grep -q "^HTTP/1.1 502" && echo "$out" | grep -q "no tunnel client is online for bob.example.org" ||
    fail "offline client: $out"
out=$(get spare.tunnel.test who -D -)
echo "$out" | grep -q "^HTTP/1.1 502" && echo "$out" | grep -q "the tunnel client for spare.tunnel.test does not serve it" ||
    fail "name not served: $out"
out=$(curl -s --max-time 10 -D - "http://127.0.0.1:$SPORT/")
echo "$out" | grep -q "^HTTP/1.1 502" && echo "$out" | grep -q "serves only host names" ||
    fail "raw port of a client without local_port: $out"
out=$(curl -s --max-time 10 -D - "http://127.0.0.1:$HPORT/who")
echo "$out" | grep -q "^HTTP/1.1 400" || fail "an IP literal as Host: $out"
log "404 unknown name, 502 offline or not served, raw port refused"

# Bad request heads; a slow one does not hold anyone else up.
# A crowd of slow heads from 8 addresses, more than the 1024 the front
# lets read at once: each holds little, the oldest are dropped, the rest
# get their 408, and nobody else waits for them.
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$SERVER_PID/status"; }
RSS0=$(rss)
python3 - "$HPORT" >"$T/crowd.out" 2>&1 <<'PY' &
import socket, sys, time
held = []
for i in range(1100):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (2 + i % 8), 0))
    s.connect(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET / HTTP/1.1\r\nUser-Agent: slow\r\nHost: alice.tunn")
    held.append(s)
time.sleep(2)
print("held", len(held), flush=True)
t0 = time.time()
answered = dropped = 0
for s in held:
    s.settimeout(15)
    try:
        b = s.recv(64)
    except ConnectionResetError:
        b = b""
    if b.startswith(b"HTTP/1.1 408"):
        answered += 1
    elif b == b"":
        dropped += 1
print("408s", answered, "dropped", dropped, "last after %.1f s" % (time.time() - t0))
# The oldest 76 (or a few more: alice's requests pass through too) are
# dropped; every other one is answered.
sys.exit(0 if answered + dropped == len(held) and 76 <= dropped <= 90 else 1)
PY
CROWD=$!
PIDS="$PIDS $CROWD"
wait_for grep -q "^held 1100" "$T/crowd.out" || fail "crowd: $(cat "$T/crowd.out")"
# The bad heads come after the crowd: the newest, never the dropped.
python3 - "$HPORT" >"$T/bad.out" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
def ask(data, wait=5):
    s = socket.create_connection(("127.0.0.1", port), wait + 5)
    s.sendall(data)
    out = b""
    t0 = time.time()
    while True:
        b = s.recv(4096)
        if not b:
            break
        out += b
    return out.split(b"\r\n", 1)[0], time.time() - t0
cases = [
    (b"GET / HTTP/1.0\r\n\r\n", b"400"),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 300, b"400"),
    (b"GET / HTTP/1.1\r\nHost: a.tunnel.test\r\nHost: b.tunnel.test\r\n\r\n", b"400"),
    (b"GET / HTTP/1.1\r\nHost: alice.tunnel.test\r\nX: " + b"a" * 9000 + b"\r\n\r\n", b"431"),
]
for req, want in cases:
    line, _ = ask(req)
    if not line.startswith(b"HTTP/1.1 " + want):
        sys.exit("%r: %r, want %s" % (req[:40], line, want.decode()))
line, dt = ask(b"GET / HTTP/1.1\r\nHost: alice.tun", 15)
if not line.startswith(b"HTTP/1.1 408") or not 9 <= dt <= 13:
    sys.exit("slow head: %r after %.1f s" % (line, dt))
print("ok")
PY
BAD=$!
PIDS="$PIDS $BAD"
RSS1=$(rss)
[ $((RSS1 - RSS0)) -lt 6144 ] || fail "1100 slow heads grew the server by $((RSS1 - RSS0)) KiB"
[ "$(sock_count "$SERVER_PID")" -lt 1100 ] || fail "server holds $(sock_count "$SERVER_PID") sockets for 1100 slow heads"
for i in 1 2 3; do
	[ "$(get alice.tunnel.test who)" = "port $A host alice.tunnel.test:$HPORT" ] || fail "alice while bad heads wait"
done
wait "$BAD" || fail "bad heads: $(cat "$T/bad.out")"
wait "$CROWD" || fail "crowd of slow heads: $(cat "$T/crowd.out")"
grep -q "dropped: too many request heads in progress, this the oldest" "$T/server.log" || fail "no log line for a dropped head"
log "1100 slow heads from 8 addresses: $((RSS1 - RSS0)) KiB more; $(tail -1 "$T/crowd.out")"
grep -q "408: no complete request head within 10 s" "$T/server.log" || fail "no 408 close line"
log "no Host 400, garbage 400, two Hosts 400, 9 KB head 431, slow head 408 at 10 s"

# Flags: --host NAME -p PORT pairs, and a raw -p before them.
kill "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
before=$(ups)
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec "$CLIENT_BIN" -s "127.0.0.1:$SPORT" -u admin \
    --transport "$TRANSPORT" -p "$B" --host alice-api -p "$A" --host spare -p "$B") >>"$T/client.log" 2>&1 &
CLIENT_PID=$!
PIDS="$PIDS $CLIENT_PID"
wait_for client_up $((before + 2)) || fail "client with --host did not come up"
sleep 0.3
[ "$(get alice-api.tunnel.test who)" = "port $A host alice-api.tunnel.test:$HPORT" ] || fail "--host alice-api"
[ "$(get spare.tunnel.test who)" = "port $B host spare.tunnel.test:$HPORT" ] || fail "--host spare"
[ "$(curl -s --max-time 10 "http://127.0.0.1:$SPORT/")" = "hello from local" ] || fail "raw -p beside --host"
out=$(get alice.tunnel.test who -D -)
echo "$out" | grep -q "^HTTP/1.1 502" || fail "alice after the client stopped serving it: $out"
out=$(TUNNEL_PASSWORD=x "$CLIENT_BIN" -s 127.0.0.1:1 -u admin --host alice -n 2>&1) && fail "--host without -p accepted"
echo "$out" | grep -q -- "--host alice needs a -p PORT after it" || fail "--host without -p: $out"
out=$(TUNNEL_PASSWORD=x "$CLIENT_BIN" -s 127.0.0.1:1 -u admin --host "bad_name" -p 1 -n 2>&1) && fail "--host bad_name accepted"
echo "$out" | grep -q -- "--host: 'bad_name' is not a host name" || fail "--host bad_name: $out"
out=$(TUNNEL_PASSWORD=x "$CLIENT_BIN" -s 127.0.0.1:1 -u admin --host a -p 1 -p 2 -n 2>&1) && fail "-p after a pair accepted"
echo "$out" | grep -q -- "each --host takes the one -p after it" || fail "-p after a pair: $out"
out=$(TUNNEL_PASSWORD=x "$CLIENT_BIN" -s 127.0.0.1:1 -u admin --host a -p 1 --host A -p 2 -n 2>&1) && fail "--host twice accepted"
echo "$out" | grep -q -- "--host A: given twice" || fail "--host twice: $out"
log "flags: --host pairs and a raw -p"

# A file without local_port plus --host: the raw port serves nothing, and
# still nothing after a SIGHUP (not the default port 8000).
kill "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
printf 'server_addr: "127.0.0.1:%s"\nusername: admin\npassword: "%s"\ntransport: %s\n' \
    "$SPORT" "$PASSWORD" "$TRANSPORT" >"$T/min.yaml"
start_client_file "$T/min.yaml" 2 --host alice-api -p "$A" --host later -p "$B"
sleep 0.3
# Windows has no SIGHUP: there the raw port is only checked as started.
if [ -z "${WIN_CLIENT:-}" ]; then
	kill -HUP "$CLIENT_PID"
	wait_for grep -q "SIGHUP: reading $T/min.yaml again" "$T/client.log" || fail "client reload"
	sleep 0.3
fi
out=$(curl -s --max-time 10 -D - "http://127.0.0.1:$SPORT/")
echo "$out" | grep -q "serves only host names" || fail "raw port after SIGHUP with --host: $out"
[ "$(get alice-api.tunnel.test who)" = "port $A host alice-api.tunnel.test:$HPORT" ] || fail "--host after SIGHUP"
log "file + --host: SIGHUP leaves the raw port serving nothing"

# Reload: spare is taken away (404 at once), later is given (the waiting
# client is granted it and told), http_port moves (the client is told).
H2=$(free_port)
server_conf "$H2" ", later"
sed -i 's/, spare//' "$T/server.yaml"
grep -q "hosts: \[alice, alice-api, \"localhost.\", later\]" "$T/server.yaml" || fail "test config: $(grep hosts "$T/server.yaml")"
kill -HUP "$SERVER_PID"
wait_for grep -q "reload: http_port now $H2" "$T/server.log" || fail "http_port did not move"
port_open "$HPORT" && fail "old http_port $HPORT still open"
HPORT=$H2
out=$(get spare.tunnel.test who -D -)
echo "$out" | grep -q "^HTTP/1.1 404" || fail "spare after the reload took it away: $out"
[ "$(get alice-api.tunnel.test who)" = "port $A host alice-api.tunnel.test:$HPORT" ] || fail "alice-api after the reload"
[ "$(get later.tunnel.test who)" = "port $B host later.tunnel.test:$HPORT" ] || fail "later after the reload gave it"
wait_for grep -q "tunnel up: http://later.tunnel.test:$H2/ -> 127.0.0.1:$B" "$T/client.log" || fail "client not told of later"
wait_for grep -q "tunnel up: http://alice-api.tunnel.test:$H2/ -> 127.0.0.1:$A" "$T/client.log" || fail "client not told of the new port"
log "reload: a name taken away, one given to a waiting client, http_port moved and told"

# The config refuses what cannot route.
bad() {
	printf '%s\n' "$@" >"$T/bad.yaml"
	"$SERVER_BIN" -n -c "$T/bad.yaml" 2>&1 && fail "accepted: $*"
	return 0
}
out=$(bad "http_port: $H2" "users:" "  - {username: a, password: \"$PASSWORD\"}")
echo "$out" | grep -q "bad.yaml:1:12: http_port: needs a domain" || fail "http_port without domain: $out"
out=$(bad "domain: t.test" "users:" "  - {username: a, password: \"$PASSWORD\"}")
echo "$out" | grep -q "bad.yaml:1:9: domain: set http_port or https_port too" || fail "domain without http_port: $out"
out=$(bad "users:" "  - {username: a, password: \"$PASSWORD\", hosts: [x]}")
echo "$out" | grep -q "bad.yaml:2:.*hosts: 'x' is a bare label: it needs a domain" || fail "label without domain: $out"
out=$(bad "domain: t.test" "http_port: $H2" "users:" "  - {username: a, password: \"$PASSWORD\", hosts: [x]}" \
    "  - {username: b, password: \"$PASSWORD\", hosts: [X.t.test]}")
echo "$out" | grep -q "bad.yaml:5:.*hosts: 'x.t.test' is already a host of user 'a' (line 4)" || fail "a name twice: $out"
out=$(bad "domain: t.test" "http_port: $H2" "users:" "  - {username: a, password: \"$PASSWORD\", hosts: [-x]}")
echo "$out" | grep -q "bad.yaml:4:.*hosts: '-x' is not a host name" || fail "bad name: $out"
out=$(bad "domain: t.test" "http_port: $SPORT" "port: $SPORT" "users:" "  - {username: a, password: \"$PASSWORD\"}")
echo "$out" | grep -q "http_port: port $SPORT is already the main port" || fail "http_port = port: $out"
printf 'server_addr: "127.0.0.1:1"\nusername: a\npassword: b\nservices:\n  - host: x\n    local_port: 1\n  - host: X\n    local_port: 2\n' >"$T/badc.yaml"
out=$("$CLIENT_BIN" -n -c "$T/badc.yaml" 2>&1) && fail "a service twice accepted"
echo "$out" | grep -q "badc.yaml:7:5: services: host 'x' is served twice" || fail "service twice: $out"
log "config: bad front settings refused with file:line:col"
echo "PASS"
