#!/usr/bin/env bash
# The client remembers the password setting of its first login and
# refuses another one, as it refuses another server key (issue 12,
# point 1): an impostor met once cannot pick a cheaper hash later.
# 1. config mode: login_setting is appended after the first login;
# 2. a server with a plaintext password restarted: the same setting
#    (its salt comes from the server secret), the client logs in again;
# 3. the server's hash replaced (same password, new salt): the client
#    stops with both settings named, and derives nothing: no PROOF;
# 4. flags mode: the setting is kept in known_servers per user.
. "$(dirname "$0")/lib.sh"
SPORT=$(free_port); LPORT=$(free_port)
start_helper http http-server "$LPORT"
wait_for port_open "$LPORT" || fail "local service"
write_server_config "$T/server.yaml" "$SPORT"
start_server "$T/server.yaml"
mkdir "$T/laptop"
cat >"$T/laptop/c.yaml" <<YAML
server_addr: 127.0.0.1:$SPORT
local_port: $LPORT
username: admin
password: "$PASSWORD"
transport: $TRANSPORT
YAML
chmod 600 "$T/laptop/c.yaml"
(cd "$T/laptop" && exec "$CLIENT_BIN" -c c.yaml </dev/null) >"$T/c1.log" 2>&1 &
C=$!; PIDS="$PIDS $C"
wait_for grep -q "tunnel up" "$T/c1.log" || fail "first login"
setting=$(sed -n 's/^login_setting: "\(.*\)"$/\1/p' "$T/laptop/c.yaml")
case $setting in '$y$'*) ;; *) fail "login_setting not recorded: $(cat "$T/laptop/c.yaml")" ;; esac
log "config mode: login_setting $setting recorded"

# 2. Restart: a plaintext password keeps its setting.
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
start_server "$T/server.yaml"
wait_for sh -c "[ \$(grep -c 'tunnel up' '$T/c1.log') -ge 2 ]" ||
    fail "no login after the server restarted: $(tail -n 3 "$T/c1.log")"
grep -q "CHANGED" "$T/c1.log" && fail "the restart changed the setting"
kill "$C"; wait "$C" 2>/dev/null || true
log "server restarted (plaintext password): same setting, logged in again"

# 3. The hash replaced: same password, another salt.
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
hash=$(printf '%s\n' "$PASSWORD" | "$SERVER_BIN" --hash-password)
sed -i "s|password: \"$PASSWORD\"|password: \"$hash\"|" "$T/server.yaml"
grep -qF "$hash" "$T/server.yaml" || fail "hash not put in the server config"
mv "$T/server.log" "$T/server-1.log"
start_server "$T/server.yaml"
set +e
(cd "$T/laptop" && timeout 10 "$CLIENT_BIN" -c c.yaml </dev/null) >"$T/c2.log" 2>&1
rc=$?
set -e
[ $rc = 1 ] || fail "changed setting: exit $rc: $(cat "$T/c2.log")"
new=${hash%\$*}
grep -qF "has CHANGED: the first login used $setting, now it offers $new" "$T/c2.log" ||
    fail "no message naming both settings: $(cat "$T/c2.log")"
grep -q "login failed\|logged in" "$T/server.log" && fail "the client sent a proof for the new setting"
log "changed setting: refused, both named, no proof sent"

# 4. Flags mode: kept in known_servers, per user.
start_client "$SPORT" "$LPORT"
known="$T/.config/tunnel/known_servers"
wait_for grep -q "^127.0.0.1:$SPORT admin $new" "$known" ||
    fail "flags mode: setting not in known_servers: $(cat "$known" 2>&1)"
log "flags mode: setting kept in known_servers"
