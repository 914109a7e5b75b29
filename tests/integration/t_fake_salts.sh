#!/usr/bin/env bash
# Issue 12, point 5: user names must not be told apart. Played as the
# attacker, who compares CHALLENGEs: an unknown name must get the family,
# cost and salt length that --hash-password writes (not the first user's,
# here a bcrypt hash), and the same salt after a restart, as a real user
# does. The secret behind it lives in tunnel-server.secret beside the
# configuration: 32 bytes, mode 0600, made once, never half-written;
# `-n` makes none; one of the wrong size stops the server with a clear
# message.
. "$(dirname "$0")/lib.sh"
mkdir "$T/etc"
SPORT=$(free_port)
BCRYPT=$(python3 -c 'import ctypes,ctypes.util; l=ctypes.CDLL(ctypes.util.find_library("crypt")); l.crypt.restype=ctypes.c_char_p; print(l.crypt(b"pw", b"$2b$10$abcdefghijklmnopqrstuu").decode())')
YES=$(printf 'pw\n' | "$SERVER_BIN" --hash-password)
cat >"$T/etc/server.yaml" <<YAML
port: $SPORT
users:
  - username: first
    password: "$BCRYPT"
  - username: second
    password: "$YES"
log:
  enable: false
YAML
"$SERVER_BIN" -n -c "$T/etc/server.yaml" >/dev/null || fail "config"
[ -e "$T/etc/tunnel-server.secret" ] && fail "-n made a secret file"

# settings NAME...: the setting each name's CHALLENGE carries (no PROOF
# is sent, so no failed login is counted).
settings() {
	python3 - "$SPORT" "$TOP/tests/integration" "$@" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
import tunnelproto as tp
for name in sys.argv[3:]:
    s = tp.hello_held(sys.argv[1], None, name.encode())
    t, p = tp.read_frame(s)
    assert t == tp.CHALLENGE, (t, p)
    print(p[1:1 + p[0]].decode())
    s.close()
PY
}
# (cd "$T": the secret goes beside the config, not in the working directory)
start_server "$T/etc/server.yaml"
set -- $(settings nosuchuser first second admin nosuchuser)
fake=$1; first=$2; second=$3; admin=$4
log "unknown: $fake, first: $first, second: $second"
[ "$5" = "$fake" ] || fail "an unknown name's setting changes between logins: $fake, $5"
[ "$admin" != "$fake" ] || fail "two unknown names got the same salt"
hp=${YES%\$*}			# --hash-password's setting
case "$fake" in "${hp%\$*}\$"*) ;; *) fail "unknown user got $fake: not the family and cost --hash-password writes (${hp%\$*}\$)" ;; esac
[ ${#fake} -eq ${#hp} ] || fail "unknown user's setting $fake is not as long as --hash-password's ($hp)"
[ "$second" = "$hp" ] || fail "a real user's setting: $second, want $hp"
[ -f "$T/etc/tunnel-server.secret" ] || fail "no tunnel-server.secret beside the config: $(ls -la "$T" "$T/etc")"
[ -e "$T/tunnel-server.secret" ] && fail "tunnel-server.secret made in the working directory"
[ "$(stat -c %a "$T/etc/tunnel-server.secret")" = 600 ] || fail "secret mode $(stat -c %a "$T/etc/tunnel-server.secret")"
[ "$(stat -c %s "$T/etc/tunnel-server.secret")" = 32 ] || fail "secret size $(stat -c %s "$T/etc/tunnel-server.secret")"
ls -a "$T/etc" | grep -q '^\.tunnel-server' && fail "a temporary file was left: $(ls -a "$T/etc")"
sum=$(sha256sum <"$T/etc/tunnel-server.secret")

# A restart: the same salts, real and fake, and the same file.
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
start_server "$T/etc/server.yaml"
set -- $(settings nosuchuser first admin)
[ "$1" = "$fake" ] || fail "an unknown name's salt changed across a restart: $fake, then $1"
[ "$2" = "$first" ] || fail "a real user's salt changed across a restart"
[ "$3" = "$admin" ] || fail "an unknown name's salt changed across a restart: $admin, then $3"
[ "$(sha256sum <"$T/etc/tunnel-server.secret")" = "$sum" ] || fail "the secret file was rewritten"
log "across a restart: the same salts for unknown names, the same secret file"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true

# A secret file of the wrong size: refused, clearly, nothing listens.
head -c 31 "$T/etc/tunnel-server.secret" >"$T/etc/short" && mv "$T/etc/short" "$T/etc/tunnel-server.secret"
set +e
out=$(cd "$T" && timeout $((5 * SLOW)) "$SERVER_BIN" -c "$T/etc/server.yaml" 2>&1); rc=$?
set -e
[ $rc -eq 2 ] || fail "a 31-byte secret file: exit $rc, want 2: $out"
case "$out" in *"$T/etc/tunnel-server.secret: 31 bytes"*"move it away"*) ;; *) fail "a 31-byte secret file: unclear message: $out" ;; esac
port_open "$SPORT" 2>/dev/null && fail "something listens with a bad secret file"
log "a 31-byte secret file: $(echo "$out" | grep secret)"
