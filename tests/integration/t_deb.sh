#!/usr/bin/env bash
# make deb builds dist/tunnel_<version>_<arch>.deb as Debian expects:
#  - lintian reports no error and no warning;
#  - its binaries link libssl, libyaml and libcrypt dynamically, and
#    Depends names them (dpkg-shlibdeps);
#  - dpkg -i into a test root (--root, maintainer scripts run chrootless)
#    puts the binaries, the unit, the man pages and the examples where the
#    unit and Debian look, and the unit's paths are those files;
#  - `tunnel-server --fingerprint` run by hand (root, no StateDirectory)
#    makes the key in /var/lib/tunnel and gives it to that directory's
#    owner; run as the unit runs it, the installed server uses that same
#    key and makes its secret there too, not beside its configuration;
#  - dpkg --purge takes every file away.
. "$(dirname "$0")/lib.sh"
[ "$BUILD" = build ] || skip "make deb builds its own binaries: once is enough"
command -v dpkg-deb >/dev/null || fail "dpkg-deb missing"
command -v lintian >/dev/null || fail "lintian missing (make deps-test installs it)"
VERSION=$(sed -n 's/^VERSION[[:space:]]*=[[:space:]]*//p' "$TOP/Makefile")
ARCH=$(dpkg --print-architecture)
DEB="$TOP/dist/tunnel_${VERSION}_${ARCH}.deb"
rm -f "$DEB"
make -s -C "$TOP" deb >"$T/deb.log" 2>&1 || fail "make deb: $(tail -n 20 "$T/deb.log")"
[ -f "$DEB" ] || fail "no $DEB"

lintian --fail-on error,warning "$DEB" >"$T/lintian.out" 2>&1 ||
    fail "lintian: $(grep -v 'root privileges' "$T/lintian.out")"
grep -E '^[EW]: ' "$T/lintian.out" && fail "lintian: $(cat "$T/lintian.out")"

dep=$(dpkg-deb -f "$DEB" Depends)
for lib in libssl3 libyaml-0-2 libcrypt1 libc6 adduser; do
	echo "$dep" | grep -q "$lib" || fail "Depends lacks $lib: $dep"
done

# A test root dpkg can install into.
R="$T/root"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
: >"$R/var/lib/dpkg/status"
dpkg --root="$R" --force-script-chrootless --force-depends --force-not-root \
    -i "$DEB" >"$T/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$T/dpkg.log")"
grep -q "write /etc/tunnel/tunnel-server-config.yaml" "$T/dpkg.log" || fail "postinst did not say what to do next: $(cat "$T/dpkg.log")"
for f in usr/bin/tunnel-server usr/bin/tunnel-client usr/libexec/tunnel/tunnel-acme \
    lib/systemd/system/tunnel-server.service \
    usr/share/man/man8/tunnel-server.8.gz usr/share/man/man1/tunnel-client.1.gz \
    usr/share/man/man5/tunnel-server-config.yaml.5.gz usr/share/doc/tunnel/copyright \
    usr/share/doc/tunnel/tunnel-server-config.yaml.example; do
	[ -f "$R/$f" ] || fail "the package did not install /$f"
done
for b in tunnel-server tunnel-client; do
	ldd "$R/usr/bin/$b" | grep -q 'libssl.so' || fail "$b does not link libssl dynamically: $(ldd "$R/usr/bin/$b")"
	ldd "$R/usr/bin/$b" | grep -q 'libyaml' || fail "$b does not link libyaml dynamically"
	"$R/usr/bin/$b" --version | grep -q "^$b $VERSION " || fail "installed $b does not run"
done
ldd "$R/usr/libexec/tunnel/tunnel-acme" | grep -q 'libcurl' || fail "tunnel-acme does not link libcurl"
"$R/usr/libexec/tunnel/tunnel-acme" --version | grep -q "^tunnel-acme $VERSION" || fail "installed tunnel-acme does not run"
grep -q '^Depends:.*libcurl4' "$R/var/lib/dpkg/status" || fail "Depends lacks libcurl4: $(grep ^Depends "$R/var/lib/dpkg/status")"
U="$R/lib/systemd/system/tunnel-server.service"
grep -qx 'ExecStart=/usr/bin/tunnel-server -c /etc/tunnel/tunnel-server-config.yaml' "$U" ||
    fail "the unit's ExecStart: $(grep ExecStart "$U")"
# The unit, its paths pointed into the test root, is what systemd accepts.
sed "s|=/usr/bin/|=$R/usr/bin/|" "$U" >"$T/tunnel-server.service"
MANPATH="$R/usr/share/man" systemd-analyze verify "$T/tunnel-server.service" >"$T/verify.out" 2>&1 ||
    fail "systemd-analyze verify: $(cat "$T/verify.out")"
[ -s "$T/verify.out" ] && fail "systemd-analyze verify said: $(cat "$T/verify.out")"
log "installed: Depends: $dep"

# By hand first, as an administrator following the client's advice:
# the key lands where the service will look, owned by the service's user.
SPORT=$(free_port)
write_server_config "$R/etc/tunnel/tunnel-server-config.yaml" "$SPORT" 4
[ -d "$R/var/lib/tunnel" ] || fail "postinst did not make /var/lib/tunnel"
chown 65534:65534 "$R/var/lib/tunnel"
FP=$(env -u STATE_DIRECTORY "$R/usr/bin/tunnel-server" --fingerprint \
    -c "$R/etc/tunnel/tunnel-server-config.yaml" 2>/dev/null | grep -o 'SHA256:[A-Za-z0-9+/]*' | head -n 1)
[ -n "$FP" ] || fail "--fingerprint printed no fingerprint"
[ -f "$R/var/lib/tunnel/tunnel-server.key" ] || fail "--fingerprint did not make the key in /var/lib/tunnel"
[ -e "$R/etc/tunnel/tunnel-server.key" ] && fail "--fingerprint made a key beside the configuration"
[ "$(stat -c %u:%g "$R/var/lib/tunnel/tunnel-server.key")" = 65534:65534 ] ||
    fail "the key made by root is $(stat -c %U:%G "$R/var/lib/tunnel/tunnel-server.key"), not the state directory's owner's"
# As the unit runs it: config in /etc/tunnel, STATE_DIRECTORY for the rest.
(cd "$R/var/lib/tunnel" && STATE_DIRECTORY="$R/var/lib/tunnel" exec "$R/usr/bin/tunnel-server" \
    -c "$R/etc/tunnel/tunnel-server-config.yaml") >>"$T/server.log" 2>&1 &
SERVER_PID=$!
PIDS="$PIDS $SERVER_PID"
wait_for port_open "$SPORT" || fail "the installed server did not start"
for f in tunnel-server.key tunnel-server.crt tunnel-server.secret; do
	[ -f "$R/var/lib/tunnel/$f" ] || fail "$f not made in the state directory: $(ls "$R/var/lib/tunnel")"
	[ -e "$R/etc/tunnel/$f" ] && fail "$f made beside the configuration"
	[ "$(stat -c %u "$R/var/lib/tunnel/$f")" = 65534 ] || fail "$f is not the state directory owner's"
done
grep -q "key fingerprint $FP" "$T/server.log" || fail "the service uses another key than --fingerprint named: $(grep fingerprint "$T/server.log")"
start_client "$SPORT" 9 --fingerprint "$FP"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
log "the installed server keeps its key and secret in /var/lib/tunnel"

dpkg --root="$R" --force-script-chrootless --force-not-root --purge tunnel >>"$T/dpkg.log" 2>&1 ||
    fail "dpkg --purge: $(tail -n 5 "$T/dpkg.log")"
left=$(cd "$R" && find . -type f ! -path './var/lib/dpkg/*' ! -path './etc/tunnel/*')
[ -z "$left" ] || fail "purge left: $left"
[ -e "$R/var/lib/tunnel" ] && fail "purge left /var/lib/tunnel"
echo "PASS"
