#!/bin/sh
# mkdeb.sh VERSION ARCH ROOT OUTDIR: turns ROOT, a `make install
# DESTDIR=ROOT PREFIX=/usr` tree, into OUTDIR/tunnel_VERSION_ARCH.deb:
# man pages compressed, copyright and changelog in the doc directory,
# Depends computed by dpkg-shlibdeps from the binaries, the maintainer
# scripts beside this file. Run by `make deb`.
set -eu
version=$1 arch=$2 out=$4
root=$(cd "$3" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# Who builds it: DEB_MAINTAINER, or the author of the last commit.
maintainer=${DEB_MAINTAINER:-$(git -C "$here" log -1 --format='%an <%ae>' 2>/dev/null || true)}
[ -n "$maintainer" ] || { echo "mkdeb: set DEB_MAINTAINER='Name <email>'" >&2; exit 1; }
doc=$root/usr/share/doc/tunnel

gzip -9nf "$root"/usr/share/man/man*/*
install -m 0644 "$here/copyright" "$doc/copyright"
{
	printf 'tunnel (%s) unstable; urgency=medium\n\n' "$version"
	printf '  * Release %s.\n\n' "$version"
	printf ' -- %s  %s\n' "$maintainer" \
	    "$(LC_ALL=C date -R -d @"${SOURCE_DATE_EPOCH:-$(git -C "$here" log -1 --format=%ct 2>/dev/null || date +%s)}")"
} | gzip -9n >"$doc/changelog.gz"
# The directory the configuration goes in; the unit's
# ConfigurationDirectory makes it too.
install -d -m 0755 "$root/etc/tunnel"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/debian"
printf 'Source: tunnel\n\nPackage: tunnel\nArchitecture: any\n' \
    >"$tmp/debian/control"
deps=$(cd "$tmp" && dpkg-shlibdeps -O -e"$root/usr/bin/tunnel-server" \
    -e"$root/usr/bin/tunnel-client" \
    -e"$root/usr/libexec/tunnel/tunnel-acme" 2>"$tmp/shlibdeps.err" |
    sed -n 's/^shlibs:Depends=//p') || {
	cat "$tmp/shlibdeps.err" >&2
	exit 1
}
[ -n "$deps" ] || { echo "mkdeb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -d -m 0755 "$root/DEBIAN"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$root/DEBIAN/"
cat >"$root/DEBIAN/control" <<CONTROL
Package: tunnel
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $deps, adduser
Section: net
Priority: optional
Description: reverse TCP tunnel to expose a local service
 tunnel-server runs on a host with a public address; tunnel-client, on a
 laptop behind NAT, logs in to it and keeps a pool of pre-dialed, TLS 1.3
 proxy connections. Every TCP connection that reaches the server (webhooks,
 HTTP, HTTPS, WebSocket, any TCP) is carried to a service on the laptop.
 .
 This package holds both programs, their manual pages and a hardened
 systemd unit for the server (not enabled: it needs a configuration first).
CONTROL
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print |
    sed 's|^\./||' | LC_ALL=C sort | xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/control"
mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$root" \
    "$out/tunnel_${version}_${arch}.deb" >/dev/null
echo "$out/tunnel_${version}_${arch}.deb"
