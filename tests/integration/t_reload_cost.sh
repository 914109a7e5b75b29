#!/usr/bin/env bash
# A reload that changes no password runs no crypt(3): with 64 users (56
# stored as hashes, 8 as plaintext), SIGHUP to "reload: done" takes
# milliseconds, not the seconds 64 yescrypt runs would hold the event
# loop for, and a visitor is served meanwhile. A changed plaintext
# password is still noticed (its session ends).
. "$(dirname "$0")/lib.sh"
SPORT=$(free_port)
LPORT=$(free_port)
start_helper http http-server "$LPORT"
wait_for port_open "$LPORT" || fail "local http service did not start"
HASH=$(printf 'user-Pass-1\n' | "$SERVER_BIN" --hash-password 2>/dev/null | tail -n 1)
case "$HASH" in '$y$'*) ;; *) fail "no hash from --hash-password: $HASH" ;; esac

conf() {
	{
		printf 'port: %s\npool_size: 4\ntransport: %s\nusers:\n' "$SPORT" "$TRANSPORT"
		printf '  - username: admin\n    password: "%s"\n' "$1"
		for i in 1 2 3 4 5 6 7; do
			printf '  - username: plain%s\n    password: "plain-Pass-%s"\n' "$i" "$i"
		done
		for i in $(seq 1 56); do
			printf '  - username: user%s\n    password: "%s"\n' "$i" "$HASH"
		done
		[ -n "${2:-}" ] && printf '  - username: newcomer\n    password: "%s"\n' "$HASH"
		printf 'log:\n  enable: false\n'
	} >"$T/server.yaml"
}
conf "$PASSWORD"
start_server "$T/server.yaml"
start_client "$SPORT" "$LPORT"
visit_ok || fail "visitor before the reload"

# ms since the epoch of the last log line matching $1.
at() {
	grep -- "$1" "$T/server.log" | tail -n 1 | awk '{ print $1 " " $2 }' |
	    python3 -c 'import sys, datetime; print(int(datetime.datetime.strptime(sys.stdin.read().strip(), "%Y-%m-%d %H:%M:%S.%f").timestamp() * 1000))'
}
reloads() { [ "$(grep -c "reload: done" "$T/server.log" || true)" -ge "$1" ]; }

conf "$PASSWORD" newcomer
kill -HUP "$SERVER_PID"
wait_for reloads 1 || fail "no 'reload: done'"
MS=$(( $(at "reload: done") - $(at "SIGHUP: reading") ))
grep -q "reload: user 'newcomer' added" "$T/server.log" || fail "the user added was not"
[ "$MS" -le $((300 * SLOW)) ] || fail "a reload of 64 unchanged users took $MS ms (each password probed again?)"
visit_ok || fail "visitor after the reload"
grep -q "session ended" "$T/server.log" && fail "a session ended though no password changed"
log "reload of 64 unchanged users + 1 added: $MS ms"

# admin's plaintext password changes: noticed, and that costs its crypt(3).
conf "an0ther-Pass" newcomer
kill -HUP "$SERVER_PID"
wait_for reloads 2 || fail "second reload not done"
wait_for grep -q "password of user admin changed" "$T/server.log" || fail "the changed plaintext password went unnoticed"
log "a changed plaintext password is still noticed"
echo "PASS"
