#!/usr/bin/env bash
# Hostile configuration files (issue 4, "Bad input"): the empty file,
# comments only, a list at the top level, a UTF-8 byte-order mark (loads),
# invalid UTF-8, a billion-laughs alias document, deep nesting, a 50 MB
# file, a directory, a FIFO (must not block), /dev/zero, an unreadable file
# and a log directory that cannot be written. For tunnel-server -c FILE,
# with -n and without, and tunnel-client -c FILE (stdin not a terminal):
# one line on stderr naming the file, exit 2, in under 1 s, under a 256 MB
# address-space limit (a runaway allocation fails instead of swapping),
# never a crash (134/139) or a hang (timeout 124); the file is left as it
# was and nothing listens.
#
# Running as root: root reads a chmod 000 file and writes a mode 0555
# directory, so those cases run the binaries as "nobody" with setpriv
# (util-linux) from a directory nobody may traverse; without setpriv they
# are skipped (logged), not the whole test.
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
MS_MAX=$((1000 * SLOW))
# The address-space limit breaks ASan (huge shadow mappings) and valgrind.
LIMIT="ulimit -v 262144"
case "$BUILD" in *asan*) LIMIT=: ;; esac
[ -n "${TUNNEL_WRAP:-}" ] && LIMIT=:

# $T is 0700: let "nobody" reach the files under $T/pub.
chmod 0711 "$T"
D="$T/pub"
mkdir -m 0755 "$D"

server_yaml() {	# FILE [extra lines]
	printf 'port: %s\nusers:\n  - username: admin\n    password: "%s"\nlog:\n  enable: false\n' \
	    "$PORT" "$PASSWORD" >"$1"
}
client_yaml() {
	printf 'server_addr: 127.0.0.1:%s\nusername: admin\npassword: "%s"\nlocal_port: 1\n' \
	    "$PORT" "$PASSWORD" >"$1"
}

# The hostile files, shared by both binaries.
: >"$D/empty.yaml"
printf '# nothing\n\n   # but comments\n#\n' >"$D/comments.yaml"
printf -- '- port: 3339\n- users: []\n' >"$D/list.yaml"
printf 'port: 3339\nusers:\n  - username: "ad\xffmin"\n    password: "\xc3\x28"\n' >"$D/utf8.yaml"
python3 - "$D/laughs.yaml" <<'PY'
import sys
lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
for i in range(1, 10):
    p = chr(ord("a") + i - 1)
    lines.append("%s: &%s [%s]" % (chr(ord("a") + i), chr(ord("a") + i), ",".join(["*" + p] * 9)))
open(sys.argv[1], "w").write("\n".join(lines) + "\nport: *j\n")
PY
head -c 10000 /dev/zero | tr '\0' '[' >"$D/deep.yaml"
python3 -c 'import sys; open(sys.argv[1], "w").write("users:\n" + "  " + "{a: " * 10000 + "\n")' "$D/deep2.yaml"
server_yaml "$D/big.yaml"
yes '# padding padding padding padding padding padding padding padding padding' |
    head -c 52428800 >>"$D/big.yaml"
mkdir "$D/adir.yaml"
mkfifo "$D/fifo.yaml"
server_yaml "$D/unreadable.yaml"; chmod 000 "$D/unreadable.yaml"
HOSTILE="empty comments list utf8 laughs deep deep2 big adir fifo dev-zero unreadable"

# As root, the unreadable case runs as nobody.
AS=""
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null 2>&1 &&
	    setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$SERVER_BIN" 2>/dev/null; then
		AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
	else
		AS=none
	fi
fi

path_of() {
	case "$1" in
	dev-zero) echo /dev/zero ;;
	adir) echo "$D/adir.yaml" ;;
	*) echo "$D/$1.yaml" ;;
	esac
}

# run NAME WANT_IN_ERR [prefix...] -- BIN ARGS...: runs it in a subshell
# under the memory limit and checks: exit 2, one stderr line containing
# WANT_IN_ERR, nothing on stdout, under 1 s, the file unchanged, nothing
# listening.
run() {
	name=$1; want=$2; shift 2
	sum_before=""
	[ -f "$want" ] && sum_before=$(sha256sum <"$want" 2>/dev/null || true)
	t0=$(date +%s%N)
	set +e
	( $LIMIT; cd "$T/pub" && exec timeout 5 "$@" </dev/null >"$T/out" 2>"$T/err" )
	rc=$?
	set -e
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	err=$(cat "$T/err")
	case $rc in
	124) fail "$name: still running after 5 s (blocked?)" ;;
	134|139|$((128 + 6))|$((128 + 11))) fail "$name: crashed (exit $rc): $err" ;;
	esac
	[ $rc -eq 2 ] || fail "$name: exit $rc, want 2: $err"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "$name: want one line on stderr, got: $err"
	case "$err" in *"$want"*) ;; *) fail "$name: the error does not name '$want': $err" ;; esac
	[ ! -s "$T/out" ] || fail "$name: wrote to stdout: $(cat "$T/out")"
	[ $ms -lt $MS_MAX ] || fail "$name: took $ms ms"
	if [ -n "$sum_before" ] && [ "$(sha256sum <"$want")" != "$sum_before" ]; then
		fail "$name: the file was changed"
	fi
	if port_open "$PORT" 2>/dev/null; then fail "$name: something listens on port $PORT"; fi
	printf '# %-40s exit 2, %4d ms: %s\n' "$name" "$ms" "$err"
}

for h in $HOSTILE; do
	f=$(path_of "$h")
	pre=""
	if [ "$h" = unreadable ]; then
		case "$AS" in
		none) log "unreadable: skipped (running as root without a usable setpriv)"; continue ;;
		*) pre=$AS ;;
		esac
	fi
	run "server -n: $h" "$f" $pre "$SERVER_BIN" -c "$f" -n
	run "server: $h" "$f" $pre "$SERVER_BIN" -c "$f"
	run "client: $h" "$f" $pre "$CLIENT_BIN" -c "$f"
done
[ -p "$D/fifo.yaml" ] || fail "the FIFO was replaced"
[ -d "$D/adir.yaml" ] || fail "the directory was replaced"
[ -s "$D/empty.yaml" ] && fail "the empty file was written"

# A log directory that cannot be written: log.path is a regular file, a
# path under /dev/null, a directory that does not exist under a missing
# parent, and (as nobody, or non-root) a read-only directory.
logcase() {	# NAME LOGPATH [prefix...]
	n=$1; lp=$2; shift 2
	server_yaml "$D/log-$n.yaml"
	sed -i 's/^  enable: false$/  enable: true/' "$D/log-$n.yaml"
	printf '  path: "%s"\n' "$lp" >>"$D/log-$n.yaml"
	run "server: log.path $n" "$lp" "$@" "$SERVER_BIN" -c "$D/log-$n.yaml"
}
logcase regular-file "$D/empty.yaml"
logcase dev-null /dev/null/logs
logcase missing-parent "$D/no/such/dir"
mkdir -m 0555 "$D/ro"
if [ "$(id -u)" != 0 ]; then
	logcase read-only-dir "$D/ro"
elif [ "$AS" != none ]; then
	logcase read-only-dir "$D/ro" $AS
else
	log "read-only log directory: skipped (root without a usable setpriv)"
fi

# A byte-order mark in front of a valid file: it loads, and the server runs.
printf '\357\273\277' >"$D/bom.yaml"; server_yaml "$D/bom.body"; cat "$D/bom.body" >>"$D/bom.yaml"
out=$( ($LIMIT; timeout 5 "$SERVER_BIN" -c "$D/bom.yaml" -n) 2>&1) || fail "server -n with a BOM: $out"
[ "$out" = "configuration OK" ] || fail "server -n with a BOM: $out"
# (not start_server: its sed does not see "port:" behind the BOM)
(cd "$T" && exec "$SERVER_BIN" -c "$D/bom.yaml") >>"$T/server.log" 2>&1 &
SERVER_PID=$!; PIDS="$PIDS $SERVER_PID"
wait_for port_open "$PORT" || fail "server with a BOM did not start"
log "server with a BOM: listening"
kill -TERM "$SERVER_PID"; set +e; wait "$SERVER_PID"; rc=$?; set -e
[ $rc -eq 0 ] || fail "server with a BOM: exit $rc after SIGTERM"
printf '\357\273\277' >"$D/cbom.yaml"; client_yaml "$D/cbom.body"; cat "$D/cbom.body" >>"$D/cbom.yaml"
(cd "$T" && exec "$CLIENT_BIN" -c "$D/cbom.yaml" </dev/null) >"$T/client-bom.log" 2>&1 &
CB=$!; PIDS="$PIDS $CB"
wait_for grep -q "connecting to 127.0.0.1:$PORT" "$T/client-bom.log" ||
    fail "client with a BOM: $(cat "$T/client-bom.log")"
kill -TERM "$CB"; wait "$CB" 2>/dev/null || true
log "client with a BOM: loaded"
log "hostile config files: one line, exit 2, under 1 s and 256 MB, no crash, BOM accepted: ok"
