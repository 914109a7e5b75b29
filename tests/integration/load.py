#!/usr/bin/env python3
"""Load and integrity drivers for t_load.sh (stdlib only).

  echo-server PORT [COUNT]    asyncio echo service (FIN after EOF), cheap
                              enough for thousands of idle connections;
                              with COUNT, appends one byte to that file per
                              connection accepted (its size is the count)
  many-xfer PORT N CONC MAX   N echo transfers of random sizes 0..MAX at
                              concurrency CONC, each checked byte for byte
  many-http PORT N CONC       N GET / with Connection: close, CONC at once
  idle PORT N HOLD [COUNT WINDOW STALL]
                              opens N connections that send nothing, holds
                              them HOLD seconds (prints "held N" once all
                              are open), then checks each still echoes.
                              With COUNT (the echo service's count file),
                              at most WINDOW of them are open without having
                              reached the service yet, and no progress for
                              STALL seconds is a failure ("stalled")
  trickle PORT SECS           one byte every 100 ms for SECS through echo
  slice-relay LPORT TPORT     relay forwarding in random segment sizes with
                              random pauses (both directions)
  slow-read PORT N RATE SECS  GET /bytes/N and read RATE bytes/s for SECS
"""
import asyncio
import hashlib
import os
import random
import socket
import sys
import threading
import time


COUNT_FD = None


async def _echo(reader, writer):
    if COUNT_FD is not None:
        os.write(COUNT_FD, b".")
    try:
        while True:
            d = await reader.read(65536)
            if not d:
                break
            writer.write(d)
            await writer.drain()
        writer.write_eof()
        await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


def echo_server(port, count=None):
    global COUNT_FD
    if count is not None:
        COUNT_FD = os.open(count, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    async def main():
        srv = await asyncio.start_server(_echo, "127.0.0.1", int(port), backlog=4096)
        async with srv:
            await srv.serve_forever()
    asyncio.run(main())


def one_xfer(port, n, rng):
    data = rng.randbytes(n)
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.settimeout(60)
    got = bytearray()
    err = []

    def reader():
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got.extend(d)
        except OSError as e:
            err.append(e)
    t = threading.Thread(target=reader)
    t.start()
    # Random write sizes: the tunnel must not care how bytes are cut.
    i = 0
    while i < n:
        k = rng.randint(1, 65536)
        s.sendall(data[i:i + k])
        i += k
    s.shutdown(socket.SHUT_WR)
    t.join()
    s.close()
    if err:
        return "error %s" % err[0]
    if bytes(got) != data:
        return "mismatch: %d bytes sent, %d back, sha %s vs %s" % (
            n, len(got), hashlib.sha256(data).hexdigest()[:12],
            hashlib.sha256(bytes(got)).hexdigest()[:12])
    return None


def run_pool(count, conc, fn):
    lock = threading.Lock()
    state = {"next": 0, "fail": [], "done": 0}

    def worker(wid):
        rng = random.Random(wid * 1000003)
        while True:
            with lock:
                i = state["next"]
                if i >= count:
                    return
                state["next"] += 1
            try:
                r = fn(i, rng)
            except Exception as e:  # noqa: BLE001 - every failure counts
                r = "exception %r" % e
            with lock:
                state["done"] += 1
                if r:
                    state["fail"].append("#%d: %s" % (i, r))
    ts = [threading.Thread(target=worker, args=(w,)) for w in range(conc)]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return state, time.time() - t0


def many_xfer(port, n, conc, maxsize):
    port, n, conc, maxsize = int(port), int(n), int(conc), int(maxsize)

    def fn(i, rng):
        size = rng.choice([0, 1, rng.randint(0, 4096), rng.randint(0, maxsize)])
        return one_xfer(port, size, rng)
    st, took = run_pool(n, conc, fn)
    print("many-xfer: %d transfers, %d failed, %.1f s" % (n, len(st["fail"]), took))
    for f in st["fail"][:5]:
        print("  ", f)
    return 1 if st["fail"] else 0


def many_http(port, n, conc):
    port, n, conc = int(port), int(n), int(conc)

    def fn(i, rng):
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        s.settimeout(60)
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
        if not (data.startswith(b"HTTP/1.1 200") and data.endswith(b"hello from local\n")):
            return "bad response %r" % data[:80]
        return None
    st, took = run_pool(n, conc, fn)
    print("many-http: %d requests, %d failed, %.1f s, %.0f req/s" % (
        n, len(st["fail"]), took, n / took))
    for f in st["fail"][:5]:
        print("  ", f)
    return 1 if st["fail"] else 0


def _count(path):
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def idle(port, n, hold, count=None, window=0, stall=30):
    """Paced by the service's count: a visitor that waits on the server
    for a proxy connection counts against the server's waiting cap
    (SRV_MAX_WAITING, 4,096), and 5,000 connections opened as fast as the
    kernel takes them (about 0.25 s here) outrun a client that bridges
    about 9,000 a second (3,500 under ASan): the cap, not a loss, turned the
    rest away. Keeping at most WINDOW of them short of the service keeps
    the test about idle visitors; one that never arrives stops the run."""
    port, n, hold = int(port), int(n), float(hold)
    window, stall = int(window), float(stall)
    base = _count(count) if count else 0
    socks = []
    peak = 0
    t0 = time.time()
    for i in range(n):
        if count:
            last, since = -1, time.time()
            while True:
                seen = _count(count) - base
                if i - seen < window:
                    break
                if seen != last:
                    last, since = seen, time.time()
                elif time.time() - since > stall:
                    print("idle: stalled: %d opened, %d reached the service "
                          "in %.0f s" % (i, seen, stall), flush=True)
                    return 1
                time.sleep(0.005)
            peak = max(peak, i - (_count(count) - base))
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        socks.append(s)
    print("held %d (opened in %.2f s, at most %d short of the service)" % (
        n, time.time() - t0, peak), flush=True)
    time.sleep(hold)
    bad = 0
    for i, s in enumerate(socks):
        msg = b"still here %d\n" % i
        try:
            s.settimeout(30)
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                d = s.recv(len(msg) - len(got))
                if not d:
                    break
                got += d
            if got != msg:
                bad += 1
        except OSError:
            bad += 1
    for s in socks:
        s.close()
    print("idle: %d connections held %.0f s, %d broken" % (n, hold, bad))
    return 1 if bad else 0


def trickle(port, secs):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    end = time.time() + float(secs)
    sent = bytearray()
    got = bytearray()
    i = 0
    while time.time() < end:
        b = bytes([i % 251])
        s.sendall(b)
        sent += b
        d = s.recv(1)
        if not d:
            print("trickle: closed after %d bytes" % len(got))
            return 1
        got += d
        i += 1
        time.sleep(0.1)
    s.shutdown(socket.SHUT_WR)
    rest = s.recv(16)
    ok = bytes(sent) == bytes(got) and rest == b""
    print("trickle: %d bytes one by one over %s s: %s" % (len(sent), secs, "exact" if ok else "MISMATCH"))
    return 0 if ok else 1


def slice_relay(lport, tport):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(lport)))
    ls.listen(512)

    def pipe(a, b, seed):
        rng = random.Random(seed)
        try:
            while True:
                d = a.recv(rng.choice([1, 7, 100, 1500, 65536]))
                if not d:
                    break
                i = 0
                while i < len(d):
                    k = rng.randint(1, max(1, len(d) - i))
                    b.sendall(d[i:i + k])
                    i += k
                    if rng.random() < 0.01:
                        time.sleep(0.001)
        except OSError:
            pass
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    n = 0
    while True:
        c, _ = ls.accept()
        u = socket.create_connection(("127.0.0.1", int(tport)))
        n += 1
        threading.Thread(target=pipe, args=(c, u, n), daemon=True).start()
        threading.Thread(target=pipe, args=(u, c, -n), daemon=True).start()


def slow_read(port, n, rate, secs):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: t\r\n\r\n" % int(n))
    rate, end = float(rate), time.time() + float(secs)
    got = 0
    print("reading", flush=True)
    while time.time() < end:
        d = s.recv(int(rate / 10))
        if not d:
            break
        got += len(d)
        time.sleep(0.1)
    print("slow-read: %d bytes in %s s" % (got, secs))
    return 0


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    fns = {"echo-server": echo_server, "many-xfer": many_xfer,
           "many-http": many_http, "idle": idle, "trickle": trickle,
           "slice-relay": slice_relay, "slow-read": slow_read}
    sys.exit(fns[cmd](*a) or 0)


if __name__ == "__main__":
    main()
