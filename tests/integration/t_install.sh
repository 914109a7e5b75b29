#!/usr/bin/env bash
# make install puts both binaries, stripped and mode 0755, under
# DESTDIR/PREFIX/bin, and they run; make uninstall takes them away again.
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
readelf -S "$TOP/$BUILD/tunnel-server" | grep -q '\.debug_info' || log "(the build itself has no debug info)"
log "installed stripped: server $(stat -c %s "$D/usr/local/bin/tunnel-server") bytes, client $(stat -c %s "$D/usr/local/bin/tunnel-client") bytes"
make -s -C "$TOP" uninstall DESTDIR="$D" PREFIX=/usr/local >>"$T/install.log" 2>&1 || fail "make uninstall"
[ -e "$D/usr/local/bin/tunnel-server" ] && fail "uninstall left tunnel-server"
[ -e "$D/usr/local/bin/tunnel-client" ] && fail "uninstall left tunnel-client"
log "make uninstall removed both"
