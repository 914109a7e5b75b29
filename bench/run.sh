#!/bin/sh
# tunnel benchmark: installs the tools it needs (Debian packages), raises the
# fd limit, then runs bench/bench.py. Usage: sh bench/run.sh [--quick] [...]
# (`sh bench/run.sh --help` lists the options.)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)

# tool -> Debian package
need="iperf3:iperf3 wrk:wrk nginx:nginx-light haproxy:haproxy python3:python3"
missing=""
for pair in $need; do
	tool=${pair%%:*}; pkg=${pair#*:}
	if command -v "$tool" >/dev/null 2>&1; then continue; fi
	if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		continue
	fi
	missing="$missing $pkg"
done
if [ -n "$missing" ]; then
	echo "bench: installing:$missing"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "bench: ERROR: missing$missing and no apt-get to install them" >&2
		exit 1
	fi
	# policy-rc.d (if present) keeps nginx/haproxy services from starting.
	$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
	    --no-install-recommends $missing || {
		echo "bench: ERROR: apt-get install$missing failed" >&2; exit 1; }
fi
for pair in $need; do
	tool=${pair%%:*}
	command -v "$tool" >/dev/null 2>&1 && continue
	# nginx and haproxy live in /usr/sbin, which a non-root PATH may lack
	if [ -x "/usr/sbin/$tool" ]; then PATH="$PATH:/usr/sbin"; export PATH; continue; fi
	echo "bench: ERROR: $tool not found after installing; giving up" >&2
	exit 1
done
for b in tunnel-server tunnel-client; do
	[ -x "$TOP/$b" ] || { echo "bench: ERROR: $TOP/$b missing: run make first" >&2; exit 1; }
done

# As many descriptors as the hard limit allows (5,000 idle visitors need
# about 10,000 per tunnel process).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec python3 "$TOP/bench/bench.py" "$@"
