#!/usr/bin/env bash
# The server's first run writes a 0600 config with a random admin password
# shown once; the Go original's file loads unchanged; config mistakes stop
# the server with file:line:col and exit 2 before anything listens; the log
# file is 0600; --hash-password works from a pipe; CLI errors exit 2.
. "$(dirname "$0")/lib.sh"

# First run in an empty directory: it uses the default port 3339.
port_open 3339 && skip "port 3339 is taken on this machine"
mkdir "$T/first"
PORT=$(free_port)
(cd "$T/first" && exec "$SERVER_BIN") >"$T/first.log" 2>&1 &
FIRST=$!
PIDS="$PIDS $FIRST"
wait_for grep -q "listening on port" "$T/first.log" || fail "first run did not start"
cfg="$T/first/tunnel-server-config.yaml"
[ -f "$cfg" ] || fail "no config written"
[ "$(stat -c %a "$cfg")" = 600 ] || fail "config mode $(stat -c %a "$cfg")"
pw=$(sed -n 's/^ *password: //p' "$T/first.log" | head -n 1)
[ ${#pw} -ge 16 ] || fail "no generated password printed: $(cat "$T/first.log")"
grep -q -- "$pw" "$cfg" && fail "plaintext password stored in the config"
grep -q 'password: "\$y\$' "$cfg" || fail "config does not hold a yescrypt hash"
[ -f "$T/first/logs/info.log" ] || fail "logs/info.log not written"
[ "$(stat -c %a "$T/first/logs/info.log")" = 600 ] || fail "log mode"
grep -q -- "$pw" "$T/first/logs/info.log" && fail "password in the log file"
grep -q "port: 3339" "$cfg" || fail "default port not 3339"
python3 "$TOP/tests/integration/tunnelproto.py" login 3339 admin "$pw" >/dev/null ||
    fail "cannot log in with the printed password"
kill "$FIRST"; wait "$FIRST" 2>/dev/null || true
# A second start reuses the file and prints no password.
(cd "$T/first" && timeout 2 "$SERVER_BIN" -n) | grep -q "configuration OK" || fail "-n on generated file"

# The Go original's file, verbatim from its README, loads.
cat >"$T/go.yaml" <<'YAML'
port: 3339  # server listen port, default 3339
pool_size: 20  # proxy connection pool size, default 20
connect_timeout: 60 # connection timeout, default 60 seconds
users:
  - username: admin
    password: 123456
log:
  enable: true
  path: logs
YAML
"$SERVER_BIN" -c "$T/go.yaml" -n | grep -q "configuration OK" || fail "go-tunnel config rejected"
"$SERVER_BIN" -config "$T/go.yaml" -n >/dev/null || fail "-config flag"

# Mistakes: file:line:col, exit 2, nothing listens (timeout 5: a mistake
# that goes unnoticed starts the server, which must not hang the test).
P2=$(free_port)
printf 'port: %s\npool_sise: 20\nusers:\n  - username: a\n    password: b\n' "$P2" >"$T/typo.yaml"
set +e
out=$(timeout 5 "$SERVER_BIN" -c "$T/typo.yaml" 2>&1); rc=$?
set -e
[ $rc -eq 2 ] || fail "typo: exit $rc"
echo "$out" | grep -q "typo.yaml:2:1:.*pool_sise.*did you mean 'pool_size'" || fail "typo message: $out"
port_open "$P2" && fail "server listened despite a bad config"
printf 'port: 70000\nusers:\n  - username: a\n    password: b\n' >"$T/range.yaml"
set +e; out=$(timeout 5 "$SERVER_BIN" -c "$T/range.yaml" 2>&1); rc=$?; set -e
[ $rc -eq 2 ] && echo "$out" | grep -q "range.yaml:1:7:" || fail "range: $rc $out"
printf 'users:\n  - username: a\n    password: "$y$garbage"\n' >"$T/hash.yaml"
set +e; out=$(timeout 5 "$SERVER_BIN" -c "$T/hash.yaml" 2>&1); rc=$?; set -e
[ $rc -eq 2 ] && echo "$out" | grep -q "hash.yaml:3:" || fail "bad hash: $rc $out"
printf 'users:\n  - username: a\n    password: x\n  - username: a\n    password: y\n' >"$T/dup.yaml"
set +e; out=$(timeout 5 "$SERVER_BIN" -c "$T/dup.yaml" 2>&1); rc=$?; set -e
[ $rc -eq 2 ] && echo "$out" | grep -q "dup.yaml:4:" || fail "duplicate user: $rc $out"

# --hash-password from a pipe prints a yescrypt hash that logs in.
hash=$(printf 'pipe-secret\n' | "$SERVER_BIN" --hash-password)
case "$hash" in '$y$'*) ;; *) fail "hash-password printed '$hash'" ;; esac
P3=$(free_port)
printf 'port: %s\nusers:\n  - username: bob\n    password: "%s"\nlog:\n  enable: false\n' "$P3" "$hash" >"$T/hashed.yaml"
start_server "$T/hashed.yaml"
python3 "$TOP/tests/integration/tunnelproto.py" login "$P3" bob pipe-secret >/dev/null || fail "login with hashed password"
grep -q "plaintext password" "$T/server.log" && fail "hashed password warned as plaintext"

# On a terminal it asks twice, without echo; a mismatch is refused.
python3 - "$SERVER_BIN" <<'PY' || fail "--hash-password on a terminal"
import os, pty, sys, time, select
def run(first, second):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.argv[1], [sys.argv[1], "--hash-password"])
    out = b""
    def expect(s):
        nonlocal out
        end = time.time() + 10
        while s not in out:
            r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
            if not r:
                raise SystemExit("timeout waiting for %r in %r" % (s, out))
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
    expect(b"Password:"); os.write(fd, first + b"\r")
    expect(b"Again:"); os.write(fd, second + b"\r")
    try:
        expect(b"\n$y$" if first == second else b"differ")
    finally:
        _, st = os.waitpid(pid, 0)
    assert first not in out, "password echoed"
    return os.WEXITSTATUS(st)
assert run(b"tty-secret", b"tty-secret") == 0
assert run(b"tty-secret", b"other") != 0
PY

# CLI: --help, --version, unknown flags and missing values.
"$SERVER_BIN" --help | grep -q "usage: tunnel-server" || fail "--help"
"$SERVER_BIN" --version | grep -q "tunnel-server" || fail "--version"
"$CLIENT_BIN" --help | grep -q "usage: tunnel-client" || fail "client --help"
"$CLIENT_BIN" --version | grep -q "tunnel-client" || fail "client --version"
for bad in "--bogus" "-c"; do
	set +e; out=$("$SERVER_BIN" $bad 2>&1); rc=$?; set -e
	[ $rc -eq 2 ] || fail "server $bad: exit $rc"
	set +e; out=$("$CLIENT_BIN" $bad 2>&1); rc=$?; set -e
	[ $rc -eq 2 ] || fail "client $bad: exit $rc"
done
log "first run, go-tunnel file, config errors, hash-password, CLI: ok"
