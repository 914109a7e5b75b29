#!/usr/bin/env bash
# A tunnel-acme gone wrong cannot harm the server: acme's directory as a
# symbolic link is refused; temporary key files an order cut short left
# are removed at start (an operator's other files are kept); a fake
# helper beside a
# copy of the server crashes, floods log lines, sends a malformed token,
# says "done" with no file, and relays a CA's Retry-After. Each time the
# server logs why, backs off, keeps serving visitors, and:
#  - logs at most 64 of an order's lines;
#  - answers a malformed token "refused" at once (no ten-minute hang);
#  - keeps a CA's Retry-After across a reload, which clears the rest.
. "$(dirname "$0")/lib.sh"
SPORT=$(free_port)
HPORT=$(free_port)
SSLP=$(free_port)
A=$(free_port)
mkdir -p "$T/bin"
cp "$SERVER_BIN" "$T/bin/tunnel-server"
SERVER_BIN="$T/bin/tunnel-server"
# The fake helper: reads the job, then does what $T/mode says.
cat >"$T/bin/tunnel-acme" <<SH
#!/usr/bin/env bash
while IFS= read -r line && [ -n "\$line" ]; do echo "\$line" >>"$T/job"; done
case \$(cat "$T/mode") in
crash) exit 3 ;;
flood) yes "log info spam line" | head -n 20000; echo "fail transient 0 flooded" ;;
badtoken)
	echo "http-01 bad!token bad!token.x"
	IFS= read -r reply
	echo "\$reply" >"$T/reply"
	echo "fail refused 0 the server would not answer" ;;
donemissing) echo done ;;
retryafter) echo "fail refused 7200 urn:ietf:params:acme:error:rateLimited: too many" ;;
esac
SH
chmod +x "$T/bin/tunnel-acme"
echo crash >"$T/mode"

start_helper svca http-server "$A"
wait_for port_open "$A" || fail "local service did not start"
cat >"$T/server.yaml" <<YAML
port: $SPORT
pool_size: 4
transport: $TRANSPORT
domain: tunnel.test
http_port: $HPORT
https_port: $SSLP
acme:
  directory: https://127.0.0.1:1/dir
users:
  - username: admin
    password: "$PASSWORD"
    hosts: [alice]
YAML
# A link where acme's directory goes is refused, never followed (the
# service's user could point it at /etc for root to hand over).
mkdir "$T/elsewhere"
ln -s "$T/elsewhere" "$T/acme"
timeout 10 "$SERVER_BIN" -c "$T/server.yaml" >"$T/link.out" 2>&1 && fail "started with acme a link"
grep -q "acme: $T/acme is not a directory" "$T/link.out" || fail "acme a link: $(tail -2 "$T/link.out")"
[ -z "$(ls "$T/elsewhere")" ] || fail "acme a link: something was made through it"
rm "$T/acme"
log "acme's directory a symbolic link: refused, not followed"

# What a helper killed while writing would leave: removed at start.
AD="$T/acme/127.0.0.1-1-dir"
mkdir -p "$AD"
: >"$AD/alice.tunnel.test.pem.tmp-Ab3dEf"
: >"$AD/account.key.tmp-x1y2z3"
: >"$AD/alice.tunnel.test.pem.backup"	# an operator's: kept
: >"$AD/account.key.old123"
start_server "$T/server.yaml"
[ -e "$AD/alice.tunnel.test.pem.tmp-Ab3dEf" ] || [ -e "$AD/account.key.tmp-x1y2z3" ] &&
    fail "a cut-short order's temporary files were not removed"
[ -e "$AD/alice.tunnel.test.pem.backup" ] && [ -e "$AD/account.key.old123" ] ||
    fail "an operator's file was removed"
cat >"$T/client.yaml" <<YAML
server_addr: "127.0.0.1:$SPORT"
username: admin
password: "$PASSWORD"
transport: $TRANSPORT
services:
  - host: alice
    local_port: $A
YAML
start_client_file "$T/client.yaml"
served() {
	[ "$(curl -s --max-time 3 --resolve "alice.tunnel.test:$HPORT:127.0.0.1" \
	    "http://alice.tunnel.test:$HPORT/")" = "hello from local" ]
}
orders() { grep -c "acme: alice.tunnel.test: ordering a certificate" "$T/server.log" || true; }
# next MODE: the next order's behaviour, started by a reload.
next() {
	echo "$1" >"$T/mode"
	n=$(orders)
	kill -HUP "$SERVER_PID"
	wait_for eval '[ "$(orders)" -gt '"$n"' ]' || fail "$1: no new order after SIGHUP"
}

# 1. A crash.
wait_for log_has "$T/server.log" "tunnel-acme ended without a result" || fail "crash: no line"
log_has "$T/server.log" "no certificate: tunnel-acme ended without a result .*trying again in 10 s" ||
    fail "crash: not backed off"
grep -q "^challenge http-01$" "$T/job" && grep -q "^name alice.tunnel.test$" "$T/job" ||
    fail "the job: $(cat "$T/job")"
served || fail "crash: visitors not served"
log "a crash: logged, backed off, visitors served"

# 2. A flood of log lines: 64 logged, then one line says the rest is dropped.
next flood
wait_for log_has "$T/server.log" "no certificate: flooded" || fail "flood: no result"
n=$(grep -c "spam line" "$T/server.log")
[ "$n" = 64 ] || fail "flood: $n lines logged, want 64"
log_has "$T/server.log" "tunnel-acme says too much" || fail "flood: no 'too much' line"
served || fail "flood: visitors not served"
log "a flood of 20000 lines: 64 logged"

# 3. A malformed token is refused at once.
next badtoken
wait_for test -s "$T/reply" || fail "badtoken: the helper got no answer"
[ "$(cat "$T/reply")" = refused ] || fail "badtoken: answered '$(cat "$T/reply")'"
log_has "$T/server.log" "sent a bad token" || fail "badtoken: no line"
out=$(curl -s --max-time 3 --resolve "alice.tunnel.test:$HPORT:127.0.0.1" \
    "http://alice.tunnel.test:$HPORT/.well-known/acme-challenge/bad!token") || true
[ "$out" = "echo GET /.well-known/acme-challenge/bad!token 0" ] ||
    fail "badtoken: the token path did not go to the client: '$out'"
log "a malformed token: refused at once, never served"

# 4. "done" without a certificate file.
next donemissing
wait_for log_has "$T/server.log" "tunnel-acme said done, but the certificate file is missing" ||
    fail "donemissing: no line"
log "done without a file: logged and backed off"

# 5. The CA's Retry-After outlives a reload.
next retryafter
wait_for log_has "$T/server.log" "rateLimited: too many; trying again in 7200 s" ||
    fail "retryafter: not waited: $(grep 'acme:' "$T/server.log" | tail -2)"
n=$(orders)
kill -HUP "$SERVER_PID"
sleep 2
[ "$(orders)" = "$n" ] || fail "retryafter: a reload ordered again within the CA's Retry-After"
served || fail "visitors not served at the end"
log "a CA's Retry-After of 7200 s holds across SIGHUP"
