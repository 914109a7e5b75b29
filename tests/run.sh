#!/bin/sh
# Runs every unit test binary and every integration script, then prints
# "N passed, N failed, N skipped" and exits non-zero if anything failed.
# Unit binaries print one PASS/FAIL/SKIP line per test; an integration
# script is one test: exit 0 pass, 77 skip, anything else fail.
BUILD=${BUILD:-build}
export BUILD
# WIN_CLIENT (the Windows .exe to run under Wine) tells a script that the
# client under test is the Windows one (lib.sh's unix, console.py): it is
# set for the Windows section alone, never for the build's own run. A
# relative name is taken from the top of the tree, as the Makefile gives it.
win_exe=${WIN_CLIENT:-}
unset WIN_CLIENT
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 99
case "$win_exe" in
''|/*) ;;
*) win_exe="$top/$win_exe" ;;
esac
pass=0; fail=0; skip=0; failed_names=""
out=$(mktemp); trap 'rm -f "$out"' EXIT

for t in "$BUILD"/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.o|*.d) continue ;; esac
	$TUNNEL_WRAP "$t" >"$out" 2>&1
	rc=$?
	while read -r verdict name; do
		case "$verdict" in
		PASS) pass=$((pass + 1)); echo "ok   unit $name" ;;
		SKIP) skip=$((skip + 1)); echo "skip unit $name" ;;
		FAIL) fail=$((fail + 1)); failed_names="$failed_names $name"
		      echo "FAIL unit $name" ;;
		esac
	done <"$out"
	if [ $rc -ne 0 ]; then
		if ! grep -q '^FAIL' "$out"; then
			fail=$((fail + 1)); failed_names="$failed_names $t"
			echo "FAIL unit $t (exit $rc)"
		fi
		sed 's/^/    /' "$out"
	fi
done

# script PREFIX NAME: runs tests/integration/NAME.sh as one test, shown as
# PREFIX NAME (PREFIX empty for the build under test itself).
script() {
	label="${1:+$1 }$2"
	start=$(date +%s)
	timeout 600 bash "tests/integration/$2.sh" >"$out" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0)  pass=$((pass + 1)); echo "ok   $label (${secs}s)" ;;
	77) skip=$((skip + 1)); echo "skip $label: $(tail -n 1 "$out")" ;;
	*)  fail=$((fail + 1)); failed_names="$failed_names ${1:+$1:}$2"
	    echo "FAIL $label (exit $rc, ${secs}s)"; sed 's/^/    /' "$out" ;;
	esac
}

# scripts PREFIX NAME...: script PREFIX NAME for each NAME that ONLY, a
# pattern, selects (all when it is unset).
scripts() {
	prefix=$1; shift
	for name in "$@"; do
		if [ -n "${ONLY:-}" ] && ! echo "$name" | grep -q "$ONLY"; then
			continue
		fi
		script "$prefix" "$name"
	done
}

for t in tests/integration/t_*.sh; do
	[ -f "$t" ] || continue
	scripts "" "$(basename "$t" .sh)"
done

# The suite's core again on the arm64 release build (make dist-linux-arm64,
# whose directory ARM64_BUILD names), run under qemu-user. The client runs
# its helpers by executing itself again (/proc/self/exe), which qemu-user
# alone cannot follow: the kernel must hand aarch64 programs to qemu
# (binfmt_misc), as Debian's qemu-user-binfmt would; registered here when
# it is not yet, under a name of our own.
arm64_runs() {
	"$top/$ARM64_BUILD/tunnel-client" --version >/dev/null 2>&1 && return 0
	command -v qemu-aarch64 >/dev/null || return 1
	b=/proc/sys/fs/binfmt_misc
	[ -e $b/register ] || mount -t binfmt_misc binfmt_misc $b || return 1
	printf '%s' ':tunnel-qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:'"$(command -v qemu-aarch64)"':' \
	    >$b/register || return 1
	"$top/$ARM64_BUILD/tunnel-client" --version >/dev/null 2>&1
}
# t_tls too: the TLS link's attacks, pinning and resumed refills, on the
# arm64 client and server (about 35 s under qemu).
CORE="t_http_basic t_bulk t_integrity t_halfclose t_protocols t_auth
      t_restart t_at_most_once t_shutdown"
ARM64_CORE="$CORE t_tls"
if [ -n "${ARM64_BUILD:-}" ]; then
	if arm64_runs; then
		export SERVER_BIN="$top/$ARM64_BUILD/tunnel-server"
		export CLIENT_BIN="$top/$ARM64_BUILD/tunnel-client"
		scripts arm64 $ARM64_CORE
		unset SERVER_BIN CLIENT_BIN
	else
		fail=$((fail + 1)); failed_names="$failed_names arm64"
		echo "FAIL arm64: $ARM64_BUILD/tunnel-client does not run" \
		    "(qemu-aarch64 and binfmt_misc, as root)"
	fi
fi

# The Windows client (make dist-windows-x86_64, WIN_CLIENT names it) under
# Wine against this build's server: the suite's core, t_tls (the link's
# attacks, pinning, a symlinked config kept; its POSIX modes, owners and
# read-only mount are Unix's alone: Windows has ACLs), then what is
# Windows's own (win_client.sh). The first-run questions run on Wine's
# console, in a terminal (tests/integration/console.py). Wine
# starts with a prefix of its own in a fresh directory, made here once for
# the whole run (its first start, about 10 s); the client is stopped with
# SIGINT, which Wine hands it as Ctrl-C.
WIN_CORE="t_http_basic t_bulk t_halfclose t_protocols t_auth t_restart
	  t_at_most_once t_shutdown t_proxy_protocol t_hosts t_tls
	  t_client_setup t_badinput_prompt win_client"
if [ -n "$win_exe" ]; then
	WINE=${WINE:-/usr/lib/wine/wine64}
	WINEPREFIX=$(mktemp -d "${TMPDIR:-/tmp}/tunnel-wine.XXXXXX")
	export WINE WINEPREFIX
	if WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" \
	    "$WINE" "$win_exe" --version >"$out" 2>&1 &&
	    grep -q '^tunnel-client .*(.*poll, copy)' "$out"; then
		export CLIENT_BIN="$top/tests/integration/wine_client.sh"
		export CLIENT_STOP=INT WIN_CLIENT="$win_exe"
		scripts windows $WIN_CORE
		unset CLIENT_BIN CLIENT_STOP WIN_CLIENT
	else
		fail=$((fail + 1)); failed_names="$failed_names windows"
		echo "FAIL windows: $win_exe does not run under $WINE:"
		sed 's/^/    /' "$out"
	fi
	WINEPREFIX="$WINEPREFIX" "${WINE%64}server" -k 2>/dev/null || true
	rm -rf "$WINEPREFIX"
fi

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
