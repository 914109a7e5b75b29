#!/usr/bin/env bash
# TCP keepalive (15 s plus up to 14 s of jitter) is on for every tunnel
# connection, on both sides. The client turns it on for a proxy connection
# once the connection is 1 s old: idle in the pool, or already carrying a
# visitor it took younger than that. Checked on the daemons' own sockets
# (pidfd_getfd, as root): SO_KEEPALIVE on and TCP_KEEPIDLE 10 to 30 s.
. "$(dirname "$0")/lib.sh"
SPORT=$(free_port); EPORT=$(free_port)
start_helper echo echo-server "$EPORT"
wait_for port_open "$EPORT" || fail "local service did not start"
write_server_config "$T/server.yaml" "$SPORT" 1
start_server "$T/server.yaml"
start_client "$SPORT" "$EPORT"

# keepalive_ok WANT_CLIENT WANT_SERVER: the client's sockets to the server
# port and the server's sockets on it are established in those numbers,
# and each has its keepalive timer due in 10 to 30 s. Prints what it saw.
keepalive_ok() {
	python3 - "$SPORT" "$CLIENT_PID" "$SERVER_PID" "$1" "$2" \
	    >"$T/keepalive.out" 2>&1 <<'PY'
# Each daemon's own sockets to or from the tunnel port, taken from its fd
# table with pidfd_getfd (we are root), and asked for their keepalive
# settings: SO_KEEPALIVE on, TCP_KEEPIDLE 10..30 s. (The kernel's timer
# shown by ss or /proc/net/tcp is no measure of that: on a connection
# with traffic it is re-armed for what is left of the idle time, so any
# remaining value from 0 up is normal.)
import ctypes, os, socket, sys
sport, cpid, spid, want_c, want_s = (int(a) for a in sys.argv[1:])
libc = ctypes.CDLL(None, use_errno=True)
SYS_pidfd_getfd = 438       # the same number on x86_64 and arm64

def tunnel_socks(pid, ours):
    pidfd = os.pidfd_open(pid)
    found = []
    try:
        for name in os.listdir("/proc/%d/fd" % pid):
            try:
                if not os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith("socket:"):
                    continue
            except OSError:
                continue
            fd = libc.syscall(SYS_pidfd_getfd, pidfd, int(name), 0)
            if fd < 0:
                continue
            s = socket.socket(fileno=fd)
            try:
                if s.type != socket.SOCK_STREAM:
                    continue
                lp = s.getsockname()[1]
                try:
                    rp = s.getpeername()[1]
                except OSError:
                    continue        # a listener or not connected
                if not ours(lp, rp):
                    continue
                ka = s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
                idle = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
                found.append((lp, rp, ka, idle))
            finally:
                s.close()
    finally:
        os.close(pidfd)
    return found

sides = {"client": tunnel_socks(cpid, lambda lp, rp: rp == sport),
         "server": tunnel_socks(spid, lambda lp, rp: lp == sport)}
ok = len(sides["client"]) == want_c and len(sides["server"]) == want_s
for side, ss in sides.items():
    for lp, rp, ka, idle in ss:
        good = ka == 1 and 10 <= idle <= 30
        ok = ok and good
        print("%s %d->%d keepalive %s, idle %d s%s" % (side, lp, rp,
              "on" if ka else "off", idle,
              "" if good else "  <- want keepalive on, idle 10-30 s"))
print("client sockets %d (want %d), server sockets %d (want %d)" % (len(sides["client"]), want_c, len(sides["server"]), want_s))
sys.exit(0 if ok else 1)
PY
}

# The control connection and the pool's one connection, idle for 1.5 s.
sleep 1.5
wait_for keepalive_ok 2 2 || fail "idle connections: $(cat "$T/keepalive.out")"
log "idle: $(tail -n 1 "$T/keepalive.out")"

# Two visitors held open. The first takes the old proxy connection; the
# second takes its replacement, dialed a moment before, so that one gets
# keepalive while bridged. A third connection refills the pool.
python3 - "$SPORT" >"$T/hold.log" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
socks = []
for i in range(2):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(b"hello %d\n" % i)
    got = b""
    while len(got) < 8:
        got += s.recv(64)
    socks.append(s)
    time.sleep(0.1)
print("holding 2", flush=True)
time.sleep(30)
PY
PIDS="$PIDS $!"
wait_for grep -q "holding 2" "$T/hold.log" || fail "visitors not echoed: $(cat "$T/hold.log")"
sleep 1.5
wait_for keepalive_ok 4 6 ||
    fail "with visitors held: $(cat "$T/keepalive.out")"
log "held: $(tail -n 1 "$T/keepalive.out")"
