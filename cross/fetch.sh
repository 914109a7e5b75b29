#!/bin/sh
# cross/fetch.sh DIR PACKAGE...: puts each Debian source package's upstream
# tarball (its .orig.tar.*) into DIR, for the builds of the libraries that
# the macOS and Windows clients link statically (cross/deps.sh).
#
# The sources come from the same Debian archive as this machine's binary
# packages, through apt itself, so each tarball is checked against the
# archive's signed index: the "deb" entries of this system's apt sources
# are read as "deb-src" ones into a private apt state under DIR/apt, and
# the system's own configuration is left as it was. Tarballs already in
# DIR are kept.
set -eu
dir=$1; shift
mkdir -p "$dir/apt/lists/partial" "$dir/apt/parts" "$dir/apt/cache/partial"
dir=$(cd "$dir" && pwd)

have=1
for p in "$@"; do
	ls "$dir/$p"_*.orig.tar.* >/dev/null 2>&1 || have=0
done
[ $have = 1 ] && exit 0

# deb822 files: every stanza of Types: deb gains deb-src; one-line lists:
# each "deb" line is repeated as "deb-src".
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	sed 's/^Types:.*\<deb\>.*/Types: deb-src/' "$f" \
	    >"$dir/apt/parts/$(basename "$f")"
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] || continue
	sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" \
	    >"$dir/apt/parts/$(basename "$f")"
done

apt_priv() {
	apt-get -q -o Dir::Etc::SourceList=/dev/null \
	    -o Dir::Etc::SourceParts="$dir/apt/parts" \
	    -o Dir::State::Lists="$dir/apt/lists" \
	    -o Dir::Cache::Archives="$dir/apt/cache" \
	    -o Debug::NoLocking=1 "$@"
}
apt_priv update >"$dir/apt/update.log" 2>&1 ||
    { cat "$dir/apt/update.log" >&2; exit 1; }
cd "$dir"
# apt checks each file it fetches against the signed index and keeps none
# that fails; a missing .dsc or Debian diff (a mirror that lags behind its
# security index) is no matter, since only the upstream tarballs are used.
apt_priv -o APT::Sandbox::User=root source --download-only "$@" || true
rm -f ./*.dsc ./*.debian.tar.* ./*.diff.gz ./*.asc
for p in "$@"; do
	ls "$dir/$p"_*.orig.tar.* >/dev/null 2>&1 || {
		echo "cross/fetch.sh: no source for $p" >&2; exit 1; }
done
