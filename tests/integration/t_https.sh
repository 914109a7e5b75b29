#!/usr/bin/env bash
# The HTTPS front: with https_port and https_certs, visitors' TLS ends at
# the server, which picks the certificate and the client by the SNI name.
#  - curl with the test CA reaches each named service; a second
#    certificate is chosen for its own name; a passthrough service keeps
#    its own certificate (the server only reads the SNI);
#  - an unknown name gets a TLS alert, a name with no certificate too, a
#    client that is away a 502 over TLS with the reason;
#  - plain HTTP for a known name is redirected to https, except ACME's
#    challenge path;
#  - keep-alive, a 3 MB upload, a WebSocket, TLS 1.2, ALPN http/1.1;
#  - hostile ClientHellos (no SNI, garbage, oversize, too slow) are closed
#    without harm to anyone else;
#  - certbot replacing the files plus SIGHUP serves the new certificate;
#    a broken file keeps the old one.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || fail "openssl missing"
SPORT=$(free_port)
HPORT=$(free_port)
SSLP=$(free_port)
A=$(free_port)
B=$(free_port)
P=$(free_port)
C="$T/pki"
mkdir -p "$C"

# cert NAME CN SANS CA: a P-256 key and a certificate signed by CA.
cert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$C/$1.key" -out "$C/$1.csr" -subj "/CN=$2" 2>/dev/null &&
	    printf 'subjectAltName=%s\n' "$3" >"$C/$1.ext" &&
	    openssl x509 -req -in "$C/$1.csr" -CA "$C/$4.pem" -CAkey "$C/$4.key" \
	    -CAcreateserial -out "$C/$1.pem" -days 2 -extfile "$C/$1.ext" 2>/dev/null ||
	    fail "making certificate $1"
}
for ca in ca localca; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$C/$ca.key" -out "$C/$ca.pem" -days 2 -subj "/CN=test $ca" 2>/dev/null ||
	    fail "making $ca"
done
cert wild "*.tunnel.test" "DNS:*.tunnel.test,DNS:tunnel.test" ca
cert api api.example.org "DNS:api.example.org" ca
cert local pass-local "DNS:pass.tunnel.test" localca

start_helper svca http-server "$A"
start_helper svcb http-server "$B"
(cd "$C" && exec openssl s_server -quiet -accept "$P" -cert local.pem -key local.key -www) >"$T/pass.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$A" && wait_for port_open "$B" && wait_for port_open "$P" ||
    fail "local services did not start"

cat >"$T/server.yaml" <<YAML
port: $SPORT
pool_size: 4
transport: $TRANSPORT
domain: tunnel.test
http_port: $HPORT
https_port: $SSLP
https_certs:
  - cert: $C/wild.pem
    key: $C/wild.key
  - cert: $C/api.pem
    key: $C/api.key
users:
  - username: admin
    password: "$PASSWORD"
    hosts: [alice, pass, api.example.org, x.other.org]
  - username: bob
    password: "bob-Pass-1"
    hosts: [bob]
YAML
start_server "$T/server.yaml"
grep -q "https_port $SSLP: visitors are routed by the names of \*.tunnel.test they ask for (2 certificates)" "$T/server.log" ||
    fail "no https front line"

cat >"$T/client.yaml" <<YAML
server_addr: "127.0.0.1:$SPORT"
username: admin
password: "$PASSWORD"
transport: $TRANSPORT
services:
  - host: alice
    local_port: $A
  - host: api.example.org
    local_port: $B
  - host: pass
    local_port: $P
    passthrough: true
  - host: x.other.org
    local_port: $A
YAML
start_client_file "$T/client.yaml" 5
sleep 0.3
grep -q "tunnel up: https://alice.tunnel.test:$SSLP/ -> 127.0.0.1:$A$" "$T/client.log" || fail "alice's https URL"
grep -q "tunnel up: https://pass.tunnel.test:$SSLP/ -> 127.0.0.1:$P (TLS passthrough)" "$T/client.log" || fail "pass's URL"

# sget NAME PATH [curl args]: https://NAME:SSLP/PATH, NAME at 127.0.0.1.
sget() {
	name=$1 path=$2; shift 2
	curl -s --max-time 10 --cacert "$C/ca.pem" --resolve "$name:$SSLP:127.0.0.1" "$@" "https://$name:$SSLP/$path"
}
# subject NAME: the certificate subject served for SNI NAME.
subject() {
	openssl s_client -connect "127.0.0.1:$SSLP" -servername "$1" </dev/null 2>/dev/null |
	    openssl x509 -noout -subject 2>/dev/null
}
[ "$(sget alice.tunnel.test who)" = "port $A host alice.tunnel.test:$SSLP" ] || fail "alice over https: $(sget alice.tunnel.test who -v 2>&1 | tail -5)"
[ "$(sget api.example.org who)" = "port $B host api.example.org:$SSLP" ] || fail "api.example.org over https"
subject api.example.org | grep -q "CN *= *api.example.org" || fail "second certificate not chosen: $(subject api.example.org)"
subject alice.tunnel.test | grep -q "CN *= *\*.tunnel.test" || fail "wildcard not served: $(subject alice.tunnel.test)"
log "terminated: alice -> $A, api.example.org -> $B, each with its certificate"

out=$(curl -s --max-time 10 --cacert "$C/localca.pem" --resolve "pass.tunnel.test:$SSLP:127.0.0.1" "https://pass.tunnel.test:$SSLP/")
echo "$out" | grep -q "s_server" || fail "passthrough: $out"
subject pass.tunnel.test | grep -q "CN *= *pass-local" || fail "passthrough shows $(subject pass.tunnel.test)"
log "passthrough: the local service's own certificate"

# Refusals.
out=$(sget nobody.tunnel.test who -v 2>&1) && fail "unknown name answered: $out"
echo "$out" | grep -qi "unrecognized name\|alert" || fail "unknown name: $out"
grep -q "no service is named nobody.tunnel.test here (TLS alert)" "$T/server.log" || fail "no log line for the unknown name"
out=$(curl -s --max-time 10 -k --resolve "x.other.org:$SSLP:127.0.0.1" "https://x.other.org:$SSLP/" -v 2>&1) &&
    fail "a name with no certificate answered: $out"
grep -q "no certificate for x.other.org in https_certs" "$T/server.log" || fail "no log line for the missing certificate"
out=$(sget bob.tunnel.test who -D -)
echo "$out" | grep -q "^HTTP/1.1 502" && echo "$out" | grep -q "no tunnel client is online for bob.tunnel.test" ||
    fail "offline client over https: $out"
log "unknown name and missing certificate: TLS alert; client away: 502 over TLS"

# Plain HTTP: redirected, except ACME's challenges.
out=$(curl -s --max-time 10 -D - -o /dev/null --resolve "alice.tunnel.test:$HPORT:127.0.0.1" "http://alice.tunnel.test:$HPORT/who?x=1")
echo "$out" | grep -q "^HTTP/1.1 308" && echo "$out" | grep -qi "^Location: https://alice.tunnel.test:$SSLP/who?x=1" ||
    fail "redirect: $out"
out=$(curl -s --max-time 10 --resolve "alice.tunnel.test:$HPORT:127.0.0.1" "http://alice.tunnel.test:$HPORT/.well-known/acme-challenge/tok")
[ "$out" = "echo GET /.well-known/acme-challenge/tok 0" ] || fail "ACME path redirected: $out"
[ "$(curl -sL --max-time 10 --cacert "$C/ca.pem" --resolve "alice.tunnel.test:$HPORT:127.0.0.1" \
    --resolve "alice.tunnel.test:$SSLP:127.0.0.1" "http://alice.tunnel.test:$HPORT/who")" = "port $A host alice.tunnel.test:$SSLP" ] ||
    fail "following the redirect"
log "http -> https 308, ACME challenge path passed through"

# Keep-alive, upload, TLS 1.2, ALPN, WebSocket.
out=$(sget alice.tunnel.test who -v -o /dev/null -o /dev/null --http2 "https://alice.tunnel.test:$SSLP/" 2>&1)
echo "$out" | grep -q "Re-using existing connection" || fail "keep-alive over https: $out"
echo "$out" | grep -q "ALPN.*http/1.1" || fail "ALPN: $out"
head -c 3000000 /dev/urandom >"$T/up.bin"
want=$(sha256sum <"$T/up.bin" | cut -d' ' -f1)
[ "$(sget alice.tunnel.test sha256 --data-binary @"$T/up.bin")" = "$want" ] || fail "upload over https"
[ "$(sget alice.tunnel.test who --tls-max 1.2)" = "port $A host alice.tunnel.test:$SSLP" ] || fail "TLS 1.2"
python3 - "$SSLP" "$C/ca.pem" <<'PY' || fail "WebSocket over https"
import base64, os, socket, ssl, struct, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5), server_hostname="alice.tunnel.test")
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /ws HTTP/1.1\r\nHost: alice.tunnel.test\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
assert head.startswith(b"HTTP/1.1 101"), head
def recvn(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        assert c, "eof"
        b += c
    return b
for msg in (b"one", b"two" * 1000):
    mask = os.urandom(4)
    hdr = bytes([0x81, 0x80 | 126]) + struct.pack("!H", len(msg)) if len(msg) > 125 else bytes([0x81, 0x80 | len(msg)])
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
    h = recvn(2)
    n = h[1] & 0x7f
    if n == 126:
        n = struct.unpack("!H", recvn(2))[0]
    assert recvn(n) == msg
PY
log "keep-alive, ALPN http/1.1, 3 MB upload, TLS 1.2, WebSocket"

# Over TLS the Host must be the name TLS was for: 421 otherwise.
out=$(sget alice.tunnel.test who -D - -H "Host: api.example.org")
echo "$out" | grep -q "^HTTP/1.1 421" || fail "Host unlike the SNI: $out"
# No certificate covers x.other.org: plain HTTP serves it, no redirect,
# and its client was told an http URL.
[ "$(curl -s --max-time 10 --resolve "x.other.org:$HPORT:127.0.0.1" "http://x.other.org:$HPORT/who")" = "port $A host x.other.org:$HPORT" ] ||
    fail "x.other.org over plain HTTP"
grep -q "tunnel up: http://x.other.org:$HPORT/ -> 127.0.0.1:$A" "$T/client.log" || fail "x.other.org's URL"
log "Host unlike SNI: 421; a name no certificate covers stays on http"

# Hostile ClientHellos; the front keeps serving meanwhile.
FD0=$(sock_count "$SERVER_PID")
python3 - "$SSLP" >"$T/hostile.out" 2>&1 <<'PY' &
import socket, struct, sys, time
port = int(sys.argv[1])
def talk(data, wait=4):
    s = socket.create_connection(("127.0.0.1", port), wait + 5)
    s.sendall(data)
    t0, out = time.time(), b""
    while True:
        try:
            b = s.recv(4096)
        except ConnectionResetError:
            break
        if not b:
            break
        out += b
    return out, time.time() - t0
def hello(body_ext=b""):
    body = b"\x03\x03" + b"\x00" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += struct.pack("!H", len(body_ext)) + body_ext
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs
out, dt = talk(hello())                      # no SNI
assert out[:1] == b"\x15" and dt < 2, ("no SNI", out, dt)
out, dt = talk(b"GET / HTTP/1.1\r\n\r\n")    # not TLS at all
assert out[:1] == b"\x15" and dt < 2, ("garbage", out, dt)
big = b"\x16\x03\x01\x40\x00\x01\x00\x3f\xfc" + b"\x00" * 16380 + b"\x16\x03\x01\x40\x00" + b"\x00" * 100
out, dt = talk(big)                          # a hello over 16 KiB
assert dt < 2, ("oversize", out, dt)
out, dt = talk(b"\x16\x03\x01\x02\x00\x01", 15)   # never finished
assert 9 <= dt <= 13, ("slow", out, dt)
print("ok")
PY
HOSTILE=$!
PIDS="$PIDS $HOSTILE"
sleep 1
for i in 1 2 3; do
	[ "$(sget alice.tunnel.test who)" = "port $A host alice.tunnel.test:$SSLP" ] || fail "alice during hostile hellos"
done
wait "$HOSTILE" || fail "hostile hellos: $(cat "$T/hostile.out")"
wait_for fds_back "$SERVER_PID" "$FD0" || fail "server sockets: $(sock_count "$SERVER_PID"), were $FD0"
grep -q "ClientHello without a server name (SNI)" "$T/server.log" || fail "no log line for a hello without SNI"
grep -q "no TLS handshake within 10 s" "$T/server.log" || fail "no log line for the slow hello"
log "no SNI, not TLS, 16 KiB+ hello: alert or close at once; slow hello closed at 10 s"

# certbot renews: new files in place, SIGHUP, the new certificate is served.
old=$(subject alice.tunnel.test; openssl s_client -connect "127.0.0.1:$SSLP" -servername alice.tunnel.test </dev/null 2>/dev/null | openssl x509 -noout -serial)
cert wild2 "*.tunnel.test" "DNS:*.tunnel.test,DNS:tunnel.test" ca
cp "$C/wild2.pem" "$C/wild.pem.new" && mv "$C/wild.pem.new" "$C/wild.pem"
cp "$C/wild2.key" "$C/wild.key.new" && mv "$C/wild.key.new" "$C/wild.key"
want=$(openssl x509 -noout -serial -in "$C/wild2.pem")
kill -HUP "$SERVER_PID"
wait_for grep -q "reload: https_certs read again (2 certificates)" "$T/server.log" || fail "certificates not read again"
got=$(openssl s_client -connect "127.0.0.1:$SSLP" -servername alice.tunnel.test </dev/null 2>/dev/null | openssl x509 -noout -serial)
[ "$got" = "$want" ] || fail "after renewal: $got, want $want (was $old)"
[ "$(sget alice.tunnel.test who)" = "port $A host alice.tunnel.test:$SSLP" ] || fail "alice after renewal"
echo garbage >"$C/api.pem.new" && mv "$C/api.pem.new" "$C/api.pem"
kill -HUP "$SERVER_PID"
wait_for grep -q "reload: https_certs unusable; the running configuration stays" "$T/server.log" || fail "a broken certificate was taken"
subject api.example.org | grep -q "CN *= *api.example.org" || fail "the old certificate is gone after a refused reload"
log "renewed files + SIGHUP: new certificate served; a broken one refused, the old kept"

# Flags: --host NAME --passthrough -p PORT.
kill "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
before=$(ups)
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec "$CLIENT_BIN" -s "127.0.0.1:$SPORT" -u admin \
    --transport "$TRANSPORT" --host alice -p "$B" --host pass --passthrough -p "$P") >>"$T/client.log" 2>&1 &
CLIENT_PID=$!
PIDS="$PIDS $CLIENT_PID"
wait_for client_up $((before + 2)) || fail "client with --passthrough did not come up"
sleep 0.3
subject pass.tunnel.test | grep -q "CN *= *pass-local" || fail "--passthrough: $(subject pass.tunnel.test)"
[ "$(sget alice.tunnel.test who)" = "port $B host alice.tunnel.test:$SSLP" ] || fail "--host alice -p B"
log "flags: --host pass --passthrough"

# TLS ended here while pass's client was away; the client comes back
# wanting passthrough before the request is sent: the request is turned
# away, and the service never sees it in clear.
kill "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
python3 - "$SSLP" "$C/ca.pem" "$T/hs.ready" "$T/hs.go" >"$T/mode.out" 2>&1 <<'PY' &
import os, socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10),
                    server_hostname="pass.tunnel.test")
open(sys.argv[3], "w").close()
while not os.path.exists(sys.argv[4]):
    time.sleep(0.05)
s.sendall(b"GET /secret HTTP/1.1\r\nHost: pass.tunnel.test\r\n\r\n")
out = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    out += b
print(out.decode(errors="replace"))
PY
MODE=$!
PIDS="$PIDS $MODE"
wait_for test -e "$T/hs.ready" || fail "handshake with the client away: $(cat "$T/mode.out")"
before=$(ups)
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec "$CLIENT_BIN" -s "127.0.0.1:$SPORT" -u admin \
    --transport "$TRANSPORT" --host pass --passthrough -p "$P") >>"$T/client.log" 2>&1 &
CLIENT_PID=$!
PIDS="$PIDS $CLIENT_PID"
wait_for client_up $((before + 1)) || fail "client with pass did not come up"
sleep 0.3
touch "$T/hs.go"
wait "$MODE" || true
grep -q "^HTTP/1.1 502" "$T/mode.out" && grep -q "changed how it takes TLS" "$T/mode.out" ||
    fail "TLS ended for a passthrough service: $(cat "$T/mode.out")"
grep -q "secret" "$T/pass.log" && fail "the passthrough service saw the request in clear"
log "TLS ended while the client was away, passthrough when it came back: turned away"

# The visitor's address still reaches the local service: bob's client
# sends a PROXY v1 header, and its service answers with what it read.
PP=$(free_port)
python3 - "$PP" >"$T/pp.log" 2>&1 <<'PY' &
import socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(8)
while True:
    c, _ = ls.accept()
    data = b""
    while b"\r\n\r\n" not in data.split(b"\r\n", 1)[-1]:
        b = c.recv(4096)
        if not b:
            break
        data += b
    first = data.split(b"\r\n", 1)[0].decode()
    body = (first + "\n").encode()
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    c.close()
PY
PIDS="$PIDS $!"
wait_for port_open "$PP" || fail "PROXY service did not start"
(cd "$T" && TUNNEL_PASSWORD="bob-Pass-1" exec "$CLIENT_BIN" -s "127.0.0.1:$SPORT" -u bob \
    --transport "$TRANSPORT" --proxy-protocol v1 --host bob -p "$PP") >>"$T/bob.log" 2>&1 &
PIDS="$PIDS $!"
wait_for grep -q "tunnel up: https://bob.tunnel.test:$SSLP/" "$T/bob.log" || fail "bob's client: $(cat "$T/bob.log")"
sleep 0.3
out=$(sget bob.tunnel.test x --interface 127.0.0.9)
echo "$out" | grep -q "^PROXY TCP4 127.0.0.9 127.0.0.1 [0-9]* $SSLP$" || fail "PROXY header through the HTTPS front: $out"
log "the visitor's address reaches the service over the HTTPS front: $out"
echo "PASS"
