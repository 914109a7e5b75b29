#!/usr/bin/env python3
"""Benchmark driver for tunnel: tunnel vs a two-hop HAProxy chain vs direct
(and, with --base DIR, vs the same tunnel built from an earlier commit).

Run it through bench/run.sh (or `make bench`), which installs the tools.
Everything listens on 127.0.0.1, on free ports, under one temp directory;
every process started here is stopped on exit (normal, error, signal or the
global time limit).  Python 3 standard library only.

Internal sub-commands (used by the driver itself, in child processes):
  _download PORT PATH STREAMS SECONDS     bulk HTTP GET, prints JSON
  _burst PORT PATH N TIMEOUT              N visitors at once, prints JSON
  _hold PORT N                            holds N idle connections
"""

import argparse
import asyncio
import datetime
import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
PASSWORD = "bench-Pass-123"
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1048576
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---------------------------------------------------------------- helpers

def _http_request(path, close=False):
    return ("GET %s HTTP/1.1\r\nHost: bench\r\n%s\r\n" %
            (path, "Connection: close\r\n" if close else "")).encode()


def _read_headers(sock, buf):
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            raise ConnectionError("EOF in headers")
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    cl = None
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        if k.strip().lower() == b"content-length":
            cl = int(v.strip())
    return status, cl, rest


def cmd_download(port, path, streams, seconds):
    """Each stream GETs PATH again and again on one keep-alive connection
    until SECONDS have passed; MB/s = body bytes / wall time."""
    total = [0] * streams
    errors = []
    deadline = time.monotonic() + seconds
    bufsize = 1 << 20

    def worker(i):
        buf = bytearray(bufsize)
        mv = memoryview(buf)
        try:
            s = socket.create_connection((HOST, port), timeout=15)
            while True:
                s.sendall(_http_request(path))
                status, cl, rest = _read_headers(s, b"")
                if status != 200 or cl is None:
                    raise RuntimeError("HTTP status %d" % status)
                left = cl - len(rest)
                total[i] += len(rest)
                while left > 0:
                    n = s.recv_into(mv, min(left, bufsize))
                    if n == 0:
                        raise ConnectionError("EOF in body")
                    left -= n
                    total[i] += n
                if time.monotonic() >= deadline:
                    break
            s.close()
        except Exception as e:  # reported, not fatal
            errors.append("%s: %s" % (type(e).__name__, e))

    t0 = time.monotonic()
    th = [threading.Thread(target=worker, args=(i,)) for i in range(streams)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    el = time.monotonic() - t0
    print(json.dumps({"bytes": sum(total), "seconds": el, "errors": errors}))


def cmd_burst(port, path, n, timeout):
    """N visitors connect at once, each sends one keep-alive GET and keeps
    the connection open; time until every one has its full response."""
    raise_nofile()
    req = _http_request(path)
    served = []
    errors = {}
    writers = []

    async def one():
        try:
            r, w = await asyncio.open_connection(HOST, port)
            writers.append(w)
            w.write(req)
            head = await r.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            m = re.search(rb"(?i)content-length:\s*(\d+)", head)
            if m:
                await r.readexactly(int(m.group(1)))
            if status != 200:
                k = "HTTP %d" % status
                errors[k] = errors.get(k, 0) + 1
                return
            served.append(time.monotonic() - t0)
        except Exception as e:
            k = type(e).__name__
            errors[k] = errors.get(k, 0) + 1

    async def main():
        tasks = [asyncio.ensure_future(one()) for _ in range(n)]
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for t in pending:
            t.cancel()
        if pending:
            errors["unserved after %gs" % timeout] = len(pending)
        await asyncio.sleep(0)
        held = sum(1 for w in writers if not w.is_closing())
        for w in writers:
            w.close()
        return held

    t0 = time.monotonic()
    held = asyncio.run(main())
    served.sort()
    out = {"n": n, "served": len(served), "errors": errors, "held": held,
           "t_all": served[-1] if len(served) == n else None,
           "t_last": served[-1] if served else None,
           "t_p50": served[len(served) // 2] if served else None}
    print(json.dumps(out))


def cmd_hold(port, n):
    """Opens N idle connections (sends nothing), says READY, waits for a
    line on stdin, reports how many the far side dropped meanwhile."""
    raise_nofile()
    socks = []
    failed = 0
    p = select.poll()
    for i in range(n):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((HOST, port))
            socks.append(s)
        except OSError:
            failed += 1
        if i % 100 == 99:
            time.sleep(0.01)
    pending = {s.fileno(): s for s in socks}
    for fd in pending:
        p.register(fd, select.POLLOUT)
    deadline = time.monotonic() + 30
    while pending and time.monotonic() < deadline:
        for fd, ev in p.poll(500):
            s = pending.pop(fd, None)
            if s is None:
                continue
            p.unregister(fd)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                failed += 1
    failed += len(pending)
    print(json.dumps({"opened": n - failed, "failed": failed}), flush=True)
    sys.stdin.readline()
    p = select.poll()
    for s in socks:
        p.register(s.fileno(), select.POLLIN)
    dropped = len(p.poll(0))
    for s in socks:
        s.close()
    print(json.dumps({"dropped": dropped}), flush=True)


# ---------------------------------------------------------------- driver

class Bench:
    def __init__(self, args):
        self.args = args
        self.procs = []          # (name, Popen) long-running
        self.tmp = tempfile.mkdtemp(prefix="tunnel-bench.")
        self.results = []        # raw samples
        self.notes = []          # anomalies (errors, drops, stalls)
        self.failed = False
        self.fresh = {}          # target -> (server, client) RSS at start

    # -- process handling
    def log(self, msg):
        print("# " + msg, flush=True)

    def reference(self, target, env, name):
        """A reference binary for target, copied into the temp directory
        (a rebuild during the run changes nothing); None if not wanted or
        not built."""
        if target not in self.args.targets:
            return None
        path = os.environ.get(env, os.path.join(TOP, "build", name))
        if not os.access(path, os.X_OK):
            self.note("no %s reference: %s is not built (make bench builds "
                      "it)" % (target, path))
            return None
        shutil.copy2(path, os.path.join(self.tmp, name))
        return os.path.join(self.tmp, name)

    def start(self, name, argv, cwd=None, env=None):
        logf = open(os.path.join(self.tmp, name + ".log"), "ab")
        p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=cwd or self.tmp,
                             env=env, start_new_session=True)
        logf.close()
        self.procs.append((name, p))
        return p

    def stop(self, p, grace=3.0):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                return
            try:
                p.wait(grace)
                return
            except subprocess.TimeoutExpired:
                pass

    def run(self, argv, timeout, stdin=None):
        """Runs a short-lived command in its own process group; kills the
        group on timeout.  Returns (rc, stdout, stderr); rc None = timeout."""
        p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        self.procs.append(("transient", p))
        try:
            out, err = p.communicate(timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            self.stop(p, 1)
            out, err = p.communicate()
            rc = None
        self.procs.remove(("transient", p))
        return rc, out.decode(errors="replace"), err.decode(errors="replace")

    def cleanup(self):
        for name, p in reversed(self.procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 3
        for name, p in self.procs:
            try:
                p.wait(max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(2)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
        self.procs = []
        if self.failed or self.args.keep:
            print("# logs kept in %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- small utilities
    @staticmethod
    def free_port():
        s = socket.socket()
        s.bind((HOST, 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def wait_port(self, port, what, proc=None, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                break
            if self.listening(port):
                return
            time.sleep(0.05)
        self.die("%s did not start listening on %d" % (what, port))

    @staticmethod
    def listening(port):
        """True if something listens on PORT (read from /proc/net/tcp*, so
        that no probe connection disturbs iperf3 -s)."""
        for fn in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(fn) as f:
                    next(f)
                    for ln in f:
                        parts = ln.split()
                        if (parts[3] == "0A" and
                                int(parts[1].rsplit(":", 1)[1], 16) == port):
                            return True
            except OSError:
                pass
        return False

    def die(self, msg):
        self.failed = True
        for f in sorted(os.listdir(self.tmp)):
            if f.endswith(".log"):
                with open(os.path.join(self.tmp, f), errors="replace") as fh:
                    tail = fh.readlines()[-15:]
                if tail:
                    print("--- %s (last lines)\n%s" % (f, "".join(tail)),
                          file=sys.stderr)
        raise SystemExit("bench: ERROR: " + msg)

    @staticmethod
    def rss_kib(pid):
        try:
            with open("/proc/%d/status" % pid) as f:
                for ln in f:
                    if ln.startswith("VmRSS:"):
                        return int(ln.split()[1])
        except OSError:
            pass
        return None

    @staticmethod
    def priv_kib(pid):
        """Private (unshared) resident KiB, from smaps_rollup: VmRSS also
        counts shared library pages (libcrypto alone is ~3.4 MiB)."""
        tot = 0
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for ln in f:
                    if ln.startswith(("Private_Clean:", "Private_Dirty:")):
                        tot += int(ln.split()[1])
        except OSError:
            return None
        return tot

    @staticmethod
    def cpu_s(pids):
        tck = os.sysconf("SC_CLK_TCK")
        tot = 0
        for pid in pids:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            tot += int(fields[11]) + int(fields[12])   # utime, stime
        return tot / tck

    @staticmethod
    def machine_s():
        """Busy CPU seconds of the whole machine, and the irq + softirq
        part of them. This kernel accounts softirq time apart from the
        task it interrupts, so the receive work of a loopback hop is in
        no process's utime + stime: only the machine figure sees it."""
        tck = os.sysconf("SC_CLK_TCK")
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:8]]
        # user nice system idle iowait irq softirq
        return (v[0] + v[1] + v[2] + v[5] + v[6]) / tck, (v[5] + v[6]) / tck

    def add_cpu(self, m, c0, c1, s0, s1, nbytes):
        gb = nbytes / 1e9
        if c0 is not None:
            m["cpu_s"] = c1 - c0
            m["cpu_per_gb"] = (c1 - c0) / gb
        m["sys_s"] = s1[0] - s0[0]
        m["sys_per_gb"] = (s1[0] - s0[0]) / gb
        m["irq_s"] = s1[1] - s0[1]
        m["irq_per_gb"] = (s1[1] - s0[1]) / gb

    @staticmethod
    def fd_count(pid):
        try:
            return len(os.listdir("/proc/%d/fd" % pid))
        except OSError:
            return -1

    def nginx_settled(self, timeout=30):
        """nginx's active connections once their number stops moving."""
        deadline = time.monotonic() + timeout
        last = self.nginx_active()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.nginx_active()
            if now == last:
                break
            last = now
        return last

    def nginx_active(self):
        try:
            s = socket.create_connection((HOST, self.nginx_port), 2)
            s.sendall(b"GET /nginx_status HTTP/1.0\r\n\r\n")
            data = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            s.close()
            m = re.search(rb"Active connections:\s*(\d+)", data)
            return int(m.group(1)) - 1 if m else -1
        except OSError:
            return -1

    def check_alive(self):
        for name, p in self.procs:
            if name != "transient" and p.poll() is not None:
                self.note("%s exited (status %s) during the run" %
                          (name, p.returncode))
                self.die("%s died; see its log" % name)

    def note(self, msg):
        if msg not in self.notes:
            self.notes.append(msg)
        self.log("NOTE: " + msg)

    # -- set-up
    def setup(self):
        a = self.args
        for tool in ("iperf3", "wrk", "nginx", "haproxy"):
            if not shutil.which(tool):
                self.die("%s not found in PATH (bench/run.sh installs it "
                         "with apt-get; run it as root or with sudo)" % tool)
        # Private copies: others may rebuild the binaries meanwhile.
        for b in ("tunnel-server", "tunnel-client"):
            src = os.path.join(TOP, b)
            if not os.access(src, os.X_OK):
                self.die("%s missing: run make first" % src)
            shutil.copy2(src, os.path.join(self.tmp, b))
        # The baseline: the same tunnel built from an earlier commit (make
        # bench BASE=<commit> builds it under build/base-<id>/).
        if "base" in a.targets:
            bd = os.path.join(self.tmp, "base-bin")
            os.makedirs(bd)
            for b in ("tunnel-server", "tunnel-client"):
                src = os.path.join(a.base, b)
                if not os.access(src, os.X_OK):
                    self.die("%s missing: --base needs a directory with "
                             "tunnel-server and tunnel-client" % src)
                shutil.copy2(src, os.path.join(bd, b))
        www = os.path.join(self.tmp, "www")
        os.makedirs(www)
        with open(os.path.join(www, "100b"), "wb") as f:
            f.write(b"x" * 99 + b"\n")
        with open(os.path.join(www, "1m"), "wb") as f:
            f.write(b"y" * (1 << 20))
        chunk = b"z" * (1 << 20)
        with open(os.path.join(www, "large"), "wb") as f:
            for _ in range(a.large_mib):
                f.write(chunk)

        # nginx (one worker), iperf3
        self.nginx_port = self.free_port()
        nd = os.path.join(self.tmp, "nginx")
        os.makedirs(nd)
        conf = os.path.join(nd, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""
%(user)s
worker_processes 1;
worker_rlimit_nofile %(nofile)d;
daemon off;
pid %(nd)s/nginx.pid;
error_log %(nd)s/error.log warn;
events { worker_connections %(wc)d; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 300s;
    keepalive_requests 100000000;
    client_header_timeout 300s;
    client_body_temp_path %(nd)s/body;
    proxy_temp_path %(nd)s/proxy;
    fastcgi_temp_path %(nd)s/fastcgi;
    uwsgi_temp_path %(nd)s/uwsgi;
    scgi_temp_path %(nd)s/scgi;
    default_type application/octet-stream;
    server {
        listen %(host)s:%(port)d backlog=4096;
        root %(www)s;
        location / { }
        location = /nginx_status { stub_status; }
    }
}
""" % {"user": "user root;" if os.geteuid() == 0 else "", "nd": nd,
            "nofile": self.nofile, "wc": max(1024, self.nofile - 100),
            "host": HOST, "port": self.nginx_port, "www": www})
        self.nginx = self.start("nginx", ["nginx", "-p", nd + "/", "-c", conf,
                                          "-e", nd + "/error.log"])
        self.wait_port(self.nginx_port, "nginx", self.nginx)
        self.iperf_port = self.free_port()
        self.start_iperf()

        # tunnel pairs: one towards nginx, one towards iperf3
        self.tun = {}
        for svc, lport in (("http", self.nginx_port), ("bulk", self.iperf_port)):
            self.tun[svc] = self.start_tunnel(svc, lport)
        # the same over transport: plain (splice), for the plain targets
        self.tun_plain = None
        if "tunnel-plain" in a.targets:
            self.tun_plain = {}
            for svc, lport in (("http", self.nginx_port),
                               ("bulk", self.iperf_port)):
                self.tun_plain[svc] = self.start_tunnel(svc, lport,
                                                        "tunnel-plain")
        # The HTTPS front (issue 15): the tunnel ending visitors' TLS,
        # against HAProxy ending it ("bind ... ssl crt", nbthread 1) in
        # front of the tunnel's own chain, as users set it up by hand.
        # One certificate for both: P-256, for localhost.
        self.https_pem = None
        self.tun_https = None
        if "tunnel-https" in a.targets or "haproxy-https" in a.targets:
            key = os.path.join(self.tmp, "https.key")
            crt = os.path.join(self.tmp, "https.crt")
            rc, out, err = self.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
                 "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                 "-days", "2", "-keyout", key, "-out", crt], 30)
            if rc != 0:
                self.die("openssl req for https: %s" % err.strip()[-300:])
            self.https_pem = (crt, key)
            with open(crt + ".pem", "w") as f:
                f.write(open(crt).read() + open(key).read())
        if "tunnel-https" in a.targets:
            self.tun_https = self.start_tunnel("http", self.nginx_port,
                                               "tunnel-https")
        # the tunnel again with metrics_listen on and scraped every second
        # (Prometheus' default is every 15 s): metrics on vs off, side by
        # side in the same run
        self.tun_metrics = None
        self.scrapes = {"ok": 0, "failed": 0, "bytes": 0}
        if "tunnel-metrics" in a.targets:
            self.tun_metrics = {}
            for svc, lport in (("http", self.nginx_port),
                               ("bulk", self.iperf_port)):
                self.tun_metrics[svc] = self.start_tunnel(svc, lport,
                                                          "tunnel-metrics")
        # the baseline's pairs, started exactly like the tunnel's
        self.base = None
        if "base" in a.targets:
            self.base = {}
            for svc, lport in (("http", self.nginx_port),
                               ("bulk", self.iperf_port)):
                self.base[svc] = self.start_tunnel(
                    svc, lport, "base", os.path.join(self.tmp, "base-bin"))

        # HAProxy chains: hop1 -> hop2 -> service, one process per hop, a
        # listener per service in each; nbthread 1 and default threading.
        self.hap = {}
        # With TLS between the hops, as users chain it by hand: hop 1
        # "server ... ssl", hop 2 "bind ... ssl crt"; nbthread 1.
        pem = os.path.join(self.tmp, "haproxy-tls.pem")
        rc, out, err = self.run(["openssl", "req", "-x509", "-newkey",
                                 "ec", "-pkeyopt",
                                 "ec_paramgen_curve:prime256v1", "-nodes",
                                 "-subj", "/CN=hop2", "-days", "2",
                                 "-keyout", pem + ".key", "-out",
                                 pem + ".crt"], 30)
        if rc != 0:
            self.die("openssl req for haproxy-tls: %s" % err.strip()[-300:])
        with open(pem, "w") as f:
            f.write(open(pem + ".crt").read() + open(pem + ".key").read())
        for mode in [m for m in ("1t", "mt", "tls")
                     if "haproxy-" + m in a.targets]:
            ports = {svc: (self.free_port(), self.free_port())
                     for svc in ("http", "bulk")}
            dst = {"http": self.nginx_port, "bulk": self.iperf_port}
            pids = []
            for hop in (1, 2):
                cfg = os.path.join(self.tmp, "haproxy-%s-hop%d.cfg" % (mode, hop))
                lst = ""
                tls = mode == "tls"
                for svc in ("http", "bulk"):
                    lp = ports[svc][0] if hop == 1 else ports[svc][1]
                    to = ports[svc][1] if hop == 1 else dst[svc]
                    lst += ("listen %s\n    bind %s:%d%s\n    server s %s:%d%s\n\n"
                            % (svc, HOST, lp,
                               " ssl crt " + pem if tls and hop == 2 else "",
                               HOST, to,
                               " ssl verify none" if tls and hop == 1
                               else ""))
                with open(cfg, "w") as f:
                    f.write("""global
    %s
    maxconn 7000
defaults
    mode tcp
    maxconn 7000
    timeout connect 5s
    timeout client 600s
    timeout server 600s
    option splice-request
    option splice-response

%s""" % ("# default threading" if mode == "mt" else "nbthread 1", lst))
                p = self.start("haproxy-%s-hop%d" % (mode, hop),
                               ["haproxy", "-db", "-f", cfg])
                pids.append(p.pid)
                for svc in ("http", "bulk"):
                    self.wait_port(ports[svc][hop - 1], "haproxy", p)
            self.hap[mode] = {"pids": pids,
                              "http": ports["http"][0], "bulk": ports["bulk"][0]}

        self.hap_https = None
        if "haproxy-https" in a.targets:
            hp = self.free_port()
            cfg = os.path.join(self.tmp, "haproxy-https.cfg")
            with open(cfg, "w") as f:
                f.write("""global
    nbthread 1
    maxconn 7000
defaults
    mode tcp
    maxconn 7000
    timeout connect 5s
    timeout client 600s
    timeout server 600s

listen https
    bind %s:%d ssl crt %s alpn http/1.1
    server s %s:%d
""" % (HOST, hp, self.https_pem[0] + ".pem", HOST,
                    self.tun["http"]["port"]))
            p = self.start("haproxy-https", ["haproxy", "-db", "-f", cfg])
            self.wait_port(hp, "haproxy", p)
            self.hap_https = {"port": hp, "pids": [p.pid] +
                              self.tun["http"]["pids"]}

        # The floor: two bare blocking-splice forwarders in a chain, the
        # least kernel work any two-hop splice forwarder pays (bench/floor.c).
        self.floor = None
        fl = self.reference("floor", "BENCH_FLOOR", "bench-floor")
        if fl:
            self.floor = {"pids": {}}
            for svc, dst in (("http", self.nginx_port),
                             ("bulk", self.iperf_port)):
                p1, p2 = self.free_port(), self.free_port()
                h2 = self.start("floor-%s-hop2" % svc, [fl, str(p2), str(dst)])
                self.wait_port(p2, "bench-floor", h2)
                h1 = self.start("floor-%s-hop1" % svc, [fl, str(p1), str(p2)])
                self.wait_port(p1, "bench-floor", h1)
                self.floor[svc] = p1
                self.floor["pids"][svc] = [h1.pid, h2.pid]

        # The pool floor: the pool design with nothing else (no login, no
        # REGISTER or STATUS, no replay copy, no linger, no keepalive, no
        # logs; bench/poolfloor.c), a reference for the per-request rows.
        self.poolfloor = None
        pf = self.reference("poolfloor", "BENCH_POOLFLOOR", "bench-poolfloor")
        if pf:
            pub, pool = self.free_port(), self.free_port()
            s = self.start("poolfloor-server",
                           [pf, "server", str(pub), str(pool)])
            self.wait_port(pool, "bench-poolfloor", s)
            c = self.start("poolfloor-client", [pf, "client", str(pool),
                                                str(self.nginx_port), "20"])
            self.wait_port(pub, "bench-poolfloor", s)
            self.poolfloor = {"http": pub, "bulk": 0,
                              "pids": {"http": [s.pid, c.pid]}}

        self.targets = {
            "direct": {"http": self.nginx_port, "bulk": self.iperf_port,
                       "pids": {}},
            "tunnel": {"http": self.tun["http"]["port"],
                       "bulk": self.tun["bulk"]["port"],
                       "pids": {"http": self.tun["http"]["pids"],
                                "bulk": self.tun["bulk"]["pids"]}},
        }
        for mode in self.hap:
            self.targets["haproxy-" + mode] = {
                "http": self.hap[mode]["http"],
                "bulk": self.hap[mode]["bulk"],
                "pids": {"http": self.hap[mode]["pids"],
                         "bulk": self.hap[mode]["pids"]}}
        if self.tun_plain:
            self.targets["tunnel-plain"] = {
                "http": self.tun_plain["http"]["port"],
                "bulk": self.tun_plain["bulk"]["port"],
                "pids": {"http": self.tun_plain["http"]["pids"],
                         "bulk": self.tun_plain["bulk"]["pids"]}}
        if self.tun_metrics:
            self.targets["tunnel-metrics"] = {
                "http": self.tun_metrics["http"]["port"],
                "bulk": self.tun_metrics["bulk"]["port"],
                "pids": {"http": self.tun_metrics["http"]["pids"],
                         "bulk": self.tun_metrics["bulk"]["pids"]}}
        if self.tun_https:
            self.targets["tunnel-https"] = {
                "http": self.tun_https["port"], "bulk": 0, "https": True,
                "pids": {"http": self.tun_https["pids"]}}
        if self.hap_https:
            self.targets["haproxy-https"] = {
                "http": self.hap_https["port"], "bulk": 0, "https": True,
                "pids": {"http": self.hap_https["pids"]}}
        if self.base:
            self.targets["base"] = {
                "http": self.base["http"]["port"],
                "bulk": self.base["bulk"]["port"],
                "pids": {"http": self.base["http"]["pids"],
                         "bulk": self.base["bulk"]["pids"]}}
        if self.floor:
            self.targets["floor"] = self.floor
        if self.poolfloor:
            self.targets["poolfloor"] = self.poolfloor
        for t in list(self.targets):
            if t not in a.targets:
                del self.targets[t]
        # idle RSS right after start, before any traffic
        for t in MEM_TARGETS:
            if t in self.targets:
                pids = self.targets[t]["pids"]["http"]
                self.fresh[t] = (self.rss_kib(pids[0]), self.rss_kib(pids[1]))
                self.record(0, "mem", t, {"srv_fresh": self.fresh[t][0],
                                          "cli_fresh": self.fresh[t][1],
                                          "srv_fresh_priv": self.priv_kib(pids[0]),
                                          "cli_fresh_priv": self.priv_kib(pids[1])})
        # smoke test every HTTP path
        for t, d in self.targets.items():
            if d.get("https"):
                rc, out, err = self.run(
                    ["curl", "-sk", "--max-time", "10",
                     "https://localhost:%d/100b" % d["http"]], 20)
                if rc != 0 or len(out) != 100:
                    self.die("GET https://localhost/100b through %s "
                             "failed: rc %s, %d bytes, %s" %
                             (t, rc, len(out), err.strip()[-300:]))
                continue
            rc, out, err = self.run([sys.executable, __file__, "_download",
                                     str(d["http"]), "/100b", "1", "0"], 20)
            r = json.loads(out) if rc == 0 and out.strip() else None
            if not r or r["errors"] or r["bytes"] != 100:
                self.die("GET /100b through %s failed: %s %s" %
                         (t, out.strip(), err.strip()[-300:]))

    def start_iperf(self):
        self.iperf = self.start("iperf3", ["iperf3", "-s", "-B", HOST, "-p",
                                           str(self.iperf_port)])
        self.wait_port(self.iperf_port, "iperf3", self.iperf)

    def start_tunnel(self, svc, lport, name="tunnel", bindir=None):
        """A server + client pair in front of LPORT; NAME is the target
        (tunnel: TLS, the default; tunnel-plain: transport: plain; or
        base: the baseline's binaries, in BINDIR, as they come)."""
        bindir = bindir or self.tmp
        server = os.path.join(bindir, "tunnel-server")
        d = os.path.join(self.tmp, "%s-%s" % (name, svc))
        os.makedirs(d)
        port = self.free_port()
        cfg = os.path.join(d, "server.yaml")
        # Every load comes from 127.0.0.1: no cap per address, as
        # HAProxy's chain has none. A baseline from before the key existed
        # rejects it (and has no such cap): it gets the config without it.
        plain = name == "tunnel-plain"
        mport = self.free_port() if name == "tunnel-metrics" else 0
        # The HTTPS front: TLS ends at the server, routed by SNI; wrk
        # sends the URL's host, localhost, as SNI (a full name: its dot).
        hport = self.free_port() if name == "tunnel-https" else 0
        front = ("domain: bench.test\nhttps_port: %d\nhttps_certs:\n"
                 "  - cert: %s\n    key: %s\n" % (hport, self.https_pem[0],
                                                  self.https_pem[1])
                 if hport else "")
        for cap in ("visitors_per_address: 0\n", ""):
            with open(cfg, "w") as f:
                f.write("port: %d\npool_size: %d\nconnect_timeout: 10\n"
                        "%s%s%s%susers:\n"
                        "  - username: admin\n    password: \"%s\"\n%s"
                        "log:\n  enable: false\n" % (
                            port, self.args.pool, cap,
                            "transport: plain\n" if plain else "",
                            "metrics_listen: \"%s:%d\"\n" % (HOST, mport)
                            if mport else "", front, PASSWORD,
                            "    hosts: [\"localhost.\"]\n" if hport
                            else ""))
            if name != "base":
                break
            rc, out, err = self.run([server, "-n", "-c", cfg], 10)
            if rc == 0:
                break
            if cap:
                self.log("%s: its server rejects visitors_per_address, "
                         "started without it: %s" %
                         (name, (err or out).strip()[-200:]))
            else:
                self.die("%s: its server rejects the bench's config: %s" %
                         (name, (err or out).strip()[-300:]))
        if name == "base":
            self.meta["base_visitors_per_address"] = bool(cap)
        srv = self.start("%s-%s-server" % (name, svc), [server, "-c", cfg],
                         cwd=d)
        what = "" if name == "tunnel" else name + " "
        self.wait_port(port, what + "tunnel-server", srv)
        # The key trusted on first contact is recorded in here, not ~.
        env = dict(os.environ, TUNNEL_PASSWORD=PASSWORD,
                   XDG_CONFIG_HOME=os.path.join(d, "xdg"))
        cli = self.start("%s-%s-client" % (name, svc),
                         [os.path.join(bindir, "tunnel-client"), "-s",
                          "%s:%d" % (HOST, port), "-u", "admin"] +
                         (["--host", "localhost."] if hport else []) +
                         ["-p", str(lport)] +
                         (["--transport", "plain"] if plain else []),
                         cwd=d, env=env)
        logf = os.path.join(self.tmp, "%s-%s-client.log" % (name, svc))
        deadline = time.monotonic() + 15
        while True:
            with open(logf, errors="replace") as f:
                if "tunnel up" in f.read():
                    break
            if cli.poll() is not None or time.monotonic() > deadline:
                self.die("%stunnel-client (%s) did not come up" % (what, svc))
            time.sleep(0.05)
        time.sleep(0.5)      # let the pool fill
        if mport:
            self.wait_port(mport, "tunnel-server metrics", srv)
            threading.Thread(target=self.scraper, args=(mport,),
                             daemon=True).start()
        if hport:
            self.wait_port(hport, "tunnel-server https_port", srv)
            return {"port": hport, "pids": [srv.pid, cli.pid]}
        return {"port": port, "pids": [srv.pid, cli.pid]}

    def scraper(self, mport):
        """GET /metrics every second for as long as the bench runs."""
        while True:
            try:
                with socket.create_connection((HOST, mport), 5) as c:
                    c.sendall(b"GET /metrics HTTP/1.1\r\nHost: bench\r\n"
                              b"\r\n")
                    got = b""
                    while True:
                        b = c.recv(65536)
                        if not b:
                            break
                        got += b
                ok = got.startswith(b"HTTP/1.1 200")
                self.scrapes["ok" if ok else "failed"] += 1
                self.scrapes["bytes"] += len(got)
            except OSError:
                self.scrapes["failed"] += 1
            time.sleep(1.0)

    # -- recording
    def record(self, rnd, wl, target, metrics):
        self.results.append({"round": rnd, "workload": wl, "target": target,
                             "metrics": metrics})

    # -- workloads (each returns a dict of metrics)
    def w_iperf(self, target, streams, reverse):
        a = self.args
        d = self.targets[target]
        pids = d["pids"].get("bulk", [])
        argv = ["iperf3", "-c", HOST, "-p", str(d["bulk"]), "-t",
                str(a.iperf_time), "-P", str(streams), "-J",
                "--connect-timeout", "3000"] + (["-R"] if reverse else [])
        for attempt in range(4):
            c0 = self.cpu_s(pids) if pids else None
            s0 = self.machine_s()
            rc, out, err = self.run(argv, a.iperf_time + 20)
            c1 = self.cpu_s(pids) if pids else None
            s1 = self.machine_s()
            try:
                j = json.loads(out)
            except ValueError:
                j = {"error": "no JSON output (rc %s): %s %s" %
                     (rc, out[-200:], err[-200:])}
            # iperf3 -s may still be closing the previous test: not a failure
            if "busy" not in str(j.get("error", "")):
                break
            time.sleep(1)
        if rc != 0 or "error" in j:
            self.note("iperf3 %d stream(s)%s via %s failed: %s" %
                      (streams, " -R" if reverse else "", target,
                       j.get("error", "rc %s" % rc)))
            # a failed test can wedge iperf3 -s: restart it
            for i, (name, p) in enumerate(self.procs):
                if p is self.iperf:
                    self.stop(p)
                    self.procs.pop(i)
                    break
            self.start_iperf()
            return {"mbps": None, "cpu_per_gb": None}
        s = j["end"]["sum_received"]
        m = {"mbps": s["bytes"] / s["seconds"] / 1e6, "bytes": s["bytes"]}
        self.add_cpu(m, c0, c1, s0, s1, s["bytes"])
        return m

    def w_http_bulk(self, target, streams):
        a = self.args
        d = self.targets[target]
        pids = d["pids"].get("http", [])
        c0 = self.cpu_s(pids) if pids else None
        s0 = self.machine_s()
        rc, out, err = self.run([sys.executable, __file__, "_download",
                                 str(d["http"]), "/large", str(streams),
                                 str(a.http_time)], a.http_time + 60)
        c1 = self.cpu_s(pids) if pids else None
        s1 = self.machine_s()
        try:
            j = json.loads(out)
        except ValueError:
            j = {"errors": ["rc %s: %s" % (rc, err[-300:])], "bytes": 0}
        if j["errors"]:
            self.note("HTTP bulk %d stream(s) via %s: %s" %
                      (streams, target, "; ".join(j["errors"][:3])))
        if not j["bytes"]:
            return {"mbps": None}
        m = {"mbps": j["bytes"] / j["seconds"] / 1e6, "bytes": j["bytes"]}
        self.add_cpu(m, c0, c1, s0, s1, j["bytes"])
        return m

    def w_wrk(self, target, path, close):
        a = self.args
        d = self.targets[target]
        argv = ["wrk", "-t2", "-c%d" % a.conns, "-d%ds" % a.wrk_time,
                "--latency", "--timeout", "5s"]
        if close:
            argv += ["-H", "Connection: close"]
        if d.get("https"):
            argv.append("https://localhost:%d%s" % (d["http"], path))
        else:
            argv.append("http://%s:%d%s" % (HOST, d["http"], path))
        pids = d["pids"].get("http", [])
        c0 = self.cpu_s(pids) if pids else None
        f0 = self.cpu_s(pids[:1]) if pids else None
        s0 = self.machine_s()
        rc, out, err = self.run(argv, a.wrk_time + 30)
        c1 = self.cpu_s(pids) if pids else None
        f1 = self.cpu_s(pids[:1]) if pids else None
        s1 = self.machine_s()
        m = {}
        mm = re.search(r"^\s*(\d+) requests in", out, re.M)
        if mm and int(mm.group(1)) > 0:
            n = int(mm.group(1))
            # whole run: wrk, nginx and the forwarder, softirq included
            m["sys_us_req"] = (s1[0] - s0[0]) / n * 1e6
            if c0 is not None:
                m["cpu_us_req"] = (c1 - c0) / n * 1e6
                # the first process alone: the server, or HAProxy
                m["front_us_req"] = (f1 - f0) / n * 1e6
        mm = re.search(r"Requests/sec:\s*([\d.]+)", out)
        if rc != 0 or not mm:
            self.note("wrk %s%s via %s failed (rc %s): %s" %
                      (path, " close" if close else "", target, rc,
                       (err or out)[-300:].strip()))
            return {"rps": None}
        m["rps"] = float(mm.group(1))
        unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
        for pct in ("50", "99"):
            mm = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)\s*$" % pct, out, re.M)
            if mm:
                m["p%s_ms" % pct] = float(mm.group(1)) * unit[mm.group(2)]
        mm = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                       r"timeout (\d+)", out)
        errs = [int(x) for x in mm.groups()] if mm else [0, 0, 0, 0]
        mm = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        non2xx = int(mm.group(1)) if mm else 0
        m["errors"] = sum(errs) + non2xx
        if m["errors"]:
            # nginx closing a keep-alive connection is counted as a read error
            # by wrk under Connection: close only rarely; report all of them.
            self.note("wrk %s%s via %s: socket errors connect %d read %d "
                      "write %d timeout %d, non-2xx %d" %
                      ((path, " close" if close else "", target) +
                       tuple(errs) + (non2xx,)))
        return m

    def w_burst(self, target):
        a = self.args
        d = self.targets[target]
        rc, out, err = self.run([sys.executable, __file__, "_burst",
                                 str(d["http"]), "/100b", str(a.burst),
                                 str(a.burst_timeout)], a.burst_timeout + 30)
        try:
            j = json.loads(out)
        except ValueError:
            self.note("burst via %s: helper failed rc %s %s" %
                      (target, rc, err[-300:]))
            return {"t_all_s": None}
        if j["errors"] or j["served"] != j["n"]:
            self.note("burst via %s: %d of %d served, errors %s" %
                      (target, j["served"], j["n"], j["errors"]))
        return {"t_all_s": j["t_all"], "served": j["served"],
                "t_last_s": j["t_last"], "t_p50_s": j["t_p50"],
                "errors": sum(j["errors"].values())}

    def w_mem(self, target):
        a = self.args
        d = self.targets[target]
        pids = d["pids"]["http"]
        # The previous workload's connections may still be closing (the
        # burst left 160 open at nginx): counted in base, they made every
        # visitor that reached nginx look like a shortfall.
        base = self.nginx_settled()
        m = {"srv_before": self.rss_kib(pids[0]),
             "cli_before": self.rss_kib(pids[1])}
        p = subprocess.Popen([sys.executable, __file__, "_hold",
                              str(d["http"]), str(a.idle)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             start_new_session=True)
        self.procs.append(("transient", p))
        try:
            r, _, _ = select.select([p.stdout], [], [], 60)
            line = p.stdout.readline() if r else b""
            opened = json.loads(line)["opened"] if line else 0
            want = base + opened
            deadline = time.monotonic() + a.idle_wait
            t0 = time.monotonic()
            act = self.nginx_active()
            while act < want and time.monotonic() < deadline:
                time.sleep(0.2)
                act = self.nginx_active()
            m["bridge_s"] = time.monotonic() - t0
            m["bridged"] = act - base
            if opened < a.idle or act < want:
                self.note("idle visitors via %s: %d of %d opened, %d reached "
                          "nginx after %.0f s" % (target, opened, a.idle,
                                                 act - base, m["bridge_s"]))
            time.sleep(1.0)
            m["srv_with"] = self.rss_kib(pids[0])
            m["cli_with"] = self.rss_kib(pids[1])
            m["srv_with_priv"] = self.priv_kib(pids[0])
            m["cli_with_priv"] = self.priv_kib(pids[1])
            m["srv_fds"] = self.fd_count(pids[0])
            m["cli_fds"] = self.fd_count(pids[1])
            p.stdin.write(b"\n")
            p.stdin.flush()
            r, _, _ = select.select([p.stdout], [], [], 30)
            line = p.stdout.readline() if r else b""
            if line:
                m["dropped"] = json.loads(line)["dropped"]
                if m["dropped"]:
                    self.note("idle visitors via %s: %d of %d were closed by "
                              "the far side while idle" %
                              (target, m["dropped"], opened))
            p.wait(30)
        finally:
            self.stop(p, 1)
            self.procs.remove(("transient", p))
        deadline = time.monotonic() + 30
        while self.nginx_active() > base + 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)
        m["srv_after"] = self.rss_kib(pids[0])
        m["cli_after"] = self.rss_kib(pids[1])
        # per visitor against the RSS right after start: RSS that a previous
        # round left behind would otherwise hide the cost
        n = max(1, m.get("bridged") or 1)
        m["srv_per_visitor_kib"] = (m["srv_with"] - self.fresh[target][0]) / n
        m["cli_per_visitor_kib"] = (m["cli_with"] - self.fresh[target][1]) / n
        return m

    # -- the run
    def workloads(self):
        a = self.args
        wl = []
        # The pool floor serves only the HTTP service, for per-request rows.
        bulk = ("direct", "tunnel", "tunnel-plain", "tunnel-metrics", "base",
                "floor",
                "haproxy-1t", "haproxy-mt", "haproxy-tls")
        if "bulk" in a.only:
            for streams in (1, 4):
                for rev in (False, True):
                    wl.append(("iperf%d%s" % (streams, "R" if rev else ""),
                               lambda t, s=streams, r=rev: self.w_iperf(t, s, r),
                               bulk))
            for streams in (1, 4):
                wl.append(("http%d" % streams,
                           lambda t, s=streams: self.w_http_bulk(t, s), bulk))
        # A thread per direction is a floor for bulk bytes only: with
        # many connections it measures thread creation, not forwarding.
        nf = ("direct", "tunnel", "tunnel-plain", "tunnel-metrics", "base",
              "haproxy-1t",
              "haproxy-mt", "haproxy-tls")
        pf = nf + ("poolfloor", "tunnel-https", "haproxy-https")
        if "ka" in a.only:
            wl.append(("ka", lambda t: self.w_wrk(t, "/100b", False), pf))
        if "close" in a.only:
            wl.append(("close", lambda t: self.w_wrk(t, "/100b", True), pf))
        if "mib" in a.only:
            wl.append(("mib", lambda t: self.w_wrk(t, "/1m", False), nf))
        if "burst" in a.only:
            wl.append(("burst", self.w_burst, nf))
        if "mem" in a.only:
            wl.append(("mem", self.w_mem, MEM_TARGETS))
        return wl

    def main(self):
        a = self.args
        self.setup()
        tnames = list(self.targets)
        self.log("targets: " + ", ".join(
            "%s http:%d bulk:%d" % (t, d["http"], d["bulk"])
            for t, d in self.targets.items()))
        t_start = time.monotonic()
        for rnd in range(1, a.rounds + 1):
            k = (rnd - 1) % len(tnames)
            order = tnames[k:] + tnames[:k]
            self.log("round %d/%d, order %s (%.0f s so far)" %
                     (rnd, a.rounds, " ".join(order),
                      time.monotonic() - t_start))
            for name, fn, only in self.workloads():
                for t in order:
                    if only and t not in only:
                        continue
                    m = fn(t)
                    self.record(rnd, name, t, m)
                    self.check_alive()
                    short = {k2: (round(v, 3) if isinstance(v, float) else v)
                             for k2, v in m.items()
                             if k2 in ("mbps", "rps", "p99_ms", "t_all_s",
                                       "cpu_per_gb", "srv_with", "served")}
                    self.log("  %-6s %-10s %s" % (name, t, short))
        self.elapsed = time.monotonic() - t_start
        self.meta["loadavg_end"] = os.getloadavg()[0]
        self.scan_logs()
        self.report()

    def scan_logs(self):
        """Warnings and errors the tunnel logged (a plaintext-password
        warning is expected), counted by message shape."""
        seen = {}
        for f in sorted(os.listdir(self.tmp)):
            if not (f.startswith(("tunnel-", "base-")) and
                    f.endswith(".log")):
                continue
            with open(os.path.join(self.tmp, f), errors="replace") as fh:
                for ln in fh:
                    if not re.search(r" (WARN|ERROR) ", ln) or any(
                            w in ln for w in EXPECTED_WARNINGS):
                        continue
                    msg = re.sub(r"^\S+ \S+ ", "", ln.strip())
                    key = f[:-4] + ": " + re.sub(r"\d+", "N", msg)
                    c = seen.setdefault(key, [0, msg])
                    c[0] += 1
        for key, (cnt, msg) in sorted(seen.items(), key=lambda x: -x[1][0])[:10]:
            self.note("%s logged %d time(s): %s" % (key.split(":")[0], cnt,
                                                     msg[:200]))


# ---------------------------------------------------------------- report

ROWS = [
    # (workload, metric, label, unit, higher is better)
    ("iperf1", "mbps", "bulk iperf3 1 stream up", "MB/s", True),
    ("iperf1R", "mbps", "bulk iperf3 1 stream down (-R)", "MB/s", True),
    ("iperf4", "mbps", "bulk iperf3 4 streams up", "MB/s", True),
    ("iperf4R", "mbps", "bulk iperf3 4 streams down (-R)", "MB/s", True),
    ("http1", "mbps", "bulk HTTP large body, 1 stream", "MB/s", True),
    ("http4", "mbps", "bulk HTTP large body, 4 streams", "MB/s", True),
    ("ka", "rps", "keep-alive 100 B, 50 conns", "req/s", True),
    ("ka", "p50_ms", "  keep-alive p50 latency", "ms", False),
    ("ka", "p99_ms", "  keep-alive p99 latency", "ms", False),
    ("close", "rps", "Connection: close 100 B", "req/s", True),
    ("close", "p99_ms", "  close p99 latency", "ms", False),
    ("close", "cpu_us_req", "  close: forwarder CPU/request", "us", False),
    ("close", "front_us_req", "  close: server/hop1 CPU/request", "us",
     False),
    ("ka", "cpu_us_req", "  keep-alive: forwarder CPU/request", "us", False),
    ("close", "sys_us_req", "  close: machine CPU/request", "us", False),
    ("mib", "rps", "keep-alive 1 MiB body", "req/s", True),
    ("burst", "t_all_s", "burst 1000 at once: all served", "s", False),
    ("burst", "served", "  burst: visitors served", "n", True),
    ("mem", "srv_fresh", "RSS server/hop1 idle (fresh)", "KiB", False),
    ("mem", "srv_fresh_priv", "  server/hop1 private, fresh", "KiB", False),
    ("mem", "srv_before", "RSS server/hop1 idle, before mem", "KiB", False),
    ("mem", "srv_with", "RSS server/hop1 5000 idle conns", "KiB", False),
    ("mem", "srv_with_priv", "  server/hop1 private, 5000 conns", "KiB", False),
    ("mem", "srv_after", "RSS server/hop1 after they left", "KiB", False),
    ("mem", "srv_per_visitor_kib", "  server/hop1 per visitor", "KiB", False),
    ("mem", "cli_fresh", "RSS client/hop2 idle (fresh)", "KiB", False),
    ("mem", "cli_fresh_priv", "  client/hop2 private, fresh", "KiB", False),
    ("mem", "cli_with", "RSS client/hop2 5000 idle conns", "KiB", False),
    ("mem", "cli_after", "RSS client/hop2 after they left", "KiB", False),
    ("mem", "cli_per_visitor_kib", "  client/hop2 per visitor", "KiB", False),
    ("mem", "bridged", "  idle visitors bridged", "n", True),
    ("iperf1", "cpu_per_gb", "CPU s/GB iperf3 1 up", "s/GB", False),
    ("iperf1R", "cpu_per_gb", "CPU s/GB iperf3 1 down", "s/GB", False),
    ("iperf4", "cpu_per_gb", "CPU s/GB iperf3 4 up", "s/GB", False),
    ("iperf4R", "cpu_per_gb", "CPU s/GB iperf3 4 down", "s/GB", False),
    ("http1", "cpu_per_gb", "CPU s/GB HTTP 1 stream", "s/GB", False),
    ("http4", "cpu_per_gb", "CPU s/GB HTTP 4 streams", "s/GB", False),
    ("bulkall", "cpu_per_gb", "CPU s/GB all bulk runs", "s/GB", False),
    ("iperf1", "sys_per_gb", "machine CPU s/GB iperf3 1 up", "s/GB", False),
    ("http1", "sys_per_gb", "machine CPU s/GB HTTP 1 stream", "s/GB", False),
    ("bulkall", "sys_per_gb", "machine CPU s/GB all bulk runs", "s/GB", False),
    ("bulkall", "irq_per_gb", "  of which irq+softirq", "s/GB", False),
]


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return "{:,.0f}".format(v)
    if abs(v) >= 10:
        return "%.1f" % v
    if abs(v) >= 1:
        return "%.2f" % v
    return "%.3f" % v


def _summarise(self):
    vals = {}
    for r in self.results:
        for k, v in r["metrics"].items():
            vals.setdefault((r["workload"], k, r["target"]), []).append(v)
    # aggregate CPU per GB over every bulk run of a target
    for t in self.targets:
        for key, out in (("cpu_s", "cpu_per_gb"), ("sys_s", "sys_per_gb"),
                         ("irq_s", "irq_per_gb")):
            rounds = {}
            for r in self.results:
                m = r["metrics"]
                if r["target"] == t and m.get(key) is not None and m.get("bytes"):
                    rounds.setdefault(r["round"], [0.0, 0.0])
                    rounds[r["round"]][0] += m[key]
                    rounds[r["round"]][1] += m["bytes"]
            if rounds:
                vals[("bulkall", out, t)] = [c / (b / 1e9)
                                             for c, b in rounds.values()]
    summary = []
    for wl, met, label, unit, hib in ROWS:
        row = {"workload": wl, "metric": met, "unit": unit,
               "label": label.replace("5000", str(self.args.idle)),
               "higher_is_better": hib, "cells": {}}
        for t in self.targets:
            v = [x for x in vals.get((wl, met, t), []) if x is not None]
            nbad = len(vals.get((wl, met, t), [])) - len(v)
            if v:
                row["cells"][t] = {"median": statistics.median(v),
                                   "min": min(v), "max": max(v), "n": len(v),
                                   "failed": nbad}
            elif nbad:
                row["cells"][t] = {"median": None, "min": None, "max": None,
                                   "n": 0, "failed": nbad}
        if row["cells"]:
            summary.append(row)
    return summary


# Warnings every start of the bench's set-up gives, by design.
EXPECTED_WARNINGS = ("plaintext", "first contact with",
                     "the tunnel link is NOT encrypted")

MEM_TARGETS = ("tunnel", "tunnel-plain", "base", "haproxy-1t", "haproxy-mt",
               "haproxy-tls")


def _ratio(row, a, b):
    ca, cb = row["cells"].get(a), row["cells"].get(b)
    if not ca or not cb or ca["median"] is None or not cb["median"]:
        return None
    return ca["median"] / cb["median"]


def _who(self, ref):
    """Which tunnel a reference is compared with: the plain ones (splice
    chains, floors, the baseline) with tunnel-plain when it ran."""
    if ref in ("haproxy-1t", "haproxy-mt", "floor", "poolfloor") and \
            "tunnel-plain" in self.targets:
        return "tunnel-plain"
    return "tunnel"


def _report(self):
    summary = _summarise(self)
    cols = [t for t in ("direct", "tunnel", "tunnel-plain", "tunnel-metrics",
                        "base", "floor",
                        "poolfloor", "haproxy-1t", "haproxy-mt",
                        "haproxy-tls", "tunnel-https", "haproxy-https")
            if t in self.targets]
    refs = [t for t in ("direct", "base", "floor", "poolfloor", "haproxy-1t",
                        "haproxy-mt", "haproxy-tls") if t in cols]
    hdr = "%-33s %-5s" % ("workload (median [min-max])", "unit")
    for c in cols:
        hdr += " %-23s" % c
    for r in refs:
        hdr += " %-8s" % ("t/" + {"direct": "dir", "base": "base",
                                  "floor": "floor",
                                  "poolfloor": "pfloor",
                                  "haproxy-1t": "hap1t",
                                  "haproxy-mt": "hapmt",
                                  "haproxy-tls": "haptls"}[r])
    lines = [hdr, "-" * len(hdr)]
    for row in summary:
        ln = "%-33s %-5s" % (row["label"], row["unit"])
        for c in cols:
            cell = row["cells"].get(c)
            if not cell:
                s = ""
            elif cell["median"] is None:
                s = "FAILED x%d" % cell["failed"]
            else:
                s = fmt(cell["median"])
                if cell["n"] > 1:
                    s += " [%s-%s]" % (fmt(cell["min"]), fmt(cell["max"]))
                if cell["failed"]:
                    s += " !%d" % cell["failed"]
            ln += " %-23s" % s
        for r in refs:
            q = _ratio(row, _who(self, r), r)
            row.setdefault("ratios", {})["tunnel/" + r] = q
            ln += " %-8s" % ("%.2fx" % q if q is not None else "")
        lines.append(ln)
    table = "\n".join(lines)

    # targets from issue 3
    def med(wl, met, t):
        for row in summary:
            if row["workload"] == wl and row["metric"] == met:
                c = row["cells"].get(t)
                return c["median"] if c else None
        return None

    def rat(wl, met, ref="haproxy-1t", who=None):
        for row in summary:
            if row["workload"] == wl and row["metric"] == met:
                return _ratio(row, who or _who(self, ref), ref)
        return None
    plain = _who(self, "haproxy-1t")

    checks = []

    def chk(name, value, ok, shown):
        checks.append({"target": name, "value": value,
                       "ok": None if value is None else bool(ok),
                       "shown": shown})

    for wl, lab in (("iperf1", "up"), ("iperf1R", "down"), ("http1", "HTTP")):
        q = rat(wl, "mbps")
        chk("bulk 1 stream (%s) >= 1.1x haproxy-1t" % lab, q,
            q is not None and q >= 1.1, "%.2fx" % q if q else "-")
    for wl, lab in (("ka", "keep-alive"), ("close", "Connection: close")):
        q = rat(wl, "rps")
        chk("%s req/s >= 1.0x haproxy-1t" % lab, q, q is not None and q >= 1.0,
            "%.2fx" % q if q else "-")
    t_all = med("burst", "t_all_s", plain)
    served = med("burst", "served", plain)
    worst = None
    for row in summary:
        if row["workload"] == "burst" and row["metric"] == "t_all_s":
            c = row["cells"].get(plain)
            if c:
                worst = None if c["failed"] else c["max"]
    chk("1000 visitors all served within 1 s (every round)",
        worst if worst is not None else (t_all if served is None else None),
        worst is not None and worst <= 1.0,
        "worst %.3f s, median %.3f s" % (worst, t_all) if worst is not None
        else "not all served (median served %s)" % fmt(served))
    idle = med("mem", "srv_fresh", plain)
    chk("server RSS idle < 2 MiB", idle, idle is not None and idle < 2048,
        "%s KiB" % fmt(idle))
    w = med("mem", "srv_with", plain)
    chk("server RSS at %d idle visitors < 16 MiB" % self.args.idle, w,
        w is not None and w < 16384,
        "%s KiB (%s KiB/visitor)" % (fmt(w), fmt(med("mem", "srv_per_visitor_kib",
                                                      plain))))
    aft = med("mem", "srv_after", plain)
    chk("server RSS back near idle after they leave (<= fresh + 1 MiB)", aft,
        aft is not None and idle is not None and aft <= idle + 1024,
        "%s KiB after vs %s KiB fresh" % (fmt(aft), fmt(idle)))
    c = med("bulkall", "cpu_per_gb", plain)
    chk("CPU per GB (server+client, all bulk runs) <= 0.4 s", c,
        c is not None and c <= 0.4, "%s s/GB" % fmt(c))
    c1 = med("iperf1", "cpu_per_gb", plain)
    chk("CPU per GB (iperf3 1 stream up) <= 0.4 s", c1,
        c1 is not None and c1 <= 0.4, "%s s/GB" % fmt(c1))

    tl = ["Targets (issue 3), %s vs haproxy-1t (nbthread 1, splice):" %
          plain]
    for ch in checks:
        st = {True: "PASS", False: "MISS", None: "n/a "}[ch["ok"]]
        tl.append("  %s  %-62s %s" % (st, ch["target"], ch["shown"]))
    # Issue 12: TLS on, against the chain users build by hand with TLS
    # between the hops (HAProxy, nbthread 1).
    tls_checks = []
    if "haproxy-tls" in self.targets:
        def tchk(name, value, ok, shown):
            tls_checks.append({"target": name, "value": value,
                               "ok": None if value is None else bool(ok),
                               "shown": shown})
        for wl, lab in (("iperf1", "up"), ("iperf1R", "down"),
                        ("http1", "HTTP")):
            q = rat(wl, "mbps", "haproxy-tls", "tunnel")
            tchk("bulk 1 stream (%s) >= 1.0x haproxy-tls" % lab, q,
                 q is not None and q >= 1.0, "%.2fx" % q if q else "-")
        tc = med("bulkall", "cpu_per_gb", "tunnel")
        hc = med("bulkall", "cpu_per_gb", "haproxy-tls")
        tchk("CPU per GB (all bulk runs) <= haproxy-tls's", tc,
             tc is not None and hc is not None and tc <= hc,
             "%s vs %s s/GB" % (fmt(tc), fmt(hc)))
        for wl, lab, want in (("ka", "keep-alive", 1.1),
                              ("close", "Connection: close", 1.5)):
            q = rat(wl, "rps", "haproxy-tls", "tunnel")
            tchk("%s req/s >= %.1fx haproxy-tls" % (lab, want), q,
                 q is not None and q >= want, "%.2fx" % q if q else "-")
        pv = med("mem", "srv_per_visitor_kib", "tunnel")
        tchk("server memory per idle TLS visitor (reported)", pv, True,
             "%s KiB (haproxy-tls hop 1: %s KiB)" % (
                 fmt(pv), fmt(med("mem", "srv_per_visitor_kib",
                                  "haproxy-tls"))))
        tl.append("")
        tl.append("Targets (issue 12), tunnel (TLS) vs haproxy-tls (TLS "
                  "between the hops, nbthread 1); TLS handshakes on the "
                  "visitor's path: 0 (visitors take pre-dialed, "
                  "already-encrypted connections):")
        for ch in tls_checks:
            st = {True: "PASS", False: "MISS", None: "n/a "}[ch["ok"]]
            tl.append("  %s  %-62s %s" % (st, ch["target"], ch["shown"]))
    checks += tls_checks
    # Issue 14: the metrics endpoint, on and scraped every second, against
    # the same tunnel with it off, in the same rounds.
    if "tunnel-metrics" in self.targets and "tunnel" in self.targets:
        tl.append("")
        tl.append("Metrics (issue 14): tunnel-metrics (metrics_listen on, "
                  "scraped every 1 s: %d ok, %d failed, %s bytes) vs tunnel "
                  "(off):" % (self.scrapes["ok"], self.scrapes["failed"],
                              fmt(self.scrapes["bytes"])))
        for wl, met, lab in (("iperf1", "mbps", "bulk 1 stream up"),
                             ("iperf1R", "mbps", "bulk 1 stream down"),
                             ("http1", "mbps", "bulk 1 stream HTTP"),
                             ("ka", "rps", "keep-alive req/s"),
                             ("close", "rps", "Connection: close req/s")):
            q = rat(wl, met, "tunnel", "tunnel-metrics")
            tl.append("  %-34s on/off %s" % (lab, "%.3fx" % q if q else "-"))
    # Issue 15: the HTTPS front against HAProxy ending TLS in front of
    # the same tunnel chain.
    if "tunnel-https" in self.targets and "haproxy-https" in self.targets:
        https_checks = []

        def hchk(name, value, ok, shown):
            https_checks.append({"target": name, "value": value,
                                 "ok": None if value is None else bool(ok),
                                 "shown": shown})
        for wl, lab in (("ka", "keep-alive"), ("close", "Connection: close")):
            q = rat(wl, "rps", "haproxy-https", "tunnel-https")
            hchk("HTTPS %s req/s >= 1.0x haproxy-https" % lab, q,
                 q is not None and q >= 1.0, "%.2fx" % q if q else "-")
            tc = med(wl, "cpu_us_req", "tunnel-https")
            hc = med(wl, "cpu_us_req", "haproxy-https")
            hchk("HTTPS %s CPU/request <= haproxy-https's" % lab, tc,
                 tc is not None and hc is not None and tc <= hc,
                 "%s vs %s us" % (fmt(tc), fmt(hc)))
        fu = med("close", "front_us_req", "tunnel-https")
        hchk("server handshakes per second on one core (reported)", fu,
             True, "%s/s (%s us of server CPU per close request)" % (
                 fmt(1e6 / fu) if fu else "-", fmt(fu)))
        tl.append("")
        tl.append("HTTPS front (issue 15), tunnel-https (TLS ends at the "
                  "server) vs haproxy-https (HAProxy bind ssl crt, nbthread "
                  "1, in front of the tunnel); wrk to https://localhost, "
                  "every close request a full handshake:")
        for ch in https_checks:
            st = {True: "PASS", False: "MISS", None: "n/a "}[ch["ok"]]
            tl.append("  %s  %-62s %s" % (st, ch["target"], ch["shown"]))
        checks += https_checks
    # What the floor says about the bulk targets: if even a bare splice
    # chain cannot reach 1.1x haproxy-1t or 0.4 s/GB, neither can we.
    floor = {}
    if "floor" in self.targets:
        tl.append("")
        tl.append("The floor (bench/floor.c: two bare blocking-splice "
                  "forwarders), in the same run:")
        for wl, lab in (("iperf1", "bulk 1 stream up"),
                        ("iperf1R", "bulk 1 stream down"),
                        ("http1", "bulk 1 stream HTTP")):
            fq = tq = None
            for row in summary:
                if row["workload"] == wl and row["metric"] == "mbps":
                    fq = _ratio(row, "floor", "haproxy-1t")
                    tq = _ratio(row, plain, "floor")
            floor[wl] = {"floor/haproxy-1t": fq, "tunnel/floor": tq}
            tl.append("  %-34s floor %s haproxy-1t, tunnel %s floor" % (
                lab, "%.2fx" % fq if fq else "-", "%.2fx" % tq if tq else "-"))
        for wl, lab in (("iperf1", "CPU s/GB iperf3 1 up"),
                        ("bulkall", "CPU s/GB all bulk runs")):
            fc, tc = med(wl, "cpu_per_gb", "floor"), med(wl, "cpu_per_gb",
                                                         plain)
            floor[wl + "_cpu"] = {"floor": fc, "tunnel": tc}
            tl.append("  %-34s floor %s s/GB, tunnel %s s/GB (%s)" % (
                lab, fmt(fc), fmt(tc),
                "%.2fx" % (tc / fc) if fc and tc else "-"))
        # Machine-wide, over direct: what forwarding costs the machine,
        # softirq included, whichever process or context pays it.
        dm = med("bulkall", "sys_per_gb", "direct")
        for t in (plain, "floor", "haproxy-1t"):
            tm = med("bulkall", "sys_per_gb", t)
            floor[t + "_machine_extra"] = (tm - dm) if tm and dm else None
        tl.append(("  %-34s " + plain + " %s, floor %s, haproxy-1t %s s/GB") % (
            "machine CPU over direct, all bulk", *(
                fmt(floor[t + "_machine_extra"])
                for t in (plain, "floor", "haproxy-1t"))))
    # What the pool floor says about Connection: close: if the pool design
    # with nothing else cannot reach 1.0x haproxy-1t, neither can we.
    if "poolfloor" in self.targets:
        tl.append("")
        tl.append("The pool floor (bench/poolfloor.c: the pool design with "
                  "no protocol or guarantees), in the same run:")
        for wl, met, lab in (("close", "rps", "Connection: close req/s"),
                             ("close", "cpu_us_req", "  forwarder CPU us/req"),
                             ("close", "sys_us_req", "  machine CPU us/req"),
                             ("ka", "rps", "keep-alive req/s")):
            pv, tv = med(wl, met, "poolfloor"), med(wl, met, plain)
            hv = med(wl, met, "haproxy-1t")
            floor["poolfloor_%s_%s" % (wl, met)] = {
                "poolfloor": pv, "tunnel": tv, "haproxy-1t": hv}
            tl.append("  %-34s pool floor %s (%s haproxy-1t), tunnel %s "
                      "(%s pool floor)" % (
                          lab, fmt(pv), "%.2fx" % (pv / hv) if pv and hv
                          else "-", fmt(tv),
                          "%.2fx" % (tv / pv) if pv and tv else "-"))
    # The baseline: the same tunnel from an earlier commit, for "make
    # bench shows no regression". Rows more than 10% apart either way.
    base = None
    if "base" in self.targets:
        base = {"rev": self.meta["base_rev"], "worse": [], "better": [],
                "rows": 0}
        for row in summary:
            q = row.get("ratios", {}).get("tunnel/base")
            if not q:
                continue
            base["rows"] += 1
            gain = q if row["higher_is_better"] else 1 / q
            if gain < 0.9:
                base["worse"].append((row["label"].strip(), q))
            elif gain > 1.1:
                base["better"].append((row["label"].strip(), q))
        tl.append("")
        tl.append("The baseline (base: %s, %s), tunnel / base in the same "
                  "run:" % (base["rev"], "visitors_per_address: 0" if
                            self.meta["base_visitors_per_address"] else
                            "config without visitors_per_address"))
        tl.append("  %d rows compared: %d more than 10%% better, %d more "
                  "than 10%% worse" % (base["rows"], len(base["better"]),
                                       len(base["worse"])))
        for lab, q in base["worse"]:
            tl.append("  worse   %-33s %.2fx" % (lab, q))
    print()
    print("tunnel benchmark, %s, tunnel %s%s, %d round(s), %d cores, "
          "loopback, %.0f s, load average %.1f at start, %.1f at end" % (
              self.meta["date"], self.meta["tunnel_rev"],
              ", base %s" % self.meta["base_rev"] if base else "",
              self.args.rounds, os.cpu_count(), self.elapsed,
              self.meta["loadavg_start"], self.meta["loadavg_end"]))
    if self.meta["loadavg_start"] > 1.0:
        print("WARNING: the machine was busy before the run started (load "
              "%.1f): other work shares the cores, figures are lower and "
              "noisier" % self.meta["loadavg_start"])
    print(table)
    print()
    print("\n".join(tl))
    if self.notes:
        print()
        print("Anomalies (errors, failures, drops) seen during the run:")
        for n in self.notes:
            print("  - " + n)
    out_dir = os.path.join(HERE, "results")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "%s%s.json" % (
        self.meta["stamp"], "-quick" if self.args.quick else ""))
    out = {"meta": self.meta, "args": vars(self.args),
           "summary": summary, "targets": checks, "floor": floor,
           "notes": self.notes,
           "raw": self.results, "table": table}
    if base:
        out["base"] = base
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print()
    print("results written to %s" % os.path.relpath(path, TOP))


Bench.report = _report


def collect_meta():
    def ver(argv):
        try:
            p = subprocess.run(argv, capture_output=True, timeout=10)
            return (p.stdout + p.stderr).decode(errors="replace").splitlines()[0]
        except Exception:
            return None
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    now = datetime.datetime.now()
    rev = None
    try:
        rev = subprocess.run(["git", "-C", TOP, "describe", "--always", "--dirty"],
                             capture_output=True, timeout=10).stdout.decode().strip()
    except Exception:
        pass
    return {"date": now.strftime("%Y-%m-%d %H:%M"),
            "loadavg_start": os.getloadavg()[0],
            "stamp": now.strftime("%Y%m%d-%H%M%S"),
            "host": platform.node(), "kernel": platform.release(),
            "cpus": os.cpu_count(), "cpu": cpu, "tunnel_rev": rev,
            "haproxy": ver(["haproxy", "-v"]), "nginx": ver(["nginx", "-v"]),
            "iperf3": ver(["iperf3", "--version"]), "wrk": ver(["wrk", "-v"]),
            "python": sys.version.split()[0]}


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="bench/run.sh",
        description="tunnel vs two-hop HAProxy chain vs direct, on loopback")
    ap.add_argument("--quick", action="store_true",
                    help="1 round, short durations: under 2 minutes")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--iperf-time", type=int, help="seconds per iperf3 run")
    ap.add_argument("--wrk-time", type=int, help="seconds per wrk run")
    ap.add_argument("--http-time", type=float, help="seconds per HTTP bulk run")
    ap.add_argument("--large-mib", type=int, help="size of the large file")
    ap.add_argument("--idle", type=int,
                    help="idle visitors for the memory workload "
                    "(default 5000, quick 2000)")
    ap.add_argument("--idle-wait", type=float,
                    help="seconds to wait for them to reach the service "
                    "(default 60, quick 20)")
    ap.add_argument("--burst", type=int, default=1000)
    ap.add_argument("--burst-timeout", type=float, default=10)
    ap.add_argument("--pool", type=int, default=20, help="tunnel pool_size")
    ap.add_argument("--conns", type=int, default=50, help="wrk connections")
    ap.add_argument("--only", default="bulk,ka,close,mib,burst,mem",
                    help="comma list of bulk,ka,close,mib,burst,mem")
    ap.add_argument("--targets", help="default: all; quick: all but "
                    "haproxy-mt; base is added when --base is given")
    ap.add_argument("--base", metavar="DIR",
                    help="adds target base: the tunnel-server and "
                    "tunnel-client in DIR, an earlier build (make bench "
                    "BASE=<commit> builds one)")
    ap.add_argument("--base-rev", help="what to call the baseline in the "
                    "report (default: DIR)")
    ap.add_argument("--time-limit", type=int,
                    help="hard limit for the whole run, seconds")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args(argv)
    q = a.quick
    a.rounds = a.rounds or (1 if q else 5)
    a.iperf_time = a.iperf_time or (2 if q else 5)
    a.wrk_time = a.wrk_time or (2 if q else 5)
    a.http_time = a.http_time or (1.0 if q else 3.0)
    a.large_mib = a.large_mib or (256 if q else 1024)
    # The baseline is one target more: about a fifth more time.
    a.time_limit = a.time_limit or (
        (300 if q else 700 + 640 * a.rounds) if a.base else
        (260 if q else 700 + 570 * a.rounds))
    # Quick stays under 2 minutes: fewer idle visitors, a shorter wait
    # for them, and no second HAProxy chain.
    a.idle = a.idle or (2000 if q else 5000)
    a.idle_wait = a.idle_wait or (20 if q else 60)
    a.targets = a.targets or (
        "direct,tunnel,tunnel-plain,tunnel-metrics,floor,poolfloor,"
        "haproxy-1t,haproxy-tls,tunnel-https,haproxy-https" if q else
        "direct,tunnel,tunnel-plain,tunnel-metrics,floor,poolfloor,"
        "haproxy-1t,haproxy-mt,haproxy-tls,tunnel-https,haproxy-https")
    if a.base and "base" not in a.targets.split(","):
        a.targets += ",base"
    a.only = a.only.split(",")
    a.targets = a.targets.split(",")
    if "tunnel" not in a.targets:
        ap.error("--targets must include tunnel")
    if "base" in a.targets and not a.base:
        ap.error("target base needs --base DIR (or make bench BASE=<commit>)")
    return a


def main():
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        cmd, rest = sys.argv[1], sys.argv[2:]
        if cmd == "_download":
            cmd_download(int(rest[0]), rest[1], int(rest[2]), float(rest[3]))
        elif cmd == "_burst":
            cmd_burst(int(rest[0]), rest[1], int(rest[2]), float(rest[3]))
        elif cmd == "_hold":
            cmd_hold(int(rest[0]), int(rest[1]))
        else:
            sys.exit("unknown helper " + cmd)
        return
    args = parse_args(sys.argv[1:])
    b = Bench(args)
    b.nofile = raise_nofile()
    if b.nofile < 2 * args.idle + 1000:
        print("# warning: fd limit %d is low for %d idle visitors" %
              (b.nofile, args.idle))
    b.meta = collect_meta()
    if args.base:
        b.meta["base_rev"] = args.base_rev or args.base

    def on_signal(sig, frame):
        raise SystemExit("bench: interrupted by signal %d" % sig)

    def on_alarm(sig, frame):
        b.failed = True
        raise SystemExit("bench: ERROR: time limit of %d s exceeded "
                         "(--time-limit)" % args.time_limit)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.time_limit)
    try:
        b.main()
    except BaseException:
        b.failed = True
        raise
    finally:
        signal.alarm(0)
        b.cleanup()


if __name__ == "__main__":
    main()
