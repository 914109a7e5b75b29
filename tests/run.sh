#!/bin/sh
# Runs every unit test binary and every integration script, then prints
# "N passed, N failed, N skipped" and exits non-zero if anything failed.
# Unit binaries print one PASS/FAIL/SKIP line per test; an integration
# script is one test: exit 0 pass, 77 skip, anything else fail.
BUILD=${BUILD:-build}
export BUILD
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 99
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

for t in tests/integration/t_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ -n "${ONLY:-}" ] && ! echo "$name" | grep -q "$ONLY"; then
		continue
	fi
	start=$(date +%s)
	timeout 600 bash "$t" >"$out" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0)  pass=$((pass + 1)); echo "ok   $name (${secs}s)" ;;
	77) skip=$((skip + 1)); echo "skip $name: $(tail -n 1 "$out")" ;;
	*)  fail=$((fail + 1)); failed_names="$failed_names $name"
	    echo "FAIL $name (exit $rc, ${secs}s)"; sed 's/^/    /' "$out" ;;
	esac
done

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
