#!/usr/bin/env python3
"""Local services and clients for the end-to-end tests (stdlib only).

Servers (run in the background by the tests):
  http-server PORT      HTTP/1.1: GET / -> hello; GET /bytes/N -> N
                        deterministic bytes (header X-SHA256); POST /sha256
                        -> hex SHA-256 of the body; GET /ws -> WebSocket echo
  echo-server PORT      echoes bytes; after the peer's EOF, echoes the rest
                        and shuts its own side (half-close)
  banner-server PORT    server speaks first: sends a banner, then echoes
  push-server PORT N    sends N bytes then shuts down writing, keeps reading
                        and reports the SHA-256 of what it got at the end
  tls-server PORT DIR   (see tests: openssl s_server is used instead)

Clients:
  ws-client PORT MSG..  WebSocket handshake + echo of each message
  halfclose PORT N      sends N bytes, shuts writing, expects the echo + EOF
  push-client PORT N M  reads N bytes and EOF, then sends M more bytes
  banner-client PORT    connects silently, expects the banner first
  hold PORT N SECS      opens N WebSockets, holds them SECS seconds, checks
                        each still echoes at the end
  concurrent PORT N     N simultaneous GET / requests, all must succeed
  sha PATHSIZE          prints the SHA-256 of the deterministic N bytes
"""
import base64
import hashlib
import os
import random
import socket
import socketserver
import struct
import sys
import threading
import time

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def payload(n):
    """The deterministic body of /bytes/N."""
    return random.Random(n).randbytes(n)


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return bytes(buf)


def recv_until_eof(sock):
    buf = bytearray()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(buf)
        buf += chunk


def read_headers(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            raise EOFError("closed inside headers")
        data += chunk
    return data.decode("latin-1")


# ---------------------------------------------------------------- servers

class ThreadedTCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def ws_read_frame(sock):
    h = recv_exact(sock, 2)
    opcode = h[0] & 0x0F
    masked = h[1] & 0x80
    ln = h[1] & 0x7F
    if ln == 126:
        ln = struct.unpack("!H", recv_exact(sock, 2))[0]
    elif ln == 127:
        ln = struct.unpack("!Q", recv_exact(sock, 8))[0]
    mask = recv_exact(sock, 4) if masked else b"\0\0\0\0"
    data = bytearray(recv_exact(sock, ln))
    for i in range(len(data)):
        data[i] ^= mask[i % 4]
    return opcode, bytes(data)


def ws_frame(opcode, data, mask):
    head = bytes([0x80 | opcode])
    ln = len(data)
    mbit = 0x80 if mask else 0
    if ln < 126:
        head += bytes([mbit | ln])
    elif ln < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", ln)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", ln)
    if not mask:
        return head + data
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(data))
    return head + key + body


class HTTPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        try:
            while True:
                head = read_headers(sock)
                lines = head.split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                hdrs = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        hdrs[k.strip().lower()] = v.strip()
                if path == "/ws" and hdrs.get("upgrade", "").lower() == "websocket":
                    self.websocket(sock, hdrs)
                    return
                body = b""
                if "content-length" in hdrs:
                    body = recv_exact(sock, int(hdrs["content-length"]))
                extra = ""
                if method == "POST" and path == "/sha256":
                    out = (hashlib.sha256(body).hexdigest() + "\n").encode()
                elif path.startswith("/bytes/"):
                    out = payload(int(path[7:]))
                    extra = "X-SHA256: %s\r\n" % hashlib.sha256(out).hexdigest()
                elif path == "/":
                    out = b"hello from local\n"
                elif path == "/who":
                    # Which local service answered, and the Host it saw.
                    out = ("port %d host %s\n" % (sock.getsockname()[1],
                                                   hdrs.get("host", "-"))).encode()
                else:
                    out = b"echo %s %s %d\n" % (method.encode(), path.encode(), len(body))
                close = hdrs.get("connection", "").lower() == "close"
                sock.sendall(("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s%s\r\n" % (
                    len(out), extra, "Connection: close\r\n" if close else "")).encode() + out)
                if close:
                    return
        except (EOFError, ConnectionError, ValueError):
            return

    def websocket(self, sock, hdrs):
        accept = base64.b64encode(hashlib.sha1(
            (hdrs["sec-websocket-key"] + WS_GUID).encode()).digest()).decode()
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
        while True:
            opcode, data = ws_read_frame(sock)
            if opcode == 8:
                sock.sendall(ws_frame(8, data, False))
                return
            if opcode == 9:
                sock.sendall(ws_frame(10, data, False))
                continue
            sock.sendall(ws_frame(opcode, data, False))


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    sock.shutdown(socket.SHUT_WR)
                    return
                sock.sendall(data)
        except ConnectionError:
            return


class BannerHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        try:
            sock.sendall(b"SSH-2.0-TunnelTestBanner\r\n")
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                sock.sendall(data)
        except ConnectionError:
            return


def serve(handler, port, setup=None):
    srv = ThreadedTCP(("127.0.0.1", port), handler)
    if setup:
        setup(srv)
    srv.serve_forever()


def push_server(port, n):
    n = int(n)

    class Push(socketserver.BaseRequestHandler):
        def handle(self):
            sock = self.request
            sock.sendall(payload(n))
            sock.shutdown(socket.SHUT_WR)
            got = recv_until_eof(sock)
            print("push-server received %d bytes sha256 %s" % (
                len(got), hashlib.sha256(got).hexdigest()), flush=True)
    serve(Push, port)


# ---------------------------------------------------------------- clients

def connect(port, timeout=30):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
    s.settimeout(timeout)
    return s


def ws_open(port):
    s = connect(port)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % key).encode())
    head = read_headers(s)
    if not head.startswith("HTTP/1.1 101"):
        raise SystemExit("websocket handshake failed: %r" % head[:80])
    want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    if want not in head:
        raise SystemExit("bad Sec-WebSocket-Accept")
    return s


def ws_echo(s, msg):
    s.sendall(ws_frame(1, msg, True))
    op, data = ws_read_frame(s)
    if op != 1 or data != msg:
        raise SystemExit("websocket echo mismatch: %r" % data[:60])


def ws_client(port, *msgs):
    s = ws_open(port)
    for m in msgs:
        ws_echo(s, m.encode())
    big = os.urandom(200000)
    ws_echo(s, big)
    s.sendall(ws_frame(8, b"\x03\xe8", True))
    op, _ = ws_read_frame(s)
    if op != 8:
        raise SystemExit("no close frame")
    print("websocket ok: %d messages + 200000-byte frame" % len(msgs))


def halfclose(port, n):
    n = int(n)
    s = connect(port)
    data = payload(n)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = recv_until_eof(s)
    if got != data:
        raise SystemExit("half-close echo: got %d bytes, want %d" % (len(got), n))
    print("half-close ok: %d bytes echoed after our FIN, then EOF" % n)


def push_client(port, n, m):
    n, m = int(n), int(m)
    s = connect(port)
    got = recv_until_eof(s)
    if got != payload(n):
        raise SystemExit("push: got %d bytes, want %d" % (len(got), n))
    more = payload(m)
    s.sendall(more)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    print("push-client ok: read %d + EOF, then sent %d sha256 %s" % (
        n, m, hashlib.sha256(more).hexdigest()))


def banner_client(port):
    s = connect(port, timeout=10)
    line = b""
    while not line.endswith(b"\r\n"):
        c = s.recv(1)
        if not c:
            raise SystemExit("closed before the banner")
        line += c
    if line != b"SSH-2.0-TunnelTestBanner\r\n":
        raise SystemExit("bad banner %r" % line)
    s.sendall(b"ping\n")
    if recv_exact(s, 5) != b"ping\n":
        raise SystemExit("no echo after banner")
    print("banner ok")


def hold(port, n, secs):
    n, secs = int(n), float(secs)
    socks = [ws_open(port) for _ in range(n)]
    print("holding %d websockets" % n, flush=True)
    time.sleep(secs)
    for i, s in enumerate(socks):
        ws_echo(s, b"still here %d" % i)
    print("hold ok: %d websockets still echo" % n)


def concurrent(port, n):
    n = int(n)
    errors = []
    barrier = threading.Barrier(n)

    def one(i):
        try:
            barrier.wait()
            s = connect(port, timeout=60)
            s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % (1000 + i))
            resp = recv_until_eof(s)
            if not resp.startswith(b"HTTP/1.1 200") or not resp.endswith(payload(1000 + i)):
                errors.append("request %d: bad response %r" % (i, resp[:40]))
        except Exception as e:  # noqa: BLE001 - every failure counts
            errors.append("request %d: %s" % (i, e))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("%d of %d failed; first: %s" % (len(errors), n, errors[0]))
    print("concurrent ok: %d requests" % n)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    sys.setrecursionlimit(10000)
    if cmd == "http-server":
        serve(HTTPHandler, int(args[0]))
    elif cmd == "echo-server":
        serve(EchoHandler, int(args[0]))
    elif cmd == "banner-server":
        serve(BannerHandler, int(args[0]))
    elif cmd == "push-server":
        push_server(int(args[0]), args[1])
    elif cmd == "ws-client":
        ws_client(*args)
    elif cmd == "halfclose":
        halfclose(*args)
    elif cmd == "push-client":
        push_client(*args)
    elif cmd == "banner-client":
        banner_client(*args)
    elif cmd == "hold":
        hold(*args)
    elif cmd == "concurrent":
        concurrent(*args)
    elif cmd == "sha":
        print(hashlib.sha256(payload(int(args[0]))).hexdigest())
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
