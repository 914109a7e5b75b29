#!/usr/bin/env bash
# make install puts both binaries, stripped and mode 0755, under
# DESTDIR/PREFIX/bin, and they run; the man pages (clean under mandoc
# -Tlint), the systemd unit (its ExecStart the installed binary,
# systemd-analyze verify clean) and the examples beside them; make
# uninstall takes every file away again.
. "$(dirname "$0")/lib.sh"
[ "$BUILD" = build ] || skip "make install installs the default build"
D="$T/root"
make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr/local >"$T/install.log" 2>&1 ||
    fail "make install: $(tail -n 5 "$T/install.log")"
for b in tunnel-server tunnel-client; do
	f="$D/usr/local/bin/$b"
	[ -x "$f" ] || fail "$b not installed"
	[ "$(stat -c %a "$f")" = 755 ] || fail "$b mode $(stat -c %a "$f")"
	readelf -S "$f" | grep -q '\.debug_info' && fail "$b was installed with its debug info"
	readelf -S "$f" | grep -q '\.symtab' && fail "$b was installed with its symbol table"
	"$f" --version | grep -q "^$b " || fail "installed $b does not run"
done
a="$D/usr/local/libexec/tunnel/tunnel-acme"
[ -x "$a" ] && [ "$(stat -c %a "$a")" = 755 ] || fail "tunnel-acme not installed in libexec/tunnel"
readelf -S "$a" | grep -q '\.symtab' && fail "tunnel-acme was installed with its symbol table"
"$a" --version | grep -q "^tunnel-acme " || fail "installed tunnel-acme does not run"
# The installed server finds it there (acme: on, no CA needed to start).
P=$(free_port); H=$(free_port); S=$(free_port)
printf 'port: %s\ndomain: t.test\nhttp_port: %s\nhttps_port: %s\nacme: {directory: "https://127.0.0.1:1/dir"}\nusers:\n  - {username: a, password: "A-pass-1", hosts: [x]}\n' \
    "$P" "$H" "$S" >"$T/acme.yaml"
(cd "$T" && exec "$D/usr/local/bin/tunnel-server" -c "$T/acme.yaml") >"$T/server.log" 2>&1 &
SERVER_PID=$!
PIDS="$PIDS $SERVER_PID"
wait_for port_open "$P" || fail "the installed server did not start with acme"
log_has "$T/server.log" "acme: certificates for 1 name" || fail "the installed server: $(grep acme "$T/server.log")"
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
rm -rf "$T/acme" "$T"/tunnel-server.* "$T/server.log"
log "tunnel-acme installed in libexec/tunnel, and the installed server finds it"
readelf -S "$TOP/$BUILD/tunnel-server" | grep -q '\.debug_info' || log "(the build itself has no debug info)"
log "installed stripped: server $(stat -c %s "$D/usr/local/bin/tunnel-server") bytes, client $(stat -c %s "$D/usr/local/bin/tunnel-client") bytes"
for f in share/man/man8/tunnel-server.8 share/man/man1/tunnel-client.1 \
    share/man/man5/tunnel-server-config.yaml.5 lib/systemd/system/tunnel-server.service \
    share/doc/tunnel/tunnel-server-config.yaml.example share/doc/tunnel/tunnel-client-config.yaml.example \
    share/doc/tunnel/tunnel-server-dashboard.json; do
	[ -f "$D/usr/local/$f" ] || fail "$f not installed"
	[ "$(stat -c %a "$D/usr/local/$f")" = 644 ] || fail "$f mode $(stat -c %a "$D/usr/local/$f")"
done
grep -qx 'ExecStart=/usr/local/bin/tunnel-server -c /etc/tunnel/tunnel-server-config.yaml' \
    "$D/usr/local/lib/systemd/system/tunnel-server.service" || fail "the unit's ExecStart: $(grep ExecStart "$D/usr/local/lib/systemd/system/tunnel-server.service")"
if command -v mandoc >/dev/null; then
	mandoc -Tlint -Wwarning "$D"/usr/local/share/man/man*/* >"$T/mandoc.out" 2>&1 ||
	    fail "mandoc -Tlint: $(cat "$T/mandoc.out")"
else
	fail "mandoc missing (make deps-test installs it)"
fi
make -s -C "$TOP" uninstall DESTDIR="$D" PREFIX=/usr/local >>"$T/install.log" 2>&1 || fail "make uninstall"
left=$(find "$D" -type f)
[ -z "$left" ] || fail "uninstall left: $left"
log "make uninstall removed every file"

# Installed for real in a prefix of its own, the unit is what systemd
# accepts: its binary there, its Documentation= man pages found.
P="$T/prefix"
make -s -C "$TOP" install PREFIX="$P" >>"$T/install.log" 2>&1 || fail "make install PREFIX=$P"
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing"
MANPATH="$P/share/man" systemd-analyze verify "$P/lib/systemd/system/tunnel-server.service" >"$T/verify.out" 2>&1 ||
    fail "systemd-analyze verify: $(cat "$T/verify.out")"
[ -s "$T/verify.out" ] && fail "systemd-analyze verify said: $(cat "$T/verify.out")"
for k in NoNewPrivileges=yes ProtectSystem=strict StateDirectory=tunnel ConfigurationDirectory=tunnel \
    User=tunnel 'ExecReload=/bin/kill -HUP $MAINPID'; do
	grep -qxF "$k" "$P/lib/systemd/system/tunnel-server.service" || fail "the unit lacks $k"
done
log "systemd-analyze verify: clean"
