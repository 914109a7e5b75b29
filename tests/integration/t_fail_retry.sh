#!/usr/bin/env bash
# Issue 12, point 6: a FAIL from a server that has not proven itself (no
# WELCOME with a signature checked yet) must not stop the client for
# good: anyone who can answer on server_addr, or inject into the TCP
# stream, could send it. Played as the attacker: a fake server that
# answers every login with FAIL "credentials" (after the PROOF, like a
# real refusal) or FAIL "version" (after HELLO). The client keeps
# retrying with its backoff, and says what happened once, not at every
# retry. The same holds against the real server with a wrong password,
# where the message is what the user needs to fix it.
. "$(dirname "$0")/lib.sh"
P="python3 $TOP/tests/integration/tunnelproto.py"
LPORT=$(free_port)

# retried LOG NAME MESSAGE: the client was still running after 6 s, made
# at least 3 attempts, and logged MESSAGE exactly once.
retried() {
	log=$1; name=$2; msg=$3
	[ "$(grep -c "reconnecting" "$log")" -ge 2 ] || fail "$name: the client did not retry: $(cat "$log")"
	[ "$(grep -c -- "$msg" "$log")" -eq 1 ] || fail "$name: '$msg' not logged exactly once: $(cat "$log")"
}

for mode in fail-credentials fail-version; do
	FP=$(free_port)
	$P fake-server "$FP" "$mode" >"$T/fake-$mode.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for port_open "$FP" || fail "fake server $mode"
	set +e
	(cd "$T" && TUNNEL_PASSWORD=x exec timeout $((6 * SLOW)) "$CLIENT_BIN" \
	    -s "127.0.0.1:$FP" -u admin -p "$LPORT" </dev/null) >"$T/client-$mode.log" 2>&1
	rc=$?
	set -e
	[ $rc -eq 124 ] || fail "$mode: the client stopped for good (exit $rc) on an unproven FAIL: $(cat "$T/client-$mode.log")"
	n=$(grep -c connection "$T/fake-$mode.log" || true)
	[ "$n" -ge 3 ] || fail "$mode: $n logins in 6 s, want 3 or more (1 s, 2 s backoff)"
	case $mode in
	fail-credentials) retried "$T/client-$mode.log" $mode "wrong username or password for user 'admin'" ;;
	fail-version) retried "$T/client-$mode.log" $mode "speaks another protocol version: this server speaks 7" ;;
	esac
	log "$mode from an unproven server: $n logins in 6 s, still retrying, said once"
done

# The real server, a wrong password (8 s: the server slows its answers
# down too): the same, and the message says it.
SPORT=$(free_port)
write_server_config "$T/server.yaml" "$SPORT"
start_server "$T/server.yaml"
set +e
(cd "$T" && TUNNEL_PASSWORD=wrong exec timeout $((8 * SLOW)) "$CLIENT_BIN" \
    -s "127.0.0.1:$SPORT" -u admin -p "$LPORT" </dev/null) >"$T/wrong.log" 2>&1
rc=$?
set -e
[ $rc -eq 124 ] || fail "wrong password: the client stopped (exit $rc): $(cat "$T/wrong.log")"
retried "$T/wrong.log" "wrong password" "login refused: wrong username or password for user 'admin'"
n=$(grep -c "login failed for user 'admin'" "$T/server.log" || true)
[ "$n" -ge 3 ] || fail "wrong password: $n attempts reached the server in 8 s"
grep "wrong username or password" "$T/wrong.log" | grep -q ERROR || fail "wrong password: not an error line: $(cat "$T/wrong.log")"
log "wrong password against the real server: $n attempts, one error line, still retrying"
