#!/usr/bin/env bash
# metrics_listen serves Prometheus' text format at GET /metrics:
#  - promtool (Debian's prometheus package) accepts what it serves;
#  - the figures move with known traffic: sessions and idle pool, logins
#    ok and refused, visitors per user, bytes in and out to the byte for
#    exact transfers, bytes of a download still running, failures by
#    reason (no client, local service down), process figures;
#  - the HTTP reader is strict and bounded: 404, 405, 400, 431, a
#    slow client cut at its deadline, 16 idle connections do not lock
#    a scraper out for longer than that deadline;
#  - a reload moves the endpoint and keeps the counters; a bad address is
#    refused at load with file:line:col;
#  - the shipped Grafana dashboard asks only for metrics the server serves,
#    in PromQL that promtool accepts.
. "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus: make deps-test)"
SPORT=$(free_port)
XPORT=$(free_port)
MPORT=$(free_port)
BPORT=$(free_port)
DEAD=$(free_port)
start_xfer_service "$XPORT"

conf() {
	cat >"$T/server.yaml" <<YAML
port: $SPORT
pool_size: 4
connect_timeout: 5
transport: $TRANSPORT
metrics_listen: "$1"
users:
  - username: admin
    password: "$PASSWORD"
  - username: bob
    password: "bob-Pass-1"
    port: $BPORT
log:
  enable: false
YAML
}
conf "127.0.0.1:$MPORT"
T0=$(date +%s)
start_server "$T/server.yaml"
grep -q "metrics: http://127.0.0.1:$MPORT/metrics" "$T/server.log" || fail "no metrics line in the log"
start_client "$SPORT" "$XPORT"

scrape() { curl -sf --max-time 5 "http://127.0.0.1:${1:-$MPORT}/metrics"; }
# m KEY: the value of the sample KEY (name and labels as written).
m() { scrape | awk -v k="$1" '$1 == k { print $2; f = 1 } END { exit !f }'; }
is() { [ "$(m "$1")" = "$2" ]; }

scrape >"$T/m1.txt" || fail "GET /metrics failed"
promtool check metrics <"$T/m1.txt" >"$T/promtool.out" 2>&1 ||
    fail "promtool check metrics: $(cat "$T/promtool.out")"
curl -s -D "$T/h.txt" -o /dev/null "http://127.0.0.1:$MPORT/metrics"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/h.txt" || fail "content type: $(cat "$T/h.txt")"
wait_for is 'tunnel_sessions{user="admin"}' 1 || fail "sessions of admin: $(m 'tunnel_sessions{user="admin"}')"
is 'tunnel_sessions{user="bob"}' 0 || fail "bob has no session"
wait_for is 'tunnel_pool_idle{user="admin"}' 4 || fail "idle pool: $(m 'tunnel_pool_idle{user="admin"}')"
is 'tunnel_logins_total{result="ok"}' 1 || fail "logins ok: $(m 'tunnel_logins_total{result="ok"}')"
is tunnel_visitors_active 0 || fail "visitors active at rest"
ST=$(m process_start_time_seconds)
[ "$ST" -ge $((T0 - 2)) ] && [ "$ST" -le $(($(date +%s) + 1)) ] || fail "start time $ST (started at $T0)"
FDS=$(m process_open_fds)
REAL=$(fd_count "$SERVER_PID")
[ "$FDS" -ge $((REAL - 3)) ] && [ "$FDS" -le $((REAL + 3)) ] || fail "open fds $FDS, /proc says $REAL"
[ "$(m process_resident_memory_bytes)" -gt 100000 ] || fail "resident memory"
[ "$(m process_max_fds)" -gt 0 ] || fail "max fds"
log "at rest: sessions 1, pool 4, $FDS fds"

# Exact transfers: bytes in and out to the byte.
IN0=$(m 'tunnel_bytes_total{user="admin",direction="in"}')
OUT0=$(m 'tunnel_bytes_total{user="admin",direction="out"}')
V0=$(m 'tunnel_visitors_total{user="admin"}')
python3 "$TOP/tests/integration/xfer.py" client "$SPORT" down 3000000 >"$T/x1.out" 2>&1 || fail "down: $(cat "$T/x1.out")"
python3 "$TOP/tests/integration/xfer.py" client "$SPORT" up 2000000 >"$T/x2.out" 2>&1 || fail "up: $(cat "$T/x2.out")"
wait_for is tunnel_visitors_active 0 || fail "visitors still open after the transfers"
IN=$(( $(m 'tunnel_bytes_total{user="admin",direction="in"}') - IN0 ))
OUT=$(( $(m 'tunnel_bytes_total{user="admin",direction="out"}') - OUT0 ))
[ "$IN" -eq $((13 + 11 + 2000000)) ] || fail "bytes in: $IN (want $((13 + 11 + 2000000)))"
[ "$OUT" -ge 3000000 ] && [ "$OUT" -le 3000200 ] || fail "bytes out: $OUT (want 3000000 + the upload's answer)"
is 'tunnel_visitors_total{user="admin"}' $((V0 + 2)) || fail "visitors total: $(m 'tunnel_visitors_total{user="admin"}') (was $V0)"
log "exact: in +$IN, out +$OUT"

# A download still running shows its bytes, and one visitor open.
N=$((16 * 1024 * 1024))
IN1=$(m 'tunnel_bytes_total{user="admin",direction="in"}')
python3 - "$SPORT" "$N" >"$T/slow.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"down %d\n" % int(sys.argv[2]))
got = 0
while True:
    b = s.recv(65536)
    if not b:
        break
    got += len(b)
    time.sleep(0.01)
print(got)
PY
DL=$!
PIDS="$PIDS $DL"
OUT1=$(m 'tunnel_bytes_total{user="admin",direction="out"}')
sleep 1
is tunnel_visitors_active 1 || fail "the download is not an active visitor"
OUT2=$(m 'tunnel_bytes_total{user="admin",direction="out"}')
kill -0 "$DL" 2>/dev/null || fail "the download ended too soon"
[ "$OUT2" -gt "$OUT1" ] || fail "bytes out did not move during the download ($OUT1 -> $OUT2)"
[ "$(m tunnel_pipes_in_use)" -ge 0 ] || fail "pipes in use"
wait "$DL" || true
wait_for is tunnel_visitors_active 0 || fail "download visitor still open"
OUT3=$(m 'tunnel_bytes_total{user="admin",direction="out"}')
[ "$((OUT3 - OUT1))" -eq "$N" ] || fail "the download counted $((OUT3 - OUT1)) bytes, sent $N"
# Its request, counted once however many scrapes read it while it ran.
IN3=$(m 'tunnel_bytes_total{user="admin",direction="in"}')
[ "$((IN3 - IN1))" -eq $((${#N} + 6)) ] ||
    fail "bytes in: the download's request counted $((IN3 - IN1)) bytes, sent $((${#N} + 6))"
log "running download: out $OUT1 -> $OUT2 -> $OUT3"

# Failures by reason: bob's port with no client, then bob's client whose
# local service is down.
F0=$(m 'tunnel_visitor_failures_total{reason="no_client"}')
curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$BPORT/" || true
is 'tunnel_visitor_failures_total{reason="no_client"}' $((F0 + 1)) || fail "no_client not counted"
is 'tunnel_visitors_total{user="bob"}' 1 || fail "bob's visitor not counted"
(cd "$T" && TUNNEL_PASSWORD=wrong-Pass-1 exec "$CLIENT_BIN" -s "127.0.0.1:$SPORT" \
    -u bob -p "$DEAD" --transport "$TRANSPORT") >>"$T/badpw.log" 2>&1 &
BAD=$!
PIDS="$PIDS $BAD"
wait_for is 'tunnel_logins_total{result="bad_credentials"}' 1 || fail "bad credentials not counted"
kill "$BAD" 2>/dev/null || true
(cd "$T" && TUNNEL_PASSWORD=bob-Pass-1 exec "$CLIENT_BIN" -s "127.0.0.1:$SPORT" \
    -u bob -p "$DEAD" --transport "$TRANSPORT") >>"$T/bob.log" 2>&1 &
PIDS="$PIDS $!"
wait_for grep -q "tunnel up" "$T/bob.log" || fail "bob's client did not come up"
wait_for is 'tunnel_sessions{user="bob"}' 1 || fail "bob's session"
L0=$(m 'tunnel_visitor_failures_total{reason="local_service"}')
code=$(curl -s --max-time 8 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$BPORT/")
[ "$code" = 502 ] || fail "bob's visitor got $code, not 502"
is 'tunnel_visitor_failures_total{reason="local_service"}' $((L0 + 1)) || fail "local_service not counted"
is 'tunnel_logins_total{result="ok"}' 2 || fail "logins ok after bob: $(m 'tunnel_logins_total{result="ok"}')"
promtool check metrics < <(scrape) >"$T/promtool.out" 2>&1 || fail "promtool (after traffic): $(cat "$T/promtool.out")"

# The HTTP reader: nothing but GET /metrics.
st() { curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }
[ "$(st "http://127.0.0.1:$MPORT/")" = 404 ] || fail "GET / not 404"
[ "$(st "http://127.0.0.1:$MPORT/metricsx")" = 404 ] || fail "GET /metricsx not 404"
[ "$(st -X POST -d x=1 "http://127.0.0.1:$MPORT/metrics")" = 405 ] || fail "POST not 405"
[ "$(st -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' a)" "http://127.0.0.1:$MPORT/metrics")" = 431 ] || fail "5000-byte header not 431"
python3 - "$MPORT" >"$T/raw.out" 2>&1 <<'PY' || fail "raw requests: $(cat "$T/raw.out")"
import socket, sys, time
port = int(sys.argv[1])
def ask(req):
    s = socket.create_connection(("127.0.0.1", port), 3)
    s.sendall(req)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out.split(b"\r\n", 1)[0]
cases = [
    (b"GET /metrics HTTP/1.1\r\n\r\n", b"400"),               # no Host
    (b"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", b"400"),
    (b"GET /metrics HTTP/2.0\r\nHost: a\r\n\r\n", b"400"),
    (b"GET /metrics HTTP/1.1\nHost: a\n\n\r\n\r\n", b"400"),   # bare LF
    (b"GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", b"400"),
    (b"GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", b"400"),
    (b"GET /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", b"400"),
    (b"GET /metrics HTTP/1.1\r\nHo st: a\r\n\r\n", b"400"),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", b"400"),
    (b"HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n", b"405"),
    (b"GET /metrics HTTP/1.0\r\n\r\n", b"200"),
    (b"GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", b"200"),
]
for req, want in cases:
    got = ask(req)
    if not got.startswith(b"HTTP/1.1 " + want):
        sys.exit("%r: %r, want %s" % (req, got, want.decode()))
# A request sent a byte at a time, one split across the blank line.
s = socket.create_connection(("127.0.0.1", port), 3)
for c in b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n":
    s.send(bytes([c]))
    time.sleep(0.002)
if not s.recv(64).startswith(b"HTTP/1.1 200"):
    sys.exit("byte-at-a-time request not answered")
# A client that never finishes its request is cut at the deadline.
s = socket.create_connection(("127.0.0.1", port), 10)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: a\r\n")
t0 = time.time()
try:
    b = s.recv(64)
except socket.timeout:
    sys.exit("slow client: still connected after 10 s")
dt = time.time() - t0
if b != b"" or not 4 <= dt <= 8:
    sys.exit("slow client: %r after %.1f s" % (b, dt))
print("ok")
PY
# Sixteen idle connections take every slot; a scraper gets in once the
# deadline frees them, and the server is not blocked meanwhile.
python3 - "$MPORT" >"$T/hold.out" 2>&1 <<'PY' &
import socket, sys, time
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(16)]
time.sleep(9)
PY
HOLD=$!
PIDS="$PIDS $HOLD"
sleep 0.5
t0=$(date +%s%N)
python3 "$TOP/tests/integration/xfer.py" client "$SPORT" down 1000 >/dev/null 2>&1 || fail "the tunnel stalled while the metrics slots were held"
scrape >/dev/null || fail "no scrape once the held connections timed out"
MS=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$MS" -ge 3000 ] && [ "$MS" -le $((8000 * SLOW)) ] || fail "scrape behind 16 held connections took $MS ms (deadline 5 s)"
kill "$HOLD" 2>/dev/null || true
log "strict reader ok; scrape behind 16 held slots: $MS ms"

# Reload: the endpoint moves, counters stay.
M2=$(free_port)
VBEFORE=$(m 'tunnel_visitors_total{user="admin"}')
conf "127.0.0.1:$M2"
kill -HUP "$SERVER_PID"
wait_for grep -q "reload: metrics now at http://127.0.0.1:$M2/metrics" "$T/server.log" || fail "no reload line for the metrics move"
port_open "$MPORT" && fail "old metrics port $MPORT still open"
MPORT=$M2
is 'tunnel_visitors_total{user="admin"}' "$VBEFORE" || fail "counters lost across the reload"
is 'tunnel_sessions{user="admin"}' 1 || fail "admin's session after the reload"

# The dashboard: every metric it names is served, every query parses.
scrape >"$T/m2.txt" || fail "scrape for the dashboard check"
python3 - "$TOP/packaging/grafana/tunnel-server-dashboard.json" "$T/m2.txt" >"$T/dash-rules.yml" 2>"$T/dash.err" <<'PY' ||
import json, re, sys
dash = json.load(open(sys.argv[1]))
served = {l.split("{")[0].split(" ")[0] for l in open(sys.argv[2]) if l[0] != "#"}
exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
assert len(exprs) >= 10, "too few queries"
print("groups:\n  - name: dashboard\n    rules:")
for i, e in enumerate(exprs):
    for m in re.findall(r"\b((?:tunnel|process)_[a-z_]+)", e):
        if m not in served:
            sys.exit("the dashboard asks for %s, which /metrics does not serve" % m)
    e = e.replace("$job", "tunnel").replace("$__rate_interval", "1m")
    print("      - record: dashboard:q%d\n        expr: %s" % (i, json.dumps(e)))
PY
    fail "dashboard: $(cat "$T/dash.err")"
promtool check rules "$T/dash-rules.yml" >"$T/dash-promtool.out" 2>&1 ||
    fail "promtool check rules on the dashboard's queries: $(cat "$T/dash-promtool.out")"
log "dashboard: $(grep -c 'record:' "$T/dash-rules.yml") queries, their metrics served, PromQL accepted"
# A reload to an address that cannot be used changes nothing.
conf "127.0.0.1:$SPORT"
kill -HUP "$SERVER_PID"
wait_for grep -q "metrics_listen: port $SPORT is already the main port" "$T/server.log" || fail "main port as metrics port not refused"
scrape >/dev/null || fail "metrics gone after a refused reload"

# Out of descriptors: the endpoint pauses its accepts instead of spinning
# on a connection it cannot take (level-triggered, it would wake at once).
# The running server's limit is lowered so that exactly 4 descriptors are
# free, and 16 scrapers connect and stay silent: 4 are taken, the 5th
# fails, and nothing else in the server can free a slot before the held
# ones reach their 5 s deadline.
kill "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
sleep 0.5
LIMIT=$(python3 - "$SERVER_PID" <<'PY'
import os, sys
used = {int(f) for f in os.listdir("/proc/%s/fd" % sys.argv[1])}
limit = free = 0
while free < 4:
    free += limit not in used
    limit += 1
print(limit)
PY
)
OLDLIM=$(prlimit --pid "$SERVER_PID" --nofile --noheadings --output=SOFT,HARD --raw | tr ' ' ':')
L0=$(wc -l <"$T/server.log")
cpu0=$(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat")
prlimit --pid "$SERVER_PID" --nofile="$LIMIT:${OLDLIM#*:}" || fail "prlimit on the server"
python3 - "$MPORT" >"$T/fill.out" 2>&1 <<'PY'
import socket, sys, time
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2) for _ in range(16)]
time.sleep(3)
PY
cpu=$(( $(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat") - cpu0 ))
n=$(tail -n +$((L0 + 1)) "$T/server.log" | grep -c "metrics: accept" || true)
prlimit --pid "$SERVER_PID" --nofile="$OLDLIM" || fail "prlimit back on the server"
[ "$n" -ge 1 ] && [ "$n" -le 10 ] || fail "EMFILE on the metrics port: $n 'metrics: accept' lines in 3 s (want a few: paused, not spinning)"
[ "$cpu" -lt $((100 * SLOW)) ] || fail "the server spent $cpu ticks of 3 s out of descriptors"
wait_for scrape || fail "no scrape once descriptors were back"
log "EMFILE: $n accept warnings, $cpu ticks of CPU in 3 s with $LIMIT descriptors"

# Load-time checks, file:line:col.
for bad in "localhost:9339" "127.0.0.1" "127.0.0.1:0" "[::1]9339" "1.2.3.4.5:80"; do
	sed "s|^metrics_listen: .*|metrics_listen: \"$bad\"|" "$T/server.yaml" >"$T/bad.yaml"
	out=$("$SERVER_BIN" -n -c "$T/bad.yaml" 2>&1) && fail "metrics_listen '$bad' accepted"
	echo "$out" | grep -qF "bad.yaml:5:17: metrics_listen: '$bad' is not IP:port" || fail "metrics_listen '$bad': $out"
done
sed "s|^metrics_listen: .*|metrics_listen: \"[::1]:$BPORT\"|" "$T/server.yaml" >"$T/bad.yaml"
out=$("$SERVER_BIN" -n -c "$T/bad.yaml" 2>&1) && fail "bob's port as metrics port accepted"
echo "$out" | grep -q "bad.yaml:5:17: metrics_listen: port $BPORT is already the port of user 'bob'" || fail "bob's port: $out"
echo "PASS"
