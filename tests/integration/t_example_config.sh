#!/usr/bin/env bash
# The shipped example's password is public, so a server never runs on it:
# its hash (the file copied as is) and the plain word are refused at load,
# by -n and at start, with file:line:col. tunnel-client -n checks a file
# (or flags) the same way without asking, writing or connecting.
. "$(dirname "$0")/lib.sh"
EX="$TOP/tunnel-server-config.yaml.example"
cp "$EX" "$T/server.yaml"
out=$("$SERVER_BIN" -n -c "$T/server.yaml" 2>&1) && fail "-n passed the example as shipped"
echo "$out" | grep -q "server.yaml:[0-9]*:[0-9]*: password: this is the example's password \"change-me\"" ||
    fail "-n on the example: $out"
set +e
(cd "$T" && "$SERVER_BIN" -c "$T/server.yaml") >"$T/start.out" 2>&1
rc=$?
set -e
[ $rc = 2 ] || fail "the server started on the example (exit $rc)"
grep -q "example's password" "$T/start.out" || fail "start on the example: $(cat "$T/start.out")"
sed -i 's/^    password: .*/    password: "change-me"/' "$T/server.yaml"
"$SERVER_BIN" -n -c "$T/server.yaml" >/dev/null 2>&1 && fail "the plain word change-me was accepted"
sed -i 's/^    password: .*/    password: "not-the-example"/' "$T/server.yaml"
[ "$("$SERVER_BIN" -n -c "$T/server.yaml" 2>/dev/null)" = "configuration OK" ] || fail "the example with its own password"
log "the example's hash and the word change-me are refused (-n and at start); with a password of one's own it loads"

[ "$("$CLIENT_BIN" -n -c "$TOP/tunnel-client-config.yaml.example")" = "configuration OK" ] || fail "client -n on its example"
printf 'server_addr: "127.0.0.1:1"\nusername: a\npassword: b\nlocal_prot: 80\n' >"$T/client.yaml"
out=$("$CLIENT_BIN" -n -c "$T/client.yaml" 2>&1) && fail "client -n passed a bad key"
echo "$out" | grep -q "client.yaml:4:1: unknown key 'local_prot'" || fail "client -n message: $out"
set +e
"$CLIENT_BIN" -n -c "$T/missing.yaml" </dev/null >/dev/null 2>&1
rc=$?
set -e
[ $rc = 2 ] || fail "client -n on a missing file exited $rc"
[ -e "$T/missing.yaml" ] && fail "client -n wrote a file"
[ "$(TUNNEL_PASSWORD=x "$CLIENT_BIN" -n -s 127.0.0.1:1 -u a)" = "configuration OK" ] || fail "client -n in flags mode"
log "tunnel-client -n: OK for its example and flags, file:line:col for a bad key, exit 2 for a missing file"
