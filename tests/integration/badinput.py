#!/usr/bin/env python3
"""Bad input for the tunnel server, from the outside (stdlib only; crypt(3)
through ctypes). The protocol basics come from tunnelproto.py; what is added here is a login that can write one byte at a time,
a source address to bind, and the hostile peers of the t_badinput_* tests.

Commands (exit 0 when every expectation holds; otherwise every failed
check is printed as "FAIL: ..." and the exit status is 1):
  wire PORT USER PASS [SLOW]
                          the tunnel port, server side: garbage after the
                          preamble; every frame type truncated then closed;
                          oversized and out-of-range lengths; frames at the
                          wrong time (before login, during it, after it, on
                          an idle proxy); a login and a registration written
                          one byte per write; pipelined bytes after HELLO,
                          PROOF and REGISTER; a 1 MiB frame trickled slowly.
                          USER must be a real user (with its own port, so
                          its sessions take no traffic from the main port);
                          SLOW multiplies the time limits (ASan, valgrind)
  stall PORT MIN MAX      a HELLO cut short, then silence: the server must
                          drop it after MIN..MAX seconds (the 3 s deadline
                          for a first frame)
  trickle PORT N FIRST LAST SECS
                          N connections from 127.0.0.FIRST..127.0.0.LAST,
                          each sends the preamble, then its HELLO one byte
                          every 2 s; prints "ready" once all are open; exits
                          0 if the server closed every one of them after at
                          least 2.5 s (under the cap on connections waiting
                          for a first frame: none dropped early) and within
                          SECS seconds of its preamble (the deadline)
  lookalikes PORT SLOW    public protocols that look like ours on the main
                          port, with a local echo service behind the client:
                          each comes back byte-identical, speaking peers
                          without the sniff delay
"""
import os
import random
import selectors
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The protocol basics are shared with the other test peers.
from tunnelproto import (  # noqa: E402
    CHALLENGE, FAIL, HELLO, LABEL, MAGIC, PING, PONG, PROOF, REGISTER, ROUTE,
    SERVICE, START, STATUS, VERSION, WELCOME, crypt, frame, hm, keys, read_frame, recv_exact, s8)

# Frames in the clear (transport: plain): the codec is what is attacked
# here; TLS around it is t_tls's.
PREAMBLE = MAGIC + bytes([VERSION, 0])
NAMES = {HELLO: "HELLO", CHALLENGE: "CHALLENGE", PROOF: "PROOF",
         WELCOME: "WELCOME", FAIL: "FAIL", PING: "PING", PONG: "PONG",
         REGISTER: "REGISTER", START: "START", STATUS: "STATUS",
         SERVICE: "SERVICE", ROUTE: "ROUTE"}
# docs/protocol.md section 7: payload length range per type.
RANGES = {HELLO: (26, 89), CHALLENGE: (26, 153), PROOF: (32, 32),
          WELCOME: (55, 135), FAIL: (2, 202), PING: (8, 8), PONG: (8, 8),
          REGISTER: (56, 56), START: (11, 171), STATUS: (2, 202),
          SERVICE: (4, 256), ROUTE: (8, 461)}
MAX_PAYLOAD = 512
SLOW = 1.0  # time limits are multiplied by this (ASan, valgrind)


def header(t, n):
    return struct.pack("!BH", t, n)


def connect(port, src=None, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if src:
        s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def send_split(sock, data):
    """One byte per write; TCP_NODELAY and a pause so that each byte goes
    out in a segment of its own."""
    for i in range(len(data)):
        sock.sendall(data[i:i + 1])
        time.sleep(0.002)


def drain(sock, timeout):
    """Reads until EOF, reset or timeout. Returns (bytes, how, seconds)."""
    t0 = time.monotonic()
    buf = b""
    end = t0 + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return buf, "timeout", time.monotonic() - t0
        sock.settimeout(left)
        try:
            d = sock.recv(65536)
        except socket.timeout:
            return buf, "timeout", time.monotonic() - t0
        except ConnectionResetError:
            return buf, "reset", time.monotonic() - t0
        if not d:
            return buf, "eof", time.monotonic() - t0
        buf += d


def frames_of(buf):
    out = []
    while len(buf) >= 3:
        t, ln = struct.unpack("!BH", buf[:3])
        if len(buf) < 3 + ln:
            out.append((t, None))  # cut short
            break
        out.append((t, buf[3:3 + ln]))
        buf = buf[3 + ln:]
    return out


def show(frames):
    return ", ".join("%s%s" % (NAMES.get(t, "type 0x%02x" % t),
                               "" if p is None or t != FAIL else
                               " %d %r" % (p[0], p[2:].decode(errors="replace")))
                     for t, p in frames) or "nothing"


class Login:
    """One login, as tunnelproto.Login, plus: split (one byte per write),
    src (source address), extra (bytes pipelined after PROOF)."""

    def __init__(self, port, user, pw, split=False, src=None, extra=b""):
        self.port, self.split, self.src = int(port), split, src
        self.sock = connect(self.port, src)
        self.cnonce = os.urandom(24)
        self.send(PREAMBLE + frame(HELLO, s8(user.encode()) + self.cnonce))
        t, p = read_frame(self.sock)
        if t != CHALLENGE:
            raise AssertionError("want CHALLENGE, got %s" % show([(t, p)]))
        slen = p[0]
        self.setting = p[1:1 + slen].decode()
        self.snonce = p[1 + slen:]
        ck, sk, svk = keys(crypt(pw, self.setting))
        self.am = (LABEL + s8(user.encode()) + self.cnonce + self.snonce
                   + s8(self.setting.encode()) + s8(b""))
        proof = bytes(a ^ b for a, b in zip(ck, hm(sk, self.am)))
        self.send(frame(PROOF, proof) + extra)
        self.reply = read_frame(self.sock)
        self.ok = self.reply[0] == WELCOME
        if self.ok:
            p = self.reply[1]
            if p[:32] != hm(svk, self.am):
                raise AssertionError("server signature does not verify")
            self.sid = p[32:48]
            self.pool, self.hb, self.pport = struct.unpack("!HHH", p[48:54])
            self.skey = hm(ck, b"session" + self.am)
            self.counter = 0

    def send(self, b):
        if self.split:
            send_split(self.sock, b)
        else:
            self.sock.sendall(b)

    def register_bytes(self):
        self.counter += 1
        c = struct.pack("!Q", self.counter)
        return PREAMBLE + frame(REGISTER, self.sid + c + hm(self.skey, b"proxy" + self.sid + c + s8(b"")))

    def proxy(self, split=False, extra=b""):
        s = connect(self.port, self.src)
        data = self.register_bytes() + extra
        if split:
            send_split(s, data)
        else:
            s.sendall(data)
        return s

    def close(self):
        self.sock.close()


def idle(sock, secs=0.5):
    """True if sock stays open and silent for secs."""
    sock.settimeout(secs)
    try:
        d = sock.recv(1)
    except socket.timeout:
        return True
    except OSError:
        return False
    return False  # closed (b"") or answered


# A well-formed frame of each type (the payloads of docs/protocol.md §5).
def sample(t):
    return {
        HELLO: s8(b"nosuchuser") + os.urandom(24),
        CHALLENGE: s8(b"$y$j9T$abcdefghijklmnopqrstuv") + os.urandom(24),
        PROOF: os.urandom(32),
        WELCOME: os.urandom(32) + os.urandom(16) + struct.pack("!HHH", 5, 10, 1234) + s8(b"192.0.2.1:1234"),
        FAIL: bytes([4]) + s8(b"test"),
        PING: struct.pack("!Q", 7),
        PONG: struct.pack("!Q", 7),
        REGISTER: os.urandom(16) + struct.pack("!Q", 1) + os.urandom(32),
        START: struct.pack("!Q", 1) + s8(b"192.0.2.1:1234") + s8(b"198.51.100.1:443") + b"\x00",
        SERVICE: b"\x01\x00" + s8(b"alice"),
        ROUTE: b"\x01\x01" + struct.pack("!HH", 80, 0) + s8(b"alice.example.com") + s8(b""),
        STATUS: b"\x01" + s8(b""),
    }[t]


class Checks:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def check(self, name, fn, *args):
        try:
            fn(*args)
            self.passed += 1
        except Exception as e:  # noqa: BLE001 (every failure is reported)
            self.failures.append("%s: %s" % (name, e))
            print("FAIL: %s: %s" % (name, e), flush=True)

    def done(self, what):
        print("%s: %d checks passed, %d failed" % (what, self.passed, len(self.failures)), flush=True)
        return 1 if self.failures else 0


def expect_fail_close(port, data, codes, within, src=None, after=None):
    """Sends data (after the CHALLENGE of a HELLO if after is a username),
    then wants one FAIL with a code in codes followed by the close, all
    within `within` seconds (times SLOW)."""
    within *= SLOW
    s = connect(port, src)
    if after:
        s.sendall(PREAMBLE + frame(HELLO, s8(after.encode()) + os.urandom(24)))
        t, p = read_frame(s)
        assert t == CHALLENGE, "want CHALLENGE, got %s" % show([(t, p)])
    s.sendall(data)
    buf, how, secs = drain(s, within + 1)
    s.close()
    fr = frames_of(buf)
    assert how != "timeout", "not closed within %.1f s (got %s)" % (within + 1, show(fr))
    assert secs <= within, "closed only after %.2f s (want <= %.1f s)" % (secs, within)
    assert len(fr) == 1 and fr[0][0] == FAIL and fr[0][1] is not None and fr[0][1][0] in codes, \
        "want FAIL %s then close, got %s then %s" % ("/".join(map(str, codes)), show(fr), how)


def expect_close(port, data, within, after=None, shut=True, allow_fail=True):
    """Sends data, shuts our side, wants the server to close within
    `within` s (times SLOW), having sent nothing but (optionally) a FAIL."""
    within *= SLOW
    s = connect(port)
    if after:
        s.sendall(PREAMBLE + frame(HELLO, s8(after.encode()) + os.urandom(24)))
        t, p = read_frame(s)
        assert t == CHALLENGE, "want CHALLENGE, got %s" % show([(t, p)])
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    buf, how, secs = drain(s, within + 1)
    s.close()
    fr = frames_of(buf)
    assert how != "timeout" and secs <= within, \
        "not closed within %.1f s (%s after %.2f s, got %s)" % (within, how, secs, show(fr))
    bad = [f for f in fr if f[0] != FAIL or not allow_fail]
    assert not bad, "unexpected answer %s" % show(fr)


# ------------------------------------------------------------------ wire

def cmd_wire(port, user, pw, slow="1"):
    global SLOW
    port, SLOW = int(port), float(slow)
    c = Checks()
    rnd = random.Random(4)

    # -- garbage after the preamble: FAIL 4 (protocol), then close.
    garbage = {
        "type 0x00": b"\x00\x00\x00",
        "type 0xff, 0xffff": b"\xff\xff\xff",
        "type 0x0b": b"\x0b\x00\x01x",
        "type 0x14": b"\x14\x00\x02ab",
        "REFRESH (server to client only)": b"\x08\x00\x00",
        "ACCEPTED with a payload": b"\x13\x00\x01x",
        "an HTTP request": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "300 random bytes": b"\x99" + bytes(rnd.randrange(256) for _ in range(299)),
        "HELLO with a 0-byte username": frame(HELLO, b"\x00" + b"A" * 25),
        "HELLO with a NUL in the username": frame(HELLO, s8(b"te\x00ster") + os.urandom(24)),
        "HELLO whose ulen overruns": frame(HELLO, b"\x0a" + b"admin" + os.urandom(24)),
        "HELLO whose ulen falls short": frame(HELLO, b"\x03" + b"admin" + os.urandom(24)),
        "HELLO with a 65-byte username": frame(HELLO, s8(b"a" * 65) + os.urandom(23)),
        "STATUS ok=2": frame(STATUS, b"\x02\x00"),
        "FAIL whose rlen overruns": frame(FAIL, b"\x04\x09ab"),
        "START whose plen overruns": frame(START, struct.pack("!Q", 1) + b"\x50" + b"1.2.3.4:5" + b"\x00"),
        "CHALLENGE with a bad setting character": frame(CHALLENGE, s8(b"$y$j9T$ab cd") + os.urandom(24)),
    }
    for name, data in garbage.items():
        c.check("garbage after the preamble: " + name, expect_fail_close, port, PREAMBLE + data, (4,), 1.0)
    c.check("garbage: preamble version 0xff gets FAIL 2", expect_fail_close, port, MAGIC + b"\xff", (2,), 1.0)
    c.check("garbage: preamble version 0 gets FAIL 2", expect_fail_close, port, MAGIC + b"\x00", (2,), 1.0)
    c.check("garbage: preamble version 1 (an older client) gets FAIL 2", expect_fail_close, port, MAGIC + b"\x01", (2,), 1.0)
    c.check("garbage: preamble version 2 (the release before START carried dst) gets FAIL 2", expect_fail_close, port, MAGIC + b"\x02\x00", (2,), 1.0)
    c.check("garbage: preamble version 3 (the release before SERVICE and ROUTE) gets FAIL 2", expect_fail_close, port, MAGIC + b"\x03\x00", (2,), 1.0)
    c.check("garbage: transport byte 7 gets FAIL 10", expect_fail_close, port, MAGIC + bytes([VERSION, 7]), (10,), 1.0)
    c.check("garbage: a ClientHello to a plain server gets FAIL 10 in the clear", expect_fail_close, port,
            MAGIC + bytes([VERSION, 1]) + b"\x16\x03\x01\x00\x05hello", (10,), 1.0)
    c.check("garbage: a REGISTER for no session gets FAIL 6", expect_fail_close, port,
            PREAMBLE + frame(REGISTER, sample(REGISTER)), (6,), 1.0)
    c.check("garbage in PROOF_WAIT", expect_fail_close, port, b"\xee" * 40, (4,), 1.0, None, user)

    # -- each frame type truncated, then the peer closes: the server closes
    # too, at once (not at the 10 s deadline).
    for t in RANGES:
        f = frame(t, sample(t))
        for cut in sorted({1, 2, 3, 3 + (len(f) - 3) // 2, len(f) - 1}):
            c.check("%s truncated to %d of %d bytes, then closed" % (NAMES[t], cut, len(f)),
                    expect_close, port, PREAMBLE + f[:cut], 1.5)
    for cut in (1, 2, 3, 4, 5):
        c.check("preamble truncated to %d bytes, then closed" % cut,
                expect_close, port, PREAMBLE[:cut], 1.5)
    for cut in (1, 3, 20):
        c.check("PROOF truncated to %d bytes in PROOF_WAIT, then closed" % cut,
                expect_close, port, frame(PROOF, os.urandom(32))[:cut], 1.5, user)

    # -- oversized or out-of-range declared lengths: refused from the header
    # alone, at once, without waiting for a payload.
    for t, (lo, hi) in RANGES.items():
        lens = {MAX_PAYLOAD + 1, 0xffff}
        if hi < MAX_PAYLOAD:
            lens.add(hi + 1)
        if lo > 0:
            lens.add(lo - 1)
        for n in sorted(lens):
            c.check("%s declaring %d bytes" % (NAMES[t], n), expect_fail_close, port,
                    PREAMBLE + header(t, n), (4,), 1.0)
    c.check("PROOF declaring 65535 bytes in PROOF_WAIT", expect_fail_close, port,
            header(PROOF, 0xffff), (4,), 1.0, None, user)

    # -- well-formed frames at the wrong time.
    for t in (PROOF, CHALLENGE, WELCOME, PING, PONG, START, STATUS, SERVICE, ROUTE):
        c.check("%s as the first frame" % NAMES[t], expect_fail_close, port,
                PREAMBLE + frame(t, sample(t)), (4,), 1.0)
    c.check("FAIL as the first frame: closed, no reply", expect_close, port,
            PREAMBLE + frame(FAIL, sample(FAIL)), 1.0, None, False, False)
    for t in (HELLO, REGISTER, CHALLENGE, WELCOME, PING, START, STATUS, SERVICE):
        data = frame(t, s8(user.encode()) + os.urandom(24)) if t == HELLO else frame(t, sample(t))
        c.check("%s instead of PROOF" % NAMES[t], expect_fail_close, port, data, (4,), 1.0, None, user)

    def on_session(t):
        lg = Login(port, user, pw)
        assert lg.ok, "login refused: %s" % show([lg.reply])
        data = frame(t, s8(user.encode()) + os.urandom(24)) if t == HELLO else frame(t, sample(t))
        lg.sock.sendall(data)
        buf, how, secs = drain(lg.sock, 3 * SLOW)
        lg.close()
        fr = [f for f in frames_of(buf) if f[0] not in (PING, PONG)]
        assert how != "timeout" and secs <= 2 * SLOW, \
            "control connection still open %.1f s after a %s (got %s)" % (secs, NAMES[t], show(fr))
        assert all(f[0] == FAIL for f in fr), "unexpected answer %s" % show(fr)
    for t in (HELLO, PROOF, REGISTER, START, STATUS, WELCOME, CHALLENGE, ROUTE):
        c.check("%s on a logged-in control connection" % NAMES[t], on_session, t)

    def service_order():
        lg = Login(port, user, pw)
        assert lg.ok
        lg.sock.sendall(frame(SERVICE, b"\x02\x00" + s8(b"alice")))
        buf, how, secs = drain(lg.sock, 3 * SLOW)
        lg.close()
        fr = [f for f in frames_of(buf) if f[0] not in (PING, PONG)]
        assert how != "timeout", "control connection still open after SERVICE 2 first"
        assert [f[0] for f in fr] == [FAIL] and fr[0][1][0] == 4, "want FAIL 4, got %s" % show(fr)
    c.check("SERVICE 2 before SERVICE 1 gets FAIL 4", service_order)

    def service_route():
        lg = Login(port, user, pw)
        assert lg.ok
        lg.sock.sendall(frame(SERVICE, b"\x01\x00" + s8(b"alice")))
        lg.sock.settimeout(3)
        while True:
            t, p = read_frame(lg.sock)
            if t == ROUTE:
                break
            assert t == PING, "want ROUTE, got %s" % show([(t, p)])
        # No front on this server: refused, with the reason, and the
        # session goes on.
        assert p[0] == 1 and p[1] == 0, "ROUTE %r" % p[:2]
        assert b"no HTTP front" in p, "ROUTE reason %r" % p
        lg.sock.sendall(frame(PING, struct.pack("!Q", 9)))
        while True:
            t, p = read_frame(lg.sock)
            if t == PONG:
                break
        lg.close()
    c.check("SERVICE without a front gets a ROUTE refusal, session goes on", service_route)

    def ping_pong():
        lg = Login(port, user, pw)
        assert lg.ok
        lg.sock.sendall(frame(PING, struct.pack("!Q", 4242)))
        lg.sock.settimeout(3)
        while True:
            t, p = read_frame(lg.sock)
            if t == PONG:
                assert p == struct.pack("!Q", 4242), "PONG seq %r" % p
                break
            assert t == PING, "want PONG, got %s" % show([(t, p)])
        lg.close()
    c.check("PING on a logged-in control connection gets its PONG", ping_pong)

    def on_idle_proxy(t):
        lg = Login(port, user, pw)
        assert lg.ok
        px = lg.proxy()
        assert idle(px, 0.3), "registration refused"
        px.sendall(frame(t, sample(t)))
        buf, how, secs = drain(px, 3 * SLOW)
        px.close()
        lg.close()
        assert how != "timeout" and secs <= 2 * SLOW, "idle proxy still open %.1f s after a %s" % (secs, NAMES[t])
        assert all(f[0] == FAIL for f in frames_of(buf)), "unexpected answer %s" % show(frames_of(buf))
    for t in (PING, STATUS, START, REGISTER, SERVICE):
        c.check("%s sent on an idle proxy connection" % NAMES[t], on_idle_proxy, t)

    # -- one byte per write: a whole login, a registration, a PING.
    def split_login():
        lg = Login(port, user, pw, split=True)
        assert lg.ok, "login written one byte per write refused: %s" % show([lg.reply])
        px = lg.proxy(split=True)
        assert idle(px, 0.5), "registration written one byte per write refused"
        send_split(lg.sock, frame(PING, struct.pack("!Q", 99)))
        lg.sock.settimeout(3)
        while True:
            t, p = read_frame(lg.sock)
            if t == PONG:
                break
            assert t == PING, "want PONG, got %s" % show([(t, p)])
        px.close()
        lg.close()
    c.check("a login, a REGISTER and a PING written one byte per write", split_login)

    # -- pipelined: bytes after HELLO that arrived with it must be looked
    # at, at once (not left in the buffer until the next read or the
    # 10 s deadline).
    def pipelined(extra, codes, src=None):
        s = connect(port, src)
        s.sendall(PREAMBLE + frame(HELLO, s8(user.encode()) + os.urandom(24)) + extra)
        buf, how, secs = drain(s, 3 * SLOW)
        s.close()
        fr = frames_of(buf)
        assert fr and fr[0][0] == CHALLENGE, "want CHALLENGE first, got %s" % show(fr)
        assert how != "timeout" and secs <= 2 * SLOW, \
            "the pipelined bytes were not handled: got %s, then nothing for %.1f s" % (show(fr), secs)
        assert len(fr) == 2 and fr[1][0] == FAIL and fr[1][1] is not None and fr[1][1][0] in codes, \
            "want CHALLENGE then FAIL %s, got %s then %s" % ("/".join(map(str, codes)), show(fr), how)
    c.check("HELLO + a PING in one write", pipelined, frame(PING, sample(PING)), (4,))
    c.check("HELLO + a second HELLO in one write", pipelined,
            frame(HELLO, s8(user.encode()) + os.urandom(24)), (4,))
    c.check("HELLO + 200 garbage bytes in one write", pipelined, b"\xee" * 200, (4,))
    c.check("HELLO + a (wrong) PROOF in one write", pipelined, frame(PROOF, os.urandom(32)), (1, 4),
            "127.0.1.1")

    def pipelined_header():
        s = connect(port)
        s.sendall(PREAMBLE + frame(HELLO, s8(user.encode()) + os.urandom(24)) + header(PROOF, 32))
        t, p = read_frame(s)
        assert t == CHALLENGE
        setting = p[1:1 + p[0]].decode()
        # Only to show the server kept the header: a PROOF that completes
        # it must be taken as a PROOF (wrong one: FAIL 1, not FAIL 4).
        s.sendall(os.urandom(32))
        buf, how, secs = drain(s, 3)
        s.close()
        fr = frames_of(buf)
        assert len(fr) == 1 and fr[0][0] == FAIL and fr[0][1][0] == 1, \
            "PROOF header sent with HELLO, payload later: want FAIL 1, got %s (%s)" % (show(fr), setting)

    def pipelined_header_login():
        # The same with the right proof: the login completes.
        s = connect(port)
        cn = os.urandom(24)
        s.sendall(PREAMBLE + frame(HELLO, s8(user.encode()) + cn) + header(PROOF, 32))
        t, p = read_frame(s)
        assert t == CHALLENGE
        setting = p[1:1 + p[0]].decode()
        sn = p[1 + p[0]:]
        ck, sk, _ = keys(crypt(pw, setting))
        am = LABEL + s8(user.encode()) + cn + sn + s8(setting.encode()) + s8(b"")
        s.sendall(bytes(a ^ b for a, b in zip(ck, hm(sk, am))))
        s.settimeout(3)
        t, p = read_frame(s)
        s.close()
        assert t == WELCOME, "want WELCOME, got %s" % show([(t, p)])
    c.check("PROOF header pipelined with HELLO, wrong proof later", pipelined_header)  # from 127.0.0.1: first failure, no delay
    c.check("PROOF header pipelined with HELLO, right proof later", pipelined_header_login)

    def proof_plus(extra):
        lg = None
        try:
            lg = Login(port, user, pw, extra=extra)
        except EOFError as e:
            raise AssertionError("closed without an answer: %s" % e)
        t, p = lg.reply
        if t == WELCOME:
            lg.sock.settimeout(3)
            while True:
                t, p = read_frame(lg.sock)
                if t == PONG:
                    break
                assert t == PING, "want PONG, got %s" % show([(t, p)])
        else:
            assert t == FAIL and p[0] == 4, "want WELCOME or FAIL 4, got %s" % show([(t, p)])
        lg.close()
    c.check("PROOF + a PING in one write (WELCOME+PONG or FAIL 4)", proof_plus, frame(PING, sample(PING)))

    def register_plus():
        lg = Login(port, user, pw)
        assert lg.ok
        px = lg.proxy(extra=b"GET / HTTP/1.1\r\n\r\n")
        buf, how, secs = drain(px, 3 * SLOW)
        fr = frames_of(buf)
        assert how != "timeout" and secs <= 2 * SLOW and fr and fr[0][0] == FAIL, \
            "REGISTER + extra bytes: want FAIL and close, got %s then %s after %.1f s" % (show(fr), how, secs)
        px.close()
        lg.close()
    c.check("REGISTER + extra bytes in one write", register_plus)

    # -- a 1 MiB frame trickled (4 KiB every 10 ms): the header alone says
    # too long, so the server answers and closes at once, having read
    # nowhere near the MiB.
    def trickle_mib():
        s = connect(port)
        s.sendall(PREAMBLE + header(HELLO, 0xffff))
        s.setblocking(False)
        t0 = time.monotonic()
        sent, got, closed = 0, b"", None
        chunk = b"x" * 4096
        while sent < (1 << 20) and time.monotonic() - t0 < 10:
            try:
                d = s.recv(4096)
                if d == b"":
                    closed = "eof"
                    break
                got += d
            except BlockingIOError:
                pass
            except OSError as e:
                closed = str(e)
                break
            try:
                sent += s.send(chunk)
            except BlockingIOError:
                pass
            except OSError as e:
                closed = str(e)
                break
            time.sleep(0.01)
        secs = time.monotonic() - t0
        s.close()
        assert closed, "the server read the whole MiB (%d bytes in %.1f s) without closing" % (sent, secs)
        assert secs <= 1.0 * SLOW, "closed only after %.2f s and %d bytes" % (secs, sent)
        assert sent <= 256 * 1024, "the server took %d bytes before closing" % sent
        fr = frames_of(got)
        assert all(f[0] == FAIL for f in fr), "unexpected answer %s" % show(fr)
    c.check("1 MiB frame trickled", trickle_mib)

    # -- nothing above leaked a handshake slot (64 per address): more than
    # 64 handshakes from 127.0.0.1 went by, a login still works.
    def still_logs_in():
        lg = Login(port, user, pw)
        assert lg.ok, "login refused after the bad input: %s" % show([lg.reply])
        lg.close()
    c.check("a login still works afterwards (no handshake slot leaked)", still_logs_in)
    sys.exit(c.done("wire"))


def cmd_stall(port, lo, hi):
    lo, hi = float(lo), float(hi)
    s = connect(port)
    f = frame(HELLO, s8(b"staller") + os.urandom(24))
    s.sendall(PREAMBLE + f[:10])
    buf, how, secs = drain(s, hi + 2)
    fr = frames_of(buf)
    if how == "timeout":
        raise SystemExit("truncated HELLO then silence: still open after %.1f s" % secs)
    if secs < lo or secs > hi:
        raise SystemExit("truncated HELLO then silence: dropped after %.2f s, want %.0f..%.0f s" % (secs, lo, hi))
    if any(f[0] != FAIL for f in fr):
        raise SystemExit("unexpected answer %s" % show(fr))
    print("stall: dropped after %.2f s (%s, %s)" % (secs, how, show(fr)))


def cmd_trickle(port, n, first, last, limit):
    port, n, first, last, limit = int(port), int(n), int(first), int(last), float(limit)
    rnd = random.Random(7)
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(n):
        src = "127.0.0.%d" % (first + i % (last - first + 1))
        s = connect(port, src, timeout=10)
        hello = frame(HELLO, s8(("slow%d" % i).encode()) + os.urandom(24))
        s.sendall(PREAMBLE)
        s.setblocking(False)
        st = {"sock": s, "src": src, "hello": hello, "pos": 0, "t0": time.monotonic(),
              "next": time.monotonic() + rnd.uniform(0, 2), "closed": None, "got": b""}
        conns.append(st)
        sel.register(s, selectors.EVENT_READ, st)
    print("ready: %d connections from 127.0.0.%d..%d, trickling" % (n, first, last), flush=True)
    start = time.monotonic()
    openn = n
    while openn and time.monotonic() - start < limit + 3:
        now = time.monotonic()
        nxt = min((c["next"] for c in conns if c["closed"] is None), default=now + 0.1)
        for key, _ in sel.select(max(0.0, min(0.2, nxt - now))):
            c = key.data
            try:
                d = c["sock"].recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if d:
                c["got"] += d
                continue
            c["closed"] = time.monotonic() - c["t0"]
            sel.unregister(c["sock"])
            c["sock"].close()
            openn -= 1
        now = time.monotonic()
        for c in conns:
            if c["closed"] is None and now >= c["next"] and c["pos"] < len(c["hello"]):
                try:
                    c["sock"].send(c["hello"][c["pos"]:c["pos"] + 1])
                    c["pos"] += 1
                except BlockingIOError:
                    pass
                except OSError:
                    pass  # seen as a close by the reader
                c["next"] = now + 2.0
    still = [c for c in conns if c["closed"] is None]
    for c in still:
        c["sock"].close()
    times = sorted(c["closed"] for c in conns if c["closed"] is not None)
    fails = {}
    for c in conns:
        for t, p in frames_of(c["got"]):
            key = "FAIL %d" % p[0] if t == FAIL and p else NAMES.get(t, "?")
            fails[key] = fails.get(key, 0) + 1
    print("trickle: %d of %d closed by the server, after %.2f..%.2f s; answers: %s; sent %d..%d bytes each"
          % (len(times), n, times[0] if times else -1, times[-1] if times else -1, fails or "none",
             min(c["pos"] for c in conns), max(c["pos"] for c in conns)), flush=True)
    if still:
        raise SystemExit("%d trickling connections still open %.0f s after their preamble" % (len(still), limit + 3))
    early = [t for t in times if t < 2.5]
    if early:
        raise SystemExit("%d trickling connections were closed within 2.5 s, under the caps (answers %s)"
                         % (len(early), fails))
    late = [t for t in times if t > limit]
    if late:
        raise SystemExit("%d trickling connections closed only after %.1f s (deadline 3 s)" % (len(late), max(late)))


# ------------------------------------------------------------------ look-alikes

def tls_client_hello():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="example.com")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    assert hello[:1] == b"\x16", "not a TLS record: %r" % hello[:8]
    return hello


def lookalike_once(port, data, timeout):
    """Returns (seconds to the first echoed byte, everything echoed)."""
    s = connect(port, timeout=timeout)
    t0 = time.monotonic()
    s.sendall(data)
    s.settimeout(timeout)
    try:
        got = s.recv(65536)
    except socket.timeout:
        raise AssertionError("no echo within %.0f s" % timeout)
    first = time.monotonic() - t0
    s.settimeout(2)
    try:
        while got and len(got) < len(data):
            d = s.recv(65536)
            if not d:
                break
            got += d
    except socket.timeout:
        pass  # compared below
    # Nothing more than what was sent.
    s.settimeout(0.1)
    try:
        extra = s.recv(65536)
        got += extra
    except socket.timeout:
        pass
    s.close()
    return first, got


def cmd_lookalikes(port, slow="1"):
    port, slow = int(port), float(slow)
    c = Checks()
    speaking = {
        "TLS ClientHello": tls_client_hello(),
        "SSH banner": b"SSH-2.0-OpenSSH_9.0\r\n",
        "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "PostgreSQL SSLRequest": bytes.fromhex("0000000804d2162f"),
        "a single zero byte": b"\x00",
        "PROXY v1 line": b"PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n",
        "PROXY v2 header": b"\r\n\r\n\x00\r\nQUIT\n" + b"\x21\x11\x00\x0c"
                           + socket.inet_aton("192.0.2.1") + socket.inet_aton("198.51.100.1")
                           + struct.pack("!HH", 56324, 443),
        "our magic with a wrong 4th byte": b"\x8eTUX rest of a visitor's bytes",
        "our magic cut short by a wrong 3rd byte": b"\x8eT\x00\x01",
    }
    silent = {
        "a single 0x8e byte, then nothing": b"\x8e",
        "the magic without the version, then nothing": MAGIC,
    }

    def speaking_check(name, data):
        # Best of three under 200 ms: the 250 ms sniff window must not be
        # spent on a peer that spoke (scheduling noise is random, a sniff
        # delay is not); every try under 1 s.
        times = []
        for _ in range(3):
            first, got = lookalike_once(port, data, 5 * slow)
            assert got == data, "echo differs: sent %d bytes %r..., got %d bytes %r..." % (
                len(data), data[:24], len(got), got[:24])
            assert first < 1.0 * slow, "first echo after %.3f s" % first
            times.append(first)
            if first < 0.2:
                break
        assert min(times) < 0.2 * slow, "first echo after %s s: the sniff window was waited" % (
            ", ".join("%.3f" % t for t in times))
        print("  %-45s %4d bytes, echoed in %.3f s" % (name, len(data), min(times)), flush=True)

    def silent_check(name, data):
        first, got = lookalike_once(port, data, 5 * slow)
        assert got == data, "echo differs: sent %r, got %r" % (data, got)
        assert first < 2.0 * slow, "first echo after %.3f s" % first
        print("  %-45s %4d bytes, echoed in %.3f s (after the sniff window)" % (name, len(data), first), flush=True)

    for name, data in speaking.items():
        c.check(name, speaking_check, name, data)
    for name, data in silent.items():
        c.check(name, silent_check, name, data)
    sys.exit(c.done("look-alikes"))


def main():
    cmds = {"wire": cmd_wire, "stall": cmd_stall, "trickle": cmd_trickle,
            "lookalikes": cmd_lookalikes}
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
