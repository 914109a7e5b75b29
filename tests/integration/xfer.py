#!/usr/bin/env python3
"""Exact-byte transfers for the integrity tests (stdlib only).

  server PORT              the local service; the first line a visitor
                           sends picks the mode:
                             "up N\\n"    read N bytes + EOF, answer the
                                          SHA-256 hex and the count
                             "down N\\n"  send the N-byte stream, then FIN
                             "echo\\n"    echo everything, FIN after EOF
  client PORT MODE N       does the visitor's side and checks every byte:
                           up / down / both (echo: send N while reading N)
The byte stream for N is deterministic and generated in 1 MiB chunks, so
1 GiB transfers need no memory and no file.
"""
import hashlib
import random
import socket
import socketserver
import sys
import threading

CHUNK = 1 << 20


def stream(n):
    """Yields the deterministic stream of n bytes in chunks."""
    i = 0
    while n > 0:
        k = min(CHUNK, n)
        yield random.Random(i * 7919 + 13).randbytes(k)
        n -= k
        i += 1


def digest(n):
    h = hashlib.sha256()
    for c in stream(n):
        h.update(c)
    return h.hexdigest()


def read_line(sock):
    line = b""
    while not line.endswith(b"\n"):
        c = sock.recv(1)
        if not c:
            raise EOFError
        line += c
    return line.decode().split()


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        try:
            words = read_line(s)
            if words[0] == "up":
                h = hashlib.sha256()
                got = 0
                while True:
                    d = s.recv(CHUNK)
                    if not d:
                        break
                    h.update(d)
                    got += len(d)
                s.sendall(("%d %s\n" % (got, h.hexdigest())).encode())
                s.shutdown(socket.SHUT_WR)
            elif words[0] == "down":
                for c in stream(int(words[1])):
                    s.sendall(c)
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
            elif words[0] == "echo":
                while True:
                    d = s.recv(CHUNK)
                    if not d:
                        s.shutdown(socket.SHUT_WR)
                        break
                    s.sendall(d)
        except (EOFError, OSError):
            pass


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def recv_all_hash(s):
    h = hashlib.sha256()
    got = 0
    while True:
        d = s.recv(CHUNK)
        if not d:
            return got, h.hexdigest()
        h.update(d)
        got += len(d)


def client(port, mode, n):
    n = int(n)
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=120)
    want = digest(n)
    if mode == "up":
        s.sendall(b"up %d\n" % n)
        for c in stream(n):
            s.sendall(c)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            reply += d
        got, h = reply.decode().split()
        ok = int(got) == n and h == want
        detail = "service got %s bytes" % got
    elif mode == "down":
        s.sendall(b"down %d\n" % n)
        s.shutdown(socket.SHUT_WR)
        got, h = recv_all_hash(s)
        ok = got == n and h == want
        detail = "visitor got %d bytes" % got
    else:
        s.sendall(b"echo\n")
        result = {}

        def reader():
            result["r"] = recv_all_hash(s)
        t = threading.Thread(target=reader)
        t.start()
        for c in stream(n):
            s.sendall(c)
        s.shutdown(socket.SHUT_WR)
        t.join()
        got, h = result["r"]
        ok = got == n and h == want
        detail = "echo returned %d bytes" % got
    print("%s %s %d: %s (%s)" % ("OK" if ok else "MISMATCH", mode, n,
                                 "exact" if ok else "differs", detail))
    return 0 if ok else 1


def main():
    if sys.argv[1] == "server":
        Server(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
    else:
        sys.exit(client(*sys.argv[2:5]))


if __name__ == "__main__":
    main()
