#!/bin/sh
# cross/deps.sh SRC PREFIX: builds the static libraries the client links
# (libyaml, libxcrypt's crypt(3), OpenSSL's libssl and libcrypto) from the
# upstream tarballs in SRC (cross/fetch.sh) for another system, and
# installs their headers and archives under PREFIX. Done once: a PREFIX
# that holds all four archives is left as it is.
#
# The environment names the target: CC, AR and RANLIB (commands, no
# arguments), HOST (its GNU triple, for the autoconf builds) and
# OPENSSL_TARGET (OpenSSL's name for it, as ./Configure LIST shows), and
# OPENSSL_FLAGS, more options for its ./Configure (may be empty).
set -eu
src=$(cd "$1" && pwd)
mkdir -p "$2"
prefix=$(cd "$2" && pwd)
: "${CC:?}" "${AR:?}" "${RANLIB:?}" "${HOST:?}" "${OPENSSL_TARGET:?}"
jobs=$(nproc 2>/dev/null || echo 2)

done_all=1
for a in libyaml.a libcrypt.a libssl.a libcrypto.a; do
	[ -f "$prefix/lib/$a" ] || done_all=0
done
[ $done_all = 1 ] && exit 0

work="$prefix/work"
rm -rf "$work"
mkdir -p "$work"

# unpack NAME: the one tarball of NAME in SRC, into $work/NAME.
unpack() {
	set -- "$src/$1"_*.orig.tar.*
	[ -f "$1" ] || { echo "cross/deps.sh: no tarball $1" >&2; exit 1; }
	d="$work/$(basename "$1" | sed 's/_.*//')"
	mkdir -p "$d"
	tar -xf "$1" -C "$d" --strip-components=1
}

log() { echo "cross/deps.sh: $*" >&2; }

# Output goes to a log each, shown only when a step fails.
step() {
	name=$1; shift
	if ! "$@" >>"$work/$name.log" 2>&1; then
		tail -n 12 "$work/$name.log" | cut -c1-300 >&2
		log "$name failed ($work/$name.log)"
		exit 1
	fi
}

if [ ! -f "$prefix/lib/libyaml.a" ]; then
	log "libyaml for $HOST"
	unpack libyaml
	cd "$work/libyaml"
	# Debian's tarball is the release's git tree, without a configure
	# script: its eight sources need only the version in config.h.
	v=$(basename "$src"/libyaml_*.orig.tar.* | sed 's/^libyaml_//; s/\.orig.*//')
	IFS=. read -r major minor patch <<-EOF
	$v
	EOF
	printf '#define YAML_VERSION_%s %s\n' MAJOR "$major" MINOR "$minor" \
	    PATCH "$patch" >src/config.h
	printf '#define YAML_VERSION_STRING "%s"\n' "$v" >>src/config.h
	for f in src/*.c; do
		step libyaml $CC -O2 -DHAVE_CONFIG_H -DYAML_DECLARE_STATIC -Iinclude -Isrc \
		    -c -o "${f%.c}.o" "$f"
	done
	mkdir -p "$prefix/lib" "$prefix/include"
	step libyaml $AR rc "$prefix/lib/libyaml.a" src/*.o
	step libyaml $RANLIB "$prefix/lib/libyaml.a"
	cp include/yaml.h "$prefix/include/"
fi

if [ ! -f "$prefix/lib/libcrypt.a" ]; then
	log "libxcrypt for $HOST"
	unpack libxcrypt
	cd "$work/libxcrypt"
	# Debian's tarball is the git tree: its configure is made here.
	[ -x configure ] || step libxcrypt autoreconf -fi
	# The client only verifies what a server stored: every hash method,
	# none of the obsolete glibc binary interfaces. Its -Werror is for
	# its own developers: another target's compiler (mingw-w64's
	# 32-bit read() length) warns where glibc's does not.
	step libxcrypt ./configure --host="$HOST" --prefix="$prefix" \
	    --disable-werror --disable-shared --enable-static --enable-obsolete-api=no \
	    --disable-failure-tokens --disable-xcrypt-compat-files \
	    CC="$CC" AR="$AR" RANLIB="$RANLIB"
	step libxcrypt make -j"$jobs" libcrypt.la
	step libxcrypt make install-nodist_includeHEADERS install-libLTLIBRARIES
fi

if [ ! -f "$prefix/lib/libssl.a" ] || [ ! -f "$prefix/lib/libcrypto.a" ]; then
	log "OpenSSL for $OPENSSL_TARGET (some minutes)"
	unpack openssl
	cd "$work/openssl"
	# Only what a TLS 1.3 client needs from OpenSSL at run time: no
	# engines or loadable modules (nothing to find on the user's disk).
	step openssl ./Configure "$OPENSSL_TARGET" --prefix="$prefix" \
	    --libdir=lib no-shared no-module no-engine no-dso no-tests \
	    no-legacy no-ui-console no-comp no-ssl3 ${OPENSSL_FLAGS:-} \
	    CC="$CC" AR="$AR" RANLIB="$RANLIB"
	step openssl make -j"$jobs" build_libs
	step openssl make install_dev
fi
rm -rf "$work"
log "done: $prefix"
