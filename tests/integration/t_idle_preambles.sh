#!/usr/bin/env bash
# Issue 12, point 3, played as the attacker.
# 1. 1,024 connections from 16 addresses (127.0.1.1-16) send the preamble
#    and nothing more, and each one the server closes is opened again.
#    While that goes on, visitors keep coming (the client's replacement
#    REGISTERs must get in), a fresh login comes up at once, and the
#    server drops each idle preamble within a few seconds, not the 10 s
#    a login step may take.
# 2. 1,024 failed logins from 16 other addresses whose peers hang up
#    during their growing slowdown delay: their places are free at once
#    (a fresh login right after is not "busy"), but leaving early does
#    not dodge the slowdown: the next login from such an address is
#    refused until the delay it left would have run out.
. "$(dirname "$0")/lib.sh"
P="python3 $TOP/tests/integration/tunnelproto.py"
POOL=4 standard_setup
visit_ok || fail "visitor before the flood"

SECS=$((14 * SLOW))
$P idle-preambles "$SPORT" 16 64 "$SECS" >"$T/idle.log" 2>&1 &
IDLE=$!; PIDS="$PIDS $IDLE"
wait_for grep -q '^ready' "$T/idle.log" || fail "idle preambles: $(cat "$T/idle.log")"
sleep 1
bad=0
for i in $(seq 1 16); do visit_ok || bad=$((bad + 1)); done
[ $bad -eq 0 ] || fail "$bad of 16 visitors failed during 1,024 idle preambles"
log "16 visitors through a pool of 4 during 1,024 idle preambles: served"
fresh_login "during 1,024 idle preambles"
log "fresh login during 1,024 idle preambles: up in $MS ms, visitors served"
wait "$IDLE" || fail "idle preambles: $(cat "$T/idle.log")"
log "$(tail -n 1 "$T/idle.log")"
# Each was dropped after the 250 ms sniff window plus the 3 s first-frame
# deadline (or sooner, pushed out of a full queue), never 10 s.
max=$(sed -n 's/.*after [0-9.]*\.\.\([0-9.]*\) s.*/\1/p' "$T/idle.log")
[ -n "$max" ] && awk -v m="$max" -v s="$SLOW" 'BEGIN { exit !(m > 0 && m < 4.5 * s) }' ||
	fail "idle preambles lived up to ${max:-?} s: $(tail -n 1 "$T/idle.log")"

# 2. Failed logins abandoned during their delay: their sockets are closed
# at once (before, each stayed for its delay, up to 16 s), and the next
# login is not refused.
sleep 0.5
BASE=$(sock_count "$SERVER_PID")
$P abandon-logins "$SPORT" 16 64 >"$T/abandon.log" 2>&1 || fail "abandoned logins: $(cat "$T/abandon.log")"
freed() { [ "$(sock_count "$SERVER_PID")" -le $((BASE + 4)) ]; }
i=0
until freed; do
	i=$((i + 1))
	[ $i -le $((10 * SLOW)) ] ||
	    fail "1,024 abandoned failed logins: the server still holds $(( $(sock_count "$SERVER_PID") - BASE )) of their sockets after $SLOW s"
	sleep 0.1
done
t0=$(date +%s%N)
$P login "$SPORT" admin "$PASSWORD" >"$T/login.log" 2>&1 || fail "a login right after 1,024 abandoned failed logins: $(cat "$T/login.log")"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
log "$(head -n 1 "$T/abandon.log"); a login right after: in $ms ms"
log "$(tail -n 1 "$T/abandon.log")"
grep -q "peer left before its delayed answer" "$T/server.log" || fail "the server did not see the peers leave"
