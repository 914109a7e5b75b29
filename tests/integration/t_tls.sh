#!/usr/bin/env bash
# The TLS link, attacked as someone on the path would (docs/protocol.md §12):
# 1. a relay that records both directions sees no visitor byte, no
#    password, and a real 20 MiB download and upload arrive exact;
# 2. a relay that flips one bit inside a pool connection: the visitor's
#    request fails, and the service never gets an altered byte;
# 3. a client pinned to one server refuses another with the same users:
#    a hard error naming both keys, and not one login byte sent;
# 4. a man in the middle with its own key: a pinned client sends it
#    nothing; an unpinned one (first contact) trusts it, but its proof is
#    bound to the wrong channel and the real server refuses it;
# 5. transport mismatch, both ways: a clear message on both sides;
# 6. first contact recorded (known_servers in flags mode, appended to the
#    config file in config mode, comments kept), matching what
#    `tunnel-server --fingerprint` prints; pool refills resume sessions;
# 7. a config the client may not write: known_servers instead.
. "$(dirname "$0")/lib.sh"
TP="$TOP/tests/integration/tunnelproto.py"
# The Windows client under Wine (WIN_CLIENT): files get no POSIX mode or
# owner from it (Windows has ACLs), so those checks are Unix's alone
# (lib.sh's unix).
standard_setup
FP=$("$SERVER_BIN" -c "$T/server.yaml" --fingerprint) || fail "--fingerprint"
# The same value openssl gives for the certificate's key (SubjectPublicKeyInfo
# DER), so anyone can check it without our binaries.
ofp="SHA256:$(openssl x509 -in "$T/tunnel-server.crt" -pubkey -noout |
    openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary |
    base64 | tr -d '=')"
[ "$FP" = "$ofp" ] || fail "--fingerprint $FP, openssl says $ofp"
grep -q "transport: tls, key fingerprint $FP" "$T/server.log" ||
    fail "the server did not log its key's fingerprint $FP"
# 6. Flags mode: first contact trusted (no terminal) and recorded.
known="$T/.config/tunnel/known_servers"
grep -qx "127.0.0.1:$SPORT $FP" "$known" || fail "known_servers: $(cat "$known" 2>&1)"
! unix || [ "$(stat -c %a "$known")" = 600 ] || fail "known_servers mode $(stat -c %a "$known")"
grep -q "first contact with 127.0.0.1:$SPORT: trusting its key $FP" "$T/client.log" ||
    fail "first contact not logged"

# 1. Recording relay between a second client and the server.
R=$(free_port)
python3 "$TP" relay "$R" "$SPORT" "$T/wire.bin" both >>"$T/relay.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$R" || fail "relay"
start_client "$R" "$LPORT"	# the newest login: visitors go to it
N=$((20 * 1024 * 1024))
marker="visitor-secret-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
body=$(curl -sf --max-time 10 "http://127.0.0.1:$SPORT/?$marker") || fail "GET through the relayed client"
case $body in *"$marker"*) ;; *) fail "GET: $body" ;; esac
want=$(python3 "$HELP" sha "$N")
got=$(curl -sf --max-time 60 "http://127.0.0.1:$SPORT/bytes/$N" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "20 MiB download over TLS: sha256 $got, want $want"
head -c "$N" /dev/urandom >"$T/up.bin"
want=$(sha256sum <"$T/up.bin" | cut -d' ' -f1)
got=$(curl -sf --max-time 60 -X POST --data-binary @"$T/up.bin" "http://127.0.0.1:$SPORT/sha256" || true)
[ "$got" = "$want" ] || fail "20 MiB upload over TLS: sha256 $got, want $want"
sz=$(stat -c %s "$T/wire.bin")
[ "$sz" -gt $((2 * N)) ] || fail "the relay saw only $sz bytes: the traffic did not cross it"
for needle in "$marker" "$PASSWORD" "GET /" "HTTP/1.1"; do
	grep -qaF -- "$needle" "$T/wire.bin" && fail "the link shows '$needle' in the clear"
done
python3 - "$T/wire.bin" "$T/up.bin" <<'PY' || fail "upload bytes visible on the link"
import sys
wire, up = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
for off in range(0, len(up) - 64, len(up) // 16):
    if up[off:off + 64] in wire:
        raise SystemExit("64 bytes of the upload at %d appear on the link" % off)
PY
log "recording relay: $sz bytes of TLS, no marker, password or body in the clear; 20 MiB both ways exact"
kill "$CLIENT_PID" 2>/dev/null; wait "$CLIENT_PID" 2>/dev/null || true

# 2. One flipped bit on a pool connection.
S2=$(free_port); R2=$(free_port); L2=$(free_port)
python3 - "$L2" "$T/got" >"$T/recorder.log" 2>&1 <<'PY' &
import socket, sys, threading
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(16)
n = 0
def keep(c, path):
    data = b""
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            data += d
            open(path, "wb").write(data)
    except OSError:
        pass
while True:
    c, _ = ls.accept()
    n += 1
    threading.Thread(target=keep, args=(c, "%s.%d" % (sys.argv[2], n)), daemon=True).start()
PY
PIDS="$PIDS $!"
wait_for port_open "$L2" || fail "recorder"
write_server_config "$T/s2.yaml" "$S2" 4
start_server "$T/s2.yaml"
python3 "$TP" flip-relay "$R2" "$S2" 6000 "$T/flips" >>"$T/flip.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$R2" || fail "flip relay"
start_client "$R2" "$L2"
head -c 60000 /dev/urandom | base64 -w0 >"$T/body"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 -H 'Expect:' \
    --data-binary @"$T/body" "http://127.0.0.1:$S2/flip" || true)
grep -q "flipped byte 6000" "$T/flips" || fail "the relay flipped nothing"
[ "$code" != 200 ] || fail "the visitor's request succeeded with a flipped bit"
python3 - "$T/body" "$T" <<'PY' || fail "the service got altered bytes"
import glob, sys
body = open(sys.argv[1], "rb").read()
# Nothing at all is fine (the flipped record carried START too).
for path in glob.glob(sys.argv[2] + "/got.*"):
    got = open(path, "rb").read()
    start = got.find(b"\r\n\r\n") + 4
    if start < 4:
        continue
    part = got[start:]
    if part != body[:len(part)]:
        raise SystemExit("%s: %d body bytes, not a prefix of what was sent" % (path, len(part)))
    if len(part) == len(body):
        raise SystemExit("%s: the whole body arrived through a flipped link" % path)
PY
log "flipped bit: visitor got $code, the service $(ls "$T"/got.* 2>/dev/null | wc -l) connection(s), never an altered byte"
kill "$CLIENT_PID" 2>/dev/null; wait "$CLIENT_PID" 2>/dev/null || true

# 3. Pinned to server 1, pointed at server 3 (same users, its own key).
mkdir "$T/other"
S3=$(free_port)
write_server_config "$T/other/server.yaml" "$S3"
(cd "$T/other" && exec "$SERVER_BIN" -c "$T/other/server.yaml") >>"$T/server3.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$S3" || fail "server 3"
FP3=$("$SERVER_BIN" -c "$T/other/server.yaml" --fingerprint)
[ "$FP3" != "$FP" ] || fail "two servers made the same key"
set +e
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" timeout 10 "$CLIENT_BIN" -s "127.0.0.1:$S3" \
    -u admin -p "$LPORT" --fingerprint "$FP" -d) >"$T/pinned.log" 2>&1
rc=$?
set -e
[ $rc = 1 ] || fail "pinned client against another server: exit $rc"
grep -q "key has CHANGED: expected $FP (from --fingerprint), got $FP3" "$T/pinned.log" ||
    fail "no error naming both keys: $(cat "$T/pinned.log")"
grep -q "CHALLENGE_WAIT\|HASHING" "$T/pinned.log" && fail "the pinned client started a login"
grep -q "login attempt\|login failed\|logged in" "$T/server3.log" &&
    fail "server 3 saw a login from a client pinned elsewhere"
log "pinned client: refused server 3 (key $FP3), no login byte"

# 4. A man in the middle with a key of its own, in front of server 1.
M=$(free_port)
python3 "$TP" mitm "$M" "$SPORT" "$T/mitm" >>"$T/mitm.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$M" || fail "mitm"
set +e
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" timeout 10 "$CLIENT_BIN" -s "127.0.0.1:$M" \
    -u admin -p "$LPORT" --fingerprint "$FP") >"$T/mitm-pinned.log" 2>&1
rc=$?
set -e
[ $rc = 1 ] || fail "pinned client through the mitm: exit $rc"
grep -q "key has CHANGED" "$T/mitm-pinned.log" || fail "pinned client: $(cat "$T/mitm-pinned.log")"
grep -q "client HELLO\|client PROOF" "$T/mitm" && fail "the mitm got login frames from a pinned client"
# First contact through it: the key is trusted, the login is not.
before=$(grep -c "login failed" "$T/server.log" || true)
(cd "$T" && XDG_CONFIG_HOME="$T/fresh" TUNNEL_PASSWORD="$PASSWORD" exec "$CLIENT_BIN" \
    -s "127.0.0.1:$M" -u admin -p "$LPORT") >"$T/mitm-first.log" 2>&1 &
MC=$!; PIDS="$PIDS $MC"
wait_for grep -q "client PROOF" "$T/mitm" || fail "the unpinned client sent no proof: $(cat "$T/mitm")"
wait_for grep -q "server FAIL" "$T/mitm" || fail "the server did not refuse the relayed proof: $(cat "$T/mitm")"
sleep 0.5
grep -q "server WELCOME" "$T/mitm" && fail "the relayed login was accepted"
grep -q "tunnel up" "$T/mitm-first.log" && fail "the client believed the tunnel was up"
[ "$(grep -c "login failed" "$T/server.log" || true)" -gt "$before" ] ||
    fail "the server did not log the relayed login as failed"
kill "$MC" 2>/dev/null || true
# Its key was trusted for that try only: never recorded, as the server
# behind it never proved the password (else the real one is locked out).
if grep -q "127.0.0.1:$M SHA256:" "$T/fresh/tunnel/known_servers" 2>/dev/null; then
	fail "the unproven key was recorded: $(cat "$T/fresh/tunnel/known_servers")"
fi
log "mitm: pinned client sent nothing; relayed proof refused (bound to the client's channel); its key not recorded"

# 5. Transport mismatch, both ways.
set +e
# A FAIL before the server has proven itself is retried (anyone on the
# path could send it), its message logged once.
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" timeout 4 "$CLIENT_BIN" -s "127.0.0.1:$SPORT" \
    -u admin -p "$LPORT" --transport plain) >"$T/plain-client.log" 2>&1
rc=$?
set -e
[ $rc = 124 ] || fail "plain client, tls server: exit $rc, want it retrying"
[ "$(grep -c "refused transport: plain" "$T/plain-client.log")" = 1 ] ||
    fail "the mismatch is not logged exactly once: $(cat "$T/plain-client.log")"
grep -q "refused transport: plain: this server speaks transport: tls" "$T/plain-client.log" ||
    fail "plain client: $(cat "$T/plain-client.log")"
grep -q "this server speaks transport: tls and the client asked for plain" "$T/server.log" ||
    fail "tls server did not log the mismatch"
S5=$(free_port)
write_server_config "$T/plain.yaml" "$S5"
sed -i 's/^transport: tls$/transport: plain/' "$T/plain.yaml"
(cd "$T" && exec "$SERVER_BIN" -c "$T/plain.yaml") >>"$T/server5.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$S5" || fail "plain server"
grep -q "transport: plain: the tunnel link is NOT encrypted" "$T/server5.log" ||
    fail "plain server did not warn"
set +e
(cd "$T" && TUNNEL_PASSWORD="$PASSWORD" timeout 4 "$CLIENT_BIN" -s "127.0.0.1:$S5" \
    -u admin -p "$LPORT") >"$T/tls-client.log" 2>&1
rc=$?
set -e
[ $rc = 124 ] || fail "tls client, plain server: exit $rc, want it retrying"
grep -q "refused transport: tls: this server speaks transport: plain" "$T/tls-client.log" ||
    fail "tls client: $(cat "$T/tls-client.log")"
grep -q "this server speaks transport: plain and the client asked for tls" "$T/server5.log" ||
    fail "plain server did not log the mismatch"
log "transport mismatch: both sides say which to set"

# 6. Config mode: the key is appended, comments and mode kept; refills resume.
# The file is a symlink into a dotfiles directory, and (as root) owned
# by another user: both must survive the append.
# Its known_servers is empty: flags mode above recorded this server in
# the shared one, which a config without the key would follow.
mkdir -p "$T/cfgmode/dotfiles"
ln -s dotfiles/c.yaml "$T/cfgmode/c.yaml"
cat >"$T/cfgmode/dotfiles/c.yaml" <<YAML
# my laptop's tunnel
server_addr: 127.0.0.1:$SPORT   # the VPS
local_port: $LPORT
username: admin
password: "$PASSWORD"
YAML
chmod 640 "$T/cfgmode/c.yaml"
owner=$(id -un)
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chown nobody "$T/cfgmode/dotfiles/c.yaml"
	owner=nobody
fi
(cd "$T/cfgmode" && XDG_CONFIG_HOME="$T/cfgmode/xdg" exec "$CLIENT_BIN" -c c.yaml -d </dev/null) >"$T/cfgmode.log" 2>&1 &
CC=$!; PIDS="$PIDS $CC"
wait_for grep -q "tunnel up" "$T/cfgmode.log" || fail "config-mode client"
grep -q "^# my laptop's tunnel$" "$T/cfgmode/c.yaml" || fail "comment lost"
grep -q "# the VPS$" "$T/cfgmode/c.yaml" || fail "inline comment lost"
grep -qx "server_fingerprint: \"$FP\"" "$T/cfgmode/c.yaml" || fail "not pinned: $(cat "$T/cfgmode/c.yaml")"
if unix; then
	[ "$(stat -L -c %a "$T/cfgmode/c.yaml")" = 640 ] || fail "config mode changed to $(stat -L -c %a "$T/cfgmode/c.yaml")"
	[ "$(stat -c %U "$T/cfgmode/dotfiles/c.yaml")" = "$owner" ] ||
	    fail "config owner changed to $(stat -c %U "$T/cfgmode/dotfiles/c.yaml")"
fi
[ -L "$T/cfgmode/c.yaml" ] || fail "the symlinked config was replaced by a file"
# A function, so that each try counts again ($(...) in wait_for's
# arguments would be counted once, before the first try).
resumed_all() { [ "$(grep -c "TLS session resumed" "$T/cfgmode.log")" -ge 20 ]; }
wait_for resumed_all ||
    fail "pool refills did not resume: $(grep -c "TLS session resumed" "$T/cfgmode.log") of 20"
kill "$CC"; wait "$CC" 2>/dev/null || true
# The next start is pinned from the file: no new first-contact line.
(cd "$T/cfgmode" && XDG_CONFIG_HOME="$T/cfgmode/xdg" exec "$CLIENT_BIN" -c c.yaml </dev/null) >"$T/cfgmode2.log" 2>&1 &
CC=$!; PIDS="$PIDS $CC"
wait_for grep -q "tunnel up" "$T/cfgmode2.log" || fail "config-mode client, second start"
grep -q "first contact" "$T/cfgmode2.log" && fail "second start was a first contact again"
[ "$(grep -c server_fingerprint "$T/cfgmode/c.yaml")" = 1 ] || fail "fingerprint appended twice"
log "config mode: key appended with comments,$(unix && echo " mode, owner and") symlink kept; $(grep -c "TLS session resumed" "$T/cfgmode.log") refills resumed"

# 7. A config the client may not write (a read-only mount here; root's
# /etc file for a user elsewhere): the key and the password setting go
# to known_servers, and the next start is pinned from there, not asked.
if unix && unshare -m true 2>/dev/null; then
	mkdir -p "$T/rocfg" "$T/roxdg"
	cat >"$T/rocfg/c.yaml" <<YAML
server_addr: 127.0.0.1:$SPORT
local_port: $LPORT
username: admin
password: "$PASSWORD"
YAML
	ro_client() {
		XDG_CONFIG_HOME="$T/roxdg" unshare -m sh -c \
		    'mount --bind -o ro "$1" "$1" && exec "$2" -c "$1/c.yaml"' \
		    sh "$T/rocfg" "$CLIENT_BIN" </dev/null >"$1" 2>&1 &
		CC=$!; PIDS="$PIDS $CC"
	}
	ro_client "$T/ro1.log"
	wait_for grep -q "tunnel up" "$T/ro1.log" || fail "read-only config: $(cat "$T/ro1.log")"
	grep -q "keeping it in known_servers" "$T/ro1.log" || fail "no fallback said: $(cat "$T/ro1.log")"
	grep -qx "127.0.0.1:$SPORT $FP" "$T/roxdg/tunnel/known_servers" ||
	    fail "key not in known_servers: $(cat "$T/roxdg/tunnel/known_servers" 2>&1)"
	grep -q "^127.0.0.1:$SPORT admin \\$" "$T/roxdg/tunnel/known_servers" ||
	    fail "setting not in known_servers: $(cat "$T/roxdg/tunnel/known_servers")"
	grep -q server_fingerprint "$T/rocfg/c.yaml" && fail "the read-only config changed"
	kill "$CC"; wait "$CC" 2>/dev/null || true
	ro_client "$T/ro2.log"
	wait_for grep -q "tunnel up" "$T/ro2.log" || fail "read-only config, second start"
	grep -q "first contact" "$T/ro2.log" && fail "second start with a read-only config was a first contact again"
	[ "$(wc -l <"$T/roxdg/tunnel/known_servers")" = 2 ] ||
	    fail "known_servers grew: $(cat "$T/roxdg/tunnel/known_servers")"
	kill "$CC"; wait "$CC" 2>/dev/null || true
	log "read-only config: key and setting kept in known_servers, second start pinned"
else
	log "read-only config case skipped: no mount namespace here (or the Windows client)"
fi
