#!/usr/bin/env bash
# TCP keepalive (15 s plus up to 14 s of jitter) is on for every tunnel
# connection, on both sides. The client turns it on for a proxy connection
# once the connection is 1 s old: idle in the pool, or already carrying a
# visitor it took younger than that. Checked in the kernel's own view,
# /proc/net/tcp*: a keepalive timer due within 10 to 30 s.
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
import os, re, sys
sport, cpid, spid, want_c, want_s = (int(a) for a in sys.argv[1:])

def inodes(pid):
    out = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            m = re.match(r"socket:\[(\d+)\]", os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            continue
        if m:
            out.add(m.group(1))
    return out

socks = []
for name in ("/proc/net/tcp", "/proc/net/tcp6"):
    with open(name) as f:
        next(f)
        for line in f:
            p = line.split()
            lport = int(p[1].rsplit(":", 1)[1], 16)
            rport = int(p[2].rsplit(":", 1)[1], 16)
            tr, when = p[5].split(":")
            if p[3] == "01":        # ESTABLISHED
                socks.append((p[9], lport, rport, int(tr, 16), int(when, 16) / 100.0))
cl, sv = inodes(cpid), inodes(spid)
sides = {"client": [s for s in socks if s[0] in cl and s[2] == sport],
         "server": [s for s in socks if s[0] in sv and s[1] == sport]}
ok = len(sides["client"]) == want_c and len(sides["server"]) == want_s
for side, ss in sides.items():
    for ino, lp, rp, tr, when in ss:
        good = tr == 2 and 10 <= when <= 30
        ok = ok and good
        print("%s %d->%d timer %d due in %.1f s%s" % (side, lp, rp, tr, when, "" if good else "  <- no keepalive in 10-30 s"))
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
