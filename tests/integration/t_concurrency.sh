#!/usr/bin/env bash
# 200 simultaneous visitors through a pool of 20; then 30 long-lived
# WebSockets held open while new visitors still get through.
. "$(dirname "$0")/lib.sh"
standard_setup

python3 "$HELP" concurrent "$SPORT" 200 || fail "200 concurrent visitors"

python3 "$HELP" hold "$SPORT" 30 6 >"$T/hold.log" 2>&1 &
HOLD=$!
PIDS="$PIDS $HOLD"
wait_for grep -q "holding 30" "$T/hold.log" || fail "could not open 30 websockets: $(cat "$T/hold.log")"
# The pool (20) is smaller than the held connections (30): new visitors
# must still be served because each taken connection is replaced at once.
for i in $(seq 1 20); do
	out=$(curl -sf --max-time 10 "http://127.0.0.1:$SPORT/") || fail "visitor $i while 30 held"
	[ "$out" = "hello from local" ] || fail "visitor $i: '$out'"
done
wait "$HOLD" || fail "held websockets broke: $(cat "$T/hold.log")"
# At most pool_size idle connections are kept on the server.
log "200 concurrent through pool 20; 20 visitors served while 30 websockets held: ok"
