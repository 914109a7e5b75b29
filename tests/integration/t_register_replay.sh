#!/usr/bin/env bash
# Issue 12, point 4, played as the attacker. A login flood (1,024 logins
# left in progress from 16 addresses) fills the login caps. Meanwhile:
# - the client's REGISTER, which proves itself, must be accepted: never
#   "busy" because of other people's logins;
# - a forged REGISTER is refused for its MAC, not "busy": the MAC and the
#   counter are checked before anything else;
# - the REGISTER's bytes, captured on the path and replayed once the
#   flood is over, must be refused as a replay: the next visitor's
#   "GET /secret?token=abc" must reach the client, never the replayer.
# And a REGISTER refused for a full pool has used up its counter too: its
# bytes replayed once there is room are refused.
# transport: plain, where bytes on the path can be captured at all; over
# TLS each REGISTER's MAC also covers its own connection (t_tls, test_auth).
TRANSPORT=plain
. "$(dirname "$0")/lib.sh"
SPORT=$(free_port)
write_server_config "$T/server.yaml" "$SPORT" 2
start_server "$T/server.yaml"
python3 - "$SPORT" "$PASSWORD" "$TOP/tests/integration" <<'PY' >"$T/replay.log" 2>&1 || fail "$(cat "$T/replay.log")"
import os, socket, subprocess, sys, threading, time
port, pw = int(sys.argv[1]), sys.argv[2]
sys.path.insert(0, sys.argv[3])
import tunnelproto as tp

problems = []
lg = tp.Login(port, "admin", pw)          # the real client's login
assert lg.ok, "login"


def reg_bytes(**kw):
    """A plain connection's preamble and REGISTER, as they cross the wire."""
    return tp.preamble() + lg.register_bytes(None, **kw)


def register(data, src="127.0.0.1"):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(data)
    return s


def answer(s, secs=0.5):
    """'idle' (accepted: no answer), 'FAIL n', 'closed' or the bytes."""
    s.settimeout(secs)
    try:
        d = s.recv(4096)
    except socket.timeout:
        return "idle"
    except OSError:
        return "closed"
    if not d:
        return "closed"
    if d[0] == tp.FAIL and len(d) > 3:
        return "FAIL %d" % d[3]
    return d

# The login flood: every login slot taken, in total.
held = []
for a in range(16):
    for _ in range(64):
        s = tp.hello_held(port, "127.0.1.%d" % (a + 1))
        t, p = tp.read_frame(s)
        assert t == tp.CHALLENGE, "flood login refused: %d %r" % (t, p)
        held.append(s)
check = tp.hello_held(port, "127.0.2.1")
assert answer(check, 2) == "FAIL 3", "the login caps are not full"
print("login caps full: 1,024 logins in progress, the next one busy")

captured = reg_bytes()          # counter 1, seen on the path
a = register(captured)
r = answer(a)
print("the client's REGISTER during the flood:", r)
if r != "idle":
    problems.append("a REGISTER that proves itself was refused during a "
                    "login flood: %r" % (r,))
forged = register(reg_bytes(mac=os.urandom(32)))
r = answer(forged)
print("a forged REGISTER during the flood:", r)
if r != "FAIL 6":
    problems.append("a forged REGISTER got %r, not FAIL 6 (its MAC is "
                    "checked after the caps)" % (r,))
for s in held:
    s.close()
time.sleep(0.5)

# After the flood: the captured bytes, replayed.
b = register(captured, "127.0.3.1")
r = answer(b)
print("the captured REGISTER replayed after the flood:", r)
if r != "FAIL 6":
    problems.append("the captured REGISTER, replayed, got %r: accepted" % (r,))
# The next visitor: whoever holds a pooled connection gets its bytes.
got = {}


def visit():
    try:
        v = socket.create_connection(("127.0.0.1", port), 5)
        v.sendall(b"GET /secret?token=abc HTTP/1.1\r\nHost: x\r\n\r\n")
        v.settimeout(3)
        v.recv(100)
    except OSError:
        pass
threading.Thread(target=visit, daemon=True).start()
for name, s in (("client", a), ("replayer", b)):
    d = answer(s, 2)
    got[name] = d
    if isinstance(d, bytes) and b"GET /secret?token=abc" not in d:
        try:
            s.settimeout(1)
            got[name] = d + s.recv(4096)
        except OSError:
            pass
if isinstance(got["replayer"], bytes):
    problems.append("the replayed REGISTER got the visitor: %r" % got["replayer"][:80])
if not (isinstance(got["client"], bytes) and b"GET /secret?token=abc" in got["client"]):
    problems.append("the client's connection did not get the visitor: %r" % (got["client"],))
else:
    print("the visitor's request reached the client's connection, not the replayer's")

# A REGISTER refused for a full pool (2) has used its counter as well.
more = [register(reg_bytes()) for _ in range(2)]
full = reg_bytes()
r = answer(register(full))
print("a REGISTER beyond the pool:", r)
if r != "FAIL 7":
    problems.append("a REGISTER beyond the pool got %r, not FAIL 7" % (r,))
more[0].close()                          # room again
time.sleep(0.3)
r = answer(register(full))
print("its bytes replayed once there is room:", r)
if r != "FAIL 6":
    problems.append("a REGISTER refused for a full pool, replayed, got %r" % (r,))
if problems:
    raise SystemExit("; ".join(problems))
PY
sed 's/^/# /' "$T/replay.log"
