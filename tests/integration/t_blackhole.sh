#!/usr/bin/env bash
# Idle pooled connections that die silently (a NAT entry expiring, a laptop
# on a new network): a relay between client and server stops forwarding
# every pooled connection while keeping its sockets open. A visitor then
# sent into that hole must be served on a fresh connection, with every
# byte of its request, within a few seconds; never left hanging. Small and
# large uploads (the latter beyond the one-pipe copy, so the visitor is
# held) in splice mode and in --no-splice mode. A live client whose local
# dial is merely slow must not be mistaken for a dead one (ACCEPTED), and
# a dial that completes late still serves its visitor.
. "$(dirname "$0")/lib.sh"
TP="$TOP/tests/integration/tunnelproto.py"
LPORT=$(free_port)
start_helper http http-server "$LPORT"
wait_for port_open "$LPORT" || fail "local service"
head -c 40000 /dev/urandom >"$T/small"
head -c 2000000 /dev/urandom >"$T/large"

# post PORT FILE: POSTs FILE to /sha256, prints "<sha> <seconds>".
post() {
	curl -s --max-time 20 -w ' %{time_total}' --data-binary @"$2" \
	    -H 'Content-Type: application/octet-stream' -H 'Expect:' \
	    "http://127.0.0.1:$1/sha256" | tr -d '\n'
}

check_post() {	# check_post PORT FILE LABEL
	want=$(sha256sum "$2" | cut -d' ' -f1)
	out=$(post "$1" "$2") || true
	got=${out% *}; secs=${out##* }
	[ "$got" = "$want" ] || fail "$3: got '$out', want $want"
	python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 6 else 1)" "$secs" ||
	    fail "$3: served after $secs s"
	log "$3: exact, in $secs s"
}

for mode in splice no-splice; do
	S=$(free_port); R=$(free_port)
	flag="$T/freeze-$mode"
	args=""; [ $mode = no-splice ] && args="--no-splice"
	write_server_config "$T/s-$mode.yaml" "$S" 4
	(cd "$T" && exec ${TUNNEL_WRAP:-} "$SERVER_BIN" -c "$T/s-$mode.yaml" $args) >>"$T/server-$mode.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for port_open "$S" || fail "server ($mode)"
	python3 "$TP" freeze-relay "$R" "$S" "$flag" pool >>"$T/relay-$mode.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for port_open "$R" || fail "relay ($mode)"
	(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec ${TUNNEL_WRAP:-} "$CLIENT_BIN" -s "127.0.0.1:$R" -u admin -p "$LPORT" $args) >>"$T/client-$mode.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for grep -q "tunnel up" "$T/client-$mode.log" || fail "client ($mode)"
	sleep 0.5
	[ "$(curl -sf --max-time 5 "http://127.0.0.1:$S/")" = "hello from local" ] || fail "healthy tunnel ($mode)"

	# The whole idle pool goes silent; a 40 kB upload arrives.
	touch "$flag"; sleep 0.3
	check_post "$S" "$T/small" "$mode: 40 kB upload into a dead pool"
	grep -q "silent after START.*dispatching it again" "$T/server-$mode.log" || fail "no re-dispatch logged ($mode)"
	grep -q "asking the client for new ones" "$T/server-$mode.log" || fail "no pool refresh logged ($mode)"
	grep -q "dialing a new pool" "$T/client-$mode.log" || fail "client did not redial ($mode)"
	# The fresh pool serves the next visitor at once.
	out=$(curl -s --max-time 5 -w ' %{time_total}' "http://127.0.0.1:$S/" | tr -d '\n')
	[ "${out% *}" = "hello from local" ] || fail "after refresh ($mode): $out"
	python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1 else 1)" "${out##* }" ||
	    fail "fresh pool slow ($mode): ${out##* } s"

	# Again, with an upload bigger than the copy a bridge keeps.
	sleep 1.2	# past the one-refresh-per-second guard
	touch "$flag"; sleep 0.3
	check_post "$S" "$T/large" "$mode: 2 MB upload into a dead pool"
	[ "$(grep -c 'dispatching it again' "$T/server-$mode.log")" -ge 2 ] || fail "second re-dispatch not logged ($mode)"
	# Many visitors at once into a dead pool: every one served.
	sleep 1.2
	touch "$flag"; sleep 0.3
	posts=""
	for i in 1 2 3 4 5 6; do
		post "$S" "$T/small" >"$T/many-$mode-$i" &
		posts="$posts $!"
	done
	for p in $posts; do wait "$p" || true; done
	want=$(sha256sum "$T/small" | cut -d' ' -f1)
	for i in 1 2 3 4 5 6; do
		grep -q "^$want " "$T/many-$mode-$i" || fail "visitor $i of 6 into a dead pool ($mode): $(cat "$T/many-$mode-$i")"
	done
	log "$mode: 6 simultaneous visitors into a dead pool: all exact"
done

# A slow local dial: the local service's accept queue is full, so the
# client's connect hangs. The client says ACCEPTED, so the server waits
# for its verdict (a 502 after the client's connect_timeout) instead of
# declaring a live pool dead.
S=$(free_port); SLOWP=$(free_port)
python3 - "$SLOWP" >"$T/slowsvc.log" 2>&1 <<'PY' &
import socket, sys, time
ls = socket.socket()
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(0)
fill = []
for _ in range(3):		# fill the accept queue; never accept
    s = socket.socket(); s.setblocking(False)
    try:
        s.connect(("127.0.0.1", int(sys.argv[1])))
    except BlockingIOError:
        pass
    fill.append(s)
print("ready", flush=True)
time.sleep(120)
PY
PIDS="$PIDS $!"
wait_for grep -q ready "$T/slowsvc.log" || fail "slow service"
CONNECT_TIMEOUT=3 write_server_config "$T/s-slow.yaml" "$S" 2
(cd "$T" && exec ${TUNNEL_WRAP:-} "$SERVER_BIN" -c "$T/s-slow.yaml") >>"$T/server-slow.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$S" || fail "server (slow dial)"
cat >"$T/c-slow.yaml" <<YAML
server_addr: 127.0.0.1:$S
username: admin
password: "$PASSWORD"
local_port: $SLOWP
connect_timeout: 3
YAML
chmod 600 "$T/c-slow.yaml"
(cd "$T" && exec ${TUNNEL_WRAP:-} "$CLIENT_BIN" -c "$T/c-slow.yaml") >>"$T/client-slow.log" 2>&1 &
PIDS="$PIDS $!"
wait_for grep -q "tunnel up" "$T/client-slow.log" || fail "client (slow dial)"
sleep 0.5
out=$(curl -s --max-time 15 -w ' %{http_code} %{time_total}' "http://127.0.0.1:$S/" | tr -d '\n')
echo "$out" | grep -q "timed out" || fail "slow dial: want the client's timeout as a 502, got: $out"
echo "$out" | grep -q " 502 " || fail "slow dial: not a 502: $out"
if grep -q "silent after START" "$T/server-slow.log"; then
	fail "a live client with a slow local dial was taken for a dead pool"
fi
grep -q "ACCEPTED\|dispatching it again" "$T/server-slow.log" && fail "slow dial re-dispatched"
log "slow local dial: ACCEPTED kept the pool, 502 after the client's timeout (${out##* } s)"

# A late local dial: the service's accept queue is full when the visitor
# arrives, so the client's connect is still in progress (its SYN was
# dropped) and the client waits for EPOLLOUT; the queue then drains and
# the SYN's retransmission gets through. The visitor must be served, as
# any visitor to a service that is not on this host would be (a service
# on loopback normally answers inside connect()).
S=$(free_port); LATEP=$(free_port)
python3 - "$LATEP" >"$T/latesvc.log" 2>&1 <<'PY' &
import socket, sys, threading, time
port = int(sys.argv[1])
ls = socket.socket()
ls.bind(("127.0.0.1", port))
ls.listen(0)
fill = []
for _ in range(3):		# fill the accept queue
    s = socket.socket(); s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    fill.append(s)
mine = {s.getsockname()[1] for s in fill}
print("ready", flush=True)

def syn_sent_from_others():
    # /proc/net/tcp: local and remote address as hex IP:PORT, state 02 is
    # SYN_SENT; a dial towards us that is not one of our own fillers.
    with open("/proc/net/tcp") as f:
        for ln in f.readlines()[1:]:
            x = ln.split()
            lport = int(x[1].split(":")[1], 16)
            rport = int(x[2].split(":")[1], 16)
            if x[3] == "02" and rport == port and lport not in mine:
                return True
    return False

deadline = time.time() + 20
while not syn_sent_from_others():
    if time.time() > deadline:
        print("no dial seen", flush=True); sys.exit(1)
    time.sleep(0.02)
print("dial pending", flush=True)
for s in fill:
    s.close()

def serve(c):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = c.recv(4096)
        if not d:
            c.close(); return
        buf += d
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 8\r\n\r\nlate-ok\n")
    c.close()

while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
PIDS="$PIDS $!"
wait_for grep -q ready "$T/latesvc.log" || fail "late service"
write_server_config "$T/s-late.yaml" "$S" 2
(cd "$T" && exec ${TUNNEL_WRAP:-} "$SERVER_BIN" -c "$T/s-late.yaml") >>"$T/server-late.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$S" || fail "server (late dial)"
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec ${TUNNEL_WRAP:-} "$CLIENT_BIN" -s "127.0.0.1:$S" -u admin -p "$LATEP") >>"$T/client-late.log" 2>&1 &
PIDS="$PIDS $!"
wait_for grep -q "tunnel up" "$T/client-late.log" || fail "client (late dial)"
sleep 0.5
out=$(curl -s --max-time 15 -w ' %{http_code} %{time_total}' "http://127.0.0.1:$S/" | tr -d '\n')
grep -q "dial pending" "$T/latesvc.log" || fail "late dial: the client's connect was never seen in progress: $(cat "$T/latesvc.log")"
echo "$out" | grep -q "^late-ok 200 " || fail "late dial: want the service's answer once its queue drained, got: $out"
log "late local dial: served once the accept queue drained (${out##* } s)"
