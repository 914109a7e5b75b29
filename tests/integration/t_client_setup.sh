#!/usr/bin/env bash
# The client's first run: questions on a pseudo-terminal with defaults,
# hidden password, re-asked invalid answers, a 0600 file; no file and no
# terminal is exit 2 with a hint; EOF at a prompt saves nothing. On first
# contact the server's key is shown and confirmed, as ssh does, and saved;
# a SIGHUP (reload) meanwhile waits for the answer.
. "$(dirname "$0")/lib.sh"
standard_setup
mkdir "$T/laptop"
FP=$("$SERVER_BIN" -c "$T/server.yaml" --fingerprint) || fail "--fingerprint"

PYTHONPATH="$TOP/tests/integration" python3 - "$CLIENT_BIN" "$T/laptop" "$SPORT" "$LPORT" "$PASSWORD" "$FP" <<'PY' || fail "interactive first run"
import os, signal, sys, time
from console import Console, WINDOWS
binary, cwd, sport, lport, pw, fp = sys.argv[1:]
# Another machine: the server is not in its known_servers yet.
env = dict(os.environ, XDG_CONFIG_HOME=cwd + "/.config")
c = Console([binary], cwd, env)
c.expect("[127.0.0.1:3339]: "); c.send("not-an-address")
c.expect("expected host:port"); c.send("127.0.0.1:" + sport)
c.expect("[8000]: "); c.send("99999")
c.expect("1 to 65535"); c.send(lport)
c.expect("[30]: "); c.send("")
c.expect("[admin]: "); c.send("")
c.expect("Password: "); c.send(pw)
c.expect(fp)
c.expect("Trust this server and remember its key? (yes/no): ")
if not WINDOWS:
    # SIGHUP (reload) while the question waits: the client stays, and
    # reloads once it is answered.
    os.kill(c.pid, signal.SIGHUP)
    time.sleep(0.3)
c.send("maybe")
c.expect("answer yes or no"); c.send("yes")
asked = c.pos
c.expect("tunnel up", 20)
if not WINDOWS:
    c.pos = asked
    c.expect("SIGHUP: ", 5)
st = c.stop()
if pw in c.shown():
    raise SystemExit("the password was echoed")
if st != 0:
    raise SystemExit("stopped, the client exited %d, want 0" % st)
PY
f="$T/laptop/tunnel-client-config.yaml"
[ -f "$f" ] || fail "no config saved"
! unix || [ "$(stat -c %a "$f")" = 600 ] || fail "client config mode $(stat -c %a "$f")"
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

# EOF at a prompt: non-zero, nothing saved, never a default password;
# Ctrl-C: 130, nothing saved.
PYTHONPATH="$TOP/tests/integration" python3 - "$CLIENT_BIN" "$T/empty" <<'PY' || fail "EOF at prompt"
import os, sys
from console import Console
binary, cwd = sys.argv[1:]
c = Console([binary], cwd)
c.expect("[127.0.0.1:3339]: ")
c.eof()
st = c.wait()
if st == 0:
    raise SystemExit("EOF at the first question: exit 0")
# Ctrl-C at a question (not the hidden one): status 130, as for SIGINT.
c = Console([binary], cwd)
c.expect("[127.0.0.1:3339]: ")
c.type("127.0")
c.ctrl_c()
st = c.wait()
if st != 130:
    raise SystemExit("Ctrl-C at the first question: exit %d, want 130" % st)
PY
[ ! -e "$T/empty/tunnel-client-config.yaml" ] || fail "config saved after EOF"

# Ctrl-C at the last question, asked from inside the event loop (trust
# this server?): 130 at once, not after Enter; the key is not pinned.
mkdir "$T/laptop4"
PYTHONPATH="$TOP/tests/integration" python3 - "$CLIENT_BIN" "$T/laptop4" "$SPORT" "$LPORT" "$PASSWORD" <<'PY' || fail "Ctrl-C at the trust question"
import os, sys
from console import Console
binary, cwd, sport, lport, pw = sys.argv[1:]
env = dict(os.environ, XDG_CONFIG_HOME=cwd + "/.config")
c = Console([binary], cwd, env)
c.expect("[127.0.0.1:3339]: "); c.send("127.0.0.1:" + sport)
c.expect("[8000]: "); c.send(lport)
c.expect("[30]: "); c.send("")
c.expect("[admin]: "); c.send("")
c.expect("Password: "); c.send(pw)
c.expect("(yes/no): ")
c.ctrl_c()
st = c.wait(5)
if st != 130:
    raise SystemExit("Ctrl-C at the trust question: exit %d, want 130" % st)
PY
! grep -q "server_fingerprint" "$T/laptop4/tunnel-client-config.yaml" ||
    fail "the key was pinned after Ctrl-C at the trust question"
log "client first run on a $(unix && echo pty || echo console), saved $(unix && echo "0600 ")file reused, no-tty hint, EOF, Ctrl-C at a question and at the trust question: ok"
