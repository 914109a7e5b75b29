# Sourced by every tests/integration/t_*.sh. Each test gets its own temp
# directory, random free ports on 127.0.0.1, and a trap that stops every
# process it started. Exit 0 = pass, 77 = skip, anything else = fail; on
# failure the logs of the daemons are printed.
set -eu

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
# SERVER_BIN and CLIENT_BIN, when set, name other binaries (tests/run.sh
# sets them to run the arm64 builds under qemu-user).
SERVER_BIN=${SERVER_BIN:-"$TOP/$BUILD/tunnel-server"}
CLIENT_BIN=${CLIENT_BIN:-"$TOP/$BUILD/tunnel-client"}
[ -x "$SERVER_BIN" ] || SERVER_BIN="$TOP/tunnel-server"
[ -x "$CLIENT_BIN" ] || CLIENT_BIN="$TOP/tunnel-client"
HELP="$TOP/tests/integration/helpers.py"
# The signal that asks the client to stop: SIGTERM, or SIGINT for the
# Windows client under Wine (tests/run.sh), where it is Ctrl-C: Windows
# has no SIGTERM, and Wine ends a process on it without a word.
CLIENT_STOP=${CLIENT_STOP:-TERM}
# False for the Windows client: POSIX modes, owners and terminals are Unix's.
unix() { [ -z "${WIN_CLIENT:-}" ]; }
T=$(mktemp -d "${TMPDIR:-/tmp}/tunnel-test.XXXXXX")
# Keys the client trusts on first contact (known_servers) stay in here.
export XDG_CONFIG_HOME="$T/.config"
# What the tunnel link speaks (configs' transport:); tunnelproto.py too.
TRANSPORT=${TRANSPORT:-tls}
export TUNNEL_TRANSPORT="$TRANSPORT"
PIDS=""
TEST_NAME=$(basename "$0" .sh)
# ASan/valgrind runs are slower: scale waits.
SLOW=${SLOW:-1}
case "$BUILD" in *asan*) SLOW=3 ;; esac
[ -n "${TUNNEL_WRAP:-}" ] && SLOW=10
# The build's backend: SPLICE=0 when bytes are copied (make BACKEND=poll,
# the code macOS and Windows run), so splice counters are not expected.
SPLICE=1
"$SERVER_BIN" --version 2>/dev/null | grep -q ', splice)' || SPLICE=0

# What ASan, UBSan and valgrind's memcheck print when they find something.
SANITIZER_RE='ERROR: (Address|Leak)Sanitizer|runtime error:'
SANITIZER_RE="$SANITIZER_RE"'|^==[0-9]+== (Invalid |Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Process terminating|.* (definitely|indirectly|possibly) lost in)'

cleanup() {
	rc=$?
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	sleep 0.2
	# Under valgrind a daemon needs seconds to exit and run its leak
	# check; killing it early would hide the report.
	if [ -n "${TUNNEL_WRAP:-}" ]; then
		i=0
		while [ $i -lt 100 ]; do
			alive=0
			for p in $PIDS; do kill -0 "$p" 2>/dev/null && alive=1; done
			[ $alive -eq 0 ] && break
			i=$((i + 1)); sleep 0.1
		done
	fi
	for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $(basename "$f") (last 40 lines)"
			tail -n 40 "$f"
		done
	fi
	# A sanitizer or memcheck report in any daemon log fails the test.
	if [ $rc -eq 0 ] && grep -lE "$SANITIZER_RE" "$T"/*.log >/dev/null 2>&1; then
		echo "sanitizer report:"
		grep -hE -A12 "$SANITIZER_RE" "$T"/*.log | head -80
		rc=1
	fi
	# TEST_KEEP=DIR: keep a failed test's directory (logs) there.
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -n "${TEST_KEEP:-}" ]; then
		mkdir -p "$TEST_KEEP" && cp -r "$T" "$TEST_KEEP/$TEST_NAME.$$" &&
		    echo "logs kept in $TEST_KEEP/$TEST_NAME.$$"
	fi
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "skip: $*"; exit 77; }
log() { echo "# $*"; }

# A TCP port nobody uses right now, below the ephemeral range (32768+):
# a port the kernel handed out as "free" could be given to one of the
# test's own outgoing connections before a daemon binds it.
free_port() {
	python3 -c '
import random, socket
for _ in range(500):
    p = random.randrange(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
'
}

# wait_for CMD...: retries CMD for up to 10 s (times SLOW).
wait_for() {
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt $((100 * SLOW)) ] || return 1
		sleep 0.1
	done
}

# port_open PORT: something accepts connections on 127.0.0.1:PORT (quiet:
# a closed port is an answer, not an error to print).
port_open() {
	python3 -c '
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
except OSError:
    sys.exit(1)' "$1"
}
log_has() { grep -q -- "$2" "$1"; }

PASSWORD=${PASSWORD:-s3cret-Pass}

# write_server_config FILE PORT [POOL] [extra yaml lines for the admin user]
write_server_config() {
	cat >"$1" <<YAML
port: $2
pool_size: ${3:-20}
connect_timeout: ${CONNECT_TIMEOUT:-10}
visitors_per_address: ${VISITORS_PER_ADDRESS:-1000}
transport: $TRANSPORT
users:
  - username: admin
    password: "$PASSWORD"
log:
  enable: false
YAML
}

# start_server CONFIG [args...]: starts tunnel-server in $T, waits for its port.
start_server() {
	cfg=$1; shift
	sport=$(sed -n 's/^port: *//p' "$cfg")
	(cd "$T" && exec ${TUNNEL_WRAP:-} "$SERVER_BIN" -c "$cfg" "$@") >>"$T/server.log" 2>&1 &
	SERVER_PID=$!
	PIDS="$PIDS $SERVER_PID"
	wait_for port_open "$sport" || fail "server did not start"
}

# start_client SERVER_PORT LOCAL_PORT [args...]: waits for "tunnel up".
start_client() {
	sp=$1; lp=$2; shift 2
	before=$(ups)
	(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" exec ${TUNNEL_WRAP:-} "$CLIENT_BIN" \
	    -s "127.0.0.1:$sp" -u admin -p "$lp" --transport "$TRANSPORT" "$@") \
	    >>"$T/client.log" 2>&1 &
	CLIENT_PID=$!
	PIDS="$PIDS $CLIENT_PID"
	wait_for client_up "$before" || fail "client did not come up"
	# Let the pool fill before traffic starts.
	sleep 0.3
}
# start_client_file CONFIG [N [ARGS...]]: the client on file CONFIG (and
# ARGS); waits for N more "tunnel up" lines (default 1: the raw port's;
# one more for each service whose name the server grants).
start_client_file() {
	cfg=$1; n=${2:-1}
	shift; [ $# -gt 0 ] && shift
	before=$(ups)
	(cd "$T" && exec ${TUNNEL_WRAP:-} "$CLIENT_BIN" -c "$cfg" "$@") >>"$T/client.log" 2>&1 &
	CLIENT_PID=$!
	PIDS="$PIDS $CLIENT_PID"
	wait_for client_up $((before + n - 1)) || fail "client on $(basename "$cfg") $* did not come up"
}
# How many times the client said "tunnel up" so far.
ups() { cat "$T/client.log" 2>/dev/null | grep -c 'tunnel up' || true; }
client_up() { [ "$(ups)" -gt "$1" ]; }

# start_helper NAME ARGS...: runs helpers.py ARGS in the background.
start_helper() {
	name=$1; shift
	python3 "$HELP" "$@" >>"$T/$name.log" 2>&1 &
	PIDS="$PIDS $!"
	eval "${name}_PID=$!"
}

# A standard set-up: local HTTP service, server, client. Sets SPORT, LPORT.
standard_setup() {
	SPORT=$(free_port)
	LPORT=$(free_port)
	start_helper http http-server "$LPORT"
	wait_for port_open "$LPORT" || fail "local http service did not start"
	write_server_config "$T/server.yaml" "$SPORT" "${POOL:-20}"
	start_server "$T/server.yaml"
	start_client "$SPORT" "$LPORT"
}

# visit_ok [SECONDS]: one GET through the tunnel ($SPORT) gets the standard
# service's answer within SECONDS (default 3) times SLOW.
visit_ok() {
	[ "$(curl -sf --max-time "$((${1:-3} * SLOW))" "http://127.0.0.1:$SPORT/")" = "hello from local" ]
}

# fresh_login WHEN: restarts the client; fails unless it is up within 3 s
# (times SLOW), was never refused busy, and serves 6 visitors. Sets MS.
fresh_login() {
	kill "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
	t0=$(date +%s%N)
	start_client "$SPORT" "$LPORT"
	MS=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ $MS -le $((3000 * SLOW)) ] || fail "$1: the fresh login took $MS ms"
	grep -q "busy\|too many" "$T/client.log" &&
	    fail "$1: the client was refused: $(grep 'busy\|too many' "$T/client.log" | head -n 3)"
	for i in 1 2 3 4 5 6; do
		visit_ok || fail "$1: visitor $i after the fresh login"
	done
}

# Count of open fds of a process.
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# Sockets only: spare pipes kept by the pipe pool (bounded) do not count.
sock_count() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'socket:' || true; }
pipe_count() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'pipe:' || true; }
# fds_back PID BASE_SOCKETS [EXTRA]: sockets back to their baseline (+EXTRA)
# and pipes within the pool's cap of spares (64 pipes, 2 fds each).
fds_back() {
	[ "$(sock_count "$1")" -le $(($2 + ${3:-0})) ] && [ "$(pipe_count "$1")" -le 128 ]
}

# start_xfer_service PORT: tests/integration/xfer.py's exact-byte service.
start_xfer_service() {
	python3 "$TOP/tests/integration/xfer.py" server "$1" >>"$T/xfer.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for port_open "$1" || fail "xfer service did not start"
}

# start_silent_service PORT: accepts and never sends a byte; prints
# "accepted" per connection into $T/silent.log. silent_accepts counts them.
start_silent_service() {
	python3 -c '
import socket, sys
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1]))); ls.listen(64)
held = []
while True:
    held.append(ls.accept()[0]); print("accepted", flush=True)
' "$1" >>"$T/silent.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for port_open "$1" || fail "silent service did not start"
}
silent_accepts() { grep -c accepted "$T/silent.log" 2>/dev/null || true; }
