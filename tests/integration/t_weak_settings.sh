#!/usr/bin/env bash
# Issue 12, point 1: a fake server picks the client's hash. Played as the
# attacker: a server that offers a cheap setting (DES "ab", md5crypt,
# NT, sha256crypt, bcrypt cost 4, yescrypt with 1 MiB...) or an absurd
# one (bcrypt cost 20, yescrypt with 2 GiB, a billion sha512crypt rounds)
# must get no PROOF at all: nothing derived from the password leaves the
# client, which keeps retrying (an impostor cannot stop it either). The
# dearest allowed setting still gets its PROOF, from a hashing child
# whose address space is capped. And the server refuses to load a user
# whose hash is outside the same list, with file:line:col and a pointer
# to --hash-password.
. "$(dirname "$0")/lib.sh"
P="python3 $TOP/tests/integration/tunnelproto.py"
LPORT=$(free_port)
S22=7GSuZPQdOlY3W8N5cUI8l/

# try NAME SETTING: the fake server offers SETTING to a client for 3 s.
try_start() {
	name=$1; setting=$2
	fp=$(free_port)
	$P fake-setting "$fp" "$setting" >"$T/fake-$name.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for grep -q listening "$T/fake-$name.log" || fail "fake server $name"
	(cd "$T" && TUNNEL_PASSWORD=x exec timeout $((3 * SLOW)) "$CLIENT_BIN" \
	    -s "127.0.0.1:$fp" -u admin -p "$LPORT" </dev/null) >"$T/client-$name.log" 2>&1 &
	eval "CL_$name=$!"
}
try_check() {
	name=$1
	eval "pid=\$CL_$name"
	set +e; wait "$pid"; rc=$?; set -e
	grep -q "^PROOF" "$T/fake-$name.log" &&
	    fail "$name: the client sent a PROOF for $(sed -n 's/^PROOF for //p' "$T/fake-$name.log" | head -n 1)"
	grep -q "^no PROOF" "$T/fake-$name.log" || fail "$name: the fake server saw no login: $(cat "$T/client-$name.log")"
	[ $rc -eq 124 ] || fail "$name: client exit $rc, want it still retrying (124): $(cat "$T/client-$name.log")"
	grep -q "password setting this client refuses: $3" "$T/client-$name.log" ||
	    fail "$name: no clear refusal ('$3') in: $(cat "$T/client-$name.log")"
	[ "$(grep -c 'password setting this client refuses' "$T/client-$name.log")" -eq 1 ] ||
	    fail "$name: the refusal is not logged once: $(cat "$T/client-$name.log")"
	grep -q "reconnecting" "$T/client-$name.log" || fail "$name: no retry: $(cat "$T/client-$name.log")"
}

# run_all: lines NAME|SETTING|REASON on stdin; all clients at once.
run_all() {
	cat >"$T/list"
	while IFS='|' read -r name setting want; do
		try_start "$name" "$setting"
	done <"$T/list"
	while IFS='|' read -r name setting want; do
		try_check "$name" "$setting" "$want"
	done <"$T/list"
}

# The cheap ones (each client runs 3 s).
run_all <<EOF
des|ab|DES
md5|\$1\$abcdefgh|md5crypt
nt|\$3\$|the NT hash
sha256|\$5\$rounds=5000\$abcdefgh|sha256crypt
sha512low|\$6\$rounds=1000\$abcdefgh|sha512crypt with 1000 rounds
bcrypt4|\$2b\$04\$abcdefghijklmnopqrstuu|bcrypt cost 4
bcrypt2a|\$2a\$10\$abcdefghijklmnopqrstuu|bcrypt's old
yes1m|\$y\$j75\$$S22|yescrypt with 1024 KiB
scrypt1m|\$7\$6U..../....abcdefgh|scrypt with 1024 KiB
gost|\$gy\$j9T\$$S22|gost-yescrypt
EOF
log "cheap settings (DES, md5crypt, NT, sha256crypt, 1000 rounds, bcrypt 4, \$2a\$, yescrypt/scrypt 1 MiB, gost): no PROOF, clear error once, retrying"

# The absurd ones, after the cheap ones: a client that tried them would
# run for hours or take 2 GiB.
run_all <<EOF
bcrypt20|\$2b\$20\$abcdefghijklmnopqrstuu|bcrypt cost 20
yes2g|\$y\$jGT\$$S22|yescrypt asks for too much memory
sha512max|\$6\$rounds=999999999\$abcdefgh|sha512crypt with 999999999 rounds
scrypt4g|\$7\$IU..../....abcdefgh|scrypt asks for too much memory
EOF
log "absurd settings (bcrypt 20, yescrypt 2 GiB, 999999999 rounds, scrypt 4 GiB): no PROOF, no hashing"

# The dearest allowed setting (yescrypt, 256 MiB, about 1 s): its PROOF
# comes, from a child whose address space may grow by at most the
# policy's 256 MiB and a margin.
fp=$(free_port)
$P fake-setting "$fp" "\$y\$jDT\$$S22" $((20 * SLOW)) >"$T/fake-max.log" 2>&1 &
PIDS="$PIDS $!"
wait_for grep -q listening "$T/fake-max.log" || fail "fake server max"
(cd "$T" && TUNNEL_PASSWORD=x exec "$CLIENT_BIN" -s "127.0.0.1:$fp" -u admin -p "$LPORT") \
    >"$T/client-max.log" 2>&1 &
CL=$!; PIDS="$PIDS $CL"
KID=""
i=0
while [ -z "$KID" ] && [ $i -lt $((500 * SLOW)) ]; do
	KID=$(pgrep -P "$CL" | head -n 1 || true)
	i=$((i + 1)); [ -n "$KID" ] || sleep 0.01
done
[ -n "$KID" ] || fail "no hashing child seen: $(cat "$T/client-max.log")"
# Once it has mapped its 256 MiB, the hash runs: its limits are set.
vm=0
i=0
while [ "${vm:-0}" -lt $((64 * 1048576)) ] && [ $i -lt $((300 * SLOW)) ]; do
	vm=$(awk '/^VmSize/ {print $2 * 1024}' "/proc/$KID/status" 2>/dev/null || true)
	[ -n "$vm" ] || break
	i=$((i + 1)); sleep 0.01
done
kill -STOP "$KID" 2>/dev/null || true
lim=$(awk '/^Max address space/ {print $4}' "/proc/$KID/limits" 2>/dev/null || true)
vm=$(awk '/^VmSize/ {print $2 * 1024}' "/proc/$KID/status" 2>/dev/null || true)
kill -CONT "$KID" 2>/dev/null || true
if [ -n "$lim" ] && [ -n "$vm" ] && [ "$vm" -ge $((64 * 1048576)) ]; then
	case "$lim" in unlimited) fail "the hashing child's address space is unlimited ($((vm / 1048576)) MiB mapped)" ;; esac
	[ "$lim" -le $((vm + 512 * 1048576)) ] || fail "hashing child: address space limit $lim, mapped $vm: more than 512 MiB of room"
	log "hashing child: address space limit $((lim / 1048576)) MiB, $((vm / 1048576)) MiB mapped"
else
	log "hashing child gone before its limits could be read"
fi
wait_for grep -q "^PROOF" "$T/fake-max.log" || fail "no PROOF for the dearest allowed setting: $(cat "$T/client-max.log")"
kill "$CL" 2>/dev/null || true
log "yescrypt 256 MiB: PROOF sent"

# The server refuses to load such hashes, naming the line.
hash_of() { python3 -c 'import ctypes,ctypes.util,sys; l=ctypes.CDLL(ctypes.util.find_library("crypt")); l.crypt.restype=ctypes.c_char_p; print(l.crypt(b"pw", sys.argv[1].encode()).decode())' "$1"; }
GOOD=$(printf 'pw\n' | "$SERVER_BIN" --hash-password)
for bad in "$(hash_of '$1$abcdefgh')" "$(hash_of '$2b$04$abcdefghijklmnopqrstuu')" \
    "$(hash_of '$5$abcdefgh')" "\$y\$jGT\$$S22\$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"; do
	cat >"$T/weak.yaml" <<YAML
port: $(free_port)
users:
  - username: good
    password: "$GOOD"
  - username: weak
    password: "$bad"
YAML
	set +e
	out=$(timeout $((5 * SLOW)) "$SERVER_BIN" -n -c "$T/weak.yaml" 2>&1); rc=$?
	set -e
	[ $rc -eq 2 ] || fail "a weak hash ($(echo "$bad" | cut -c1-7)...) loaded: exit $rc: $out"
	case "$out" in *"weak.yaml:6:15: password: "*"tunnel-server --hash-password"*) ;;
	*) fail "weak hash: want file:6:15 and a pointer to --hash-password: $out" ;; esac
done
log "server: md5crypt, bcrypt 4, sha256crypt and yescrypt 2 GiB hashes refused at load: $out"
