#!/usr/bin/env bash
# SIGHUP makes a client started with a config file read it again: a new
# local_port (or local_host) takes the next visitors while a bridged one
# stays where it was; keys a running session depends on (server_addr,
# username, password, transport) are reported as waiting for a restart;
# a file with an error changes nothing; in flags mode SIGHUP says there is
# nothing to reload. The client runs on, logged in once.
. "$(dirname "$0")/lib.sh"
SPORT=$(free_port)
L1=$(free_port)
L2=$(free_port)
start_helper http http-server "$L1"
start_helper banner banner-server "$L2"
wait_for port_open "$L1" || fail "http service"
wait_for port_open "$L2" || fail "banner service"
write_server_config "$T/server.yaml" "$SPORT" 4
start_server "$T/server.yaml"
cconf() {
	cat >"$T/client.yaml" <<YAML
server_addr: "127.0.0.1:$SPORT"
username: ${CUSER:-admin}
password: "$PASSWORD"
local_port: $1
transport: $TRANSPORT

YAML
}
cconf "$L1"
(cd "$T" && exec "$CLIENT_BIN" -c "$T/client.yaml") >>"$T/client.log" 2>&1 &
CLIENT_PID=$!
PIDS="$PIDS $CLIENT_PID"
wait_for grep -q "tunnel up" "$T/client.log" || fail "client did not come up"
[ "$(curl -s --max-time 5 "http://127.0.0.1:$SPORT/")" = "hello from local" ] || fail "first service"

# A WebSocket held open across the reload stays on the first service.
python3 "$HELP" hold "$SPORT" 1 4 >"$T/hold.out" 2>&1 &
HOLD=$!
sleep 1
CUSER=someone-else cconf "$L2"
kill -HUP "$CLIENT_PID"
wait_for grep -q "reload: done" "$T/client.log" || fail "no 'reload: done': $(tail -n 3 "$T/client.log")"
grep -q "reload: username changed; it takes effect when tunnel-client restarts" "$T/client.log" ||
    fail "username change not reported"
grep -q "reload: new visitors go to 127.0.0.1:$L2" "$T/client.log" || fail "local_port change not reported"
[ "$(python3 "$HELP" banner-client "$SPORT")" = "banner ok" ] || fail "the next visitor did not reach the new local_port"
wait "$HOLD" || fail "the WebSocket bridged before the reload broke: $(cat "$T/hold.out")"
log "local_port $L1 -> $L2 live; a WebSocket bridged before it held on; username change reported"

# An error changes nothing.
printf 'local_prot: %s\n' "$L1" >>"$T/client.yaml"
kill -HUP "$CLIENT_PID"
wait_for grep -q "reload: $T/client.yaml:[0-9]*:1: unknown key 'local_prot'.*the running configuration stays" "$T/client.log" ||
    fail "bad file not reported: $(tail -n 2 "$T/client.log")"
[ "$(python3 "$HELP" banner-client "$SPORT")" = "banner ok" ] || fail "the bad file changed the local service"
[ "$(grep -c 'tunnel up' "$T/client.log")" = 1 ] || fail "the client logged in again"
kill -0 "$CLIENT_PID" || fail "client died"
log "a file with an error: reported file:line:col, nothing changed"

# Flags mode: nothing to reload, and it says so.
kill "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
start_client "$SPORT" "$L1"
kill -HUP "$CLIENT_PID"
wait_for grep -q "no configuration file (flags mode): nothing to reload" "$T/client.log" || fail "flags mode SIGHUP"
visit_ok() { [ "$(curl -sf --max-time 3 "http://127.0.0.1:$SPORT/")" = "hello from local" ]; }
visit_ok || fail "flags-mode client after SIGHUP"
log "flags mode: SIGHUP says there is no file to reload"
