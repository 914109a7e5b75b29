#!/usr/bin/env bash
# A peer that stops answering without closing (process frozen, laptop
# asleep) is noticed by heartbeats within 45 s, on each side. Both checks
# run at once on two tunnels; the client then reconnects by itself.
. "$(dirname "$0")/lib.sh"
S1=$(free_port); S2=$(free_port); LPORT=$(free_port)
start_helper http http-server "$LPORT"
wait_for port_open "$LPORT" || fail "local service"
write_server_config "$T/s1.yaml" "$S1"
write_server_config "$T/s2.yaml" "$S2"
start_server "$T/s1.yaml"
start_client "$S1" "$LPORT"
FROZEN_CLIENT=$CLIENT_PID
(cd "$T" && exec "$SERVER_BIN" -c "$T/s2.yaml") >>"$T/server2.log" 2>&1 &
S2PID=$!; PIDS="$PIDS $S2PID"
wait_for port_open "$S2" || fail "second server"
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec "$CLIENT_BIN" -s "127.0.0.1:$S2" -u admin -p "$LPORT") >>"$T/client2.log" 2>&1 &
PIDS="$PIDS $!"
wait_for grep -q "tunnel up" "$T/client2.log" || fail "second client"

# A reader that pauses longer than the heartbeat timeout must not lose its
# download (no TCP_USER_TIMEOUT on bridged sockets). It runs through a
# third tunnel that stays up while the other two freeze.
S3=$(free_port)
write_server_config "$T/s3.yaml" "$S3"
(cd "$T" && exec "$SERVER_BIN" -c "$T/s3.yaml") >>"$T/server3.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$S3" || fail "third server"
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec "$CLIENT_BIN" -s "127.0.0.1:$S3" -u admin -p "$LPORT") >>"$T/client3.log" 2>&1 &
PIDS="$PIDS $!"
wait_for grep -q "tunnel up" "$T/client3.log" || fail "third client"
N=$((100 * 1024 * 1024))
python3 - "$S3" "$N" >"$T/pause.log" 2>&1 <<'PY' &
import hashlib, random, socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), 10)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % n)
first = s.recv(65536)
time.sleep(38)
data = bytearray(first)  # bytes += would copy it all per chunk
while True:
    d = s.recv(1 << 20)
    if not d:
        break
    data += d
body = data.split(b"\r\n\r\n", 1)[1]
want = random.Random(n).randbytes(n)
print("paused reader got", len(body), "ok" if body == want else "MISMATCH")
PY
PAUSE=$!
# A fourth tunnel through a relay that will silence its control connection
# (both sockets stay open): both ends notice, the client logs in again and
# the stale session's clean-up leaves the new session alone.
S4=$(free_port); R4=$(free_port)
write_server_config "$T/s4.yaml" "$S4"
(cd "$T" && exec "$SERVER_BIN" -c "$T/s4.yaml") >>"$T/server4.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$S4" || fail "fourth server"
python3 "$TOP/tests/integration/tunnelproto.py" freeze-relay "$R4" "$S4" "$T/freeze" >>"$T/relay4.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$R4" || fail "freeze relay"
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec "$CLIENT_BIN" -s "127.0.0.1:$R4" -u admin -p "$LPORT") >>"$T/client4.log" 2>&1 &
PIDS="$PIDS $!"
wait_for grep -q "tunnel up" "$T/client4.log" || fail "fourth client"
touch "$T/freeze"

kill -STOP "$FROZEN_CLIENT" "$S2PID"
start=$(date +%s)
ok1=0; ok2=0
while [ $(( $(date +%s) - start )) -lt 50 ]; do
	grep -q "no heartbeat from the client" "$T/server.log" && ok1=1
	grep -q "no heartbeat from the server" "$T/client2.log" && ok2=1
	[ $ok1 = 1 ] && [ $ok2 = 1 ] && break
	sleep 1
done
took=$(( $(date +%s) - start ))
kill -CONT "$FROZEN_CLIENT" "$S2PID"
[ $ok1 = 1 ] || fail "server did not notice a frozen client within 50 s"
[ $ok2 = 1 ] || fail "client did not notice a frozen server within 50 s"
[ $took -le 45 ] || fail "noticed after $took s"
# Thawed, the second client reconnects to its server on its own.
SLOW=4 wait_for sh -c "[ \$(grep -c 'tunnel up' '$T/client2.log') -ge 2 ]" || fail "client did not reconnect after the server woke"
# The silenced control link: both sides noticed, a new session serves.
SLOW=2 wait_for grep -q "no heartbeat from the server" "$T/client4.log" || fail "client did not notice the silent link"
# The server either notices first, or the client's new login replaces the
# stale session: both end it without touching the new one.
SLOW=2 wait_for grep -qE "no heartbeat from the client|replaced by a new login" "$T/server4.log" || fail "server did not end the stale session"
SLOW=3 wait_for sh -c "[ \$(grep -c 'tunnel up' '$T/client4.log') -ge 2 ]" || fail "client did not log in again after the silent link"
sleep 1
[ "$(curl -sf --max-time 10 "http://127.0.0.1:$S4/")" = "hello from local" ] || fail "new session not serving after the stale one was cleaned up"

wait "$PAUSE" || true
grep -q "got $N ok" "$T/pause.log" || fail "reader paused 38 s lost its download: $(cat "$T/pause.log")"
log "frozen peers noticed within $took s on both sides; reconnect after thaw: ok"
