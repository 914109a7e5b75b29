#!/usr/bin/env bash
# The client against a server that sends nonsense: absurd pool sizes, an
# oversized frame, a close right after login, a bad signature. Each is a
# clear line in the log, never a crash and never an unbounded pool.
. "$(dirname "$0")/lib.sh"
LPORT=$(free_port)
check() {
	mode=$1; want=$2
	FP=$(free_port)
	python3 "$TOP/tests/integration/tunnelproto.py" fake-server "$FP" "$mode" >>"$T/fake-$mode.log" 2>&1 &
	FPID=$!; PIDS="$PIDS $FPID"
	wait_for port_open "$FP" || fail "fake server $mode"
	set +e
	(cd "$T" && TUNNEL_PASSWORD=x timeout 4 "$CLIENT_BIN" -s "127.0.0.1:$FP" -u admin -p "$LPORT") >"$T/client-$mode.log" 2>&1
	rc=$?
	set -e
	case $rc in 0|1|124) ;; *) fail "$mode: client exit $rc (crash?): $(cat "$T/client-$mode.log")" ;; esac
	grep -q -- "$want" "$T/client-$mode.log" || fail "$mode: no '$want' in: $(cat "$T/client-$mode.log")"
	grep -q "tunnel up" "$T/client-$mode.log" && fail "$mode: client believed the tunnel was up"
	kill "$FPID" 2>/dev/null || true
}
check pool0 "pool of 0 connections"
check pool99999 "pool of 50000 connections"
check oversized "protocol error from the server"
check close "closed the connection during login"
check badsig "could not prove it knows the password"
# A hash that takes longer than 8 s is given up, and the client's loop
# stays free meanwhile (the hash runs in a child). crypt_policy keeps
# every allowed setting near a second here, so the hashing child of the
# dearest one is stopped (SIGSTOP), as on a slow or overloaded laptop.
FP=$(free_port)
python3 "$TOP/tests/integration/tunnelproto.py" fake-server "$FP" slowsalt >>"$T/fake-slowsalt.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$FP" || fail "fake server slowsalt"
(cd "$T" && TUNNEL_PASSWORD=x exec "$CLIENT_BIN" -s "127.0.0.1:$FP" -u admin -p "$LPORT") >"$T/client-slowsalt.log" 2>&1 &
SC=$!; PIDS="$PIDS $SC"
KID=""
i=0
while [ -z "$KID" ] && [ $i -lt $((500 * SLOW)) ]; do
	KID=$(pgrep -P "$SC" | head -n 1 || true)
	i=$((i + 1)); [ -n "$KID" ] || sleep 0.005
done
[ -n "$KID" ] || fail "no hash child while hashing: $(cat "$T/client-slowsalt.log")"
# (in PIDS: a client that failed to kill it must not leave it stopped)
PIDS="$PIDS $KID"
kill -STOP "$KID" || fail "the hash child finished before it could be stopped"
sleep 1
# While hashing, the client process itself is idle (the child works).
t0=$(awk '{print $14 + $15}' "/proc/$SC/stat")
sleep 3
t1=$(awk '{print $14 + $15}' "/proc/$SC/stat")
[ $((t1 - t0)) -le 5 ] || fail "client loop busy while hashing: $((t1 - t0)) ticks"
# The hash child holds nothing of the client's but its pipes: a copy of a
# socket or of the epoll fd would keep a closed connection alive.
held=$(ls -l "/proc/$KID/fd" 2>/dev/null | grep -cE 'socket:|eventpoll|signalfd' || true)
[ "$held" -eq 0 ] || fail "hash child holds $held of the client's sockets/epoll fds"
SLOW=2 wait_for grep -q "takes over 8 s to hash" "$T/client-slowsalt.log" || fail "slow salt: $(cat "$T/client-slowsalt.log")"
kill "$SC"; wait "$SC" 2>/dev/null || true
# The child was killed at the time limit (not orphaned to run on).
kill -0 "$KID" 2>/dev/null && fail "hash child left behind"
log "hostile server: pool 0, pool 50000, oversized frame, early close, bad signature: clear errors"
