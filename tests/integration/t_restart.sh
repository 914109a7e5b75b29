#!/usr/bin/env bash
# Client killed and restarted; server stopped or killed, then restarted
# while the client waits: the client is back within its backoff (which it
# does wait: no reconnect spinning).
. "$(dirname "$0")/lib.sh"
standard_setup

# Client killed hard: visitors get the no-client answer at once.
kill -9 "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
wait_for sh -c "curl -s 'http://127.0.0.1:$SPORT/' | grep -q 'no tunnel client'" ||
    fail "server did not notice the killed client"
start_client "$SPORT" "$LPORT"
[ "$(curl -sf "http://127.0.0.1:$SPORT/")" = "hello from local" ] || fail "after client restart"

# Server restart: the client reconnects by itself, after a stop (SIGTERM:
# the server says goodbye) and after a crash (SIGKILL: the connection just
# closes).
tries() { grep -c "reconnecting in" "$T/client.log" || true; }
more_tries() { [ "$(tries)" -gt "$1" ]; }
for sig in TERM KILL; do
	t0=$(tries)
	kill -"$sig" "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
	wait_for more_tries "$t0" || fail "client did not notice the server going away (SIG$sig)"
	if [ $sig = TERM ]; then
		# The backoff is waited: 1 s, then 2 s, so at most 2 attempts
		# in 2 s (a backoff that does not wait would make hundreds).
		sleep 2
		n=$(( $(tries) - t0 ))
		[ $n -le 3 ] || fail "$n reconnect attempts within 2 s: the backoff is not waited"
	fi
	before=$(ups)
	start_server "$T/server.yaml"
	# Backoff is 1 s, 2 s, 4 s ... with jitter: back within ~10 s.
	wait_for client_up "$before" || fail "client did not reconnect (SIG$sig)"
	sleep 0.3
	[ "$(curl -sf "http://127.0.0.1:$SPORT/")" = "hello from local" ] || fail "after server restart (SIG$sig)"
done
grep -E "reconnecting in [0-9.]+ s" "$T/client.log" >/dev/null || fail "no backoff line"

log "client restart, server stop and crash + reconnect, backoff waited: ok"
