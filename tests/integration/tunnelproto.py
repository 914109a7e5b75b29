#!/usr/bin/env python3
"""The tunnel's wire protocol from the outside, for tests that play a
client, a hostile peer or a fake server (docs/protocol.md). stdlib only;
crypt(3) comes from libcrypt through ctypes.

Commands (exit 0 when the expectation holds):
  login PORT USER PASS            log in, print the session id
  replay-login PORT USER PASS     log in once, then replay the captured
                                  HELLO+PROOF bytes: must get FAIL 1
  register PORT USER PASS POOL    log in, register POOL proxies (accepted,
                                  one of them 1,000 counters late), one more
                                  (FAIL 7), a replay of the first (FAIL 6),
                                  a forged MAC (FAIL 6)
  unknown-user PORT USER          unknown and known users look alike
  version PORT                    version 1 preamble gets FAIL 2
  flood PORT N                    N wrong-password logins at once
  fail-many PORT N NET            N failed logins from N addresses
                                  127.0.NET.0, 127.0.NET.1, ...
  idle-preambles PORT A N SECS    A * N connections from 127.0.1.1..A
                                  sending only the preamble, kept open
                                  (reopened when closed) for SECS s
  abandon-logins PORT A N         from 127.0.2.1..A: N failed logins
                                  each, hung up during their delay
  fake-server PORT MODE           a server: MODE = badsig | pool0 | pool99999
                                  | oversized | close | slowsalt
                                  | fail-credentials (FAIL 1 after PROOF)
                                  | fail-version (FAIL 2 after HELLO);
                                  prints "connection" for each client
  fake-setting PORT SETTING       a server offering SETTING: says whether
                                  the client sends PROOF for it
  relay LPORT TPORT DUMP [both]   TCP relay that appends client->server
                                  bytes (both: and server->client) to DUMP
  flip-relay LPORT TPORT AT LOG   flips a bit AT bytes into the server's
                                  bytes on each proxy connection
  mitm LPORT TPORT LOG            terminates TLS with its own key, relays
                                  frames to the real server over its own

$TUNNEL_TRANSPORT (tls, the default, or plain) is what our connections
speak after the preamble, as the configs' transport key says.
"""
import collections
import ctypes
import ctypes.util
import hashlib
import hmac
import os
import select
import selectors
import socket
import ssl
import struct
import subprocess
import tempfile
import sys
import threading
import time

MAGIC = b"\x8eTUN"
VERSION = 4
TRANSPORT = os.environ.get("TUNNEL_TRANSPORT", "tls")
HELLO, CHALLENGE, PROOF, WELCOME, FAIL, PING, PONG = 1, 2, 3, 4, 5, 6, 7
REGISTER, START, STATUS = 0x10, 0x11, 0x12
WITHDRAW, WITHDRAWN = 0x09, 0x0a
SERVICE, ROUTE = 0x0b, 0x0c
LABEL = b"tunnel-login-v2"

_libcrypt = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
_libcrypt.crypt.restype = ctypes.c_char_p
_libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]


_crypt_lock = threading.Lock()


def crypt(pw, setting):
    # crypt(3) returns a static buffer: one caller at a time.
    with _crypt_lock:
        return _libcrypt.crypt(pw.encode(), setting.encode())


def preamble(transport=None):
    t = TRANSPORT if transport is None else transport
    return MAGIC + bytes([VERSION, 1 if t == "tls" else 0])


_libssl = None


def binding(sock):
    """RFC 9266 tls-exporter of an ssl.SSLSocket (b"" for a plain one).
    The ssl module has no call for it: libssl's, on the SSL * that the
    _ssl object holds right after its PyObject header and socket weakref
    (checked against SSL_get_fd before use)."""
    global _libssl
    if not isinstance(sock, ssl.SSLSocket):
        return b""
    if _libssl is None:
        _libssl = ctypes.CDLL(ctypes.util.find_library("ssl") or "libssl.so.3")
        _libssl.SSL_get_fd.argtypes = [ctypes.c_void_p]
        _libssl.SSL_export_keying_material.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
            ctypes.c_size_t, ctypes.c_int]
    ptr = ctypes.c_void_p.from_address(
        id(sock._sslobj) + 2 * ctypes.sizeof(ctypes.c_void_p) +
        ctypes.sizeof(ctypes.c_void_p)).value
    if _libssl.SSL_get_fd(ptr) != sock.fileno():
        raise SystemExit("cannot reach the SSL object for tls-exporter")
    out = ctypes.create_string_buffer(32)
    label = b"EXPORTER-Channel-Binding"
    if _libssl.SSL_export_keying_material(ptr, out, 32, label, len(label),
                                          None, 0, 0) != 1:
        raise SystemExit("tls-exporter failed")
    return out.raw


def client_tls(sock):
    """TLS 1.3 over a connected socket, the server's key unchecked."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx.wrap_socket(sock)


_server_ctx = None


def server_tls(sock):
    """The server side, with a throwaway key of our own."""
    global _server_ctx
    if _server_ctx is None:
        d = tempfile.mkdtemp()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ed25519",
                        "-nodes", "-subj", "/CN=fake", "-days", "1",
                        "-keyout", d + "/k", "-out", d + "/c"],
                       check=True, capture_output=True)
        _server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        _server_ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        _server_ctx.load_cert_chain(d + "/c", d + "/k")
        for f in ("k", "c"):
            os.unlink(d + "/" + f)
        os.rmdir(d)
    return _server_ctx.wrap_socket(sock, server_side=True)


def dial(port, timeout=10, src=None, transport=None):
    """A connection to the server, past its preamble (and TLS)."""
    if src is not None:
        s = socket.socket()
        s.bind((src, 0))
        s.settimeout(timeout)
        s.connect(("127.0.0.1", int(port)))
    else:
        s = socket.create_connection(("127.0.0.1", int(port)),
                                     timeout=timeout)
    t = TRANSPORT if transport is None else transport
    s.sendall(preamble(t))
    return client_tls(s) if t == "tls" else s


def frame(t, payload):
    return struct.pack("!BH", t, len(payload)) + payload


def s8(b):
    return bytes([len(b)]) + b


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        c = sock.recv(n - len(buf))
        if not c:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += c
    return buf


def read_frame(sock):
    t, ln = struct.unpack("!BH", recv_exact(sock, 3))
    return t, recv_exact(sock, ln)


def hm(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


def keys(salted):
    ck = hm(salted, b"Client Key")
    return ck, hashlib.sha256(ck).digest(), hm(salted, b"Server Key")


class Login:
    """One login; keeps what a client needs to register proxies."""

    def __init__(self, port, user, pw):
        self.sent = b""
        self.sock = dial(port)
        self.cnonce = os.urandom(24)
        self.send(frame(HELLO, s8(user.encode()) + self.cnonce))
        t, p = read_frame(self.sock)
        assert t == CHALLENGE, "want CHALLENGE, got %d %r" % (t, p)
        slen = p[0]
        self.setting = p[1:1 + slen].decode()
        self.snonce = p[1 + slen:]
        salted = crypt(pw, self.setting)
        ck, sk, svk = keys(salted)
        self.am = (LABEL + s8(user.encode()) + self.cnonce + self.snonce
                   + s8(self.setting.encode()) + s8(binding(self.sock)))
        proof = bytes(a ^ b for a, b in zip(ck, hm(sk, self.am)))
        self.send(frame(PROOF, proof))
        self.reply = read_frame(self.sock)
        self.ok = self.reply[0] == WELCOME
        if self.ok:
            p = self.reply[1]
            if p[:32] != hm(svk, self.am):
                raise SystemExit("server signature does not verify")
            self.sid = p[32:48]
            self.pool, self.hb, self.pport = struct.unpack("!HHH", p[48:54])
            self.skey = hm(ck, b"session" + self.am)
            self.counter = 0

    def send(self, b):
        self.sent += b
        self.sock.sendall(b)

    def register_bytes(self, sock, counter=None, mac=None):
        """REGISTER for the connection sock (its MAC covers its binding)."""
        if counter is None:
            self.counter += 1
            counter = self.counter
        c = struct.pack("!Q", counter)
        if mac is None:
            mac = hm(self.skey, b"proxy" + self.sid + c + s8(binding(sock)))
        return frame(REGISTER, self.sid + c + mac)


def expect_fail(sock, code, what):
    try:
        t, p = read_frame(sock)
    except (EOFError, ConnectionError) as e:
        raise SystemExit("%s: no FAIL frame (%s)" % (what, e))
    if t != FAIL or p[0] != code:
        raise SystemExit("%s: want FAIL %d, got type %d %r" % (what, code, t, p))
    return p


def idle_ok(sock, secs=0.5):
    """An accepted proxy connection stays open and silent."""
    sock.settimeout(secs)
    try:
        d = sock.recv(1)
        return False if d == b"" else ("data", d)
    except socket.timeout:
        return True


def cmd_login(port, user, pw):
    lg = Login(int(port), user, pw)
    if not lg.ok:
        raise SystemExit("login failed: %r" % (lg.reply,))
    print("session", lg.sid.hex())


def cmd_slowdown(port, user, pw, n):
    """n logins with a wrong password, one after the other: the server's
    FAIL must come after 0, 0.25, 0.5, 1, 2 ... s (never sooner); then the
    right password still logs in at once."""
    port, n = int(port), int(n)
    for i in range(n):
        s = dial(port, timeout=30)
        s.sendall(frame(HELLO, s8(user.encode()) + os.urandom(24)))
        t, p = read_frame(s)
        assert t == CHALLENGE
        t0 = time.monotonic()
        s.sendall(frame(PROOF, os.urandom(32)))
        t, p = read_frame(s)
        took = time.monotonic() - t0
        assert t == FAIL and p[0] == 1, (t, p)
        want = 0 if i == 0 else 0.25 * (1 << (i - 1))
        print("failure %d answered after %.3f s (at least %.2f)" % (i + 1, took, want))
        if took < want - 0.01 or took > want + 2:
            raise SystemExit("failure %d: FAIL after %.3f s, want %.2f s" % (i + 1, took, want))
        s.close()
    t0 = time.monotonic()
    lg = Login(port, user, pw)
    took = time.monotonic() - t0
    if not lg.ok or took > 1.5:
        raise SystemExit("right password after failures: ok=%s in %.3f s" % (lg.ok, took))
    print("right password: logged in after %.3f s" % took)


def cmd_replay_login(port, user, pw):
    lg = Login(int(port), user, pw)
    assert lg.ok, "first login must work"
    if pw.encode() in lg.sent:
        raise SystemExit("the password crossed the wire")
    s = dial(port)
    s.sendall(lg.sent[:lg.sent.index(bytes([PROOF, 0, 32]))])
    t, p = read_frame(s)
    assert t == CHALLENGE
    s.sendall(lg.sent[lg.sent.index(bytes([PROOF, 0, 32])):])
    expect_fail(s, 1, "replayed login")
    print("replayed login refused")


def cmd_register(port, user, pw, pool):
    port, pool = int(port), int(pool)
    lg = Login(port, user, pw)
    assert lg.ok
    conns = []
    s = dial(port)
    first = lg.register_bytes(s)
    s.sendall(first)
    conns.append(s)
    for _ in range(pool - 3):
        s = dial(port)
        s.sendall(lg.register_bytes(s))
        conns.append(s)
    # A REGISTER overtaken by 1,000 later ones (it waited in a long accept
    # queue) is still new: accepted.
    late = lg.counter + 1
    for counter in (late + 1000, late):
        s = dial(port)
        s.sendall(lg.register_bytes(s, counter=counter))
        conns.append(s)
        if counter != late and idle_ok(s) is not True:   # taken first
            raise SystemExit("registration %d refused" % counter)
    lg.counter = late + 1000
    for i, s in enumerate(conns):
        r = idle_ok(s)
        if r is not True:
            raise SystemExit("registration %d refused: %r" % (i + 1, r))
    s = dial(port)
    s.sendall(lg.register_bytes(s))
    expect_fail(s, 7, "registration beyond the pool size")
    s = dial(port)
    s.sendall(first)
    expect_fail(s, 6, "replayed registration")
    s = dial(port)
    s.sendall(lg.register_bytes(s, mac=os.urandom(32)))
    expect_fail(s, 6, "forged registration")
    s = dial(port)
    s.sendall(frame(REGISTER, os.urandom(16) + struct.pack("!Q", 1) + os.urandom(32)))
    expect_fail(s, 6, "registration for an unknown session")
    print("registration: %d accepted, over-pool/replay/forged/unknown refused" % pool)


def challenge_for(port, user):
    s = dial(port)
    s.sendall(frame(HELLO, s8(user.encode()) + os.urandom(24)))
    t, p = read_frame(s)
    assert t == CHALLENGE
    setting = p[1:1 + p[0]].decode()
    s.sendall(frame(PROOF, os.urandom(32)))
    t2, p2 = read_frame(s)
    return setting, (t2, p2)


def cmd_unknown_user(port, known):
    a1, fa = challenge_for(port, "no-such-user")
    a2, _ = challenge_for(port, "no-such-user")
    k, fk = challenge_for(port, known)
    if a1 != a2:
        raise SystemExit("fake salt not stable: %s vs %s" % (a1, a2))
    if len(a1) != len(k) or a1 == k:
        raise SystemExit("fake setting %s does not look like %s" % (a1, k))
    pre_a, pre_k = a1[:a1.rfind("$") + 1], k[:k.rfind("$") + 1]
    if pre_a != pre_k:
        raise SystemExit("fake setting family %s differs from %s" % (pre_a, pre_k))
    if fa != fk:
        raise SystemExit("answers differ: unknown %r, known %r" % (fa, fk))
    print("unknown user and wrong password look identical")


def cmd_version(port):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    s.sendall(MAGIC + b"\x01" + frame(HELLO, s8(b"admin") + os.urandom(24)))
    p = expect_fail(s, 2, "version 1")
    print("version mismatch answered:", p[2:].decode(errors="replace"))


def hello_held(port, src=None, user=b"nobody"):
    """A login left in progress: HELLO sent, CHALLENGE read, no PROOF."""
    s = dial(port, src=src)
    s.sendall(frame(HELLO, s8(user) + os.urandom(24)))
    return s


def cmd_handshake_cap(port, cap):
    """cap logins in progress from one address are allowed, one more is
    refused with FAIL 3 (busy), and closing them frees the slots."""
    cap = int(cap)
    held = []
    for _ in range(cap):
        s = hello_held(port)
        t, p = read_frame(s)
        if t != CHALLENGE:
            raise SystemExit("login %d of %d refused: %d %r" % (len(held) + 1, cap, t, p))
        held.append(s)
    s = hello_held(port)
    expect_fail(s, 3, "login %d from one address" % (cap + 1))
    for h in held:
        h.close()
    time.sleep(0.3)
    lg = Login(int(port), "nobody", "x")
    if lg.reply[0] != FAIL or lg.reply[1][0] != 1:
        raise SystemExit("slots not freed: %r" % (lg.reply,))
    print("logins in progress capped at %d per address" % cap)


def cmd_total_cap(port, total, per_addr):
    """total logins in progress spread over many source addresses
    (per_addr each, under the per-address cap) fill the server's total
    cap: one more, from a fresh address, is refused with FAIL 3 (busy)."""
    total, per_addr = int(total), int(per_addr)
    held = []
    i = 0
    while len(held) < total:
        s = hello_held(port, "127.0.1.%d" % (i // per_addr + 1))
        t, p = read_frame(s)
        if t != CHALLENGE:
            raise SystemExit("login %d of %d refused: %d %r" % (i + 1, total, t, p))
        held.append(s)
        i += 1
    s = hello_held(port, "127.0.2.1")
    expect_fail(s, 3, "login %d in total" % (total + 1))
    for h in held:
        h.close()
    print("logins in progress capped at %d in total" % total)


def failed_login(port, src, user=b"nobody", hang_up=None):
    """One login with a wrong proof from address src. Returns the answer
    (frame type, payload), or "left" when hang_up is a delay after the
    PROOF at which the socket is closed unanswered."""
    s = hello_held(port, src, user)
    try:
        t, p = read_frame(s)
        if t != CHALLENGE:
            return t, p
        s.sendall(frame(PROOF, os.urandom(32)))
        if hang_up is not None:
            time.sleep(hang_up)
            return "left"
        return read_frame(s)
    finally:
        s.close()


def answer_name(r):
    if r == "left":
        return r
    t, p = r
    return "FAIL %d" % p[0] if t == FAIL else "type %d" % t


def cmd_fail_many(port, n, first_net):
    """n failed logins, each from an address of its own (127.0.X.Y from
    X = first_net), 32 at a time: the per-address table's worth."""
    n, first_net = int(n), int(first_net)
    answers = collections.Counter()
    lock = threading.Lock()
    todo = list(range(n))

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            src = "127.0.%d.%d" % (first_net + i // 256, i % 256)
            try:
                k = answer_name(failed_login(port, src))
            except (OSError, EOFError) as e:
                k = "error %s" % type(e).__name__
            with lock:
                answers[k] += 1
    ts = [threading.Thread(target=worker) for _ in range(32)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("%d failed logins from %d addresses: %s" % (n, n, dict(answers)), flush=True)
    if answers["FAIL 1"] != n:
        raise SystemExit("not every wrong login got FAIL 1 (credentials): %s" % dict(answers))


def cmd_idle_preambles(port, naddr, per, secs):
    """naddr * per connections from 127.0.1.1.. that send the preamble and
    then nothing, kept at that number for secs seconds: each one the
    server closes is opened again at once. Prints "ready" once all are
    open, and at the end how long the server let them live."""
    naddr, per, secs = int(naddr), int(per), float(secs)
    sel = selectors.DefaultSelector()
    lives = []

    def open_one(src):
        s = socket.socket()
        s.bind((src, 0))
        s.settimeout(10)
        s.connect(("127.0.0.1", int(port)))
        s.sendall(preamble())
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, (src, time.monotonic()))
    for a in range(naddr):
        for _ in range(per):
            open_one("127.0.1.%d" % (a + 1))
    print("ready: %d idle preambles" % (naddr * per), flush=True)
    end = time.monotonic() + secs
    answers = collections.Counter()
    while time.monotonic() < end:
        for key, _ in sel.select(0.2):
            s = key.fileobj
            src, t0 = key.data
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if d:
                answers["FAIL %d" % d[3] if d[0] == FAIL and len(d) > 3 else "bytes"] += 1
                continue
            sel.unregister(s)
            s.close()
            lives.append(time.monotonic() - t0)
            open_one(src)
    n = len(sel.get_map())
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    lives.sort()
    print("idle preambles: %d held at the end; %d closed by the server, "
          "after %.2f..%.2f s (median %.2f); answers %s" % (
              n, len(lives), lives[0] if lives else -1,
              lives[-1] if lives else -1,
              lives[len(lives) // 2] if lives else -1, dict(answers)),
          flush=True)


def cmd_abandon_logins(port, naddr, per):
    """From 127.0.2.1.. (naddr addresses): one failed login each, answered
    at once, then per failed logins each at the same time, whose peers
    hang up 0.2 s after their PROOF, inside the server's growing delay.
    Then, from the first of those addresses, one more login, which must
    be refused (busy) while the delays the others left run: leaving early
    does not dodge the slowdown."""
    naddr, per = int(naddr), int(per)
    srcs = ["127.0.2.%d" % (a + 1) for a in range(naddr)]
    for src in srcs:
        r = answer_name(failed_login(port, src))
        if r != "FAIL 1":
            raise SystemExit("first failed login from %s: %s" % (src, r))
    errs = []

    def burst(src):
        held = []
        try:
            for _ in range(per):
                held.append(hello_held(port, src))
            for s in held:
                t, p = read_frame(s)
                if t != CHALLENGE:
                    errs.append("%s: %d %r" % (src, t, p))
            for s in held:
                s.sendall(frame(PROOF, os.urandom(32)))
            time.sleep(0.2)
        except (OSError, EOFError) as e:
            errs.append("%s: %s" % (src, e))
        for s in held:
            s.close()
    ts = [threading.Thread(target=burst, args=(src,)) for src in srcs]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        raise SystemExit("abandoned logins: %s" % errs[:3])
    print("%d failed logins abandoned during their delay, from %d addresses"
          % (naddr * per, naddr), flush=True)
    s = hello_held(port, srcs[0])
    expect_fail(s, 3, "a login from an address whose failed logins left early")
    print("the next login from %s: busy until the delays have run" % srcs[0], flush=True)


def cmd_flood(port, n):
    n = int(n)
    errs = []

    def one():
        try:
            lg = Login(int(port), "admin", "wrong-password")
            if lg.ok or lg.reply[0] != FAIL:
                errs.append("unexpected reply %r" % (lg.reply,))
        except Exception as e:  # noqa: BLE001
            errs.append(str(e))
    ts = [threading.Thread(target=one) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("flood: %d wrong logins, %d errors" % (n, len(errs)))


def accept_hello(c):
    """A fake server's side of an accepted connection: the preamble, TLS
    if it asks for it, then HELLO. Returns (connection, HELLO payload),
    or (None, None) after closing anything else."""
    pre = recv_exact(c, 6)
    if pre[:5] != MAGIC + bytes([VERSION]):
        c.close()
        return None, None
    if pre[5] == 1:
        c = server_tls(c)
    t, p = read_frame(c)
    if t != HELLO:
        c.close()
        return None, None
    return c, p


def cmd_fake_server(port, mode, pw="x"):
    """A server that knows the password pw (except in badsig mode) and then
    misbehaves as MODE says."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(16)
    while True:
        c, _ = ls.accept()
        print("connection", flush=True)
        try:
            c, p = accept_hello(c)
            if c is None:
                continue
            if mode == "fail-version":
                c.sendall(frame(FAIL, b"\x02" + s8(b"this server speaks 7")))
                c.close()
                continue
            user = p[1:1 + p[0]]
            cnonce = p[1 + p[0]:]
            setting = crypt("x", "$y$j9T$").decode()
            setting = setting[:setting.rfind("$")]
            if mode == "slowsalt":
                # The dearest setting the client allows (yescrypt, 256
                # MiB, about 1 s): the test stops the hashing child, as
                # a slow or overloaded laptop would be.
                setting = "$y$jDT$7GSuZPQdOlY3W8N5cUI8l/"
                c.sendall(frame(CHALLENGE, s8(setting.encode()) + os.urandom(24)))
                time.sleep(30)
                c.close()
                continue
            snonce = os.urandom(24)
            c.sendall(frame(CHALLENGE, s8(setting.encode()) + snonce))
            read_frame(c)
            if mode == "fail-credentials":
                c.sendall(frame(FAIL, b"\x01" + s8(b"unknown user or wrong password")))
                c.close()
                continue
            if mode == "close":
                c.close()
                continue
            if mode == "oversized":
                c.sendall(struct.pack("!BH", WELCOME, 60000) + b"x" * 1000)
                time.sleep(1)
                c.close()
                continue
            am = (LABEL + s8(user) + cnonce + snonce + s8(setting.encode())
                  + s8(binding(c)))
            _, _, svk = keys(crypt(pw, setting))
            sig = os.urandom(32) if mode == "badsig" else hm(svk, am)
            pool = {"pool0": 0, "pool99999": 50000}.get(mode, 20)
            c.sendall(frame(WELCOME, sig + os.urandom(16) + struct.pack("!HHH", pool, 10, 1) + s8(b"x:1")))
            time.sleep(1)
            c.close()
        except (EOFError, ConnectionError, ssl.SSLError):
            c.close()


def cmd_fake_setting(port, setting, wait="3"):
    """A fake server that offers SETTING in CHALLENGE to every client and
    prints, per connection, "PROOF for SETTING" if a PROOF comes back
    within WAIT seconds, else "no PROOF for SETTING (how)". A client that
    derives nothing from the password for a refused setting sends none."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(16)
    print("listening", flush=True)
    while True:
        c, _ = ls.accept()
        try:
            c, p = accept_hello(c)
            if c is None:
                continue
            c.sendall(frame(CHALLENGE, s8(setting.encode()) + os.urandom(24)))
            c.settimeout(float(wait))
            try:
                t, p = read_frame(c)
                how = "PROOF" if t == PROOF else "frame %d" % t
            except socket.timeout:
                how = "timeout"
            except (EOFError, ConnectionError, ssl.SSLError):
                how = "closed"
            if how == "PROOF":
                print("PROOF for %s" % setting, flush=True)
            else:
                print("no PROOF for %s (%s)" % (setting, how), flush=True)
        except (EOFError, OSError):
            pass
        c.close()


def cmd_serve(port, user, pw, mode, count="1"):
    """A minimal client: registers COUNT proxies and answers visitors
    with MODE: fail (STATUS ok=0 "test says no"), silent (never answers),
    echo (STATUS ok=1, then echoes), none (registers nothing), rst-once
    (the first proxy to receive START is closed unread, with a reset,
    and WITHDRAW about it is answered "never taken"; the rest echo)."""
    port = int(port)
    lg = Login(port, user, pw)
    assert lg.ok, "login failed"
    socks = []
    unread = set()          # counters of proxies closed without reading
    lock = threading.Lock()
    out_lock = threading.Lock()

    def say(msg):
        # One write per line: the threads' lines must not interleave.
        with out_lock:
            sys.stdout.write(msg + "\n")
            sys.stdout.flush()
    if mode != "none":
        for _ in range(int(count)):
            s = dial(port, timeout=None)
            s.sendall(lg.register_bytes(s))
            socks.append((s, lg.counter))
        if TRANSPORT == "tls":
            # The server's session tickets follow the handshake: read
            # them now, so that readable means START from here on.
            time.sleep(0.5)
            for s, _ in socks:
                s.setblocking(False)
                try:
                    s.recv(1)
                    raise SystemExit("bytes before any visitor")
                except ssl.SSLWantReadError:
                    pass
                s.setblocking(True)
    print("logged in, mode", mode, flush=True)

    def serve(s, counter):
        nonlocal mode
        try:
            if mode == "rst-once":
                select.select([s], [], [])
                with lock:
                    first = not unread
                    if first:
                        unread.add(counter)
                if first:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
                    s.close()
                    say("reset proxy %d unread" % counter)
                    return
            t, p = read_frame(s)
            if t != START:
                return
            say("START visitor %d" % struct.unpack("!Q", p[:8])[0])
            if mode == "fail":
                s.sendall(frame(STATUS, b"\x00" + s8(b"test says no")))
                s.close()
            elif mode in ("echo", "rst-once"):
                s.sendall(frame(STATUS, b"\x01" + s8(b"")))
                while True:
                    d = s.recv(65536)
                    if not d:
                        break
                    s.sendall(d)
                if isinstance(s, ssl.SSLSocket):
                    s.unwrap()      # close_notify: a clean end, no reset
                s.shutdown(socket.SHUT_WR)
            elif mode == "silent":
                time.sleep(3600)
        except (OSError, EOFError):
            pass
    for s, counter in socks:
        threading.Thread(target=serve, args=(s, counter), daemon=True).start()
    # Answer heartbeats so the session stays up, and WITHDRAW truthfully.
    lg.sock.settimeout(None)
    while True:
        try:
            t, p = read_frame(lg.sock)
        except (EOFError, OSError):
            return
        if t == PING:
            lg.sock.sendall(frame(PONG, p))
        elif t == WITHDRAW:
            (k,) = struct.unpack("!Q", p)
            with lock:
                taken = 0 if k in unread else 1
            say("WITHDRAW %d taken %d" % (k, taken))
            lg.sock.sendall(frame(WITHDRAWN, p + bytes([taken])))


def cmd_hello_raw(port, user_hex):
    """Sends a HELLO for a username given in hex (control bytes)."""
    s = dial(port)
    s.sendall(frame(HELLO, s8(bytes.fromhex(user_hex)) + os.urandom(24)))
    read_frame(s)
    s.sendall(frame(PROOF, os.urandom(32)))
    try:
        read_frame(s)
    except (EOFError, OSError):
        pass


def cmd_freeze_relay(lport, tport, flag, which="control"):
    """TCP relay that silences connections while both of their sockets
    stay open: a dead link, like a NAT entry that expired. which=control:
    once the file FLAG exists, the oldest connection still open (the
    control connection). which=pool: each time FLAG is touched, every
    connection open then except the oldest (the idle proxy pool);
    connections made later are forwarded."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(lport)))
    ls.listen(64)
    lock = threading.Lock()
    alive = set()
    state = {"frozen": set(), "mtime": None}

    def frozen(cid):
        try:
            mtime = os.stat(flag).st_mtime_ns
        except OSError:
            return False
        with lock:
            if state["mtime"] != mtime and alive:
                state["mtime"] = mtime
                if which == "pool":
                    state["frozen"] |= alive - {min(alive)}
                elif not state["frozen"]:
                    state["frozen"] = {min(alive)}
            return cid in state["frozen"]

    def pipe(a, b, cid):
        try:
            while True:
                while frozen(cid):
                    time.sleep(0.2)
                d = a.recv(65536)
                if not d:
                    break
                while frozen(cid):
                    time.sleep(0.2)
                b.sendall(d)
        except OSError:
            pass
        while frozen(cid):      # a silent link does not carry FIN either
            time.sleep(0.2)
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        with lock:
            alive.discard(cid)
    n = 0
    keep = []
    while True:
        c, _ = ls.accept()
        u = socket.create_connection(("127.0.0.1", int(tport)))
        keep.append((c, u))
        with lock:
            alive.add(n)
        threading.Thread(target=pipe, args=(c, u, n), daemon=True).start()
        threading.Thread(target=pipe, args=(u, c, n), daemon=True).start()
        n += 1


def cmd_delay_relay(lport, tport, secs, mode="delay"):
    """TCP relay that forwards the control connection (the one whose first
    frame is HELLO; over TLS, the first connection) untouched and holds
    every byte of every other one (the proxy pool) for SECS seconds each
    way, in order: a laptop whose uplink is busy, where the pool's
    queueing delay grows while the control link's pings stay fast. Bytes
    are read (so acknowledged) at once, as any middlebox or busy queue
    would. The server is dialled when a connection's first bytes are due,
    so it sees them at once.
    mode=mute: a pool connection's bytes from the client after its
    preamble and REGISTER are read and dropped (its FIN still passes):
    a path that lost the client's answers. Over TLS, REGISTER travels in
    the second application-data record (after the client's Finished)."""
    delay = float(secs)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(lport)))
    ls.listen(64)
    count = {"n": 0}
    count_lock = threading.Lock()

    def register_end(buf):
        """Where the client's REGISTER ends in buf, or None if not yet."""
        if buf[5:6] == b"\x00":
            return 6 + 3 + 56 if len(buf) >= 6 + 3 + 56 else None
        off, apps = 6, 0
        while off + 5 <= len(buf):
            ln = struct.unpack("!H", buf[off + 3:off + 5])[0]
            if off + 5 + ln > len(buf):
                return None
            apps += buf[off] == 0x17
            off += 5 + ln
            if apps == 2:
                return off
        return None

    def pipe(a, get_b, lag, first=b"", mute=False):
        q = collections.deque()
        cv = threading.Condition()

        def writer():
            b = None
            while True:
                with cv:
                    while not q:
                        cv.wait()
                    due, d = q.popleft()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                try:
                    if b is None:
                        b = get_b()
                    if d is None:
                        b.shutdown(socket.SHUT_WR)
                        return
                    b.sendall(d)
                except OSError:
                    return
        threading.Thread(target=writer, daemon=True).start()
        d = first
        seen = b""          # what the client sent, while muting is due
        limit = None        # bytes that pass, once known
        passed = 0
        while True:
            if d and mute:
                if limit is None:
                    seen += d
                    limit = register_end(seen)
                if limit is not None:
                    d = d[:max(0, limit - passed)]
                passed += len(d)
                if not d:
                    d = None    # dropped, not EOF
            if d is not None:
                with cv:
                    q.append((time.monotonic() + lag, d or None))
                    cv.notify()
                if not d:
                    return
            try:
                d = a.recv(65536)
            except OSError:
                d = b""

    def conn(c):
        first = b""
        while len(first) < 7:
            d = c.recv(7 - len(first))
            if not d:
                break
            first += d
        if first[5:6] == b"\x00":
            control = first[6:7] == bytes([HELLO])
        else:
            # The first connection that speaks (a port probe does not).
            with count_lock:
                control = first != b"" and count["n"] == 0
                count["n"] += first != b""
        lag = 0.0 if control else delay
        up = {}
        ready = threading.Event()

        def upstream():
            if "s" not in up:
                up["s"] = socket.create_connection(("127.0.0.1", int(tport)))
                ready.set()
            return up["s"]

        def back():
            ready.wait()
            pipe(up["s"], lambda: c, lag, None)
        threading.Thread(target=back, daemon=True).start()
        pipe(c, upstream, lag, first, mute=lag > 0 and mode == "mute")

    while True:
        c, _ = ls.accept()
        threading.Thread(target=conn, args=(c,), daemon=True).start()


def cmd_flip_relay(lport, tport, at, log):
    """TCP relay that flips one bit in the server's bytes to every proxy
    connection (all but the first connection, the control one), the
    byte AT bytes in: past the TLS handshake and tickets, inside what the
    server forwards of a visitor. Appends a line to LOG per flip."""
    at = int(at)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(lport)))
    ls.listen(64)

    def pipe(a, b, flip):
        off = 0
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if flip and off <= at < off + len(d):
                    d = bytearray(d)
                    d[at - off] ^= 0x10
                    d = bytes(d)
                    with open(log, "a") as f:
                        f.write("flipped byte %d\n" % at)
                off += len(d)
                b.sendall(d)
        except OSError:
            pass
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    n = 0
    while True:
        c, _ = ls.accept()
        first = c.recv(1, socket.MSG_PEEK)
        if not first:
            c.close()       # a port probe
            continue
        u = socket.create_connection(("127.0.0.1", int(tport)))
        threading.Thread(target=pipe, args=(c, u, False), daemon=True).start()
        threading.Thread(target=pipe, args=(u, c, n > 0), daemon=True).start()
        n += 1


def cmd_mitm(lport, tport, log):
    """A man in the middle: terminates the client's TLS with a key of its
    own, opens its own TLS connection to the real server, and relays the
    frames between the two, logging each one's type to LOG."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(lport)))
    ls.listen(64)
    names = {HELLO: "HELLO", CHALLENGE: "CHALLENGE", PROOF: "PROOF",
             WELCOME: "WELCOME", FAIL: "FAIL", REGISTER: "REGISTER",
             PING: "PING", PONG: "PONG"}
    lock = threading.Lock()

    def say(msg):
        with lock, open(log, "a") as f:
            f.write(msg + "\n")

    def relay(c, u):
        """Both directions in this one thread: an SSL object must never be
        read in one thread while another writes it (OpenSSL's rule; two
        threads here once garbled the stream into an EOF now and then)."""
        peer = {c: (u, "client"), u: (c, "server")}
        buf = {c: b"", u: b""}
        for x in (c, u):
            x.setblocking(False)

        def send(b, data):
            while data:
                try:
                    data = data[b.send(data):]
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError,
                        BlockingIOError):
                    select.select([b], [b], [], 1)
        try:
            while True:
                ready = [x for x in (c, u)
                         if isinstance(x, ssl.SSLSocket) and x.pending()]
                if not ready:
                    ready = select.select([c, u], [], [])[0]
                for a in ready:
                    b, who = peer[a]
                    try:
                        d = a.recv(65536)
                    except (ssl.SSLWantReadError, ssl.SSLWantWriteError,
                            BlockingIOError):
                        continue
                    except (OSError, ssl.SSLError) as e:
                        say("%s ended: %s" % (who, e.__class__.__name__))
                        return
                    if not d:
                        say("%s ended: EOFError" % who)
                        return
                    buf[a] += d
                    while len(buf[a]) >= 3:
                        t, ln = struct.unpack("!BH", buf[a][:3])
                        if len(buf[a]) < 3 + ln:
                            break
                        say("%s %s" % (who, names.get(t, str(t))))
                        send(b, buf[a][:3 + ln])
                        buf[a] = buf[a][3 + ln:]
        except (OSError, ssl.SSLError) as e:
            say("relay ended: %s" % e.__class__.__name__)
        finally:
            for x in (c, u):
                try:
                    x.close()
                except OSError:
                    pass

    def conn(c):
        try:
            pre = recv_exact(c, 6)
            c = server_tls(c)
            say("client trusted our key")
            u = dial(tport, timeout=None, transport="tls" if pre[5] else "plain")
        except (OSError, EOFError, ssl.SSLError) as e:
            say("client refused: %s" % e.__class__.__name__)
            c.close()
            return
        relay(c, u)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=conn, args=(c,), daemon=True).start()


def cmd_relay(lport, tport, dump, both=""):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(lport)))
    ls.listen(64)
    lock = threading.Lock()

    def pipe(a, b, record):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if record:
                    with lock, open(dump, "ab") as f:
                        f.write(d)
                b.sendall(d)
        except OSError:
            pass
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    while True:
        c, _ = ls.accept()
        u = socket.create_connection(("127.0.0.1", int(tport)))
        threading.Thread(target=pipe, args=(c, u, True), daemon=True).start()
        threading.Thread(target=pipe, args=(u, c, both == "both"), daemon=True).start()


def main():
    cmds = {
        "login": cmd_login, "replay-login": cmd_replay_login,
        "slowdown": cmd_slowdown,
        "register": cmd_register, "unknown-user": cmd_unknown_user,
        "version": cmd_version, "flood": cmd_flood,
        "fake-server": cmd_fake_server, "relay": cmd_relay,
        "fake-setting": cmd_fake_setting,
        "serve": cmd_serve, "hello-raw": cmd_hello_raw,
        "handshake-cap": cmd_handshake_cap,
        "freeze-relay": cmd_freeze_relay,
        "delay-relay": cmd_delay_relay,
        "total-cap": cmd_total_cap,
        "flip-relay": cmd_flip_relay, "mitm": cmd_mitm,
        "fail-many": cmd_fail_many, "idle-preambles": cmd_idle_preambles,
        "abandon-logins": cmd_abandon_logins,
    }
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
