#!/usr/bin/env python3
"""Soak driver: mixed traffic through the tunnel for SECS seconds.

  soak.py PORT SECS

Short GETs (4 threads), 8 long-lived WebSockets echoing every second,
and bulk downloads/uploads of 1-16 MiB checked by SHA-256. Every 60 s
(and at the end) one line: operations ok, errors (connection refused or
reset, a 502: expected around the restarts the caller makes), checksum
mismatches and hung operations (no progress for 30 s). Exit 1 if any
mismatch or hung operation was seen, or a minute passed with no success.
"""
import hashlib
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helpers  # noqa: E402

PORT = int(sys.argv[1])
SECS = float(sys.argv[2])
END = time.time() + SECS
lock = threading.Lock()
stats = {"ok": 0, "errors": 0, "mismatch": 0, "hung": 0}
minute_ok = [0]


def count(kind, detail=None):
    with lock:
        stats[kind] += 1
        if kind == "ok":
            minute_ok[0] += 1
        if kind in ("mismatch", "hung") and detail:
            print("%s: %s" % (kind, detail), flush=True)


def http(req, timeout=30):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    s.settimeout(timeout)
    s.sendall(req)
    data = bytearray()
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        data += d
    s.close()
    return bytes(data)


def classify(fn):
    try:
        fn()
    except socket.timeout as e:
        count("hung", repr(e))
    except (OSError, EOFError, ValueError):
        count("errors")


def short():
    while time.time() < END:
        def op():
            r = http(b"GET / HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n")
            if r.startswith(b"HTTP/1.1 200"):
                if r.endswith(b"hello from local\n"):
                    count("ok")
                else:
                    count("mismatch", "short GET body %r" % r[-40:])
            else:
                count("errors")
        classify(op)
        time.sleep(0.01)


def bulk():
    rng = random.Random(7)
    while time.time() < END:
        n = rng.randint(1, 16) << 20

        def down():
            r = http(b"GET /bytes/%d HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n" % n, 60)
            if not r.startswith(b"HTTP/1.1 200"):
                count("errors")
                return
            body = r.split(b"\r\n\r\n", 1)[1]
            if body == helpers.payload(n):
                count("ok")
            elif len(body) < n:
                count("errors")      # cut by a restart: a visible close
            else:
                count("mismatch", "download of %d" % n)

        def up():
            data = rng.randbytes(n)
            r = http(b"POST /sha256 HTTP/1.1\r\nHost: s\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n" % n + data, 60)
            if not r.startswith(b"HTTP/1.1 200"):
                count("errors")
            elif r.split(b"\r\n\r\n", 1)[1].strip().decode() == hashlib.sha256(data).hexdigest():
                count("ok")
            else:
                count("mismatch", "upload of %d" % n)
        classify(down)
        classify(up)


def websocket(i):
    while time.time() < END:
        try:
            s = helpers.ws_open(PORT)
        except (OSError, EOFError, SystemExit):
            count("errors")
            time.sleep(0.5)
            continue
        k = 0
        try:
            while time.time() < END:
                msg = b"ws %d message %d" % (i, k)
                s.sendall(helpers.ws_frame(1, msg, True))
                op, data = helpers.ws_read_frame(s)
                if data == msg:
                    count("ok")
                else:
                    count("mismatch", "websocket echo %r" % data[:40])
                k += 1
                time.sleep(1)
        except socket.timeout as e:
            count("hung", "websocket %d: %r" % (i, e))
        except (OSError, EOFError):
            count("errors")
        s.close()


def main():
    threads = [threading.Thread(target=short) for _ in range(4)]
    threads.append(threading.Thread(target=bulk))
    threads += [threading.Thread(target=websocket, args=(i,)) for i in range(8)]
    for t in threads:
        t.daemon = True
        t.start()
    start = time.time()
    bad_minutes = 0
    while time.time() < END:
        time.sleep(min(60, max(0.1, END - time.time())))
        with lock:
            line = "minute %d: %s, ok this minute %d" % (
                round((time.time() - start) / 60), stats, minute_ok[0])
            if minute_ok[0] == 0:
                bad_minutes += 1
            minute_ok[0] = 0
        print(line, flush=True)
    for t in threads:
        t.join(timeout=70)
    print("soak: %s" % stats, flush=True)
    sys.exit(1 if stats["mismatch"] or stats["hung"] or bad_minutes else 0)


if __name__ == "__main__":
    main()
