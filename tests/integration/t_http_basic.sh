#!/usr/bin/env bash
# curl GET and POST through the tunnel; 502 with a reason when the local
# service is down and when no client is online; one close line per visitor.
. "$(dirname "$0")/lib.sh"

SPORT=$(free_port)
LPORT=$(free_port)
write_server_config "$T/server.yaml" "$SPORT"
start_server "$T/server.yaml"

# No client yet: HTTP visitors get a 502 that says why.
out=$(curl -s -w '\n%{http_code}' "http://127.0.0.1:$SPORT/")
echo "$out" | tail -n 1 | grep -qx 502 || fail "no-client: want 502, got: $out"
echo "$out" | grep -q "no tunnel client is online" || fail "no-client reason missing: $out"

start_helper http http-server "$LPORT"
wait_for port_open "$LPORT" || fail "local http service did not start"
start_client "$SPORT" "$LPORT"

out=$(curl -sf "http://127.0.0.1:$SPORT/")
[ "$out" = "hello from local" ] || fail "GET: got '$out'"
out=$(curl -sf -X POST --data-binary 'a body to hash' "http://127.0.0.1:$SPORT/sha256")
want=$(printf 'a body to hash' | sha256sum | cut -d' ' -f1)
[ "$out" = "$want" ] || fail "POST: got '$out' want '$want'"
# IPv6 loopback reaches the same port.
if python3 -c 'import socket; socket.create_connection(("::1", '"$SPORT"'), 1)' 2>/dev/null; then
	out=$(curl -sf "http://[::1]:$SPORT/")
	[ "$out" = "hello from local" ] || fail "GET over IPv6: '$out'"
fi

# Local service down: 502 naming the local service and the error.
kill "$http_PID"; wait "$http_PID" 2>/dev/null || true
wait_for sh -c "! python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $LPORT), 1)'"
out=$(curl -s -w '\n%{http_code}' "http://127.0.0.1:$SPORT/")
echo "$out" | tail -n 1 | grep -qx 502 || fail "local down: want 502, got: $out"
echo "$out" | grep -q "refused" || fail "local down: reason missing: $out"
# An upload to a service that is down still gets the 502, not a reset.
head -c $((30 * 1024 * 1024)) /dev/zero >"$T/big"
for i in 1 2 3; do
	out=$(curl -s -w '\n%{http_code}' -X POST --data-binary @"$T/big" "http://127.0.0.1:$SPORT/sha256")
	echo "$out" | tail -n 1 | grep -qx 502 || fail "30 MB upload to a down service: want 502, got: $(echo "$out" | tail -c 200)"
done
# A client that sends its whole request before reading (curl reads early)
# must get the 502 too: the server reads and drops the rest, so its close
# is no reset that would cut the upload short or eat the answer.
PYTHONPATH="$TOP/tests/integration" python3 - "$SPORT" <<'PY' || fail "30 MB upload sent whole before reading: want 502, not a reset"
import socket, sys
from helpers import recv_until_eof
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.settimeout(10)
body = b"\0" * (30 * 1024 * 1024)
s.sendall(b"POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
data = recv_until_eof(s)
assert data.startswith(b"HTTP/1.1 502") and b"refused" in data, data[:200]
PY

# Close lines: id, peer, user, bytes each way, duration, reason.
grep -E "visitor [0-9]+ 127\.0\.0\.1:[0-9]+ user 'admin': closed after [0-9.]+ s, [0-9]+ bytes in, [0-9]+ bytes out" \
    "$T/server.log" >/dev/null || fail "no close line in the server log"
grep -q "spliced total [0-9]" "$T/server.log" || fail "spliced counter not reported"
log "GET, POST, IPv6, 502 without client and with local service down: ok"
