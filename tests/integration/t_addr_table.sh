#!/usr/bin/env bash
# Issue 12, point 2: 4,096 wrong logins must not lock everyone out. Played
# as the attacker: one failed login from each of 4,096 addresses
# (127.0.64.0-127.0.79.255, like a /52 of IPv6 counted by /64) fills the
# server's per-address table. Then the real client's pool must still be
# refilled (each visitor takes a proxy connection and its replacement
# registers), and a fresh login must come up at once: a full table
# forgets its least recently used address instead of answering "busy".
# The failures of a recent address are still remembered (slowdown).
. "$(dirname "$0")/lib.sh"
P="python3 $TOP/tests/integration/tunnelproto.py"
POOL=4 standard_setup
visit_ok || fail "visitor before the flood"

$P fail-many "$SPORT" 4096 64 >"$T/flood.log" 2>&1 || fail "flood: $(cat "$T/flood.log")"
log "$(cat "$T/flood.log")"

# Three pools' worth of visitors, one after the other: every one of them
# needs the client's replacement REGISTER to have been accepted.
for i in $(seq 1 12); do
	visit_ok || fail "visitor $i after 4,096 failed logins: the pool was not refilled ($(grep -c 'too many' "$T/server.log" || true) 'too many' refusals in the server log)"
done
log "12 visitors through a pool of 4 after the flood: served"

# A fresh login of the real client (127.0.0.1) comes up at once.
fresh_login "after 4,096 failed logins"
log "fresh login after the flood: up in $MS ms, visitors served"

# One of the last attacker addresses (the flood works down from
# 127.0.79.255) is remembered: its next failure is
# slowed down (250 ms), unlike a first one.
python3 -c '
import sys, time
sys.path.insert(0, sys.argv[2])
import tunnelproto as tp
port = sys.argv[1]
t0 = time.monotonic()
r = tp.answer_name(tp.failed_login(port, "127.0.64.0"))
took = time.monotonic() - t0
assert r == "FAIL 1", r
assert took >= 0.24, "second failure from a recent address answered after %.3f s" % took
print("second failure from a recent address answered after %.2f s" % took)
' "$SPORT" "$TOP/tests/integration" >"$T/slow.log" 2>&1 || fail "$(cat "$T/slow.log")"
log "$(cat "$T/slow.log")"
