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
python3 - "$CLIENT_BIN" "$T/laptop" "$SPORT" "$LPORT" "$WPW" <<'PY' || fail "bad answers at the prompts"
import os, pty, select, signal, sys, time
binary, cwd, sport, lport, pw = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.chdir(cwd)
    os.execv(binary, [binary])
out, pos = b"", 0
def expect(s, timeout=10):
    """Waits for s after everything matched so far."""
    global out, pos
    s = s.encode()
    end = time.time() + timeout
    while s not in out[pos:]:
        r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
        if not r:
            raise SystemExit("timeout waiting for %r; got %r" % (s, out[pos:][-400:]))
        try:
            d = os.read(fd, 4096)
        except OSError:
            d = b""
        if not d:
            raise SystemExit("client ended waiting for %r: %r" % (s, out[-400:]))
        out += d
    pos = out.index(s, pos) + len(s)
def send(s):
    os.write(fd, s.encode() + b"\r")

ADDR = "Server address (host:port) [127.0.0.1:3339]: "
expect(ADDR)
for bad in ["not-an-address", "host:", ":3339", "host:0", "host:65536", "host:80x",
            "host:-1", "::1:3339", "[::1]3339", "[::1", "[127.0.0.1]:80", "a b:80",
            "h/x:80", "host:3339:1"]:
    send(bad)
    expect("expected host:port")
    expect(ADDR)
send("127.0.0.1:" + sport)
PORTQ = "Local port to expose [8000]: "
expect(PORTQ)
for bad in ["0", "65536", "-1", "abc", "80x", "1e3", "0x50", "999999", "8 0"]:
    send(bad)
    expect("a port is a number from 1 to 65535")
    expect(PORTQ)
send("9" * 40)
expect("too long")
expect(PORTQ)
send(lport)
TQ = "Connect timeout in seconds [30]: "
expect(TQ)
for bad in ["0", "3601", "x", "-5"]:
    send(bad)
    expect("from 1 to 3600")
    expect(TQ)
send("")
UQ = "Username [admin]: "
expect(UQ)
for bad, why in [("a b", "no spaces"), ("x" * 64 + "y", "1 to 64 characters"),
                 ("x" * 200, "too long"), ("tab\there", "no spaces")]:
    send(bad)
    expect(why)
    expect(UQ)
send("wiz")
expect("Password: ")
send("")
expect("the password cannot be empty")
expect("Password: ")
send(pw)
# The server's key on first contact: only yes or no will do.
for bad in ("", "y e s", "YES!", "x" * 300):
    expect("Trust this server and remember its key? (yes/no): ")
    send(bad)
    expect("answer yes or no")
expect("(yes/no): ")
send("y")
expect("tunnel up", 20)
if pw.encode() in out:
    raise SystemExit("the password was echoed")
os.kill(pid, signal.SIGTERM)
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
if pw.encode() in out:
    raise SystemExit("the password appeared in the output")
if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0:
    raise SystemExit("SIGTERM: status %r" % st)
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
# saved. 3. The same with SIGTERM (status 143).
python3 - "$CLIENT_BIN" "$T/laptop2" "$T/laptop3" "$WPW" <<'PY' || fail "signal at the password prompt"
import os, pty, re, select, signal, sys, termios, time
binary, cwd2, cwd3, pw = sys.argv[1:]
typed = pw[:-2].encode()

def run(cwd, how):
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        # sh catches INT/TERM (a handler, not SIG_IGN, so the client gets
        # the default), reports the client's status, then runs stty in
        # the same terminal.
        os.execv("/bin/sh", ["sh", "-c", 'trap : INT TERM; "$0"; echo "client-exit=$?"; stty -a; echo stty-done',
                             binary])
    out = b""
    def expect(s, timeout=10):
        nonlocal out
        s = s.encode()
        end = time.time() + timeout
        while s not in out:
            r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
            if not r:
                raise SystemExit("%s: timeout waiting for %r; got %r" % (how, s, out[-400:]))
            try:
                d = os.read(fd, 4096)
            except OSError:
                d = b""
            if not d:
                raise SystemExit("%s: ended waiting for %r: %r" % (how, s, out[-400:]))
            out += d
    def send(s):
        os.write(fd, s.encode() + b"\r")
    expect("[127.0.0.1:3339]: "); send("127.0.0.1:1")
    expect("[8000]: "); send("")
    expect("[30]: "); send("")
    expect("[admin]: "); send("wiz")
    expect("Password: ")
    time.sleep(0.2)
    if termios.tcgetattr(fd)[3] & termios.ECHO:
        raise SystemExit("%s: echo is on at the password prompt" % how)
    os.write(fd, typed)          # typed, no Enter
    time.sleep(0.3)
    if how == "ctrl-c":
        os.write(fd, b"\x03")
        want = 130
    else:
        kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
        if len(kids) != 1:
            raise SystemExit("want one client process under sh, got %r" % kids)
        os.kill(int(kids[0]), signal.SIGTERM)
        want = 128 + signal.SIGTERM
    expect("stty-done")
    os.waitpid(pid, 0)
    text = out.decode(errors="replace")
    st = re.findall(r"client-exit=(\d+)", text)
    if st != [str(want)]:
        raise SystemExit("%s: client status %r, want %d" % (how, st, want))
    stty = text[text.index("client-exit="):]
    words = stty.replace(";", " ").split()
    if "-echo" in words or "echo" not in words:
        raise SystemExit("%s: echo not restored; stty -a says: %s" % (how, stty))
    if typed in out:
        raise SystemExit("%s: the typed password appeared in the output" % how)
    if os.listdir(cwd):
        raise SystemExit("%s: files left behind: %r" % (how, os.listdir(cwd)))
    print("%s at the password prompt: status %d, echo restored" % (how, want))

run(cwd2, "ctrl-c")
run(cwd3, "sigterm")
PY
typed=${WPW%??}
others=$(grep -rlF -- "$typed" "$T" | grep -vx "$f" || true)
[ -z "$others" ] || fail "the typed password is in: $others"
log "prompt: bad answers re-asked, Ctrl-C/SIGTERM restore echo (130/143), password in no output or file: ok"
