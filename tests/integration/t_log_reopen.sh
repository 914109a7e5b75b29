#!/usr/bin/env bash
# SIGHUP makes the server reopen log.path/info.log, so logrotate can move
# the file away without copytruncate: lines before the signal stay in the
# moved file, lines after it go to a new info.log, and the server runs on.
. "$(dirname "$0")/lib.sh"
SPORT=$(free_port)
LPORT=$(free_port)
start_helper http http-server "$LPORT"
wait_for port_open "$LPORT" || fail "local http service did not start"
write_server_config "$T/server.yaml" "$SPORT"
sed -i 's/^  enable: false/  enable: true\n  path: logs/' "$T/server.yaml"
start_server "$T/server.yaml"
start_client "$SPORT" "$LPORT"
[ -f "$T/logs/info.log" ] || fail "no logs/info.log"

# Visitors served (the start-up probe, before any client, is user '-').
closes() { grep -c "user 'admin': closed after" "$1" 2>/dev/null || true; }
[ "$(curl -s "http://127.0.0.1:$SPORT/first")" = "echo GET /first 0" ] || fail "first request"
wait_for grep -q "closed after" "$T/logs/info.log" || fail "no visitor line in info.log"
mv "$T/logs/info.log" "$T/logs/info.log.1"
kill -HUP "$SERVER_PID"
wait_for test -f "$T/logs/info.log" || fail "SIGHUP did not reopen info.log"
[ "$(curl -s "http://127.0.0.1:$SPORT/second")" = "echo GET /second 0" ] || fail "request after SIGHUP"
wait_for grep -q "closed after" "$T/logs/info.log" || fail "the visitor after SIGHUP is not in the new info.log"
[ "$(closes "$T/logs/info.log.1")" = 1 ] || fail "the moved file got lines after SIGHUP"
kill -0 "$SERVER_PID" || fail "server died on SIGHUP"
[ "$(stat -c %a "$T/logs/info.log")" = 600 ] || fail "new info.log is not mode 0600"
log "SIGHUP: info.log reopened, old lines in the moved file, new ones in the new"
