#!/usr/bin/env bash
# A flood of new connections cannot push the pool's refills out while
# their TLS handshakes are in flight (issue 12, review of the first-frame
# queue). The client is on a slow link (a relay holding every pool byte
# 0.5 s each way), so each refill waits a second or more for its first
# frame; meanwhile 1,040 connections from 16 other addresses send the
# preamble and nothing more, each one reopened as soon as the server drops
# it. The queue they share holds 1,024: before, every new one pushed out
# the oldest, the refills with them, and visitors found no proxy. Refills
# from the address of the live session now queue apart: every visitor is
# served, and only the flood's connections are dropped.
. "$(dirname "$0")/lib.sh"
TP="$TOP/tests/integration/tunnelproto.py"
[ "$TRANSPORT" = tls ] || skip "the TLS handshake is what stays in the queue"
SPORT=$(free_port); LPORT=$(free_port); R=$(free_port)
start_helper http http-server "$LPORT"
wait_for port_open "$LPORT" || fail "local http service"
write_server_config "$T/server.yaml" "$SPORT" 4
start_server "$T/server.yaml"
python3 "$TP" delay-relay "$R" "$SPORT" 0.5 >>"$T/relay.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$R" || fail "relay"
start_client "$R" "$LPORT"
sleep 2		# the pool's REGISTERs take a second through the relay
visit_ok 8 || fail "visitor before the flood"

python3 "$TP" idle-preambles "$SPORT" 16 65 $((40 * SLOW)) >"$T/flood.log" 2>&1 &
FLOOD=$!; PIDS="$PIDS $FLOOD"
wait_for grep -q '^ready' "$T/flood.log" || fail "flood: $(cat "$T/flood.log")"
# Each visitor uses up a pool connection: 10 of them through a pool of 4
# need 6 refills or more, each one a second in the queue.
bad=0
for i in $(seq 1 10); do visit_ok 8 || bad=$((bad + 1)); done
dropped=$(grep -c "dropped: too many connections waiting" "$T/server.log" || true)
[ "$dropped" -gt 1040 ] || fail "the flood never filled the queue ($dropped dropped)"
[ $bad -eq 0 ] || fail "$bad of 10 visitors failed while 1,040 connections churned through the first-frame queue"
grep "dropped: too many connections waiting" "$T/server.log" | grep -q "127\.0\.0\.1" &&
    fail "a refill from the client's address was dropped: $(grep "dropped: too many" "$T/server.log" | grep "127\.0\.0\.1" | head -n 2)"
kill "$FLOOD" 2>/dev/null; wait "$FLOOD" 2>/dev/null || true
log "10 visitors served through a pool of 4 on a slow link while $dropped flood connections were pushed out of the first-frame queue"
