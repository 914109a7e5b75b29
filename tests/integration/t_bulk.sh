#!/usr/bin/env bash
# 20 MiB download and upload through the tunnel, compared by SHA-256, and
# the spliced-byte counter proves splice moved them. A stalled transfer
# fails after 60 s instead of hanging the test.
# transport: plain, whose bytes splice() moves (TLS's are copied: t_tls).
TRANSPORT=plain
. "$(dirname "$0")/lib.sh"
standard_setup

N=$((20 * 1024 * 1024))
want=$(python3 "$HELP" sha "$N")
got=$(curl -sf --max-time 60 "http://127.0.0.1:$SPORT/bytes/$N" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "download: sha256 $got, want $want"

head -c "$N" /dev/urandom >"$T/up.bin"
want=$(sha256sum <"$T/up.bin" | cut -d' ' -f1)
got=$(curl -sf --max-time 60 -X POST --data-binary @"$T/up.bin" "http://127.0.0.1:$SPORT/sha256" || true)
[ "$got" = "$want" ] || fail "upload: sha256 $got, want $want"

# Both directions at once on 4 connections.
jobs=""
for i in 1 2 3 4; do
	(curl -sf --max-time 60 "http://127.0.0.1:$SPORT/bytes/$((N / 4 + i))" | sha256sum | cut -d' ' -f1 >"$T/par$i") &
	jobs="$jobs $!"
done
for j in $jobs; do wait "$j"; done
for i in 1 2 3 4; do
	[ "$(cat "$T/par$i")" = "$(python3 "$HELP" sha $((N / 4 + i)))" ] || fail "parallel download $i"
done
# The server's spliced counter covers at least what went through (the
# portable build copies: its copied counter does).
spliced=$(grep -o 'spliced total [0-9]*' "$T/server.log" | tail -n 1 | awk '{print $3}')
if [ "$SPLICE" = 1 ]; then
	[ "${spliced:-0}" -ge $((2 * N)) ] || fail "spliced counter ${spliced:-0} < $((2 * N))"
else
	[ "${spliced:-1}" -eq 0 ] || fail "the copy-only build spliced $spliced bytes"
fi
log "20 MiB down and up, 4 parallel: checksums equal, spliced total $spliced"
