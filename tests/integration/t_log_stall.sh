#!/usr/bin/env bash
# A stderr nobody reads (a terminal paused with Ctrl-S, a journal pipe
# that is not drained) never stops forwarding: both daemons log at debug
# level into pipes of 4 KiB whose readers wait, while requests and a
# download run through the tunnel. Once the readers drain, each daemon
# says how many lines it dropped.
. "$(dirname "$0")/lib.sh"

# stalled_reader NAME: a fifo $T/NAME.fifo whose reader reads nothing
# until $T/go exists, then copies everything to $T/NAME.err.
stalled_reader() {
	mkfifo "$T/$1.fifo"
	python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    fcntl.fcntl(fd, 1031, 4096)		# F_SETPIPE_SZ: the smallest pipe
except OSError:
    pass
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
with open(sys.argv[3], "ab") as out:
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        out.write(b)
        out.flush()
' "$T/$1.fifo" "$T/go" "$T/$1.err" &
	PIDS="$PIDS $!"
}

SPORT=$(free_port)
LPORT=$(free_port)
start_helper http http-server "$LPORT"
wait_for port_open "$LPORT" || fail "local http service did not start"
write_server_config "$T/server.yaml" "$SPORT"
stalled_reader server
stalled_reader client
(cd "$T" && exec "$SERVER_BIN" -d -c "$T/server.yaml") 2>"$T/server.fifo" &
SERVER_PID=$!; PIDS="$PIDS $SERVER_PID"
wait_for port_open "$SPORT" || fail "server did not start"
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec "$CLIENT_BIN" -d \
    -s "127.0.0.1:$SPORT" -u admin -p "$LPORT") 2>"$T/client.fifo" &
CLIENT_PID=$!; PIDS="$PIDS $CLIENT_PID"
up() { curl -sf --max-time 2 "http://127.0.0.1:$SPORT/" | grep -q "hello from local"; }
# Bounded in time, not in tries: a frozen daemon makes each try last 2 s.
deadline=$(( $(date +%s) + 15 * SLOW ))
until up; do
	[ "$(date +%s)" -lt "$deadline" ] || fail "no answer through the tunnel with both stderrs stalled"
	sleep 0.2
done

# Enough visitors that the debug lines overflow both 4 KiB pipes and the
# 64 KiB queue behind them (the server writes about 100 bytes a visitor;
# 600 were right at the edge and sometimes dropped nothing), many
# times over, then a download checked by its SHA-256.
python3 - "$SPORT" <<'PY' || fail "a request failed while stderr was stalled"
import socket, sys
for i in range(1500):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
    s.settimeout(5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    s.close()
    if not data.endswith(b"hello from local\n"):
        sys.exit("request %d: %r" % (i, data[-60:]))
PY
N=$((8 * 1024 * 1024))
got=$(curl -s --max-time 20 "http://127.0.0.1:$SPORT/bytes/$N" | sha256sum | cut -d' ' -f1)
[ "$got" = "$(python3 "$HELP" sha "$N")" ] || fail "download with stalled stderrs: wrong or incomplete body"
log "1,500 requests and an 8 MiB download with both stderrs stalled: ok"

# Readers resume: each daemon reports what it dropped, then logs again.
touch "$T/go"
# The count is written with the next line once the queue has drained:
# keep a visitor coming until it is there.
reported() {
	curl -s --max-time 5 "http://127.0.0.1:$SPORT/" >/dev/null || true
	grep -q "line(s) dropped" "$1"
}
for d in server client; do
	wait_for reported "$T/$d.err" ||
	    fail "$d: no 'dropped' line after stderr resumed: $(wc -l <"$T/$d.err") lines, $(grep -c "done after" "$T/$d.err") done"
done
kill -TERM "$CLIENT_PID" "$SERVER_PID"
wait "$SERVER_PID" || fail "server exit status $? with a slow stderr"
grep -q "shutting down" "$T/server.err" || fail "server: lines after the stall were lost"
log "dropped lines counted and reported once stderr drained"
