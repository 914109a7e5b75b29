#!/usr/bin/env bash
# The client's first run: questions on a pseudo-terminal with defaults,
# hidden password, re-asked invalid answers, a 0600 file; no file and no
# terminal is exit 2 with a hint; EOF at a prompt saves nothing. On first
# contact the server's key is shown and confirmed, as ssh does, and saved.
. "$(dirname "$0")/lib.sh"
standard_setup
mkdir "$T/laptop"
FP=$("$SERVER_BIN" -c "$T/server.yaml" --fingerprint) || fail "--fingerprint"

python3 - "$CLIENT_BIN" "$T/laptop" "$SPORT" "$LPORT" "$PASSWORD" "$FP" <<'PY' || fail "interactive first run"
import os, pty, sys, time, select
binary, cwd, sport, lport, pw, fp = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.chdir(cwd)
    # Another machine: the server is not in its known_servers yet.
    os.environ["XDG_CONFIG_HOME"] = cwd + "/.config"
    os.execv(binary, [binary])
out = b""
def expect(s, timeout=10):
    global out
    end = time.time() + timeout
    while s.encode() not in out:
        r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
        if not r:
            raise SystemExit("timeout waiting for %r; got %r" % (s, out[-300:]))
        try:
            out += os.read(fd, 4096)
        except OSError:
            raise SystemExit("client ended early: %r" % out[-300:])
def send(s):
    os.write(fd, s.encode() + b"\r")
expect("[127.0.0.1:3339]"); send("not-an-address")
expect("expected host:port"); send("127.0.0.1:" + sport)
expect("[8000]"); send("99999")
expect("1 to 65535"); send(lport)
expect("[30]"); send("")
expect("[admin]"); send("")
expect("Password"); send(pw)
expect("Trust this server"); send("maybe")
if fp.encode() not in out:
    raise SystemExit("the key's fingerprint was not shown: %r" % out[-400:])
expect("answer yes or no"); send("yes")
expect("tunnel up", 20)
if pw.encode() in out:
    raise SystemExit("the password was echoed")
os.kill(pid, 15)
_, status = os.waitpid(pid, 0)
if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
    raise SystemExit("SIGTERM did not exit 0: %r" % status)
PY
f="$T/laptop/tunnel-client-config.yaml"
[ -f "$f" ] || fail "no config saved"
[ "$(stat -c %a "$f")" = 600 ] || fail "client config mode $(stat -c %a "$f")"
grep -q "local_port: $LPORT" "$f" || fail "local_port not saved: $(cat "$f")"
grep -qx "server_fingerprint: \"$FP\"" "$f" || fail "key not pinned: $(cat "$f")"
# The saved file is used on the next start, no questions asked.
(cd "$T/laptop" && XDG_CONFIG_HOME="$T/laptop/.config" exec "$CLIENT_BIN" </dev/null) >"$T/second.log" 2>&1 &
PIDS="$PIDS $!"
wait_for grep -q "tunnel up" "$T/second.log" || fail "second start from the saved file"

# No file, no terminal: exit 2 with a hint.
mkdir "$T/empty"
set +e
out=$(cd "$T/empty" && "$CLIENT_BIN" </dev/null 2>&1); rc=$?
set -e
[ $rc -eq 2 ] || fail "no file, no tty: exit $rc"
echo "$out" | grep -q "from a terminal" || fail "no hint: $out"

# EOF at a prompt: non-zero, nothing saved, never a default password.
python3 - "$CLIENT_BIN" "$T/empty" <<'PY' || fail "EOF at prompt"
import os, pty, sys, time
binary, cwd = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.chdir(cwd)
    os.execv(binary, [binary])
time.sleep(0.5)
os.write(fd, b"\x04")
_, status = os.waitpid(pid, 0)
assert os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0, status
PY
[ ! -e "$T/empty/tunnel-client-config.yaml" ] || fail "config saved after EOF"
log "client first run on a pty, saved 0600 file reused, no-tty hint, EOF: ok"
