#!/bin/sh
# make fuzz: runs each libFuzzer harness named on the command line for
# FUZZ_SECONDS, then merges the committed corpus, the generated seeds and
# what this run found into a fresh directory (-merge=1 keeps only inputs
# that add coverage) and replaces tests/fuzz/corpus/<harness>/ with it.
# Above FUZZ_MAX_FILES files it keeps the inputs that cover every edge (a
# second merge that ignores hit counts) plus the smallest of the others.
#
# A crash stops that harness: its input is kept as
# $FUZZ_BUILD/artifacts/<harness>-crash-<sha1> and the stack trace is
# printed. Save the input as tests/fuzz/crashers/<harness>-<what> so that
# `make test` replays it, fix the code, and check that
# `make fuzz-replay` passes. The exit status is 1 when a harness crashed.
#
# Environment: FUZZ_BUILD (build-fuzz), FUZZ_SECONDS (60),
# FUZZ_MAX_FILES (300), FUZZ_ARGS (extra libFuzzer flags).
B=${FUZZ_BUILD:-build-fuzz}
SECS=${FUZZ_SECONDS:-60}
MAX_FILES=${FUZZ_MAX_FILES:-300}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 99

# Seeds: generated frames and logins, and the repository's config files.
# One directory per run, so that two runs (on different harnesses) can
# go on at once.
seeds=$B/seeds.$$
trap 'rm -rf "$seeds"' EXIT
trap 'exit 130' INT TERM
rm -rf "$seeds"
"$B/gen_seeds" "$seeds" || exit 1
mkdir -p "$seeds/fuzz_config"
cp tests/configs/*.yaml tunnel-server-config.yaml.example \
    tunnel-client-config.yaml.example "$seeds/fuzz_config/" || exit 1

crashed=""
for h in "$@"; do
	case $h in
	fuzz_proto)	maxlen=2048 ;;	# a few frames of up to 515 bytes
	fuzz_login)	maxlen=2048 ;;	# preamble + a login's frames
	fuzz_config)	maxlen=8192 ;;	# the example files are ~2.5 KB
	*)		echo "fuzz.sh: unknown harness $h" >&2; exit 2 ;;
	esac
	corpus=tests/fuzz/corpus/$h
	work=$B/work/$h
	merged=$B/merged/$h
	log=$B/$h.log
	dict=
	[ -f "tests/fuzz/$h.dict" ] && dict=-dict=tests/fuzz/$h.dict
	mkdir -p "$corpus" "$work" "$B/artifacts"

	echo "== $h: fuzzing for ${SECS} s (log: $log)"
	# shellcheck disable=SC2086
	"$B/$h" -max_total_time="$SECS" -max_len="$maxlen" -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 -reload=0 $dict \
	    -artifact_prefix="$B/artifacts/$h-" ${FUZZ_ARGS:-} \
	    "$work" "$corpus" "$seeds/$h" >"$log" 2>&1
	rc=$?
	grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$log" | sed 's/^/   /'
	grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' \
	    "$log" | sed 's/^/   /'
	if [ $rc -ne 0 ]; then
		crashed="$crashed $h"
		echo "!! $h: libFuzzer exit $rc"
		sed -n '/^==[0-9]*==ERROR\|fuzz invariant failed\|runtime error\|^SUMMARY\|deadly signal\|ALARM\|out-of-memory/,$p' \
		    "$log" | head -n 80 | sed 's/^/   /'
		echo "   save it as tests/fuzz/crashers/$h-<short-description>"
	fi

	rm -rf "$merged"
	mkdir -p "$merged"
	if ! "$B/$h" -merge=1 -max_len="$maxlen" -timeout=10 \
	    -rss_limit_mb=2048 "$merged" "$corpus" "$seeds/$h" "$work" \
	    >"$B/$h-merge.log" 2>&1; then
		echo "!! $h: merge failed (see $B/$h-merge.log); corpus kept"
		continue
	fi
	n=$(find "$merged" -type f | wc -l)
	if [ "$n" -eq 0 ]; then
		echo "!! $h: merge produced nothing; corpus kept"
		continue
	fi
	if [ "$n" -gt "$MAX_FILES" ]; then
		# Over the cap: keep what covers every edge (a merge that
		# ignores hit counts, -use_counters=0), then fill up to the
		# cap with the smallest of the rest.
		rm -rf "$merged.edges"
		mkdir -p "$merged.edges"
		"$B/$h" -merge=1 -use_counters=0 -max_len="$maxlen" \
		    -timeout=10 -rss_limit_mb=2048 "$merged.edges" "$merged" \
		    >>"$B/$h-merge.log" 2>&1
		m=$(find "$merged.edges" -type f | wc -l)
		if [ "$m" -gt 0 ] && [ "$m" -le "$MAX_FILES" ]; then
			(cd "$merged" && ls -Sr) | while read -r f; do
				[ "$m" -lt "$MAX_FILES" ] || break
				[ -e "$merged.edges/$f" ] && continue
				cp "$merged/$f" "$merged.edges/$f"
				m=$((m + 1))
			done
			rm -rf "$merged"
			mv "$merged.edges" "$merged"
		else
			# ls -S lists the largest first; drop those.
			(cd "$merged" && ls -S | head -n $((n - MAX_FILES)) |
			    xargs rm -f --)
		fi
		echo "   $h: $n inputs after merge; kept $m that cover every" \
		    "edge, plus the smallest others up to $MAX_FILES"
		n=$(find "$merged" -type f | wc -l)
	fi
	find "$corpus" -type f -delete
	cp "$merged"/* "$corpus"/
	echo "   $h: corpus now $n files ($(du -sk "$corpus" | cut -f1) KiB)"
done

if [ -n "$crashed" ]; then
	echo "crashed:$crashed (inputs in $B/artifacts/)"
	exit 1
fi
exit 0
