#!/usr/bin/env bash
# SIGHUP neither stops nor disturbs the server: it only reopens the log
# file (there is no reload; without log.enable there is no file) and the
# running tunnel keeps serving. Failed logins
# from one address are answered later and later (0, 0.25, 0.5, 1, 2 s),
# never sooner, while the right password still logs in at once.
. "$(dirname "$0")/lib.sh"
standard_setup

kill -HUP "$SERVER_PID"
sleep 0.5
kill -0 "$SERVER_PID" 2>/dev/null || fail "SIGHUP stopped the server"
grep -q "SIGHUP: no log file to reopen" "$T/server.log" || fail "SIGHUP not logged"
[ "$(curl -sf --max-time 5 "http://127.0.0.1:$SPORT/")" = "hello from local" ] || fail "tunnel not serving after SIGHUP"
log "SIGHUP: logged, tunnel still serving"

# Last, as its final good login takes the session over from the client.
python3 "$TOP/tests/integration/tunnelproto.py" slowdown "$SPORT" admin "$PASSWORD" 5 >"$T/slow.log" 2>&1 ||
	fail "$(cat "$T/slow.log")"
log "failures answered after: $(sed -n 's/.*answered after \([0-9.]*\) s.*/\1/p' "$T/slow.log" | tr '\n' ' ')s; $(tail -n 1 "$T/slow.log")"
