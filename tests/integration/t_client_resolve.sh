#!/usr/bin/env bash
# The client's lookup of server_addr never blocks its loop, and every
# address of the name is tried. A getaddrinfo shim (resolve_shim.c,
# LD_PRELOAD) makes "dual.test" resolve to ::1 then 127.0.0.1, and hangs
# while $T/hang exists.
# 1. ::1 drops SYNs (a full accept queue) and 127.0.0.1 works: the client
#    is up within a few hundred ms, through the second address.
# 2. The control connection is cut during a download and the resolver
#    hangs: the download still completes, checked by SHA-256, the lookup
#    times out with a clear line, and the client is back once it answers.
. "$(dirname "$0")/lib.sh"
command -v cc >/dev/null || skip "no C compiler for the resolver shim"
python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ||
    skip "no IPv6 loopback"
cc -shared -fPIC -o "$T/shim.so" "$TOP/tests/integration/resolve_shim.c" -ldl ||
    fail "cannot build the resolver shim"

SPORT=$(free_port); LPORT=$(free_port); R=$(free_port)
start_helper http http-server "$LPORT"
wait_for port_open "$LPORT" || fail "local http service did not start"
write_server_config "$T/server.yaml" "$SPORT"
start_server "$T/server.yaml"

# [::1]:R accepts one connection and never again: later SYNs are dropped,
# so a connect there hangs (the broken-IPv6 case).
python3 - "$R" >"$T/blackhole.log" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
ls = socket.socket(socket.AF_INET6)
ls.bind(("::1", port))
ls.listen(0)
fill = []
for _ in range(2):
    c = socket.socket(socket.AF_INET6)
    c.setblocking(False)
    c.connect_ex(("::1", port))
    fill.append(c)
print("blackhole ready", flush=True)
time.sleep(3600)
PY
PIDS="$PIDS $!"
wait_for grep -q "blackhole ready" "$T/blackhole.log" || fail "blackhole"

# 127.0.0.1:R relays to the server; once $T/cut exists it closes the
# oldest connection still open (the control connection) once.
python3 - "$R" "$SPORT" "$T/cut" >"$T/relay.log" 2>&1 <<'PY' &
import os, socket, sys, threading, time
lport, tport, flag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lport))
ls.listen(128)
conns = []
done = set()
def pipe(a, b, i):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    done.add(i)
def cutter():
    while not os.path.exists(flag):
        time.sleep(0.05)
    a, b = next(c for i, c in enumerate(conns) if i not in done)
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    print("cut", flush=True)
threading.Thread(target=cutter, daemon=True).start()
while True:
    a, _ = ls.accept()
    b = socket.create_connection(("127.0.0.1", tport))
    conns.append((a, b))
    i = len(conns) - 1
    threading.Thread(target=pipe, args=(a, b, i), daemon=True).start()
    threading.Thread(target=pipe, args=(b, a, i), daemon=True).start()
PY
PIDS="$PIDS $!"
wait_for port_open "$R" || fail "relay"

cat >"$T/client.yaml" <<YAML
server_addr: "dual.test:$R"
local_port: $LPORT
connect_timeout: 3
username: admin
password: "$PASSWORD"
YAML
start=$(date +%s%N)
(cd "$T" && LD_PRELOAD="$T/shim.so" TUNNEL_TEST_HOSTS="dual.test=::1,127.0.0.1" \
    TUNNEL_TEST_HANG="$T/hang" \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    exec ${TUNNEL_WRAP:-} "$CLIENT_BIN" -c "$T/client.yaml") >>"$T/client.log" 2>&1 &
CLIENT_PID=$!; PIDS="$PIDS $CLIENT_PID"
i=0
until grep -q "tunnel up" "$T/client.log"; do
	i=$((i + 1))
	[ $i -lt $((40 * SLOW)) ] || fail "not up within $((4 * SLOW)) s: the second address (127.0.0.1) was not tried"
	sleep 0.1
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
sleep 0.3
[ "$(curl -s "http://127.0.0.1:$SPORT/")" = "hello from local" ] || fail "no answer through the tunnel"
log "::1 blackholed, 127.0.0.1 works: up after $ms ms"

# 2. A resolver that hangs while a download runs.
N=$((64 * 1024 * 1024))
curl -s --max-time $((40 * SLOW)) --limit-rate 4M -o "$T/dl.body" \
    "http://127.0.0.1:$SPORT/bytes/$N" >"$T/curl.log" 2>&1 &
DL=$!; PIDS="$PIDS $DL"
sleep 1
touch "$T/hang" "$T/cut"
wait_for grep -q "cannot resolve dual.test: no answer within 3 s" "$T/client.log" ||
    fail "no 'cannot resolve ... no answer' line with a hanging resolver"
wait "$DL" || fail "the download stalled while the resolver hung (curl $?)"
[ "$(sha256sum <"$T/dl.body" | cut -d' ' -f1)" = "$(python3 "$HELP" sha "$N")" ] ||
    fail "download during a hanging lookup: wrong SHA-256"
log "a hanging resolver: the download completes, the lookup times out"
before=$(ups)
rm -f "$T/hang"
wait_for client_up "$before" || fail "client not back once the resolver answered"
sleep 0.5
[ -z "$(pgrep -P "$CLIENT_PID" || true)" ] || fail "helper processes left behind: $(pgrep -a -P "$CLIENT_PID")"
[ "$(curl -s "http://127.0.0.1:$SPORT/")" = "hello from local" ] || fail "no answer after the resolver recovered"
log "resolver back: client up again, no helper left"
