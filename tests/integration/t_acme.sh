#!/usr/bin/env bash
# acme: certificates from an ACME CA, here Debian's pebble with its
# challenge test server answering every name with 127.0.0.1:
#  - the CA is down when the server starts: the orders back off, plain
#    HTTP still reaches the services, and HTTPS gets an alert;
#  - once the CA is up, each name a client claims gets a certificate
#    (HTTP-01 answered on http_port); curl with pebble's root reaches two
#    services of one client by name; plain HTTP then redirects to https;
#  - certificates and the account key are kept 0600 under the state
#    directory; a name nobody claims, or nobody may claim, is never
#    ordered, even when a visitor asks for it;
#  - a certificate in the last third of its life is renewed (pebble
#    issues 40-second ones here) and the new one serves;
#  - a restart loads the stored certificates and serves them;
#  - TLS-ALPN-01 (no http_port): the CA's acme-tls/1 handshake on
#    https_port is answered for a second user's client, and the
#    certificate serves.
. "$(dirname "$0")/lib.sh"
command -v pebble >/dev/null && command -v pebble-challtestsrv >/dev/null ||
    fail "pebble missing (make test installs it)"
SPORT=$(free_port)
HPORT=$(free_port)
SSLP=$(free_port)
A=$(free_port)
B=$(free_port)
PEB=$(free_port)
PEBM=$(free_port)
DNS=$(free_port)
CTSM=$(free_port)
C="$T/pebble"
mkdir -p "$C"

# pebble's own HTTPS (its API) gets a certificate the helper is told to
# trust with acme.ca_file.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$C/api.key" -out "$C/api.pem" -days 2 -subj "/CN=pebble" \
    -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null || fail "making pebble's certificate"
cat >"$C/pebble.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$PEB",
  "managementListenAddress": "127.0.0.1:$PEBM",
  "certificate": "$C/api.pem", "privateKey": "$C/api.key",
  "httpPort": $HPORT, "tlsPort": $SSLP, "ocspResponderURL": "",
  "externalAccountBindingRequired": false,
  "certificateValidityPeriod": 40}}
JSON
# start_pebble: pebble, and the first time its DNS (challtestsrv).
start_pebble() {
	if [ -z "${CTS_PID:-}" ]; then
		pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
		    -dns01 "127.0.0.1:$DNS" -http01 "" -https01 "" -tlsalpn01 "" \
		    -management "127.0.0.1:$CTSM" >>"$T/challtestsrv.log" 2>&1 &
		CTS_PID=$!
		PIDS="$PIDS $CTS_PID"
	fi
	# No random sleeps before validation; pebble still rejects 5% of
	# good nonces, which the helper must retry.
	PEBBLE_VA_NOSLEEP=1 pebble -config "$C/pebble.json" \
	    -dnsserver "127.0.0.1:$DNS" >>"$T/pebble.log" 2>&1 &
	PEBBLE_PID=$!
	PIDS="$PIDS $PEBBLE_PID"
	wait_for port_open "$PEB" && wait_for port_open "$DNS" ||
	    fail "pebble did not start"
}

start_helper svca http-server "$A"
start_helper svcb http-server "$B"
wait_for port_open "$A" && wait_for port_open "$B" || fail "local services did not start"

cat >"$T/server.yaml" <<YAML
port: $SPORT
pool_size: 4
transport: $TRANSPORT
domain: tunnel.test
http_port: $HPORT
https_port: $SSLP
acme:
  email: ops@tunnel.test
  directory: https://127.0.0.1:$PEB/dir
  ca_file: $C/api.pem
users:
  - username: admin
    password: "$PASSWORD"
    hosts: [alice, alice-api, idle]
YAML
"$SERVER_BIN" -n -c "$T/server.yaml" >"$T/check.out" 2>&1 || fail "config refused: $(cat "$T/check.out")"

# 1. The CA is down at start.
start_server "$T/server.yaml"
AD="$T/acme/127.0.0.1-$PEB-dir"
log_has "$T/server.log" "acme: certificates for 3 names from https://127.0.0.1:$PEB/dir, kept in $AD" ||
    fail "no acme start line"
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
YAML
start_client_file "$T/client.yaml"
backed_off() { grep -q "acme: $1: no certificate: .*trying again in 10 s" "$T/server.log"; }
wait_for backed_off alice.tunnel.test || fail "no backoff while the CA is down"
# Backed off indeed: no second try within the 10 s.
sleep 2
[ "$(grep -c "acme: alice.tunnel.test: ordering" "$T/server.log")" = 1 ] ||
    fail "orders repeated while the CA is down: $(grep -c "acme: alice.tunnel.test: ordering" "$T/server.log")"
R="--resolve alice.tunnel.test:$HPORT:127.0.0.1 --resolve alice.tunnel.test:$SSLP:127.0.0.1"
R="$R --resolve alice-api.tunnel.test:$SSLP:127.0.0.1 --resolve idle.tunnel.test:$SSLP:127.0.0.1"
R="$R --resolve evil.tunnel.test:$SSLP:127.0.0.1"
out=$(curl -s --max-time 5 $R "http://alice.tunnel.test:$HPORT/") || true
[ "$out" = "hello from local" ] || fail "plain HTTP while the CA is down: '$out'"
curl -s --max-time 5 -k $R "https://alice.tunnel.test:$SSLP/" >/dev/null 2>&1 &&
    fail "HTTPS served with no certificate yet"
log_has "$T/client.log" "tunnel up: http://alice.tunnel.test:$HPORT/ ->" ||
    fail "the client was not told an http URL while no certificate exists"
log "CA down at start: backoff, plain HTTP still served, HTTPS refused"

# 2. The CA comes up: the retries get both claimed names.
start_pebble
obtained() { [ "$(grep -c "acme: $1: certificate obtained" "$T/server.log")" -ge "${2:-1}" ]; }
SLOW_SAVE=$SLOW
SLOW=$((SLOW * 4))
wait_for obtained alice.tunnel.test && wait_for obtained alice-api.tunnel.test ||
    fail "no certificates from pebble: $(grep acme "$T/server.log" | tail -5)"
SLOW=$SLOW_SAVE
curl -sk "https://127.0.0.1:$PEBM/roots/0" >"$C/root.pem" && grep -q "BEGIN CERTIFICATE" "$C/root.pem" ||
    fail "no pebble root"
out=$(curl -s --max-time 5 --cacert "$C/root.pem" $R "https://alice.tunnel.test:$SSLP/") || true
[ "$out" = "hello from local" ] || fail "https://alice with pebble's certificate: '$out'"
out=$(curl -s --max-time 5 --cacert "$C/root.pem" $R "https://alice-api.tunnel.test:$SSLP/") || true
[ "$out" = "hello from local" ] || fail "https://alice-api: '$out'"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 $R "http://alice.tunnel.test:$HPORT/x") || true
[ "$code" = 308 ] || fail "plain HTTP after the certificate: $code, want 308"
wait_for log_has "$T/client.log" "tunnel up: https://alice.tunnel.test:$SSLP/ ->" ||
    fail "the client was not told its https URL once the certificate came"
log "CA up: certificates for alice and alice-api, https with pebble's root, http redirected, the client told"

# 3. Files, and names never ordered.
for f in alice.tunnel.test.pem alice-api.tunnel.test.pem account.key; do
	[ "$(stat -c %a "$AD/$f")" = 600 ] || fail "$f is not 0600"
done
[ "$(stat -c %a "$AD")" = 700 ] && [ "$(stat -c %a "$T/acme")" = 700 ] || fail "acme directories are not 0700"
curl -s --max-time 5 --cacert "$C/root.pem" $R "https://evil.tunnel.test:$SSLP/" >/dev/null 2>&1 &&
    fail "https for a name nobody may claim"
sleep 1
grep -q "acme: evil" "$T/server.log" && fail "ordered a name nobody may claim"
grep -q "acme: idle.tunnel.test: ordering" "$T/server.log" && fail "ordered a name nobody claimed"
log "0600 files; no order for an unclaimed or unclaimable name"

# 4. A visitor asking for a claimable name nobody claimed orders nothing
# (a passthrough service may run an ACME client of its own).
curl -s --max-time 5 --cacert "$C/root.pem" $R "https://idle.tunnel.test:$SSLP/" >/dev/null 2>&1 &&
    fail "https for idle, which no client claims"
sleep 1
grep -q "acme: idle.tunnel.test: ordering" "$T/server.log" && fail "a ClientHello ordered idle"
log "a ClientHello for a claimable, unclaimed name orders nothing"

# 5. Renewal: 40-second certificates are renewed in their last third.
serial() {
	echo | openssl s_client -connect "127.0.0.1:$SSLP" -servername alice.tunnel.test 2>/dev/null |
	    openssl x509 -noout -serial 2>/dev/null
}
first=$(serial)
[ -n "$first" ] || fail "no certificate served for alice"
SLOW=$((SLOW * 4))
wait_for obtained alice.tunnel.test 2 || fail "alice's certificate was not renewed"
SLOW=$SLOW_SAVE
grep -q "acme: alice.tunnel.test: renewing a certificate" "$T/server.log" || fail "no renewing line"
second=$(serial)
[ -n "$second" ] && [ "$second" != "$first" ] || fail "the renewed certificate does not serve ($first, $second)"
out=$(curl -s --max-time 5 --cacert "$C/root.pem" $R "https://alice.tunnel.test:$SSLP/") || true
[ "$out" = "hello from local" ] || fail "https://alice after renewal: '$out'"
log "renewed in the last third of its life; the new certificate serves"

# 6. A restart serves what is stored (pebble stopped).
kill "$PEBBLE_PID"
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
mv "$T/server.log" "$T/server.log.1"
start_server "$T/server.yaml"
log_has "$T/server.log" "acme: alice.tunnel.test: certificate loaded, valid until" ||
    fail "no 'certificate loaded' line after a restart"
[ "$(serial)" = "$(openssl x509 -in "$AD/alice.tunnel.test.pem" -noout -serial)" ] ||
    fail "after a restart, the served certificate is not the stored one"
log "restart: stored certificates loaded"

# 7. TLS-ALPN-01: no http_port, so the CA checks on https_port; a fresh
# pebble (a new root), and a name a second user's client claims.
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
sed -e '/^http_port:/d' "$T/server.yaml" >"$T/server2.yaml"
cat >>"$T/server2.yaml" <<YAML
  - username: carol
    password: "carol-Pass-1"
    hosts: [viatls]
YAML
mv "$T/server.log" "$T/server.log.2"
start_pebble
start_server "$T/server2.yaml"
printf 'server_addr: "127.0.0.1:%s"\nusername: carol\npassword: "carol-Pass-1"\ntransport: %s\nservices:\n  - {host: viatls, local_port: %s}\n' \
    "$SPORT" "$TRANSPORT" "$A" >"$T/carol.yaml"
start_client_file "$T/carol.yaml" 2
log_has "$T/client.log" "tunnel up: viatls.tunnel.test -> 127.0.0.1:$A, with no URL yet" ||
    fail "carol's client was not told its name waits for a certificate"
R="$R --resolve viatls.tunnel.test:$SSLP:127.0.0.1"
SLOW=$((SLOW * 4))
wait_for obtained viatls.tunnel.test || fail "no certificate over TLS-ALPN-01: $(grep acme "$T/server.log" | tail -5)"
SLOW=$SLOW_SAVE
log_has "$T/server.log" "ACME TLS-ALPN-01 check answered" || fail "no TLS-ALPN-01 check seen"
wait_for log_has "$T/client.log" "tunnel up: https://viatls.tunnel.test:$SSLP/ ->" ||
    fail "carol's client was not told its https URL"
log_has "$T/server.log" "ACME challenge answered" && fail "an HTTP-01 answer without http_port"
curl -sk "https://127.0.0.1:$PEBM/roots/0" >"$C/root2.pem" || fail "no second pebble root"
echo | openssl s_client -connect "127.0.0.1:$SSLP" -servername viatls.tunnel.test \
    -CAfile "$C/root2.pem" -verify_return_error >"$T/viatls.out" 2>&1 ||
    fail "viatls's certificate does not verify: $(tail -3 "$T/viatls.out")"
out=$(curl -s --max-time 5 --cacert "$C/root2.pem" $R "https://viatls.tunnel.test:$SSLP/") || true
[ "$out" = "hello from local" ] || fail "https://viatls with the new pebble's certificate: '$out'"
log "TLS-ALPN-01: the acme-tls/1 check answered on https_port, the certificate serves"
