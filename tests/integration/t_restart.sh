#!/usr/bin/env bash
# Client killed and restarted; server restarted while the client waits:
# the client is back within its backoff and an open transfer is undisturbed
# by the control connection going away.
. "$(dirname "$0")/lib.sh"
standard_setup

# Client killed hard: visitors get the no-client answer at once.
kill -9 "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
wait_for sh -c "curl -s 'http://127.0.0.1:$SPORT/' | grep -q 'no tunnel client'" ||
    fail "server did not notice the killed client"
start_client "$SPORT" "$LPORT"
[ "$(curl -sf "http://127.0.0.1:$SPORT/")" = "hello from local" ] || fail "after client restart"

# Server restart: the client reconnects by itself.
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
wait_for grep -q "reconnecting in" "$T/client.log" || fail "client did not notice the server going away"
before=$(ups)
start_server "$T/server.yaml"
# Backoff is 1 s, 2 s, 4 s ... with jitter: back within ~10 s.
wait_for client_up "$before" || fail "client did not reconnect"
sleep 0.3
[ "$(curl -sf "http://127.0.0.1:$SPORT/")" = "hello from local" ] || fail "after server restart"
grep -E "reconnecting in [0-9.]+ s" "$T/client.log" >/dev/null || fail "no backoff line"

log "client restart, server restart + reconnect: ok"
