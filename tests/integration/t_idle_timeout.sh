#!/usr/bin/env bash
# idle_timeout means idle: bytes moving either way (a slow reader taking
# its download counts as much as a writer) keep a visitor alive; a quiet
# one is closed with FIN, not with the reset meant for crashes; and the
# close line counts only bytes the visitor could have received.
. "$(dirname "$0")/lib.sh"

PUSH=$(free_port); ECHO=$(free_port); SPORT=$(free_port)
start_helper push push-server "$PUSH" 8000000
start_helper echo echo-server "$ECHO"
wait_for port_open "$PUSH" || fail "push service"
wait_for port_open "$ECHO" || fail "echo service"

# One server, idle_timeout 2 s; one client per service, each on its own
# user and port.
P1=$(free_port); P2=$(free_port)
cat >"$T/server.yaml" <<YAML
port: $SPORT
idle_timeout: 2
users:
  - username: push
    password: "$PASSWORD"
    port: $P1
  - username: echo
    password: "$PASSWORD"
    port: $P2
YAML
start_server "$T/server.yaml"
for u in push echo; do
	[ $u = push ] && lp=$PUSH || lp=$ECHO
	(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec ${TUNNEL_WRAP:-} "$CLIENT_BIN" \
	    -s "127.0.0.1:$SPORT" -u $u -p "$lp") >>"$T/client-$u.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for grep -q "tunnel up" "$T/client-$u.log" || fail "client $u"
done
sleep 0.3

# 1. A slow reader: 8 MB at about 1 MB/s, 4 times the idle timeout. The
#    buffers on the way hold megabytes, so for seconds at a time nothing
#    is read from the tunnel side; only the visitor's reads move.
python3 - "$P1" <<'PY' || fail "slow reader cut short"
import hashlib, random, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
got = bytearray()
t0 = time.time()
try:
    while True:
        d = s.recv(16384)
        if not d:
            break
        got += d
        # about 1 MB/s
        ahead = len(got) / 1e6 - (time.time() - t0)
        if ahead > 0:
            time.sleep(ahead)
except ConnectionResetError:
    print("reset after %d bytes, %.1f s" % (len(got), time.time() - t0))
    sys.exit(1)
want = random.Random(8000000).randbytes(8000000)
if bytes(got) != want:
    print("got %d bytes, not the 8,000,000 sent" % len(got))
    sys.exit(1)
print("8,000,000 bytes exact in %.1f s" % (time.time() - t0))
PY
# A graceful idle close would still deliver what the kernel holds: the
# server must not have taken the reader for idle at all.
grep -q "user 'push'.*idle timeout" "$T/server.log" &&
    fail "slow reader cut short: the server closed it as idle"
log "slow reader: 8 MB at 1 MB/s through idle_timeout 2 s, exact"

# 2. A quiet visitor: one echo, then nothing. It must see EOF, not a reset.
python3 - "$P2" <<'PY' || fail "quiet visitor"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"hi")
assert s.recv(10) == b"hi"
t0 = time.time()
try:
    d = s.recv(10)
except ConnectionResetError:
    print("reset after %.1f s idle: want FIN" % (time.time() - t0))
    sys.exit(1)
if d != b"" or not 1.5 < time.time() - t0 < 6:
    print("got %r after %.1f s" % (d, time.time() - t0))
    sys.exit(1)
print("EOF after %.1f s idle" % (time.time() - t0))
PY
wait_for grep -q "idle timeout" "$T/server.log" || fail "no idle close logged"
log "quiet visitor: closed with FIN after the idle timeout"

# 3. A stalled reader: reads 1 MB of its download, then stops. The idle
#    end resets it (its bytes were cut short), and the close line counts
#    what it read plus what waits in its receive queue, not the bytes the
#    reset threw away in the server's send queue. (A send queue that has
#    not moved between two looks at the deadline is idle too.)
python3 - "$P1" "$T/could" <<'PY' &
import fcntl, os, socket, struct, sys, termios, time
# A small receive buffer: the kernels' queues cannot swallow the rest of
# the 8 MB (loopback autotunes them to several MB each), so the bridge
# still holds bytes when the idle end comes, and that end is a reset.
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.settimeout(30)
s.connect(("127.0.0.1", int(sys.argv[1])))
n = 0
while n < 1000000:
    n += len(s.recv(min(65536, 1000000 - n)))
# The queue fills for a while after the last read (the window grows):
# measure until the reset, keeping the last figure. The idle end comes
# only after 2 s without movement, so the last look sees the final queue.
last = None
for _ in range(150):
    time.sleep(0.1)
    try:
        q = struct.unpack("i", fcntl.ioctl(s, termios.FIONREAD,
                                           b"\0\0\0\0"))[0]
        s.getpeername()
    except OSError:
        break
    if q != last:
        last = q
        with open(sys.argv[2] + ".tmp", "w") as f:
            f.write("%d\n" % (n + q))
        os.replace(sys.argv[2] + ".tmp", sys.argv[2])
time.sleep(10)
PY
PIDS="$PIDS $!"
wait_for grep -q "user 'push'.*bytes out: idle timeout" "$T/server.log" ||
    fail "stalled reader: no idle close"
wait_for test -s "$T/could" || fail "stalled reader: nothing measured"
out=$(cat "$T/could")
line=$(grep "user 'push'.*bytes out: idle timeout" "$T/server.log" | tail -n 1)
logged=$(echo "$line" | sed -n 's/.* \([0-9]*\) bytes out.*/\1/p')
[ "$logged" = "$out" ] ||
    fail "stalled reader could have received $out bytes; the close line says $logged: $line"
log "stalled reader: the close line counts $logged bytes, what it could receive"
