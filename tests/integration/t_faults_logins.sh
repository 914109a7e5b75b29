#!/usr/bin/env bash
# Fault: 10 clients log in as the same user at once. Each login replaces
# the session before it, and a replaced client exits instead of logging in
# again: after 3 s exactly one of the 10 is alive, not two or more taking
# the session from each other for ever.
. "$(dirname "$0")/lib.sh"
LPORT=$(free_port)
start_xfer_service "$LPORT"
SPORT=$(free_port)
write_server_config "$T/server.yaml" "$SPORT" 5
start_server "$T/server.yaml"
mine=""
for i in $(seq 1 10); do
	(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec ${TUNNEL_WRAP:-} "$CLIENT_BIN" \
	    -s "127.0.0.1:$SPORT" -u admin -p "$LPORT") >>"$T/client.log" 2>&1 &
	PIDS="$PIDS $!"; mine="$mine $!"
done
sleep $((3 * SLOW))
alive=0; for p in $mine; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
[ $alive -eq 1 ] || fail "$alive clients alive after 10 simultaneous logins, want 1"
out=$(python3 "$TOP/tests/integration/xfer.py" client "$SPORT" both 100000 2>&1) ||
	fail "the one client left does not carry visitors: $out"
log "10 simultaneous logins of one user: 1 client left, and it works: ok"
