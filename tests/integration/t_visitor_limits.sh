#!/usr/bin/env bash
# What visitors may hold is bounded.
# 1. visitors_per_address: one address (an IPv6 /64) holds at most that
#    many visitors at once; the next is turned away with a 502 that says
#    why, while other addresses are served; a slot freed is usable again.
#    The default cap, 1,000: of 1,100 visitors from one address, 100 are
#    refused.
# 2. pipe_memory_mb: 40 readers ask for 8 MB each and never read it. The
#    bytes the server holds in pipes for them stay under the budget plus
#    16 KiB a direction (without a budget: 1 MiB each), and a visitor from
#    elsewhere still gets its 8 MB at once.
. "$(dirname "$0")/lib.sh"

LPORT=$(free_port); PUSH=$(free_port)
start_helper http http-server "$LPORT"
start_helper push push-server "$PUSH" 8000000
wait_for port_open "$LPORT" || fail "http service"
wait_for port_open "$PUSH" || fail "push service"

# hold SRC PORT N: N connections from SRC that each send a request and
# then read nothing; prints how many got an answer right away (refused),
# then holds them all until stdin closes.
cat >"$T/hold.py" <<'PY'
import resource, socket, sys, time
src, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET6 if ":" in src else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind((src, 0))
    s.connect(("::1" if ":" in src else "127.0.0.1", port))
    s.sendall(b"GET /stall HTTP/1.1\r\nHost: x\r\n\r\n")
    if len(sys.argv) > 4:
        s.shutdown(socket.SHUT_WR)      # the push service waits for it
    socks.append(s)
time.sleep(2)
refused = 0
for s in socks:
    try:
        d = s.recv(12, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        if d.startswith(b"HTTP/1.1 502"):
            refused += 1
    except OSError:
        pass
print(refused, flush=True)
sys.stdin.read()
PY

# pipe_bytes PID: bytes sitting in the pipes of PID right now.
pipe_bytes() {
	python3 - "$1" <<'PY'
import fcntl, os, struct, sys, termios
pid, seen, total = sys.argv[1], set(), 0
d = "/proc/%s/fd" % pid
for fd in os.listdir(d):
    try:
        t = os.readlink(os.path.join(d, fd))
    except OSError:
        continue
    if not t.startswith("pipe:") or t in seen:
        continue
    seen.add(t)
    try:
        f = os.open(os.path.join(d, fd), os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        continue
    try:
        total += struct.unpack("i", fcntl.ioctl(f, termios.FIONREAD, b"\0" * 4))[0]
    finally:
        os.close(f)
print(total)
PY
}

# --- 1. The cap per address.
SPORT=$(free_port)
cat >"$T/s1.yaml" <<YAML
port: $SPORT
pool_size: 20
visitors_per_address: 50
users:
  - username: admin
    password: "$PASSWORD"
YAML
start_server "$T/s1.yaml"
start_client "$SPORT" "$LPORT"
mkfifo "$T/hold1.in"
python3 "$T/hold.py" 127.0.0.2 "$SPORT" 51 <"$T/hold1.in" >"$T/hold1.out" 2>&1 &
HPID=$!; PIDS="$PIDS $HPID"
exec 7>"$T/hold1.in"
wait_for test -s "$T/hold1.out" || fail "cap: the holder did not report"
[ "$(cat "$T/hold1.out")" = 1 ] ||
    fail "cap 50: want exactly 1 of 51 visitors from one address refused, got $(cat "$T/hold1.out")"
out=$(curl -s --interface 127.0.0.2 --max-time 5 "http://127.0.0.1:$SPORT/" || true)
echo "$out" | grep -q "too many connections from your address" ||
    fail "cap: a 52nd visitor was not told why: '$out'"
out=$(curl -s --interface 127.0.0.3 --max-time 5 "http://127.0.0.1:$SPORT/")
[ "$out" = "hello from local" ] || fail "cap: another address was not served: '$out'"
# IPv6 visitors count the same way (::1 is one /64).
python3 "$T/hold.py" ::1 "$SPORT" 51 </dev/null >"$T/hold6.out" 2>&1 ||
    fail "cap: IPv6 holder: $(cat "$T/hold6.out")"
[ "$(head -n 1 "$T/hold6.out")" = 1 ] ||
    fail "cap 50 over IPv6: want 1 of 51 refused, got $(cat "$T/hold6.out")"
exec 7>&-		# the 51 from 127.0.0.2 leave
wait "$HPID" 2>/dev/null || true
sleep 0.5
out=$(curl -s --interface 127.0.0.2 --max-time 5 "http://127.0.0.1:$SPORT/")
[ "$out" = "hello from local" ] || fail "cap: a freed address was not served again: '$out'"
log "visitors_per_address 50: the 51st refused with its reason (IPv4 and IPv6), others served"
# Visitors turned away (no client online) free their places too.
kill "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
sleep 0.3
for i in $(seq 1 60); do
	curl -s --interface 127.0.0.7 --max-time 5 "http://127.0.0.1:$SPORT/" >/dev/null || true
done
start_client "$SPORT" "$LPORT"
out=$(curl -s --interface 127.0.0.7 --max-time 5 "http://127.0.0.1:$SPORT/")
[ "$out" = "hello from local" ] ||
    fail "cap: 60 visitors turned away still count against their address: '$out'"
log "visitors turned away free their places"
kill "$SERVER_PID" "$CLIENT_PID" 2>/dev/null || true
sleep 0.3

# The default cap, 1,000: 1,100 visitors from one address, 100 refused.
: >"$T/server.log"; : >"$T/client.log"
SPORT=$(free_port)
write_server_config "$T/s2.yaml" "$SPORT" 50
start_server "$T/s2.yaml"
start_client "$SPORT" "$LPORT"
mkfifo "$T/hold2.in"
python3 "$T/hold.py" 127.0.0.4 "$SPORT" 1100 <"$T/hold2.in" >"$T/hold2.out" 2>&1 &
HPID=$!; PIDS="$PIDS $HPID"
exec 8>"$T/hold2.in"
wait_for test -s "$T/hold2.out" || fail "default cap: the holder did not report"
[ "$(cat "$T/hold2.out")" = 100 ] ||
    fail "default cap: want 100 of 1,100 from one address refused, got $(cat "$T/hold2.out")"
exec 8>&-
wait "$HPID" 2>/dev/null || true
log "default cap: 1,000 of 1,100 visitors from one address held, 100 refused"
kill "$SERVER_PID" "$CLIENT_PID" 2>/dev/null || true
sleep 0.3

# --- 2. The pipe budget, with stalled readers: each asks for 8 MB and
# reads nothing. The kernel's socket buffers take about 4 MB of each
# (tcp_wmem); the rest would wait in the server's pipes, 1 MiB each.
: >"$T/server.log"; : >"$T/client.log"
SPORT=$(free_port)
cat >"$T/s3.yaml" <<YAML
port: $SPORT
pool_size: 50
pipe_memory_mb: 1
users:
  - username: admin
    password: "$PASSWORD"
YAML
start_server "$T/s3.yaml"
start_client "$SPORT" "$PUSH"
mkfifo "$T/hold3.in"
python3 "$T/hold.py" 127.0.0.6 "$SPORT" 40 shut <"$T/hold3.in" >"$T/hold3.out" 2>&1 &
HPID=$!; PIDS="$PIDS $HPID"
exec 8>"$T/hold3.in"
wait_for test -s "$T/hold3.out" || fail "budget: the holder did not report"
[ "$(cat "$T/hold3.out")" = 0 ] || fail "budget: stalled readers refused: $(cat "$T/hold3.out")"
sleep 2
held=$(pipe_bytes "$SERVER_PID")
limit=$(( (1 << 20) + 40 * 2 * 16384 ))
log "40 stalled readers: the server holds $held bytes in pipes (budget 1 MiB; limit $limit)"
[ "$held" -le "$limit" ] || fail "budget: $held bytes in pipes, over $limit"
# Another visitor is not starved: its 8 MB arrive exact, at once.
want=$(python3 "$HELP" sha 8000000)
got=$(python3 - "$SPORT" <<'PY'
import hashlib, socket, sys, time
t0 = time.time()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20,
                             source_address=("127.0.0.5", 0))
s.shutdown(socket.SHUT_WR)
got = bytearray()
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
print(hashlib.sha256(got).hexdigest(), round(time.time() - t0, 2))
PY
)
[ "${got% *}" = "$want" ] || fail "budget: another visitor's download: $got"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 3 * $SLOW else 1)" "${got#* }" ||
    fail "budget: another visitor waited ${got#* } s"
log "another visitor: 8 MB exact in ${got#* } s while the budget is spent"
exec 8>&-
