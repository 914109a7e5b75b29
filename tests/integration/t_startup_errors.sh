#!/usr/bin/env bash
# A start-up that cannot go on is logged at ERROR (not WARN) and exits 1:
# the main port taken, or a user's own port taken.
. "$(dirname "$0")/lib.sh"
SPORT=$(free_port)
python3 -c '
import socket, sys, time
ss = []
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", int(p))); s.listen(1); ss.append(s)
time.sleep(60)
' "$SPORT" >"$T/holder.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$SPORT" || fail "port holder"
# start_fails CONFIG OUT: runs the server on CONFIG into OUT; sets rc.
start_fails() {
	set +e
	(cd "$T" && "$SERVER_BIN" -c "$1") >"$2" 2>&1
	rc=$?
	set -e
}
write_server_config "$T/server.yaml" "$SPORT"
start_fails "$T/server.yaml" "$T/start.out"
[ $rc = 1 ] || fail "exit $rc with the main port taken"
grep -q "ERROR .*cannot listen on port $SPORT: Address already in use" "$T/start.out" ||
    fail "main port taken: $(cat "$T/start.out")"
log "main port taken: ERROR line, exit 1"

P2=$(free_port)
write_server_config "$T/server2.yaml" "$P2"
sed -i "s/^    password: .*/&\n    port: $SPORT/" "$T/server2.yaml"
start_fails "$T/server2.yaml" "$T/start2.out"
[ $rc = 1 ] || fail "exit $rc with a user's port taken"
grep -q "ERROR .*cannot listen on port $SPORT (user 'admin'): Address already in use" "$T/start2.out" ||
    fail "user's port taken: $(cat "$T/start2.out")"
log "a user's port taken: ERROR line naming the user, exit 1"
