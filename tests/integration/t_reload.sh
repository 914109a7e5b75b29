#!/usr/bin/env bash
# SIGHUP reloads the server's configuration without dropping anyone:
#  - a download through an unchanged user runs across the reload and its
#    SHA-256 is right; that user's session is not touched;
#  - a user added can log in, a changed port moves (old port closed, new
#    one serving), keys that cannot change live say so and keep their value;
#  - a file with an error changes nothing and is reported file:line:col;
#  - a removed user's session and a changed password's session end with a
#    FAIL the client shows;
#  - the log file is reopened as before (t_log_reopen).
. "$(dirname "$0")/lib.sh"
SPORT=$(free_port)
LPORT=$(free_port)
XPORT=$(free_port)
B1=$(free_port)
B2=$(free_port)
start_helper http http-server "$LPORT"
wait_for port_open "$LPORT" || fail "local http service did not start"
start_xfer_service "$XPORT"

# users: admin (main port), bob (own port) -- as YAML lines.
conf() {
	cat >"$T/server.yaml" <<YAML
port: ${MAIN:-$SPORT}
pool_size: ${POOL_SIZE:-8}
connect_timeout: 10
transport: $TRANSPORT
users:
  - username: admin
    password: "${ADMIN_PW:-$PASSWORD}"
$1
log:
  enable: false
YAML
}
bob() { printf '  - username: bob\n    password: "bob-Pass-1"\n    port: %s\n' "$1"; }
conf "$(bob "$B1")"
start_server "$T/server.yaml"
start_client "$SPORT" "$XPORT"
(cd "$T" && TUNNEL_PASSWORD=bob-Pass-1 exec "$CLIENT_BIN" -s "127.0.0.1:$SPORT" \
    -u bob -p "$LPORT" --transport "$TRANSPORT") >>"$T/bob.log" 2>&1 &
BOB_PID=$!
PIDS="$PIDS $BOB_PID"
wait_for grep -q "tunnel up" "$T/bob.log" || fail "bob's client did not come up"
wait_for port_open "$B1" || fail "bob's port $B1"
[ "$(curl -s --max-time 5 "http://127.0.0.1:$B1/")" = "hello from local" ] || fail "bob's port before the reload"

# A download read slowly, so that it is still running at the reload.
N=$((24 * 1024 * 1024))
python3 - "$SPORT" "$N" "$TOP/tests/integration" >"$T/download.out" 2>&1 <<'PY' &
import hashlib, socket, sys, time
sys.path.insert(0, sys.argv[3])
import xfer
n = int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"down %d\n" % n)
h, got = hashlib.sha256(), 0
while True:
    b = s.recv(65536)
    if not b:
        break
    h.update(b)
    got += len(b)
    time.sleep(0.01)
print("ok" if got == n and h.hexdigest() == xfer.digest(n) else "bad: %d bytes" % got)
PY
DL=$!
sleep 1
kill -0 "$DL" 2>/dev/null || fail "the download ended before the reload: $(cat "$T/download.out")"

# Reload 1: bob moves to B2, carol is added, the main port "changes", the
# pool shrinks (for new logins: the running ones keep the size they were
# told, or their refills would be refused for ever).
POOL_SIZE=4 MAIN=$(free_port) conf "$(bob "$B2")
  - username: carol
    password: \"carol-Pass-1\""
kill -HUP "$SERVER_PID"
wait_for grep -q "reload: done" "$T/server.log" || fail "no 'reload: done'"
kill -0 "$DL" 2>/dev/null || fail "the download was not running across the reload"
grep -q "reload: port stays $SPORT until a restart" "$T/server.log" || fail "main port change not reported"
grep -q "reload: user 'carol' added" "$T/server.log" || fail "carol not reported added"
grep -q "reload: user 'bob' moves from port $B1 to $B2" "$T/server.log" || fail "bob's move not reported"
wait_for port_open "$B2" || fail "bob's new port $B2 is not open"
port_open "$B1" && fail "bob's old port $B1 is still open"
[ "$(curl -s --max-time 5 "http://127.0.0.1:$B2/")" = "hello from local" ] || fail "bob's new port does not reach his service"
port_open "$SPORT" || fail "the main port closed"
wait "$DL" || true
[ "$(cat "$T/download.out")" = ok ] || fail "the download across SIGHUP: $(cat "$T/download.out")"
grep -q "user 'admin' session ended" "$T/server.log" && fail "admin's session was ended by the reload"
[ "$(ups)" = 1 ] || fail "admin's client logged in again ($(ups) times)"
grep -q "pool is full" "$T/server.log" && fail "a smaller pool_size refused the running sessions' refills"
grep -q "reload: pool_size (new logins) 8 -> 4" "$T/server.log" || fail "pool_size change not reported"
log "a 24 MiB download ran across SIGHUP (SHA-256 right), admin's session kept; bob moved $B1 -> $B2; carol added"

# carol logs in.
(cd "$T" && TUNNEL_PASSWORD=carol-Pass-1 exec "$CLIENT_BIN" -s "127.0.0.1:$SPORT" \
    -u carol -p "$LPORT" --transport "$TRANSPORT") >>"$T/carol.log" 2>&1 &
PIDS="$PIDS $!"
wait_for grep -q "tunnel up" "$T/carol.log" || fail "carol cannot log in after the reload"

# A file with an error changes nothing; the error is file:line:col.
cp "$T/server.yaml" "$T/good.yaml"
printf 'pool_sise: 3\n' >>"$T/server.yaml"
LINE=$(wc -l <"$T/server.yaml")
"$SERVER_BIN" -n -c "$T/server.yaml" >/dev/null 2>&1 && fail "-n passed the bad file"
kill -HUP "$SERVER_PID"
wait_for grep -q "reload: $T/server.yaml:$LINE:1: .*the running configuration stays" "$T/server.log" ||
    fail "the bad file's error is not reported as file:line:col: $(grep 'reload:' "$T/server.log" | tail -n 2)"
[ "$(grep -c 'reload: done' "$T/server.log")" = 1 ] || fail "the bad file was applied"
[ "$(curl -s --max-time 5 "http://127.0.0.1:$B2/")" = "hello from local" ] || fail "bob's port after the bad file"
log "a file with an error: reported as $T/server.yaml:$LINE:1, nothing changed"

# The file moves the main port (which waits for a restart) and gives its
# number to a user: refused as such, nothing changed.
MAIN=$(free_port) conf "$(bob "$SPORT")"
kill -HUP "$SERVER_PID"
wait_for grep -q "reload: .*server.yaml:[0-9]*: user 'bob': port $SPORT is the running main port until a restart; the running configuration stays" "$T/server.log" ||
    fail "a user given the running main port: $(grep 'reload:' "$T/server.log" | tail -n 2)"
[ "$(grep -c 'reload: done' "$T/server.log")" = 1 ] || fail "the main port clash was applied"
[ "$(curl -s --max-time 5 "http://127.0.0.1:$B2/")" = "hello from local" ] || fail "bob's port after the refused reload"
log "a user given the running main port: refused, nothing changed"

# Reload 2: bob removed, admin's password changed.
cp "$T/good.yaml" "$T/server.yaml"
POOL_SIZE=4 ADMIN_PW=new-Admin-Pass conf "  - username: carol
    password: \"carol-Pass-1\""
kill -HUP "$SERVER_PID"
reloads() { [ "$(grep -c 'reload: done' "$T/server.log")" = "$1" ]; }
wait_for reloads 2 || fail "second reload not done"
grep -q "user 'bob' session ended: user bob was removed" "$T/server.log" || fail "bob's session did not end"
wait_for grep -q "server closed the session: .*user bob was removed from the server configuration" "$T/bob.log" ||
    fail "bob's client was not told: $(tail -n 3 "$T/bob.log")"
wait_for grep -q "password of user admin changed" "$T/client.log" ||
    fail "admin's client was not told: $(tail -n 3 "$T/client.log")"
wait_for sh -c "! python3 -c 'import socket,sys; socket.create_connection((\"127.0.0.1\",int(sys.argv[1])),1).close()' $B2" ||
    fail "bob's port $B2 is still open"
grep -q "user 'carol' session ended" "$T/server.log" && fail "carol's session was ended"
log "bob removed: his session ended with a FAIL his client showed; admin's password change ended hers"
kill -0 "$SERVER_PID" || fail "server died"

# The TLS key: read again only when its files changed (logrotate's daily
# HUP must not throw the ticket keys away), and then the new one is used.
if [ "$TRANSPORT" = tls ]; then
	grep -q "TLS key and certificate read again" "$T/server.log" &&
	    fail "the TLS key was read again though its files did not change"
	mkdir "$T/other"
	cp "$T/server.yaml" "$T/other/server.yaml"
	NEWFP=$("$SERVER_BIN" --fingerprint -c "$T/other/server.yaml" 2>/dev/null)
	cp "$T/other/tunnel-server.crt" "$T/tunnel-server.crt.new"
	cp "$T/other/tunnel-server.key" "$T/tunnel-server.key.new"
	mv "$T/tunnel-server.crt.new" "$T/tunnel-server.crt"
	mv "$T/tunnel-server.key.new" "$T/tunnel-server.key"
	kill -HUP "$SERVER_PID"
	wait_for reloads 3 || fail "third reload not done"
	grep -q "reload: TLS key and certificate read again" "$T/server.log" || fail "new key files not read"
	grep -q "reload: the TLS key changed: fingerprint $NEWFP" "$T/server.log" || fail "new fingerprint not reported"
	log "TLS key files replaced: read again on SIGHUP, new fingerprint $NEWFP reported; unchanged files were not re-read"
fi
