#!/usr/bin/env bash
# Every mutant of `make mutate` (tests/mutants/*.ini) still applies to the
# source: a change that moves a mutant's text is noticed here, at once,
# rather than when someone next runs the slow `make mutate`.
. "$(dirname "$0")/lib.sh"
out=$(python3 "$TOP/tests/mutate.py" --check) || fail "mutants out of date: $out"
log "$(echo "$out" | tail -n 1)"
