#!/usr/bin/env bash
# A proxy connection reset by the client before it read START (the client
# closed it unread: a REFRESH or a WITHDRAW got there first) while the
# visitor is still uploading. Whichever the server notices first, the
# reset on the proxy's own event or a write of the upload that finds it,
# the client is asked, says it never took the visitor, and the visitor is
# served on another connection with every byte: its 600 kB come back
# exact, never a reset. A fake client (tunnelproto.py serve rst-once)
# resets the first proxy that gets START and echoes on the others; five
# rounds, since the two orders depend on the event batch.
. "$(dirname "$0")/lib.sh"
TP="$TOP/tests/integration/tunnelproto.py"
SPORT=$(free_port)
write_server_config "$T/server.yaml" "$SPORT" 4
start_server "$T/server.yaml"
head -c 600000 /dev/urandom >"$T/body"
want=$(sha256sum "$T/body" | cut -d' ' -f1)

for round in 1 2 3 4 5; do
	: >"$T/fake.log"
	python3 "$TP" serve "$SPORT" admin "$PASSWORD" rst-once 4 >>"$T/fake.log" 2>&1 &
	FPID=$!; PIDS="$PIDS $FPID"
	wait_for grep -q "logged in" "$T/fake.log" || fail "round $round: fake client"
	sleep 0.3
	got=$(python3 - "$SPORT" "$T/body" <<'PY'
import hashlib, socket, sys, threading
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
body = open(sys.argv[2], "rb").read()
def up():
    for i in range(0, len(body), 4096):
        s.sendall(body[i:i + 4096])
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
got = bytearray()
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
except OSError as e:
    print("error", e, len(got))
    sys.exit(0)
print(hashlib.sha256(got).hexdigest(), len(got))
PY
)
	[ "${got% *}" = "$want" ] || fail "round $round: the visitor got '$got', not its 600000 bytes back"
	grep -q "reset proxy" "$T/fake.log" || fail "round $round: no proxy was reset"
	grep -q "WITHDRAW .* taken 0" "$T/fake.log" || fail "round $round: the server did not ask"
	kill "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null || true
done
log "5 rounds: a proxy reset before START was read; the upload went elsewhere, exact"
