#!/usr/bin/env bash
# The client's interactive questions on a pseudo-terminal, fed bad input
# (issue 4, "Bad input"): invalid server addresses, ports, timeouts,
# usernames and an empty password are each refused with a reason and asked
# again, and the valid answers that follow are the ones saved and used (the
# client logs in). Ctrl-C at the hidden password prompt, with part of a
# password typed, restores echo (checked with stty -a run in the same
# terminal after the client died) and the client dies of SIGINT (status
# 130); SIGTERM there restores echo too. The typed password never shows in
# the terminal output, and is in no file but the client's own saved config.
# The Windows client (under Wine) answers the same questions on its
# console; Ctrl-C at its password prompt exits 130 and leaves the console's
# echo on for the next program (a batch file's set /p); Windows has no
# SIGTERM.
. "$(dirname "$0")/lib.sh"
SPORT=$(free_port); LPORT=$(free_port)
start_helper http http-server "$LPORT"
wait_for port_open "$LPORT" || fail "local http service"
# The wizard's user has a hashed password, so its plaintext is in no file
# of the test unless the client writes it.
WPW="Wiz-Typed-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
HASH=$(printf '%s\n' "$WPW" | "$SERVER_BIN" --hash-password 2>/dev/null)
cat >"$T/server.yaml" <<YAML
port: $SPORT
pool_size: 4
users:
  - username: wiz
    password: "$HASH"
log:
  enable: false
YAML
"$SERVER_BIN" -n -c "$T/server.yaml" >/dev/null || fail "test config: $("$SERVER_BIN" -n -c "$T/server.yaml" 2>&1)"
start_server "$T/server.yaml"
mkdir "$T/laptop" "$T/laptop2" "$T/laptop3"

# 1. Bad answers are asked again; the valid ones are saved and work.
PYTHONPATH="$TOP/tests/integration" python3 - "$CLIENT_BIN" "$T/laptop" "$SPORT" "$LPORT" "$WPW" <<'PY' || fail "bad answers at the prompts"
import sys
from console import Console
binary, cwd, sport, lport, pw = sys.argv[1:]
c = Console([binary], cwd)

ADDR = "Server address (host:port) [127.0.0.1:3339]: "
c.expect(ADDR)
for bad in ["not-an-address", "host:", ":3339", "host:0", "host:65536", "host:80x",
            "host:-1", "::1:3339", "[::1]3339", "[::1", "[127.0.0.1]:80", "a b:80",
            "h/x:80", "host:3339:1"]:
    c.send(bad)
    c.expect("expected host:port")
    c.expect(ADDR)
c.send("127.0.0.1:" + sport)
PORTQ = "Local port to expose [8000]: "
c.expect(PORTQ)
for bad in ["0", "65536", "-1", "abc", "80x", "1e3", "0x50", "999999", "8 0"]:
    c.send(bad)
    c.expect("a port is a number from 1 to 65535")
    c.expect(PORTQ)
c.send("9" * 40)
c.expect("too long")
c.expect(PORTQ)
c.send(lport)
TQ = "Connect timeout in seconds [30]: "
c.expect(TQ)
for bad in ["0", "3601", "x", "-5"]:
    c.send(bad)
    c.expect("from 1 to 3600")
    c.expect(TQ)
c.send("")
UQ = "Username [admin]: "
c.expect(UQ)
for bad, why in [("a b", "no spaces"), ("x" * 64 + "y", "1 to 64 characters"),
                 ("x" * 200, "too long"), ("tab\there", "no spaces")]:
    c.send(bad)
    c.expect(why)
    c.expect(UQ)
c.send("wiz")
c.expect("Password: ")
c.send("")
c.expect("the password cannot be empty")
c.expect("Password: ")
c.send(pw)
# The server's key on first contact: only yes or no will do.
for bad in ("", "y e s", "YES!", "x" * 300):
    c.expect("Trust this server and remember its key? (yes/no): ")
    c.send(bad)
    c.expect("answer yes or no")
c.expect("(yes/no): ")
c.send("y")
c.expect("tunnel up", 20)
st = c.stop()
if pw in c.shown():
    raise SystemExit("the password appeared in the output")
if st != 0:
    raise SystemExit("stopped, the client exited %d, want 0" % st)
PY
f="$T/laptop/tunnel-client-config.yaml"
[ -f "$f" ] || fail "no config saved after the re-asked answers"
grep -q "server_addr: \"\{0,1\}127.0.0.1:$SPORT" "$f" || fail "server_addr saved: $(grep server_addr "$f")"
grep -q "local_port: $LPORT" "$f" || fail "local_port saved: $(grep local_port "$f")"
grep -q "username: \"\{0,1\}wiz" "$f" || fail "username saved: $(grep username "$f")"
grep -q "connect_timeout: 30" "$f" || fail "timeout saved: $(grep connect_timeout "$f")"
# The password is in the client's config (by design) and nowhere else.
others=$(grep -rlF -- "$WPW" "$T" | grep -vx "$f" || true)
[ -z "$others" ] || fail "the password is in: $others"

# 2. Ctrl-C at the password prompt, part of a password typed: echo is
# back on (stty -a in the same terminal afterwards), status 130, nothing
# saved. 3. The same with SIGTERM (status 143). On Windows the terminal is
# the console, shared with a batch file that runs the client and then
# reads a line with set /p: the line must show as it is typed. The Ctrl-C
# goes to the client alone (SIGINT, which Wine gives it as CTRL_C_EVENT):
# Wine's cmd would end the batch on one of its own.
PYTHONPATH="$TOP/tests/integration" python3 - "$CLIENT_BIN" "$T/laptop2" "$T/laptop3" "$WPW" "$T" <<'PY' || fail "signal at the password prompt"
import glob, os, re, signal, sys, termios, time
import console
from console import Console
binary, cwd2, cwd3, pw, tmp = sys.argv[1:]
typed = pw[:-2]

def client_pid(c):
    """The client's process in the terminal's session."""
    for d in glob.glob("/proc/[0-9]*"):
        try:
            pid = int(d[6:])
            if os.getsid(pid) == c.pid and pid != c.pid and \
                    b"tunnel-client" in open(d + "/cmdline", "rb").read():
                return pid
        except (OSError, ValueError):
            pass
    raise SystemExit("no client process under the terminal's session")

def start(cwd):
    if not console.WINDOWS:
        # sh catches INT/TERM (a handler, not SIG_IGN, so the client gets
        # the default), reports the client's status, then runs stty in
        # the same terminal.
        return Console(["/bin/sh", "-c", 'trap : INT TERM; "$0"; echo "client-exit=$?"; stty -a; echo stty-done',
                        binary], cwd)
    exe = "Z:" + os.environ["WIN_CLIENT"].replace("/", "\\")
    bat = os.path.join(tmp, "prompt.bat")
    with open(bat, "w", newline="\r\n") as f:
        f.write("@echo off\n%s\necho client-exit=%%errorlevel%%\nset /p LINE=after: \n" % exe)
    env = dict(os.environ, WINEDEBUG="-all", WINEDLLOVERRIDES="mscoree,mshtml=")
    return Console([os.environ.get("WINE", "/usr/lib/wine/wine64"), "cmd.exe", "/c",
                    "Z:" + bat.replace("/", "\\")], cwd, env)

def run(cwd, how):
    c = start(cwd)
    c.what = how
    c.expect("[127.0.0.1:3339]: "); c.send("127.0.0.1:1")
    c.expect("[8000]: "); c.send("")
    c.expect("[30]: "); c.send("")
    c.expect("[admin]: "); c.send("wiz")
    c.expect("Password: ")
    time.sleep(0.2)
    if not console.WINDOWS and termios.tcgetattr(c.fd)[3] & termios.ECHO:
        raise SystemExit("%s: echo is on at the password prompt" % how)
    c.type(typed)                # typed, no Enter
    time.sleep(0.3)
    if how == "sigterm":
        os.kill(client_pid(c), signal.SIGTERM)
        want = 128 + signal.SIGTERM
    elif console.WINDOWS:
        os.kill(client_pid(c), signal.SIGINT)
        want = 130
    else:
        c.ctrl_c()
        want = 130
    c.expect("client-exit=")
    if console.WINDOWS:
        c.expect("after: ")
        c.send("echo-is-back")
        c.expect("echo-is-back")
        c.kill()            # Wine's cmd does not end after set /p
    else:
        c.expect("stty-done")
        c.wait()
    text = c.shown()
    st = re.findall(r"client-exit=(\d+)", text)
    if st != [str(want)]:
        raise SystemExit("%s: client status %r, want %d" % (how, st, want))
    if not console.WINDOWS:
        stty = text[text.index("client-exit="):]
        words = stty.replace(";", " ").split()
        if "-echo" in words or "echo" not in words:
            raise SystemExit("%s: echo not restored; stty -a says: %s" % (how, stty))
    if typed in text:
        raise SystemExit("%s: the typed password appeared in the output" % how)
    if os.listdir(cwd):
        raise SystemExit("%s: files left behind: %r" % (how, os.listdir(cwd)))
    print("%s at the password prompt: status %d, echo restored" % (how, want))

run(cwd2, "ctrl-c")
if not console.WINDOWS:
    run(cwd3, "sigterm")
PY
typed=${WPW%??}
others=$(grep -rlF -- "$typed" "$T" | grep -vx "$f" || true)
[ -z "$others" ] || fail "the typed password is in: $others"
log "prompt: bad answers re-asked, $(unix && echo "Ctrl-C/SIGTERM restore echo (130/143)" || echo "Ctrl-C restores the console's echo (130)"), password in no output or file: ok"
