#!/usr/bin/env bash
# proxy_protocol: the client tells the local service each visitor's real
# address in a PROXY protocol header, and real receivers read it:
#  - nginx (`listen ... proxy_protocol`, logging $proxy_protocol_addr) and
#    HAProxy (`bind ... accept-proxy`), each with v1 and v2, each with an
#    IPv4 visitor (from 127.0.0.5, to the server's 127.0.0.7) and an IPv6
#    one (::1): the source address and port and the destination address
#    and port the service sees are the visitor's and the server's;
#  - the key changes on SIGHUP, for new visitors;
#  - with it off, nginx refuses the connection (the header is what makes
#    it work), and --proxy-protocol sets it from the command line.
# The Windows client under Wine (tests/run.sh) has no SIGHUP: there each
# version and service is a client started with --proxy-protocol.
. "$(dirname "$0")/lib.sh"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$NGINX" ] || fail "nginx missing (Debian package nginx-light: make deps-test)"
[ -x "$HAPROXY" ] || fail "haproxy missing (Debian package haproxy: make deps-test)"
python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ||
    fail "no IPv6 loopback (::1) on this machine"
SPORT=$(free_port)
NPORT=$(free_port)
HPORT=$(free_port)

mkdir -p "$T/nginx"
cat >"$T/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log info;
events { worker_connections 64; }
http {
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    log_format pp '\$proxy_protocol_addr \$proxy_protocol_port -> \$proxy_protocol_server_addr \$proxy_protocol_server_port (tcp peer \$remote_addr)';
    server {
        listen 127.0.0.1:$NPORT proxy_protocol;
        access_log $T/nginx/access.log pp;
        location / {
            default_type text/plain;
            return 200 "src=\$proxy_protocol_addr:\$proxy_protocol_port dst=\$proxy_protocol_server_addr:\$proxy_protocol_server_port\n";
        }
    }
}
EOF
"$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log" >>"$T/nginx.log" 2>&1 &
PIDS="$PIDS $!"
cat >"$T/haproxy.cfg" <<EOF
global
    log stdout format raw local0 info
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend pp
    bind 127.0.0.1:$HPORT accept-proxy
    http-request return status 200 content-type text/plain lf-string "src=%[src]:%[src_port] dst=%[dst]:%[dst_port]\n"
EOF
"$HAPROXY" -db -f "$T/haproxy.cfg" >>"$T/haproxy.log" 2>&1 &
PIDS="$PIDS $!"
wait_for port_open "$NPORT" || fail "nginx did not start: $(cat "$T/nginx/error.log" "$T/nginx.log")"
wait_for port_open "$HPORT" || fail "haproxy did not start: $(cat "$T/haproxy.log")"

write_server_config "$T/server.yaml" "$SPORT" 4
start_server "$T/server.yaml"

# The client from a file, so that SIGHUP can switch version and service
# (on Windows, a client from flags, restarted for each).
client_conf() {
	cat >"$T/client.yaml" <<EOF
server_addr: "127.0.0.1:$SPORT"
username: admin
password: "$PASSWORD"
local_port: $1
transport: $TRANSPORT
proxy_protocol: $2
EOF
}
reloads() { grep -c "reload: done" "$T/client.log" || true; }
if [ -n "${WIN_CLIENT:-}" ]; then
	CLIENT_PID=
	reload_client() {
		if [ -n "$CLIENT_PID" ]; then
			kill -"$CLIENT_STOP" "$CLIENT_PID"
			wait "$CLIENT_PID" 2>/dev/null || true
		fi
		start_client "$SPORT" "$1" --proxy-protocol "$2"
	}
	reload_client "$NPORT" v1
else
	client_conf "$NPORT" v1
	(cd "$T" && exec "$CLIENT_BIN" -c "$T/client.yaml") >>"$T/client.log" 2>&1 &
	CLIENT_PID=$!
	PIDS="$PIDS $CLIENT_PID"
	wait_for grep -q "tunnel up" "$T/client.log" || fail "client did not come up"
	sleep 0.3
	reload_client() {
		n=$(reloads)
		client_conf "$1" "$2"
		kill -HUP "$CLIENT_PID"
		# eval: $(reloads) counted at each try, not once.
		wait_for eval '[ "$(reloads)" -gt '"$n"' ]' || fail "client reload ($2, port $1)"
	}
fi

# visit4 / visit6 VERSION SERVICE: one request each way, checked to the port.
visit4() {
	lp=$(free_port)
	got=$(curl -s --max-time 5 --interface 127.0.0.5 --local-port "$lp" "http://127.0.0.7:$SPORT/" || true)
	want="src=127.0.0.5:$lp dst=127.0.0.7:$SPORT"
	[ "$got" = "$want" ] || fail "$1 $2 IPv4: the service saw '$got', want '$want'"
}
visit6() {
	lp=$(free_port)
	got=$(curl -s --max-time 5 --interface ::1 --local-port "$lp" "http://[::1]:$SPORT/" || true)
	want="src=::1:$lp dst=::1:$SPORT"
	[ "$got" = "$want" ] || fail "$1 $2 IPv6: the service saw '$got', want '$want'"
}

for v in v1 v2; do
	for svc in nginx haproxy; do
		port=$NPORT
		[ $svc = haproxy ] && port=$HPORT
		reload_client "$port" "$v"
		visit4 "$v" "$svc"
		visit6 "$v" "$svc"
		log "$v $svc: IPv4 and IPv6 visitors seen with their own addresses"
	done
done
[ -n "${WIN_CLIENT:-}" ] ||
    grep -q "reload: proxy_protocol v1 -> v2 (for new visitors)" "$T/client.log" || fail "no reload line for v1 -> v2"
# nginx logged the visitors' addresses, not the tunnel client's.
grep -q "^127.0.0.5 [0-9]* -> 127.0.0.7 $SPORT (tcp peer 127.0.0.1)$" "$T/nginx/access.log" ||
    fail "nginx's access log: $(cat "$T/nginx/access.log")"
grep -q "^::1 [0-9]* -> ::1 $SPORT (tcp peer 127.0.0.1)$" "$T/nginx/access.log" ||
    fail "nginx's access log (IPv6): $(cat "$T/nginx/access.log")"
[ "$(grep -c . "$T/nginx/access.log")" -eq 4 ] || fail "nginx logged $(grep -c . "$T/nginx/access.log") requests, want 4"

# Off: nginx wants its header and closes the connection without it.
reload_client "$NPORT" off
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SPORT/" || true)
[ "$code" != 200 ] || fail "nginx answered without a PROXY header"
wait_for grep -q "broken header" "$T/nginx/error.log" || fail "nginx did not complain of a missing header"

# The flag: a client from the command line with --proxy-protocol v2.
kill -"$CLIENT_STOP" "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
start_client "$SPORT" "$HPORT" --proxy-protocol v2
visit4 v2 "haproxy (flag)"
out=$("$CLIENT_BIN" -s 127.0.0.1:1 -u x --proxy-protocol v3 2>&1) && fail "--proxy-protocol v3 accepted"
echo "$out" | grep -q "is not v1, v2 or off" || fail "--proxy-protocol v3: $out"
printf 'server_addr: "127.0.0.1:1"\nusername: x\npassword: y\nproxy_protocol: yes\n' >"$T/bad.yaml"
out=$("$CLIENT_BIN" -n -c "$T/bad.yaml" 2>&1) && fail "proxy_protocol: yes accepted"
echo "$out" | grep -q "bad.yaml:4:17: proxy_protocol: 'yes' is not v1, v2 or off" || fail "proxy_protocol: yes: $out"
echo "PASS"
