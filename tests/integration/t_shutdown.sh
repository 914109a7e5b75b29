#!/usr/bin/env bash
# SIGTERM stops accepting at once but lets a running download finish
# (shutdown_grace, default 10 s), on the server and on the client; exit 0.
# A second SIGTERM during the grace stops at once, and a grace that runs
# out resets what is left.
. "$(dirname "$0")/lib.sh"

N=$((32 * 1024 * 1024))
WANT=$(python3 "$HELP" sha "$N")

# download NAME [BYTES]: a rate-limited download in the background (about
# 8 s for N), body in $T/NAME.body; DL_PID is curl.
download() {
	curl -s --max-time 60 --limit-rate 4M -o "$T/$1.body" \
	    "http://127.0.0.1:$SPORT/bytes/${2:-$N}" >"$T/$1.curl.log" 2>&1 &
	DL_PID=$!
	PIDS="$PIDS $DL_PID"
	sleep 1
	kill -0 "$DL_PID" 2>/dev/null || fail "$1: download over before the signal"
}
# slow_reader NAME: a 96 MB download read at 4 MB/s in the background by a
# reader that reports how it ended in $T/NAME.out ("reset after N bytes",
# "end of stream after N bytes"); DL_PID is the reader. 96 MB is more than
# every queue between the service and the visitor can hold, so a stopping
# server cannot have handed the whole body to the kernel. The reader is not
# curl: after a reset, Linux still hands out what the receive queue holds,
# and loopback grows that queue to tcp_rmem's maximum (32 MB on some
# kernels), which curl at 4 MB/s would take seconds to drain, and then
# finish a body it had all of. A small SO_RCVBUF keeps the queue short.
BIG=$((96 * 1024 * 1024))
slow_reader() {
	python3 - "$SPORT" "$BIG" >"$T/$1.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /bytes/%s HTTP/1.1\r\nHost: x\r\n\r\n" % sys.argv[2].encode())
got, t0 = 0, time.time()
while True:
    try:
        b = s.recv(65536)
    except ConnectionResetError:
        sys.exit("reset after %d bytes" % got)
    if not b:
        sys.exit("end of stream after %d bytes" % got)
    got += len(b)
    time.sleep(max(0.0, t0 + got / 4e6 - time.time()))  # 4 MB/s
PY
	DL_PID=$!
	PIDS="$PIDS $DL_PID"
	sleep 1
	kill -0 "$DL_PID" 2>/dev/null || fail "$1: download over before the signal: $(cat "$T/$1.out")"
}
body_ok() { [ "$(sha256sum <"$T/$1.body" | cut -d' ' -f1)" = "${2:-$WANT}" ]; }
# exit_within PID SECONDS: the process is gone within SECONDS; its status
# is in $RC.
exit_within() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt $(($2 * 10 * SLOW)) ] || return 1
		sleep 0.1
	done
	RC=0; wait "$1" 2>/dev/null || RC=$?
}

standard_setup

# 1. Server, default grace: the download completes, nobody new gets in.
download srv
kill -TERM "$SERVER_PID"
sleep 0.3
port_open "$SPORT" && fail "server still accepts after SIGTERM"
kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited without waiting for the bridged download"
wait "$DL_PID" || fail "download through a stopping server failed (curl $?)"
body_ok srv || fail "download through a stopping server: wrong SHA-256"
exit_within "$SERVER_PID" 3 || fail "server still running after its last visitor left"
[ "$RC" = 0 ] || fail "server exit status $RC after SIGTERM, want 0"
log_has "$T/server.log" "every bridged visitor finished" || fail "no 'finished' line"
log "server: SIGTERM refuses new visitors, the download completes, exit 0"

# 2. Client, default grace: the same for the client's bridges.
before=$(ups)
start_server "$T/server.yaml"
wait_for client_up "$before" || fail "client did not reconnect"
sleep 0.5
download cli
kill -"$CLIENT_STOP" "$CLIENT_PID"
sleep 0.5
kill -0 "$CLIENT_PID" 2>/dev/null || fail "client exited without waiting for the bridged download"
curl -s "http://127.0.0.1:$SPORT/" | grep -q "no tunnel client" ||
    fail "a stopping client still took new visitors"
wait "$DL_PID" || fail "download through a stopping client failed (curl $?)"
body_ok cli || fail "download through a stopping client: wrong SHA-256"
exit_within "$CLIENT_PID" 3 || fail "client still running after its last visitor left"
[ "$RC" = 0 ] || fail "client exit status $RC after SIG$CLIENT_STOP, want 0"
log "client: SIG$CLIENT_STOP keeps the download, new visitors refused, exit 0"

# 3. A second SIGTERM during the grace stops the server at once.
start_client "$SPORT" "$LPORT"
slow_reader twice
kill -TERM "$SERVER_PID"
sleep 0.3
kill -TERM "$SERVER_PID"
exit_within "$SERVER_PID" 2 || fail "a second SIGTERM did not stop the server at once"
[ "$RC" = 0 ] || fail "server exit status $RC after a second SIGTERM"
exit_within "$DL_PID" 3 || fail "download outlived a second SIGTERM"
grep -q "after [0-9]* bytes" "$T/twice.out" || fail "the visitor: $(cat "$T/twice.out")"
log_has "$T/server.log" "again: stopping now" || fail "no 'stopping now' line"
log "second SIGTERM: stopped at once"

# 4. A grace that runs out resets the rest, and shutdown_grace is read.
echo "shutdown_grace: 1" >>"$T/server.yaml"
before=$(ups)
start_server "$T/server.yaml"
wait_for client_up "$before" || fail "client did not reconnect"
sleep 0.5
slow_reader short
kill -TERM "$SERVER_PID"
exit_within "$SERVER_PID" 3 || fail "shutdown_grace 1 did not stop the server within 3 s"
[ "$RC" = 0 ] || fail "server exit status $RC after the grace ran out"
# Reset, not left to trickle on: curl ends at once, with an error.
exit_within "$DL_PID" 3 || fail "download outlived shutdown_grace: 1"
[ "$RC" != 0 ] || fail "download of $BIG bytes completed after the grace ran out"
grep -q "^reset after" "$T/short.out" || fail "the visitor was not reset: $(cat "$T/short.out")"
log_has "$T/server.log" "shutdown_grace of 1 s is over" || fail "no 'grace is over' line"
log "shutdown_grace 1: the rest is reset after 1 s"
