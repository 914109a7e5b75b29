#!/usr/bin/env bash
# The Windows client under Wine, for what the shared suite does not cover
# (tests/run.sh runs this with CLIENT_BIN=wine_client.sh, after the suite's
# core): the config file mode, with the lines the client appends to it;
# a server name resolved by the resolver helper; no helper left behind;
# known_servers under %APPDATA%; no busy loop while idle or while a
# visitor's half-closed connection still downloads; refused dials seen
# with the WSAPoll of Windows before 10 version 2004.
. "$(dirname "$0")/lib.sh"
case "$CLIENT_BIN" in
*wine_client.sh) ;;
*) skip "runs the Windows client (tests/run.sh sets CLIENT_BIN)" ;;
esac

SPORT=$(free_port)
LPORT=$(free_port)
start_helper http http-server "$LPORT"
wait_for port_open "$LPORT" || fail "local service did not start"
write_server_config "$T/server.yaml" "$SPORT"
start_server "$T/server.yaml"
FP=$("$SERVER_BIN" -c "$T/server.yaml" --fingerprint) || fail "--fingerprint"

# 1. Config file mode: tunnel-client-config.yaml in the working directory,
# the server named "localhost" (the resolver helper runs getaddrinfo).
mkdir "$T/laptop"
cat >"$T/laptop/tunnel-client-config.yaml" <<YAML
server_addr: "localhost:$SPORT"
local_port: $LPORT
username: admin
password: "$PASSWORD"
transport: $TRANSPORT
YAML
(cd "$T/laptop" && exec "$CLIENT_BIN") >>"$T/client.log" 2>&1 &
CLIENT_PID=$!
PIDS="$PIDS $CLIENT_PID"
wait_for client_up 0 || fail "config file mode: the client did not come up"
sleep 0.3
visit_ok || fail "config file mode: GET through the tunnel"
grep -qx "server_fingerprint: \"$FP\"" "$T/laptop/tunnel-client-config.yaml" ||
    fail "the key was not appended to the config file: $(cat "$T/laptop/tunnel-client-config.yaml")"
grep -q "^login_setting: " "$T/laptop/tunnel-client-config.yaml" ||
    fail "login_setting not appended: $(cat "$T/laptop/tunnel-client-config.yaml")"
[ "$(grep -c $'\r' "$T/laptop/tunnel-client-config.yaml")" = 0 ] ||
    fail "the appended lines end in CRLF"
log "config file mode: up, key and login setting appended (LF)"

# The file holds the password, and the client wrote it anew (a temporary
# file renamed over it): its DACL must let the user and SYSTEM alone in,
# whatever the folder's would give (what mode 0600 is on Unix). Read back
# with GetNamedSecurityInfo by a program built here.
cat >"$T/sddl.c" <<'C'
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
int main(int argc, char **argv) {
	PSECURITY_DESCRIPTOR sd;
	PACL dacl;
	DWORD e;
	char *s;

	if (argc != 2)
		return 2;
	e = GetNamedSecurityInfoA(argv[1], SE_FILE_OBJECT,
	    DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd);
	if (e != ERROR_SUCCESS) {
		printf("GetNamedSecurityInfo: error %lu\n", (unsigned long)e);
		return 1;
	}
	if (!ConvertSecurityDescriptorToStringSecurityDescriptorA(sd,
	    SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &s, NULL)) {
		printf("ConvertSecurityDescriptorToString: error %lu\n",
		    (unsigned long)GetLastError());
		return 1;
	}
	printf("%s\n", s);
	return 0;
}
C
x86_64-w64-mingw32-gcc -o "$T/sddl.exe" "$T/sddl.c" -ladvapi32 ||
    fail "cannot build the DACL reader"
winpath="Z:$(printf '%s' "$T/laptop/tunnel-client-config.yaml" | tr / '\\')"
sddl=$(WINEDEBUG=-all "${WINE:-/usr/lib/wine/wine64}" "$T/sddl.exe" "$winpath" 2>"$T/sddl.err") ||
    fail "cannot read the config's DACL: $sddl $(cat "$T/sddl.err")"
sddl=$(printf '%s' "$sddl" | tr -d '\r')
aces=$(printf '%s' "$sddl" | grep -o '(A;' | wc -l)
case "$sddl" in
*";;;SY)"*) ;;
*) fail "config DACL without SYSTEM: $sddl" ;;
esac
[ "$aces" = 2 ] && ! printf '%s' "$sddl" | grep -qE ';;;(WD|BU|AU|BA)\)' ||
    fail "the config is not private to its user: $sddl"
log "config DACL: $sddl"

# 2. The helpers (crypt, resolve) are gone once the tunnel is up.
helpers=$(pgrep -fc -- '--helper' || true)
[ "$helpers" = 0 ] || fail "$helpers helper process(es) left: $(pgrep -fa -- --helper)"

# 3. Idle: the loop sleeps (WSAPoll with nothing to do costs nothing).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
t0=$(ticks "$CLIENT_PID"); sleep 3; t1=$(ticks "$CLIENT_PID")
[ $((t1 - t0)) -le 10 ] || fail "idle client used $((t1 - t0)) ticks in 3 s"
log "idle: $((t1 - t0)) ticks in 3 s"
kill -INT "$CLIENT_PID"
wait "$CLIENT_PID" 2>/dev/null || fail "Ctrl-C: exit status $?, want 0"

# 4. Flags mode, first contact: known_servers is written under %APPDATA%
# (wine_client.sh links its tunnel directory to the test's), and the log
# names the Windows path.
rm -rf "$XDG_CONFIG_HOME/tunnel"
start_client "$SPORT" "$LPORT"
grep -q "in C:.*AppData.Roaming/tunnel/known_servers" "$T/client.log" ||
    fail "known_servers not recorded under %APPDATA%: $(tail -n 3 "$T/client.log")"
grep -q "$FP" "$XDG_CONFIG_HOME/tunnel/known_servers" ||
    fail "known_servers lacks the key"

# 5. A visitor that half-closes at once, then reads 10 MB slowly (about
# 3 s): the server passes its FIN on, and from then on WSAPoll says
# POLLHUP for the client's end for as long as it lives. The client must
# neither end the download early nor spin on it (a spin is 100 ticks a
# second).
t0=$(ticks "$CLIENT_PID")
python3 - "$SPORT" <<'PY' || fail "slow download after the visitor's FIN"
import hashlib, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.sendall(b"GET /bytes/10000000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
    time.sleep(0.02)
head, _, body = data.partition(b"\r\n\r\n")
want = [l.split(b": ")[1].decode() for l in head.split(b"\r\n") if l.lower().startswith(b"x-sha256")]
assert len(body) == 10000000, len(body)
assert want and hashlib.sha256(body).hexdigest() == want[0], "sha256 differs"
PY
t1=$(ticks "$CLIENT_PID")
[ $((t1 - t0)) -le 150 ] || fail "the client used $((t1 - t0)) ticks for a 10 MB download read slowly after the visitor's FIN: a spin"
log "10 MB read slowly after the visitor's FIN: intact, client $((t1 - t0)) ticks"

# 6. Windows before 10 version 2004: WSAPoll did not report a connect that
# failed, and the client falls back on select()'s exception set. The client
# runs with TUNNEL_TEST_OLD_WSAPOLL=1, which makes WSAPoll act that way
# (sys_win.c) and which it says in its log. A refused dial to the server
# and one to the local service must each show as refused, not at the
# connect timeout (30 s) or never; and the tunnel still carries a
# download whole. Each part has a log of its own.
kill -INT "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
DEAD=$(free_port)
old_client() {
	(cd "$T" && TUNNEL_TEST_OLD_WSAPOLL=1 TUNNEL_PASSWORD="$PASSWORD" \
	    exec "$CLIENT_BIN" -s "127.0.0.1:$1" -u admin -p "$2" \
	    --transport "$TRANSPORT") >>"$3" 2>&1 &
	OLD_PID=$!
	PIDS="$PIDS $OLD_PID"
}
old_up() { grep -q "tunnel up" "$1"; }
old_stop() {
	kill -INT "$OLD_PID"; wait "$OLD_PID" 2>/dev/null || true
	grep -q "TUNNEL_TEST_OLD_WSAPOLL: WSAPoll made to act as before" "$1" ||
	    fail "old WSAPoll: the client did not say it acts the old way: $(head -n 3 "$1")"
}
old_client "$DEAD" "$DEAD" "$T/old1.log"
wait_for grep -q "cannot connect to 127.0.0.1:$DEAD: Connection refused" "$T/old1.log" ||
    fail "old WSAPoll: a refused dial to the server did not show: $(cat "$T/old1.log")"
old_stop "$T/old1.log"
log "old WSAPoll: a refused dial to the server shows as refused"

# The local service's port closed: the visitor's connection must end soon.
old_client "$SPORT" "$DEAD" "$T/old2.log"
wait_for old_up "$T/old2.log" || fail "old WSAPoll: the client did not come up"
sleep 0.3
t0=$(date +%s%N)
curl -s --max-time 20 -o /dev/null "http://127.0.0.1:$SPORT/" || true
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -le 5000 ] || fail "old WSAPoll: the visitor waited $ms ms for a refused local service"
grep -q "127.0.0.1:$DEAD.*refused\|refused.*127.0.0.1:$DEAD" "$T/old2.log" ||
    fail "old WSAPoll: the refused local service was not logged: $(tail -n 5 "$T/old2.log")"
old_stop "$T/old2.log"
log "old WSAPoll: a visitor to a refused local service ends after $ms ms"

# And the data path under it: a 20 MB download whole.
old_client "$SPORT" "$LPORT" "$T/old3.log"
wait_for old_up "$T/old3.log" || fail "old WSAPoll: the client did not come up again"
sleep 0.3
curl -sf --max-time 60 -D "$T/old.hdr" -o "$T/old.body" "http://127.0.0.1:$SPORT/bytes/20000000" ||
    fail "old WSAPoll: the download failed"
want=$(tr -d '\r' <"$T/old.hdr" | grep -i '^x-sha256: ' | cut -d' ' -f2)
[ -n "$want" ] && [ "$(sha256sum <"$T/old.body" | cut -d' ' -f1)" = "$want" ] ||
    fail "old WSAPoll: the download differs"
old_stop "$T/old3.log"
log "old WSAPoll: a 20 MB download through the tunnel is whole"
