#!/usr/bin/env bash
# Nothing lost: sizes around every buffer boundary and 1 GiB, upload,
# download and both at once, compared by SHA-256; the same matrix with
# splicing switched off (--no-splice, for diagnosis) gives the same result,
# and the counters prove which path moved the bytes. Both with transport:
# plain (the splice path); then the matrix again over TLS.
TRANSPORT=plain
. "$(dirname "$0")/lib.sh"
X="python3 $TOP/tests/integration/xfer.py"
LPORT=$(free_port)
$X server "$LPORT" >>"$T/xfer.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$LPORT" || fail "xfer service"

SIZES="0 1 4095 4096 4097 65535 65536 65537 1048577"
BIG=$((1024 * 1024 * 1024))
run_matrix() {
	port=$1
	for n in $SIZES; do
		for mode in up down both; do
			$X client "$port" "$mode" "$n" >>"$T/matrix.log" 2>&1 ||
			    fail "$mode $n through $2: $(tail -n 1 "$T/matrix.log")"
		done
	done
}

# Splice mode.
SPORT=$(free_port)
write_server_config "$T/server.yaml" "$SPORT"
start_server "$T/server.yaml"
start_client "$SPORT" "$LPORT"
run_matrix "$SPORT" splice
for mode in down up both; do
	$X client "$SPORT" "$mode" "$BIG" >>"$T/matrix.log" 2>&1 || fail "1 GiB $mode: $(tail -n 1 "$T/matrix.log")"
done
kill -TERM "$SERVER_PID" "$CLIENT_PID"; wait "$SERVER_PID" "$CLIENT_PID" 2>/dev/null || true
spliced=$(sed -n 's/.*stopped: .* \([0-9]*\) bytes spliced, \([0-9]*\) copied.*/\1 \2/p' "$T/server.log")
set -- $spliced
if [ "$SPLICE" = 1 ]; then
	[ "${1:-0}" -ge $((4 * BIG)) ] || fail "splice mode spliced only ${1:-0} bytes"
	[ "${2:-1}" -eq 0 ] || fail "splice mode copied $2 bytes through user space"
else	# the portable build copies every byte
	[ "${1:-1}" -eq 0 ] || fail "the copy-only build spliced $1 bytes"
	[ "${2:-0}" -ge $((4 * BIG)) ] || fail "the copy-only build copied only ${2:-0} bytes"
fi

# Copy mode, same matrix.
mv "$T/server.log" "$T/server-splice.log"
SPORT2=$(free_port)
write_server_config "$T/server2.yaml" "$SPORT2"
start_server "$T/server2.yaml" --no-splice
start_client "$SPORT2" "$LPORT" --no-splice
run_matrix "$SPORT2" copy
$X client "$SPORT2" both "$BIG" >>"$T/matrix.log" 2>&1 || fail "1 GiB both, copy mode: $(tail -n 1 "$T/matrix.log")"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
copied=$(sed -n 's/.*stopped: .* \([0-9]*\) bytes spliced, \([0-9]*\) copied.*/\1 \2/p' "$T/server.log")
set -- $copied
[ "${1:-1}" -eq 0 ] || fail "copy mode spliced $1 bytes"
[ "${2:-0}" -ge $((2 * BIG)) ] || fail "copy mode copied only ${2:-0} bytes"

# TLS, same matrix and 1 GiB both ways at once.
mv "$T/server.log" "$T/server-copy.log"
TRANSPORT=tls
export TUNNEL_TRANSPORT=tls
SPORT3=$(free_port)
write_server_config "$T/server3.yaml" "$SPORT3"
start_server "$T/server3.yaml"
start_client "$SPORT3" "$LPORT"
run_matrix "$SPORT3" tls
$X client "$SPORT3" both "$BIG" >>"$T/matrix.log" 2>&1 || fail "1 GiB both, tls: $(tail -n 1 "$T/matrix.log")"
log "$(grep -c '^OK' "$T/matrix.log") exact transfers (sizes $SIZES and 1 GiB), splice, copy and tls"
