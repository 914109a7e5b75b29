#!/usr/bin/env bash
# Public look-alikes on the main port (issue 4, "Bad input"): with a client
# online and a local echo service, a TLS ClientHello, an SSH banner, the
# HTTP/2 preface, PostgreSQL's 8-byte SSLRequest, a single zero byte, a
# HAProxy PROXY v1 line and v2 header, and our own magic gone wrong, each
# reach the echo service byte-identical (read back and compared). Peers
# whose first byte is not 0x8e get their first echo at once (best of three
# under 200 ms, so the 250 ms sniff window was not spent on them; each try
# under 1 s); a lone 0x8e byte, or the magic without its version, then
# silence, becomes a visitor after the sniff window (echo within 2 s).
. "$(dirname "$0")/lib.sh"
SPORT=$(free_port); EPORT=$(free_port)
start_helper echo echo-server "$EPORT"
wait_for port_open "$EPORT" || fail "local echo service"
write_server_config "$T/server.yaml" "$SPORT" 4
start_server "$T/server.yaml"
start_client "$SPORT" "$EPORT"
python3 "$TOP/tests/integration/badinput.py" lookalikes "$SPORT" "$SLOW" >"$T/lookalikes.log" 2>&1 || {
	cat "$T/lookalikes.log" >&2
	fail "public look-alikes on the main port"
}
sed 's/^/# /' "$T/lookalikes.log"
# A visitor whose whole message is a prefix of the magic, then FIN: its
# bytes and its FIN still reach the service (it once vanished silently).
python3 - "$SPORT" <<'PY' || fail "magic prefix + FIN was lost"
import socket, sys
for msg in (b"\x8e", b"\x8eT", b"\x8eTU", b"\x8eTUN"):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
    s.sendall(msg)
    s.shutdown(socket.SHUT_WR)
    s.settimeout(5)
    got = b""
    while True:
        d = s.recv(64)
        if not d:
            break
        got += d
    assert got == msg, (msg, got)
PY
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died"
kill -0 "$CLIENT_PID" 2>/dev/null || fail "the client died"
log "TLS, SSH, HTTP/2, PostgreSQL, NUL, PROXY v1/v2, 0x8e look-alikes: byte-identical, no sniff delay: ok"
